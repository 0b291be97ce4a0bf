"""The ODBC connector on the reference interface tables: the shared contract kit through the
real SQLite3 and psqlODBC drivers, then what is particular to SQL (idempotency under the PK,
ERP order number read back, injection stored verbatim, exact money, error classes, check)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pyodbc
import pytest

from bridge.connector import PermanentError, TransientError
from connectors.odbc import OdbcConnector, OdbcSettings
from connectors.odbc.connector import is_transient, sqlstate
from connectors.odbc.statements import REQUIRED, load_statements, parse_statements
from tests.conftest import require_module, require_postgresql
from tests.doubles.connector_kit import AT, ConnectorContract, sample_command, sample_customer, sample_order
from tests.doubles.odbc_erp import (
    ErpSimulator,
    PostgresOutage,
    SqliteOutage,
    create_schema,
    sql_file,
)

INJECTION = "Robert'); DROP TABLE jht_order_in;-- \" OR 1=1 /* 注入 */ ?"
BIG_MONEY = "12345678901.23"


# =========================================================================== databases


def make_connector(connection_string: str, dialect: str, **settings) -> OdbcConnector:
    return OdbcConnector(
        OdbcSettings(
            connection_string=connection_string,
            statements=sql_file(dialect, "statements.sql"),
            query_timeout_s=5,
            login_timeout_s=5,
            **settings,
        )
    )


def sqlite_connection_string(path: Path) -> str:
    # NoCreat: a missing file is an error, not a new empty database; Timeout: busy wait (ms).
    return f"Driver={{SQLite3}};Database={path};NoCreat=1;Timeout=200"


@pytest.fixture
def sqlite_db(tmp_path):
    path = tmp_path / "erp.db"
    pyodbc.connect(f"Driver={{SQLite3}};Database={path}").close()
    create_schema(sqlite_connection_string(path), "sqlite")
    outage = SqliteOutage(path)
    sim = ErpSimulator(sqlite_connection_string(path), "sqlite", outage)
    yield sqlite_connection_string(path), sim
    outage.come_back()


@pytest.fixture(scope="module")
def pg_database():
    """A fresh PostgreSQL database for this module (schema from interface.sql), dropped at the end."""
    url = urlsplit(require_postgresql())
    psycopg = require_module("psycopg")
    user, password = unquote(url.username or ""), unquote(url.password or "")
    host, port, base = url.hostname or "127.0.0.1", url.port or 5432, url.path.lstrip("/") or "postgres"
    name = f"jht_odbc_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(host=host, port=port, user=user, password=password, dbname=base, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    connection_string = (
        f"Driver={{PostgreSQL Unicode}};Server={host};Port={port};Database={name};Uid={user};Pwd={password}"
    )
    try:
        create_schema(connection_string, "postgresql")
        yield admin, name, connection_string
    finally:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def pg_db(pg_database):
    admin, name, connection_string = pg_database
    outage = PostgresOutage(admin, name)
    outage.come_back()
    sim = ErpSimulator(connection_string, "postgresql", outage)
    cnxn = pyodbc.connect(connection_string, autocommit=True)
    cnxn.cursor().execute(
        "TRUNCATE jht_order_line_in, jht_order_in, jht_customer_in, jht_command_in, jht_customer_merge_in,"
        " jht_event_line_out, jht_event_out, jht_stock RESTART IDENTITY CASCADE"
    )
    cnxn.close()
    yield connection_string, sim
    outage.come_back()


DIALECTS = ["sqlite", "postgresql"]


@pytest.fixture(params=DIALECTS)
def dialect(request) -> str:
    return request.param


@pytest.fixture
def db(dialect, request):
    """(connection string, simulator) on a fresh database of the dialect."""
    return request.getfixturevalue("sqlite_db" if dialect == "sqlite" else "pg_db")


@pytest.fixture
def conn(db, dialect):
    connector = make_connector(db[0], dialect)
    yield connector
    connector.close()


@pytest.fixture
def sim(db) -> ErpSimulator:
    return db[1]


# =========================================================================== the contract kit


class TestOdbcSqliteContract(ConnectorContract):
    """The shared connector contract through the SQLite3 ODBC driver."""

    @pytest.fixture
    def connector(self, sqlite_db):
        connector = make_connector(sqlite_db[0], "sqlite")
        yield connector
        connector.close()

    @pytest.fixture
    def erp(self, sqlite_db):
        return sqlite_db[1]


class TestOdbcPostgresContract(ConnectorContract):
    """The shared connector contract through psqlODBC (PostgreSQL Unicode)."""

    @pytest.fixture
    def connector(self, pg_db):
        connector = make_connector(pg_db[0], "postgresql")
        yield connector
        connector.close()

    @pytest.fixture
    def erp(self, pg_db):
        return pg_db[1]


# =========================================================================== SQL particulars


def test_statement_files_name_every_statement_with_bound_parameters_only():
    """Both reference statement files define every statement the connector runs."""
    for dialect in (*DIALECTS, "sqlserver"):
        statements = load_statements(sql_file(dialect, "statements.sql"))
        assert set(REQUIRED) <= set(statements), dialect
        assert "%s" not in "".join(statements.values())
    parsed = parse_statements("-- name: a\n-- a comment\nSELECT 1;\n\n-- name: b\nSELECT ?\n")
    assert parsed == {"a": "SELECT 1;", "b": "SELECT ?"}


def test_e1_injection_attempts_are_stored_verbatim(conn, sim):
    """E1, E4: SQL in customer name, remark, address and spec is data, stored as it came."""
    doc = sample_order("JHT-20261125-0100", remark=INJECTION)
    doc["customer"] = {**doc["customer"], "name": INJECTION}
    doc["ship_to"] = {**doc["ship_to"], "detail": INJECTION, "recipient": INJECTION}
    doc["lines"][0]["spec"] = INJECTION
    doc["lines"][1]["name"] = INJECTION
    conn.push_order({**doc, "_outbox_id": 1})
    conn.push_customer(sample_customer(9, name=INJECTION, contact_name=INJECTION))
    held = sim.orders()["JHT-20261125-0100"]
    assert (held["customer_name"], held["remark"], held["ship_detail"], held["ship_recipient"]) == (INJECTION,) * 4
    assert held["lines"][0]["spec"] == INJECTION and held["lines"][1]["name"] == INJECTION
    assert (sim.customers()[9]["name"], sim.customers()[9]["contact"]) == (INJECTION, INJECTION)


def test_e1_money_is_exact(conn, sim):
    """C7: amounts of 14 digits arrive to the cent (TEXT on SQLite, NUMERIC on PostgreSQL)."""
    doc = sample_order("JHT-20261125-0101", lines=1, total_amount=BIG_MONEY)
    doc["lines"][0].update(unit_price="1234567890.12", amount=BIG_MONEY, quantity=10)
    conn.push_order(doc)
    held = sim.orders()["JHT-20261125-0101"]
    assert Decimal(str(held["total_amount"])) == Decimal(BIG_MONEY)
    assert str(Decimal(str(held["total_amount"]))) == BIG_MONEY
    assert Decimal(str(held["lines"][0]["amount"])) == Decimal(BIG_MONEY)
    assert Decimal(str(held["lines"][0]["unit_price"])) == Decimal("1234567890.12")


def test_e1_the_erp_order_number_is_read_back_once_filled_in(conn, sim):
    """E1: a redelivery after the ERP imported the order returns the ERP's own number."""
    doc = sample_order("JHT-20261125-0102")
    assert conn.push_order(doc) is None
    assert conn.push_order(doc) is None
    sim.fill_erp_order_no("JHT-20261125-0102", "XS-2026-0042")
    assert conn.push_order(doc) == "XS-2026-0042"
    assert sim.import_count("JHT-20261125-0102") == 1


def test_e1_a_redelivery_is_refused_by_the_unique_key_and_then_looked_up(conn, sim, monkeypatch):
    """E1: the order number's unique key refuses a second delivery (after a lost answer, or by
    another worker meanwhile); only then is the order looked up, and found, it is "already
    delivered" with the ERP's number. A first delivery runs no look-up."""
    doc = sample_order("JHT-20261125-0103")
    executed: list = []
    opened = conn._open
    monkeypatch.setattr(conn, "_open", lambda: _Recorded(opened(), executed))
    assert conn.push_order(doc) is None
    assert conn.statement("select_erp_order_no") not in [sql for sql, _ in executed]
    sim.fill_erp_order_no("JHT-20261125-0103", "XS-7")
    executed.clear()
    assert conn.push_order(doc) == "XS-7"
    assert [sql for sql, _ in executed] == [conn.statement("insert_order"), conn.statement("select_erp_order_no")]
    assert len(sim.orders()["JHT-20261125-0103"]["lines"]) == 3 and sim.import_count("JHT-20261125-0103") == 1


def test_e1_a_refused_order_that_is_not_there_keeps_the_databases_words(conn, sim, monkeypatch):
    """E1, O3: a line refused by the database (here a line number given twice, against the
    lines' key) makes the order be looked up; not found, it fails with the refusal's own words,
    naming the statement. Nothing is kept (the header is rolled back with it), and the
    connection serves the next order."""
    doc = sample_order("JHT-20261125-0104")
    doc["lines"][1]["line_no"] = doc["lines"][0]["line_no"] = 1
    with pytest.raises(PermanentError, match="insert_order_line") as failed:
        conn.push_order(doc)
    assert "select_erp_order_no" not in str(failed.value)
    assert "JHT-20261125-0104" not in sim.orders()
    conn.push_order(sample_order("JHT-20261125-0105"))
    assert len(sim.orders()["JHT-20261125-0105"]["lines"]) == 3


def test_e1_a_failed_look_up_after_a_refusal_reports_the_refusal(conn, sim, monkeypatch):
    """E1: when the look-up after a refusal fails too (a broken select_erp_order_no), the
    message is the refusal that happened, not the look-up's."""
    doc = sample_order("JHT-20261125-0106")
    doc["lines"][1]["line_no"] = doc["lines"][0]["line_no"] = 1
    original = conn.statement
    monkeypatch.setattr(
        conn,
        "statement",
        lambda name: "SELECT no_such_column FROM jht_order_in" if name == "select_erp_order_no" else original(name),
    )
    with pytest.raises(PermanentError, match="insert_order_line") as failed:
        conn.push_order(doc)
    assert "no_such_column" not in str(failed.value)


class _Recorded:
    """A pyodbc connection (or cursor) that notes every statement executed through it."""

    def __init__(self, inner, executed: list):
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_executed", executed)

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def __setattr__(self, name, value):
        setattr(self._inner, name, value)

    def cursor(self):
        return _Recorded(self._inner.cursor(), self._executed)

    def execute(self, sql, *parameters):
        self._executed.append((sql, list(parameters)))
        self._inner.execute(sql, *parameters)
        return self


def test_p12_14_e8_render_is_each_statement_run_with_its_values_in_order(conn, sim, monkeypatch):
    """#12 point 14, E8: ``render`` shows each statement an operation runs, in order, with its
    bound values in order, without connecting or writing; the delivery then runs exactly those."""
    from bridge.documents import MERGE_SCHEMA
    from connectors.odbc.connector import _shown

    order = {**sample_order("JHT-20261125-0201", lines=2, remark=None), "_outbox_id": 1}
    customer = {**sample_customer(7), "_outbox_id": 2}
    command = {**sample_command("JHT-20261125-0201", "release"), "_outbox_id": 3}
    merge = {
        "schema": MERGE_SCHEMA,
        "survivor": {"id": 7, "erp_code": "C0007"},
        "absorbed": {"id": 9, "erp_code": None},
        "at": "2026-11-25T09:00:00+00:00",
        "_outbox_id": 4,
    }
    shown = [
        conn.render("push_order", order),
        conn.render("push_customer", customer),
        conn.render("order_command", command),
        conn.render("push_merge", merge),
    ]
    assert conn._cnxn is None and sim.orders() == {}  # nothing connected, nothing written
    assert [[part.title for part in parts] for parts in shown] == [
        ["insert_order", "insert_order_line", "insert_order_line"],
        ["upsert_customer"],
        ["insert_command"],
        ["merge_customer"],
    ]
    header = shown[0][0].text
    assert header.startswith(conn.statement("insert_order") + "\n  ?1 = 'JHT-20261125-0201'\n  ?2 = 1\n")
    assert "  ?4 = '无锡精工磨具有限公司'" in header and "  ?14 = NULL" in header
    assert shown[2][0].text.endswith("  ?1 = 'JHT-20261125-0201'\n  ?2 = 'release'\n  ?3 = '2026-11-25T08:30:00+00:00'")
    assert shown[3][0].text.endswith(
        "  ?1 = 7\n  ?2 = 'C0007'\n  ?3 = 9\n  ?4 = NULL\n  ?5 = '2026-11-25T09:00:00+00:00'"
    )

    executed: list = []
    opened = conn._open
    monkeypatch.setattr(conn, "_open", lambda: _Recorded(opened(), executed))
    conn.push_order(order)
    conn.push_customer(customer)
    conn.order_command("JHT-20261125-0201", "release", command["at"], command)
    conn.push_merge(merge)
    assert [_shown(sql, values) for sql, values in executed] == [part.text for parts in shown for part in parts]
    with pytest.raises(PermanentError, match="customer.name is missing"):  # as the delivery refuses it
        conn.render("push_order", {**order, "customer": {"id": 1}})


def test_e5_a_repeated_command_is_stored_once(conn, sim):
    conn.push_order(sample_order("JHT-20261125-0104"))
    for _ in range(3):
        conn.order_command("JHT-20261125-0104", "release", AT, sample_command("JHT-20261125-0104", "release"))
    assert sim.commands("JHT-20261125-0104") == ["release"]


def test_e6_a_constraint_error_is_permanent_with_the_erps_words(conn, sim):
    """E6: a value the table cannot hold is a permanent error keeping the driver's message, and
    the connection still works afterwards."""
    doc = sample_order("JHT-20261125-0105")
    doc["lines"][0]["name"] = None  # NOT NULL in the table, let through by a statement that defaults it
    with pytest.raises(PermanentError, match="name"):
        conn.push_order(doc)
    bad = {**sample_order("JHT-20261125-0106")}
    with pytest.raises(PermanentError):
        conn.order_command("JHT-20261125-0106", "explode", AT)
    conn.push_order(bad)
    assert "JHT-20261125-0106" in sim.orders()


def test_e6_a_syntax_error_in_the_statements_is_permanent(conn, dialect, tmp_path):
    text = sql_file(dialect, "statements.sql").read_text(encoding="utf-8")
    broken = tmp_path / "statements.sql"
    broken.write_text(
        text.replace("SELECT sku, quantity FROM jht_stock", "SELECT sku, quantity FROM no_such_table"), encoding="utf-8"
    )
    connector = OdbcConnector(OdbcSettings(connection_string=conn.settings.connection_string, statements=broken))
    try:
        with pytest.raises(PermanentError, match="no_such_table"):
            connector.query_stock(["WA-100"])
    finally:
        connector.close()


def test_e6_the_connection_is_reused_and_reopened_after_an_outage(conn, sim):
    """E6: one connection for many calls; after an outage the next call reconnects."""
    conn.push_order(sample_order("JHT-20261125-0107"))
    first = conn._cnxn
    conn.query_stock(["WA-100"])
    assert conn._cnxn is first and first is not None
    sim.go_down()
    try:
        with pytest.raises(TransientError):
            conn.query_stock(["WA-100"])
        assert conn._cnxn is None
    finally:
        sim.come_back()
    sim.set_stock({"WA-100": "7.250"})
    assert conn.query_stock(["WA-100"]) == {"WA-100": Decimal("7.25")}
    assert conn._cnxn is not None
    if conn._driver_timeout:  # SQLite3: ODBC's own timeout, applied by pyodbc to every statement
        assert conn._cnxn.timeout == 5
    else:  # psqlODBC refuses it: on_connect set statement_timeout on the server
        assert conn._cnxn.cursor().execute("SHOW statement_timeout").fetchone()[0] == "5s"


def test_e6_a_query_timeout_is_transient(pg_db, tmp_path):
    """E6: a statement running past query_timeout_s is cancelled and classified transient."""
    text = sql_file("postgresql", "statements.sql").read_text(encoding="utf-8")
    slow = tmp_path / "slow.sql"
    slow.write_text(
        text.replace("WHERE sku IN ({skus})", "WHERE sku IN ({skus}) AND pg_sleep(3) IS NOT NULL"), encoding="utf-8"
    )
    pg_db[1].set_stock({"WA-100": 1})
    connector = OdbcConnector(OdbcSettings(connection_string=pg_db[0], statements=slow, query_timeout_s=1))
    try:
        with pytest.raises(TransientError, match="57014|cancel"):
            connector.query_stock(["WA-100"])
    finally:
        connector.close()


def test_query_stock_with_many_skus(conn, sim):
    sim.set_stock({f"S-{n:04d}": n for n in range(1200)})
    stock = conn.query_stock([f"S-{n:04d}" for n in range(1300)])
    assert len(stock) == 1200 and stock["S-1199"] == Decimal(1199)


class _Err(pyodbc.Error):
    pass


@pytest.mark.parametrize(
    ("args", "transient"),
    [
        (("08001", "could not connect"), True),
        (("08S01", "communication link failure"), True),
        (("40001", "deadlock victim"), True),
        (("40P01", "deadlock detected"), True),
        (("HYT00", "timeout expired"), True),
        (("57P01", "terminating connection due to administrator command"), True),
        (("HY000", "[SQLite]database is locked (5) (5)"), True),
        (("HY000", "The connection has been lost;\nError while preparing parameters (1)"), True),
        (("23000", "Violation of PRIMARY KEY constraint"), False),
        (("23505", "duplicate key value"), False),
        (("42000", "permission denied"), False),
        (("42S02", "Invalid object name"), False),
        (("22001", "String or binary data would be truncated"), False),
        (("HY000", "[SQLite]UNIQUE constraint failed: t.a (19) (19)"), False),
        (("HY000", "[SQLite]no such table: x (1) (1)"), False),
        (("Invalid parameter type.  param-index=1 param-type=object", "HY105"), False),
    ],
)
def test_e6_errors_are_classified_by_sqlstate(args, transient):
    exc = _Err(*args)
    assert sqlstate(exc) in args
    assert is_transient(exc) is transient


def test_o3_check_names_a_missing_statement_and_a_missing_table(conn, dialect, tmp_path, db):
    text = sql_file(dialect, "statements.sql").read_text(encoding="utf-8")
    partial = tmp_path / "partial.sql"
    partial.write_text(
        text.replace("-- name: select_stock", "-- name: select_stock_renamed").replace(
            "jht_stock WHERE 1 = 0", "jht_stok WHERE 1 = 0"
        ),
        encoding="utf-8",
    )
    connector = OdbcConnector(OdbcSettings(connection_string=db[0], statements=partial))
    lines = {line.name: line for line in connector.check()}
    assert not lines["statement select_stock"].ok and "select_stock" in lines["statement select_stock"].detail
    assert not lines["table jht_stok"].ok and "jht_stok" in lines["table jht_stok"].detail
    assert lines["connect"].ok and lines["ODBC driver"].ok and lines["table jht_order_in"].ok


def test_o3_check_names_a_missing_driver(tmp_path):
    connector = OdbcConnector(
        OdbcSettings(
            connection_string="Driver={No Such Driver 99};Server=x",
            statements=sql_file("sqlite", "statements.sql"),
        )
    )
    lines = {line.name: line for line in connector.check()}
    assert not lines["ODBC driver"].ok and "No Such Driver 99" in lines["ODBC driver"].detail
    assert not lines["connect"].ok


def test_settings_from_the_config_folder_and_the_password_kept_secret(tmp_path):
    (tmp_path / "sql").mkdir()
    (tmp_path / "odbc.secret").write_text("Driver={SQLite3};Database=x.db;Pwd=hunter2\n", encoding="utf-8")
    settings = OdbcSettings.model_validate(
        {"connection_string_file": "odbc.secret", "statements": "sql/statements.sql"}, context={"base_dir": tmp_path}
    )
    assert settings.statements == tmp_path / "sql" / "statements.sql"
    assert settings.read_connection_string().endswith("Pwd=hunter2")
    shown = repr(OdbcSettings(connection_string="Driver={SQLite3};Pwd=hunter2", statements="s.sql"))
    assert "hunter2" not in shown
    with pytest.raises(ValueError):
        OdbcSettings.model_validate({"statements": "s.sql"})


def test_e7_the_config_file_selects_and_configures_the_connector(tmp_path, sqlite_db):
    """E7: [connector.odbc] in the config file builds the connector through the plugin, with
    paths relative to the config folder and the connection string from a file."""
    import connectors.odbc as plugin
    from bridge.config import load_config
    from bridge.plugins import load_connector, make_plugin_manager

    (tmp_path / "odbc.secret").write_text(sqlite_db[0], encoding="utf-8")
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "statements.sql").write_text(
        sql_file("sqlite", "statements.sql").read_text(encoding="utf-8"), encoding="utf-8"
    )
    path = tmp_path / "bridge.toml"
    path.write_text(
        '[connector]\nname = "odbc"\n\n[connector.odbc]\nconnection_string_file = "odbc.secret"\n'
        'statements = "sql/statements.sql"\nquery_timeout_s = 7\n',
        encoding="utf-8",
    )
    pm = make_plugin_manager(load_entrypoints=False, extra_plugins=(plugin,))
    connector = load_connector(load_config(path, environ={}), pm)
    try:
        assert isinstance(connector, OdbcConnector)
        assert connector.settings.statements == tmp_path / "sql" / "statements.sql"
        assert connector.settings.query_timeout_s == 7
        assert [line for line in connector.check() if not line.ok] == []
    finally:
        connector.close()


def test_the_simulator_runs_the_whole_loop(conn, sim):
    """E1–E3: order in, ERP import fills its number, events out, read back by the bridge."""
    conn.push_customer(sample_customer(1))
    conn.push_order(sample_order("JHT-20261125-0200"))
    assert sim.process() == 1
    erp_no = sim.orders()["JHT-20261125-0200"]["erp_order_no"]
    assert erp_no and conn.push_order(sample_order("JHT-20261125-0200")) == erp_no
    sim.emit("order.accepted", {"order_no": "JHT-20261125-0200", "erp_ref": erp_no})
    sim.emit(
        "order.shipment",
        {
            "order_no": "JHT-20261125-0200",
            "shipment_id": "S1",
            "courier": "顺丰速运",
            "tracking_no": "SF1",
            "lines": [{"sku": "WA-100", "quantity": Decimal("2.5")}],
        },
    )
    events, cursor = conn.pull_events(None)
    assert [e.kind for e in events] == ["order.accepted", "order.shipment"]
    assert events[1].data["lines"] == [{"sku": "WA-100", "quantity": 2.5}]
    assert cursor == events[-1].cursor and conn.pull_events(cursor) == ([], cursor)


# =========================================================================== with the sync engine


def test_e6_erp_database_outage_under_load_loses_nothing_and_doubles_nothing(engine, db, dialect, tmp_path):
    """E6: the bridge's worker delivering through this connector while the ERP database goes
    down (SQLite: locked by another process; PostgreSQL: sessions ended, connections refused)
    and comes back: every order arrives exactly once, with its lines."""
    import connectors.odbc as plugin
    from sqlmodel import Session, select

    from bridge.config import load_config
    from bridge.models import OutboxMessage, OutboxStatus
    from bridge.plugins import make_plugin_manager
    from bridge.app import open_runtime
    from bridge.worker import wait_until
    from tests.sync_helpers import make_shop, place

    connection_string, sim = db
    config = tmp_path / "bridge.toml"
    (tmp_path / "odbc.secret").write_text(connection_string, encoding="utf-8")  # it holds a password
    config.write_text(
        '[connector]\nname = "odbc"\n\n[connector.odbc]\n'
        f"connection_string_file = 'odbc.secret'\nstatements = '{sql_file(dialect, 'statements.sql')}'\n"
        "query_timeout_s = 5\nlogin_timeout_s = 2\n",
        encoding="utf-8",
    )
    environ = {
        "JHT_DATABASE__URL": engine.url.render_as_string(hide_password=False),
        "JHT_OUTBOX__POLL_INTERVAL_S": "0.05",
        "JHT_OUTBOX__LEASE_S": "5",
        "JHT_OUTBOX__BACKOFF_BASE_S": "0.1",
        "JHT_OUTBOX__BACKOFF_MAX_S": "0.5",
        "JHT_OUTBOX__MAX_ATTEMPTS": "1000",
        "JHT_INBOX__POLL_INTERVAL_S": "0.1",
    }
    rt = open_runtime(load_config(config, environ=environ), engine, pm=make_plugin_manager(extra_plugins=(plugin,)))
    assert isinstance(rt.connector, OdbcConnector)
    shop = make_shop(engine, customers=3)
    worker = rt.worker()
    worker.start()
    try:
        placed = [place(engine, shop, shop["customers"][i % 3]).order_no for i in range(5)]
        sim.go_down()
        try:
            placed += [place(engine, shop, shop["customers"][i % 3]).order_no for i in range(20)]

            def tried_and_failed():
                with Session(engine) as s:
                    rows = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "order.create")).all()
                return any(m.attempts >= 1 and m.last_error and m.status == OutboxStatus.PENDING for m in rows)

            assert wait_until(tried_and_failed, timeout=20)
        finally:
            sim.come_back()

        def all_delivered():
            with Session(engine) as s:
                return not s.exec(
                    select(OutboxMessage.id).where(
                        OutboxMessage.status != OutboxStatus.DELIVERED, OutboxMessage.target == "erp"
                    )
                ).first()

        assert wait_until(all_delivered, timeout=30)
        held = sim.orders()  # raises if an order number were there twice
        assert sorted(held) == sorted(placed)
        assert all(len(order["lines"]) == 1 for order in held.values())
    finally:
        worker.stop()
        worker.join(10)
        rt.connector.close()


def test_e3_an_event_committed_after_a_higher_one_is_not_missed(pg_db):
    """E3: PostgreSQL hands out the id at INSERT and shows the row at COMMIT, so the ERP's
    event 1 can appear after event 2 was read. It is still read, once; an id rolled back is
    given up after event_gap_wait_s."""
    connection_string, sim = pg_db
    connector = make_connector(connection_string, "postgresql")
    slow = pyodbc.connect(connection_string, autocommit=False)
    try:
        slow.cursor().execute(
            "INSERT INTO jht_event_out (kind, order_no, status) VALUES (?, ?, ?)",
            "order.status",
            "JHT-20261125-0301",
            "in_production",
        )  # id 1, not committed
        second = sim.emit("order.status", {"order_no": "JHT-20261125-0302", "status": "in_production"})
        events, cursor = connector.pull_events(None)
        assert [e.event_id for e in events] == [second] == ["2"]
        assert connector.pull_events(cursor)[0] == []  # still open: nothing new, nothing twice
        slow.commit()
        late, cursor = connector.pull_events(cursor)
        assert [(e.event_id, e.data["order_no"]) for e in late] == [("1", "JHT-20261125-0301")]
        assert cursor == "2" and connector.pull_events(cursor) == ([], "2")

        rolled_back = slow.cursor()
        rolled_back.execute("INSERT INTO jht_event_out (kind, order_no) VALUES ('order.released', 'JHT-X')")  # id 3
        slow.rollback()
        fourth = sim.emit("order.released", {"order_no": "JHT-20261125-0302"})
        events, cursor = connector.pull_events(cursor)
        assert [e.event_id for e in events] == [fourth] == ["4"] and cursor != "4"  # 3 is waited for
    finally:
        slow.close()
        connector.close()
    impatient = make_connector(connection_string, "postgresql", event_gap_wait_s=0)
    try:
        assert impatient.pull_events(cursor) == ([], "4")  # 3 never came: given up
    finally:
        impatient.close()
