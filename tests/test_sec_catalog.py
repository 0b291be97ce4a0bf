"""Security issue #10 for the catalog sheet: formula injection (point 7) and control characters
(point 12) in `products export` / `products import`."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
import structlog
from openpyxl import load_workbook
from sqlmodel import select

from bridge.actors import CLI_ADMIN
from bridge.catalog import COLUMNS, export_products, import_products
from bridge.models import Product

HEADERS = [c.header for c in COLUMNS]

# Text a salesperson can type that Excel or WPS would run as a formula, and its near misses.
FORMULA_NAMES = {
    "F-1": "=1+1",
    "F-2": "+86 138",
    "F-3": "-x",
    "F-4": "@SUM(A1)",
    "F-5": "'=already",
    "F-6": '=HYPERLINK("http://evil.example";"点我")',
}


@pytest.fixture
def formula_catalog(session, make):
    for sku, name in FORMULA_NAMES.items():
        make.product(sku=sku, name=name, price=Decimal("12.50"))
    make.product(sku="@SKU", name="普通名称", description="\tTAB", marking="-5", price=Decimal("0.10"))
    make.product(sku="CR-1", name="回车", description="\r=1+1")
    session.commit()


def snapshot(session) -> dict[str, dict]:
    session.expire_all()
    return {p.sku: {c.key: getattr(p, c.key) for c in COLUMNS} for p in session.exec(select(Product)).all()}


def test_sec07_csv_export_neutralises_formula_cells_and_import_reads_them_back(session, formula_catalog, tmp_path):
    before = snapshot(session)
    path = tmp_path / "catalog.csv"
    export_products(session, path)

    text = path.read_bytes().decode("utf-8-sig")
    by_sku = {r[0]: dict(zip(HEADERS, r)) for r in list(csv.reader(io.StringIO(text, newline="")))[1:]}
    assert {sku: by_sku[sku]["名称"] for sku in FORMULA_NAMES} == {
        "F-1": "'=1+1",
        "F-2": "'+86 138",
        "F-3": "'-x",
        "F-4": "'@SUM(A1)",
        "F-5": "''=already",
        "F-6": '\'=HYPERLINK("http://evil.example";"点我")',
    }
    assert "'@SKU" in by_sku and by_sku["'@SKU"]["说明"] == "'\tTAB"
    assert by_sku["CR-1"]["说明"] == "'\r=1+1"
    # Plain numbers stay numbers, in number columns and in text ones.
    assert (by_sku["F-1"]["单价"], by_sku["'@SKU"]["单价"], by_sku["'@SKU"]["标记"]) == ("12.50", "0.10", "-5")
    # Every cell is quoted: a ";" can't split a cell where Excel separates with ";".
    assert '"\'=HYPERLINK(""http://evil.example"";""点我"")"' in text

    report = import_products(session, CLI_ADMIN, path)
    session.commit()
    assert report.ok, report.errors
    assert (report.created, report.updated, report.unchanged) == (0, 0, len(before))
    assert snapshot(session) == before


def test_sec07_xlsx_export_writes_formula_like_text_as_text_cells_that_read_back_exactly(
    session, formula_catalog, tmp_path
):
    before = snapshot(session)
    path = tmp_path / "catalog.xlsx"
    export_products(session, path)

    ws = load_workbook(path).worksheets[0]
    cells = [cell for row in ws.iter_rows() for cell in row if cell.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    rows = {r[0].value: r for r in ws.iter_rows(min_row=2)}
    for sku, name in FORMULA_NAMES.items():
        cell = rows[sku][HEADERS.index("名称")]
        assert (cell.value, cell.data_type) == (name, "s")  # the exact text, no apostrophe added
        # The quote prefix keeps it text when someone edits the cell; "'=already" needs none.
        assert cell.quotePrefix is (sku != "F-5")
    assert rows["@SKU"][0].quotePrefix and rows["@SKU"][HEADERS.index("说明")].value == "\tTAB"
    price = rows["@SKU"][HEADERS.index("单价")]
    assert (price.value, price.data_type) == (0.1, "n")
    marking = rows["@SKU"][HEADERS.index("标记")]
    assert (marking.value, marking.quotePrefix) == ("-5", False)

    report = import_products(session, CLI_ADMIN, path)
    session.commit()
    assert report.ok, report.errors
    after = snapshot(session)
    # XLSX import strips the whitespace around a cell, as it always has (see the report).
    before["@SKU"]["description"] = "TAB"
    before["CR-1"]["description"] = "=1+1"
    assert after == before
    assert after["F-5"]["name"] == "'=already"


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_sec12_export_survives_control_characters_and_warns_with_the_skus(session, make, tmp_path, fmt):
    make.product(sku="BAD-1", name="砂轮\x01名称", marking="=1\x1b[2J")  # not NUL: PostgreSQL refuses it
    make.product(sku="BAD-\x07", name="铃声")
    make.product(sku="OK-1", name="正常", description="第一行\n\t第二行")
    session.commit()
    path = tmp_path / f"catalog.{fmt}"

    with structlog.testing.capture_logs() as logs:
        assert export_products(session, path) == 3

    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert len(warnings) == 1
    assert warnings[0]["products"] == {"BAD-1": ["名称", "标记"], "BAD-<U+0007>": ["编码"]}
    assert "2 product(s)" in warnings[0]["event"]
    report = import_products(session, CLI_ADMIN, path, dry_run=True)
    assert report.ok, report.errors  # what was written is clean: it imports without a row error
    assert report.changes == {"BAD-1": ["name", "marking"]}  # and "BAD-" is new: the code lost its bell
    assert report.created == 1
    if fmt == "xlsx":
        rows = {r[0].value: r for r in load_workbook(path).worksheets[0].iter_rows(min_row=2)}
        assert rows["BAD-1"][HEADERS.index("名称")].value == "砂轮名称"
        assert rows["BAD-1"][HEADERS.index("标记")].value == "=1[2J"
        assert rows["OK-1"][HEADERS.index("说明")].value == "第一行\n\t第二行"


def test_sec12_a_clean_export_logs_no_warning(session, make, tmp_path):
    make.product(sku="OK-1", name="正常")
    session.commit()
    with structlog.testing.capture_logs() as logs:
        export_products(session, tmp_path / "catalog.xlsx")
    assert logs == []


def test_sec12_import_refuses_a_control_character_with_a_row_error(session, tmp_path):
    path = tmp_path / "ctrl.csv"
    buffer = io.StringIO()
    csv.writer(buffer).writerows(
        [["编码", "名称", "说明"], ["A-1", "正常", "多行\n说明"], ["A-2", "砂轮\x1b[31m", ""], ["A-3", "三", "铃\x07"]]
    )
    path.write_bytes(buffer.getvalue().encode("utf-8"))

    report = import_products(session, CLI_ADMIN, path)

    assert [(e.row, e.column, e.value) for e in report.errors] == [
        (3, "名称", "砂轮<U+001B>[31m"),  # shown, not sent raw to the terminal that prints it
        (4, "说明", "铃<U+0007>"),
    ]
    assert "控制字符 U+001B" in report.errors[0].reason_zh and "U+001B at position 3" in report.errors[0].reason_en
    assert report.created == 0
    assert session.exec(select(Product)).all() == []
