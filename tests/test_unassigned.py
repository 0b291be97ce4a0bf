"""Issue #12 point 16 (A10, C3, C15): every customer has a salesperson — the default one for those
who log in without an invite code — admins see the customers nobody follows, and their orders, as
a queue and assign them; a type-2 order tells the customer it waits for the payment confirmation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from bridge import accounts
from bridge import db as bridge_db
from bridge.cli import app
from bridge.config import CustomersSection
from bridge.labels import AWAITING_PAYMENT_HINT
from bridge.models import Customer, Product, StaffRole, StaffUser
from bridge.users import hash_password
from tests.api_helpers import key, login, make_client

PASSWORD = "correct-horse-42"
S = "/api/sales/v1"


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password(PASSWORD)


def _api(engine, tmp_path, password_hash, **env):
    client, rt = make_client(engine, tmp_path, **env)
    with Session(engine, expire_on_commit=False) as s:
        staff = {
            "sales": StaffUser(
                username="zhangwei",
                display_name="张伟",
                role=StaffRole.SALES,
                password_hash=password_hash,
                phone="13700000000",
            ),
            "other": StaffUser(username="lina", display_name="李娜", role=StaffRole.SALES, password_hash=password_hash),
            "left": StaffUser(
                username="left", display_name="已离职", role=StaffRole.SALES, password_hash="x", active=False
            ),
            "admin": StaffUser(username="boss", display_name="老板", role=StaffRole.ADMIN, password_hash=password_hash),
        }
        s.add_all(staff.values())
        s.add(Product(sku="WA-400", name="平形砂轮 400×50×127", price=Decimal("186.00")))
        s.commit()
    return client, rt, staff


def _staff(client, username: str) -> dict:
    answer = client.post(f"{S}/auth/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _place(client, me: dict) -> dict:
    address = client.post(
        "/api/mp/v1/addresses",
        headers=me["headers"],
        json={"recipient": "李工", "phone": "13800000000", "detail": "狮山镇科技路 18 号", "is_default": True},
    ).json()["id"]
    products = client.get("/api/mp/v1/products", headers=me["headers"]).json()["items"]
    placed = client.post(
        "/api/mp/v1/orders",
        headers=me["headers"] | key(),
        json={"lines": [{"product_id": products[0]["id"], "quantity": 2}], "address_id": address},
    )
    assert placed.status_code == 201, placed.text
    return placed.json()


# --------------------------------------------------------------------------- (a) the default salesperson


def test_p12_16a_a_login_without_invite_goes_to_the_default_salesperson_end_to_end(engine, tmp_path, password_hash):
    client, rt, _ = _api(engine, tmp_path, password_hash, JHT_CUSTOMERS__DEFAULT_SALESPERSON="zhangwei")
    with client:
        me = login(client, "wx-no-invite")
        assert client.get("/api/mp/v1/salesperson", headers=me["headers"]).json() == {
            "name": "张伟",
            "phone": "13700000000",
            "wechat": None,
        }
        order = _place(client, me)
        mine = client.get(f"{S}/orders?awaiting_payment=true", headers=_staff(client, "zhangwei")).json()
        assert [o["order_no"] for o in mine["items"]] == [order["order_no"]]
    rt.connector.close()


def test_p12_16a_an_unusable_default_salesperson_never_refuses_a_login(session, make):
    """A default salesperson who left (or was never added) leaves the customer unassigned — in
    the admins' queue — instead of refusing every first login."""
    make.staff(username="left", active=False)
    for default in ("left", "nobody"):
        login = accounts.wechat_login(
            session, f"openid-{default}", None, invite=None, settings=CustomersSection(default_salesperson=default)
        )
        assert login.created and login.customer.salesperson_id is None


def test_p12_16a_init_documents_the_default_salesperson_and_check_reports_it(tmp_path):
    runner = CliRunner()
    assert runner.invoke(app, ["init", str(tmp_path)]).exit_code == 0
    config_file = tmp_path / "bridge.toml"
    assert "# default_salesperson = " in config_file.read_text(encoding="utf-8")
    config = ["--config", str(config_file)]
    engine = bridge_db.make_engine(f"sqlite:///{tmp_path / 'bridge.db'}")
    with bridge_db.session_scope(engine) as s:
        s.add(Customer(name="微信用户abc123"))
    engine.dispose()

    unset = runner.invoke(app, [*config, "check"])
    assert "[WARN] salespeople: customers.default_salesperson is not set" in unset.output
    assert "1 customer(s) without a salesperson" in unset.output

    wrong = runner.invoke(app, [*config, "check"], env={"JHT_CUSTOMERS__DEFAULT_SALESPERSON": "nobody"})
    assert wrong.exit_code == 1
    assert "[FAIL] salespeople: customers.default_salesperson: no staff user 'nobody'" in wrong.output


# --------------------------------------------------------------------------- (b) the admins' queue, (c) assigning


@pytest.fixture
def queue(engine, tmp_path, password_hash):
    """Three customers: one of zhangwei's (invited), one who came without an invite, one whose
    salesperson left; each with a type-2 order."""
    client, rt, staff = _api(engine, tmp_path, password_hash)
    with Session(engine) as s:
        s.get(StaffUser, staff["sales"].id).invite_code = "INV-ZW"
        s.commit()
    with client:
        invited, stranger, orphan = login(client, "wx-1", invite="INV-ZW"), login(client, "wx-2"), login(client, "wx-3")
        with Session(engine) as s:
            s.get(Customer, orphan["customer"]["id"]).salesperson_id = staff["left"].id
            s.commit()
        orders = {
            name: _place(client, who)["order_no"]
            for name, who in zip(("invited", "stranger", "orphan"), (invited, stranger, orphan))
        }
        ids = {
            "invited": invited["customer"]["id"],
            "stranger": stranger["customer"]["id"],
            "orphan": orphan["customer"]["id"],
        }
        yield {"client": client, "ids": ids, "orders": orders, "staff": staff, "stranger": stranger}
    rt.connector.close()


def test_p12_16b_admins_see_the_unassigned_customers_and_their_orders_as_a_queue(queue):
    client, ids, orders = queue["client"], queue["ids"], queue["orders"]
    boss, zhangwei = _staff(client, "boss"), _staff(client, "zhangwei")

    customers = client.get(f"{S}/customers?unassigned=true", headers=boss).json()
    assert sorted(c["id"] for c in customers["items"]) == sorted([ids["stranger"], ids["orphan"]])
    waiting = client.get(f"{S}/orders?unassigned=true&awaiting_payment=true", headers=boss).json()
    assert sorted(o["order_no"] for o in waiting["items"]) == sorted([orders["stranger"], orders["orphan"]])
    everything = client.get(f"{S}/customers", headers=boss).json()
    assert everything["total"] == 3  # without the filter: every customer, as before

    assert client.get(f"{S}/customers?unassigned=true", headers=zhangwei).status_code == 403
    assert client.get(f"{S}/orders?unassigned=true", headers=zhangwei).status_code == 403
    mine = client.get(f"{S}/orders", headers=zhangwei).json()
    assert [o["order_no"] for o in mine["items"]] == [orders["invited"]]  # why the queue is needed


def test_p12_16c_an_admin_assigns_by_the_sales_api_and_the_order_reaches_that_salesperson(queue):
    client, ids, orders, staff = queue["client"], queue["ids"], queue["orders"], queue["staff"]
    boss, lina = _staff(client, "boss"), _staff(client, "lina")
    assert client.get(f"{S}/orders/{orders['stranger']}", headers=lina).status_code == 404

    answer = client.patch(f"{S}/customers/{ids['stranger']}", headers=boss, json={"salesperson_id": staff["other"].id})

    assert answer.status_code == 200, answer.text
    assert answer.json()["salesperson"] == "李娜"
    assert client.get(f"{S}/orders/{orders['stranger']}", headers=lina).json()["can_release"] is True
    left = client.get(f"{S}/customers?unassigned=true", headers=boss).json()
    assert [c["id"] for c in left["items"]] == [ids["orphan"]]
    contact = client.get("/api/mp/v1/salesperson", headers=queue["stranger"]["headers"]).json()
    assert contact["name"] == "李娜"


def test_p12_16c_cli_lists_the_queue_and_assigns_a_salesperson(tmp_path):
    runner = CliRunner()
    assert runner.invoke(app, ["init", str(tmp_path)]).exit_code == 0
    config = ["--config", str(tmp_path / "bridge.toml")]
    engine = bridge_db.make_engine(f"sqlite:///{tmp_path / 'bridge.db'}")
    with bridge_db.session_scope(engine) as s:
        sales = StaffUser(username="zhangwei", display_name="张伟", role=StaffRole.SALES, password_hash="x")
        s.add(sales)
        s.flush()
        waiting = Customer(name="微信用户abc123")
        s.add_all([Customer(name="有业务员", salesperson_id=sales.id), waiting])
        s.flush()
        waiting_id = waiting.id

    listed = runner.invoke(app, [*config, "customers", "list", "--unassigned"])
    assert listed.exit_code == 0, listed.output
    assert "微信用户abc123" in listed.output and "有业务员" not in listed.output

    assigned = runner.invoke(app, [*config, "customers", "assign", str(waiting_id), "zhangwei"])
    assert assigned.exit_code == 0, assigned.output
    assert f"customer {waiting_id} (微信用户abc123): salesperson is now zhangwei" in assigned.output
    assert "0 customer(s)" in runner.invoke(app, [*config, "customers", "list", "--unassigned"]).output
    unknown = runner.invoke(app, [*config, "customers", "assign", str(waiting_id), "nobody"])
    assert unknown.exit_code == 1 and "nobody" in unknown.output
    with Session(engine) as s:
        assert s.get(Customer, waiting_id).salesperson_id == sales.id
    engine.dispose()


# --------------------------------------------------------------------------- (d) the customer is told


def test_p12_16d_a_type2_order_tells_the_customer_it_waits_for_payment_until_released(queue):
    client, orders = queue["client"], queue["orders"]
    me = queue["stranger"]["headers"]
    no = orders["stranger"]
    assert AWAITING_PAYMENT_HINT == "等待业务员确认收款"

    detail = client.get(f"/api/mp/v1/orders/{no}", headers=me).json()
    assert detail["status_hint"] == "等待业务员确认收款" and detail["released"] is False
    listed = client.get("/api/mp/v1/orders", headers=me).json()["items"]
    assert [o["status_hint"] for o in listed] == ["等待业务员确认收款"]

    released = client.post(f"{S}/orders/{no}/release", headers=_staff(client, "boss"))
    assert released.status_code == 200, released.text
    assert released.json()["status_hint"] is None
    assert client.get(f"/api/mp/v1/orders/{no}", headers=me).json()["status_hint"] is None
