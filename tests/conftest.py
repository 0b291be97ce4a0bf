"""Shared fixtures: a migrated database on SQLite and on PostgreSQL for every test that asks.

Tests that take ``engine`` or ``session`` run twice, ``[sqlite]`` and ``[postgresql]``.
PostgreSQL comes from ``JHT_TEST_PG_URL`` (set by ``scripts/test``, which starts a throwaway
cluster). Without it the PostgreSQL half is skipped on a developer machine, and fails in CI.
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import shutil
from decimal import Decimal
from types import ModuleType

import pytest
import sqlalchemy as sa
import structlog
from sqlmodel import Session

from bridge import db as bridge_db
from bridge.models import (
    Customer,
    CustomerType,
    Product,
    ProductKind,
    StaffRole,
    StaffUser,
    metadata,
)

pytest_plugins = (
    "tests.fake_wechat",
    "tests.fake_wecom",
    "tests.admin_site",
)  # fake servers; admin pages' browser, demo_site

PG_URL = os.environ.get("JHT_TEST_PG_URL")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKENDS = ["sqlite", "postgresql"]


def require(present: bool, message: str) -> None:
    """A component a test needs: failed in CI when missing (CI=true), skipped on a developer
    machine that lacks it. The one place this rule is kept."""
    if present:
        return
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def require_module(name: str) -> ModuleType:
    """``pytest.importorskip`` under the ``require`` rule: the module, or a failure in CI and a
    skip elsewhere when it cannot be imported. Tests call this, never ``importorskip``."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        require(False, f"cannot import {name} ({exc}); scripts/test installs it")
        raise  # not reached: require fails or skips


def require_postgresql() -> str:
    """The test PostgreSQL URL (see ``require``)."""
    require(bool(PG_URL), "JHT_TEST_PG_URL is not set: run the suite through scripts/test")
    return PG_URL


@pytest.fixture(autouse=True, scope="module")
def _earlier_objects_frozen():
    """Each test module starts with what earlier modules left collected once, then frozen
    (``gc.freeze``), so Python's full collections look only at this module's objects.

    The suite runs in one process. By the SOAP tests, some 1.4 million objects are alive and
    a full collection takes about a second with every thread stopped; under a test's load one
    ran nearly every second. Tests whose doubles answer within a 1 s timeout (the SOAP server
    in ``test_e6_soap_erp_stopped_slow_faulting_and_restarted_under_load``) then saw timeouts
    that were the test runner's, not the code's. One full collection per module costs less."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    yield


@pytest.fixture(autouse=True)
def _logging_as_it_was():
    """Logging as it was before the test, after it. A command run in-process
    (``bridge.logs.setup_logging``) points the root logger at the stream it was given, often
    one the test runner closes afterwards; left in place, every later test's log record would
    end in a "--- Logging error ---" traceback on stderr. Handlers the test added are closed
    (a log file it opened is let go of)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    config = structlog.get_config()
    yield
    for added in root.handlers:
        if added not in handlers:
            added.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.configure(**config)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    """An SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = bridge_db.make_engine(f"sqlite:///{path}")
    bridge_db.upgrade(engine)
    engine.dispose()  # the last connection closing checkpoints the WAL into the file
    return str(path)


@pytest.fixture(scope="session")
def pg_engine_session():
    """The test PostgreSQL database, migrated once for the session."""
    url = require_postgresql()
    engine = bridge_db.make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    bridge_db.upgrade(engine)
    yield engine
    engine.dispose()


def _truncate_all(engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def engine(backend, request, tmp_path):
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "bridge.db"
        shutil.copyfile(template, path)
        eng = bridge_db.make_engine(f"sqlite:///{path}")
        yield eng
        eng.dispose()
    else:
        eng = request.getfixturevalue("pg_engine_session")
        _truncate_all(eng)
        yield eng


@pytest.fixture
def session(engine):
    with Session(engine, expire_on_commit=False) as s:
        yield s
        s.rollback()


class Make:
    """Small factories for test data; each adds and flushes, the test decides when to commit."""

    def __init__(self, session: Session):
        self.session = session
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def staff(self, role: StaffRole = StaffRole.SALES, **kw) -> StaffUser:
        n = self._next()
        user = StaffUser(
            username=kw.pop("username", f"{role.value}{n}"),
            display_name=kw.pop("display_name", f"业务员{n}"),
            role=role,
            password_hash=kw.pop("password_hash", "x"),
            **kw,
        )
        self.session.add(user)
        self.session.flush()
        return user

    def customer(self, type: int = CustomerType.TYPE_2, **kw) -> Customer:
        n = self._next()
        customer = Customer(name=kw.pop("name", f"客户{n}"), type=int(type), **kw)
        self.session.add(customer)
        self.session.flush()
        return customer

    def product(self, kind: ProductKind = ProductKind.STANDARD, **kw) -> Product:
        n = self._next()
        product = Product(
            sku=kw.pop("sku", f"SKU-{n:04d}"),
            name=kw.pop("name", f"平形砂轮 {n}"),
            kind=kind,
            price=kw.pop("price", Decimal("12.50")),
            **kw,
        )
        self.session.add(product)
        self.session.flush()
        return product


@pytest.fixture
def make(session) -> Make:
    return Make(session)


@pytest.fixture
def pg_url() -> str:
    return require_postgresql()


def count(session: Session, model, *where) -> int:
    stmt = sa.select(sa.func.count()).select_from(model)
    for clause in where:
        stmt = stmt.where(clause)
    return session.execute(stmt).scalar_one()


def watch_password_hashes(monkeypatch, url: str) -> list[str]:
    """Make every staff password hash (``bridge.users.hash_password``) first try a write of its
    own on the database ``url``, on a connection of its own that does not wait: the list
    returned gets "free" for each hash made while no transaction held the write lock (SQLite)
    or a staff user's row (PostgreSQL), else what the database said."""
    import bridge.users

    hashed: list[str] = []
    real = bridge.users.hash_password
    sqlite = url.startswith("sqlite")
    probe = sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args={"timeout": 0} if sqlite else {})
    statement = sa.text("UPDATE staff_user SET display_name = display_name")

    def watched(password: str) -> str:
        try:
            with probe.connect() as connection:
                if sqlite:
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                else:
                    connection.exec_driver_sql("SET lock_timeout = '50ms'")
                connection.execute(statement)
                connection.rollback()
            hashed.append("free")
        except sa.exc.OperationalError as exc:
            hashed.append(str(exc.orig))
        return real(password)

    monkeypatch.setattr(bridge.users, "hash_password", watched)
    return hashed
