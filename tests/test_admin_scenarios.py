"""The proposal's scenario 2 done entirely in the admin pages (issue #14, "Tests"), against a live
`jht-bridge` with the demo data, checked through the mini-program API as a customer sees it:

a salesperson creates a new customer (type 2) and a custom product for it, grants the product to
that customer; the customer's buyer logs in to the mini-program and binds the phone the
salesperson registered, and finds the product in their catalog; another customer does not."""

from __future__ import annotations

import re

import httpx
from sqlmodel import Session, select

from bridge.demo import CUSTOMERS, SALES_LOGIN
from bridge.models import Customer, OutboxMessage, ProductKind
from tests.admin_site import signed_in

MP = "/api/mp/v1"


def _buyer(base_url: str, code: str, phone: str) -> dict:
    """A buyer's mini-program sign-in (dev mode: the code is the openid, the phone code the
    number), with the phone bound: the account joins the customer registered with that phone."""
    login = httpx.post(f"{base_url}{MP}/auth/login", json={"code": code})
    assert login.status_code == 201, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    bound = httpx.post(f"{base_url}{MP}/auth/phone", json={"code": phone}, headers=headers)
    assert bound.status_code in (200, 201), bound.text
    return {"Authorization": f"Bearer {bound.json()['access_token']}"}


def _skus(base_url: str, headers: dict) -> set[str]:
    answer = httpx.get(f"{base_url}{MP}/products", params={"kind": "custom"}, headers=headers)
    assert answer.status_code == 200, answer.text
    return {item["sku"] for item in answer.json()["items"]}


def test_scenario_2_in_the_browser_new_customer_custom_product_grant(demo_site, browser):
    base = demo_site.base_url
    page = signed_in(browser, demo_site, SALES_LOGIN, phone=True)  # the salesperson, on a phone

    # 1. the new customer
    page.goto(f"{base}/admin/customers/new")
    page.fill("#f-name", "中山市新轮科技有限公司")
    page.fill("#f-contact_name", "黄先生")
    page.fill("#f-phone", "13800138999")
    page.check("input[name=type][value='2']")
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/customers/\d+\?done=created$"))

    # 2. the custom product, made for it
    page.goto(f"{base}/admin/products/new")
    for field, value in {
        "sku": "C-XL-350",
        "name": "新轮定制 平形砂轮 350×40×127",
        "price": "210.00",
        "outer_diameter_mm": "350",
        "thickness_mm": "40",
        "bore_mm": "127",
        "abrasive": "WA",
        "grit": "F60",
        "hardness": "K",
        "bond": "V",
        "max_speed_ms": "35",
    }.items():
        page.fill(f"#f-{field}", value)
    page.click("form.product-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/products/\d+$"))

    # 3. the grant
    page.click("#grants details.picker summary")
    page.fill("#grants details.picker input[type=search]", "新轮")
    page.wait_for_selector("#pick-grant tr[data-customer]")
    page.click("#pick-grant tr[data-customer] button")
    page.wait_for_selector("#grants table.listed tr[data-customer]")
    assert "中山市新轮科技有限公司" in page.inner_text("#grants")
    # 4. the product is made: tell the customer (a WeChat subscribe message through the outbox)
    page.click("#grants table.listed tr[data-customer] button:text('通知客户已就绪')")
    page.wait_for_selector("#grants table.listed tr[data-customer] .notice, #flash .error", timeout=10000)
    assert not page.locator("#flash .error").count(), page.inner_text("#flash")
    assert "已通知" in page.inner_text("#grants")
    page.close()
    with Session(demo_site.rt.engine) as session:
        ready = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "notify.ready")).one()
        assert ready.payload["product"] == "新轮定制 平形砂轮 350×40×127" and ready.payload["spec"]

    with Session(demo_site.rt.engine) as session:
        customer = session.exec(select(Customer).where(Customer.name == "中山市新轮科技有限公司")).one()
        assert customer.type == 2
    # 5. the customer's buyer sees it in the mini-program; another customer's buyer does not
    xinlun = _buyer(base, "openid-xinlun-huang", "13800138999")
    assert "C-XL-350" in _skus(base, xinlun)
    other = _buyer(base, "openid-other-buyer", CUSTOMERS[1].phone)
    assert "C-XL-350" not in _skus(base, other)
    product = httpx.get(f"{base}{MP}/products", params={"q": "C-XL-350"}, headers=xinlun).json()["items"][0]
    assert product["kind"] == ProductKind.CUSTOM.value and product["price"] in ("210.00", "210", 210.0)
