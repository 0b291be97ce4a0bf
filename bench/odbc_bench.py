"""Benchmark of the ODBC connector on PostgreSQL through psqlODBC (``PostgreSQL Unicode``).

N orders of L lines (default 2000 × 3) are placed first through bridge.orders.place_order (and
the bridge's database analyzed, as autovacuum would); then each way of writing them into the
reference interface tables (etc/sql/postgresql) is timed from empty tables:

- bridge: the outbox drained by the real Dispatcher and odbc connector (claim, per-customer
  order, the "already delivered?" look-up, header + lines in one transaction, outcome recorded
  in the bridge's database); the notification message each order also enqueues is delivered
  to a no-op notifier, so messages/s is shown besides orders/s;
- connector: the same documents handed to ``OdbcConnector.push_order`` in a loop (no outbox);
- raw pyodbc: the same rows (the connector's own parameters) inserted with the same statements,
  driver and connection string, header + lines per transaction, one connection.

Without --pg-url a throwaway PostgreSQL cluster is started (scripts/pg-throwaway) and stopped at
the end, error or not. The bridge's database and the ERP's interface tables are two scratch
databases on that server, dropped at the end.

    .venv/bin/python bench/odbc_bench.py [--orders 2000] [--lines 3] [--customers 200]
        [--pg-url postgresql+psycopg://user:pw@host:port/db] [--odbc 'Driver={PostgreSQL Unicode};…']
        [--no-analyze]

--odbc points the ERP side at an existing database instead: its interface tables are created if
missing and EMPTIED before each run (use a scratch database).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
import uuid
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Iterator
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import psycopg  # noqa: E402
import pyodbc  # noqa: E402
from sqlmodel import Session, select  # noqa: E402
from sync_bench import Quiet, place_many  # noqa: E402

from bridge.config import load_config  # noqa: E402
from bridge.db import make_engine, upgrade  # noqa: E402
from bridge.logs import setup_logging  # noqa: E402
from bridge.models import Address, Customer, OutboxMessage, OutboxStatus, Product  # noqa: E402
from bridge.outbox import message_action  # noqa: E402
from bridge.app import open_runtime  # noqa: E402
from connectors.odbc import OdbcConnector, OdbcSettings  # noqa: E402
from connectors.odbc.connector import order_parameters  # noqa: E402
from connectors.odbc.statements import load_statements  # noqa: E402
from tests.doubles.odbc_erp import create_schema, sql_file  # noqa: E402

INTERFACE_TABLES = (
    "jht_order_line_in, jht_order_in, jht_customer_in, jht_command_in, jht_customer_merge_in, jht_event_line_out,"
    " jht_event_out, jht_stock"
)


# --------------------------------------------------------------------------- PostgreSQL


@contextmanager
def scratch_database(url: str, role: str) -> Iterator[tuple[str, str]]:
    """A new database on the server of ``url``; yields (SQLAlchemy URL, ODBC connection string)."""
    parts = urlsplit(url)
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    name = f"jht_bench_{role}_{uuid.uuid4().hex[:8]}"
    admin = dict(
        host=host, port=port, user=user, password=password, dbname=parts.path.lstrip("/") or "postgres", autocommit=True
    )
    with psycopg.connect(**admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (
            parts._replace(path=f"/{name}").geturl(),
            f"Driver={{PostgreSQL Unicode}};Server={host};Port={port};Database={name};Uid={user};Pwd={password}",
        )
    finally:
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def empty_interface_tables(odbc: str) -> None:
    cnxn = pyodbc.connect(odbc, autocommit=True)
    try:
        cnxn.cursor().execute(f"TRUNCATE {INTERFACE_TABLES} RESTART IDENTITY CASCADE")
    finally:
        cnxn.close()


def erp_rows(odbc: str) -> tuple[int, int]:
    cnxn = pyodbc.connect(odbc, autocommit=True)
    try:
        cursor = cnxn.cursor()
        return (
            cursor.execute("SELECT COUNT(*) FROM jht_order_in").fetchone()[0],
            cursor.execute("SELECT COUNT(*) FROM jht_order_line_in").fetchone()[0],
        )
    finally:
        cnxn.close()


# --------------------------------------------------------------------------- the shop


def seed(engine, customers: int, lines: int) -> tuple[list[int], list[tuple[int, int]]]:
    with Session(engine, expire_on_commit=False) as s:
        products = [
            Product(sku=f"WA-{400 + n}", name=f"平形砂轮 1-{400 + n}×50×127 WA60K5V", price=Decimal("186.00") + n)
            for n in range(lines)
        ]
        s.add_all(products)
        shop = []
        for i in range(customers):
            c = Customer(name=f"客户{i}", type=1 + i % 2)
            s.add(c)
            s.flush()
            a = Address(
                customer_id=c.id,
                recipient="李工",
                phone="13800000000",
                province="广东省",
                city="佛山市",
                detail=f"工业大道 {i} 号",
            )
            s.add(a)
            s.flush()
            shop.append((c.id, a.id))
        s.commit()
        return [p.id for p in products], shop


# --------------------------------------------------------------------------- the three ways


def drain(rt) -> tuple[float, int, int]:
    """(seconds, order.create delivered, messages delivered) for draining the outbox."""
    dispatcher = rt.dispatcher()
    started = time.perf_counter()
    handled = dispatcher.drain()
    elapsed = time.perf_counter() - started
    with Session(rt.engine) as s:
        orders = len(
            s.exec(
                select(OutboxMessage.id).where(
                    OutboxMessage.kind == "order.create", OutboxMessage.status == OutboxStatus.DELIVERED
                )
            ).all()
        )
        left = s.exec(select(OutboxMessage.id).where(OutboxMessage.status != OutboxStatus.DELIVERED)).first()
    if left is not None:
        raise SystemExit(f"the drain left outbox message {left} undelivered: see `jht-bridge outbox list`")
    return elapsed, orders, handled


def order_documents(rt) -> list[dict]:
    with Session(rt.engine) as s:
        messages = s.exec(
            select(OutboxMessage).where(OutboxMessage.kind == "order.create").order_by(OutboxMessage.id)
        ).all()
    return [message_action(m)[1] for m in messages]


def connector_alone(odbc: str, docs: list[dict]) -> float:
    connector = OdbcConnector(OdbcSettings(connection_string=odbc, statements=sql_file("postgresql", "statements.sql")))
    try:
        started = time.perf_counter()
        for doc in docs:
            connector.push_order(doc)
        return time.perf_counter() - started
    finally:
        connector.close()


def raw_inserts(odbc: str, docs: list[dict]) -> float:
    """The same rows with the same statements and driver: header + lines, one commit per order."""
    statements = load_statements(sql_file("postgresql", "statements.sql"))
    rows = []
    for doc in docs:
        header, lines = order_parameters(doc)
        rows.append((header, [line() for line in lines]))
    cnxn = pyodbc.connect(odbc, autocommit=False)
    try:
        cursor = cnxn.cursor()
        started = time.perf_counter()
        for header, lines in rows:
            cursor.execute(statements["insert_order"], *header)
            for line in lines:
                cursor.execute(statements["insert_order_line"], *line)
            cnxn.commit()
        return time.perf_counter() - started
    finally:
        cnxn.close()


# --------------------------------------------------------------------------- main


def run(args, pg_url: str | None, stack: ExitStack) -> dict:
    if pg_url is None:
        from tests.sync_helpers import throwaway_postgresql  # the suite's own: one place starts clusters

        pg_url = stack.enter_context(throwaway_postgresql())["JHT_TEST_PG_URL"]
    bridge_url, _ = stack.enter_context(scratch_database(pg_url, "bridge"))
    odbc = args.odbc or stack.enter_context(scratch_database(pg_url, "erp"))[1]
    create_schema(odbc, "postgresql")
    empty_interface_tables(odbc)

    environ = {
        "JHT_DATABASE__URL": bridge_url,
        "JHT_CONNECTOR__NAME": "odbc",
        "JHT_CONNECTOR__ODBC__CONNECTION_STRING": odbc,
        "JHT_CONNECTOR__ODBC__STATEMENTS": str(sql_file("postgresql", "statements.sql")),
        "JHT_OUTBOX__BATCH_SIZE": "200",
    }
    config = load_config(None, environ=environ)
    engine = make_engine(config)
    upgrade(engine)
    rt = open_runtime(config, engine)
    rt.notifiers = [Quiet()]
    stack.callback(rt.close)

    cnxn = pyodbc.connect(odbc, autocommit=True)
    driver = f"{cnxn.getinfo(pyodbc.SQL_DRIVER_NAME)} {cnxn.getinfo(pyodbc.SQL_DRIVER_VER)}"
    server = f"PostgreSQL {cnxn.cursor().execute('SHOW server_version').fetchone()[0]}"
    cnxn.close()

    product_ids, shop = seed(rt.engine, args.customers, args.lines)
    placed = place_many(rt, product_ids, shop, args.orders)
    if not args.no_analyze:
        # What autovacuum does on a live server soon after a burst of inserts. Without fresh
        # statistics the planner takes the outbox for nearly empty and the claim query turns
        # quadratic in the backlog (--no-analyze shows it).
        with rt.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()

    drain_s, delivered, messages = drain(rt)
    expected = (args.orders, args.orders * args.lines)
    if erp_rows(odbc) != expected:
        raise SystemExit(f"the ERP holds {erp_rows(odbc)} (orders, lines), expected {expected}")
    docs = order_documents(rt)
    empty_interface_tables(odbc)
    connector_s = connector_alone(odbc, docs)
    if erp_rows(odbc) != expected:
        raise SystemExit(f"connector: the ERP holds {erp_rows(odbc)} (orders, lines), expected {expected}")
    empty_interface_tables(odbc)
    raw_s = raw_inserts(odbc, docs)
    if erp_rows(odbc) != expected:
        raise SystemExit(f"raw: the ERP holds {erp_rows(odbc)} (orders, lines), expected {expected}")

    return {
        "server": server,
        "driver": driver,
        "orders": args.orders,
        "lines_per_order": args.lines,
        "customers": args.customers,
        "place_orders_per_s": round(placed),
        "drain_orders_per_s": round(delivered / drain_s),
        "drain_ms_per_order": round(drain_s / delivered * 1000, 2),
        "drain_messages": messages,
        "drain_messages_per_s": round(messages / drain_s),
        "drain_ms_per_message": round(drain_s / messages * 1000, 2),
        "connector_orders_per_s": round(len(docs) / connector_s),
        "connector_ms_per_order": round(connector_s / len(docs) * 1000, 2),
        "raw_orders_per_s": round(len(docs) / raw_s),
        "raw_ms_per_order": round(raw_s / len(docs) * 1000, 2),
        "rows_per_order": 1 + args.lines,
        "analyzed": not args.no_analyze,
    }


def report(r: dict) -> None:
    rows = r["rows_per_order"]
    print(
        f"{r['server']} through {r['driver']}; {r['orders']} orders × {r['lines_per_order']} lines, "
        f"{r['customers']} customers; placed at {r['place_orders_per_s']} orders/s"
        f"{'' if r['analyzed'] else '; bridge database NOT analyzed before the drain'}"
    )
    table = [
        ("bridge: outbox + odbc connector", r["drain_orders_per_s"], r["drain_ms_per_order"]),
        ("odbc connector push_order alone", r["connector_orders_per_s"], r["connector_ms_per_order"]),
        ("raw pyodbc (header + lines / txn)", r["raw_orders_per_s"], r["raw_ms_per_order"]),
    ]
    print(f"{'path':<36}{'orders/s':>10}{'ms/order':>10}{'rows/s':>10}{'vs raw':>8}")
    for name, per_s, ms in table:
        print(f"{name:<36}{per_s:>10}{ms:>10.2f}{per_s * rows:>10}{per_s / r['raw_orders_per_s']:>8.2f}")
    print(
        f"drain messages: {r['drain_messages']} (order.create + notify.new_order) at {r['drain_messages_per_s']}/s, "
        f"{r['drain_ms_per_message']:.2f} ms per message"
    )
    print(json.dumps(r, ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--lines", type=int, default=3, help="lines per order")
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument(
        "--pg-url", help="PostgreSQL server (SQLAlchemy URL) for scratch databases; default: a throwaway cluster"
    )
    parser.add_argument("--odbc", help="ODBC connection string of the ERP database (default: a scratch database)")
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="drain with the statistics of the empty bridge database (no ANALYZE after placing)",
    )
    args = parser.parse_args()
    if args.orders < 1 or args.lines < 1 or args.customers < 1:
        parser.error("--orders, --lines and --customers must be at least 1")
    setup_logging("error", "json")
    # SIGTERM unwinds like Ctrl-C, so the throwaway server is stopped either way.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with ExitStack() as stack:
        results = run(args, args.pg_url, stack)
    report(results)


if __name__ == "__main__":
    main()
