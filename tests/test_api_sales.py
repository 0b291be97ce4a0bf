"""The salesperson and admin API over HTTP (A1, A6, A7, C11): the real app, real database,
file-drop connector, WeChat in dev mode."""

from __future__ import annotations

import re
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import jwt
import pytest
from sqlmodel import Session, select

from bridge.actors import Actor
from bridge.config import OrdersSection
from bridge.models import (
    Address,
    AuditLog,
    Customer,
    Inquiry,
    Order,
    OrderStatus,
    OutboxMessage,
    Product,
    ProductGrant,
    ProductKind,
    StaffRole,
    StaffUser,
)
from bridge.orders import LineRequest, OrderRequest, place_order
from bridge.types import utcnow
from bridge.users import hash_password
from tests.api_helpers import key, login, make_client
from webapi.auth import LoginLimiter
from tests.conftest import count

PASSWORD = "correct-horse-42"
S = "/api/sales/v1"


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password(PASSWORD)  # argon2 is slow on purpose: hash once for the module


def _shop(engine, password_hash: str) -> dict:
    """Two salespeople with one type-2 customer each (an unreleased order, an inquiry), an admin,
    an inactive user, and a standard and a custom product."""
    with Session(engine, expire_on_commit=False) as s:

        def user(username, role=StaffRole.SALES, **kw):
            u = StaffUser(
                username=username, display_name=username.title(), role=role, password_hash=password_hash, **kw
            )
            s.add(u)
            s.flush()
            return u

        shop = {
            "mine": user("zhangwei", phone="13700000000"),
            "other": user("lina"),
            "admin": user("boss", StaffRole.ADMIN),
            "gone": user("gone", active=False),
        }
        shop["wheel"] = Product(sku="WA-400", name="平形砂轮 400×50×127", price=Decimal("186.00"))
        shop["custom"] = Product(sku="CUS-OLD", name="旧定制碗形砂轮", kind=ProductKind.CUSTOM, price=Decimal("420.00"))
        s.add_all([shop["wheel"], shop["custom"]])
        for who in ("mine", "other"):
            c = Customer(name=f"{who}的客户", type=2, salesperson_id=shop[who].id, phone=f"1390000000{len(who)}")
            s.add(c)
            s.flush()
            a = Address(customer_id=c.id, recipient="李工", phone="13800000000", detail="工业大道 1 号")
            s.add(a)
            s.flush()
            placed = place_order(
                s,
                Actor.customer(c.id),
                c.id,
                OrderRequest(
                    lines=[LineRequest(product_id=shop["wheel"].id, quantity=2)],
                    idempotency_key=uuid.uuid4().hex,
                    address_id=a.id,
                ),
                limits=OrdersSection(),
            )
            inquiry = Inquiry(customer_id=c.id, body="需要 300×40×75 的碗形砂轮")
            s.add(inquiry)
            s.flush()
            shop[f"{who}_customer"], shop[f"{who}_order"], shop[f"{who}_inquiry"] = c, placed.order, inquiry
        s.commit()
    return shop


@pytest.fixture
def api(engine, tmp_path, password_hash):
    client, rt = make_client(engine, tmp_path)
    shop = _shop(engine, password_hash)
    with client:
        yield {"client": client, "rt": rt, **shop}
    rt.connector.close()


def staff_login(client, username: str, password: str = PASSWORD) -> dict:
    answer = client.post(f"{S}/auth/login", json={"username": username, "password": password})
    assert answer.status_code == 201, answer.text
    data = answer.json()
    data["headers"] = {"Authorization": f"Bearer {data['access_token']}"}
    return data


@pytest.fixture
def mine(api) -> dict:
    return staff_login(api["client"], "zhangwei")["headers"]


@pytest.fixture
def admin(api) -> dict:
    return staff_login(api["client"], "boss")["headers"]


def _outbox(engine, kind: str, order_no: str) -> int:
    with Session(engine) as s:
        return count(s, OutboxMessage, OutboxMessage.kind == kind, OutboxMessage.aggregate_id == order_no)


# --------------------------------------------------------------------------- login


def test_a6_staff_login_gives_tokens_with_the_users_role_and_refresh_renews_them(api):
    c = api["client"]
    me = staff_login(c, "zhangwei")
    assert me["user"]["role"] == "sales" and me["token_type"] == "Bearer"
    assert c.get(f"{S}/me", headers=me["headers"]).json()["username"] == "zhangwei"
    renewed = c.post(f"{S}/auth/refresh", json={"refresh_token": me["refresh_token"]})
    assert renewed.status_code == 201 and renewed.json()["user"]["id"] == api["mine"].id
    as_access = c.get(f"{S}/me", headers={"Authorization": f"Bearer {me['refresh_token']}"})
    assert as_access.status_code == 401
    as_refresh = c.post(f"{S}/auth/refresh", json={"refresh_token": me["access_token"]})
    assert as_refresh.status_code == 401
    assert staff_login(c, "boss")["user"]["role"] == "admin"


def test_wrong_password_and_unknown_user_get_the_same_answer(api):
    c = api["client"]
    wrong = c.post(f"{S}/auth/login", json={"username": "zhangwei", "password": "not-the-password"})
    unknown = c.post(f"{S}/auth/login", json={"username": "nobody", "password": "not-the-password"})
    assert wrong.status_code == unknown.status_code == 401
    assert {k: v for k, v in wrong.json().items() if k != "detail"} == {
        k: v for k, v in unknown.json().items() if k != "detail"
    }
    assert wrong.json()["message"] == "用户名或密码错误"


def test_an_inactive_user_cannot_log_in(api):
    refused = api["client"].post(f"{S}/auth/login", json={"username": "gone", "password": PASSWORD})
    assert refused.status_code == 401 and refused.json()["code"] == "account_disabled"
    wrong = api["client"].post(f"{S}/auth/login", json={"username": "gone", "password": "nope-nope"})
    assert wrong.json()["code"] == "bad_credentials"  # the password decides first: no enumeration


def test_a_deactivated_users_token_stops_working(api, mine):
    with Session(api["rt"].engine) as s:
        s.get(StaffUser, api["mine"].id).active = False
        s.commit()
    answer = api["client"].get(f"{S}/customers", headers=mine)
    assert answer.status_code == 401 and answer.json()["code"] == "account_disabled"


def test_login_is_rate_limited_per_address(engine, tmp_path, password_hash):
    client, rt = make_client(engine, tmp_path, JHT_SECURITY__LOGIN_ATTEMPTS_PER_MINUTE=3)
    _shop(engine, password_hash)
    with client:
        for _ in range(3):
            assert (
                client.post(f"{S}/auth/login", json={"username": "zhangwei", "password": "guess-1234"}).status_code
                == 401
            )
        limited = client.post(f"{S}/auth/login", json={"username": "lina", "password": PASSWORD})
        assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
        # when the first attempt leaves the minute: 60 s, less the time the three wrong passwords
        # took to check (argon2: a second or more on a loaded machine), rounded up
        assert 55 <= int(limited.headers["Retry-After"]) <= 60
    rt.connector.close()


def test_wrong_passwords_from_many_addresses_slow_that_username_down_for_everyone(api):
    """Guessing spread over many addresses: after per_minute × 3 failures in 15 minutes one
    attempt at that username every few seconds, whatever the address (the owner waits, is not
    locked out; other usernames are not affected). Per address: tests/test_security.py (sec11)."""
    limiter = api["client"].app.state.login_limiter
    # wrong passwords from many other addresses, the last of them 10 s ago (a wall clock behind)
    earlier = LoginLimiter(limiter.per_minute, limiter.engine, wall=lambda: utcnow() - timedelta(seconds=10))
    for n in range(limiter.per_minute * 3):
        earlier.failed(f"10.0.{n // 250}.{n % 250}", "zhangwei")
    c = api["client"]
    first = c.post(f"{S}/auth/login", json={"username": "zhangwei", "password": "wrong-" + PASSWORD})
    assert first.status_code == 401  # one attempt gets through ...
    slowed = c.post(f"{S}/auth/login", json={"username": "ZhangWei ", "password": PASSWORD})
    assert slowed.status_code == 429 and int(slowed.headers["Retry-After"]) >= 1  # ... the next waits
    assert c.post(f"{S}/auth/login", json={"username": "lina", "password": PASSWORD}).status_code == 201


def test_a6_salesperson_binds_wechat_and_logs_in_with_it(api, mine):
    c = api["client"]
    bound = c.post(f"{S}/auth/wechat/bind", headers=mine, json={"code": "sales-phone"})
    assert bound.status_code == 200 and bound.json()["wechat_bound"] is True
    logged = c.post(f"{S}/auth/wechat/login", json={"code": "sales-phone"})
    assert logged.status_code == 201 and logged.json()["user"]["username"] == "zhangwei"
    stranger = c.post(f"{S}/auth/wechat/login", json={"code": "someone-else"})
    assert stranger.status_code == 401 and stranger.json()["code"] == "wechat_not_bound"
    other = staff_login(c, "lina")["headers"]
    taken = c.post(f"{S}/auth/wechat/bind", headers=other, json={"code": "sales-phone"})
    assert taken.status_code == 409


# --------------------------------------------------------------------------- authorization


def _routes():
    """Every protected sales route as (method, path) with its path parameters filled with 1."""
    from webapi.routes import SALES as PROTECTED

    for handler in PROTECTED:
        for path in handler.paths:
            for method in handler.http_methods:
                yield method, S + re.sub(r"\{[^}]+\}", "1", path)


def test_a_customer_token_opens_no_sales_endpoint(api):
    customer = login(api["client"], "wx-customer")
    routes = list(_routes())
    assert len(routes) >= 18
    for method, path in routes:
        answer = api["client"].request(method, path, headers=customer["headers"], json={})
        assert answer.status_code == 401, (method, path, answer.text)
        assert answer.json()["code"] == "wrong_token"
        anonymous = api["client"].request(method, path, json={})
        assert anonymous.status_code == 401, (method, path)


def _claims(api, **changes) -> dict:
    now = int(time.time())
    return {
        "iss": "jht-bridge",
        "typ": "access",
        "sub": f"staff:{api['mine'].id}",
        "cid": None,
        "role": "sales",
        "iat": now - 7200,
        "exp": now - 3600,
        "jti": uuid.uuid4().hex,
        "sid": uuid.uuid4().hex,
    } | changes


@pytest.mark.parametrize("path", [f"{S}/customers", "/api/mp/v1/me"])
def test_an_expired_or_forged_token_is_refused(api, path):
    c = api["client"]
    real_key = c.app.state.tokens.key
    expired = jwt.encode(_claims(api), real_key, algorithm="HS256")
    answer = c.get(path, headers={"Authorization": f"Bearer {expired}"})
    assert answer.status_code == 401 and answer.json()["code"] == "token_expired"
    customer = login(c, "wx-customer")
    for sub in (f"staff:{api['admin'].id}", f"customer:{customer['customer']['id']}"):
        forged = jwt.encode(
            _claims(api, sub=sub, role="admin", cid=customer["customer"]["id"], exp=int(time.time()) + 600),
            "another-key-" + "y" * 32,
            algorithm="HS256",
        )
        answer = c.get(path, headers={"Authorization": f"Bearer {forged}"})
        assert answer.status_code == 401 and answer.json()["code"] == "unauthorized"
    unsigned = jwt.encode(_claims(api, exp=int(time.time()) + 600), None, algorithm="none")
    assert c.get(path, headers={"Authorization": f"Bearer {unsigned}"}).status_code == 401


OTHERS = [
    ("GET", "/customers/{customer}", None),
    ("PATCH", "/customers/{customer}", {"name": "改名"}),
    ("PUT", "/customers/{customer}/type", {"type": 1}),
    ("POST", "/customers/{customer}/notes", {"body": "看看"}),
    ("GET", "/orders?customer_id={customer}", None),
    ("GET", "/orders/{order}", None),
    ("POST", "/orders/{order}/release", None),
    ("POST", "/orders/{order}/cancel", {"reason": "试试"}),
    ("POST", "/orders/{order}/notes", {"body": "看看"}),
    ("POST", "/inquiries/{inquiry}/handle", None),
    ("POST", "/inquiries/{inquiry}/answer", {"answer": "可以做，报价 380 元"}),
    ("POST", "/products/{product}/grants", {"customer_id": "{customer}"}),
]


def _fill(template, ids: dict):
    if isinstance(template, dict):
        return {k: _fill(v, ids) for k, v in template.items()}
    if isinstance(template, str) and template.startswith("{") and template.endswith("}"):
        return ids[template[1:-1]]
    return template.format(**ids) if isinstance(template, str) else template


@pytest.mark.parametrize("method,path,body", OTHERS, ids=[f"{m} {p}" for m, p, _ in OTHERS])
def test_another_salespersons_customer_or_order_answers_like_a_missing_one(api, mine, method, path, body):
    c = api["client"]
    theirs = {
        "customer": api["other_customer"].id,
        "order": api["other_order"].order_no,
        "inquiry": api["other_inquiry"].id,
        "product": api["custom"].id,
    }
    missing = {"customer": 999999, "order": "JHT-20990101-9999", "inquiry": 999999, "product": api["custom"].id}
    kwargs = lambda ids: {"json": _fill(body, ids)} if body is not None else {}  # noqa: E731
    foreign = c.request(method, S + _fill(path, theirs), headers=mine, **kwargs(theirs))
    absent = c.request(method, S + _fill(path, missing), headers=mine, **kwargs(missing))
    assert foreign.status_code == absent.status_code == 404, foreign.text
    assert foreign.json()["message"] == absent.json()["message"] and foreign.json()["code"] == absent.json()["code"]
    with Session(api["rt"].engine) as s:  # and nothing was touched
        order = s.get(Order, api["other_order"].id)
        assert (order.status, order.released) == (OrderStatus.PENDING, False)
        assert s.get(Customer, api["other_customer"].id).name == "other的客户"
        assert count(s, ProductGrant) == 0 and s.get(Inquiry, api["other_inquiry"].id).status.value == "open"


def test_lists_show_only_my_customers_orders_and_inquiries(api, mine):
    c = api["client"]
    assert [x["id"] for x in c.get(f"{S}/customers", headers=mine).json()["items"]] == [api["mine_customer"].id]
    assert [x["order_no"] for x in c.get(f"{S}/orders", headers=mine).json()["items"]] == [api["mine_order"].order_no]
    assert [x["id"] for x in c.get(f"{S}/inquiries", headers=mine).json()["items"]] == [api["mine_inquiry"].id]
    assert c.get(f"{S}/customers?q=other", headers=mine).json()["total"] == 0


def test_admin_sees_and_acts_on_every_customer(api, admin):
    c = api["client"]
    assert c.get(f"{S}/customers", headers=admin).json()["total"] == 2
    assert c.get(f"{S}/orders", headers=admin).json()["total"] == 2
    assert c.get(f"{S}/inquiries?status=open", headers=admin).json()["total"] == 2
    assert c.get(f"{S}/customers/{api['other_customer'].id}", headers=admin).status_code == 200
    released = c.post(f"{S}/orders/{api['other_order'].order_no}/release", headers=admin)
    assert released.status_code == 200 and released.json()["released"] is True
    made = c.post(
        f"{S}/customers", headers=admin, json={"name": "佛山砂轮厂", "type": 1, "salesperson_id": api["other"].id}
    )
    assert made.status_code == 201 and made.json()["salesperson_id"] == api["other"].id


def test_a_salesperson_cannot_give_a_customer_to_someone_else(api, mine):
    c = api["client"]
    made = c.post(
        f"{S}/customers", headers=mine, json={"name": "佛山砂轮厂", "type": 1, "salesperson_id": api["other"].id}
    )
    assert made.status_code == 403
    moved = c.patch(f"{S}/customers/{api['mine_customer'].id}", headers=mine, json={"salesperson_id": api["other"].id})
    assert moved.status_code == 403


# --------------------------------------------------------------------------- customers


def test_a7_salesperson_creates_searches_and_edits_a_customer(api, mine):
    c = api["client"]
    made = c.post(
        f"{S}/customers",
        headers=mine,
        json={"name": " 东莞精工模具 ", "type": 2, "phone": "13900001111", "contact_name": "陈经理"},
    )
    assert made.status_code == 201, made.text
    customer = made.json()
    assert customer["name"] == "东莞精工模具" and customer["salesperson_id"] == api["mine"].id
    assert customer["accounts"] == [] and customer["open_orders"] == 0
    for q in ("精工", "陈经理", "01111"):
        assert [x["id"] for x in c.get(f"{S}/customers", headers=mine, params={"q": q}).json()["items"]] == [
            customer["id"]
        ]
    changed = c.patch(f"{S}/customers/{customer['id']}", headers=mine, json={"contact_name": None, "name": "东莞精工"})
    assert (
        changed.status_code == 200 and changed.json()["contact_name"] is None and changed.json()["name"] == "东莞精工"
    )
    assert _outbox(api["rt"].engine, "customer.upsert", str(customer["id"])) == 2  # E4: created, then changed


def test_a6_customer_search_by_a_whole_phone_number(api, mine):
    c = api["client"]
    made = c.post(
        f"{S}/customers", headers=mine, json={"name": "东莞精工模具", "type": 2, "phone": "13900001111"}
    ).json()
    found = c.get(f"{S}/customers", headers=mine, params={"q": "13900001111"})
    assert found.status_code == 200, found.text
    assert [x["id"] for x in found.json()["items"]] == [made["id"]]


def test_a1_type_change_answers_with_the_notice_about_unreleased_orders(api, mine):
    c = api["client"]
    changed = c.put(f"{S}/customers/{api['mine_customer'].id}/type", headers=mine, json={"type": 1})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["changed"] is True and body["type"] == 1 and body["unreleased_open_orders"] == 1
    assert "1 个未放行的订单" in body["notice"]
    # The order keeps the rule it was placed under: it still waits for the payment confirmation.
    waiting = c.get(f"{S}/orders?awaiting_payment=true", headers=mine).json()["items"]
    assert [o["order_no"] for o in waiting] == [api["mine_order"].order_no]


def test_customer_detail_has_accounts_addresses_orders_and_notes(api, mine):
    c = api["client"]
    cid = api["mine_customer"].id
    note = c.post(f"{S}/customers/{cid}/notes", headers=mine, json={"body": "  月底付款  "})
    assert note.status_code == 201 and note.json()["body"] == "月底付款" and note.json()["author"] == "Zhangwei"
    detail = c.get(f"{S}/customers/{cid}", headers=mine).json()
    assert detail["open_orders"] == detail["awaiting_payment_orders"] == 1
    assert [a["detail"] for a in detail["addresses"]] == ["工业大道 1 号"]
    assert [n["body"] for n in detail["notes"]] == ["月底付款"]


# --------------------------------------------------------------------------- orders (A1, A6)


def test_a6_scenario_1_release_from_the_awaiting_payment_list(api, mine):
    c = api["client"]
    woken = []
    c.app.state.wake_dispatcher = lambda: woken.append(1)
    order_no = api["mine_order"].order_no
    waiting = c.get(f"{S}/orders", headers=mine, params={"awaiting_payment": "true"}).json()
    assert [o["order_no"] for o in waiting["items"]] == [order_no] and waiting["items"][0]["awaiting_payment"] is True
    released = c.post(f"{S}/orders/{order_no}/release", headers=mine)
    assert released.status_code == 200, released.text
    assert released.json()["released"] is True and released.json()["can_release"] is False
    assert [e["action"] for e in released.json()["timeline"]][-1] == "release"
    assert _outbox(api["rt"].engine, "order.release", order_no) == 1 and woken == [1]
    assert c.get(f"{S}/orders?awaiting_payment=true", headers=mine).json()["total"] == 0
    again = c.post(f"{S}/orders/{order_no}/release", headers=mine)
    assert again.status_code == 200 and _outbox(api["rt"].engine, "order.release", order_no) == 1


def test_a6_salesperson_cancels_an_order_with_a_reason(api, mine):
    c = api["client"]
    order_no = api["mine_order"].order_no
    cancelled = c.post(f"{S}/orders/{order_no}/cancel", headers=mine, json={"reason": "客户改订其他规格"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["can_cancel"] is False
    with Session(api["rt"].engine) as s:
        assert _outbox(api["rt"].engine, "order.cancel", order_no) == 1
        assert count(s, OutboxMessage, OutboxMessage.kind == "notify.cancelled") == 1
    assert c.post(f"{S}/orders/{order_no}/cancel", headers=mine).status_code == 409
    assert c.post(f"{S}/orders/{order_no}/release", headers=mine).status_code == 409


def test_a6_order_detail_filters_and_notes(api, mine):
    c = api["client"]
    order_no = api["mine_order"].order_no
    note = c.post(f"{S}/orders/{order_no}/notes", headers=mine, json={"body": "已催款"})
    assert note.status_code == 201
    detail = c.get(f"{S}/orders/{order_no}", headers=mine).json()
    assert detail["customer"]["id"] == api["mine_customer"].id and detail["lines"][0]["sku"] == "WA-400"
    assert [n["body"] for n in detail["notes"]] == ["已催款"] and detail["timeline"][0]["action"] == "placed"
    assert c.get(f"{S}/orders?status=pending&customer_id={api['mine_customer'].id}", headers=mine).json()["total"] == 1
    assert c.get(f"{S}/orders?status=shipped", headers=mine).json()["total"] == 0
    # The customer's own notes list is not the order's.
    assert c.get(f"{S}/customers/{api['mine_customer'].id}", headers=mine).json()["notes"] == []


# --------------------------------------------------------------------------- inquiries (C11)


def test_c11_inquiry_from_the_mini_program_reaches_the_salesperson_who_handles_it(api, mine):
    c = api["client"]
    customer = login(c, "wx-scn-inq")
    joined = c.post("/api/mp/v1/auth/phone", headers=customer["headers"], json={"code": api["mine_customer"].phone})
    headers = {"Authorization": f"Bearer {joined.json()['access_token']}"}
    asked = c.post("/api/mp/v1/inquiries", headers=headers, json={"body": "要一批 350 的切割片"})
    assert asked.status_code == 201
    open_ = c.get(f"{S}/inquiries?status=open", headers=mine).json()["items"]
    assert [i["body"] for i in open_] == ["要一批 350 的切割片", "需要 300×40×75 的碗形砂轮"]
    handled = c.post(f"{S}/inquiries/{asked.json()['id']}/handle", headers=mine)
    assert (
        handled.status_code == 200
        and handled.json()["status"] == "handled"
        and handled.json()["handled_by"] == "Zhangwei"
    )
    assert c.get(f"{S}/inquiries?status=open", headers=mine).json()["total"] == 1
    assert [i["id"] for i in c.get(f"{S}/inquiries?status=handled", headers=mine).json()["items"]] == [
        asked.json()["id"]
    ]
    other = staff_login(c, "lina")["headers"]
    assert c.get(f"{S}/inquiries?status=handled", headers=other).json()["total"] == 0


def test_c16_the_salespersons_answer_reaches_the_customer_among_their_own_inquiries(api, mine):
    """C11 (issue #13): staff answer an inquiry, which marks it handled; the customer lists their
    own inquiries (no one else's), newest first, with the answer and when it was given."""
    c = api["client"]
    customer = login(c, "wx-scn-ans")
    joined = c.post("/api/mp/v1/auth/phone", headers=customer["headers"], json={"code": api["mine_customer"].phone})
    headers = {"Authorization": f"Bearer {joined.json()['access_token']}"}
    asked = c.post("/api/mp/v1/inquiries", headers=headers, json={"body": "要一批 350 的切割片"}).json()
    before = c.get("/api/mp/v1/inquiries", headers=headers).json()
    assert [(i["id"], i["status"], i["answer"]) for i in before["items"]] == [
        (asked["id"], "open", None),
        (api["mine_inquiry"].id, "open", None),
    ]
    answered = c.post(f"{S}/inquiries/{asked['id']}/answer", headers=mine, json={"answer": "可以做，报价 2.1 元/片"})
    assert answered.status_code == 200, answered.text
    out = answered.json()
    assert (out["status"], out["answer"], out["answered_by"], out["handled_by"]) == (
        "handled",
        "可以做，报价 2.1 元/片",
        "Zhangwei",
        "Zhangwei",
    )
    assert out["answered_at"] and out["handled_at"]
    assert c.get(f"{S}/inquiries?status=handled", headers=mine).json()["items"][0]["answer"] == "可以做，报价 2.1 元/片"
    again = c.post(f"{S}/inquiries/{asked['id']}/answer", headers=mine, json={"answer": "可以做，报价 2.0 元/片"})
    assert again.json()["answer"] == "可以做，报价 2.0 元/片"
    mine_now = c.get("/api/mp/v1/inquiries", headers=headers).json()
    assert mine_now["total"] == 2 and mine_now["page"] == 1
    first = mine_now["items"][0]
    assert (first["id"], first["status"], first["status_label"], first["answer"], first["answered_by"]) == (
        asked["id"],
        "handled",
        "已处理",
        "可以做，报价 2.0 元/片",
        "Zhangwei",
    )
    assert first["answered_at"] and mine_now["items"][1]["answer"] is None
    stranger = login(c, "wx-scn-stranger")
    assert c.get("/api/mp/v1/inquiries", headers=stranger["headers"]).json() == {
        "page": 1,
        "page_size": mine_now["page_size"],
        "total": 0,
        "items": [],
    }
    with Session(api["rt"].engine) as s:
        audits = s.exec(select(AuditLog).where(AuditLog.action == "inquiry.answer")).all()
        assert [a.detail["previous_answer"] for a in audits] == [None, "可以做，报价 2.1 元/片"]


def test_c11_an_inquiry_handled_without_an_answer_can_still_be_answered(api, mine):
    """C11: handling keeps working as before; an answer given later is recorded, the handler stays."""
    c = api["client"]
    inquiry = api["mine_inquiry"].id
    assert c.post(f"{S}/inquiries/{inquiry}/handle", headers=mine).json()["answer"] is None
    admin = staff_login(c, "boss")["headers"]
    out = c.post(f"{S}/inquiries/{inquiry}/answer", headers=admin, json={"answer": "碗形砂轮可以定制"}).json()
    assert (out["status"], out["handled_by"], out["answered_by"]) == ("handled", "Zhangwei", "Boss")


# --------------------------------------------------------------------------- products (A3, A7)


def _new_product(**changes) -> dict:
    return {
        "sku": "CUS-DG-1",
        "name": "定制碗形砂轮 东莞精工",
        "price": "420.50",
        "unit": "片",
        "shape": "11 碗形砂轮",
        "outer_diameter_mm": "300",
        "thickness_mm": "40",
        "bore_mm": "75",
        "abrasive": "WA",
        "grit": "60",
        "hardness": "K",
        "bond": "V",
        "max_speed_ms": "35",
    } | changes


def test_a7_custom_product_create_and_list(api, mine):
    c = api["client"]
    made = c.post(f"{S}/products", headers=mine, json=_new_product())
    assert made.status_code == 201, made.text
    assert (
        made.json()["kind"] == "custom"
        and made.json()["price"] == "420.50"
        and made.json()["outer_diameter_mm"] == "300.00"
    )
    duplicate = c.post(f"{S}/products", headers=mine, json=_new_product(name="另一个"))
    assert duplicate.status_code == 409 and "CUS-DG-1" in duplicate.json()["message"]
    listed = c.get(f"{S}/products?kind=custom", headers=mine).json()
    # CUS-OLD (from the ERP, granted to nobody of theirs) is not this salesperson's to see (sec08)
    assert [p["sku"] for p in listed["items"]] == ["CUS-DG-1"]
    assert c.get(f"{S}/products?q=东莞", headers=mine).json()["total"] == 1
    standard = c.post(f"{S}/products", headers=mine, json=_new_product(sku="STD-1", kind="standard"))
    assert standard.status_code == 403
    with Session(api["rt"].engine) as s:
        assert count(s, AuditLog, AuditLog.action == "product.create") == 1


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"price": "12.345"}, "price"),
        ({"price": "-1"}, "price"),
        ({"price": 12.5}, "price"),
        ({"price": "1e3"}, "price"),
        ({"sku": ""}, "sku"),
        ({"sku": "   "}, "sku"),
        ({"name": "x" * 129}, "name"),
        ({"name": "a\nb"}, "name"),
        ({"outer_diameter_mm": "0"}, "outer_diameter_mm"),
        ({"bore_mm": "abc"}, "bore_mm"),
        ({"kind": "other"}, "kind"),
    ],
)
def test_a7_bad_product_bodies_are_4xx_with_a_chinese_message(api, mine, changes, field):
    answer = api["client"].post(f"{S}/products", headers=mine, json=_new_product(**changes))
    assert 400 <= answer.status_code < 500, answer.text
    assert field in answer.text and re.search(r"[\u4e00-\u9fff]", answer.json()["message"])
    with Session(api["rt"].engine) as s:
        assert count(s, Product) == 2


def test_a7_grant_only_custom_products_to_my_customers(api, mine):
    c = api["client"]
    cid = api["mine_customer"].id
    made = c.post(f"{S}/products", headers=mine, json=_new_product()).json()
    granted = c.post(f"{S}/products/{made['id']}/grants", headers=mine, json={"customer_id": cid})
    assert granted.status_code == 201 and granted.json() == {
        "product_id": made["id"],
        "sku": "CUS-DG-1",
        "customer_id": cid,
        "created": True,
        "visible_to_customer": True,
    }
    again = c.post(f"{S}/products/{made['id']}/grants", headers=mine, json={"customer_id": cid})
    assert again.json()["created"] is False
    standard = c.post(f"{S}/products/{api['wheel'].id}/grants", headers=mine, json={"customer_id": cid})
    assert standard.status_code == 422
    # a custom product outside the salesperson's scope (sec08) is as if it did not exist; an admin may
    outside = c.post(f"{S}/products/{api['custom'].id}/grants", headers=mine, json={"customer_id": cid})
    assert outside.status_code == 404
    boss = staff_login(c, "boss")["headers"]
    assert c.post(f"{S}/products/{api['custom'].id}/grants", headers=boss, json={"customer_id": cid}).status_code == 201
    with Session(api["rt"].engine) as s:
        assert count(s, ProductGrant) == 2
        assert count(s, AuditLog, AuditLog.action == "product.grant") == 2


def test_a7_scenario_2_through_the_api_only(api, mine):
    c = api["client"]
    # The salesperson registers the customer, makes its custom product and grants it.
    customer = c.post(
        f"{S}/customers", headers=mine, json={"name": "东莞精工模具", "type": 1, "phone": "13900001111"}
    ).json()
    product = c.post(f"{S}/products", headers=mine, json=_new_product()).json()
    grant = c.post(f"{S}/products/{product['id']}/grants", headers=mine, json={"customer_id": customer["id"]})
    assert grant.status_code == 201 and grant.json()["visible_to_customer"] is True
    # The customer opens the mini-program and binds the phone the salesperson registered.
    me = login(c, "wx-dongguan")
    joined = c.post("/api/mp/v1/auth/phone", headers=me["headers"], json={"code": "13900001111"}).json()
    assert joined["joined_registered_customer"] is True and joined["customer"]["id"] == customer["id"]
    headers = {"Authorization": f"Bearer {joined['access_token']}"}
    custom = c.get("/api/mp/v1/products?kind=custom", headers=headers).json()["items"]
    assert [(p["sku"], p["price"]) for p in custom] == [("CUS-DG-1", "420.50")]
    address = c.post(
        "/api/mp/v1/addresses",
        headers=headers,
        json={"recipient": "陈经理", "phone": "13900001111", "detail": "长安镇振安路 8 号", "is_default": True},
    ).json()
    placed = c.post(
        "/api/mp/v1/orders",
        headers={**headers, **key()},
        json={"lines": [{"product_id": product["id"], "quantity": 20}], "address_id": address["id"]},
    )
    assert placed.status_code == 201, placed.text
    order_no = placed.json()["order_no"]
    # Another customer still does not see it.
    stranger = login(c, "wx-stranger")
    assert c.get("/api/mp/v1/products?kind=custom", headers=stranger["headers"]).json()["items"] == []
    # The salesperson sees the order among theirs; type 1 needs no payment confirmation.
    theirs = c.get(f"{S}/orders", headers=mine, params={"customer_id": customer["id"]}).json()["items"]
    assert [(o["order_no"], o["total_amount"], o["awaiting_payment"]) for o in theirs] == [(order_no, "8410.00", False)]
    assert c.get(f"{S}/customers/{customer['id']}", headers=mine).json()["accounts"][0]["phone"] == "13900001111"


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("POST", "/customers", {"name": "x", "type": 3}),
        ("POST", "/customers", {"name": "", "type": 1}),
        ("POST", "/customers", {"name": "   ", "type": 1}),
        ("POST", "/customers", {"name": "x" * 129, "type": 1}),
        ("POST", "/customers", {"name": "x", "type": 1, "phone": "call me"}),
        ("POST", "/customers", {"name": "x", "type": 1, "salesperson_id": 0}),
        ("POST", "/customers", [1, 2]),
        ("POST", "/customers", "not json"),
        ("PUT", "/customers/{customer}/type", {"type": True}),
        ("PUT", "/customers/{customer}/type", {}),
        ("PATCH", "/customers/{customer}", {"name": None}),
        ("POST", "/customers/{customer}/notes", {"body": ""}),
        ("POST", "/customers/{customer}/notes", {"body": "  "}),
        ("POST", "/customers/{customer}/notes", {"body": "长" * 2001}),
        ("POST", "/orders/{order}/notes", {"body": 5}),
        ("POST", "/orders/{order}/cancel", {"reason": "长" * 501}),
        ("POST", "/products/{product}/grants", {"customer_id": -1}),
        ("POST", "/products/{product}/grants", {"customer_id": 2**40}),
        ("GET", "/customers/99999999999", None),
        ("GET", "/customers/0", None),
        ("POST", "/inquiries/99999999999/handle", None),
        ("POST", "/inquiries/99999999999/answer", {"answer": "好"}),
        ("POST", "/inquiries/1/answer", {"answer": ""}),
        ("POST", "/inquiries/1/answer", {"answer": " \n "}),
        ("POST", "/inquiries/1/answer", {"answer": "长" * 2001}),
        ("POST", "/inquiries/1/answer", {}),
        ("POST", "/products/99999999999/grants", {"customer_id": 1}),
        ("GET", "/orders?customer_id=99999999999", None),
        ("GET", "/customers?page=0", None),
        ("GET", "/customers?q=" + "x" * 65, None),
        ("GET", "/orders?status=lost", None),
        ("GET", "/orders?awaiting_payment=maybe", None),
        ("GET", "/orders?customer_id=abc", None),
        ("GET", "/inquiries?status=closed", None),
        ("GET", "/products?kind=other", None),
        ("POST", "/auth/login", {"username": "", "password": "x"}),
        ("POST", "/auth/login", {"username": "zhangwei"}),
        ("POST", "/auth/wechat/bind", {"code": ""}),
        ("POST", "/auth/wechat/bind", {"code": "含中文"}),
    ],
)
def test_bad_input_is_a_clear_4xx_never_a_500(api, mine, method, path, body):
    ids = {"customer": api["mine_customer"].id, "order": api["mine_order"].order_no, "product": api["custom"].id}
    kwargs = {} if body is None else {"content": body} if isinstance(body, str) else {"json": body}
    answer = api["client"].request(method, S + path.format(**ids), headers=mine, **kwargs)
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["code"] and re.search(r"[\u4e00-\u9fff]", answer.json()["message"])
    with Session(api["rt"].engine) as s:
        assert s.exec(select(Customer.name).where(Customer.id == api["mine_customer"].id)).one() == "mine的客户"


def test_sales_routes_are_in_the_openapi_schema(api):
    schema = api["client"].get("/schema/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/sales/v1/orders/{order_no}/release", "/api/sales/v1/products/{product_id}/grants"} <= set(paths)
    assert paths["/api/sales/v1/customers"]["post"]["operationId"] == "salesCreateCustomer"
