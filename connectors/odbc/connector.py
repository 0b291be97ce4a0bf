"""The ODBC connector (``connector.name = "odbc"``): the bridge writes to and reads from SQL
interface tables (中间表) through pyodbc, with a DSN-less connection string.

Every statement it runs is a named statement in the SQL file the config names (``statements``):
the reference files in ``etc/sql/<dialect>/statements.sql`` target the reference interface
tables of ``etc/sql/<dialect>/interface.sql``; an integrator adapts them to an ERP's own tables
without touching Python. Parameters are always bound (``?``).

Behaviour:

- an order is written header and lines in one transaction (autocommit off, one commit); an order
  number already there is "already delivered": success, and the ERP's own order number is read
  back (``select_erp_order_no``) when the ERP has filled it in;
- a customer is upserted; a repeated command is ignored by the statement (or by its UNIQUE key);
- events are polled by ``event_id``; the cursor is the last event id, as text, with the ids
  skipped below it while they may still be committed (``bridge.idcursor``: an id is handed out at
  INSERT but seen at COMMIT, so ids do not become visible in order);
- errors are classified by SQLSTATE: connection (08xxx), deadlock/serialization (40001, 40P01),
  timeouts (HYT00, HYT01, 57014), server shutting down (57Pxx), too many connections (53300) and
  SQLite's busy/locked/cannot-open are transient and drop the connection, so the next call
  reconnects; integrity (23xxx), syntax/permission (42xxx) and data (22xxx) errors are permanent,
  with the driver's message kept. Anything unrecognised is transient (retried, never lost);
- one connection is reused for every call, reopened after a failure; ``connection.timeout`` (the
  query timeout, applied by pyodbc to every statement) is set on it, and the login timeout on
  connect. A driver that refuses it (psqlODBC) gets the timeout from the optional ``on_connect``
  statement, run once per connection with the timeout in milliseconds (as text) as parameter;
- ``check()`` (``jht-bridge check``) reports the driver, the connection, each named statement
  (those that only read are run with values no ERP has and their result columns checked; those
  that write are never run) and each ``check_tables`` query, with the driver's words on failure.

``docs/sql-connector.md`` is the integrator's guide: the statements, the reference tables, and a
worked example on an ERP's own tables (``docs/examples/sql-own-tables/``).
"""

from __future__ import annotations

import re
import threading
import time
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator, model_validator

from bridge import extras
from bridge.config import relative_to_config
from bridge.connector import (
    CheckLine,
    Connector,
    ConnectorContext,
    ErpEvent,
    PermanentError,
    Rendered,
    TransientError,
    check_command,
    command_args,
)
from bridge.idcursor import IdCursor, select_new
from bridge.resources import etc_path
from connectors.odbc.statements import (
    OPTIONAL,
    REQUIRED,
    StatementFileError,
    load_statements,
    placeholders,
    split_queries,
)

pyodbc = extras.LazyDriver("pyodbc")  # imported when an OdbcConnector is made: a file-drop install needs no libodbc

STOCK_CHUNK = 500
"""At most this many skus per ``select_stock`` call (drivers limit the number of parameters)."""

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
TARGET_KEYS = ("server", "port", "database", "dsn")


class OdbcSettings(BaseModel):
    """``[connector.odbc]``."""

    model_config = ConfigDict(extra="forbid")

    connection_string: SecretStr | None = None
    """DSN-less ODBC connection string, e.g. ``Driver={ODBC Driver 18 for SQL Server};Server=…;
    Database=…;Uid=…;Pwd=…``. It holds a password: prefer ``connection_string_file``."""
    connection_string_file: Path | None = None
    """A file holding the connection string (read at each connect), relative to the config folder."""
    statements: Path
    """The named-statement file, relative to the config folder."""
    query_timeout_s: int = Field(30, ge=0)
    """Query timeout set on the connection for every call (0: none)."""
    login_timeout_s: int = Field(10, ge=0)
    event_gap_wait_s: float = Field(300, ge=0)
    """An event id skipped while higher ones are read (its writer's transaction still open) is
    looked for again this long before it is taken as an id that will never come (a rollback)."""
    event_gap_max: int = Field(100, ge=0)
    """A jump of more ids than this at once is a jump of the sequence (SQL Server's identity
    cache after a restart), not that many open transactions: it is not waited for."""

    @field_validator("statements", "connection_string_file")
    @classmethod
    def _relative_to_config(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return relative_to_config(value, info)

    @model_validator(mode="after")
    def _one_source(self) -> "OdbcSettings":
        if (self.connection_string is None) == (self.connection_string_file is None):
            raise ValueError("set exactly one of connection_string and connection_string_file")
        return self

    def read_connection_string(self) -> str:
        if self.connection_string is not None:
            return self.connection_string.get_secret_value()
        assert self.connection_string_file is not None
        return self.connection_string_file.read_text(encoding="utf-8").strip()


class _Document(Exception):
    """The document cannot be written as it is (becomes PermanentError after rollback)."""


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
    if state == "HY000":
        if CONNECTION_LOST.search(text):
            return True
        if "[SQLite]" in text:
            return not SQLITE_PERMANENT.search(text) or bool(SQLITE_TRANSIENT.search(text))
    return True


def _text(value: Any, field: str, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise _Document(f"{field} is missing")
        return None
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)
    raise _Document(f"{field}: {value!r} is not text")


def _decimal(value: Any, field: str, *, required: bool = True) -> str | None:
    """A decimal as exact text (bound as a string: no float, no driver rounding)."""
    if value is None:
        if required:
            raise _Document(f"{field} is missing")
        return None
    if isinstance(value, bool):
        raise _Document(f"{field}: {value!r} is not a number")
    try:
        number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError, TypeError):
        raise _Document(f"{field}: {value!r} is not a number") from None
    if not number.is_finite():
        raise _Document(f"{field}: {value!r} is not a number")
    return format(number, "f")


def _integer(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise _Document(f"{field}: {value!r} is not an integer")
    try:
        return int(value)
    except ValueError:
        raise _Document(f"{field}: {value!r} is not an integer") from None


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    return None if value is None else str(value)


def _quantity(value: Any) -> int | float:
    number = Decimal(str(value))
    return int(number) if number == number.to_integral_value() else float(number)


def order_parameters(doc: dict[str, Any]) -> tuple[list[Any], list[Callable[[], list[Any]]]]:
    """The ``insert_order`` parameters and, for each line, a function giving its
    ``insert_order_line`` parameters (called inside the transaction, so a bad late line fails
    after the header was written and is rolled back)."""
    order_no = _text(doc.get("order_no"), "order_no", required=True)
    customer = doc.get("customer")
    if not isinstance(customer, dict):
        raise _Document("customer is missing")
    lines = doc.get("lines")
    if not isinstance(lines, list) or not lines:
        raise _Document("an order needs at least one line")
    ship = doc.get("ship_to") or {}
    if not isinstance(ship, dict):
        raise _Document("ship_to is not an object")
    header = [
        order_no,
        _integer(customer.get("id"), "customer.id"),
        _text(customer.get("erp_code"), "customer.erp_code"),
        _text(customer.get("name"), "customer.name", required=True),
        None if doc.get("customer_type") is None else _integer(doc.get("customer_type"), "customer_type"),
        1 if doc.get("released") else 0,
        _iso(doc.get("placed_at")),
        *(_text(ship.get(k), f"ship_to.{k}") for k in ("recipient", "phone", "province", "city", "district", "detail")),
        _text(doc.get("remark"), "remark"),
        _decimal(doc.get("total_amount"), "total_amount"),
    ]

    def line_parameters(n: int, line: Any) -> list[Any]:
        if not isinstance(line, dict):
            raise _Document(f"line {n}: not an object")
        where = f"line {line.get('line_no', n)}"
        return [
            order_no,
            _integer(line.get("line_no", n), f"{where}: line_no"),
            _text(line.get("sku"), f"{where}: sku", required=True),
            _text(line.get("erp_item_code"), f"{where}: erp_item_code"),
            _text(line.get("name"), f"{where}: name", required=True),
            _text(line.get("spec"), f"{where}: spec"),
            _text(line.get("marking"), f"{where}: marking"),
            _decimal(line.get("quantity"), f"{where}: quantity"),
            _text(line.get("unit"), f"{where}: unit"),
            _decimal(line.get("unit_price"), f"{where}: unit_price"),
            _decimal(line.get("amount"), f"{where}: amount"),
        ]

    return header, [lambda n=n, line=line: line_parameters(n, line) for n, line in enumerate(lines, 1)]


def _order_parameters(doc: dict[str, Any]) -> tuple[list[Any], list[Callable[[], list[Any]]]]:
    try:
        return order_parameters(doc)
    except _Document as exc:
        raise PermanentError(f"order {doc.get('order_no')}: {exc}") from None


def _customer_parameters(doc: dict[str, Any]) -> list[Any]:
    """The ``upsert_customer`` parameters (PermanentError for a document that cannot be written)."""
    try:
        return [
            _integer(doc.get("id"), "id"),
            _text(doc.get("name"), "name", required=True),
            None if doc.get("type") is None else _integer(doc.get("type"), "type"),
            _text(doc.get("phone"), "phone"),
            _text(doc.get("contact_name"), "contact_name"),
            _text(doc.get("erp_code"), "erp_code"),
            _iso(doc.get("updated_at")),
        ]
    except _Document as exc:
        raise PermanentError(f"customer {doc.get('id')}: {exc}") from None


def _command_parameters(order_no: str, command: str, at: datetime | str) -> list[Any]:
    """The ``insert_command`` parameters."""
    check_command(order_no, command)
    if not order_no or not isinstance(order_no, str):
        raise PermanentError("order command without an order number")
    return [order_no, command, _iso(at)]


def _shown(sql: str, values: list[Any]) -> str:
    """A statement and its bound values in order, one per ``?``, for people (never run)."""
    shown = [sql]
    for n, value in enumerate(values, 1):
        shown.append(f"  ?{n} = {'NULL' if value is None else repr(value)}")
    return "\n".join(shown)


def connection_target(connection_string: str) -> str:
    """``Server=…;Port=…;Database=…`` of a connection string, for messages (never the password)."""
    parts = []
    for item in connection_string.split(";"):
        key, _, value = item.partition("=")
        if key.strip().lower() in TARGET_KEYS and value.strip():
            parts.append(f"{key.strip()}={value.strip()}")
    return ";".join(parts) or "(no server or database in the connection string)"


def connection_driver(connection_string: str) -> str | None:
    for item in connection_string.split(";"):
        key, _, value = item.partition("=")
        if key.strip().lower() == "driver":
            return value.strip().strip("{}")
    return None


def connection_dsn(connection_string: str) -> str | None:
    for item in connection_string.split(";"):
        key, _, value = item.partition("=")
        if key.strip().lower() == "dsn":
            return value.strip()
    return None


# -- jht-bridge check ---------------------------------------------------------------------

PROBE_TEXT = "JHT-CHECK-0"
PROBE_ID = 2**31 - 1
READ_PROBES: dict[str, tuple[tuple[Any, ...], tuple[str, ...] | int]] = {
    # statement: (parameters no ERP has, so nothing is returned; the result columns the
    # connector reads: these names, or exactly this many, read by position)
    "select_erp_order_no": ((PROBE_TEXT,), 1),
    "select_events": ((PROBE_ID, 1), ("event_id", "kind")),
    "select_event_lines": ((PROBE_ID, PROBE_ID), 3),
    "select_stock": ((PROBE_TEXT,), 2),
}


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


def _dbms(cnxn: pyodbc.Connection) -> str:
    """`` (PostgreSQL 15.18)``: what the driver says it is connected to, for the check line."""
    try:
        return f" ({cnxn.getinfo(pyodbc.SQL_DBMS_NAME)} {cnxn.getinfo(pyodbc.SQL_DBMS_VER)})"
    except pyodbc.Error:
        return ""


def _attempt(cnxn: pyodbc.Connection, sql: str, *parameters: Any, commit: bool = False) -> str | None:
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


def _end(cnxn: pyodbc.Connection, *, commit: bool) -> None:
    try:
        cnxn.commit() if commit else cnxn.rollback()
    except pyodbc.Error:
        pass


def _probe(cnxn: pyodbc.Connection, name: str, sql: str) -> str | None:
    """Run a read statement with ``READ_PROBES`` values; None when it runs and returns the
    columns the connector reads, else what is wrong."""
    parameters, wanted = READ_PROBES[name]
    sql = sql.replace("{skus}", placeholders(1))
    try:
        cursor = cnxn.cursor().execute(sql, *parameters)
        columns = [d[0].lower() for d in cursor.description or ()]
        if columns:
            cursor.fetchall()
    except pyodbc.Error as exc:
        return f"fails: {_one_line(error_text(exc))}"
    finally:
        _end(cnxn, commit=False)
    if not columns:
        return "returns no result set (it must be a SELECT)"
    if isinstance(wanted, int):
        if len(columns) != wanted:
            got = _count(len(columns), "column", "columns")
            return f"returns {got} ({', '.join(columns)}); the connector reads {wanted}, by position"
        return None
    missing = [c for c in wanted if c not in columns]
    if missing:
        return f"returns no column {', '.join(missing)} (it returns {', '.join(columns)})"
    # select_events is read by column name: a misspelt alias would lose its value quietly.
    unread = [c for c in columns if c not in wanted and c not in EVENT_FIELDS]
    if unread:
        known = ", ".join(wanted + EVENT_FIELDS)
        return f"returns {', '.join(unread)}, which the connector does not read (it reads {known})"
    return None


EVENT_FIELDS = (
    "order_no",
    "status",
    "erp_ref",
    "note",
    "shipment_id",
    "courier",
    "tracking_no",
    "shipped_at",
    "order_status",
    "customer_id",
    "erp_code",
)


class OdbcConnector(Connector):
    """SQL interface tables through pyodbc."""

    name = "odbc"
    description = "SQL interface tables (中间表) through ODBC: SQL Server, PostgreSQL, SQLite…"
    Settings = OdbcSettings

    def __init__(self, settings: Any, context: ConnectorContext | None = None):
        extras.driver("pyodbc")  # MissingDriver (install jht-bridge[odbc]) before anything else
        context = context or ConnectorContext()
        if not isinstance(settings, OdbcSettings):
            settings = OdbcSettings.model_validate(settings, context={"base_dir": context.base_dir})
        super().__init__(settings, context)
        self._lock = threading.RLock()
        self._cnxn: pyodbc.Connection | None = None
        self._statements: dict[str, str] | None = None
        self._driver_timeout = True

    # -- plumbing -------------------------------------------------------------------------

    def statements(self) -> dict[str, str]:
        if self._statements is None:
            try:
                self._statements = load_statements(self.settings.statements)
            except StatementFileError as exc:
                raise PermanentError(f"statements file: {exc}") from None
        return self._statements

    def statement(self, name: str) -> str:
        sql = self.statements().get(name)
        if not sql:
            raise PermanentError(f"statement {name!r} is missing from {self.settings.statements}")
        return sql

    def _open(self) -> pyodbc.Connection:
        cnxn = pyodbc.connect(
            self.settings.read_connection_string(), autocommit=False, timeout=self.settings.login_timeout_s
        )
        try:
            cnxn.timeout = self.settings.query_timeout_s  # pyodbc sets it on every statement
            self._driver_timeout = True
        except pyodbc.Error:
            # psqlODBC refuses SQL_ATTR_CONNECTION_TIMEOUT: the optional on_connect statement
            # sets the timeout server-side (PostgreSQL: statement_timeout), once per connection.
            self._driver_timeout = False
        setup = self.statements().get("on_connect")
        if setup:
            try:
                cnxn.cursor().execute(setup, str(self.settings.query_timeout_s * 1000))
                cnxn.commit()
            except pyodbc.Error:
                cnxn.close()
                raise
        return cnxn

    def _drop(self) -> None:
        cnxn, self._cnxn = self._cnxn, None
        if cnxn is not None:
            try:
                cnxn.close()
            except pyodbc.Error:
                pass

    def _run(self, work: Callable[[pyodbc.Connection], Any]) -> Any:
        """Run ``work`` on the shared connection; classify what goes wrong."""
        with self._lock:
            try:
                if self._cnxn is None:
                    self._cnxn = self._open()
                cnxn = self._cnxn
                if self._driver_timeout and cnxn.timeout != self.settings.query_timeout_s:
                    cnxn.timeout = self.settings.query_timeout_s
                return work(cnxn)
            except pyodbc.Error as exc:
                text = error_text(exc)
                state = sqlstate(exc)
                if state and not text.startswith(f"[{state}]"):
                    text = f"[{state}] {text}"
                if is_transient(exc):
                    self._drop()
                    raise TransientError(text) from exc
                self._rollback()
                raise PermanentError(text) from exc
            except OSError as exc:  # the connection string file
                self._drop()
                raise TransientError(f"connection string file: {exc}") from exc

    def _rollback(self) -> None:
        if self._cnxn is not None:
            try:
                self._cnxn.rollback()
            except pyodbc.Error:
                self._drop()

    # -- outgoing -------------------------------------------------------------------------

    def push_order(self, doc: dict[str, Any]) -> str | None:
        header, lines = _order_parameters(doc)
        order_no = header[0]
        insert_order, insert_line = self.statement("insert_order"), self.statement("insert_order_line")
        self.statement("select_erp_order_no")

        def delivered(cursor) -> tuple[bool, str | None]:
            row = cursor.execute(self.statement("select_erp_order_no"), order_no).fetchone()
            return (row is not None, None if row is None or row[0] is None else str(row[0]))

        def work(cnxn):
            cursor = cnxn.cursor()
            found, ref = delivered(cursor)
            if found:  # already delivered
                cnxn.rollback()
                return ref
            try:
                cursor.execute(insert_order, *header)
                for parameters in lines:
                    cursor.execute(insert_line, *parameters())
            except _Document as exc:
                cnxn.rollback()
                raise PermanentError(f"order {order_no}: {exc}") from None
            except pyodbc.Error as exc:
                if not is_integrity(exc):
                    raise
                cnxn.rollback()
                found, ref = delivered(cursor)  # delivered meanwhile by another worker
                cnxn.rollback()
                if found:
                    return ref
                raise
            cnxn.commit()
            return None

        return self._run(work)

    def push_customer(self, doc: dict[str, Any]) -> str | None:
        parameters = _customer_parameters(doc)
        upsert = self.statement("upsert_customer")

        def work(cnxn):
            cnxn.cursor().execute(upsert, *parameters)
            cnxn.commit()

        self._run(work)
        return None

    def order_command(self, order_no: str, command: str, at: datetime | str, doc: dict[str, Any] | None = None) -> None:
        parameters = _command_parameters(order_no, command, at)
        insert = self.statement("insert_command")

        def work(cnxn):
            try:
                cnxn.cursor().execute(insert, *parameters)
            except pyodbc.Error as exc:
                if not is_integrity(exc):
                    raise
                cnxn.rollback()  # the command is already there: repeating it is harmless
                return
            cnxn.commit()

        self._run(work)

    def render(self, operation: str, doc: dict[str, Any]) -> list[Rendered] | None:
        """The statements ``operation`` runs for ``doc``, in order, each with its bound values
        (the same parameter builders as the delivery; statements from the statements file, no
        connection made). An order first looks itself up (``select_erp_order_no``): found, it
        is already delivered and nothing is written (E8)."""
        if operation == "push_order":
            header, lines = _order_parameters(doc)
            try:
                line_parameters = [parameters() for parameters in lines]
            except _Document as exc:
                raise PermanentError(f"order {header[0]}: {exc}") from None
            runs = [("select_erp_order_no", [header[0]]), ("insert_order", header)]
            runs += [("insert_order_line", parameters) for parameters in line_parameters]
        elif operation == "push_customer":
            runs = [("upsert_customer", _customer_parameters(doc))]
        elif operation == "order_command":
            runs = [("insert_command", _command_parameters(*command_args(doc)))]
        elif operation == "push_merge":
            # Nothing is sent while the class keeps the contract's do-nothing push_merge.
            return [] if type(self).push_merge is Connector.push_merge else None
        else:
            raise PermanentError(f"the SQL connector has no operation {operation!r}")
        return [Rendered(name, _shown(self.statement(name), values)) for name, values in runs]

    # -- incoming -------------------------------------------------------------------------

    def query_stock(self, skus: list[str]) -> dict[str, Decimal]:
        wanted = list(dict.fromkeys(s for s in skus if s))
        template = self.statement("select_stock")
        if not wanted:
            return {}

        def work(cnxn):
            cursor = cnxn.cursor()
            stock: dict[str, Decimal] = {}
            for start in range(0, len(wanted), STOCK_CHUNK):
                chunk = wanted[start : start + STOCK_CHUNK]
                sql = template.replace("{skus}", placeholders(len(chunk)))
                for sku, quantity in cursor.execute(sql, *chunk).fetchall():
                    if quantity is not None:
                        stock[str(sku)] = Decimal(str(quantity))
            cnxn.commit()
            return stock

        return self._run(work)

    def pull_events(self, cursor: str | None, limit: int = 100) -> tuple[list[ErpEvent], str | None]:
        """Events after the cursor, read by id. Ids skipped while higher ones are read (their
        transaction committed later) are looked for again for ``event_gap_wait_s``: see
        ``bridge.idcursor``; the events read again are deduplicated by the bridge."""
        try:
            position = IdCursor.parse(cursor)
        except (ValueError, KeyError, TypeError):
            raise PermanentError(f"event cursor {cursor!r} is not an event id") from None
        position.expire(time.time(), self.settings.event_gap_wait_s)
        low = position.read_from()
        select_events, select_lines = self.statement("select_events"), self.statement("select_event_lines")

        def work(cnxn):
            db = cnxn.cursor()
            db.execute(select_events, low, int(limit) + (position.after - low))
            names = [d[0].lower() for d in db.description]
            rows = [dict(zip(names, row)) for row in db.fetchall()]
            lines: dict[int, list[tuple[str, Any]]] = {}
            if rows:
                first, last = int(rows[0]["event_id"]), int(rows[-1]["event_id"])
                for event_id, sku, quantity in db.execute(select_lines, first, last).fetchall():
                    lines.setdefault(int(event_id), []).append((str(sku), quantity))
            cnxn.commit()
            return rows, lines

        rows, lines = self._run(work)
        by_id = {int(row["event_id"]): row for row in rows}
        taken = select_new(
            position,
            sorted(by_id),
            int(limit),
            gap_wait_s=self.settings.event_gap_wait_s,
            max_gap=self.settings.event_gap_max,
        )
        events = [self._event(by_id[event_id], lines.get(event_id, []), after) for event_id, after in taken]
        return events, position.text()

    def _event(self, row: dict[str, Any], lines: list[tuple[str, Any]], cursor: str) -> ErpEvent:
        event_id = str(int(row["event_id"]))
        kind = str(row.get("kind") or "")
        source = f"jht_event_out#{event_id}"
        data: dict[str, Any] = {}
        try:
            for key in EVENT_FIELDS:
                value = row.get(key)
                if value is not None:
                    data[key] = int(value) if key == "customer_id" else str(value)
            if kind == "order.shipment":
                data["lines"] = [{"sku": sku, "quantity": _quantity(q)} for sku, q in lines]
            elif kind == "stock":
                data["items"] = {sku: _quantity(q) for sku, q in lines}
        except (ValueError, InvalidOperation, TypeError) as exc:
            return ErpEvent(event_id, kind, {}, cursor=cursor, problem=f"unreadable event: {exc}", source=source)
        return ErpEvent(event_id, kind, data, cursor=cursor, source=source)

    # -- operations -----------------------------------------------------------------------

    def check(self) -> list[CheckLine]:
        """What ``jht-bridge check`` prints for this connector, one line per thing that must work:
        the ODBC driver (or data source), the connection (with the database's name and version),
        ``on_connect``, each named statement, each ``check_tables`` query. The statements that only
        read are run with values no ERP has (they return nothing) and their result columns are
        checked against what the connector reads; the ones that write are only looked for: check
        never writes. A failure carries the driver's own words."""
        lines: list[CheckLine] = []
        try:
            connection_string: str | None = self.settings.read_connection_string()
        except OSError as exc:
            connection_string = None
            lines.append(
                CheckLine("connection string", False, f"{self.settings.connection_string_file}: {exc.strerror or exc}")
            )
        else:
            lines += _check_driver(connection_string)
        cnxn = None
        if connection_string is not None:
            try:
                cnxn = pyodbc.connect(connection_string, autocommit=False, timeout=self.settings.login_timeout_s or 10)
            except pyodbc.Error as exc:
                lines.append(
                    CheckLine("connect", False, f"{connection_target(connection_string)}: {_one_line(error_text(exc))}")
                )
            else:
                target = connection_target(connection_string)
                lines.append(CheckLine("connect", True, f"connected to {target}{_dbms(cnxn)}"))
        try:
            try:
                statements = load_statements(self.settings.statements)
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
                lines += self._check_statements(statements, cnxn)
        finally:
            if cnxn is not None:
                try:
                    cnxn.close()
                except pyodbc.Error:
                    pass
        return lines

    def _check_statements(self, statements: dict[str, str], cnxn: pyodbc.Connection | None) -> list[CheckLine]:
        where = self.settings.statements
        lines = [CheckLine("statements file", True, f"{where}: {_count(len(statements), 'statement', 'statements')}")]
        if cnxn is not None:
            try:
                cnxn.timeout = self.settings.query_timeout_s
            except pyodbc.Error:
                pass  # the driver does not take it: on_connect sets it (as for the real calls)
            if statements.get("on_connect"):
                timeout_ms = str(self.settings.query_timeout_s * 1000)
                problem = _attempt(cnxn, statements["on_connect"], timeout_ms, commit=True)
                lines.append(CheckLine("statement on_connect", problem is None, f"present, {problem or 'runs'}"))
        for name in REQUIRED:
            sql = statements.get(name)
            if not sql:
                lines.append(
                    CheckLine(f"statement {name}", False, f"missing from {where}: add a '-- name: {name}' statement")
                )
            elif name == "check_tables":
                queries = _count(len(split_queries(sql)), "query", "queries")
                lines.append(CheckLine(f"statement {name}", True, f"present: {queries}, run below"))
            elif name not in READ_PROBES:
                lines.append(CheckLine(f"statement {name}", True, "present (it writes: not run by check)"))
            elif cnxn is None:
                lines.append(CheckLine(f"statement {name}", True, "present (not run: no connection)"))
            else:
                problem = _probe(cnxn, name, sql)
                lines.append(CheckLine(f"statement {name}", problem is None, f"present, {problem or 'runs'}"))
        unknown = sorted(set(statements) - set(REQUIRED) - set(OPTIONAL))
        if unknown:
            lines.append(
                CheckLine(
                    "statement names",
                    False,
                    f"{where} defines {', '.join(unknown)}, which the connector never runs (a misspelt name?)",
                )
            )
        if cnxn is not None:
            for query in split_queries(statements.get("check_tables", "")):
                match = re.search(r"\bfrom\s+([^\s;]+)", query, re.IGNORECASE)
                name = f"table {match.group(1)}" if match else f"query {query}"
                problem = _attempt(cnxn, query)
                lines.append(CheckLine(name, problem is None, problem or "reachable"))
        return lines

    def close(self) -> None:
        with self._lock:
            self._drop()
