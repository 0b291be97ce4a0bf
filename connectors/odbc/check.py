"""``jht-bridge check`` for the odbc connector: one line per thing that must work — the ODBC
driver (or data source), the connection (with the database's name and version), ``on_connect``,
each named statement, each ``check_tables`` query — with the driver's own words on failure.

The statements that only read are run with values no ERP has (they return nothing) and their
result columns are checked against what the connector reads. The statements that write are run
with such values too, each in a transaction that is rolled back at once: a wrong column, a wrong
number of ``?`` or a missing INSERT right shows here, not at the first delivery, and nothing is
kept. A probe row refused by a constraint (a customer or item the statement looks up and does
not find) is what an ERP's tables should do with made-up values: the statement ran. A probe
order that goes in is written a second time in the same transaction, which must be refused:
the order number's unique key is what makes a redelivery harmless.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bridge import extras
from bridge.connector import CheckLine
from bridge.resources import etc_path
from connectors.odbc.errors import error_text, explain, is_integrity
from connectors.odbc.statements import (
    CHANGE_FIELDS,
    EVENT_FIELDS,
    OPTIONAL,
    WRITING,
    StatementFileError,
    expand_lists,
    load_statements,
    required,
    split_queries,
)

pyodbc = extras.LazyDriver("pyodbc")

TARGET_KEYS = ("server", "port", "database", "dsn")
PROBE_TEXT = "JHT-CHECK-0"
PROBE_ID = 2**31 - 1
PROBE_AT = "2000-01-01T00:00:00+00:00"
PROBE_TIME = datetime(9999, 1, 1)

READ_PROBES: dict[str, tuple[tuple[Any, ...], tuple[str, ...] | tuple[int, ...]]] = {
    # statement: (parameters no ERP has, so nothing is returned; the result columns the
    # connector reads: these names, or this many, read by position)
    "select_erp_order_no": ((PROBE_TEXT,), (1,)),
    "select_events": ((PROBE_ID, 1), ("event_id", "kind")),
    "select_event_lines": ((PROBE_ID, PROBE_ID), (3, 4)),
    "select_changes": ((PROBE_TIME, 1), ("row_key", "modified_at", "kind")),
    "select_change_lines": ((), (3, 4)),
    "select_stock": ((), (2,)),
}

WRITE_PROBES: dict[str, tuple[Any, ...]] = {
    # Values of the right type that no ERP has; the statement runs in a transaction rolled back.
    "insert_order": (PROBE_TEXT, PROBE_ID, None, "jht-bridge check", 1, 0, PROBE_AT) + ("-",) * 6 + (None, "0.00"),
    "insert_order_line": (PROBE_TEXT, 1, PROBE_TEXT, None, "jht-bridge check", None, None, "1", None, "0.00", "0.00"),
    "upsert_customer": (PROBE_ID, "jht-bridge check", 1, None, None, None, PROBE_AT),
    "insert_command": (PROBE_TEXT, "release", PROBE_AT),
    "merge_customer": (PROBE_ID, None, PROBE_ID - 1, None, PROBE_AT),
}


def connection_target(connection_string: str) -> str:
    parts = []
    for item in connection_string.split(";"):
        key, _, value = item.partition("=")
        if key.strip().lower() in TARGET_KEYS and value.strip():
            parts.append(f"{key.strip()}={value.strip()}")
    return ";".join(parts) or "(no server or database in the connection string)"


def _connection_value(connection_string: str, wanted: str) -> str | None:
    for item in connection_string.split(";"):
        key, _, value = item.partition("=")
        if key.strip().lower() == wanted:
            return value.strip()
    return None


def connection_driver(connection_string: str) -> str | None:
    value = _connection_value(connection_string, "driver")
    return None if value is None else value.strip("{}")


def connection_dsn(connection_string: str) -> str | None:
    return _connection_value(connection_string, "dsn")


def check_connector(connector, *, writes: bool = True) -> list[CheckLine]:
    """The check lines of ``connector`` (an ``OdbcConnector``); ``writes=False`` leaves the
    writing statements unrun (``ready``: asked every few seconds, it must lock nothing)."""
    settings = connector.settings
    lines: list[CheckLine] = []
    try:
        connection_string: str | None = settings.read_connection_string()
    except OSError as exc:
        connection_string = None
        lines.append(CheckLine("connection string", False, f"{settings.connection_string_file}: {exc.strerror or exc}"))
    else:
        lines += _check_driver(connection_string)
    cnxn = None
    if connection_string is not None:
        try:
            cnxn = pyodbc.connect(connection_string, autocommit=False, timeout=settings.login_timeout_s or 10)
        except pyodbc.Error as exc:
            lines.append(
                CheckLine("connect", False, f"{connection_target(connection_string)}: {_one_line(error_text(exc))}")
            )
        else:
            target = connection_target(connection_string)
            lines.append(CheckLine("connect", True, f"connected to {target}{_dbms(cnxn)}"))
    try:
        try:
            statements = load_statements(settings.statements)
        except StatementFileError as exc:
            lines.append(
                CheckLine(
                    "statements file",
                    False,
                    f"{exc}; the reference statements for each database are in {etc_path('sql')}"
                    "/<sqlserver|postgresql|sqlite>/statements.sql",
                )
            )
        else:
            lines += _check_statements(settings, statements, cnxn, writes=writes)
    finally:
        if cnxn is not None:
            try:
                cnxn.close()
            except pyodbc.Error:
                pass
    return lines


def _check_statements(settings, statements: dict[str, str], cnxn, *, writes: bool) -> list[CheckLine]:
    where = settings.statements
    lines = [CheckLine("statements file", True, f"{where}: {_count(len(statements), 'statement', 'statements')}")]
    if cnxn is not None:
        try:
            cnxn.timeout = settings.query_timeout_s
        except pyodbc.Error:
            pass  # the driver does not take it: on_connect sets it (as for the real calls)
        if statements.get("on_connect"):
            timeout_ms = str(settings.query_timeout_s * 1000)
            problem = _attempt(cnxn, statements["on_connect"], timeout_ms, commit=True)
            lines.append(CheckLine("statement on_connect", problem is None, f"present, {problem or 'runs'}"))
    needed = required(settings.event_cursor)
    for name in needed + ("merge_customer",):
        sql = statements.get(name)
        if name == "merge_customer" and not sql:
            lines.append(_merge_line(settings, where))
        elif not sql:
            lines.append(
                CheckLine(f"statement {name}", False, f"missing from {where}: add a '-- name: {name}' statement")
            )
        elif name == "check_tables":
            queries = _count(len(split_queries(sql)), "query", "queries")
            lines.append(CheckLine(f"statement {name}", True, f"present: {queries}, run below"))
        elif cnxn is None:
            lines.append(CheckLine(f"statement {name}", True, "present (not run: no connection)"))
        elif name in WRITING or name == "merge_customer":
            if not writes:
                lines.append(CheckLine(f"statement {name}", True, "present (it writes: run by jht-bridge check only)"))
                continue
            before = statements.get("insert_order") if name == "insert_order_line" else None
            lines.append(CheckLine(f"statement {name}", *_probe_write(cnxn, name, sql, before)))
        else:
            problem = _probe(cnxn, name, sql)
            lines.append(CheckLine(f"statement {name}", problem is None, f"present, {problem or 'runs'}"))
    unknown = sorted(set(statements) - set(needed) - set(OPTIONAL))
    mode = "" if settings.event_cursor == "id" else f' with event_cursor = "{settings.event_cursor}"'
    if unknown:
        lines.append(
            CheckLine(
                "statement names",
                False,
                f"{where} defines {', '.join(unknown)}, which the connector never runs{mode} (a misspelt name?)",
            )
        )
    if cnxn is not None:
        for query in split_queries(statements.get("check_tables", "")):
            match = re.search(r"\bfrom\s+([^\s;]+)", query, re.IGNORECASE)
            name = f"table {match.group(1)}" if match else f"query {query}"
            problem = _attempt(cnxn, query)
            lines.append(CheckLine(name, problem is None, problem or "reachable"))
    return lines


def _merge_line(settings, where) -> CheckLine:
    if "customer.merge" in settings.skip:
        return CheckLine(
            "statement merge_customer", True, 'absent: customer merges are skipped (skip = ["customer.merge"])'
        )
    return CheckLine(
        "statement merge_customer",
        False,
        f"missing from {where}: a customer merge would be a dead letter; add a '-- name: merge_customer' "
        'statement, or set skip = ["customer.merge"] in [connector.odbc] if the ERP merges customers by hand',
    )


def _check_driver(connection_string: str) -> list[CheckLine]:
    driver, dsn = connection_driver(connection_string), connection_dsn(connection_string)
    if driver is not None:
        installed = pyodbc.drivers()
        found = driver.casefold() in {d.casefold() for d in installed}
        return [
            CheckLine(
                "ODBC driver",
                found,
                f"{driver} found"
                if found
                else f"{driver} is not installed (installed: {', '.join(installed) or 'none'}); see odbcinst -q -d",
            )
        ]
    if dsn is not None:
        sources = {name.casefold(): (name, drv) for name, drv in pyodbc.dataSources().items()}
        name, drv = sources.get(dsn.casefold(), (None, None))
        return [
            CheckLine(
                "ODBC data source",
                name is not None,
                f"{name} found (driver {drv})"
                if name is not None
                else f"{dsn} is not defined (defined: {', '.join(n for n, _ in sources.values()) or 'none'}); see odbcinst -q -s",
            )
        ]
    return [CheckLine("ODBC driver", False, "the connection string names no Driver={…} (nor DSN=…)")]


def _one_line(text: str) -> str:
    """A driver message on one line (psqlODBC's carry the server's line breaks)."""
    return " ".join(text.split())


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _dbms(cnxn) -> str:
    """`` (PostgreSQL 15.18)``: what the driver says it is connected to, for the check line."""
    try:
        return f" ({cnxn.getinfo(pyodbc.SQL_DBMS_NAME)} {cnxn.getinfo(pyodbc.SQL_DBMS_VER)})"
    except pyodbc.Error:
        return ""


def _attempt(cnxn, sql: str, *parameters: Any, commit: bool = False) -> str | None:
    """Run one query for the check; None when it ran, else the driver's message. Rolled back
    (PostgreSQL refuses anything after a failure in the same transaction) unless ``commit``."""
    try:
        cursor = cnxn.cursor().execute(sql, *parameters)
        if cursor.description is not None:
            cursor.fetchall()
    except pyodbc.Error as exc:
        _end(cnxn, commit=False)
        return f"fails: {_one_line(error_text(exc))}"
    _end(cnxn, commit=commit)
    return None


def _end(cnxn, *, commit: bool) -> None:
    try:
        cnxn.commit() if commit else cnxn.rollback()
    except pyodbc.Error:
        pass


def _probe_write(cnxn, name: str, sql: str, before: str | None) -> tuple[bool, str]:
    """Run a writing statement with ``WRITE_PROBES`` values in a transaction rolled back at
    once (``insert_order_line`` after ``insert_order``, so that it finds its header): (ok, what
    the check line says). A constraint refusing the made-up values is ok: the statement ran."""
    try:
        cursor = cnxn.cursor()
        if before:
            try:
                cursor.execute(before, *WRITE_PROBES["insert_order"])
            except pyodbc.Error:
                _end(cnxn, commit=False)  # insert_order's own line says what is wrong with it
                cursor = cnxn.cursor()
        cursor.execute(sql, *WRITE_PROBES[name])
    except pyodbc.Error as exc:
        _end(cnxn, commit=False)
        words = _one_line(explain(exc, name))
        if is_integrity(exc):
            return True, f"present, runs (rolled back); a constraint refused the made-up values, as it may: {words}"
        return False, f"present, fails: {words}"
    if name == "insert_order":
        return _probe_duplicate(cnxn, cursor, sql)
    _end(cnxn, commit=False)
    return True, "present, runs (rolled back)"


def _probe_duplicate(cnxn, cursor, sql: str) -> tuple[bool, str]:
    """``insert_order`` once more with the same order number, in the same rolled-back
    transaction: the delivery counts on its refusal (the order number's unique key) to know an
    order is already there, so a second one that goes through is a failure of the check."""
    try:
        cursor.execute(sql, *WRITE_PROBES["insert_order"])
    except pyodbc.Error:
        _end(cnxn, commit=False)
        return True, "present, runs (rolled back); a second one with the same order number is refused, as it must be"
    _end(cnxn, commit=False)
    return False, (
        "present, runs, but a second one with the same order number went through too (rolled back): the order "
        "number needs a unique key that refuses a second row, or every redelivery writes the order again "
        "(docs/sql-connector.md §5, rules 2 and 4)"
    )


def _probe(cnxn, name: str, sql: str) -> str | None:
    """Run a read statement with ``READ_PROBES`` values; None when it runs and returns the
    columns the connector reads, else what is wrong."""
    parameters, wanted = READ_PROBES[name]
    sql, listed = expand_lists(sql, {"skus": [PROBE_TEXT], "erp_item_codes": [PROBE_TEXT], "row_keys": []})
    try:
        cursor = cnxn.cursor().execute(sql, *parameters, *listed)
        columns = [d[0].lower() for d in cursor.description or ()]
        if columns:
            cursor.fetchall()
    except pyodbc.Error as exc:
        return f"fails: {_one_line(explain(exc, name))}"
    finally:
        _end(cnxn, commit=False)
    if not columns:
        return "returns no result set (it must be a SELECT)"
    if isinstance(wanted[0], int):
        if len(columns) not in wanted:
            got = _count(len(columns), "column", "columns")
            reads = " or ".join(str(n) for n in wanted)
            return f"returns {got} ({', '.join(columns)}); the connector reads {reads}, by position"
        return None
    missing = [c for c in wanted if c not in columns]
    if missing:
        return f"returns no column {', '.join(missing)} (it returns {', '.join(columns)})"
    # Events are read by column name: a misspelt alias would lose its value quietly.
    fields = EVENT_FIELDS + (CHANGE_FIELDS if name == "select_changes" else ())
    unread = [c for c in columns if c not in wanted and c not in fields]
    if unread:
        known = ", ".join(wanted + fields)
        return f"returns {', '.join(unread)}, which the connector does not read (it reads {known})"
    return None
