"""Storage: migrations from empty on both databases, models and migrations agree, exact money."""

from __future__ import annotations

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
