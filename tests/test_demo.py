"""Demo data (A3, A4, A9, C3) and the catalog / demo commands of the CLI, on both databases."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlmodel import select
from typer.testing import CliRunner

from bridge.actors import CLI_ADMIN
from bridge.cli import app
from bridge.demo import STANDARD_WHEELS, load_demo_data
from bridge.errors import Conflict
from bridge.models import (
    Address,
    AuditLog,
    Customer,
    CustomerPrice,
    Product,
    ProductGrant,
    ProductHide,
    ProductKind,
    ProductQR,
    StaffRole,
    StaffUser,
)
from bridge.users import verify_password
from tests.conftest import count


@pytest.fixture(autouse=True)
def quick_password_hashes(monkeypatch):
    """The demo hashes two passwords per load; argon2's production cost (64 MiB, ~0.4 s here)
    would make these tests slow without testing anything more. Hashes still verify, since
    argon2 stores its parameters in the hash."""
    import bridge.users
    from argon2 import PasswordHasher

    monkeypatch.setattr(bridge.users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


# --------------------------------------------------------------------------- load_demo_data


def test_a3_demo_data_has_both_kinds_two_customers_of_each_type_and_a_salesperson(session):
    summary = load_demo_data(session, CLI_ADMIN)
    session.commit()

    customers = session.exec(select(Customer)).all()
    assert sorted(c.type for c in customers) == [1, 1, 2, 2]
    sales = session.exec(select(StaffUser).where(StaffUser.role == StaffRole.SALES)).all()
    assert [(s.username, s.display_name) for s in sales] == [("sales", "张伟")]
    assert sales[0].phone and sales[0].wechat_id  # C3: what "contact my salesperson" shows
    assert all(c.salesperson_id == sales[0].id and c.contact_name and c.phone for c in customers)
    assert count(session, Product, Product.kind == ProductKind.STANDARD) >= 18
    assert count(session, Product, Product.kind == ProductKind.CUSTOM) == 3
    assert count(session, Address) == 4
    assert summary.created["customers"] == 4 and not summary.existing


def test_a3_each_custom_demo_product_is_granted_to_one_customer_and_one_wheel_is_hidden(session):
    load_demo_data(session, CLI_ADMIN)
    session.commit()

    for product in session.exec(select(Product).where(Product.kind == ProductKind.CUSTOM)):
        grants = session.exec(select(ProductGrant).where(ProductGrant.product_id == product.id)).all()
        assert len(grants) == 1 and grants[0].customer_id is not None
    hide = session.exec(select(ProductHide)).one()
    assert session.get(Product, hide.product_id).kind == ProductKind.STANDARD


def test_a9_demo_has_prices_agreed_with_one_customer(session):
    load_demo_data(session, CLI_ADMIN)
    prices = session.exec(select(CustomerPrice)).all()
    assert len({p.customer_id for p in prices}) == 1
    for price in prices:
        assert price.price < session.get(Product, price.product_id).price


def test_a4_every_standard_demo_wheel_has_a_spec_marking_and_a_qr_code(session):
    load_demo_data(session, CLI_ADMIN)
    standard = session.exec(select(Product).where(Product.kind == ProductKind.STANDARD)).all()
    payloads = {qr.product_id: qr.payload for qr in session.exec(select(ProductQR))}
    assert set(payloads) == {p.id for p in standard}
    assert any(v.startswith("JHT:QR:1:") for v in payloads.values())
    assert any(v.startswith("https://jht.example/q?c=") for v in payloads.values())
    marking = re.compile(r"\d+-[\d.]+×[\d.]+×[\d.]+-(A|WA|PA|GC|C)\d+[H-N]\d?(V|B|BF)-\d+m/s")
    for p in standard:
        assert marking.fullmatch(p.marking), p.marking
        assert p.outer_diameter_mm > 0 and p.thickness_mm > 0 and p.bore_mm > 0 and p.price > 0
        assert p.max_speed_ms in (Decimal("35.0"), Decimal("50.0"), Decimal("80.0"))
    assert {w.shape for w in STANDARD_WHEELS} >= {1, 4, 6, 11, 12, 27, 41}


def test_demo_data_twice_adds_nothing_and_says_everything_was_there(session):
    first = load_demo_data(session, CLI_ADMIN)
    session.commit()
    tables = (StaffUser, Customer, Address, Product, ProductGrant, ProductHide, CustomerPrice, ProductQR)
    before = {t.__name__: count(session, t) for t in tables}

    second = load_demo_data(session, CLI_ADMIN)
    session.commit()

    assert {t.__name__: count(session, t) for t in tables} == before
    assert not second.created
    assert second.existing == first.created
    assert count(session, AuditLog, AuditLog.action == "demo.load") == 2


def test_demo_logins_work_and_an_existing_admin_keeps_its_password(session, make):
    make.staff(StaffRole.ADMIN, username="admin", password_hash="not-the-demo-one")
    summary = load_demo_data(session, CLI_ADMIN)
    logins = {login.username: login for login in summary.logins}

    sales = session.exec(select(StaffUser).where(StaffUser.username == "sales")).one()
    assert verify_password(sales.password_hash, "demo-sales-123")
    assert logins["sales"].password == "demo-sales-123"
    assert logins["admin"].password is None  # not announced: it would not work


def test_demo_data_refuses_a_database_with_real_customers_unless_forced(session, make):
    make.customer(name="真实客户有限公司")
    with pytest.raises(Conflict):
        load_demo_data(session, CLI_ADMIN)
    summary = load_demo_data(session, CLI_ADMIN, force=True)
    assert summary.created["customers"] == 4


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def cli(tmp_path, engine, monkeypatch):
    """Run ``jht-bridge`` in a folder made by ``init``, against this test's database."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JHT_DATABASE__URL", engine.url.render_as_string(hide_password=False))
    runner = CliRunner()
    folder = tmp_path / "var"
    result = runner.invoke(app, ["init", str(folder)])
    assert result.exit_code == 0, result.output
    config = str(folder / "bridge.toml")

    def invoke(*args: str):
        return runner.invoke(app, ["--config", config, *args])

    return invoke


def test_demo_data_command_loads_the_demo_and_check_passes(cli):
    result = cli("demo-data")
    assert result.exit_code == 0, result.output
    assert "sales / demo-sales-123" in result.stdout and "admin / demo-admin-123" in result.stdout
    assert re.search(r"customers\s*│\s*4\s*│\s*0", result.stdout)

    again = cli("demo-data")
    assert again.exit_code == 0 and re.search(r"customers\s*│\s*0\s*│\s*4", again.stdout)

    check = cli("check")
    assert check.exit_code == 0, check.output
    assert "25 products, 4 customers" in check.stdout


@pytest.mark.parametrize("name", ["catalog.xlsx", "catalog.csv"])
def test_a3_products_export_then_import_reports_all_unchanged(cli, tmp_path, name):
    assert cli("demo-data").exit_code == 0
    exported = cli("products", "export", name)
    assert exported.exit_code == 0, exported.output
    assert "exported 25 product(s)" in exported.stdout

    imported = cli("products", "import", name)
    assert imported.exit_code == 0, imported.output
    assert f"{name}: 25 row(s): 0 created, 0 updated, 25 unchanged" in imported.stdout


def test_s2_products_import_of_a_bad_file_exits_1_naming_the_row_and_imports_nothing(cli, tmp_path, session):
    assert cli("demo-data").exit_code == 0
    assert cli("products", "export", "catalog.xlsx").exit_code == 0
    wb = load_workbook(tmp_path / "catalog.xlsx")
    ws = wb.worksheets[0]
    ws.append(["NEW-1", "新砂轮", "标准品", None, "片", "9.99"])
    ws.cell(5, 6).value = "免费"  # 单价 of the 4th product
    wb.save(tmp_path / "catalog.xlsx")

    result = cli("products", "import", "catalog.xlsx")

    assert result.exit_code == 1
    assert "row 5, 单价: '免费'" in result.stdout
    assert "nothing imported" in result.stderr
    assert count(session, Product, Product.sku == "NEW-1") == 0


def test_a3_products_import_dry_run_and_an_unreadable_file(cli, tmp_path, session):
    (tmp_path / "new.csv").write_text("编码,名称,单价\nNEW-1,新砂轮,9.9\n", encoding="utf-8")
    dry = cli("products", "import", "new.csv", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would be 1 created" in dry.stdout and "nothing written" in dry.stdout

    (tmp_path / "broken.xlsx").write_bytes(b"not a workbook")
    broken = cli("products", "import", "broken.xlsx")
    assert broken.exit_code == 1
    assert "not a valid XLSX file" in broken.stderr and "Traceback" not in broken.output

    wrong = cli("products", "import", "new.csv", "--encoding", "latin9")
    assert wrong.exit_code == 2 and "--encoding" in wrong.output
    assert count(session, Product) == 0


@pytest.mark.parametrize(
    ("command", "words"),
    [
        (["products", "export"], ["--format", "UTF-8", "编码"]),
        (["products", "import"], ["--format", "--encoding", "gb18030", "--dry-run", "nothing is imported"]),
        (["demo-data"], ["--force", "张伟", "Safe to run again"]),
    ],
)
def test_catalog_and_demo_commands_have_complete_help(command, words):
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    for word in words:
        assert word in result.stdout


def test_e4_demo_customers_are_queued_for_the_erp_customer_master(session):
    from bridge.models import OutboxMessage

    load_demo_data(session, CLI_ADMIN)
    upserts = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "customer.upsert")).all()
    assert sorted(m.payload["name"] for m in upserts) == sorted(c.name for c in session.exec(select(Customer)))
    assert len(upserts) == 4
