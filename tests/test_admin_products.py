"""The 商品 admin pages (issue #14): the list by kind, a custom product made and changed in the
browser, its grants to customers and to customer types (A3, A7), hides, agreed prices (A9) and
the catalog's export and import with a bad row (nothing imported), as an admin and as a
salesperson — in Debian's Chromium through Playwright against a live bridge with the demo data.

What a customer then sees is asked of the services (``bridge.products.customer_catalog``,
``bridge.visibility.price_for``), the ones the mini-program API answers with."""

from __future__ import annotations

import re
from decimal import Decimal

from sqlmodel import Session, select

from bridge import products
from bridge.actors import Actor
from bridge.demo import ADMIN_LOGIN, CUSTOMERS, HIDDEN, SALES_LOGIN
from bridge.models import Customer, Product, ProductGrant, ProductKind, StaffUser
from bridge.visibility import price_for
from tests.admin_site import shoot, signed_in
from tests.conftest import require_module

PRODUCT_PAGE = re.compile(r".*/admin/products/\d+$")
HENGDA, JINGGONG, YONGXING, DESHENG = (c.name for c in CUSTOMERS)  # type 1, 1, 2, 2


def _customer(site, name: str) -> Customer:
    with Session(site.rt.engine) as session:
        return session.exec(select(Customer).where(Customer.name == name)).one()


def _product(site, sku: str) -> Product:
    with Session(site.rt.engine) as session:
        return session.exec(select(Product).where(Product.sku == sku)).one()


def _sees(site, customer_name: str, sku: str) -> bool:
    """Does the customer find ``sku`` in its own catalog (what the mini-program lists)?"""
    with Session(site.rt.engine) as session:
        customer = session.exec(select(Customer).where(Customer.name == customer_name)).one()
        found = products.customer_catalog(session, Actor.customer(customer.id), customer, q=sku)
        return any(p.product.sku == sku for p in found.items)


def _price(site, customer_name: str, sku: str) -> Decimal:
    """What the customer pays for ``sku``: ``price_for`` and the customer's catalog agree."""
    with Session(site.rt.engine) as session:
        customer = session.exec(select(Customer).where(Customer.name == customer_name)).one()
        product = session.exec(select(Product).where(Product.sku == sku)).one()
        listed = products.customer_catalog(session, Actor.customer(customer.id), customer, q=sku).items
        assert [p.price for p in listed if p.product.sku == sku] == [price_for(session, customer, product)]
        return price_for(session, customer, product)


def _pick(page, section: str, purpose: str, text: str) -> None:
    """Open the customer picker of ``section`` and search ``text``."""
    page.click(f"#{section} details.picker summary")
    page.fill(f"#{section} details.picker input[type=search]", text)
    page.wait_for_selector(f"#pick-{purpose} tr[data-customer]")


def _other_salesperson(site) -> tuple[Customer, Product]:
    """Another salesperson with a customer of their own and a custom product made for it."""
    with Session(site.rt.engine, expire_on_commit=False) as session:
        lisi = StaffUser(username="lisi", display_name="李四", role="sales", password_hash="x")
        session.add(lisi)
        session.flush()
        theirs = Customer(name="别家五金厂", type=2, salesperson_id=lisi.id)
        wheel = Product(
            sku="C-LISI-001",
            name="李四客户专用砂轮",
            kind=ProductKind.CUSTOM,
            price=Decimal("9.90"),
            created_by_id=lisi.id,
        )
        session.add_all([theirs, wheel])
        session.flush()
        session.add(ProductGrant(product_id=wheel.id, customer_id=theirs.id))
        session.commit()
        return theirs, wheel


# --------------------------------------------------------------------------- the list


def test_a3_c1_the_list_shows_products_by_kind_with_search_and_paging(demo_site, browser):
    page = signed_in(browser, demo_site, ADMIN_LOGIN)
    page.goto(f"{demo_site.base_url}/admin/products")
    kinds = page.locator("#product-table tbody tr td:nth-child(2)").all_inner_texts()
    assert {"标准品", "定制品"} <= set(kinds)
    assert page.locator("#product-table .badge-active").count() == len(kinds)  # every demo wheel is on sale
    shoot(page, "products")

    page.select_option("#f-kind", "custom")  # htmx swaps the table and pushes the address
    page.wait_for_url("**/admin/products?*kind=custom*")
    page.wait_for_function("[...document.querySelectorAll('#product-table tbody tr')].length > 0")
    assert set(page.locator("#product-table tbody tr td:nth-child(2)").all_inner_texts()) == {"定制品"}

    page.select_option("#f-kind", "standard")
    page.wait_for_url("**kind=standard*")
    hidden_sku = HIDDEN[1]
    page.fill("#f-q", hidden_sku)
    page.wait_for_url(f"**q={hidden_sku}*")
    page.wait_for_function("document.querySelectorAll('#product-table tbody tr').length === 1")
    assert page.get_attribute("#product-table tbody tr", "data-sku") == hidden_sku

    page.goto(f"{demo_site.base_url}/admin/products?kind=standard&q=没有这种砂轮")
    assert "没有符合条件的商品" in page.inner_text("#product-table")
    page.close()


def test_a3_a_product_marked_inactive_reads_so_in_the_list(demo_site, browser):
    wheel = _product(demo_site, HIDDEN[1])
    page = signed_in(browser, demo_site, ADMIN_LOGIN)
    page.goto(f"{demo_site.base_url}/admin/products/{wheel.id}/edit")
    page.uncheck("input[name=active]")
    page.click("form.product-form button[type=submit]")
    page.wait_for_url(f"**/admin/products/{wheel.id}")
    assert "已下架" in page.inner_text("h1")
    page.goto(f"{demo_site.base_url}/admin/products?q={wheel.sku}")
    assert page.inner_text(f"tr[data-sku='{wheel.sku}'] .badge-inactive") == "已下架"
    assert not _sees(demo_site, HENGDA, wheel.sku)  # off sale: no customer sees it
    page.close()


# --------------------------------------------------------------------------- making, editing, granting (A7, A3)


def test_a7_salesperson_makes_a_custom_product_with_a_field_error_first_and_grants_it_to_one_customer(
    demo_site, browser
):
    """Scenario 2's product half: a custom product made in the browser is seen by the customer it
    is granted to and by no other."""
    page = signed_in(browser, demo_site, SALES_LOGIN, phone=True)
    page.goto(f"{demo_site.base_url}/admin/products")
    page.click("text=新建定制品")
    page.wait_for_url("**/admin/products/new")
    page.fill("#f-sku", "C-HD-TEST-01")
    page.fill("#f-name", "恒达试制 平形砂轮 300×40×75")
    page.fill("#f-price", "128.50")
    page.fill("#f-outer_diameter_mm", "-300")  # the bad field
    page.fill("#f-thickness_mm", "40")
    page.fill("#f-bore_mm", "75")
    page.fill("#f-abrasive", "WA")
    page.fill("#f-grit", "F60")
    page.fill("#f-hardness", "K")
    page.fill("#f-bond", "V")
    page.fill("#f-max_speed_ms", "35")
    page.fill("#f-marking", "1-300×40×75-WA60K5V-35m/s")
    page.click("form.product-form button[type=submit]")
    assert page.get_attribute("#f-outer_diameter_mm", "aria-invalid") == "true"
    assert "外径mm：必须大于 0" in page.inner_text("#e-outer_diameter_mm")
    assert page.input_value("#f-name") == "恒达试制 平形砂轮 300×40×75"  # what was typed stays
    with Session(demo_site.rt.engine) as session:
        assert session.exec(select(Product).where(Product.sku == "C-HD-TEST-01")).first() is None

    page.fill("#f-outer_diameter_mm", "300")
    page.click("form.product-form button[type=submit]")
    page.wait_for_url(PRODUCT_PAGE)
    wheel = _product(demo_site, "C-HD-TEST-01")
    assert (wheel.kind, wheel.outer_diameter_mm, wheel.price) == (ProductKind.CUSTOM, Decimal("300"), Decimal("128.50"))
    assert page.inner_text(".spec-line") == "300×40×75 WA F60 K V 35m/s"
    assert not _sees(demo_site, HENGDA, wheel.sku)  # nobody sees a custom product before its grant

    _pick(page, "grants", "grant", "恒达")
    page.click("#pick-grant tr[data-customer] button")
    page.wait_for_selector(f"#grants table.listed tr[data-customer='{_customer(demo_site, HENGDA).id}']")
    assert HENGDA in page.inner_text("#grants")
    assert _sees(demo_site, HENGDA, wheel.sku)
    assert not _sees(demo_site, JINGGONG, wheel.sku)
    assert "仅管理员可修改" in page.inner_text("#grants")  # type grants are the admins'
    page.close()


def test_a3_admin_edits_a_custom_product_and_grants_it_to_a_customer_type(demo_site, browser):
    page = signed_in(browser, demo_site, ADMIN_LOGIN)
    page.goto(f"{demo_site.base_url}/admin/products/new")
    page.fill("#f-sku", "C-TYPE2-01")
    page.fill("#f-name", "类型二客户专用切割片")
    page.fill("#f-price", "3.20")
    page.click("form.product-form button[type=submit]")
    page.wait_for_url(PRODUCT_PAGE)
    wheel = _product(demo_site, "C-TYPE2-01")

    page.click("text=编辑")
    page.wait_for_url(f"**/admin/products/{wheel.id}/edit")
    page.fill("#f-name", "类型二客户专用 树脂切割片 105×1.2×16")
    page.fill("#f-max_speed_ms", "80.05")  # one decimal place only
    page.click("form.product-form button[type=submit]")
    assert "最多 1 位小数" in page.inner_text("#e-max_speed_ms")
    page.fill("#f-max_speed_ms", "80")
    page.fill("#f-outer_diameter_mm", "105")
    page.fill("#f-bond", "BF")
    page.click("form.product-form button[type=submit]")
    page.wait_for_url(f"**/admin/products/{wheel.id}")
    wheel = _product(demo_site, "C-TYPE2-01")
    assert (wheel.name, wheel.max_speed_ms, wheel.bond) == ("类型二客户专用 树脂切割片 105×1.2×16", Decimal("80"), "BF")

    page.click("#grants tr[data-type='2'] button")
    page.wait_for_selector("#grants tr[data-type='2'] .badge-active")
    assert _sees(demo_site, YONGXING, wheel.sku) and _sees(demo_site, DESHENG, wheel.sku)
    assert not _sees(demo_site, HENGDA, wheel.sku)

    page.click("#grants tr[data-type='2'] button")  # 撤销
    page.wait_for_selector("#grants tr[data-type='2'] .badge-active", state="detached")
    assert not _sees(demo_site, YONGXING, wheel.sku)
    page.close()


def test_a3_revoking_a_customers_grant_takes_the_product_away(demo_site, browser):
    hengda = _customer(demo_site, HENGDA)
    wheel = _product(demo_site, "C-HD-610x75x304.8")  # the demo's custom wheel granted to 恒达
    assert _sees(demo_site, HENGDA, wheel.sku)
    page = signed_in(browser, demo_site, ADMIN_LOGIN)
    page.goto(f"{demo_site.base_url}/admin/products/{wheel.id}")
    page.click(f"#grants table.listed tr[data-customer='{hengda.id}'] button:text('撤销授权')")
    page.wait_for_selector(f"#grants table.listed tr[data-customer='{hengda.id}']", state="detached")
    assert not _sees(demo_site, HENGDA, wheel.sku)
    page.close()


def test_a3_a_standard_product_hidden_from_one_customer(demo_site, browser):
    wheel = _product(demo_site, "41-105x1.2x16-A60N")
    jinggong = _customer(demo_site, JINGGONG)
    page = signed_in(browser, demo_site, ADMIN_LOGIN)
    page.goto(f"{demo_site.base_url}/admin/products/{wheel.id}")
    assert "无需授权" in page.inner_text("#grants")
    _pick(page, "hides", "hide", "精工")
    page.click(f"#pick-hide tr[data-customer='{jinggong.id}'] button")
    page.wait_for_selector(f"#hides table.listed tr[data-customer='{jinggong.id}']")
    assert not _sees(demo_site, JINGGONG, wheel.sku)
    assert _sees(demo_site, HENGDA, wheel.sku)

    page.click(f"#hides table.listed tr[data-customer='{jinggong.id}'] button")  # 取消隐藏
    page.wait_for_selector(f"#hides table.listed tr[data-customer='{jinggong.id}']", state="detached")
    assert _sees(demo_site, JINGGONG, wheel.sku)
    page.close()


# --------------------------------------------------------------------------- prices (A9)


def test_a9_prices_per_customer_and_per_type_set_changed_and_removed_in_the_browser(demo_site, browser):
    sku = "27-100x6x16-A24N"  # the demo: 恒达 has an agreed price for it
    wheel = _product(demo_site, sku)
    yongxing = _customer(demo_site, YONGXING)
    assert _price(demo_site, DESHENG, sku) == wheel.price
    page = signed_in(browser, demo_site, ADMIN_LOGIN)
    page.goto(f"{demo_site.base_url}/admin/products/{wheel.id}")

    page.fill("#price-type-2 input[name=price]", "2.80")
    page.click("#price-type-2 button[type=submit]")
    page.wait_for_function("document.querySelector('#price-type-2 input[name=price]').value === '2.80'")
    page.wait_for_timeout(100)
    assert _price(demo_site, DESHENG, sku) == Decimal("2.80")  # a type-2 customer: its type's price
    assert _price(demo_site, HENGDA, sku) == Decimal("2.50")  # type 1 with its own agreed price

    _pick(page, "prices", "price", "永兴")
    page.fill(f"#pick-price tr[data-customer='{yongxing.id}'] input[name=price]", "很便宜")
    page.click(f"#pick-price tr[data-customer='{yongxing.id}'] button")
    page.wait_for_selector("#prices p.error")
    assert "单价：不是数字" in page.inner_text("#prices p.error")
    _pick(page, "prices", "price", "永兴")
    page.fill(f"#pick-price tr[data-customer='{yongxing.id}'] input[name=price]", "2.60")
    page.click(f"#pick-price tr[data-customer='{yongxing.id}'] button")
    row = f"#price-customer-{yongxing.id}"
    page.wait_for_selector(row)
    assert _price(demo_site, YONGXING, sku) == Decimal("2.60")  # its own price wins over its type's
    assert _price(demo_site, DESHENG, sku) == Decimal("2.80")

    page.fill(f"{row} input[name=price]", "-1")
    page.click(f"{row} form >> nth=0 >> button")
    page.wait_for_selector(f"{row} .field-error")
    assert "不能为负数" in page.inner_text(f"{row} .field-error")
    page.fill(f"{row} input[name=price]", "2.55")
    page.click(f"{row} form >> nth=0 >> button")
    page.wait_for_selector(f"{row} .field-error", state="detached")
    assert _price(demo_site, YONGXING, sku) == Decimal("2.55")

    page.click(f"{row} form >> nth=1 >> button")  # 删除: back to the type's price
    page.wait_for_selector(row, state="detached")
    assert _price(demo_site, YONGXING, sku) == Decimal("2.80")
    page.fill("#price-type-2 input[name=price]", "")
    page.click("#price-type-2 button[type=submit]")
    page.wait_for_function("document.querySelector('#price-type-2 input[name=price]').value === ''")
    page.wait_for_timeout(100)
    assert _price(demo_site, DESHENG, sku) == wheel.price  # nothing agreed: the list price
    page.close()


def test_a9_a_custom_product_carries_the_price_agreed_with_its_customer(demo_site, browser):
    wheel = _product(demo_site, "C-HD-610x75x304.8")  # the demo's custom wheel granted to 恒达
    hengda = _customer(demo_site, HENGDA)
    page = signed_in(browser, demo_site, ADMIN_LOGIN)
    page.goto(f"{demo_site.base_url}/admin/products/{wheel.id}")
    page.click("#grants tr[data-type='2'] button")  # and to every type-2 customer, at the list price
    page.wait_for_selector("#grants tr[data-type='2'] .badge-active")
    _pick(page, "prices", "price", "恒达")
    page.fill(f"#pick-price tr[data-customer='{hengda.id}'] input[name=price]", "1150")
    page.click(f"#pick-price tr[data-customer='{hengda.id}'] button")
    page.wait_for_selector(f"#price-customer-{hengda.id}")
    assert _price(demo_site, HENGDA, wheel.sku) == Decimal("1150.00")
    assert _price(demo_site, YONGXING, wheel.sku) == wheel.price
    assert not _sees(demo_site, JINGGONG, wheel.sku)  # a price is not a grant
    shoot(page, "product")
    page.close()


# --------------------------------------------------------------------------- the catalog sheet


def test_catalog_export_then_import_with_a_bad_row_imports_nothing(demo_site, browser, tmp_path):
    openpyxl = require_module("openpyxl")
    page = signed_in(browser, demo_site, ADMIN_LOGIN)
    page.goto(f"{demo_site.base_url}/admin/products")
    with page.expect_download() as download:
        page.click("text=导出 XLSX")
    sheet = tmp_path / "catalog.xlsx"
    download.value.save_as(sheet)

    book = openpyxl.load_workbook(sheet)
    ws = book.active
    headers = [c.value for c in ws[1]]
    col = {h: i + 1 for i, h in enumerate(headers)}
    exported = ws.max_row - 1
    first_sku = ws.cell(row=2, column=col["编码"]).value
    before = _product(demo_site, first_sku).price
    ws.cell(row=2, column=col["单价"]).value = float(before) + 1  # a change
    ws.append(["NEW-IMPORT-01", "导入的新砂轮", "标准品", None, "片", 8.8])  # a new product
    ws.append(["NEW-IMPORT-02", "坏行", "标准品", None, "片", "八块"])  # the bad row
    bad_row = ws.max_row
    book.save(sheet)

    page.goto(f"{demo_site.base_url}/admin/products/import")
    page.set_input_files("#f-file", str(sheet))
    page.click("button[value=preview]")
    page.wait_for_selector(".import-report[data-outcome=errors]")
    errors = page.inner_text(".row-errors tbody")
    assert str(bad_row) in errors and "单价" in errors and "不是数字" in errors and "八块" in errors
    assert "未导入任何数据" in page.inner_text(".import-report h2")
    shoot(page, "catalog-import")

    page.click("button[value=import]")  # importing the same file anyway: still nothing
    page.wait_for_selector(".import-report[data-outcome=errors]")
    with Session(demo_site.rt.engine) as session:
        assert session.exec(select(Product).where(Product.sku.like("NEW-IMPORT-%"))).all() == []
    assert _product(demo_site, first_sku).price == before

    ws.delete_rows(bad_row)
    book.save(sheet)
    page.set_input_files("#f-file", str(sheet))
    page.click("button[value=preview]")
    page.wait_for_selector(".import-report[data-outcome=preview]")
    assert page.inner_text("[data-count=created]") == "1" and page.inner_text("[data-count=updated]") == "1"
    assert page.inner_text("[data-count=unchanged]") == str(exported - 1)
    assert _product(demo_site, first_sku).price == before  # a preview writes nothing
    page.click("button[value=import]")
    page.wait_for_selector(".import-report[data-outcome=imported]")
    assert _product(demo_site, first_sku).price == before + 1
    assert _product(demo_site, "NEW-IMPORT-01").price == Decimal("8.80")
    page.close()


def test_catalog_export_as_csv_downloads_every_product(demo_site, browser, tmp_path):
    page = signed_in(browser, demo_site, ADMIN_LOGIN)
    page.goto(f"{demo_site.base_url}/admin/products")
    with page.expect_download() as download:
        page.click("text=导出 CSV")
    path = tmp_path / "catalog.csv"
    download.value.save_as(path)
    text = path.read_text(encoding="utf-8-sig")
    with Session(demo_site.rt.engine) as session:
        skus = session.exec(select(Product.sku)).all()
    assert text.splitlines()[0].startswith('"编码","名称"')
    assert all(f'"{sku}"' in text for sku in skus)
    page.close()


# --------------------------------------------------------------------------- a salesperson (S3)


def test_s3_salesperson_sees_their_products_and_is_told_what_only_admins_do(demo_site, browser):
    theirs, their_wheel = _other_salesperson(demo_site)
    page = signed_in(browser, demo_site, SALES_LOGIN)
    base = demo_site.base_url
    page.goto(f"{base}/admin/products")
    listed = page.locator("#product-table tbody .sku").all_inner_texts()
    assert their_wheel.sku not in listed and "C-HD-610x75x304.8" in listed  # custom ones of my customers only
    assert page.locator("text=新建标准品").count() == 0 and page.locator("text=导入目录").count() == 0

    answer = page.goto(f"{base}/admin/products/{their_wheel.id}")  # another salesperson's wheel
    assert answer.status == 404 and "页面不存在" in page.inner_text("main")
    assert their_wheel.name not in page.content()

    for path in ("/admin/products/import", "/admin/products/export"):
        answer = page.goto(f"{base}{path}")
        assert answer.status == 403 and "只有管理员可以导入或导出商品目录" in page.inner_text("main")

    demo_custom = _product(demo_site, "C-HD-610x75x304.8")  # made by the demo loader, not by me
    page.goto(f"{base}/admin/products/{demo_custom.id}")
    assert page.locator("text=编辑").count() == 0
    answer = page.goto(f"{base}/admin/products/{demo_custom.id}/edit")
    assert answer.status == 403 and "只能修改自己创建的定制品" in page.inner_text("main")

    standard = _product(demo_site, "41-105x1.2x16-A60N")
    page.goto(f"{base}/admin/products/{standard.id}")
    assert "标准品只有管理员可以修改" in page.inner_text("main")
    assert page.locator("#price-type-2 input").count() == 0  # type prices: shown, not offered
    # a salesperson may agree a price with their own customer, and finds none of another's
    _pick(page, "prices", "price", "恒达")
    page.fill("#prices details.picker input[type=search]", theirs.name)
    page.wait_for_selector("#pick-price .empty")
    assert theirs.name not in page.inner_text("#pick-price")

    # asked anyway (a hand-made request), the type price is refused with the service's words
    token = page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['x-csrftoken']")
    answer = page.request.post(
        f"{base}/admin/products/{standard.id}/prices",
        form={"customer_type": "2", "price": "1.00"},
        headers={"x-csrftoken": token, "hx-request": "true"},
    )
    assert answer.status == 403 and "只有管理员可以设置客户类型价格" in answer.text()
    assert _price(demo_site, DESHENG, standard.sku) == standard.price

    page.goto(f"{base}/admin/products/new?kind=standard")  # a salesperson's new product is custom
    assert page.locator("#f-kind").count() == 0
    page.fill("#f-sku", "C-MINE-01")
    page.fill("#f-name", "我的定制砂轮")
    page.fill("#f-price", "5")
    page.click("form.product-form button[type=submit]")
    page.wait_for_url(PRODUCT_PAGE)
    assert _product(demo_site, "C-MINE-01").kind == ProductKind.CUSTOM
    assert page.locator("text=编辑").count() == 1  # what I made, I may change
    page.close()


def test_screenshot_of_the_product_edit_form(demo_site, browser):
    wheel = _product(demo_site, "C-HD-610x75x304.8")
    page = signed_in(browser, demo_site, ADMIN_LOGIN)
    page.goto(f"{demo_site.base_url}/admin/products/{wheel.id}/edit")
    page.fill("#f-bore_mm", "304.855")
    page.click("form.product-form button[type=submit]")
    assert "最多 2 位小数" in page.inner_text("#e-bore_mm")
    shoot(page, "product-edit")
    page.close()


# --------------------------------------------------------------------------- without htmx (plain forms)


def _client_signed_in(engine, tmp_path):
    from bridge.actors import CLI_ADMIN
    from bridge.demo import load_demo_data
    from tests.api_helpers import make_client

    client, rt = make_client(engine, tmp_path)
    with Session(rt.engine) as session:
        load_demo_data(session, CLI_ADMIN)
        session.commit()
    form = client.get("/admin/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text).group(1)
    answer = client.post(
        "/admin/login",
        data={"username": ADMIN_LOGIN[0], "password": ADMIN_LOGIN[1], "_csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    return client, rt, token


def test_a3_the_forms_work_as_plain_forms_with_the_csrf_field(engine, tmp_path):
    """Without htmx: a grant and an upload are plain POSTs carrying ``_csrf_token``; the grant
    goes back to the product's page (303), the upload answers the import page with its report."""
    client, rt, token = _client_signed_in(engine, tmp_path)
    with Session(rt.engine) as session:
        wheel = session.exec(select(Product).where(Product.sku == "C-HD-610x75x304.8")).one()
        jinggong = session.exec(select(Customer).where(Customer.name == JINGGONG)).one()
    with client:
        found = client.get(f"/admin/products/{wheel.id}/pick", params={"purpose": "grant", "q": "精工"})
        assert found.status_code == 200 and "<html" in found.text and JINGGONG in found.text
        answer = client.post(
            f"/admin/products/{wheel.id}/grants",
            data={"customer_id": str(jinggong.id), "_csrf_token": token},
            follow_redirects=False,
        )
        assert answer.status_code == 303 and answer.headers["location"] == f"/admin/products/{wheel.id}#grants"
        with Session(rt.engine) as session:
            granted = products.product_access(session, Actor.admin(), wheel.id).granted_customers
        assert jinggong.id in [c.id for c in granted]

        refused = client.post(f"/admin/products/{wheel.id}/grants", data={"customer_id": str(jinggong.id)})
        assert refused.status_code == 403  # no CSRF token

        sheet = "编码,名称,单价\nPLAIN-1,表单导入,3\nPLAIN-2,坏行,三块\n".encode()
        answer = client.post(
            "/admin/products/import",
            data={"_csrf_token": token, "mode": "import"},
            files={"file": ("目录.csv", sheet, "text/csv")},
        )
        assert answer.status_code == 422 and "<html" in answer.text
        assert "目录.csv：1 行有错误，未导入任何数据" in answer.text and "三块" in answer.text
    with Session(rt.engine) as session:
        assert session.exec(select(Product).where(Product.sku.like("PLAIN-%"))).all() == []
