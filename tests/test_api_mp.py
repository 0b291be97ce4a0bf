"""The mini-program API over HTTP (C1–C13): the real app, real database, file-drop connector."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import Session, select

from bridge import statemachine
from bridge.actors import Actor
from bridge.models import (
    CustomerPrice,
    Order,
    OrderStatus,
    OutboxMessage,
    Product,
    ProductGrant,
    ProductHide,
    ProductKind,
    ProductQR,
    StaffRole,
    StaffUser,
)
from tests.api_helpers import key, login, make_client


@pytest.fixture
def api(engine, tmp_path):
    client, rt = make_client(engine, tmp_path)
    with Session(engine, expire_on_commit=False) as s:
        sales = StaffUser(
            username="zhangwei",
            display_name="张伟",
            role=StaffRole.SALES,
            password_hash="x",
            phone="13700000000",
            wechat_id="zw-jht",
            invite_code="INV123",
        )
        s.add(sales)
        wheel = Product(
            sku="WA-400", name="平形砂轮 400×50×127", price=Decimal("186.00"), marking="1-400×50×127-WA60K5V-35m/s"
        )
        disc = Product(sku="C-105", name="切割片 105", price=Decimal("2.35"))
        custom = Product(sku="CUS-1", name="定制碗形砂轮", kind=ProductKind.CUSTOM, price=Decimal("420.00"))
        s.add_all([wheel, disc, custom])
        s.flush()
        s.add(ProductQR(product_id=wheel.id, payload="JHT:QR:WA-400", marking="WA60K5V 批次7"))
        s.add(ProductQR(product_id=custom.id, payload="JHT:QR:CUS-1"))
        s.commit()
    with client:
        yield {"client": client, "rt": rt, "sales": sales, "wheel": wheel, "disc": disc, "custom": custom}
    rt.connector.close()


def _address(api, who) -> int:
    answer = api["client"].post(
        "/api/mp/v1/addresses",
        headers=who["headers"],
        json={"recipient": "李工", "phone": "13800000000", "detail": "狮山镇科技路 18 号", "is_default": True},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def test_c3_first_login_creates_a_customer_with_the_invited_salesperson(api):
    me = login(api["client"], "wx-code-1", invite="INV123")
    assert me["new_customer"] is True and me["refresh_token"]
    view = api["client"].get("/api/mp/v1/me", headers=me["headers"]).json()
    assert view["salesperson"] == {"name": "张伟", "phone": "13700000000", "wechat": "zw-jht"}
    assert view["customer"]["type"] == 2
    again = login(api["client"], "wx-code-1")
    assert again["new_customer"] is False and again["customer"]["id"] == me["customer"]["id"]
    assert api["client"].get("/api/mp/v1/salesperson", headers=me["headers"]).json()["name"] == "张伟"


def test_c1_c2_catalog_shows_only_what_the_customer_may_see(api):
    me = login(api["client"], "wx-code-1")
    c = api["client"]
    listed = c.get("/api/mp/v1/products", headers=me["headers"]).json()
    assert {p["sku"] for p in listed["items"]} == {"WA-400", "C-105"}
    assert c.get("/api/mp/v1/products?kind=custom", headers=me["headers"]).json()["items"] == []
    assert c.get(f"/api/mp/v1/products/{api['custom'].id}", headers=me["headers"]).status_code == 404
    with Session(api["rt"].engine) as s:
        s.add(ProductGrant(product_id=api["custom"].id, customer_id=me["customer"]["id"]))
        s.add(ProductHide(product_id=api["disc"].id, customer_id=me["customer"]["id"]))
        s.add(CustomerPrice(product_id=api["wheel"].id, customer_id=me["customer"]["id"], price=Decimal("170.00")))
        s.commit()
    listed = c.get("/api/mp/v1/products", headers=me["headers"]).json()
    assert {p["sku"]: p["price"] for p in listed["items"]} == {"WA-400": "170.00", "CUS-1": "420.00"}
    assert c.get("/api/mp/v1/products?q=砂轮", headers=me["headers"]).json()["total"] == 2
    hidden = c.get(f"/api/mp/v1/products/{api['disc'].id}", headers=me["headers"])
    missing = c.get("/api/mp/v1/products/999999", headers=me["headers"])
    assert hidden.status_code == missing.status_code == 404 and hidden.json()["message"] == missing.json()["message"]


def test_c4_scan_prefills_the_spec_and_marking_and_hides_invisible_products(api):
    me = login(api["client"], "wx-code-1")
    c = api["client"]
    found = c.post("/api/mp/v1/scan", headers=me["headers"], json={"payload": "JHT:QR:WA-400"})
    assert found.status_code == 200
    assert found.json()["product"]["sku"] == "WA-400" and found.json()["marking"] == "WA60K5V 批次7"
    via_wechat = c.post(
        "/api/mp/v1/scan", headers=me["headers"], json={"payload": "https://jht.example/q?q=JHT%3AQR%3AWA-400"}
    )
    assert via_wechat.json()["product"]["sku"] == "WA-400"
    unknown = c.post("/api/mp/v1/scan", headers=me["headers"], json={"payload": "nonsense"})
    invisible = c.post("/api/mp/v1/scan", headers=me["headers"], json={"payload": "JHT:QR:CUS-1"})
    assert unknown.status_code == invisible.status_code == 404
    assert unknown.json() == invisible.json()


def test_c5_c7_ordering_cancel_and_history(api):
    me = login(api["client"], "wx-code-1")
    c = api["client"]
    address = _address(api, me)
    headers = {**me["headers"], **key()}
    body = {"lines": [{"product_id": api["wheel"].id, "quantity": 3}], "address_id": address, "remark": "周五前"}
    first = c.post("/api/mp/v1/orders", headers=headers, json=body)
    assert first.status_code == 201, first.text
    order = first.json()
    assert order["status"] == "pending" and order["status_label"] == "等待处理"  # no stock figure yet
    again = c.post("/api/mp/v1/orders", headers=headers, json=body)
    assert again.json()["order_no"] == order["order_no"] and again.json()["created"] is False
    other = c.post("/api/mp/v1/orders", headers=headers, json={**body, "remark": "changed"})
    assert other.status_code == 409 and other.json()["code"] == "conflict"
    detail = c.get(f"/api/mp/v1/orders/{order['order_no']}", headers=me["headers"]).json()
    assert detail["lines"][0]["unit_price"] == "186.00" and detail["can_cancel"] is True
    cancelled = c.post(f"/api/mp/v1/orders/{order['order_no']}/cancel", headers=me["headers"])
    assert cancelled.status_code == 200 and cancelled.json()["status_label"] == "已取消"
    again = c.post(f"/api/mp/v1/orders/{order['order_no']}/cancel", headers=me["headers"])
    assert again.status_code == 200 and again.json() == cancelled.json()  # a retry (issue #18)
    history = c.get("/api/mp/v1/orders?status=cancelled", headers=me["headers"]).json()
    assert [o["order_no"] for o in history["items"]] == [order["order_no"]]


@pytest.mark.parametrize(
    "body,where",
    [
        ({"lines": [], "address_id": 1}, "lines"),
        ({"lines": [{"product_id": 1, "quantity": 0}], "address_id": 1}, "quantity"),
        ({"lines": [{"product_id": 1, "quantity": "3"}], "address_id": 1}, "quantity"),
        ({"lines": [{"product_id": 1, "quantity": 1.5}], "address_id": 1}, "quantity"),
        ({"lines": [{"product_id": 1, "quantity": 10**12}], "address_id": 1}, None),
        ({"address_id": 1}, "lines"),
        ("not json", None),
    ],
)
def test_c5_bad_order_bodies_are_4xx_with_a_chinese_message(api, body, where):
    me = login(api["client"], "wx-code-1")
    kwargs = {"content": body} if isinstance(body, str) else {"json": body}
    answer = api["client"].post("/api/mp/v1/orders", headers={**me["headers"], **key()}, **kwargs)
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["code"] and answer.json()["message"]


def test_c5_missing_idempotency_key_is_refused(api):
    me = login(api["client"], "wx-code-1")
    answer = api["client"].post(
        "/api/mp/v1/orders",
        headers=me["headers"],
        json={"lines": [{"product_id": api["wheel"].id, "quantity": 1}], "address_id": 1},
    )
    assert answer.status_code == 400


def test_c10_accounts_bind_a_phone_and_keep_the_last_one(api):
    c = api["client"]
    me = login(c, "wx-code-1")
    bound = c.post("/api/mp/v1/auth/phone", headers=me["headers"], json={"code": "13912345678"})
    assert bound.status_code == 201, bound.text
    accounts = c.get("/api/mp/v1/me/accounts", headers=me["headers"]).json()
    assert [a["phone"] for a in accounts] == ["13912345678"]
    last = c.delete(f"/api/mp/v1/me/accounts/{accounts[0]['id']}", headers=me["headers"])
    assert last.status_code == 409


def test_scenario_2_phone_registered_by_the_salesperson_joins_that_customer(api):
    from bridge.actors import Actor
    from bridge.customers import create_customer

    with Session(api["rt"].engine) as s:
        registered = create_customer(s, Actor.sales(api["sales"].id), name="东莞精工模具", type=2, phone="13900001111")
        s.add(ProductGrant(product_id=api["custom"].id, customer_id=registered.id))
        s.commit()
        registered_id = registered.id
    c = api["client"]
    me = login(c, "wx-new-user")
    joined = c.post("/api/mp/v1/auth/phone", headers=me["headers"], json={"code": "13900001111"}).json()
    assert joined["joined_registered_customer"] is True and joined["customer"]["id"] == registered_id
    headers = {"Authorization": f"Bearer {joined['access_token']}"}
    assert [p["sku"] for p in c.get("/api/mp/v1/products?kind=custom", headers=headers).json()["items"]] == ["CUS-1"]


def test_o3_health_ready_metrics_and_schema(engine, tmp_path):
    # details and metrics for every caller here (the test client is not on loopback); who may
    # see them otherwise: tests/test_security.py (sec14)
    c, rt = make_client(engine, tmp_path, JHT_API__OPS_DETAILS="true", JHT_API__METRICS="public")
    assert c.get("/healthz").json() == {"status": "ok"}
    ready = c.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
    metrics = c.get("/metrics").text
    assert "jht_outbox_pending" in metrics and "jht_http_requests_total" in metrics
    schema = c.get("/schema/openapi.json").json()
    assert "/api/mp/v1/orders" in schema["paths"]


def test_c13_every_customer_endpoint_refuses_another_customers_ids(api):
    """The authorization matrix of the mini-program API: B with A's order, address and account
    ids gets exactly what a missing id gets, and A's data is unchanged."""
    c = api["client"]
    a, b = login(c, "buyer-a"), login(c, "buyer-b")
    address = _address(api, a)
    order = c.post(
        "/api/mp/v1/orders",
        headers={**a["headers"], **key()},
        json={"lines": [{"product_id": api["wheel"].id, "quantity": 1}], "address_id": address},
    ).json()
    account = c.get("/api/mp/v1/me/accounts", headers=a["headers"]).json()[0]["id"]
    body = {"recipient": "x", "phone": "13800000000", "detail": "y"}
    attempts = [
        ("GET", f"/api/mp/v1/orders/{order['order_no']}", None, "/api/mp/v1/orders/JHT-19990101-0001"),
        ("POST", f"/api/mp/v1/orders/{order['order_no']}/cancel", None, "/api/mp/v1/orders/JHT-19990101-0001/cancel"),
        ("POST", f"/api/mp/v1/orders/{order['order_no']}/receipt", None, "/api/mp/v1/orders/JHT-19990101-0001/receipt"),
        ("GET", f"/api/mp/v1/orders/{order['order_no']}/reorder", None, "/api/mp/v1/orders/JHT-19990101-0001/reorder"),
        ("PUT", f"/api/mp/v1/addresses/{address}", body, "/api/mp/v1/addresses/999999"),
        ("DELETE", f"/api/mp/v1/addresses/{address}", None, "/api/mp/v1/addresses/999999"),
        ("DELETE", f"/api/mp/v1/me/accounts/{account}", None, "/api/mp/v1/me/accounts/999999"),
    ]
    for method, path, json_body, missing in attempts:
        theirs = c.request(method, path, headers=b["headers"], json=json_body)
        nothing = c.request(method, missing, headers=b["headers"], json=json_body)
        assert theirs.status_code == nothing.status_code == 404, (method, path, theirs.text)
        assert theirs.json()["message"] == nothing.json()["message"]
    # B's own lists do not show A's things; A's order and address are untouched.
    assert c.get("/api/mp/v1/orders", headers=b["headers"]).json()["total"] == 0
    assert c.get("/api/mp/v1/addresses", headers=b["headers"]).json() == []
    assert c.get(f"/api/mp/v1/orders/{order['order_no']}", headers=a["headers"]).json()["status"] == order["status"]
    assert [x["id"] for x in c.get("/api/mp/v1/addresses", headers=a["headers"]).json()] == [address]


def test_c2_hidden_product_cannot_be_ordered_through_the_api(api):
    c = api["client"]
    me = login(c, "buyer-a")
    address = _address(api, me)
    with Session(api["rt"].engine) as s:
        s.add(ProductHide(product_id=api["wheel"].id, customer_id=me["customer"]["id"]))
        s.commit()
    for product_id in (api["wheel"].id, api["custom"].id):
        answer = c.post(
            "/api/mp/v1/orders",
            headers={**me["headers"], **key()},
            json={"lines": [{"product_id": product_id, "quantity": 1}], "address_id": address},
        )
        assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    assert c.get("/api/mp/v1/orders", headers=me["headers"]).json()["total"] == 0


def test_tokens_of_one_kind_never_open_the_other(api):
    c = api["client"]
    me = login(c, "buyer-a")
    as_access = c.get("/api/mp/v1/me", headers={"Authorization": f"Bearer {me['refresh_token']}"})
    assert as_access.status_code == 401
    assert c.get("/api/mp/v1/me").status_code == 401
    assert c.get("/api/mp/v1/me", headers={"Authorization": "Bearer not-a-token"}).json()["code"] == "unauthorized"


def test_c14_reorder_offers_the_lines_still_visible_at_todays_prices_and_says_why_others_are_left_out(api):
    """C14 (issue #13): a past order's lines come back at the customer's price today, with the
    marking as ordered; a product taken off sale and one no longer offered to the customer are
    listed as dropped with their reason; nothing is ordered until the cart is confirmed through
    POST /orders with a new Idempotency-Key."""
    c = api["client"]
    me = login(c, "wx-code-1")
    address = _address(api, me)
    extra = {}
    with Session(api["rt"].engine) as s:
        s.add(ProductGrant(product_id=api["custom"].id, customer_id=me["customer"]["id"]))
        spare = Product(sku="GC-150", name="绿碳化硅砂轮 150", price=Decimal("58.00"))
        s.add(spare)
        s.commit()
        extra["spare"] = spare.id
    lines = [
        {"product_id": api["wheel"].id, "quantity": 3, "marking": "WA60K5V 批次7"},
        {"product_id": api["disc"].id, "quantity": 200},
        {"product_id": api["custom"].id, "quantity": 1},
        {"product_id": extra["spare"], "quantity": 4},
    ]
    placed = c.post(
        "/api/mp/v1/orders", headers={**me["headers"], **key()}, json={"lines": lines, "address_id": address}
    ).json()
    with Session(api["rt"].engine) as s:
        s.add(CustomerPrice(product_id=api["wheel"].id, customer_id=me["customer"]["id"], price=Decimal("170.00")))
        s.get(Product, api["disc"].id).active = False
        grant = s.exec(select(ProductGrant).where(ProductGrant.product_id == api["custom"].id)).one()
        s.delete(grant)
        s.add(ProductHide(product_id=extra["spare"], customer_id=me["customer"]["id"]))
        s.commit()
    answer = c.get(f"/api/mp/v1/orders/{placed['order_no']}/reorder", headers=me["headers"])
    assert answer.status_code == 200, answer.text
    again = answer.json()
    assert again["order_no"] == placed["order_no"]
    assert [
        (x["line_no"], x["product"]["id"], x["quantity"], x["marking"], x["previous_unit_price"], x["unit_price"])
        for x in again["lines"]
    ] == [(1, api["wheel"].id, 3, "WA60K5V 批次7", "186.00", "170.00")]
    assert again["lines"][0]["amount"] == again["total_amount"] == "510.00"
    assert again["lines"][0]["product"]["price"] == "170.00"
    assert [(d["line_no"], d["sku"], d["quantity"], d["reason"], d["reason_label"]) for d in again["dropped"]] == [
        (2, "C-105", 200, "inactive", "商品已下架"),
        (3, "CUS-1", 1, "not_visible", "该商品已不再向您供应"),
        (4, "GC-150", 4, "not_visible", "该商品已不再向您供应"),
    ]
    assert c.get("/api/mp/v1/orders", headers=me["headers"]).json()["total"] == 1  # nothing was ordered
    cart = [
        {"product_id": x["product"]["id"], "quantity": x["quantity"], "marking": x["marking"]} for x in again["lines"]
    ]
    confirmed = c.post(
        "/api/mp/v1/orders", headers={**me["headers"], **key()}, json={"lines": cart, "address_id": address}
    )
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["order_no"] != placed["order_no"] and confirmed.json()["total_amount"] == "510.00"


# --------------------------------------------------------------------------- issue #18


def _placed(api, who) -> str:
    body = {"lines": [{"product_id": api["wheel"].id, "quantity": 2}], "address_id": _address(api, who)}
    placed = api["client"].post("/api/mp/v1/orders", headers={**who["headers"], **key()}, json=body)
    assert placed.status_code == 201, placed.text
    return placed.json()["order_no"]


def _erp_moves(api, order_no: str, *statuses: OrderStatus) -> None:
    with Session(api["rt"].engine) as s:
        order = s.exec(select(Order).where(Order.order_no == order_no)).one()
        for status in statuses:
            statemachine.transition(s, order, status, Actor.erp())
        s.commit()


def _commands(api, order_no: str) -> list[str]:
    with Session(api["rt"].engine) as s:
        rows = s.exec(select(OutboxMessage.kind).where(OutboxMessage.aggregate_id == order_no)).all()
    return sorted(k for k in rows if k.startswith("order.") and k != "order.create")


def test_c9_confirming_receipt_again_answers_the_completed_order_and_tells_the_erp_once(api):
    """C9, C5 (issue #18 point 6): the mini-program retries a receipt confirmation whose answer
    was lost: the same customer — from another of its accounts too — gets 200 and the order as
    it is, and the ERP hears ``complete`` once. An order the system completed is not the
    customer's repeat: confirming it is refused as before."""
    c = api["client"]
    me = login(c, "wx-code-1")
    order_no = _placed(api, me)
    _erp_moves(api, order_no, OrderStatus.SHIPPED)
    first = c.post(f"/api/mp/v1/orders/{order_no}/receipt", headers=me["headers"])
    assert first.status_code == 200 and first.json()["status"] == "completed"
    again = c.post(f"/api/mp/v1/orders/{order_no}/receipt", headers=me["headers"])
    assert again.status_code == 200 and again.json() == first.json()
    assert _commands(api, order_no) == ["order.complete"]

    other = _placed(api, me)
    _erp_moves(api, other, OrderStatus.SHIPPED)
    with Session(api["rt"].engine) as s:
        order = s.exec(select(Order).where(Order.order_no == other)).one()
        statemachine.transition(s, order, OrderStatus.COMPLETED, Actor.system("auto-complete"))
        s.commit()
    refused = c.post(f"/api/mp/v1/orders/{other}/receipt", headers=me["headers"])
    assert refused.status_code == 409 and refused.json()["message"] == "订单当前状态为「已完成」，不能确认收货"


def test_c13_cancelling_again_is_a_repeat_only_of_the_customers_own_cancellation(api):
    """C13, C5 (issue #18 point 6): a repeated cancel of an order this customer cancelled is 200
    with the order (the ERP hears ``cancel`` once); an order the salesperson cancelled is
    refused with its status, as is another customer's order (404, as a missing one)."""
    c = api["client"]
    me = login(c, "wx-code-1")
    mine = _placed(api, me)
    first = c.post(f"/api/mp/v1/orders/{mine}/cancel", headers=me["headers"])
    again = c.post(f"/api/mp/v1/orders/{mine}/cancel", headers=me["headers"])
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    assert _commands(api, mine) == ["order.cancel"]
    stranger = login(c, "wx-code-2")
    assert c.post(f"/api/mp/v1/orders/{mine}/cancel", headers=stranger["headers"]).status_code == 404

    by_staff = _placed(api, me)
    with Session(api["rt"].engine) as s:
        order = s.exec(select(Order).where(Order.order_no == by_staff)).one()
        statemachine.transition(s, order, OrderStatus.CANCELLED, Actor.admin(1), note="客户电话取消")
        s.commit()
    refused = c.post(f"/api/mp/v1/orders/{by_staff}/cancel", headers=me["headers"])
    assert refused.status_code == 409 and refused.json()["message"] == "订单当前状态为「已取消」，不能取消"


def test_c13_a_released_order_is_not_cancelled_online_and_the_customer_is_told_whom_to_call(api):
    """C13, C3 (issue #18 point 5): a customer who cancels an order released to production is
    told so — not its status — and whom to contact: their salesperson by name and phone; a
    customer nobody follows is sent to the admin who answers for them."""
    c = api["client"]
    me = login(c, "wx-code-1", invite="INV123")
    order_no = _placed(api, me)
    with Session(api["rt"].engine) as s:
        order = s.exec(select(Order).where(Order.order_no == order_no)).one()
        statemachine.release(s, order, Actor.sales(api["sales"].id))
        s.commit()
    refused = c.post(f"/api/mp/v1/orders/{order_no}/cancel", headers=me["headers"])
    assert refused.status_code == 409
    assert (
        refused.json()["message"] == "订单已下达生产，不能在线取消；如需取消，请联系您的业务员张伟（电话 13700000000）"
    )
    assert "等待" not in refused.json()["message"]

    alone = login(c, "wx-code-2")
    with Session(api["rt"].engine) as s:
        s.add(StaffUser(username="boss", display_name="王经理", role=StaffRole.ADMIN, password_hash="x"))
        s.commit()
    theirs = _placed(api, alone)
    _erp_moves(api, theirs, OrderStatus.IN_PRODUCTION)
    told = c.post(f"/api/mp/v1/orders/{theirs}/cancel", headers=alone["headers"]).json()["message"]
    assert told == "订单已下达生产，不能在线取消；如需取消，请联系客服王经理"
