"""The admin pages of packaging QR codes (issue #14 商品 "QR data"), in Debian's Chromium against
a live bridge with the demo data: a product's codes (add, a refused code, remove), the bulk
import with a bad row (reported, nothing imported) then a good sheet, and the label sheet PDF
downloaded and scanned back."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
from sqlmodel import Session, select

from bridge.demo import ADMIN_LOGIN, CUSTOM_WHEELS, SALES_LOGIN, STANDARD_WHEELS
from bridge.models import AuditLog, Product, ProductKind, ProductQR, StaffUser
from tests.admin_site import shoot, signed_in
from tests.conftest import count
from tests.label_pdf import decode_label_pages, first_page_png

SHEET_PNG = Path(__file__).resolve().parent.parent / "docs" / "labels" / "sheet.png"
"""The first page of a label sheet as printed (linked from the README)."""


def _product(site, sku: str) -> Product:
    with Session(site.rt.engine) as session:
        return session.exec(select(Product).where(Product.sku == sku)).one()


def _codes(site, product: Product) -> dict[str, str | None]:
    with Session(site.rt.engine) as session:
        rows = session.exec(select(ProductQR).where(ProductQR.product_id == product.id)).all()
        return {qr.payload: qr.marking for qr in rows}


def test_a4_admin_adds_a_code_sees_a_refused_one_and_removes_it(demo_site, browser):
    """A4: a product's QR codes entered one by one on its page, with per-field errors."""
    wheel, other = _product(demo_site, STANDARD_WHEELS[0].sku), _product(demo_site, STANDARD_WHEELS[1].sku)
    taken = next(iter(_codes(demo_site, other)))
    page = signed_in(browser, demo_site, ADMIN_LOGIN)
    page.on("dialog", lambda dialog: dialog.accept())  # the removal asks first
    page.goto(f"{demo_site.base_url}/admin/products/{wheel.id}/qr")
    assert wheel.name in page.inner_text("h1")
    before = _codes(demo_site, wheel)
    assert len(before) == 1 and page.locator("#qr-codes tbody tr").count() == 1

    page.fill("#f-payload", "JHT:QR:B7:0001")
    page.fill("#f-marking", "WA60K5V 批次B7")
    page.click("#qr-codes button:has-text('添加')")
    page.wait_for_selector("tr[data-qr='JHT:QR:B7:0001']")
    assert "二维码已添加" in page.inner_text("#qr-codes")
    assert _codes(demo_site, wheel) == before | {"JHT:QR:B7:0001": "WA60K5V 批次B7"}

    page.fill("#f-payload", taken)
    page.click("#qr-codes button:has-text('添加')")
    page.wait_for_selector("#e-payload")
    assert page.inner_text("#e-payload") == "该二维码已用于其他商品"
    assert page.input_value("#f-payload") == taken  # the form keeps what was typed
    assert taken not in _codes(demo_site, wheel)
    page.fill("#f-payload", "")
    shoot(page, "product-qr")

    page.click("tr[data-qr='JHT:QR:B7:0001'] button:has-text('删除')")
    page.wait_for_selector("tr[data-qr='JHT:QR:B7:0001']", state="detached")
    assert _codes(demo_site, wheel) == before
    with Session(demo_site.rt.engine) as session:
        admin = session.exec(select(StaffUser).where(StaffUser.username == ADMIN_LOGIN[0])).one()
        actions = [a.action for a in session.exec(select(AuditLog).where(AuditLog.actor_id == str(admin.id)))]
    assert actions.count("product.qr_add") == 1 and actions.count("product.qr_remove") == 1
    page.close()


def test_a4_bulk_import_with_a_bad_row_reports_it_and_imports_nothing_then_a_good_sheet(demo_site, browser, tmp_path):
    """A4 and the issue's "QR bulk import with a bad row (nothing imported, the row reported)"."""
    wheel, disc = _product(demo_site, STANDARD_WHEELS[0].sku), _product(demo_site, CUSTOM_WHEELS[1][1])
    bad = tmp_path / "二维码.csv"
    bad.write_text(f"编码,二维码内容,标记\n{wheel.sku},JHT:QR:NEW:1,\nNO-SUCH-SKU,JHT:QR:NEW:2,\n", encoding="utf-8")
    with Session(demo_site.rt.engine) as session:
        before = count(session, ProductQR)
    page = signed_in(browser, demo_site, ADMIN_LOGIN)
    page.goto(f"{demo_site.base_url}/admin/qr/import")
    page.set_input_files("#f-file", str(bad))
    page.click("form.upload button[type=submit]")
    page.wait_for_selector("#qr-report")
    assert "没有导入任何二维码" in page.inner_text("#qr-report")
    rows = page.locator("#qr-report tbody tr")
    assert rows.count() == 1
    assert rows.first.inner_text().split("\t") == ["第 3 行", "编码", "NO-SUCH-SKU", "商品编码不存在"]
    with Session(demo_site.rt.engine) as session:
        assert count(session, ProductQR) == before  # row 2 was good, and was not written either
    shoot(page, "qr-import")

    good = tmp_path / "qr.xlsx"
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["编码", "二维码内容", "标记"])
    book.active.append([wheel.sku, "JHT:QR:NEW:1", "批次 7"])
    book.active.append([disc.sku, None, None])
    book.save(good)
    page.set_input_files("#f-file", str(good))
    page.click("form.upload button[type=submit]")
    page.wait_for_selector("#qr-report .notice")
    assert "新增 2 个二维码" in page.inner_text("#qr-report")
    assert _codes(demo_site, wheel)["JHT:QR:NEW:1"] == "批次 7"
    assert f"JHT:QR:1:{disc.sku}" in _codes(demo_site, disc)
    page.close()


def test_a4_label_sheet_downloads_as_a_pdf_whose_codes_scan(demo_site, browser, tmp_path):
    """A4 (print labels): tick products, give copies, download the PDF; every label's code scans
    to its product's code. The first page is saved as docs/labels/sheet.png."""
    wheel = _product(demo_site, STANDARD_WHEELS[0].sku)
    custom = _product(demo_site, CUSTOM_WHEELS[0][1])  # no code yet: gets the shop's own
    assert custom.kind == ProductKind.CUSTOM and _codes(demo_site, custom) == {}
    (wheel_code,) = _codes(demo_site, wheel)
    page = signed_in(browser, demo_site, ADMIN_LOGIN)
    page.goto(f"{demo_site.base_url}/admin/qr/labels")
    page.fill("input[name=q]", wheel.sku)
    page.click("form.filters button")
    page.wait_for_url("**/admin/qr/labels?*")
    assert page.locator("tbody tr").count() == 1
    page.goto(f"{demo_site.base_url}/admin/qr/labels")
    page.check(f"tr[data-product='{wheel.sku}'] input[type=checkbox]")
    page.fill(f"tr[data-product='{wheel.sku}'] input.copies", "12")
    page.check(f"tr[data-product='{custom.sku}'] input[type=checkbox]")
    page.fill(f"tr[data-product='{custom.sku}'] input.copies", "6")
    shoot(page, "qr-labels")
    with page.expect_response(lambda r: r.request.method == "POST") as answer, page.expect_download() as download:
        page.click("form.labels-form button[type=submit]")
    assert answer.value.headers["content-type"] == "application/pdf"
    assert answer.value.headers["content-disposition"] == 'attachment; filename="qr-labels.pdf"'
    assert download.value.suggested_filename == "qr-labels.pdf"
    pdf = Path(download.value.path()).read_bytes()

    pages = decode_label_pages(pdf, tmp_path)
    (labels,) = pages  # 18 labels: one page of 3 × 8, in the order of the list
    assert Counter(labels[:18]) == {wheel_code: 12, f"JHT:QR:1:{custom.sku}": 6} and labels[18:] == [None] * 6
    assert f"JHT:QR:1:{custom.sku}" in _codes(demo_site, custom)  # now it scans to its product
    first_page_png(pdf, SHEET_PNG)

    page.goto(f"{demo_site.base_url}/admin/qr/labels")
    page.click("form.labels-form button[type=submit]")  # nothing ticked
    assert page.inner_text(".labels-form p.error") == "请至少选择一个商品"
    page.close()


def test_a4_a_salesperson_sees_no_qr_page_of_a_product_out_of_scope_and_may_not_change_a_standard_one(
    demo_site, browser
):
    """The products' rule: a custom product a salesperson neither made nor has granted to their
    customers reads 页面不存在 with nothing of it; a standard product's codes are the admins'."""
    with Session(demo_site.rt.engine) as session:
        hidden = Product(sku="OTHERS-ONLY", name="别人的定制砂轮", kind=ProductKind.CUSTOM, price=1, unit="片")
        session.add(hidden)
        session.commit()
        hidden_id = hidden.id
    wheel = _product(demo_site, STANDARD_WHEELS[0].sku)
    page = signed_in(browser, demo_site, SALES_LOGIN, phone=True)
    answer = page.goto(f"{demo_site.base_url}/admin/products/{hidden_id}/qr")
    assert answer.status == 404 and "页面不存在" in page.inner_text("main")
    assert "别人的定制砂轮" not in page.content() and "OTHERS-ONLY" not in page.content()

    page.goto(f"{demo_site.base_url}/admin/products/{wheel.id}/qr")
    before = _codes(demo_site, wheel)
    page.fill("#f-payload", "JHT:QR:SALES:1")
    page.click("#qr-codes button:has-text('添加')")
    page.wait_for_selector("#qr-codes p.error")
    assert page.inner_text("#qr-codes p.error") == "只能修改自己创建的定制品"
    assert _codes(demo_site, wheel) == before
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    qr_id = None
    with Session(demo_site.rt.engine) as session:
        qr_id = session.exec(select(ProductQR.id).where(ProductQR.product_id == wheel.id)).first()
    removed = httpx.post(
        f"{demo_site.base_url}/admin/products/{wheel.id}/qr/{qr_id}/remove",
        cookies=cookies,
        headers={"x-csrftoken": cookies["csrftoken"]},
    )
    assert removed.status_code == 403 and _codes(demo_site, wheel) == before
    page.close()
