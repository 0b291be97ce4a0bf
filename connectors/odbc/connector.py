"""The ODBC connector (``connector.name = "odbc"``): the bridge writes to and reads from SQL
interface tables (中间表), or an ERP's own tables, through pyodbc, with a DSN-less connection
string.

Every statement it runs is a named statement in the SQL file the config names (``statements``):
the reference files in ``etc/sql/<dialect>/statements.sql`` target the reference interface
tables of ``etc/sql/<dialect>/interface.sql``; an integrator adapts them to an ERP's own tables
without touching Python. Parameters are always bound (``?``).

Behaviour:

- an order is written header and lines in one transaction (autocommit off, one commit); an order
  number already there (its unique key refuses the insert) is "already delivered": success, and
  the ERP's own order number is read back (``select_erp_order_no``) when the ERP has filled it in;
- a customer is upserted; a repeated command is ignored by the statement (or by its UNIQUE key);
  a customer merge runs the optional ``merge_customer``; without it a merge is a dead letter
  naming the statement, unless ``skip`` lists ``customer.merge`` (a decision, not a silence);
- events are polled by ``event_id`` (``event_cursor = "id"``); the cursor is the last event id,
  as text, with the ids skipped below it while they may still be committed (``bridge.idcursor``:
  an id is handed out at INSERT but seen at COMMIT, so ids do not become visible in order). An
  ERP without an events table is polled by the modification time of its own rows instead
  (``event_cursor = "modified_time"``, ``connectors.odbc.timecursor``);
- stock and shipment lines speak the shop's sku and, where the bridge knows it, the ERP's item
  code (``ConnectorContext.item_codes``): ``select_stock`` may key by either;
- errors are classified by ``connectors.odbc.errors``; a transient one drops the connection, so
  the next call reconnects; a permanent one names the statement and keeps the driver's message;
- one connection is reused for every call, reopened after a failure; ``connection.timeout`` (the
  query timeout, applied by pyodbc to every statement) is set on it, and the login timeout on
  connect. A driver that refuses it (psqlODBC) gets the timeout from the optional ``on_connect``
  statement, run once per connection with the timeout in milliseconds (as text) as parameter;
- ``check()`` (``jht-bridge check``, ``connectors.odbc.check``) reports the driver, the
  connection, each named statement (run with values no ERP has; those that write inside a
  transaction rolled back) and each ``check_tables`` query, with the driver's words on failure.

``docs/sql-connector.md`` is the integrator's guide: the statements, the reference tables, and
worked examples on an ERP's own tables (``docs/examples/sql-own-tables/``).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable, Literal

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
from connectors.odbc.check import check_connector
from connectors.odbc.errors import (  # noqa: F401 (sqlstate, is_transient: this module's API since issue 5)
    TOO_LONG,
    StatementError,
    error_text,
    execute,
    explain,
    is_integrity,
    is_transient,
    sqlstate,
    too_long,
)
from connectors.odbc.statements import (
    EVENT_FIELDS,
    StatementFileError,
    expand_lists,
    load_statements,
)
from connectors.odbc.timecursor import TimeCursor, Window, as_time, change_id

pyodbc = extras.LazyDriver("pyodbc")  # imported when an OdbcConnector is made: a file-drop install needs no libodbc

STOCK_CHUNK = 500
"""At most this many skus (or row keys) per call (drivers limit the number of parameters)."""


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
    event_cursor: Literal["id", "modified_time"] = "id"
    """How events are read: ``id``, from an events table by its growing id (``select_events``);
    ``modified_time``, from the ERP's own rows by their modification time (``select_changes``),
    for an ERP without an events table (``connectors.odbc.timecursor``)."""
    look_back_s: float = Field(300, ge=0)
    """``modified_time``: each poll reads again the rows modified up to this long before the
    newest one read, so a row whose transaction committed late (an older time) is still read."""
    skip: list[Literal["customer.merge"]] = []
    """Messages this ERP does not take, delivered as done without a statement: a decision made in
    the config (``customer.merge``: the ERP merges customers by hand). Without it, a message whose
    optional statement is missing is a dead letter naming the statement."""

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


def _merge_parameters(doc: dict[str, Any]) -> list[Any]:
    """The ``merge_customer`` parameters (PermanentError for a document that cannot be written)."""
    try:
        survivor, absorbed = doc.get("survivor"), doc.get("absorbed")
        if not isinstance(survivor, dict) or not isinstance(absorbed, dict):
            raise _Document("survivor and absorbed are required")
        return [
            _integer(survivor.get("id"), "survivor.id"),
            _text(survivor.get("erp_code"), "survivor.erp_code"),
            _integer(absorbed.get("id"), "absorbed.id"),
            _text(absorbed.get("erp_code"), "absorbed.erp_code"),
            _iso(doc.get("at")),
        ]
    except _Document as exc:
        raise PermanentError(f"customer merge: {exc}") from None


def _shown(sql: str, values: list[Any]) -> str:
    """A statement and its bound values in order, one per ``?``, for people (never run)."""
    shown = [sql]
    for n, value in enumerate(values, 1):
        shown.append(f"  ?{n} = {'NULL' if value is None else repr(value)}")
    return "\n".join(shown)


class OdbcConnector(Connector):
    """SQL interface tables (or an ERP's own tables) through pyodbc."""

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
        self._window = Window()

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
                execute(cnxn.cursor(), "on_connect", setup, str(self.settings.query_timeout_s * 1000))
                cnxn.commit()
            except StatementError:
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

    def _run(self, work: Callable[[pyodbc.Connection, pyodbc.Cursor], Any]) -> Any:
        """Run ``work`` on the shared connection and a new cursor of it; classify what goes wrong."""
        with self._lock:
            try:
                if self._cnxn is None:
                    self._cnxn = self._open()
                cnxn = self._cnxn
                if self._driver_timeout and cnxn.timeout != self.settings.query_timeout_s:
                    cnxn.timeout = self.settings.query_timeout_s
                return work(cnxn, cnxn.cursor())
            except StatementError as failed:
                exc, text = failed.error, f"statement {failed.statement}: {explain(failed.error, failed.statement)}"
                if is_transient(exc):
                    self._drop()
                    raise TransientError(text) from exc
                self._rollback()
                if sqlstate(exc) == TOO_LONG and self._cnxn is not None:
                    column = too_long(self._cnxn, failed)
                    self._rollback()
                    if column:
                        text += f" ({column})"
                raise PermanentError(text) from exc
            except pyodbc.Error as exc:
                text = explain(exc)
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
        """Header and lines in one transaction. The order number's unique key is what makes a
        redelivery harmless: when a statement is refused, the order is looked up
        (``select_erp_order_no``), and found, it was delivered before (a redelivery after a lost
        answer, or another worker meanwhile) and its ERP number, if any, is the answer. A
        delivery that goes through pays no look-up."""
        header, lines = _order_parameters(doc)
        order_no = header[0]
        insert_order, insert_line = self.statement("insert_order"), self.statement("insert_order_line")
        select_erp_order_no = self.statement("select_erp_order_no")

        def work(cnxn, cursor):
            try:
                execute(cursor, "insert_order", insert_order, *header)
                for parameters in lines:
                    execute(cursor, "insert_order_line", insert_line, *parameters())
            except _Document as exc:
                cnxn.rollback()
                raise PermanentError(f"order {order_no}: {exc}") from None
            except StatementError as failed:
                if is_transient(failed.error):
                    raise  # the connection is gone: the next try tells
                cnxn.rollback()
                try:
                    row = execute(cursor, "select_erp_order_no", select_erp_order_no, order_no).fetchone()
                except StatementError as lookup:
                    if is_transient(lookup.error):
                        raise
                    raise failed from None  # the refusal is the news, not the failed look-up
                cnxn.rollback()
                if row is None:
                    raise
                return None if row[0] is None else str(row[0])  # already delivered
            cnxn.commit()
            return None

        return self._run(work)

    def push_customer(self, doc: dict[str, Any]) -> str | None:
        parameters = _customer_parameters(doc)
        upsert = self.statement("upsert_customer")

        def work(cnxn, cursor):
            execute(cursor, "upsert_customer", upsert, *parameters)
            cnxn.commit()

        self._run(work)
        return None

    def push_merge(self, doc: dict[str, Any]) -> None:
        """``merge_customer`` with the survivor and the absorbed customer; without the
        statement a dead letter naming it, unless ``skip`` lists ``customer.merge``."""
        sql = self.statements().get("merge_customer")
        if not sql:
            if "customer.merge" in self.settings.skip:
                return None
            raise PermanentError(
                f"statement 'merge_customer' is missing from {self.settings.statements}: add it, or set "
                'skip = ["customer.merge"] in [connector.odbc] if the ERP merges customers by hand '
                "(then retry this message)"
            )
        parameters = _merge_parameters(doc)

        self._write_once("merge_customer", sql, parameters)

    def order_command(self, order_no: str, command: str, at: datetime | str, doc: dict[str, Any] | None = None) -> None:
        self._write_once("insert_command", self.statement("insert_command"), _command_parameters(order_no, command, at))

    def _write_once(self, name: str, sql: str, parameters: list[Any]) -> None:
        """Run a statement that writes a row once: a unique key refusing it means the row is
        already there (a redelivery), which is success."""

        def work(cnxn, cursor):
            try:
                execute(cursor, name, sql, *parameters)
            except StatementError as failed:
                if not is_integrity(failed.error):
                    raise
                cnxn.rollback()  # already there: repeating it is harmless
                return
            cnxn.commit()

        self._run(work)

    def render(self, operation: str, doc: dict[str, Any]) -> list[Rendered] | None:
        """The statements ``operation`` runs for ``doc``, in order, each with its bound values
        (the same parameter builders as the delivery; statements from the statements file, no
        connection made). An order is its header and lines; only when one is refused does the
        delivery look the order up (``select_erp_order_no``), so that is not shown (E8)."""
        if operation == "push_order":
            header, lines = _order_parameters(doc)
            try:
                line_parameters = [parameters() for parameters in lines]
            except _Document as exc:
                raise PermanentError(f"order {header[0]}: {exc}") from None
            runs = [("insert_order", header)]
            runs += [("insert_order_line", parameters) for parameters in line_parameters]
        elif operation == "push_customer":
            runs = [("upsert_customer", _customer_parameters(doc))]
        elif operation == "order_command":
            runs = [("insert_command", _command_parameters(*command_args(doc)))]
        elif operation == "push_merge":
            if not self.statements().get("merge_customer"):
                if "customer.merge" in self.settings.skip:
                    return []  # skipped by the settings: nothing is sent
                raise PermanentError("statement 'merge_customer' is missing: the merge would be a dead letter")
            runs = [("merge_customer", _merge_parameters(doc))]
        else:
            raise PermanentError(f"the SQL connector has no operation {operation!r}")
        return [Rendered(name, _shown(self.statement(name), values)) for name, values in runs]

    # -- incoming -------------------------------------------------------------------------

    def _erp_item_codes(self, skus: list[str]) -> dict[str, str]:
        lookup = self.context.item_codes
        return {} if lookup is None or not skus else dict(lookup.erp_item_codes(skus))

    def _skus(self, codes: list[str]) -> dict[str, str]:
        lookup = self.context.item_codes
        return {} if lookup is None or not codes else dict(lookup.skus(codes))

    def query_stock(self, skus: list[str]) -> dict[str, Decimal]:
        """``select_stock`` with ``{skus}`` (the shop's codes) and ``{erp_item_codes}`` (the ERP's
        codes of those products the bridge knows one for), each replaced by its ``?`` list; the
        statement returns (code, quantity) where the code is either, and the answer is by sku."""
        wanted = list(dict.fromkeys(s for s in skus if s))
        template = self.statement("select_stock")
        if not wanted:
            return {}
        codes = self._erp_item_codes(wanted) if "{erp_item_codes}" in template else {}

        def work(cnxn, cursor):
            stock: dict[str, Decimal] = {}
            for start in range(0, len(wanted), STOCK_CHUNK):
                chunk = wanted[start : start + STOCK_CHUNK]
                by_code = {codes[s]: s for s in chunk if s in codes}
                sql, values = expand_lists(template, {"skus": chunk, "erp_item_codes": list(by_code)})
                for key, quantity in execute(cursor, "select_stock", sql, *values).fetchall():
                    key = str(key)
                    sku = key if key in chunk else by_code.get(key)
                    if sku is not None and quantity is not None:
                        stock[sku] = Decimal(str(quantity))
            cnxn.commit()
            return stock

        return self._run(work)

    def pull_events(self, cursor: str | None, limit: int = 100) -> tuple[list[ErpEvent], str | None]:
        """Events after the cursor: by id (``select_events``) or, with ``event_cursor =
        "modified_time"``, by the modification time of the ERP's own rows (``select_changes``)."""
        if self.settings.event_cursor == "modified_time":
            return self._pull_changes(cursor, limit)
        return self._pull_by_id(cursor, limit)

    def _pull_by_id(self, cursor: str | None, limit: int) -> tuple[list[ErpEvent], str | None]:
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

        def work(cnxn, db):
            execute(db, "select_events", select_events, low, int(limit) + (position.after - low))
            names = [d[0].lower() for d in db.description]
            rows = [dict(zip(names, row)) for row in db.fetchall()]
            lines: dict[str, list[tuple]] = {}
            if rows:
                first, last = int(rows[0]["event_id"]), int(rows[-1]["event_id"])
                for line in execute(db, "select_event_lines", select_lines, first, last).fetchall():
                    lines.setdefault(str(int(line[0])), []).append(tuple(line[1:]))
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
        items = self._item_skus(lines)
        events = [
            self._event(
                str(event_id), by_id[event_id], lines.get(str(event_id), []), items, after, f"jht_event_out#{event_id}"
            )
            for event_id, after in taken
        ]
        return events, position.text()

    def _pull_changes(self, cursor: str | None, limit: int) -> tuple[list[ErpEvent], str | None]:
        """The ERP's rows modified since the cursor's newest time less ``look_back_s``, each
        change once (``connectors.odbc.timecursor``)."""
        try:
            position = TimeCursor.parse(cursor)
        except (ValueError, KeyError, TypeError):
            raise PermanentError(
                f'event cursor {cursor!r} is not a modification-time cursor (event_cursor = "modified_time")'
            ) from None
        look_back = timedelta(seconds=self.settings.look_back_s)
        seen = self._window.for_cursor(cursor)
        select_changes, select_lines = self.statement("select_changes"), self.statement("select_change_lines")

        def work(cnxn, db):
            execute(db, "select_changes", select_changes, position.since(look_back), int(limit) + len(seen))
            names = [d[0].lower() for d in db.description]
            rows = [dict(zip(names, row)) for row in db.fetchall()]
            keys = list(dict.fromkeys(row["row_key"] for row in rows))
            lines: dict[str, list[tuple]] = {}
            for start in range(0, len(keys), STOCK_CHUNK):
                sql, values = expand_lists(select_lines, {"row_keys": keys[start : start + STOCK_CHUNK]})
                for line in execute(db, "select_change_lines", sql, *values).fetchall():
                    lines.setdefault(str(line[0]), []).append(tuple(line[1:]))
            cnxn.commit()
            return rows, lines

        rows, lines = self._run(work)
        changes = []
        for row in rows:
            try:
                changes.append((as_time(row.get("modified_at")), row))
            except ValueError as exc:
                raise PermanentError(f"statement select_changes: row {row.get('row_key')!r}: {exc}") from None
        changes.sort(key=lambda change: change[0])
        items = self._item_skus(lines)
        events: list[ErpEvent] = []
        for modified_at, row in changes:
            if len(events) >= int(limit):
                break
            kind = str(row.get("kind") or "")
            event_id = change_id(kind, row["row_key"], modified_at, row.get("status") or row.get("order_status"))
            if event_id in seen:
                continue
            seen[event_id] = modified_at
            after = position.advance(modified_at)
            source = f"{row['row_key']} modified {modified_at.isoformat()}"
            events.append(self._event(event_id, row, lines.get(str(row["row_key"]), []), items, after, source))
        self._window.keep(position, look_back)
        return events, position.text()

    def _item_skus(self, lines: dict[str, list[tuple]]) -> dict[str, str]:
        """{ERP item code: sku} for the lines that name the ERP's item code and no sku."""
        codes = (line[2] for rows in lines.values() for line in rows if len(line) > 2 and line[0] is None)
        return self._skus(list(dict.fromkeys(str(c) for c in codes if c is not None)))

    def _event(
        self,
        event_id: str,
        row: dict[str, Any],
        lines: list[tuple],
        items: dict[str, str],
        cursor: str,
        source: str,
    ) -> ErpEvent:
        """One event from its row and its lines: (sku, quantity) or (sku, quantity, erp_item_code),
        the sku found from the ERP's item code where the line has none."""
        kind = str(row.get("kind") or "")
        data: dict[str, Any] = {}
        try:
            for key in EVENT_FIELDS:
                value = row.get(key)
                if value is not None:
                    data[key] = int(value) if key == "customer_id" else str(value)
            entries = []
            for line in lines:
                sku, quantity, code = line[0], line[1], (line[2] if len(line) > 2 else None)
                if sku is None and code is not None:
                    sku = items.get(str(code))
                    if sku is None:
                        raise ValueError(f"ERP item code {code} is no product's ERP item code in the bridge")
                if sku is None:
                    raise ValueError("a line has neither sku nor ERP item code")
                entry = {"sku": str(sku), "quantity": _quantity(quantity)}
                if code is not None:
                    entry["erp_item_code"] = str(code)
                entries.append(entry)
            if kind == "order.shipment":
                data["lines"] = entries
            elif kind == "stock":
                data["items"] = {entry["sku"]: entry["quantity"] for entry in entries}
        except (ValueError, InvalidOperation, TypeError) as exc:
            return ErpEvent(event_id, kind, {}, cursor=cursor, problem=f"unreadable event: {exc}", source=source)
        return ErpEvent(event_id, kind, data, cursor=cursor, source=source)

    # -- operations -----------------------------------------------------------------------

    def check(self) -> list[CheckLine]:
        """What ``jht-bridge check`` prints for this connector (``connectors.odbc.check``): the
        driver, the connection, each named statement — the writing ones run in a transaction
        rolled back — and each ``check_tables`` query. A failure carries the driver's words."""
        return check_connector(self)

    def ready(self) -> list[CheckLine]:
        """``check`` without running the writing statements: asked every few seconds, it locks nothing."""
        return check_connector(self, writes=False)

    def close(self) -> None:
        with self._lock:
            self._drop()
