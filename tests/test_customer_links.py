"""Issue #12 point 9 (A11): a shop customer is linked to the customer the ERP already has — one by
one (the service, `customers set-erp-code`, the sales API for admins) or by importing the ERP's
customer list — and a code belongs to one customer."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from bridge import db as bridge_db
from bridge.actors import CLI_ADMIN, Actor
from bridge.cli import app
from bridge.config import CustomersSection, OrdersSection
from bridge.customer_import import import_erp_customers
from bridge.customers import set_erp_code
from bridge.errors import Conflict, Forbidden, InvalidInput
from bridge.models import (
    Account,
    Address,
    AuditLog,
    Customer,
    ErpBinding,
    OutboxMessage,
    OutboxStatus,
    Product,
    StaffRole,
    StaffUser,
)
from bridge.orders import LineRequest, OrderRequest, place_order
from bridge.outbox import customer_key
from bridge.users import hash_password
from tests.api_helpers import make_client
from tests.conftest import count

CONNECTOR = "filedrop"


def _pending(session, customer_id: int, kind: str) -> list[OutboxMessage]:
    return list(
        session.exec(
            select(OutboxMessage)
            .where(
                OutboxMessage.ordering_key == customer_key(customer_id),
                OutboxMessage.kind == kind,
                OutboxMessage.status == OutboxStatus.PENDING,
            )
            .order_by(OutboxMessage.id)
        ).all()
    )


def _order(session, customer: Customer) -> str:
    product = Product(sku=f"WA-{uuid.uuid4().hex[:6]}", name="平形砂轮", price=Decimal("10.00"))
    address = Address(customer_id=customer.id, recipient="李工", phone="13800000000", detail="工业大道 1 号")
    session.add_all([product, address])
    session.flush()
    placed = place_order(
        session,
        Actor.customer(customer.id),
        customer.id,
        OrderRequest(
            lines=[LineRequest(product_id=product.id, quantity=1)],
            idempotency_key=uuid.uuid4().hex,
            address_id=address.id,
        ),
        limits=OrdersSection(),
    )
    return placed.order.order_no


# --------------------------------------------------------------------------- the service


def test_p12_09_an_admin_links_a_customer_and_its_waiting_messages_carry_the_code(session, make):
    """A11: the code goes where the ERP's own answers go (Customer.erp_code and the binding), is
    audited, and the ERP hears it before anything of the customer still waiting."""
    customer = make.customer(name="锦亨泰五金")
    from bridge.customers import _upsert

    _upsert(session, customer)  # the first-login upsert, not delivered yet (the ERP is down)
    order_no = _order(session, customer)

    change = set_erp_code(session, CLI_ADMIN, customer.id, " C0012 ", connector=CONNECTOR)

    assert (change.customer_id, change.previous, change.code, change.changed) == (customer.id, None, "C0012", True)
    assert session.get(Customer, customer.id).erp_code == "C0012"
    binding = session.exec(select(ErpBinding).where(ErpBinding.internal_id == customer.id)).one()
    assert (binding.connector, binding.external_id) == (CONNECTOR, "C0012")
    upserts = _pending(session, customer.id, "customer.upsert")
    assert [u.payload["erp_code"] for u in upserts] == ["C0012", "C0012"]  # the waiting one rebuilt, a fresh one
    (order_msg,) = _pending(session, customer.id, "order.create")
    assert order_msg.payload["order_no"] == order_no
    assert order_msg.payload["customer"]["erp_code"] == "C0012"
    assert upserts[0].id < order_msg.id  # still the customer before its order
    row = session.exec(select(AuditLog).where(AuditLog.action == "customer.erp_code")).one()
    assert row.detail == {"old": None, "new": "C0012"}

    again = set_erp_code(session, CLI_ADMIN, customer.id, "C0012", connector=CONNECTOR)
    assert not again.changed and len(_pending(session, customer.id, "customer.upsert")) == 2


def test_p12_09_a_code_another_customer_holds_is_refused_naming_that_customer(session, make):
    holder = make.customer(name="锦亨泰五金", erp_code="C0012")
    other = make.customer(name="锦亨泰五金（王）")

    with pytest.raises(Conflict) as refused:
        set_erp_code(session, CLI_ADMIN, other.id, "C0012", connector=CONNECTOR)

    assert f"客户 {holder.id}（锦亨泰五金）" in refused.value.message
    assert f"customer {holder.id} (锦亨泰五金)" in refused.value.detail
    assert refused.value.data["customer_id"] == holder.id
    assert session.get(Customer, other.id).erp_code is None
    assert count(session, ErpBinding) == 0 and count(session, AuditLog) == 0


def test_p12_09_only_an_admin_links_and_a_blank_code_is_refused(session, make):
    sales = make.staff()
    customer = make.customer(salesperson_id=sales.id)
    with pytest.raises(Forbidden):
        set_erp_code(session, Actor.sales(sales.id), customer.id, "C0012", connector=CONNECTOR)
    with pytest.raises(InvalidInput):
        set_erp_code(session, CLI_ADMIN, customer.id, "  ", connector=CONNECTOR)
    assert session.get(Customer, customer.id).erp_code is None


# --------------------------------------------------------------------------- the import


def _settings(**kw) -> CustomersSection:
    return CustomersSection(**kw)


def _csv(tmp_path, text: str, encoding: str = "gb18030"):
    path = tmp_path / "erp-customers.csv"
    path.write_bytes(text.replace("\n", "\r\n").encode(encoding))
    return path


def test_p12_09_import_leaves_links_and_creates_per_row(session, make, tmp_path):
    """A11: the ERP's list as Chinese Excel saves it (GB18030, CRLF): a code already held is left
    alone, a phone of a shop customer links it, any other row is a new customer."""
    sales = make.staff(username="fallback")
    held = make.customer(name="老客户", erp_code="C0001")
    by_phone = make.customer(name="微信用户a1b2c3", phone="13800138000")
    path = _csv(
        tmp_path,
        "ERP客户编码,客户名称,电话\nC0001,老客户（ERP）,\nC0002,佛山砂轮厂,138 0013 8000\n\nC0003,南海五金,13900000003\n",
    )

    report = import_erp_customers(
        session,
        CLI_ADMIN,
        path,
        connector=CONNECTOR,
        settings=_settings(default_type=1, default_salesperson="fallback"),
    )

    assert report.ok, report.errors
    assert report.encoding == "gb18030" and report.skipped_empty == 1
    outcomes = {o.erp_code: (o.row, o.action, o.customer_id) for o in report.outcomes}
    assert outcomes["C0001"] == (2, "unchanged", held.id)
    assert outcomes["C0002"] == (3, "linked", by_phone.id)
    row, action, new_id = outcomes["C0003"]
    assert (row, action) == (5, "created")
    assert session.get(Customer, held.id).name == "老客户"  # the shop keeps its own data
    assert session.get(Customer, by_phone.id).erp_code == "C0002"
    new = session.get(Customer, new_id)
    assert (new.name, new.phone, new.erp_code, new.type, new.salesperson_id) == (
        "南海五金",
        "13900000003",
        "C0003",
        1,
        sales.id,
    )
    # The new customer's first word to the ERP already carries the code: no duplicate there.
    assert [m.payload["erp_code"] for m in _pending(session, new_id, "customer.upsert")] == ["C0003"]
    assert report.summary() == "erp-customers.csv: 3 row(s): 1 created, 1 linked, 1 unchanged"
    assert count(session, AuditLog, AuditLog.action == "customers.import") == 1


def test_p12_09_import_with_bad_rows_writes_nothing_and_names_each(session, make, tmp_path):
    linked = make.customer(name="已关联客户", phone="13800000001", erp_code="C9000")
    path = _csv(
        tmp_path,
        "客户编码,名称,手机\nC0001,甲,\nC0001,乙,\nC0002,,13900000002\nC0003,丙,13800000001\nC0004,丁,电话\n",
        encoding="utf-8",
    )
    before = count(session, Customer)

    report = import_erp_customers(session, CLI_ADMIN, path, connector=CONNECTOR, settings=_settings())

    assert not report.ok and report.outcomes == []
    by_row = {e.row: e for e in report.errors}
    assert sorted(by_row) == [3, 4, 6]  # row 5 is decided only once the cells are good: see below
    assert by_row[3].column == "客户编码" and "第 2 行" in by_row[3].reason_zh
    assert by_row[4].column == "名称"
    assert by_row[6].column == "手机"
    assert count(session, Customer) == before and count(session, OutboxMessage) == 0

    path = _csv(tmp_path, "ERP客户编码,客户名称,电话\nC0005,戊,\nC0003,丙,13800000001\n", encoding="utf-8")
    report = import_erp_customers(session, CLI_ADMIN, path, connector=CONNECTOR, settings=_settings())
    assert [e.row for e in report.errors] == [3]
    assert f"客户 {linked.id}（已关联客户）" in report.errors[0].reason_zh and "C9000" in report.errors[0].reason_zh
    assert count(session, Customer) == before  # the good row 2 was not written either


def test_p12_09_import_dry_run_says_what_each_row_would_do_and_writes_nothing(session, make, tmp_path):
    make.customer(name="微信用户", phone="13800138000")
    path = _csv(tmp_path, "ERP客户编码,客户名称,电话\nC0002,佛山砂轮厂,13800138000\nC0003,南海五金,\n")
    before = count(session, Customer)

    report = import_erp_customers(session, CLI_ADMIN, path, connector=CONNECTOR, settings=_settings(), dry_run=True)

    assert [(o.action, o.customer_id is None) for o in report.outcomes] == [("linked", False), ("created", True)]
    assert "dry run" in report.summary()
    assert count(session, Customer) == before and count(session, ErpBinding) == 0


def test_p12_09_only_an_admin_imports(session, make, tmp_path):
    sales = make.staff()
    path = _csv(tmp_path, "ERP客户编码,客户名称\nC1,甲\n")
    with pytest.raises(Forbidden):
        import_erp_customers(session, Actor.sales(sales.id), path, connector=CONNECTOR, settings=_settings())


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def cli_setup(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 0, result.output
    engine = bridge_db.make_engine(f"sqlite:///{tmp_path / 'bridge.db'}")
    yield runner, ["--config", str(tmp_path / "bridge.toml")], engine, tmp_path
    engine.dispose()


def test_p12_09_cli_set_erp_code_links_and_a_taken_code_exits_1_naming_the_holder(cli_setup):
    runner, config, engine, _ = cli_setup
    with bridge_db.session_scope(engine) as s:
        holder, other = Customer(name="锦亨泰五金", erp_code="C0012"), Customer(name="南海五金")
        s.add_all([holder, other])
        s.flush()
        holder_id, other_id = holder.id, other.id

    taken = runner.invoke(app, [*config, "customers", "set-erp-code", str(other_id), "C0012"])
    assert taken.exit_code == 1 and f"customer {holder_id} (锦亨泰五金)" in taken.output

    done = runner.invoke(app, [*config, "customers", "set-erp-code", str(other_id), "C0020"])
    assert done.exit_code == 0, done.output
    assert f"customer {other_id}: ERP code (none) → C0020" in done.output
    with Session(engine) as s:
        assert s.get(Customer, other_id).erp_code == "C0020"


def test_p12_09_cli_import_of_an_xlsx_reports_each_row(cli_setup):
    from openpyxl import Workbook

    runner, config, engine, folder = cli_setup
    with bridge_db.session_scope(engine) as s:
        s.add(Customer(name="微信用户", phone="13800138000"))
    wb = Workbook()
    ws = wb.active
    ws.append(["ERP客户编码", "客户名称", "电话"])
    ws.append(["C0002", "佛山砂轮厂", 13800138000])  # Excel keeps a phone as a number
    ws.append(["C0003", "南海五金", None])
    path = folder / "customers.xlsx"
    wb.save(path)

    result = runner.invoke(app, [*config, "customers", "import", str(path)])

    assert result.exit_code == 0, result.output
    assert "row 2: C0002 佛山砂轮厂: linked to customer" in result.output
    assert "row 3: C0003 南海五金: new customer" in result.output
    assert "1 created, 1 linked, 0 unchanged" in result.output
    bad = folder / "bad.csv"
    bad.write_text("ERP客户编码,客户名称\nC0009,\n", encoding="utf-8")
    refused = runner.invoke(app, [*config, "customers", "import", str(bad)])
    assert refused.exit_code == 1 and "row 2" in refused.output and "nothing imported" in refused.output


# --------------------------------------------------------------------------- sales API


@pytest.fixture
def api(engine, tmp_path):
    client, rt = make_client(engine, tmp_path)
    password = "correct-horse-42"
    hashed = hash_password(password)
    with Session(engine, expire_on_commit=False) as s:
        sales = StaffUser(username="zhangwei", display_name="张伟", role=StaffRole.SALES, password_hash=hashed)
        boss = StaffUser(username="boss", display_name="Boss", role=StaffRole.ADMIN, password_hash=hashed)
        s.add_all([sales, boss])
        s.flush()
        holder = Customer(name="锦亨泰五金", erp_code="C0012", salesperson_id=sales.id)
        mine = Customer(name="南海五金", salesperson_id=sales.id)
        s.add_all([holder, mine])
        s.flush()
        s.add(Account(customer_id=mine.id, openid="wx-mine"))
        s.commit()
    with client:
        heads = {}
        for who in ("zhangwei", "boss"):
            answer = client.post("/api/sales/v1/auth/login", json={"username": who, "password": password})
            heads[who] = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        yield client, heads, holder, mine
    rt.connector.close()


def test_p12_09_sales_api_lets_an_admin_set_the_erp_code(api):
    client, heads, holder, mine = api
    url = f"/api/sales/v1/customers/{mine.id}/erp-code"

    refused = client.put(url, headers=heads["zhangwei"], json={"erp_code": "C0020"})
    assert refused.status_code == 403, refused.text  # their own customer, but admins link
    taken = client.put(url, headers=heads["boss"], json={"erp_code": "C0012"})
    assert taken.status_code == 409 and taken.json()["customer_id"] == holder.id
    assert "锦亨泰五金" in taken.json()["message"]

    done = client.put(url, headers=heads["boss"], json={"erp_code": "C0020"})
    assert done.status_code == 200, done.text
    assert done.json() == {"customer_id": mine.id, "erp_code": "C0020", "previous_erp_code": None, "changed": True}
    detail = client.get(f"/api/sales/v1/customers/{mine.id}", headers=heads["boss"]).json()
    assert detail["erp_code"] == "C0020"
