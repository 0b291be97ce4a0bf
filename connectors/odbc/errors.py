"""What a driver error means for the odbc connector: transient (retry later) or permanent (a
dead letter at once), and the words a person needs to fix it — the statement that failed, what
it binds, and for a value too long the column it did not fit (where the driver's metadata lets
us name it; psqlODBC and older SQL Server drivers name none).

Classified by SQLSTATE: connection (08xxx), deadlock/serialization (40001, 40P01), timeouts
(HYT00, HYT01, 57014), server shutting down (57Pxx), too many connections (53300) and SQLite's
busy/locked/cannot-open are transient; integrity (23xxx), syntax/permission (42xxx), data
(22xxx) errors and a statement whose ``?`` count is not what the connector binds are permanent.
Anything unrecognised is transient (retried, never lost)."""

from __future__ import annotations

import re
from typing import Any

from bridge import extras
from connectors.odbc.statements import PARAMETERS

pyodbc = extras.LazyDriver("pyodbc")

TRANSIENT_SQLSTATES = {"40001", "40P01", "HYT00", "HYT01", "57014", "53300", "55P03", "HY008"}
TRANSIENT_PREFIXES = ("08", "57P")
PERMANENT_PREFIXES = ("23", "42", "22", "44", "HY1", "07", "21", "27")
# The SQLite ODBC driver reports every error as HY000 with SQLite's own code in the text:
# 5 busy, 6 locked, 10 I/O error, 14 cannot open, 13 full; 19 constraint; 1 SQL error, 20 mismatch.
SQLITE_TRANSIENT = re.compile(r"\((5|6|10|13|14)\)|database is locked|connect failed")
SQLITE_INTEGRITY = re.compile(r"\[SQLite\].*(\(19\)|constraint failed)")
# psqlODBC reports a broken connection as HY000 with words like these.
CONNECTION_LOST = re.compile(
    r"connection has been lost|no connection to the server|server closed the connection|could not send data"
    r"|terminating connection|connection to server .* failed|communication link",
    re.IGNORECASE,
)
SQLITE_PERMANENT = re.compile(r"\((1|19|20|25)\)")
# pyodbc's own refusal (HY000) before anything reaches the database: the statement's "?" count
# is not the number of values the connector binds. No retry can change that.
WRONG_PARAMETER_COUNT = re.compile(r"contains (\d+) parameter markers, but (\d+) parameters were supplied")
TOO_LONG = "22001"


def sqlstate(exc: BaseException) -> str:
    """The SQLSTATE of a pyodbc error (args[0]; pyodbc puts it second for a few of its own)."""
    for arg in getattr(exc, "args", ())[:2]:
        if isinstance(arg, str) and re.fullmatch(r"[0-9A-Z]{5}", arg):
            return arg
    return ""


def error_text(exc: BaseException) -> str:
    args = [a for a in getattr(exc, "args", ()) if isinstance(a, str)]
    state = sqlstate(exc)
    texts = [a for a in args if a != state]
    return texts[0] if texts else str(exc)


def is_integrity(exc: BaseException) -> bool:
    state = sqlstate(exc)
    return (
        isinstance(exc, pyodbc.IntegrityError)
        or state.startswith("23")
        or (state == "HY000" and bool(SQLITE_INTEGRITY.search(error_text(exc))))
    )


def is_transient(exc: BaseException) -> bool:
    state, text = sqlstate(exc), error_text(exc)
    if state in TRANSIENT_SQLSTATES or state.startswith(TRANSIENT_PREFIXES):
        return True
    if state.startswith(PERMANENT_PREFIXES) or is_integrity(exc):
        return False
    if WRONG_PARAMETER_COUNT.search(text):
        return False
    if state == "HY000":
        if CONNECTION_LOST.search(text):
            return True
        if "[SQLite]" in text:
            return not SQLITE_PERMANENT.search(text) or bool(SQLITE_TRANSIENT.search(text))
    return True


def explain(exc: BaseException, statement: str | None = None) -> str:
    """The driver's words with the SQLSTATE, and for a ``?`` count that does not match, what
    the connector binds to ``statement``."""
    text, state = error_text(exc), sqlstate(exc)
    if state and not text.startswith(f"[{state}]"):
        text = f"[{state}] {text}"
    names = PARAMETERS.get(statement or "")
    if names and WRONG_PARAMETER_COUNT.search(text):
        text += f"; the connector binds {len(names)}, in this order: {', '.join(names)} (docs/sql-connector.md §2)"
    return text


class StatementError(Exception):
    """A driver error raised by one named statement: which, and what it was given."""

    def __init__(self, statement: str, sql: str, parameters: list[Any], error: BaseException):
        super().__init__(statement, error)
        self.statement, self.sql, self.parameters, self.error = statement, sql, parameters, error


def execute(cursor, statement: str, sql: str, *parameters: Any):
    """``cursor.execute`` that names the statement when the driver refuses it (``StatementError``
    carrying the driver's error); the callers classify ``.error``."""
    try:
        return cursor.execute(sql, *parameters)
    except pyodbc.Error as exc:
        raise StatementError(statement, sql, list(parameters), exc) from exc


# -- a value too long for its column ---------------------------------------------------

_TARGET = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|MERGE(?:\s+INTO)?)\s+([\w.\[\]\"]+)", re.IGNORECASE)
_FROM = re.compile(r"\b(?:FROM|JOIN)\s+([\w.\[\]\"]+)", re.IGNORECASE)
_INSERT = re.compile(r"INSERT\s+INTO\s+[\w.\[\]\"]+\s*\(([^)]*)\)\s*VALUES\s*\((.*)\)", re.IGNORECASE | re.DOTALL)


def _bare(name: str) -> str:
    return name.split(".")[-1].strip('[]"')


def _text_columns(cnxn, table: str) -> dict[str, tuple[str, int]]:
    """{column: (type, size)} of the character columns of ``table``, from the driver's metadata."""
    try:
        rows = cnxn.cursor().columns(table=table).fetchall()
    except pyodbc.Error:
        return {}
    return {
        r.column_name: (r.type_name, int(r.column_size))
        for r in rows
        if r.column_size and "char" in str(r.type_name).lower()
    }


def _insert_mapping(sql: str) -> list[str | None]:
    """For ``INSERT INTO t (a, b) VALUES (?, CAST(? AS …))``: the column of each ``?``, in order."""
    match = _INSERT.search(sql)
    if not match:
        return []
    columns = [_bare(c.strip()) for c in match.group(1).split(",")]
    values = re.split(r",(?![^(]*\))", match.group(2))
    if len(columns) != len(values):
        return []
    mapping: list[str | None] = []
    for column, value in zip(columns, values):
        mapping += [column] * value.count("?")
    return mapping


def too_long(cnxn, error: StatementError) -> str | None:
    """For a value too long (SQLSTATE 22001): which parameter did not fit which column, from the
    column sizes the driver reports; None when they do not tell."""
    names = PARAMETERS.get(error.statement, ())
    columns: dict[str, tuple[str, str, int]] = {}
    # The written table; where the statement names it by an alias (UPDATE o … FROM T AS o), the
    # tables it reads from.
    for pattern in (_TARGET, _FROM):
        for table in dict.fromkeys(_bare(t) for t in pattern.findall(error.sql)):
            for column, (kind, size) in _text_columns(cnxn, table).items():
                columns.setdefault(column.lower(), (f"{table}.{column}", kind, size))
        if columns:
            break
    if not columns:
        return None
    by_position = _insert_mapping(error.sql)
    found = []
    for n, value in enumerate(error.parameters):
        if not isinstance(value, str):
            continue
        name = names[n] if n < len(names) else f"parameter {n + 1}"
        column = by_position[n] if n < len(by_position) else None
        guesses = [columns[c.lower()] for c in (column, name) if c and c.lower() in columns]
        if guesses:
            where, kind, size = guesses[0]
            if len(value) > size:
                found.append(f"{name} ({len(value)} characters) does not fit column {where} ({kind} {size})")
        else:
            shorter = [f"{w} ({k} {s})" for w, k, s in columns.values() if s < len(value)]
            if shorter:
                found.append(f"{name} ({len(value)} characters) is longer than {' or '.join(shorter)}")
    return "; ".join(found) or None
