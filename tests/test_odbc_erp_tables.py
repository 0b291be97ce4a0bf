"""The SQL connector mapped onto a real ERP's own tables by configuration alone (issue 12,
points 8, 10, 11, 12, 13, 15): an ERP without an events table polled by the modification time of
its rows, items keyed by the ERP's own code, `check` trying the writing statements, statements
that can never succeed failing at once, merges as a visible decision, and errors that name the
column. Through the real SQLite3 and psqlODBC drivers; the bridge's database is SQLite."""

from __future__ import annotations

import json
import re
import time
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pyodbc
import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from bridge.config import DEFAULT_STATUS_MAP
from bridge.connector import ConnectorContext, PermanentError
from bridge.inbox import InboxPoller
from bridge.models import InboxEvent, Order, OrderStatus, Product, Shipment, ShipmentLine
from bridge.products import ItemCodeBook
from connectors.odbc import OdbcConnector, OdbcSettings
from connectors.odbc.connector import is_transient
from tests.conftest import require_module, require_postgresql
from tests.doubles.connector_kit import sample_customer
from tests.doubles.odbc_erp import create_schema, script_queries, sql_file
from tests.sync_helpers import make_shop, place

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "sql-modified-time" / "postgresql"
STATUS_MAP = {**DEFAULT_STATUS_MAP, "已审核": "pending"}


# =========================================================================== databases


@pytest.fixture
def pg_admin():
    """(admin connection, make_database): new PostgreSQL databases, dropped at the end."""
    url = urlsplit(require_postgresql())
    psycopg = require_module("psycopg")
    user, password = unquote(url.username or ""), unquote(url.password or "")
    host, port = url.hostname or "127.0.0.1", url.port or 5432
    admin = psycopg.connect(
        host=host, port=port, user=user, password=password, dbname=url.path.lstrip("/") or "postgres", autocommit=True
    )
    made: list[str] = []

    def database(uid: str = user, pwd: str = password) -> tuple[str, str]:
        name = f"jht_erp12_{uuid.uuid4().hex[:10]}"
        admin.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return name, f"Driver={{PostgreSQL Unicode}};Server={host};Port={port};Database={name};Uid={uid};Pwd={pwd}"

    yield admin, database
    for name in made:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


class ModifiedTimeErp:
    """docs/examples/sql-modified-time: an ERP's own sales tables on PostgreSQL, written the way
    the ERP writes them: every change sets the row's modification time, in its own transaction."""

    def __init__(self, connection_string: str):
        self.connection_string = connection_string
        cnxn = pyodbc.connect(connection_string, autocommit=True)
        for query in script_queries((EXAMPLE / "erp-tables.sql").read_text(encoding="utf-8")):
            cnxn.cursor().execute(query)
        cnxn.close()

    def sql(self, query: str, *params, cnxn=None):
        own = cnxn is None
        cnxn = cnxn or pyodbc.connect(self.connection_string, autocommit=False)
        try:
            cursor = cnxn.cursor().execute(query, *params)
            rows = cursor.fetchall() if cursor.description else None
            if own:
                cnxn.commit()
            return rows
        finally:
            if own:
                cnxn.close()

    def order(self, order_no: str, status: str = "已审核") -> None:
        self.sql(
            "INSERT INTO sal_order (f_jht_orderno, fstatus, fmodifydate) VALUES (?, ?, clock_timestamp())",
            order_no,
            status,
        )

    def set_status(self, order_no: str, status: str, cnxn=None) -> None:
        """A clerk's change: the status and the modification time, at the moment of the change."""
        self.sql(
            "UPDATE sal_order SET fstatus = ?, fmodifydate = clock_timestamp() WHERE f_jht_orderno = ?",
            status,
            order_no,
            cnxn=cnxn,
        )


def time_connector(connection_string: str, context: ConnectorContext | None = None) -> OdbcConnector:
    return OdbcConnector(
        OdbcSettings(
            connection_string=connection_string,
            statements=EXAMPLE / "statements.sql",
            event_cursor="modified_time",
            look_back_s=60,
            query_timeout_s=5,
        ),
        context,
    )


def sqlite_reference(tmp_path: Path, **settings) -> tuple[str, OdbcConnector, Path]:
    """The reference interface tables in SQLite, a copy of the reference statements to edit."""
    path = tmp_path / "erp.db"
    pyodbc.connect(f"Driver={{SQLite3}};Database={path}").close()
    connection_string = f"Driver={{SQLite3}};Database={path};NoCreat=1"
    create_schema(connection_string, "sqlite")
    statements = tmp_path / "statements.sql"
    statements.write_text(sql_file("sqlite", "statements.sql").read_text(encoding="utf-8"), encoding="utf-8")
    connector = OdbcConnector(
        OdbcSettings(connection_string=connection_string, statements=statements, query_timeout_s=5, **settings)
    )
    return connection_string, connector, statements


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def rows(connection_string: str, query: str) -> list[tuple]:
    cnxn = pyodbc.connect(connection_string, autocommit=True)
    try:
        return [tuple(r) for r in cnxn.cursor().execute(query).fetchall()]
    finally:
        cnxn.close()


def status_of(engine, order_no: str) -> OrderStatus:
    with Session(engine) as s:
        return s.exec(select(Order.status).where(Order.order_no == order_no)).one()


# =========================================================================== point 8


@pytest.mark.parametrize("backend", ["sqlite"])
def test_p12_08_a_row_committed_late_with_an_older_modified_time_is_applied(engine, pg_admin):
    """Point 8: an ERP without an events table, polled by `modifieddate`. Order A's change is
    written first (older time) but committed after order B's change was read: A is still read,
    applied once, and nothing is handed over twice."""
    _, database = pg_admin
    erp = ModifiedTimeErp(database()[1])
    shop = make_shop(engine, customers=1)
    first, second = (place(engine, shop, shop["customers"][0]).order_no for _ in range(2))
    erp.order(first)
    erp.order(second)
    connector = time_connector(erp.connection_string)
    poller = InboxPoller(engine, connector, status_map=STATUS_MAP)
    slow = pyodbc.connect(erp.connection_string, autocommit=False)
    try:
        assert poller.drain() == 2  # both orders as the ERP has them: 已审核, nothing changes
        erp.set_status(first, "生产中", cnxn=slow)  # its time is taken now, its commit comes later
        time.sleep(0.05)
        erp.set_status(second, "生产中")
        assert poller.run_once() == 1
        assert (status_of(engine, first), status_of(engine, second)) == (OrderStatus.PENDING, OrderStatus.IN_PRODUCTION)
        slow.commit()  # A's row appears now, with a time older than B's, which was read
        late = rows(erp.connection_string, "SELECT fmodifydate FROM sal_order ORDER BY fid")
        assert late[0][0] < late[1][0]
        assert poller.run_once() == 1
        assert status_of(engine, first) == OrderStatus.IN_PRODUCTION
        assert poller.run_once() == 0  # the window read again: nothing new, nothing twice
        with Session(engine) as s:
            applied = s.exec(select(InboxEvent).where(InboxEvent.status == "applied")).all()
        assert sorted(e.payload["order_no"] for e in applied) == sorted([first, second])
    finally:
        slow.close()
        connector.close()


def test_p12_08_the_cursor_is_not_trusted_when_a_batch_was_not_finished(pg_admin):
    """Point 8: the connector remembers what it handed over only for the cursor it gave last; a
    caller coming back with an older cursor (a crash mid-batch) gets the window again."""
    _, database = pg_admin
    erp = ModifiedTimeErp(database()[1])
    erp.order("JHT-20261203-0001")
    erp.order("JHT-20261203-0002")
    connector = time_connector(erp.connection_string)
    try:
        events, cursor = connector.pull_events(None)
        assert [e.data["order_no"] for e in events] == ["JHT-20261203-0001", "JHT-20261203-0002"]
        assert connector.pull_events(cursor) == ([], cursor)
        again, _ = connector.pull_events(events[0].cursor)  # only the first was applied
        assert [e.event_id for e in again] == [e.event_id for e in events]
    finally:
        connector.close()


# =========================================================================== point 10


class Codes:
    def __init__(self, table: dict[str, str]):
        self.table = table

    def erp_item_codes(self, skus):
        return {s: self.table[s] for s in skus if s in self.table}

    def skus(self, codes):
        back = {v: k for k, v in self.table.items()}
        return {c: back[c] for c in codes if c in back}


@pytest.mark.parametrize("backend", ["sqlite"])
def test_p12_10_stock_and_shipment_lines_speak_the_erps_item_code(engine, pg_admin):
    """Point 10: an ERP that keys items by its own code only: select_stock is given the ERP item
    codes of the skus asked, and shipment lines naming the ERP item code reach the order as the
    shop's skus — through the bridge's own products (ItemCodeBook)."""
    _, database = pg_admin
    erp = ModifiedTimeErp(database()[1])
    shop = make_shop(engine, customers=1)
    with Session(engine) as s:
        wheel = s.exec(select(Product).where(Product.sku == "WA-400")).one()
        wheel.erp_item_code = "01.10.001"
        s.add(wheel)
        s.commit()
    order_no = place(engine, shop, shop["customers"][0], qty=5).order_no
    erp.sql("INSERT INTO bd_material (fnumber, fname) VALUES ('01.10.001', '平形砂轮'), ('02.20.002', '切割片')")
    erp.sql("INSERT INTO stk_inventory VALUES (1, 1, 120, 20), (1, 2, 36.5, 0), (2, 1, 7, 0)")
    erp.order(order_no, "生产中")
    oid = erp.sql("SELECT fid FROM sal_order")[0][0]
    erp.sql(
        "INSERT INTO sal_outstock (fbillno, forderid, fcarrier, fcarriageno, fdate, fmodifydate)"
        " VALUES ('XSCK000045', ?, '顺丰速运', 'SF1402837465012', '2026-12-03 15:40:00', clock_timestamp())",
        oid,
    )
    erp.sql("INSERT INTO sal_outstock_entry VALUES (1, 1, 1, 5)")
    connector = time_connector(erp.connection_string, ConnectorContext(item_codes=ItemCodeBook(engine)))
    try:
        assert connector.query_stock(["WA-400", "C-105"]) == {"WA-400": Decimal("136.5")}
        InboxPoller(engine, connector, status_map=STATUS_MAP).drain()
        with Session(engine) as s:
            shipment = s.exec(select(Shipment)).one()
            lines = s.exec(select(ShipmentLine)).all()
            assert (shipment.erp_shipment_id, shipment.tracking_no) == ("XSCK000045", "SF1402837465012")
            assert [(line.sku, line.quantity, line.order_line_id is not None) for line in lines] == [
                ("WA-400", 5, True)
            ]
    finally:
        connector.close()


def test_p12_10_a_shipment_line_with_an_unknown_erp_item_code_is_quarantined_with_the_code(tmp_path):
    """Point 10: a line whose ERP item code no product has cannot be guessed: the event says which code."""
    connection_string, connector, statements = sqlite_reference(tmp_path)
    edit(
        statements,
        "SELECT event_id, sku, quantity FROM jht_event_line_out",
        "SELECT event_id, NULL AS sku, quantity, sku AS erp_item_code FROM jht_event_line_out",
    )
    cnxn = pyodbc.connect(connection_string, autocommit=True)
    cnxn.cursor().execute(
        "INSERT INTO jht_event_out (kind, order_no, shipment_id) VALUES ('order.shipment', 'JHT-1', 'S1')"
    )
    cnxn.cursor().execute(
        "INSERT INTO jht_event_line_out (event_id, line_no, sku, quantity) VALUES (1, 1, '01.10.001', 2)"
    )
    cnxn.cursor().execute(
        "INSERT INTO jht_event_line_out (event_id, line_no, sku, quantity) VALUES (1, 2, '09.99.999', 1)"
    )
    cnxn.close()
    connector.context.item_codes = Codes({"WA-100": "01.10.001"})
    try:
        (event,), _ = connector.pull_events(None)
        assert event.problem and "09.99.999" in event.problem
        connector.context.item_codes = Codes({"WA-100": "01.10.001", "WA-999": "09.99.999"})
        (event,), _ = connector.pull_events(None)
        assert event.data["lines"] == [
            {"sku": "WA-100", "quantity": 2, "erp_item_code": "01.10.001"},
            {"sku": "WA-999", "quantity": 1, "erp_item_code": "09.99.999"},
        ]
    finally:
        connector.close()


# =========================================================================== point 11


def test_p12_11_check_runs_each_writing_statement_and_names_its_mistake(tmp_path):
    """Point 11: a wrong column, a wrong number of `?` — found by `check`, one line per
    statement, before the first delivery; and nothing is written."""
    connection_string, connector, statements = sqlite_reference(tmp_path)
    edit(statements, "INSERT INTO jht_order_in (order_no, customer_id,", "INSERT INTO jht_order_in (order_no, cust_id,")
    edit(
        statements,
        "INSERT INTO jht_command_in (order_no, command, at) VALUES (?, ?, ?)",
        "INSERT INTO jht_command_in (order_no, command, at) VALUES (?, ?, ?, ?)",
    )
    try:
        lines = {line.name: line for line in connector.check()}
    finally:
        connector.close()
    order = lines["statement insert_order"]
    assert not order.ok and "cust_id" in order.detail, order.detail
    command = lines["statement insert_command"]
    assert not command.ok and "the connector binds 3, in this order: order_no, command, at" in command.detail
    assert lines["statement upsert_customer"].ok and lines["statement insert_order_line"].ok
    assert rows(connection_string, "SELECT COUNT(*) FROM jht_customer_in") == [(0,)]


def test_p12_11_check_finds_a_missing_insert_right(pg_admin):
    """Point 11: the bridge's login without INSERT on the order table: check says so."""
    admin, database = pg_admin
    name, owner = database()
    create_schema(owner, "postgresql")
    role = f"jht_bridge_{uuid.uuid4().hex[:6]}"
    admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pw12'")
    try:
        cnxn = pyodbc.connect(owner, autocommit=True)
        cnxn.cursor().execute(f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {role}")
        cnxn.cursor().execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}")
        cnxn.cursor().execute(f"REVOKE INSERT ON jht_order_in FROM {role}")
        cnxn.close()
        limited = re.sub(r"Uid=[^;]*;Pwd=[^;]*", f"Uid={role};Pwd=pw12", owner)
        connector = OdbcConnector(
            OdbcSettings(connection_string=limited, statements=sql_file("postgresql", "statements.sql"))
        )
        try:
            lines = {line.name: line for line in connector.check()}
        finally:
            connector.close()
        assert not lines["statement insert_order"].ok
        assert "permission denied" in lines["statement insert_order"].detail
        assert lines["statement upsert_customer"].ok and lines["statement insert_command"].ok
        assert rows(owner, "SELECT COUNT(*) FROM jht_customer_in") == [(0,)]  # rolled back
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f"DROP ROLE IF EXISTS {role}")


# =========================================================================== point 12


def test_p12_12_a_wrong_parameter_count_is_permanent_at_once_and_names_the_statement(tmp_path):
    """Point 12: pyodbc's "contains 6 parameter markers, but 7 parameters were supplied" can
    never succeed: a dead letter at once (PermanentError), saying what the connector binds."""
    error = pyodbc.ProgrammingError("The SQL contains 6 parameter markers, but 7 parameters were supplied", "HY000")
    assert not is_transient(error)
    _, connector, statements = sqlite_reference(tmp_path)
    edit(
        statements,
        "VALUES (?, ?, ?, ?, ?, ?, ?)\nON CONFLICT (customer_id)",
        "VALUES (?, ?, ?, ?, ?, ?)\nON CONFLICT (customer_id)",
    )
    try:
        with pytest.raises(PermanentError) as caught:
            connector.push_customer(sample_customer(1))
    finally:
        connector.close()
    text = str(caught.value)
    assert text.startswith("statement upsert_customer: ")
    assert "contains 6 parameter markers, but 7 parameters were supplied" in text
    assert "customer_id, name, type, phone, contact, erp_code, updated_at" in text


# =========================================================================== point 13


def test_p12_13_a_merge_without_its_statement_is_a_dead_letter_unless_skipped(tmp_path):
    """Point 13: no `merge_customer` statement: the merge is a dead letter naming it — unless the
    config says the ERP merges by hand (skip); with the statement it is written."""
    merge = {
        "schema": "jht.customer_merge/1",
        "survivor": {"id": 1, "erp_code": "C0001", "name": "甲"},
        "absorbed": {"id": 2, "erp_code": None, "name": "乙"},
        "at": "2026-12-03T08:00:00+00:00",
    }
    connection_string, connector, statements = sqlite_reference(tmp_path)
    try:
        connector.push_merge(merge)
        connector.push_merge(merge)  # a redelivery: harmless
        assert rows(
            connection_string, "SELECT survivor_id, survivor_erp_code, absorbed_id FROM jht_customer_merge_in"
        ) == [(1, "C0001", 2)]
    finally:
        connector.close()
    text = statements.read_text(encoding="utf-8")
    statements.write_text(re.sub(r"-- name: merge_customer\n.*?(?=-- name:)", "", text, flags=re.S), encoding="utf-8")
    for skip, expected in (([], "missing"), (["customer.merge"], None)):
        bare = OdbcConnector(OdbcSettings(connection_string=connection_string, statements=statements, skip=skip))
        try:
            check = {line.name: line for line in bare.check()}["statement merge_customer"]
            if expected:
                with pytest.raises(PermanentError, match="statement 'merge_customer' is missing from"):
                    bare.push_merge(merge)
                assert not check.ok and 'skip = ["customer.merge"]' in check.detail
            else:
                assert bare.push_merge(merge) is None
                assert check.ok and "skipped" in check.detail
        finally:
            bare.close()


# =========================================================================== point 15


def test_p12_15_a_value_too_long_names_the_column(pg_admin):
    """Point 15: PostgreSQL's "value too long for type character varying(40)" names no column;
    the dead letter does, from the driver's column sizes."""
    _, database = pg_admin
    _, connection_string = database()
    create_schema(connection_string, "postgresql")
    connector = OdbcConnector(
        OdbcSettings(connection_string=connection_string, statements=sql_file("postgresql", "statements.sql"))
    )
    try:
        with pytest.raises(PermanentError) as caught:
            connector.push_customer(sample_customer(1, phone="1" * 45))
        connector.push_customer(sample_customer(1))  # the connection is fine afterwards
    finally:
        connector.close()
    text = str(caught.value)
    assert "[22001]" in text and "statement upsert_customer" in text
    assert "phone (45 characters) does not fit column jht_customer_in.phone (varchar 40)" in text


def test_p12_15_config_show_prints_the_active_connectors_keys_with_their_defaults(tmp_path, monkeypatch):
    """Point 15: every key of [connector.odbc], defaults included; another connector's table is
    not printed as if it were used."""
    from bridge.cli import app

    monkeypatch.delenv("JHT_CONFIG", raising=False)
    (tmp_path / "odbc.secret").write_text("Driver={SQLite3};Database=/nowhere.db\n", encoding="utf-8")
    (tmp_path / "statements.sql").write_text("", encoding="utf-8")
    config = tmp_path / "bridge.toml"
    config.write_text(
        '[connector]\nname = "odbc"\n\n[connector.odbc]\nconnection_string_file = "odbc.secret"\n'
        'statements = "statements.sql"\n\n[connector.filedrop]\nfolder = "/srv/erp"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["--config", str(config), "config", "show"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    body = result.stdout.split("\n", 1)[1]
    shown = json.loads(body)["connector"]
    assert set(shown) == {"name", "odbc"}
    assert shown["odbc"]["query_timeout_s"] == 30 and shown["odbc"]["event_cursor"] == "id"
    assert shown["odbc"]["skip"] == [] and shown["odbc"]["statements"] == str(tmp_path / "statements.sql")
    assert "[connector.filedrop] is not used" in result.stderr
