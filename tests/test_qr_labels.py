"""Packaging QR codes in bulk and on paper (A4, issue #14 商品 "QR data"): the sheet import is all
rows or none with a per-row report, and the label sheet is an A4 PDF with N labels a page, its
Chinese font embedded, whose printed codes scan back to their products."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bridge import db as bridge_db
from bridge.actors import CLI_ADMIN, Actor
from bridge.cli import app
from bridge.errors import Forbidden, InvalidInput
from bridge.models import AuditLog, Product, ProductKind, ProductQR
from bridge.products import scan, shop_qr_payload
from bridge.qrlabels import LabelChoice, import_qr_codes, label_candidates, label_sheet, product_codes, qr_counts
from tests.conftest import count, require_module
from tests.label_pdf import decode_label_pages, pdf_facts


def _csv(tmp_path: Path, text: str, name: str = "qr.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _codes(session, product: Product) -> dict[str, str | None]:
    rows = session.exec(select(ProductQR).where(ProductQR.product_id == product.id)).all()
    return {qr.payload: qr.marking for qr in rows}


def test_a4_import_ties_codes_and_a_blank_payload_is_the_shops_own_code(session, make, tmp_path):
    """A4: codes entered in bulk; an empty 二维码内容 is the shop's code for that sku, and a
    customer scanning it reaches the product (C4)."""
    wheel = make.product(sku="1-400x50x127-WA60K", marking="WA60K5V")
    disc = make.product(sku="41-105x1.2x16-A60N")
    path = _csv(
        tmp_path,
        "编码,二维码内容,标记\n1-400x50x127-WA60K,JHT:QR:B7:0001,WA60K5V 批次B7\n\n41-105x1.2x16-A60N,,\n",
    )

    report = import_qr_codes(session, CLI_ADMIN, path)

    assert report.ok, report.errors
    assert (report.rows, report.added, report.unchanged, report.skipped_empty) == (2, 2, 0, 1)
    assert _codes(session, wheel) == {"JHT:QR:B7:0001": "WA60K5V 批次B7"}
    assert _codes(session, disc) == {"JHT:QR:1:41-105x1.2x16-A60N": None}
    assert shop_qr_payload(disc.sku) == "JHT:QR:1:41-105x1.2x16-A60N"
    customer = make.customer()
    assert scan(session, Actor.customer(customer.id), customer, "JHT:QR:1:41-105x1.2x16-A60N").qr.product_id == disc.id
    assert count(session, AuditLog, AuditLog.action == "products.qr_import") == 1
    assert count(session, AuditLog, AuditLog.action == "product.qr_add") == 2

    again = import_qr_codes(session, CLI_ADMIN, path)
    assert (again.added, again.unchanged) == (0, 2)
    assert again.summary() == "qr.csv: 2 row(s): 0 added, 2 unchanged"


def test_a4_import_with_a_bad_row_imports_nothing_and_reports_each_row(session, make, tmp_path):
    """A4: nothing half-imported: one bad row and no code of the file is written; each bad row
    is reported with its row number, its column and a Chinese reason."""
    wheel = make.product(sku="WA-400")
    other = make.product(sku="C-105")
    session.add(ProductQR(product_id=other.id, payload="JHT:QR:TAKEN"))
    session.flush()
    path = _csv(
        tmp_path,
        "sku,payload,marking\n"
        "WA-400,JHT:QR:GOOD,\n"  # 2: good
        "NO-SUCH,JHT:QR:X,\n"  # 3: unknown product
        "WA-400,JHT:QR:TAKEN,\n"  # 4: the code belongs to another product
        "WA-400,JHT:QR:GOOD,\n"  # 5: the same code twice in the file
        f"WA-400,JHT:QR:LONG,{'标' * 200}\n"  # 6: marking too long
        "WA-400,,\n",  # 7: good (the shop's own code)
    )
    before = count(session, ProductQR)

    report = import_qr_codes(session, CLI_ADMIN, path)

    assert not report.ok and report.bad_rows == [3, 4, 5, 6]
    by_row = {e.row: e for e in report.errors}
    assert (by_row[4].column, by_row[4].reason_zh) == ("payload", "该二维码已用于其他商品")
    assert (by_row[5].column, by_row[5].reason_zh) == ("payload", "二维码内容与第 2 行重复")
    assert by_row[6].column == "marking" and "超过上限" in by_row[6].reason_zh
    assert by_row[3].column == "sku" and by_row[3].reason_zh == "商品编码不存在"
    assert count(session, ProductQR) == before and _codes(session, wheel) == {}

    path = _csv(tmp_path, "编码,二维码内容\nWA-400,JHT:QR:GOOD\nWA-400,JHT:QR:TAKEN\nWA-400,\n")
    report = import_qr_codes(session, CLI_ADMIN, path)
    assert [(e.row, e.column, e.reason_zh) for e in report.errors] == [(3, "二维码内容", "该二维码已用于其他商品")]
    assert (report.added, report.unchanged) == (0, 0)
    assert count(session, ProductQR) == before and _codes(session, wheel) == {}  # row 2 was not kept either
    assert count(session, AuditLog, AuditLog.action.in_(["product.qr_add", "products.qr_import"])) == 0


def test_a4_a_salesperson_imports_codes_only_for_their_own_custom_products(session, make, tmp_path):
    """A4 with the products' rule (``products.add_qr``): a salesperson changes only the custom
    products they made; one another salesperson made reads as unknown."""
    me, them = make.staff(), make.staff()
    mine = make.product(kind=ProductKind.CUSTOM, sku="MINE", created_by_id=me.id)
    make.product(kind=ProductKind.CUSTOM, sku="THEIRS", created_by_id=them.id)
    make.product(sku="STD")
    path = _csv(tmp_path, "编码,二维码内容\nMINE,Q1\nTHEIRS,Q2\nSTD,Q3\n")

    report = import_qr_codes(session, Actor.sales(me.id), path)

    assert [(e.row, e.reason_zh) for e in report.errors] == [(3, "商品编码不存在"), (4, "只能修改自己创建的定制品")]
    assert count(session, ProductQR) == 0
    report = import_qr_codes(session, Actor.sales(me.id), _csv(tmp_path, "编码,二维码内容\nMINE,Q1\n"))
    assert report.ok and _codes(session, mine) == {"Q1": None}


def test_a4_import_reads_xlsx(session, make, tmp_path):
    openpyxl = require_module("openpyxl")
    wheel = make.product(sku="0012")
    book = openpyxl.Workbook()
    book.active.append(["商品编码", "二维码", "标记"])
    book.active.append(["0012", "https://jht.example/q?c=0012", "A60N"])
    book.save(tmp_path / "qr.xlsx")

    report = import_qr_codes(session, CLI_ADMIN, tmp_path / "qr.xlsx")

    assert report.ok, report.errors
    assert _codes(session, wheel) == {"https://jht.example/q?c=0012": "A60N"}


# --------------------------------------------------------------------------- the label sheet


def test_a4_label_sheet_is_a4_with_n_labels_a_page_the_font_embedded_and_codes_that_scan(session, make, tmp_path):
    """A4 (labels for specs): 3 × 8 labels on A4 pages; the Chinese font is embedded (a
    FontFile2 stream, pdffonts says emb yes); every label's code scans to its product's payload;
    a product without a code gets the shop's own, which then scans."""
    wheel = make.product(sku="1-400x50x127-WA60K", name="白刚玉平形砂轮 400×50×127", marking="WA60K5V")
    session.add(ProductQR(product_id=wheel.id, payload="JHT:QR:B7:0001", marking="WA60K5V 批次B7"))
    session.add(ProductQR(product_id=wheel.id, payload="https://jht.example/q?c=1-400x50x127-WA60K"))
    bare = make.product(sku="41-105x1.2x16-A60N", name="树脂切割片 105×1.2×16")
    session.flush()

    sheet = label_sheet(session, CLI_ADMIN, [LabelChoice(wheel.id, 10), LabelChoice(bare.id, 5)])

    assert (sheet.labels, sheet.pages) == (25, 2)
    assert sheet.pdf.startswith(b"%PDF-")
    size, fonts = pdf_facts(sheet.pdf, tmp_path)
    assert "595.28 x 841.89 pts (A4)" in size
    assert fonts and all(re.search(r"\byes\s+yes\s+yes\b", line) for line in fonts), fonts  # emb sub uni
    assert b"/FontFile2" in sheet.pdf
    assert _codes(session, bare) == {"JHT:QR:1:41-105x1.2x16-A60N": None}
    pages = decode_label_pages(sheet.pdf, tmp_path)
    expected = ["JHT:QR:B7:0001"] * 10 + ["https://jht.example/q?c=1-400x50x127-WA60K"] * 10
    expected += ["JHT:QR:1:41-105x1.2x16-A60N"] * 5
    assert pages[0] == expected[:24]
    assert pages[1] == expected[24:] + [None] * 23


def test_a4_label_sheet_grid_is_configurable_and_bounded(session, make, tmp_path):
    product = make.product(sku="P-1")
    sheet = label_sheet(session, CLI_ADMIN, [LabelChoice(product.id, 5)], columns=2, rows=2)
    assert (sheet.labels, sheet.pages) == (5, 2)
    pages = decode_label_pages(sheet.pdf, tmp_path, columns=2, rows=2)
    assert pages == [["JHT:QR:1:P-1"] * 4, ["JHT:QR:1:P-1", None, None, None]]
    with pytest.raises(InvalidInput) as refused:
        label_sheet(session, CLI_ADMIN, [LabelChoice(product.id)], columns=9)
    assert refused.value.data["field"] == "columns"
    with pytest.raises(InvalidInput):
        label_sheet(session, CLI_ADMIN, [])


def test_a4_a_salesperson_prints_codes_that_exist_but_makes_none_for_a_standard_product(session, make):
    sales = make.staff()
    coded, bare = make.product(sku="CODED"), make.product(sku="BARE")
    session.add(ProductQR(product_id=coded.id, payload="JHT:QR:CODED"))
    session.flush()
    assert label_sheet(session, Actor.sales(sales.id), [LabelChoice(coded.id)]).labels == 1
    with pytest.raises(Forbidden):
        label_sheet(session, Actor.sales(sales.id), [LabelChoice(bare.id)])
    assert _codes(session, bare) == {}


def test_a4_the_label_list_counts_codes_within_the_salespersons_scope(session, make):
    """What /admin/qr/labels lists: the staff catalog (``products.staff_catalog``'s scope) with
    each product's number of codes; a product out of scope is neither listed nor counted."""
    me, them = make.staff(), make.staff()
    mine = make.product(kind=ProductKind.CUSTOM, sku="C-MINE", created_by_id=me.id)
    theirs = make.product(kind=ProductKind.CUSTOM, sku="C-THEIRS", created_by_id=them.id)
    standard = make.product(sku="S-1")
    session.add_all([ProductQR(product_id=standard.id, payload=p) for p in ("A", "B")])
    session.add(ProductQR(product_id=theirs.id, payload="T"))
    session.flush()

    found = label_candidates(session, Actor.sales(me.id))

    assert {c.product.sku: c.codes for c in found.items} == {"C-MINE": 0, "S-1": 2}
    assert qr_counts(session, Actor.sales(me.id), [mine.id, theirs.id, standard.id]) == {standard.id: 2}
    assert qr_counts(session, CLI_ADMIN, [theirs.id]) == {theirs.id: 1}
    assert [c.product.sku for c in label_candidates(session, CLI_ADMIN, q="THEIRS").items] == ["C-THEIRS"]
    codes = product_codes(session, Actor.sales(me.id), standard.id)
    assert [qr.payload for qr in codes.codes] == ["A", "B"] and codes.shop_payload == "JHT:QR:1:S-1"


# --------------------------------------------------------------------------- the CLI


def test_a4_cli_qr_import_reports_bad_rows_and_labels_writes_the_pdf(tmp_path):
    runner = CliRunner()
    assert runner.invoke(app, ["init", str(tmp_path)]).exit_code == 0
    config = ["--config", str(tmp_path / "bridge.toml")]
    engine = bridge_db.make_engine(f"sqlite:///{tmp_path / 'bridge.db'}")
    with bridge_db.session_scope(engine) as s:
        s.add(Product(sku="WA-400", name="白刚玉砂轮", price=10, unit="片"))

    bad = runner.invoke(app, [*config, "products", "qr-import", str(_csv(tmp_path, "编码\nWA-400\nNOPE\n"))])
    assert bad.exit_code == 1
    assert "row 3, 编码: 'NOPE': 商品编码不存在" in bad.output and "nothing imported" in bad.output
    good = runner.invoke(app, [*config, "products", "qr-import", str(_csv(tmp_path, "编码\nWA-400\n"))])
    assert good.exit_code == 0 and "1 added" in good.output

    pdf = tmp_path / "labels.pdf"
    done = runner.invoke(app, [*config, "products", "labels", "WA-400", "-o", str(pdf), "--copies", "3"])
    assert done.exit_code == 0, done.output
    assert f"wrote 3 label(s) on 1 page(s) to {pdf}" in done.output
    assert decode_label_pages(pdf.read_bytes(), tmp_path)[0][:4] == ["JHT:QR:1:WA-400"] * 3 + [None]
    unknown = runner.invoke(app, [*config, "products", "labels", "NOPE", "-o", str(pdf)])
    assert unknown.exit_code == 1 and "no product with code NOPE" in unknown.output
    engine.dispose()
