"""Storage: migrations from empty on both databases, models and migrations agree, exact money."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import make_url

from bridge import db as bridge_db
from bridge.models import Product, metadata


@pytest.fixture
def empty_engine(backend, tmp_path, request):
    """A brand-new empty database of each kind."""
    if backend == "sqlite":
        eng = bridge_db.make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield eng
        eng.dispose()
        return
    from tests.conftest import require_postgresql

    base = make_url(require_postgresql())
    name = f"jht_mig_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    eng = bridge_db.make_engine(base.set(database=name).render_as_string(hide_password=False))
    try:
        yield eng
    finally:
        eng.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def test_migrations_create_the_whole_schema_from_empty(empty_engine):
    assert bridge_db.current_revision(empty_engine) is None
    bridge_db.upgrade(empty_engine)
    assert bridge_db.current_revision(empty_engine) == bridge_db.head_revision()
    tables = set(sa.inspect(empty_engine).get_table_names())
    assert {t.name for t in metadata.sorted_tables} <= tables


def test_migrations_match_the_models(empty_engine):
    """A model change without a migration would fail here."""
    bridge_db.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), metadata)
    assert diff == []


def test_upgrade_twice_is_harmless_and_downgrade_empties(empty_engine):
    bridge_db.upgrade(empty_engine)
    bridge_db.upgrade(empty_engine)
    from alembic import command

    command.downgrade(bridge_db.alembic_config(empty_engine), "base")
    left = set(sa.inspect(empty_engine).get_table_names()) - {"alembic_version"}
    assert left == set()


def test_money_and_times_are_exact_on_both_databases(session, make):
    product = make.product(price=Decimal("123456789012.34"), max_speed_ms=Decimal("35.0"))
    session.commit()
    session.expunge_all()
    again = session.get(Product, product.id)
    assert again.price == Decimal("123456789012.34")
    assert again.max_speed_ms == Decimal("35.0")
    assert again.created_at.tzinfo is not None
    assert abs((datetime.now(UTC) - again.created_at).total_seconds()) < 60


def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(tmp_path):
    eng = bridge_db.make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with eng.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    eng.dispose()


def test_postgresql_pool_pings_only_idle_connections_and_replaces_dropped_ones(pg_url, monkeypatch):
    """A pooled connection given back a moment ago is handed out again without a ping (a round
    trip per checkout cost three per order, issue #16); one idle past ``PING_IDLE_S`` is pinged,
    and when the server dropped it meanwhile (a restart, a cut network) the pool hands out a new
    one instead of an error."""
    import time

    monkeypatch.setattr(bridge_db, "PING_IDLE_S", 0.3)
    eng = bridge_db.make_engine(pg_url)
    pings = []
    real_ping = eng.dialect.do_ping
    monkeypatch.setattr(eng.dialect, "do_ping", lambda conn: pings.append(conn) or real_ping(conn))
    try:
        with eng.connect() as conn:
            first_pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        for _ in range(5):  # in use just now: no ping
            with eng.connect() as conn:
                assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() == first_pid
        assert pings == []

        time.sleep(0.4)
        with eng.connect() as conn:  # idle: pinged once, and alive
            assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() == first_pid
        assert len(pings) == 1

        with sa.create_engine(make_url(pg_url), isolation_level="AUTOCOMMIT").connect() as admin:
            admin.exec_driver_sql(f"SELECT pg_terminate_backend({first_pid})")
        time.sleep(0.4)
        with eng.connect() as conn:  # dropped while idle: replaced, not an error
            assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() != first_pid
    finally:
        eng.dispose()


def _indexes(engine) -> dict[str, set[str]]:
    inspector = sa.inspect(engine)
    return {t: {i["name"] for i in inspector.get_indexes(t)} for t in inspector.get_table_names()}


def test_sec01_sec03_upgrade_from_0001_keeps_every_row_never_reuses_ids_and_leaves_one_customer_per_phone(empty_engine):
    """#10 points 1 and 3 on a database made by 0001 and holding data: migration 0002 keeps every
    row and index, rebuilds SQLite's tables with AUTOINCREMENT (foreign keys still hold), and where
    two active customers held one phone (in any spelling) the oldest keeps it, the other's is
    cleared with an audit row naming the holder; an alias keeps its own."""
    engine = empty_engine
    bridge_db.upgrade(engine, "0001")
    before = _indexes(engine)
    at = "2026-11-01T08:00:00+00:00"
    with engine.begin() as conn:

        def insert(table: str, **values) -> int:
            names = ", ".join(values)
            marks = ", ".join(f":{k}" for k in values)
            return conn.execute(
                sa.text(f"INSERT INTO {table} ({names}) VALUES ({marks}) RETURNING id"), values
            ).scalar_one()

        def customer(name: str, phone: str | None, merged_into_id: int | None = None) -> int:
            return insert(
                "customer", name=name, type=2, phone=phone, merged_into_id=merged_into_id, created_at=at, updated_at=at
            )

        sales = insert(
            "staff_user",
            username="zhangwei",
            display_name="张伟",
            role="sales",
            password_hash="x",
            active=True,
            created_at=at,
        )
        oldest = customer("老客户", "139 0000 1111")
        newer = customer("新客户", "13900001111")
        spaced = customer("第三家", "+86 139-0000-2222")
        alias = customer("老客户（别名）", "13900001111", merged_into_id=oldest)
        odd = customer("号码写错的", "abc")
        account = insert("account", customer_id=newer, openid="wx-newer", created_at=at)
        order = insert(
            "orders",
            order_no="JHT-20261101-0001",
            customer_id=newer,
            account_id=account,
            status="pending",
            released=False,
            stock_check="unknown",
            stock_source="none",
            idempotency_key="k1",
            request_hash="h",
            ship_to='{"recipient": "陈"}',
            remark="",
            total_amount="10.00",
            created_at=at,
            updated_at=at,
        )
        insert("inquiry", customer_id=newer, account_id=account, body="要 300 的砂轮", status="open", created_at=at)
        conn.execute(sa.text("UPDATE customer SET salesperson_id = :s"), {"s": sales})

    bridge_db.upgrade(engine)

    after = _indexes(engine)
    assert after["customer"] == (before["customer"] - {"ix_customer_phone"}) | {"uq_customer_phone_active"}
    # 0005 replaces the index on orders.customer_id by one on (customer_id, created_at).
    assert after["orders"] == (before["orders"] - {"ix_orders_customer_id"}) | {"ix_orders_customer_created"}
    for table, names in before.items():
        if table not in ("customer", "orders"):
            assert names <= after[table], table
    with engine.connect() as conn:
        phones = dict(conn.execute(sa.text("SELECT id, phone FROM customer")).all())
        assert phones == {oldest: "13900001111", newer: None, spaced: "13900002222", alias: "13900001111", odd: "abc"}
        (cleared,) = conn.execute(
            sa.text("SELECT entity_id, detail FROM audit_log WHERE action = 'customer.phone_cleared'")
        ).all()
        detail = cleared[1] if isinstance(cleared[1], dict) else json.loads(cleared[1])
        assert cleared[0] == str(newer) and detail["held_by_customer_id"] == oldest
        assert conn.execute(
            sa.text("SELECT customer_id, account_id FROM orders WHERE id = :o"), {"o": order}
        ).one() == (newer, account)
        assert conn.execute(sa.text("SELECT count(*) FROM inquiry WHERE account_id = :a"), {"a": account}).scalar() == 1
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            ddl = dict(conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table'").all())
            for table in ("account", "staff_user", "customer", "orders", "inquiry", "address"):
                assert "AUTOINCREMENT" in ddl[table].upper(), table
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO customer (name, type, phone, created_at, updated_at) "
                "VALUES ('又一个', 2, '13900001111', :t, :t)"
            ),
            {"t": at},
        )
    with engine.begin() as conn:
        account_sql = sa.text("INSERT INTO account (customer_id, openid, created_at) VALUES (:c, :o, :t) RETURNING id")
        last = conn.execute(account_sql, {"c": oldest, "o": "wx-1", "t": at}).scalar_one()
        conn.execute(sa.text("DELETE FROM account WHERE id = :i"), {"i": last})
        assert conn.execute(account_sql, {"c": oldest, "o": "wx-2", "t": at}).scalar_one() > last
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), metadata)
    assert diff == []
