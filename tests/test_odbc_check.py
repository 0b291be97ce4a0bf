"""`jht-bridge check` with the odbc connector (O3, issue 5), through the command line as an
operator runs it: a site made by `jht-bridge init`, its config switched to the odbc connector on
SQLite (SQLite3 ODBC driver) or PostgreSQL (psqlODBC) with the reference interface tables. Check
reports the driver, the connection, each named statement and each interface table, and when
something is wrong it says which, in the driver's own words."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pyodbc
import pytest
from typer.testing import CliRunner

from bridge.cli import app
from bridge.resources import etc_path
from connectors.odbc.statements import REQUIRED
from tests.conftest import require_module, require_postgresql
from tests.doubles.odbc_erp import TABLES, create_schema

runner = CliRunner()
LINE = re.compile(r"^\[(ok  |FAIL)\] connector odbc: ([^:]+): (.*)$")
READS = ("select_erp_order_no", "select_events", "select_event_lines", "select_stock")
WRITES = ("insert_order", "insert_order_line", "upsert_customer", "insert_command", "merge_customer")


class Site:
    """A bridge folder made by `jht-bridge init`, pointed at an ERP database through ODBC."""

    def __init__(self, folder: Path, dialect: str, connection_string: str):
        self.folder, self.dialect, self.connection_string = folder, dialect, connection_string
        self.config = folder / "bridge.toml"
        self.statements = folder / "statements.sql"

    def use_odbc(self, connection_string: str | None = None) -> None:
        """What the guide tells an operator to do: the connection string in a file, the
        reference statements copied beside the config, [connector] switched to odbc."""
        (self.folder / "odbc.secret").write_text((connection_string or self.connection_string) + "\n", encoding="utf-8")
        text = self.config.read_text(encoding="utf-8")
        text = re.sub(r'\[connector\]\nname = "filedrop"', '[connector]\nname = "odbc"', text)
        if "[connector.odbc]" not in text:
            text += '\n[connector.odbc]\nconnection_string_file = "odbc.secret"\nstatements = "statements.sql"\n'
        self.config.write_text(text, encoding="utf-8")

    def edit_statements(self, old: str, new: str) -> None:
        text = self.statements.read_text(encoding="utf-8")
        assert old in text
        self.statements.write_text(text.replace(old, new), encoding="utf-8")

    def execute(self, sql: str) -> None:
        cnxn = pyodbc.connect(self.connection_string, autocommit=True)
        try:
            cnxn.cursor().execute(sql)
        finally:
            cnxn.close()

    def count_rows(self) -> dict[str, int]:
        cnxn = pyodbc.connect(self.connection_string, autocommit=True)
        try:
            return {t: cnxn.cursor().execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}
        finally:
            cnxn.close()

    def check(self) -> tuple[int, dict[str, tuple[bool, str]], str]:
        """Runs `jht-bridge --config bridge.toml check`: (exit code, {line name: (ok, detail)}, output)."""
        result = runner.invoke(app, ["--config", str(self.config), "check"], catch_exceptions=False)
        lines = {}
        for line in result.output.splitlines():
            match = LINE.match(line)
            if match:
                lines[match.group(2)] = (match.group(1) == "ok  ", match.group(3))
        return result.exit_code, lines, result.output


def sqlite_connection_string(path: Path) -> str:
    # An absolute path: the driver opens it relative to the bridge's working folder otherwise.
    return f"Driver={{SQLite3}};Database={path};NoCreat=1"


@pytest.fixture
def bridge_folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JHT_CONFIG", raising=False)
    result = runner.invoke(app, ["init", "site"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    shutil.copy(etc_path("sql", "sqlite", "statements.sql"), tmp_path / "site" / "statements.sql")
    return tmp_path / "site"


@pytest.fixture
def pg_server():
    url = urlsplit(require_postgresql())
    psycopg = require_module("psycopg")
    user, password = unquote(url.username or ""), unquote(url.password or "")
    host, port = url.hostname or "127.0.0.1", url.port or 5432
    admin = psycopg.connect(
        host=host, port=port, user=user, password=password, dbname=url.path.lstrip("/") or "postgres", autocommit=True
    )
    made: list[str] = []

    def database() -> str:
        name = f"jht_check_{uuid.uuid4().hex[:10]}"
        admin.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return f"Driver={{PostgreSQL Unicode}};Server={host};Port={port};Database={name};Uid={user};Pwd={password}"

    yield database
    for name in made:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def site(request, bridge_folder) -> Site:
    """A bridge site on the odbc connector, the ERP database holding the reference tables."""
    dialect = request.param
    if dialect == "sqlite":
        path = bridge_folder / "erp.db"
        pyodbc.connect(f"Driver={{SQLite3}};Database={path}").close()
        connection_string = sqlite_connection_string(path)
    else:
        connection_string = request.getfixturevalue("pg_server")()
    create_schema(connection_string, dialect)
    shutil.copy(etc_path("sql", dialect, "statements.sql"), bridge_folder / "statements.sql")
    site = Site(bridge_folder, dialect, connection_string)
    site.use_odbc()
    return site


def test_o3_check_reports_driver_connection_every_statement_and_every_table(site):
    code, lines, output = site.check()
    assert code == 0, output
    driver = "SQLite3" if site.dialect == "sqlite" else "PostgreSQL Unicode"
    assert lines["ODBC driver"] == (True, f"{driver} found")
    assert lines["connect"][0] and ("SQLite" if site.dialect == "sqlite" else "PostgreSQL") in lines["connect"][1]
    assert lines["statements file"] == (
        True,
        f"{site.statements}: {11 if site.dialect == 'postgresql' else 10} statements",
    )
    for name in READS:
        assert lines[f"statement {name}"] == (True, "present, runs"), name
    for name in WRITES:
        if name != "insert_order":
            assert lines[f"statement {name}"] == (True, "present, runs (rolled back)"), name
    assert lines["statement insert_order"] == (
        True,
        "present, runs (rolled back); a second one with the same order number is refused, as it must be",
    )
    if site.dialect == "postgresql":
        assert lines["statement on_connect"] == (True, "present, runs")
    for table in TABLES:
        assert lines[f"table {table}"] == (True, "reachable"), table
    assert "Pwd=" not in output  # the connection target is shown, never the password


def test_o3_check_writes_nothing(site):
    site.check()
    assert set(site.count_rows().values()) == {0}


def test_o3_check_fails_an_insert_order_whose_table_takes_the_same_order_twice(site):
    """O3, E1: a delivery knows an order is already there by the refusal of the order number's
    unique key; check writes its probe order twice (rolled back) and fails a table that takes
    both, saying why. Nothing is kept."""
    site.execute("CREATE TABLE jht_order_nokey AS SELECT * FROM jht_order_in WHERE 1 = 0")
    site.edit_statements("INSERT INTO jht_order_in (", "INSERT INTO jht_order_nokey (")
    site.edit_statements(
        "-- name: check_tables\n", "-- name: check_tables\nSELECT order_no FROM jht_order_nokey WHERE 1 = 0;\n"
    )
    code, lines, output = site.check()
    assert code == 1, output
    ok, detail = lines["statement insert_order"]
    assert not ok and "a second one with the same order number went through too" in detail, detail
    assert "unique key" in detail and "rules 2 and 4" in detail
    assert sorted(name for name, (ok, _) in lines.items() if not ok) == ["statement insert_order"]
    assert lines["table jht_order_nokey"] == (True, "reachable")
    assert set(site.count_rows().values()) == {0}
    cnxn = pyodbc.connect(site.connection_string, autocommit=True)
    try:
        assert cnxn.cursor().execute("SELECT COUNT(*) FROM jht_order_nokey").fetchone()[0] == 0
    finally:
        cnxn.close()


def test_o3_a_wrong_driver_name_is_named_with_the_installed_ones(site):
    site.use_odbc(
        site.connection_string.replace("Driver={SQLite3}", "Driver={SQLite 3}").replace(
            "Driver={PostgreSQL Unicode}", "Driver={PostgreSQL Unicod}"
        )
    )
    code, lines, output = site.check()
    assert code == 1, output
    ok, detail = lines["ODBC driver"]
    assert not ok and "is not installed" in detail and "installed: " in detail and "odbcinst -q -d" in detail
    ok, detail = lines["connect"]
    assert not ok and "Can't open lib" in detail  # the driver manager's own words
    # Without a connection the statements are still looked for, and said not run.
    assert lines["statement select_events"] == (True, "present (not run: no connection)")
    assert not any(name.startswith("table ") for name in lines)


def test_o3_a_missing_database_is_a_failed_connect_with_the_drivers_message(site):
    if site.dialect == "sqlite":
        site.use_odbc(sqlite_connection_string(site.folder / "no-such-erp.db"))
        expected = "connect failed"
    else:
        site.use_odbc(re.sub(r"Database=[^;]+", "Database=jht_no_such_db", site.connection_string))
        expected = 'database "jht_no_such_db" does not exist'
    code, lines, output = site.check()
    assert code == 1, output
    ok, detail = lines["connect"]
    assert not ok and expected in detail, detail
    assert "\n" not in detail and "Pwd=" not in detail
    assert lines["ODBC driver"][0]


def test_o3_a_dropped_table_is_named_with_the_drivers_message(site):
    site.execute("DROP TABLE jht_stock")
    code, lines, output = site.check()
    assert code == 1, output
    expected = "no such table: jht_stock" if site.dialect == "sqlite" else 'relation "jht_stock" does not exist'
    ok, detail = lines["table jht_stock"]
    assert not ok and detail.startswith("fails: ") and expected in detail, detail
    ok, detail = lines["statement select_stock"]  # the statement reading it fails the same way
    assert not ok and expected in detail
    failed = sorted(name for name, (ok, _) in lines.items() if not ok)
    assert failed == ["statement select_stock", "table jht_stock"]


def test_o3_a_statement_missing_from_the_file_is_named(site):
    site.edit_statements("-- name: select_events\n", "-- name: select_event\n")
    code, lines, output = site.check()
    assert code == 1, output
    ok, detail = lines["statement select_events"]
    assert not ok and detail == f"missing from {site.statements}: add a '-- name: select_events' statement"
    ok, detail = lines["statement names"]
    assert not ok and detail.endswith("defines select_event, which the connector never runs (a misspelt name?)")


def test_o3_a_read_statement_returning_the_wrong_columns_is_caught(site):
    """An integrator's statement for their own tables that runs but returns columns the
    connector cannot use fails the check, not the first poll."""
    site.edit_statements("SELECT event_id, kind, order_no,", "SELECT event_id, kind AS event_kind, order_no,")
    site.edit_statements("SELECT sku, quantity FROM jht_stock", "SELECT sku, quantity, updated_at FROM jht_stock")
    code, lines, output = site.check()
    assert code == 1, output
    ok, detail = lines["statement select_events"]
    assert not ok and "returns no column kind" in detail
    ok, detail = lines["statement select_stock"]
    assert not ok and "returns 3 columns (sku, quantity, updated_at); the connector reads 2, by position" in detail


def test_o3_a_misspelt_column_alias_in_select_events_is_caught(bridge_folder):
    path = bridge_folder / "erp.db"
    pyodbc.connect(f"Driver={{SQLite3}};Database={path}").close()
    site = Site(bridge_folder, "sqlite", sqlite_connection_string(path))
    create_schema(site.connection_string, "sqlite")
    site.use_odbc()
    site.edit_statements("courier, tracking_no, shipped_at,\n", "courier, tracking_no AS tracking, shipped_at,\n")
    code, lines, output = site.check()
    assert code == 1, output
    ok, detail = lines["statement select_events"]
    assert not ok and detail.startswith("present, returns tracking, which the connector does not read")


def test_o3_a_missing_statements_file_points_at_the_reference_files(bridge_folder):
    (bridge_folder / "statements.sql").unlink()
    site = Site(bridge_folder, "sqlite", sqlite_connection_string(bridge_folder / "erp.db"))
    site.use_odbc()
    code, lines, output = site.check()
    assert code == 1, output
    ok, detail = lines["statements file"]
    assert not ok and str(site.statements) in detail and str(etc_path("sql")) in detail
    assert etc_path("sql", "sqlite", "statements.sql").is_file()


def test_o3_a_missing_connection_string_file_is_named(bridge_folder):
    site = Site(bridge_folder, "sqlite", sqlite_connection_string(bridge_folder / "erp.db"))
    site.use_odbc()
    (bridge_folder / "odbc.secret").unlink()
    code, lines, output = site.check()
    assert code == 1, output
    assert lines["connection string"] == (False, f"{bridge_folder / 'odbc.secret'}: No such file or directory")
    assert lines["statements file"][0]  # the statements are still looked at


def test_o3_check_lists_every_statement_the_connector_runs(site):
    _, lines, _ = site.check()
    assert {f"statement {name}" for name in REQUIRED} <= set(lines)
