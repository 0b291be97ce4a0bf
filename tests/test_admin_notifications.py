"""The notifications view (issue #15, "A notifications view in the sales API and admin pages"):
what was sent, to whom, through which channel, with its outcome — in the admin pages
(`/admin/notifications`) and the sales API (`GET /api/sales/v1/notifications`), scoped like
everything else (a salesperson: their own customers' notices)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlmodel import Session, select

from bridge.actors import CLI_ADMIN, Actor
from bridge.demo import ADMIN_LOGIN, SALES_LOGIN, load_demo_data
from bridge.models import Address, Customer, Product, ProductKind, StaffUser
from bridge.orders import LineRequest, OrderRequest, place_order
from tests.admin_site import Site, shoot, signed_in
from tests.api_helpers import LiveServer, make_client
from tests.sync_helpers import LOAD_LIMITS


@pytest.fixture
def site(engine, tmp_path, fake_wecom):
    """A live bridge with the demo data and a WeCom robot; one order of a demo customer of the
    demo salesperson and one of another salesperson's customer, their notices sent."""
    client, rt = make_client(engine, tmp_path, JHT_NOTIFY__WECOM_ROBOT__WEBHOOK_URL=fake_wecom.webhook_url())
    with Session(rt.engine, expire_on_commit=False) as session:
        load_demo_data(session, CLI_ADMIN)
        lisi = StaffUser(username="lisi", display_name="李四", role="sales", password_hash="x", phone="13700000009")
        session.add(lisi)
        session.flush()
        theirs = Customer(name="别家五金厂", type=2, salesperson_id=lisi.id)
        session.add(theirs)
        session.flush()
        session.add(Address(customer_id=theirs.id, recipient="王工", phone="13800000001", detail="工业路 1 号"))
        session.commit()
        sales = session.exec(select(StaffUser).where(StaffUser.username == SALES_LOGIN[0])).one()
        mine = session.exec(select(Customer).where(Customer.salesperson_id == sales.id)).first()
        wheel = session.exec(select(Product).where(Product.kind == ProductKind.STANDARD)).first()
        for customer in (mine, theirs):
            address = session.exec(select(Address).where(Address.customer_id == customer.id)).first()
            request = OrderRequest(
                [LineRequest(quantity=2, product_id=wheel.id)], uuid.uuid4().hex, address_id=address.id
            )
            place_order(session, Actor.customer(customer.id), customer.id, request, limits=LOAD_LIMITS)
        session.commit()
    rt.dispatcher().drain()
    with LiveServer(client.app) as server:
        yield Site(server, rt), mine, theirs


def test_a5_the_admin_sees_every_notice_with_its_channel_and_outcome(site, browser, fake_wecom):
    demo, mine, theirs = site
    assert len(fake_wecom.received) >= 1
    page = signed_in(browser, demo, ADMIN_LOGIN)
    page.click("nav >> text=通知")
    page.wait_for_url("**/admin/notifications")
    table = page.inner_text("#notifications")
    assert mine.name in table and theirs.name in table
    assert "企业微信群" in table and "已发送" in table and "新订单提醒" in table
    assert "张伟" in table and "李四" in table  # whom each was for, by name
    assert "张伟" in table and "李四" in table  # whom each was for, by name
    page.select_option("#f-outcome", "failed")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**outcome=failed*")
    assert "还没有通知" in page.inner_text("#notifications")
    page.goto(f"{demo.base_url}/admin/notifications")
    shoot(page, "notifications")
    page.close()


def test_a5_a_salesperson_sees_only_their_own_customers_notices(site, browser):
    demo, mine, theirs = site
    page = signed_in(browser, demo, SALES_LOGIN, phone=True)
    page.goto(f"{demo.base_url}/admin/notifications")
    table = page.inner_text("#notifications")
    assert mine.name in table and theirs.name not in table
    page.close()
    token = httpx.post(
        f"{demo.base_url}/api/sales/v1/auth/login", json={"username": SALES_LOGIN[0], "password": SALES_LOGIN[1]}
    ).json()["access_token"]
    answer = httpx.get(f"{demo.base_url}/api/sales/v1/notifications", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert items and all(theirs.name not in i["text"] for i in items)
    assert {i["channel"] for i in items} == {"wecom_robot"} and {i["outcome"] for i in items} == {"sent"}
    assert any(mine.name in i["text"] for i in items) and items[0]["channel_label"] == "企业微信群"
    bad = httpx.get(
        f"{demo.base_url}/api/sales/v1/notifications",
        params={"outcome": "lost"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert bad.status_code == 400
