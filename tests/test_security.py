"""Security issue #10, the points the APIs and the database answer for (each test named by its
point; the file drop's are in test_sec_filedrop.py, the catalog's in test_sec_catalog.py, staff
users' and file modes' in test_sec_users.py). Tests taking ``engine`` run on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from bridge import db as bridge_db
from bridge.actors import Actor
from bridge.customers import create_customer, merge_customers, update_customer
from bridge.errors import Conflict
from bridge.models import (
    Account,
    Address,
    Customer,
    Inquiry,
    Order,
    OrderEvent,
    Product,
    ProductKind,
    StaffRole,
    StaffUser,
)
from bridge.users import hash_password
from tests.api_helpers import LiveServer, key, login, make_client

PASSWORD = "correct-horse-42"
MP = "/api/mp/v1"
S = "/api/sales/v1"


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def shop(engine, tmp_path, password_hash):
    """Two salespeople, an admin, a standard wheel, and a registered type-1 customer with two
    WeChat accounts (login codes wx-a and wx-b: dev-mode openids dev-wx-a, dev-wx-b) and an address."""
    client, rt = make_client(engine, tmp_path)
    with Session(engine, expire_on_commit=False) as s:
        mine = StaffUser(username="zhangwei", display_name="张伟", role=StaffRole.SALES, password_hash=password_hash)
        other = StaffUser(username="lina", display_name="李娜", role=StaffRole.SALES, password_hash=password_hash)
        boss = StaffUser(username="boss", display_name="老板", role=StaffRole.ADMIN, password_hash=password_hash)
        s.add_all([mine, other, boss])
        s.flush()
        wheel = Product(sku="WA-400", name="平形砂轮", price=Decimal("186.00"))
        s.add(wheel)
        customer = Customer(name="东莞精工模具", type=1, salesperson_id=mine.id)
        s.add(customer)
        s.flush()
        s.add_all(
            [Account(customer_id=customer.id, openid="dev-wx-a"), Account(customer_id=customer.id, openid="dev-wx-b")]
        )
        s.add(Address(customer_id=customer.id, recipient="陈经理", phone="13900001111", detail="长安镇振安路 8 号"))
        s.commit()
    yield {
        "client": client,
        "rt": rt,
        "engine": engine,
        "mine": mine,
        "other": other,
        "boss": boss,
        "wheel": wheel,
        "customer": customer,
    }
    rt.connector.close()


def staff(client, username: str) -> dict:
    answer = client.post(f"{S}/auth/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 201, answer.text
    data = answer.json()
    data["headers"] = {"Authorization": f"Bearer {data['access_token']}"}
    return data


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _address_of(shop, headers) -> int:
    return shop["client"].get(f"{MP}/addresses", headers=headers).json()[0]["id"]


# --------------------------------------------------------------------------- 1 (critical)


@pytest.mark.parametrize(
    "table,row",
    [
        ("account", {"customer_id": None, "openid": "x"}),
        ("staff_user", {"username": "x", "display_name": "x", "role": "sales", "password_hash": "x", "active": True}),
        ("customer", {"name": "x", "type": 2}),
    ],
)
def test_sec01_an_id_is_never_handed_out_twice(engine, table, row):
    """Without AUTOINCREMENT SQLite reuses the highest deleted rowid: a token or link naming the
    deleted row would name the next one."""
    with Session(engine) as s:
        if table == "account":
            row = {
                **row,
                "customer_id": s.execute(
                    sa.text(
                        "INSERT INTO customer (name, type, created_at, updated_at) VALUES ('c', 2, :t, :t) RETURNING id"
                    ),
                    {"t": "2026-12-03T00:00:00+00:00"},
                ).scalar_one(),
            }
        columns = {**row, "created_at": "2026-12-03T00:00:00+00:00"}
        if table == "customer":
            columns["updated_at"] = columns["created_at"]
        names = ", ".join(columns)
        insert = sa.text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + k for k in columns)}) RETURNING id")
        first = s.execute(insert, columns).scalar_one()
        s.execute(sa.text(f"DELETE FROM {table} WHERE id = :id"), {"id": first})
        s.commit()
        for key_name in ("openid", "username"):
            if key_name in columns:
                columns[key_name] = "y"
        second = s.execute(insert, columns).scalar_one()
        s.commit()
    assert second > first


def test_sec01_sqlite_tables_are_made_with_autoincrement(tmp_path):
    engine = bridge_db.make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    bridge_db.upgrade(engine)
    with engine.connect() as conn:
        tables = dict(conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table'").all())
    engine.dispose()
    for name in ("account", "staff_user", "customer", "orders", "address", "inquiry"):
        assert "AUTOINCREMENT" in tables[name].upper(), name


def test_sec01_an_unbound_accounts_tokens_never_come_back(shop):
    c = shop["client"]
    a, b = login(c, "wx-a"), login(c, "wx-b")
    b_account = next(
        x["id"] for x in c.get(f"{MP}/me/accounts", headers=b["headers"]).json() if x["id"] != a.get("account_id")
    )
    accounts = c.get(f"{MP}/me/accounts", headers=a["headers"]).json()
    assert len(accounts) == 2
    # b's own id: the account whose token is b's (its /me shows it)
    me_b = c.get(f"{MP}/me", headers=b["headers"]).json()
    b_account = me_b.get("account", {}).get("id", b_account)
    assert c.delete(f"{MP}/me/accounts/{b_account}", headers=a["headers"]).status_code in (200, 204)
    assert c.get(f"{MP}/me", headers=b["headers"]).status_code == 401
    assert c.post(f"{MP}/auth/refresh", json={"refresh_token": b["refresh_token"]}).status_code == 401
    # strangers log in (new accounts, new customers); a new account for the same customer too
    for code in ("stranger-1", "stranger-2"):
        login(c, code)
    with Session(shop["engine"]) as s:
        s.add(Account(customer_id=shop["customer"].id, openid="dev-wx-c"))
        s.commit()
    login(c, "wx-c")
    assert c.get(f"{MP}/me", headers=b["headers"]).status_code == 401
    assert c.post(f"{MP}/auth/refresh", json={"refresh_token": b["refresh_token"]}).status_code == 401
    assert c.get(f"{MP}/me", headers=a["headers"]).status_code == 200


def test_sec01_logout_ends_the_session_and_a_reused_refresh_token_ends_the_family(shop):
    c = shop["client"]
    a = login(c, "wx-a")
    first = c.post(f"{MP}/auth/refresh", json={"refresh_token": a["refresh_token"]})
    assert first.status_code == 201, first.text
    fresh = first.json()
    # the old refresh token again, later than a network retry would: someone copied it
    from bridge.models import AuthSession

    with Session(shop["engine"]) as s:
        row = s.exec(select(AuthSession).where(AuthSession.account_id.is_not(None))).first()
        row.refreshed_at = row.refreshed_at.replace(year=row.refreshed_at.year - 1)
        s.add(row)
        s.commit()
    reused = c.post(f"{MP}/auth/refresh", json={"refresh_token": a["refresh_token"]})
    assert reused.status_code == 401
    assert c.get(f"{MP}/me", headers=bearer(fresh["access_token"])).status_code == 401
    assert c.post(f"{MP}/auth/refresh", json={"refresh_token": fresh["refresh_token"]}).status_code == 401
    again = login(c, "wx-a")
    assert c.post(f"{MP}/auth/logout", headers=again["headers"]).status_code in (200, 204)
    assert c.get(f"{MP}/me", headers=again["headers"]).status_code == 401
    assert c.post(f"{MP}/auth/refresh", json={"refresh_token": again["refresh_token"]}).status_code == 401


# --------------------------------------------------------------------------- 3


def test_sec03_a_phone_belongs_to_one_active_customer(shop):
    engine = shop["engine"]
    mine, other = Actor.sales(shop["mine"].id), Actor.sales(shop["other"].id)
    with Session(engine) as s:
        new = create_customer(s, other, name="新客户", type=2, phone="139 0000 2222")
        s.commit()
        older = create_customer(s, mine, name="老客户", type=2)
        s.commit()
        with pytest.raises(Conflict) as exc:
            update_customer(s, mine, older.id, phone="+86 13900002222")
        assert "新客户" in exc.value.message or str(new.id) in (exc.value.detail or "")
        s.rollback()
        with pytest.raises(Conflict):
            create_customer(s, mine, name="第三个", type=2, phone="13900002222")
        s.rollback()
        # the database refuses it too, whatever path a row takes
        with pytest.raises(sa.exc.IntegrityError):
            s.add(Customer(name="绕过", type=2, phone="13900002222"))
            s.flush()
        s.rollback()
        # an admin's merge resolves a duplicate: the absorbed alias no longer holds the number
        merge_customers(s, Actor.admin(shop["boss"].id), survivor_id=older.id, absorbed_id=new.id)
        s.commit()
        assert s.get(Customer, older.id).phone == "13900002222"


def test_sec03_binding_a_phone_joins_only_the_customer_that_holds_it(shop):
    c = shop["client"]
    with Session(shop["engine"]) as s:
        create_customer(s, Actor.sales(shop["other"].id), name="李娜的新客户", type=2, phone="13900003333")
        s.commit()
    me = login(c, "wx-newcomer")
    joined = c.post(f"{MP}/auth/phone", headers=me["headers"], json={"code": "13900003333"})
    assert joined.status_code == 201 and joined.json()["customer"]["name"] == "李娜的新客户"
    # a customer with orders binding a number another customer holds: refused, nothing moves
    a = login(c, "wx-a")
    placed = c.post(
        f"{MP}/orders",
        headers={**a["headers"], **key()},
        json={
            "lines": [{"product_id": shop["wheel"].id, "quantity": 1}],
            "address_id": _address_of(shop, a["headers"]),
        },
    )
    assert placed.status_code == 201, placed.text
    with Session(shop["engine"]) as s:
        create_customer(s, Actor.admin(shop["boss"].id), name="第三家", type=2, phone="13900004444")
        s.commit()
    refused = c.post(f"{MP}/auth/phone", headers=a["headers"], json={"code": "13900004444"})
    assert refused.status_code == 409 and refused.json()["code"] == "phone_belongs_to_other_customer"
    assert c.get(f"{MP}/me", headers=a["headers"]).json()["customer"]["name"] == "东莞精工模具"


# --------------------------------------------------------------------------- 4


def test_sec04_an_account_with_orders_and_inquiries_can_be_unbound_and_history_stays(shop):
    c = shop["client"]
    a, b = login(c, "wx-a"), login(c, "wx-b")
    placed = c.post(
        f"{MP}/orders",
        headers={**b["headers"], **key()},
        json={
            "lines": [{"product_id": shop["wheel"].id, "quantity": 1}],
            "address_id": _address_of(shop, b["headers"]),
        },
    )
    assert placed.status_code == 201
    assert c.post(f"{MP}/inquiries", headers=b["headers"], json={"body": "要 300 的碗形砂轮"}).status_code == 201
    with Session(shop["engine"]) as s:
        b_id = s.exec(select(Account.id).where(Account.openid == "dev-wx-b")).one()
    gone = c.delete(f"{MP}/me/accounts/{b_id}", headers=a["headers"])
    assert gone.status_code in (200, 204), gone.text
    with Session(shop["engine"]) as s:
        account = s.get(Account, b_id)
        assert account.unbound_at is not None and account.openid is None
        assert s.exec(select(Order).where(Order.account_id == b_id)).one().order_no == placed.json()["order_no"]
        assert s.exec(select(Inquiry).where(Inquiry.account_id == b_id)).one()
    assert [x["id"] for x in c.get(f"{MP}/me/accounts", headers=a["headers"]).json()] != [b_id]
    assert login(c, "wx-b")["customer"]["id"] != shop["customer"].id  # a new customer of its own


# --------------------------------------------------------------------------- 5, 6


def _deep(levels: int) -> bytes:
    return b'{"code":' + b"[" * levels + b"]" * levels + b"}"


@pytest.mark.parametrize("path", [f"{MP}/auth/login", f"{S}/auth/login", f"{MP}/orders", f"{S}/customers"])
def test_sec05_a_deeply_nested_body_is_400_before_anything_else(shop, path, caplog):
    c = shop["client"]
    answer = c.post(path, content=_deep(1000), headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and answer.json()["code"] == "invalid_input", answer.text
    assert len(_deep(1000)) < 2100
    fine = c.post(path, content=_deep(20), headers={"Content-Type": "application/json"})
    assert fine.status_code in (400, 401), fine.text  # a wrong shape, not refused for its depth
    assert "嵌套" not in fine.json()["message"]


def test_sec06_control_characters_are_400_naming_the_field_on_both_databases(shop):
    c = shop["client"]
    login_answer = c.post(f"{S}/auth/login", json={"username": "zhang\x00wei", "password": PASSWORD})
    assert login_answer.status_code == 400 and "username" in login_answer.text
    boss = staff(c, "boss")["headers"]
    created = c.post(f"{S}/customers", headers=boss, json={"name": "坏\x00名字", "type": 2})
    assert created.status_code == 400 and "name" in created.json()["message"]
    a = login(c, "wx-a")
    for body, field in (
        ({"recipient": "陈\x07", "phone": "13900001111", "detail": "x"}, "recipient"),
        ({"recipient": "陈", "phone": "13900001111", "detail": "x\x00"}, "detail"),
    ):
        answer = c.post(f"{MP}/addresses", headers=a["headers"], json=body)
        assert answer.status_code == 400 and field in answer.json()["message"], answer.text
    order = c.post(
        f"{MP}/orders",
        headers={**a["headers"], **key()},
        json={
            "lines": [{"product_id": shop["wheel"].id, "quantity": 1, "marking": "A\x1bB"}],
            "address_id": _address_of(shop, a["headers"]),
            "remark": "ok",
        },
    )
    assert order.status_code == 400 and "marking" in order.json()["message"], order.text
    search = c.get(f"{MP}/products", headers=a["headers"], params={"q": "砂\x00轮"})
    assert search.status_code == 400
    assert c.get(f"{MP}/orders/JHT%00-1", headers=a["headers"]).status_code == 400
    # line breaks stay allowed where text runs over lines, not in a one-line name
    assert c.post(f"{MP}/inquiries", headers=a["headers"], json={"body": "第一行\n第二行"}).status_code == 201
    assert c.post(f"{S}/customers", headers=boss, json={"name": "a\nb", "type": 2}).status_code == 400
    with Session(shop["engine"]) as s:
        assert s.exec(select(Customer).where(Customer.name.like("坏%"))).first() is None


def test_sec06_old_rows_with_control_characters_reach_the_erp_without_them(session, make):
    from bridge.documents import customer_document

    customer = make.customer(name="旧\x07客户")
    doc = customer_document(session, customer)
    assert doc["name"] == "旧客户"


# --------------------------------------------------------------------------- 8


def test_sec08_a_salesperson_sees_and_grants_only_custom_products_of_their_customers(shop):
    c = shop["client"]
    with Session(shop["engine"]) as s:
        theirs = Customer(name="李娜的客户", type=2, salesperson_id=shop["other"].id)
        s.add(theirs)
        s.flush()
        secret = Product(sku="CUS-LN", name="李娜客户的定制砂轮", kind=ProductKind.CUSTOM, price=Decimal("999.00"))
        s.add(secret)
        s.flush()
        from bridge.models import ProductGrant

        s.add(ProductGrant(product_id=secret.id, customer_id=theirs.id))
        s.commit()
        secret_id = secret.id
    mine = staff(c, "zhangwei")["headers"]
    listed = c.get(f"{S}/products", headers=mine, params={"kind": "custom"}).json()
    assert "CUS-LN" not in [p["sku"] for p in listed["items"]]
    assert c.get(f"{S}/products", headers=mine, params={"q": "李娜"}).json()["total"] == 0
    grant = c.post(f"{S}/products/{secret_id}/grants", headers=mine, json={"customer_id": shop["customer"].id})
    assert grant.status_code == 404
    lina = staff(c, "lina")["headers"]
    assert "CUS-LN" in [
        p["sku"] for p in c.get(f"{S}/products", headers=lina, params={"kind": "custom"}).json()["items"]
    ]
    boss = staff(c, "boss")["headers"]
    assert "CUS-LN" in [
        p["sku"] for p in c.get(f"{S}/products", headers=boss, params={"kind": "custom"}).json()["items"]
    ]


# --------------------------------------------------------------------------- 11


def test_sec11_a_forged_forwarded_header_does_not_escape_the_address_limit(engine, tmp_path, password_hash):
    client, rt = make_client(engine, tmp_path)
    with Session(engine) as s:
        s.add(StaffUser(username="admin", display_name="管理员", role=StaffRole.ADMIN, password_hash=password_hash))
        s.commit()
    per_minute = rt.config.security.login_attempts_per_minute
    with LiveServer(client.app) as server:
        statuses = [
            httpx.post(
                f"{server.base_url}{S}/auth/login",
                json={"username": f"guess{n}", "password": "x" * 12},
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            ).status_code
            for n in range(per_minute + 2)
        ]
    rt.connector.close()
    assert statuses[:per_minute] == [401] * per_minute and statuses[per_minute:] == [429, 429]


def test_sec11_wrong_guesses_at_one_address_do_not_lock_the_owner_out_elsewhere(shop, caplog):
    limiter = shop["client"].app.state.login_limiter
    for _ in range(limiter.per_minute):
        limiter.attempt("198.51.100.7", "boss")
        limiter.failed("198.51.100.7", "boss")
    from bridge.errors import TooMany

    with pytest.raises(TooMany):
        limiter.attempt("198.51.100.7", "boss")
    limiter.attempt("192.0.2.1", "boss")  # the owner, elsewhere: let in


def test_sec11_replicas_count_the_same_wrong_passwords(shop):
    """SEC11: behind a proxy each API replica has its own limiter, and they share the database:
    wrong passwords for a username counted by one replica slow it down at the other, per
    (username, address) and per username from every address; the right password forgets this
    address's failures at both. Nothing of a password is kept."""
    from bridge.errors import TooMany
    from bridge.models import LoginFailure
    from webapi.auth import LoginLimiter

    engine = shop["engine"]
    one, other = LoginLimiter(3, engine), LoginLimiter(3, engine)  # two replicas, one database
    for _ in range(3):
        one.attempt("198.51.100.7", "Boss")
        one.failed("198.51.100.7", "Boss")
    with pytest.raises(TooMany, match="too many wrong passwords for 'boss' from 198.51.100.7"):
        other.attempt("198.51.100.7", "boss")  # the same guesser, sent to the other replica
    other.attempt("192.0.2.1", "boss")  # the owner, elsewhere: let in
    for n in range(6):  # guesses from many addresses at both replicas: 9 of per_minute × 3 = 9
        (one if n % 2 else other).failed(f"203.0.113.{n}", "boss")
    with pytest.raises(TooMany, match="9 wrong passwords for 'boss' in 15 min"):
        one.attempt("192.0.2.1", "boss")
    other.succeeded("198.51.100.7", "boss")
    with Session(engine) as s:
        kept = s.exec(select(LoginFailure)).all()
    assert len(kept) == 6 and {f.username for f in kept} == {"boss"}
    assert "198.51.100.7" not in {f.address for f in kept}


def test_sec11_a_staff_login_keeps_no_writer_waiting_while_it_checks_the_password(shop, monkeypatch):
    """SEC11, issue #16: the password hash takes its time (argon2); a staff login checks it in a
    read transaction, so another writer (an order being placed) goes on meanwhile instead of
    waiting behind SQLite's write lock."""
    import threading

    import bridge.users
    from bridge.db import session_scope

    real, wrote = bridge.users.verify_password, []

    def write() -> None:
        with session_scope(shop["engine"]) as s:
            s.get(StaffUser, shop["other"].id).display_name = "李娜（华东）"
        wrote.append(True)

    def verify(stored: str, password: str) -> bool:
        writer = threading.Thread(target=write)
        writer.start()
        writer.join(timeout=3)
        verify.writer, verify.wrote_meanwhile = writer, list(wrote)
        return real(stored, password)

    monkeypatch.setattr(bridge.users, "verify_password", verify)
    answer = shop["client"].post(f"{S}/auth/login", json={"username": "boss", "password": PASSWORD})
    verify.writer.join(timeout=10)
    assert answer.status_code == 201
    assert verify.wrote_meanwhile == [True]  # the other writer was done before the check ended


def test_sec11_every_failed_staff_login_is_logged_without_the_password(shop):
    # structlog's own capture: the events the bridge logs, whatever an earlier test left the
    # logging configuration (and the root handler's stream) as.
    from structlog.testing import capture_logs

    c = shop["client"]
    with capture_logs() as events:
        assert c.post(f"{S}/auth/login", json={"username": "boss", "password": "Secret-Guess-77"}).status_code == 401
        assert c.post(f"{S}/auth/login", json={"username": "nobody", "password": "Secret-Guess-78"}).status_code == 401
    failed = [e for e in events if e["event"] == "staff login failed"]
    assert [e["username"] for e in failed] == ["boss", "nobody"]
    assert "Secret-Guess" not in repr(events)


# --------------------------------------------------------------------------- 13


def test_sec13_the_document_states_the_limits_the_server_enforces_and_its_error_bodies(engine, tmp_path):
    client, rt = make_client(engine, tmp_path, JHT_ORDERS__REMARK_MAX_LENGTH="300", JHT_ORDERS__MAX_LINES="20")
    schema = client.get("/schema/openapi.json").json()
    order = schema["components"]["schemas"]["OrderBody"]["properties"]
    assert order["remark"]["maxLength"] == 300 and order["lines"]["maxItems"] == 20
    customers = schema["paths"]["/api/sales/v1/customers"]["post"]["responses"]
    for status in ("400", "401", "404", "409", "422"):
        assert customers[status]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    wrong = client.delete("/api/mp/v1/orders")
    assert wrong.status_code == 405 and "GET" in wrong.headers["allow"] and "POST" in wrong.headers["allow"]
    for path, methods in (
        ("/api/mp/v1/orders", {"GET", "POST"}),
        ("/api/mp/v1/addresses/1", {"PUT", "DELETE"}),
        ("/api/sales/v1/customers/1", {"GET", "PATCH"}),
    ):
        asked = client.options(path)  # every method of the path, not only its first handler's
        assert asked.status_code == 204 and set(asked.headers["allow"].split(", ")) == methods | {"OPTIONS"}, path
    rt.connector.close()


# --------------------------------------------------------------------------- 14


def test_sec14_readyz_is_terse_for_remote_callers_and_metrics_are_not_public(shop):
    c = shop["client"]  # not on this machine, as the test client's address goes
    ready = c.get("/readyz")
    assert ready.json() == {"status": "ready"}
    assert str(shop["rt"].connector.root) not in ready.text
    assert c.get("/metrics").status_code == 403
    via_proxy = c.get("/readyz", headers={"X-Forwarded-For": "127.0.0.1"})
    assert "checks" not in via_proxy.json()


def test_sec14_local_callers_see_details_and_the_token_opens_metrics(engine, tmp_path):
    client, rt = make_client(engine, tmp_path, JHT_API__METRICS="token", JHT_API__METRICS_TOKEN="m" * 32)
    with LiveServer(client.app) as server:
        ready = httpx.get(f"{server.base_url}/readyz").json()
        assert ready["checks"]["database"] == "ok"
        assert httpx.get(f"{server.base_url}/metrics").status_code == 401
        assert httpx.get(f"{server.base_url}/metrics", headers=bearer("wrong")).status_code == 401
        assert "jht_outbox_pending" in httpx.get(f"{server.base_url}/metrics", headers=bearer("m" * 32)).text
    rt.connector.close()


def test_sec14_readyz_does_not_write_into_the_share(shop):
    root = shop["rt"].connector.root
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    for _ in range(3):
        shop["client"].get("/readyz")
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before


def test_sec14_security_headers_and_a_schema_viewer_without_a_cdn(shop):
    c = shop["client"]
    api = c.get(f"{MP}/products")
    for name, value in (
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cache-control", "no-store"),
    ):
        assert api.headers[name] == value
    assert "default-src 'none'" in api.headers["content-security-policy"]
    page = c.get("/schema")
    assert page.status_code == 200 and "/static/redoc/redoc.standalone.js" in page.text
    assert "http://" not in page.text and "https://" not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    script = c.get("/static/redoc/redoc.standalone.js")
    assert script.status_code == 200 and len(script.content) > 500_000


# --------------------------------------------------------------------------- 15


def test_sec15_blank_and_nul_only_inquiries_are_refused(shop):
    c = shop["client"]
    a = login(c, "wx-a")
    for body in ("", "   ", "\n\t ", "\x00", "\x00\x00"):
        answer = c.post(f"{MP}/inquiries", headers=a["headers"], json={"body": body})
        assert answer.status_code == 400, (body, answer.text)
    with Session(shop["engine"]) as s:
        assert s.exec(select(Inquiry)).first() is None


def test_sec15_orders_per_customer_are_rate_limited(engine, tmp_path):
    client, rt = make_client(engine, tmp_path, JHT_ORDERS__PER_CUSTOMER_PER_MINUTE="3")
    with Session(engine) as s:
        s.add(Product(sku="WA-400", name="平形砂轮", price=Decimal("186.00")))
        s.commit()
        product_id = s.exec(select(Product.id)).one()
    a = login(client, "wx-rate")
    address = client.post(
        f"{MP}/addresses", headers=a["headers"], json={"recipient": "陈", "phone": "13900001111", "detail": "x 路 1 号"}
    ).json()["id"]
    body = {"lines": [{"product_id": product_id, "quantity": 1}], "address_id": address}
    keys = [key() for _ in range(4)]
    answers = [client.post(f"{MP}/orders", headers={**a["headers"], **k}, json=body) for k in keys]
    assert [x.status_code for x in answers] == [201, 201, 201, 429]
    assert int(answers[3].headers["Retry-After"]) >= 1 and "下单过于频繁" in answers[3].json()["message"]
    replay = client.post(f"{MP}/orders", headers={**a["headers"], **keys[0]}, json=body)
    assert replay.status_code in (200, 201)  # a retry of a placed order is never limited
    other = login(client, "wx-other-customer")
    address_b = client.post(
        f"{MP}/addresses",
        headers=other["headers"],
        json={"recipient": "王", "phone": "13900005555", "detail": "y 路 2 号"},
    ).json()["id"]
    assert (
        client.post(
            f"{MP}/orders", headers={**other["headers"], **key()}, json={**body, "address_id": address_b}
        ).status_code
        == 201
    )
    with Session(engine) as s:
        assert s.exec(select(sa.func.count()).select_from(Order)).one() == 4
    rt.connector.close()


def test_sec15_a_huge_order_waits_for_the_salesperson_even_for_a_type_1_customer(shop):
    c = shop["client"]
    a = login(c, "wx-a")
    address = _address_of(shop, a["headers"])
    big = c.post(
        f"{MP}/orders",
        headers={**a["headers"], **key()},
        json={"lines": [{"product_id": shop["wheel"].id, "quantity": 6000}], "address_id": address},
    )
    small = c.post(
        f"{MP}/orders",
        headers={**a["headers"], **key()},
        json={"lines": [{"product_id": shop["wheel"].id, "quantity": 2}], "address_id": address},
    )
    assert big.status_code == small.status_code == 201
    with Session(shop["engine"]) as s:
        held = s.exec(select(Order).where(Order.order_no == big.json()["order_no"])).one()
        fine = s.exec(select(Order).where(Order.order_no == small.json()["order_no"])).one()
        assert held.total_amount == Decimal("1116000.00") and held.released is False
        assert fine.released is True  # type 1 as usual
        placed = s.exec(select(OrderEvent).where(OrderEvent.order_id == held.id)).first()
        assert placed.data.get("held_for_review") is True
    mine = staff(c, "zhangwei")["headers"]
    assert c.post(f"{S}/orders/{held.order_no}/release", headers=mine).status_code == 200


def test_sec15_the_review_amount_can_be_switched_off(engine, tmp_path):
    from bridge.config import OrdersSection

    assert OrdersSection(review_above_amount="").review_above_amount is None
    assert OrdersSection().review_above_amount == Decimal("1000000.00")


def test_sec02_metrics_count_quarantined_erp_events(engine, tmp_path):
    """sec02: a quarantined file shows where monitoring looks, not only in `check`."""
    from bridge.models import InboxEvent, InboxStatus

    client, rt = make_client(engine, tmp_path, JHT_API__METRICS="public")
    with Session(engine) as s:
        s.add(
            InboxEvent(
                connector="filedrop",
                event_id="file:bad.json:0",
                kind="invalid",
                payload={},
                status=InboxStatus.QUARANTINED,
                error="bad.json: JSON nested deeper than 32 levels",
            )
        )
        s.commit()
    assert "jht_inbox_quarantined 1.0" in client.get("/metrics").text
    rt.connector.close()
