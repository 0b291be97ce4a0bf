"""Shared set-up for the sync tests: a shop with customers and products, orders placed the
real way (bridge.orders), a clock the tests can move, and the ERP side of the ODBC connector
(interface tables on SQLite and PostgreSQL, a PostgreSQL server of its own to stop and start)."""

from __future__ import annotations

import glob
import os
import shlex
import subprocess
import uuid
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from itertools import count as counter
from pathlib import Path
from typing import Iterator

from sqlmodel import Session

from bridge.actors import Actor
from bridge.config import OrdersSection
from bridge.hookspecs import hookimpl
from bridge.models import Address, Customer, CustomerType, Product, StaffRole, StaffUser
from bridge.orders import LineRequest, OrderRequest, StockAnswer, place_order
from bridge.types import utcnow

_keys = counter(1)

LOAD_LIMITS = OrdersSection(per_customer_per_minute=10_000, per_customer_per_day=1_000_000)
"""The sync and crash tests place thousands of orders from a few customers: the per-customer
order rate limit (tested on its own in test_sec_orders) is lifted for them."""


class Clock:
    """Real time plus whatever the test has moved it on by."""

    def __init__(self):
        self.offset = timedelta(0)

    @property
    def now(self):
        return utcnow() + self.offset

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def make_shop(engine, customers: int = 2, type: int = CustomerType.TYPE_2) -> dict:
    with Session(engine, expire_on_commit=False) as s:
        sales = StaffUser(username="sales", display_name="张伟", role=StaffRole.SALES, password_hash="x")
        s.add(sales)
        s.flush()
        shop = {"sales": sales, "customers": [], "addresses": {}}
        for i in range(customers):
            c = Customer(name=f"客户{i + 1}", type=int(type), salesperson_id=sales.id)
            s.add(c)
            s.flush()
            a = Address(customer_id=c.id, recipient="李工", phone="13800000000", detail=f"工业大道 {i + 1} 号")
            s.add(a)
            s.flush()
            shop["customers"].append(c)
            shop["addresses"][c.id] = a.id
        shop["wheel"] = Product(sku="WA-400", name="平形砂轮 400×50×127", price=Decimal("180.00"))
        shop["disc"] = Product(sku="C-105", name="切割片 105", price=Decimal("2.35"))
        s.add(shop["wheel"])
        s.add(shop["disc"])
        s.commit()
    return shop


def place(engine, shop, customer, qty: int = 2, stock: StockAnswer | None = None, sku: str = "WA-400"):
    with Session(engine, expire_on_commit=False) as s:
        product = shop["wheel"] if sku == "WA-400" else shop["disc"]
        request = OrderRequest(
            lines=[LineRequest(product_id=product.id, quantity=qty)],
            idempotency_key=f"test-key-{next(_keys):06d}",
            address_id=shop["addresses"][customer.id],
        )
        placed = place_order(s, Actor.customer(customer.id), customer.id, request, limits=LOAD_LIMITS, stock=stock)
        s.commit()
        return placed.order


def filedrop_runtime(engine, folder, plugins: tuple = (), **env):
    """A Runtime on ``engine`` with the file-drop connector in ``folder``/erp (and the
    simulator's side of it), configured through the environment as an operator would;
    ``plugins`` are registered as outside plugins are (see ``RecordingNotifier``)."""
    from bridge.config import load_config
    from bridge.app import open_runtime
    from bridge.plugins import make_plugin_manager
    from connectors.filedrop import make_folders

    root = folder / "erp"
    make_folders(root)
    environ = {
        "JHT_DATABASE__URL": engine.url.render_as_string(hide_password=False),
        "JHT_CONNECTOR__FILEDROP__ROOT": str(root),
        # The simulator writes by temporary name and rename, so its files are complete at once:
        # no settle time (a test of an ERP writing in place sets one).
        "JHT_CONNECTOR__FILEDROP__SETTLE_S": "0",
        **{k: str(v) for k, v in env.items()},
    }
    config = load_config(None, environ=environ)
    return open_runtime(config, engine, pm=make_plugin_manager(extra_plugins=plugins))


class RecordingNotifier:
    """A notifier plugin that keeps every notice it is handed, registered through the
    ``register_notifiers`` hook as a WeCom or e-mail plugin would be:
    ``filedrop_runtime(engine, folder, plugins=(recorder,))``."""

    name = "recording"

    def __init__(self):
        self.notices: list[tuple[str, dict]] = []

    @hookimpl
    def register_notifiers(self):
        return [self]

    def notify(self, kind: str, payload: dict) -> None:
        self.notices.append((kind, dict(payload)))

    def of_kind(self, kind: str) -> list[dict]:
        return [payload for k, payload in self.notices if k == kind]


# --------------------------------------------------------------------------- the ODBC connector's ERP side

REPO = Path(__file__).resolve().parents[1]


def require(present: bool, message: str) -> None:
    """``tests.conftest.require``: fail in CI, skip elsewhere, when a component is missing."""
    from tests.conftest import require as rule

    rule(present, message)


def require_odbc_driver(name: str) -> None:
    import pyodbc

    require(
        name in pyodbc.drivers(),
        f"ODBC driver {name!r} is not installed (installed: {', '.join(pyodbc.drivers()) or 'none'}); "
        "scripts/test installs it",
    )


def sqlite_erp(folder: Path) -> str:
    """The reference interface tables in a new SQLite file, reached through the SQLite3 ODBC
    driver; returns the connection string."""
    import pyodbc

    from tests.doubles.odbc_erp import create_schema

    require_odbc_driver("SQLite3")
    path = folder / "erp.db"
    pyodbc.connect(f"Driver={{SQLite3}};Database={path}").close()
    # NoCreat: a missing file is an error, not a new empty database. Timeout (ms): how long to
    # wait for the other side's lock. Kept short: in SQLite's default journal mode the bridge's
    # read-then-insert and the ERP's read-then-update deadlock until one side's wait runs out
    # (then it is "database is locked", transient, tried again).
    connection_string = f"Driver={{SQLite3}};Database={path};NoCreat=1;Timeout=200"
    create_schema(connection_string, "sqlite")
    return connection_string


@contextmanager
def scratch_database(url: str, prefix: str) -> Iterator[str]:
    """A new, empty database ``{prefix}_<random>`` on the PostgreSQL server of ``url`` (a
    SQLAlchemy URL); yields its SQLAlchemy URL (password included), drops it at the end, sessions
    still on it and all."""
    import psycopg
    import sqlalchemy as sa

    parts = sa.make_url(url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    server = {
        "host": parts.host or "127.0.0.1",
        "port": parts.port or 5432,
        "user": parts.username or "",
        "password": parts.password or "",
        "dbname": parts.database or "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield parts.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(**server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def postgresql_erp(url: str) -> Iterator[str]:
    """The reference interface tables in a new database on the PostgreSQL server of ``url`` (a
    SQLAlchemy URL), reached through psqlODBC; yields the connection string, drops the database
    at the end."""
    import sqlalchemy as sa

    from tests.doubles.odbc_erp import create_schema

    require_odbc_driver("PostgreSQL Unicode")
    with scratch_database(url, "jht_erp") as erp_url:
        parts = sa.make_url(erp_url)
        connection_string = (
            f"Driver={{PostgreSQL Unicode}};Server={parts.host or '127.0.0.1'};Port={parts.port or 5432};"
            f"Database={parts.database};Uid={parts.username};Pwd={parts.password}"
        )
        create_schema(connection_string, "postgresql")
        yield connection_string


def odbc_connector_toml(connection_string: str, dialect: str, folder: Path) -> str:
    """The ``[connector]`` part of a config file for the odbc connector on the reference tables;
    the connection string (it holds a password) goes to ``folder``/odbc.secret, as an operator
    would keep it."""
    from tests.doubles.odbc_erp import sql_file

    secret = folder / "odbc.secret"
    secret.write_text(connection_string, encoding="utf-8")
    return (
        '[connector]\nname = "odbc"\n\n[connector.odbc]\n'
        f"connection_string_file = '{secret}'\nstatements = '{sql_file(dialect, 'statements.sql')}'\n"
        "query_timeout_s = 5\nlogin_timeout_s = 2\n"
    )


def odbc_runtime(engine, folder: Path, connection_string: str, dialect: str, **env):
    """A Runtime on ``engine`` with the odbc connector, configured by a config file in ``folder``
    as an operator would."""
    from bridge.config import load_config
    from bridge.app import open_runtime

    config = folder / "bridge.toml"
    config.write_text(odbc_connector_toml(connection_string, dialect, folder), encoding="utf-8")
    environ = {
        "JHT_DATABASE__URL": engine.url.render_as_string(hide_password=False),
        **{k: str(v) for k, v in env.items()},
    }
    return open_runtime(load_config(config, environ=environ), engine)


@contextmanager
def throwaway_postgresql() -> Iterator[dict[str, str]]:
    """A PostgreSQL server of its own (``scripts/pg-throwaway``), for a test that stops and starts
    it without touching the bridge's database. Yields the ``JHT_TEST_PG_*`` values it printed;
    stopped and removed at the end. Tied to this process: if the run dies, the next start reaps it."""
    require(
        bool(glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        "no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql; scripts/test does)",
    )
    script = REPO / "scripts" / "pg-throwaway"
    started = subprocess.run(
        [str(script), "start", "--owner", str(os.getpid())], capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    if started.returncode != 0:
        raise RuntimeError(f"scripts/pg-throwaway start failed:\n{started.stderr}")
    values = {}
    for line in started.stdout.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        values[key] = shlex.split(value)[0] if value else ""
    try:
        yield values
    finally:
        subprocess.run([str(script), "stop", values["JHT_TEST_PG_DATA"]], capture_output=True, stdin=subprocess.DEVNULL)


def pg_server(data_dir: str, action: str) -> None:
    """Stop or start a server made by ``throwaway_postgresql`` (``pg_ctl -m fast stop``: sessions are ended)."""
    done = subprocess.run(
        [str(REPO / "scripts" / "pg-throwaway"), "ctl", data_dir, action],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        raise RuntimeError(f"scripts/pg-throwaway ctl {action} failed:\n{done.stderr}")
