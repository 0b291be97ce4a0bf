"""Catalog import/export (A3, S2): the products an admin keeps (both kinds) round-trip exactly; a bad file
is refused with its row and reason and imports nothing (all-or-nothing), and no cell becomes a formula."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import select

from bridge.actors import CLI_ADMIN
from bridge.catalog import COLUMNS, export_products, import_products
from bridge.errors import InvalidInput
from bridge.models import AuditLog, Product, ProductKind
from tests.conftest import count

HEADERS = [c.header for c in COLUMNS]


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def catalog(session, make):
    """Products that stress the format: Chinese text, exact and extreme decimals, empty
    optional fields, both kinds, an inactive one, leading zeros, formula-like text."""
    make.product(
        sku="1-400x50x127-WA60K",
        name="白刚玉平形砂轮 400×50×127",
        erp_item_code="0010023",
        price=Decimal("168.00"),
        shape="1 平形砂轮",
        outer_diameter_mm=Decimal("400"),
        thickness_mm=Decimal("50"),
        bore_mm=Decimal("127"),
        abrasive="WA 白刚玉",
        grit="F60",
        hardness="K",
        bond="V 陶瓷",
        max_speed_ms=Decimal("35"),
        marking="1-400×50×127-WA60K5V-35m/s",
        description='外圆磨、平面磨通用,\n"含税"价格',
    )
    make.product(
        sku="41-125x1.6x22.23-A46N",
        name="金属切割片 125×1.6×22.23",
        price=Decimal("0.10"),
        outer_diameter_mm=Decimal("125"),
        thickness_mm=Decimal("1.6"),
        bore_mm=Decimal("22.23"),
        max_speed_ms=Decimal("80.5"),
        marking="=41-125×1.6×22.23",  # would become a formula in a careless XLSX writer
    )
    make.product(sku="0012", name="定制碗形砂轮", kind=ProductKind.CUSTOM, price=Decimal("123456789012.34"), unit="套")
    make.product(
        sku="OLD-1", name="停产型号", price=Decimal("0.00"), active=False, outer_diameter_mm=Decimal("99999999.99")
    )
    session.commit()


def snapshot(session) -> dict[str, dict]:
    """Every exported field of every product, as the database now holds it."""
    session.expire_all()
    return {p.sku: {c.key: getattr(p, c.key) for c in COLUMNS} for p in session.exec(select(Product)).all()}


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8-sig") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list], *, extra_sheet_first: bool = False) -> Path:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    if extra_sheet_first:
        # The first sheet is the catalog even when another sheet was the open one on save.
        other = wb.create_sheet("说明")
        other.append(["这一页不是目录"])
        wb.active = 1
    wb.save(path)
    return path


def run_import(session, path, **kw):
    return import_products(session, CLI_ADMIN, path, **kw)


# --------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a3_export_then_import_changes_nothing_field_by_field(session, catalog, tmp_path, fmt):
    before = snapshot(session)
    path = tmp_path / f"catalog.{fmt}"
    assert export_products(session, path) == 4

    report = run_import(session, path)
    session.commit()

    assert report.ok, report.errors
    assert (report.created, report.updated, report.unchanged) == (0, 0, 4)
    after = snapshot(session)
    assert after == before
    # Decimal equality ignores trailing zeros; the exact digits must survive too.
    assert str(after["0012"]["price"]) == "123456789012.34"
    assert str(after["41-125x1.6x22.23-A46N"]["bore_mm"]) == "22.23"
    assert after["1-400x50x127-WA60K"]["description"] == '外圆磨、平面磨通用,\n"含税"价格'


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a3_export_into_an_empty_catalog_recreates_it_exactly(session, catalog, tmp_path, fmt):
    before = snapshot(session)
    path = tmp_path / f"catalog.{fmt}"
    export_products(session, path)
    for product in session.exec(select(Product)).all():
        session.delete(product)
    session.commit()

    report = run_import(session, path)
    session.commit()

    assert (report.created, report.updated, report.unchanged) == (4, 0, 0)
    assert snapshot(session) == before


def test_a3_csv_export_is_utf8_with_bom_chinese_headers_sorted_and_exact(session, catalog, tmp_path):
    path = tmp_path / "catalog.csv"
    export_products(session, path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0] == HEADERS
    assert rows[0][:3] == ["编码", "名称", "类型 (标准品/定制品)"]
    assert [r[0] for r in rows[1:]] == sorted(r[0] for r in rows[1:])
    by_sku = {r[0]: dict(zip(HEADERS, r)) for r in rows[1:]}
    wheel = by_sku["1-400x50x127-WA60K"]
    assert (wheel["单价"], wheel["外径mm"], wheel["最高线速度m/s"]) == ("168.00", "400", "35")
    assert (wheel["类型 (标准品/定制品)"], wheel["上架 (是/否)"], wheel["ERP物料编码"]) == ("标准品", "是", "0010023")
    disc = by_sku["41-125x1.6x22.23-A46N"]
    assert (disc["单价"], disc["厚度mm"], disc["最高线速度m/s"], disc["形状"]) == ("0.10", "1.6", "80.5", "")
    assert by_sku["OLD-1"]["上架 (是/否)"] == "否"
    assert by_sku["0012"]["类型 (标准品/定制品)"] == "定制品"


def test_s2_xlsx_export_keeps_codes_and_formula_like_text_as_text(session, catalog, tmp_path):
    path = tmp_path / "catalog.xlsx"
    export_products(session, path)
    ws = load_workbook(path).worksheets[0]
    assert [c.value for c in ws[1]] == HEADERS
    rows = {r[0].value: r for r in ws.iter_rows(min_row=2)}
    assert rows["0012"][0].data_type == "s"
    marking = rows["41-125x1.6x22.23-A46N"][HEADERS.index("标记")]
    assert marking.data_type == "s" and marking.value == "=41-125×1.6×22.23"
    assert rows["1-400x50x127-WA60K"][HEADERS.index("ERP物料编码")].value == "0010023"


# --------------------------------------------------------------------------- creating and updating


def test_a3_import_creates_products_from_english_or_spaced_headers(session, tmp_path):
    path = write_csv(
        tmp_path / "new.csv",
        [
            [" SKU ", "Name", "KIND", "price", "Outer Diameter mm", "max_speed_ms", "active"],
            ["C-1", "定制平形砂轮", "custom", "1,280.00", "610", "35", "no"],
            ["S-1", "角磨片 100×6×16", "标准品", "2.8", "100", "80", "1"],
        ],
    )
    report = run_import(session, path)
    session.commit()

    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    custom = session.exec(select(Product).where(Product.sku == "C-1")).one()
    assert custom.kind == ProductKind.CUSTOM and custom.price == Decimal("1280.00") and custom.active is False
    standard = session.exec(select(Product).where(Product.sku == "S-1")).one()
    assert standard.price == Decimal("2.80") and standard.unit == "片" and standard.max_speed_ms == Decimal("80.0")


def test_a3_import_counts_updates_and_changes_only_cells_that_differ(session, catalog, tmp_path):
    path = tmp_path / "catalog.xlsx"
    export_products(session, path)
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    price_col = HEADERS.index("单价") + 1
    desc_col = HEADERS.index("说明") + 1
    for row in ws.iter_rows(min_row=2):
        if row[0].value == "1-400x50x127-WA60K":
            ws.cell(row[0].row, price_col).value = 172.5  # typed as a number in Excel
        if row[0].value == "OLD-1":
            ws.cell(row[0].row, desc_col).value = "2025 年停产"
    ws.append(["NEW-1", "新型号"])
    wb.save(path)

    report = run_import(session, path)
    session.commit()

    assert (report.created, report.updated, report.unchanged) == (1, 2, 2)
    assert report.changes == {"1-400x50x127-WA60K": ["price"], "OLD-1": ["description"]}
    now = snapshot(session)
    assert now["1-400x50x127-WA60K"]["price"] == Decimal("172.50")
    assert now["OLD-1"]["description"] == "2025 年停产"
    audit = session.exec(select(AuditLog).where(AuditLog.action == "products.import")).one()
    assert audit.detail["file"] == "catalog.xlsx"
    assert (audit.detail["created"], audit.detail["updated"], audit.detail["unchanged"]) == (1, 2, 2)


def test_a3_a_column_left_out_keeps_its_values_and_an_empty_cell_clears_optional_ones(session, catalog, tmp_path):
    path = write_csv(
        tmp_path / "prices.csv",
        [["编码", "名称", "单价", "说明", "单位"], ["1-400x50x127-WA60K", "白刚玉平形砂轮 400×50×127", "170", "", ""]],
    )
    report = run_import(session, path)
    session.commit()

    assert report.changes == {"1-400x50x127-WA60K": ["price", "description"]}
    wheel = snapshot(session)["1-400x50x127-WA60K"]
    assert wheel["price"] == Decimal("170.00")
    assert wheel["description"] is None  # optional: cleared
    assert wheel["unit"] == "片"  # required: an empty cell is "not given"
    assert wheel["marking"] == "1-400×50×127-WA60K5V-35m/s"  # column absent: untouched


def test_a3_dry_run_counts_but_writes_nothing(session, catalog, tmp_path):
    before = snapshot(session)
    path = write_csv(
        tmp_path / "change.csv",
        [["编码", "名称", "单价"], ["1-400x50x127-WA60K", "白刚玉平形砂轮 400×50×127", "1.00"], ["NEW-1", "新", "2"]],
    )
    report = run_import(session, path, dry_run=True)
    session.commit()

    assert report.ok and report.dry_run
    assert (report.created, report.updated, report.unchanged) == (1, 1, 0)
    assert snapshot(session) == before
    assert count(session, AuditLog, AuditLog.action == "products.import") == 0


def test_a3_progress_is_reported_up_to_the_last_row(session, tmp_path):
    rows = [["编码", "名称"]] + [[f"P-{i:04d}", f"砂轮 {i}"] for i in range(450)]
    calls = []
    run_import(session, write_csv(tmp_path / "p.csv", rows), progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (450, 450)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


# --------------------------------------------------------------------------- all or nothing


def test_s2_import_with_a_bad_row_imports_nothing_and_reports_the_row(session, catalog, tmp_path):
    before = snapshot(session)
    path = write_csv(
        tmp_path / "bad.csv",
        [
            ["编码", "名称", "单价", "外径mm"],
            ["NEW-1", "新砂轮", "12.5", "300"],
            ["1-400x50x127-WA60K", "改名", "-1", "400"],
            ["NEW-2", "", "abc", "0"],
        ],
    )
    report = run_import(session, path)
    session.commit()

    assert not report.ok
    assert report.bad_rows == [3, 4]
    found = {(e.row, e.column, e.value) for e in report.errors}
    assert found == {(3, "单价", "-1"), (4, "名称", ""), (4, "单价", "abc"), (4, "外径mm", "0")}
    assert all(e.reason_zh and e.reason_en for e in report.errors)
    assert (report.created, report.updated) == (0, 0)
    assert snapshot(session) == before
    assert count(session, AuditLog, AuditLog.action == "products.import") == 0


def test_s2_a_bad_row_at_the_end_of_a_long_xlsx_rolls_back_all_the_good_rows(session, tmp_path):
    rows = [HEADERS[:2] + ["单价"]] + [[f"P-{i:04d}", f"平形砂轮 {i}", 10 + i / 100] for i in range(800)]
    rows.append(["P-LAST", "最后一行", "12.345"])
    path = write_xlsx(tmp_path / "long.xlsx", rows)

    report = run_import(session, path)
    session.commit()

    assert [(e.row, e.column, e.value) for e in report.errors] == [(802, "单价", "12.345")]
    assert "2" in report.errors[0].reason_zh and "decimal" in report.errors[0].reason_en
    assert count(session, Product) == 0


def test_s2_a_code_twice_in_the_file_is_a_row_error(session, tmp_path):
    path = write_csv(tmp_path / "dup.csv", [["编码", "名称"], ["A-1", "一"], ["A-2", "二"], ["A-1", "三"]])
    report = run_import(session, path)
    assert [(e.row, e.column, e.value) for e in report.errors] == [(4, "编码", "A-1")]
    assert "第 2 行" in report.errors[0].reason_zh
    assert count(session, Product) == 0


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (["编码", "名称", "颜色"], "颜色"),
        (["编码", "名称", "price", "单价"], "单价"),
        (["编码", "price"], "名称"),  # missing: reported under the required column's header
    ],
    ids=["unknown", "duplicate", "missing-required"],
)
def test_s2_unknown_duplicate_or_missing_headers_are_refused(session, tmp_path, header, problem):
    path = write_csv(tmp_path / "h.csv", [header, ["A-1"] + ["1"] * (len(header) - 1)])
    report = run_import(session, path)
    assert not report.ok
    assert all(e.row == 1 for e in report.errors)
    assert problem in {e.column for e in report.errors}
    assert count(session, Product) == 0


@pytest.mark.parametrize(
    ("column", "value", "zh"),
    [
        ("单价", "12.345", "小数"),
        ("单价", "-0.01", "负数"),
        ("单价", "1e3", "数字"),
        ("单价", "1234567890123", "过大"),
        ("外径mm", "0", "大于 0"),
        ("厚度mm", "1.005", "小数"),
        ("最高线速度m/s", "35.25", "小数"),
        ("类型 (标准品/定制品)", "特殊品", "标准品"),
        ("上架 (是/否)", "maybe", "是"),
        ("硬度", "K" * 9, "超过"),
        ("标记", "1-400×50\n×127", "换行"),
    ],
)
def test_s2_cells_are_checked_against_the_product_rules(session, tmp_path, column, value, zh):
    path = write_csv(tmp_path / "v.csv", [["编码", "名称", column], ["A-1", "砂轮", value]])
    report = run_import(session, path)
    assert [(e.row, e.column, e.value) for e in report.errors] == [(2, column, value)]
    assert zh in report.errors[0].reason_zh
    assert count(session, Product) == 0


def test_s2_text_longer_than_the_model_allows_is_refused(session, tmp_path):
    limit = Product.__table__.c["name"].type.length
    path = write_csv(tmp_path / "long.csv", [["编码", "名称"], ["A-1", "砂" * limit], ["A-2", "砂" * (limit + 1)]])
    report = run_import(session, path)
    assert [(e.row, e.column) for e in report.errors] == [(3, "名称")]


def test_s2_a_value_under_no_header_is_a_row_error(session, tmp_path):
    path = write_csv(tmp_path / "x.csv", [["编码", "名称", ""], ["A-1", "一", ""], ["A-2", "二", "多余"]])
    report = run_import(session, path)
    assert [(e.row, e.column, e.value) for e in report.errors] == [(3, "(C)", "多余")]


# --------------------------------------------------------------------------- files as people make them


def test_a3_empty_rows_are_skipped_and_an_xlsx_is_read_from_its_first_sheet(session, tmp_path):
    rows = [[], ["编码", "名称", "单价"], ["A-1", "一", 1], [None, None, None], [], ["A-2", "二", 2.5]]
    path = write_xlsx(tmp_path / "gaps.xlsx", rows, extra_sheet_first=True)
    report = run_import(session, path)
    session.commit()
    assert report.ok, report.errors
    assert (report.rows, report.created, report.skipped_empty) == (2, 2, 2)
    assert snapshot(session)["A-2"]["price"] == Decimal("2.50")


def test_s2_row_numbers_are_the_sheet_rows_after_blank_lines_and_multiline_cells(session, tmp_path):
    rows = [
        ["编码", "名称", "说明"],
        ["A-1", "一", "第一行\n第二行"],
        [],
        ["A-2", "二", ""],
        ["A-3", "三", ""],
        ["A-3", "重复", ""],
    ]
    report = run_import(session, write_csv(tmp_path / "n.csv", rows))
    # A multi-line cell is still one row in Excel: the duplicate is on the sheet's row 6.
    assert [e.row for e in report.errors] == [6]


def test_a3_a_gb18030_csv_from_chinese_excel_is_detected(session, tmp_path):
    rows = [["编码", "名称", "形状", "磨料"], ["A-1", "白刚玉平形砂轮", "1 平形砂轮", "WA 白刚玉"]]
    path = write_csv(tmp_path / "gb.csv", rows, encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")

    report = run_import(session, path)
    session.commit()

    assert report.ok and report.encoding == "gb18030"
    product = session.exec(select(Product)).one()
    assert (product.name, product.shape, product.abrasive) == ("白刚玉平形砂轮", "1 平形砂轮", "WA 白刚玉")


def test_s2_an_explicit_encoding_is_used_and_a_wrong_one_is_a_clear_error(session, tmp_path):
    path = write_csv(tmp_path / "gb.csv", [["编码", "名称"], ["A-1", "碗形砂轮"]], encoding="gb18030")
    with pytest.raises(InvalidInput) as caught:
        run_import(session, path, encoding="utf-8")
    assert "gb.csv" in caught.value.detail and "encoding" in caught.value.detail
    assert run_import(session, path, encoding="gb18030").created == 1


def test_a3_excel_unicode_text_tab_separated_utf16_is_read(session, tmp_path):
    path = tmp_path / "unicode.csv"
    path.write_bytes("编码\t名称\r\nA-1\t筒形砂轮\r\n".encode("utf-16"))
    report = run_import(session, path)
    assert report.ok and report.created == 1


@pytest.mark.parametrize(
    ("name", "content", "fmt", "says"),
    [
        ("broken.xlsx", b"PK\x03\x04 not really a zip", None, "XLSX"),
        ("text.xlsx", "编码,名称\nA-1,一\n".encode(), None, "XLSX"),
        ("binary.csv", b"\x00\x01\x02garbage\x00", "csv", "not a text file"),
        ("catalog.csv", b"PK\x03\x04" + b"\x00" * 40, None, "XLSX"),
        ("old.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 40, None, ".xls"),
        ("legacy.xlsx", b"\xd0\xcf\x11\xe0" + b"\x00" * 40, None, ".xls"),
        ("catalog.pdf", b"%PDF-1.4", None, "format"),
        ("gbk.csv", b"\x81\x30\x81", "csv", "encoding"),
    ],
)
def test_s2_a_file_that_cannot_be_read_is_a_clear_error(session, tmp_path, name, content, fmt, says):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InvalidInput) as caught:
        run_import(session, path, fmt=fmt)
    assert says in caught.value.detail
    assert caught.value.message  # the Chinese explanation for the admin pages
    assert count(session, Product) == 0


def test_s2_an_empty_file_is_reported_not_crashed_on(session, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    report = run_import(session, path)
    assert not report.ok and report.errors[0].reason_en == "the file is empty"


def test_s2_damage_inside_an_xlsx_sheet_is_a_clear_error(session, tmp_path):
    import zipfile

    rows = [["编码", "名称"]] + [[f"A-{i}", "砂轮"] for i in range(2000)]
    good = write_xlsx(tmp_path / "good.xlsx", rows)  # big enough to break while rows stream in
    damaged = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(damaged, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]  # cut off mid-way, as a broken download would
            dst.writestr(item, data)
    with pytest.raises(InvalidInput) as caught:
        run_import(session, damaged)
    assert "damaged.xlsx" in caught.value.detail
    assert count(session, Product) == 0


def test_a3_export_to_a_folder_that_does_not_exist_is_a_clear_error(session, catalog, tmp_path):
    with pytest.raises(InvalidInput) as caught:
        export_products(session, tmp_path / "missing" / "catalog.xlsx")
    assert "cannot write" in caught.value.detail
