"""The ERP side of the interface tables, for tests and benches: what the production software does
with the reference tables of ``etc/sql/<dialect>/interface.sql``.

``ErpSimulator`` imports the rows the bridge wrote (fills ``erp_order_no`` and ``imported_at``),
writes events into ``jht_event_out`` / ``jht_event_line_out`` and sets ``jht_stock``. It opens a
connection per operation, so it survives the outages it causes. It implements the contract kit's
``ErpSide`` with the outage levers given by an ``Outage`` (SQLite: an exclusive lock on the file,
the file renamed away; PostgreSQL: the database closed to connections and its sessions ended).
"""

from __future__ import annotations

import os
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyodbc

from bridge.resources import etc_path
from connectors.odbc.statements import EVENT_FIELDS

SQL_DIR = etc_path("sql")
TABLES = (
    "jht_order_line_in",
    "jht_order_in",
    "jht_customer_in",
    "jht_command_in",
    "jht_customer_merge_in",
    "jht_event_line_out",
    "jht_event_out",
    "jht_stock",
)


def sql_file(dialect: str, name: str) -> Path:
    return SQL_DIR / dialect / name


def script_queries(text: str) -> list[str]:
    """The statements of a DDL script (comment lines dropped, split on ``;``)."""
    body = "\n".join(line for line in text.splitlines() if not line.strip().startswith("--"))
    return [q.strip() for q in body.split(";") if q.strip()]


def create_schema(connection_string: str, dialect: str) -> None:
    """Run ``etc/sql/<dialect>/interface.sql`` through ODBC."""
    cnxn = pyodbc.connect(connection_string, autocommit=True)
    try:
        for query in script_queries(sql_file(dialect, "interface.sql").read_text(encoding="utf-8")):
            cnxn.cursor().execute(query)
    finally:
        cnxn.close()


class Outage:
    """How to make the database unreachable and reachable again."""

    def go_down(self) -> None: ...
    def come_back(self) -> None: ...
    def remove_target(self) -> str: ...


class SqliteOutage(Outage):
    """Down: another process holds an exclusive lock (readers and writers get "database is
    locked"). Removed: the file renamed away (connect with ``NoCreat=1`` then fails)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._locker: sqlite3.Connection | None = None
        self._moved: Path | None = None

    def go_down(self) -> None:
        if self._locker is None:
            self._locker = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._locker.execute("BEGIN EXCLUSIVE")

    def come_back(self) -> None:
        if self._locker is not None:
            self._locker.execute("ROLLBACK")
            self._locker.close()
            self._locker = None
        if self._moved is not None:
            os.replace(self._moved, self.path)
            self._moved = None

    def remove_target(self) -> str:
        self._moved = self.path.with_name(self.path.name + ".away")
        os.replace(self.path, self._moved)
        return str(self.path)


class PostgresOutage(Outage):
    """Down: the database refuses new connections and its sessions are ended (as when it is
    stopped). ``admin`` is a psycopg connection in autocommit to another database."""

    def __init__(self, admin, database: str):
        self.admin = admin
        self.database = database

    def go_down(self) -> None:
        self.admin.execute(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS false')
        self.admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (self.database,),
        )

    def come_back(self) -> None:
        self.admin.execute(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS true')

    def remove_target(self) -> str:
        self.go_down()
        return self.database


class ErpSimulator:
    """The ERP's part of the interface tables (and the kit's ``ErpSide``)."""

    def __init__(self, connection_string: str, dialect: str, outage: Outage | None = None, erp_prefix: str = "SO-"):
        self.connection_string = connection_string
        self.dialect = dialect
        self.outage = outage or Outage()
        self.erp_prefix = erp_prefix
        self.number = "CAST(? AS NUMERIC(14, 3))" if dialect == "postgresql" else "?"

    def _connect(self) -> pyodbc.Connection:
        return pyodbc.connect(self.connection_string, autocommit=False, timeout=5)

    def _query(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        cnxn = self._connect()
        try:
            cursor = cnxn.cursor().execute(sql, *params)
            names = [d[0].lower() for d in cursor.description]
            rows = [dict(zip(names, row)) for row in cursor.fetchall()]
            cnxn.rollback()
            return rows
        finally:
            cnxn.close()

    # -- what the ERP received --------------------------------------------------------------

    def orders(self) -> dict[str, dict[str, Any]]:
        held: dict[str, dict[str, Any]] = {}
        for row in self._query("SELECT * FROM jht_order_in ORDER BY order_no"):
            assert row["order_no"] not in held, f"two orders {row['order_no']}"
            held[row["order_no"]] = {**row, "lines": []}
        for line in self._query("SELECT * FROM jht_order_line_in ORDER BY order_no, line_no"):
            held[line["order_no"]]["lines"].append(line)
        return held

    def import_count(self, order_no: str) -> int:
        return len(self._query("SELECT order_no FROM jht_order_in WHERE order_no = ?", order_no))

    def customers(self) -> dict[Any, dict[str, Any]]:
        return {row["customer_id"]: row for row in self._query("SELECT * FROM jht_customer_in")}

    def commands(self, order_no: str) -> list[str]:
        return [
            r["command"]
            for r in self._query("SELECT command FROM jht_command_in WHERE order_no = ? ORDER BY id", order_no)
        ]

    def events(self) -> list[dict[str, Any]]:
        """The events the ERP wrote, in id order (``event_id`` as text, as the bridge keeps it)."""
        rows = self._query("SELECT event_id, kind, order_no, status FROM jht_event_out ORDER BY event_id")
        return [{**row, "event_id": str(int(row["event_id"]))} for row in rows]

    def track_arrivals(self) -> None:
        """Number orders in the order they arrive, for ``arrivals``: SQLite's rowid does it
        already; on PostgreSQL ``jht_order_in`` gets a sequence column (a test's addition, not
        part of the reference tables)."""
        if self.dialect == "postgresql":
            cnxn = self._connect()
            try:
                cnxn.cursor().execute("ALTER TABLE jht_order_in ADD COLUMN IF NOT EXISTS arrival_no BIGSERIAL")
                cnxn.commit()
            finally:
                cnxn.close()

    def arrivals(self) -> list[tuple[int, str]]:
        """(customer id, order number) of every order held, in the order the rows were
        inserted (PostgreSQL: after ``track_arrivals``)."""
        order = "rowid" if self.dialect == "sqlite" else "arrival_no"
        rows = self._query(f"SELECT customer_id, order_no FROM jht_order_in ORDER BY {order}")
        return [(int(row["customer_id"]), row["order_no"]) for row in rows]

    # -- what the ERP does ------------------------------------------------------------------

    def process(self, answer: str | None = None) -> int:
        """Import what the bridge wrote: each new order gets an ERP number. With ``answer`` (an
        ERP status word), each imported order is also answered with ``order.accepted`` (its ERP
        number) and ``order.status`` ``answer``, in the same transaction as the import, as an ERP
        reports what it did. Returns how many orders were imported."""
        cnxn = self._connect()
        try:
            cursor = cnxn.cursor()
            new = [
                r[0]
                for r in cursor.execute(
                    "SELECT order_no FROM jht_order_in WHERE imported_at IS NULL ORDER BY received_at, order_no"
                ).fetchall()
            ]
            count = cursor.execute("SELECT COUNT(*) FROM jht_order_in WHERE imported_at IS NOT NULL").fetchone()[0]
            for n, order_no in enumerate(new, int(count) + 1):
                erp_order_no = f"{self.erp_prefix}{n:05d}"
                cursor.execute(
                    "UPDATE jht_order_in SET erp_order_no = ?, imported_at = CURRENT_TIMESTAMP WHERE order_no = ?",
                    erp_order_no,
                    order_no,
                )
                if answer is not None:
                    self._insert_event(cursor, "order.accepted", {"order_no": order_no, "erp_ref": erp_order_no})
                    self._insert_event(
                        cursor, "order.status", {"order_no": order_no, "status": answer, "erp_ref": erp_order_no}
                    )
            cursor.execute("UPDATE jht_command_in SET imported_at = CURRENT_TIMESTAMP WHERE imported_at IS NULL")
            cnxn.commit()
            return len(new)
        finally:
            cnxn.close()

    def emit(self, kind: str, data: dict[str, Any]) -> str:
        cnxn = self._connect()
        try:
            event_id = self._insert_event(cnxn.cursor(), kind, data)
            cnxn.commit()
            return event_id
        finally:
            cnxn.close()

    def _insert_event(self, cursor: pyodbc.Cursor, kind: str, data: dict[str, Any]) -> str:
        present = [f for f in EVENT_FIELDS if data.get(f) is not None]
        if kind == "order.shipment":
            lines = [(line["sku"], line["quantity"]) for line in data.get("lines", [])]
        elif kind == "stock":
            lines = list(data.get("items", {}).items())
        else:
            lines = []
        columns = ", ".join(["kind", *present])
        marks = ", ".join("?" * (len(present) + 1))
        cursor.execute(f"INSERT INTO jht_event_out ({columns}) VALUES ({marks})", kind, *(data[f] for f in present))
        # One writer (this simulator): the highest id is the row just written.
        event_id = int(cursor.execute("SELECT MAX(event_id) FROM jht_event_out").fetchone()[0])
        for n, (sku, quantity) in enumerate(lines, 1):
            cursor.execute(
                f"INSERT INTO jht_event_line_out (event_id, line_no, sku, quantity) VALUES (?, ?, ?, {self.number})",
                event_id,
                n,
                sku,
                str(Decimal(str(quantity))),
            )
        return str(event_id)

    def fill_erp_order_no(self, order_no: str, erp_order_no: str) -> None:
        cnxn = self._connect()
        try:
            cnxn.cursor().execute("UPDATE jht_order_in SET erp_order_no = ? WHERE order_no = ?", erp_order_no, order_no)
            cnxn.commit()
        finally:
            cnxn.close()

    def set_stock(self, items: dict[str, Any]) -> None:
        cnxn = self._connect()
        try:
            cursor = cnxn.cursor()
            for sku, quantity in items.items():
                cursor.execute("DELETE FROM jht_stock WHERE sku = ?", sku)
                cursor.execute(
                    f"INSERT INTO jht_stock (sku, quantity) VALUES (?, {self.number})", sku, str(Decimal(str(quantity)))
                )
            cnxn.commit()
        finally:
            cnxn.close()

    def clear(self) -> None:
        cnxn = self._connect()
        try:
            for table in TABLES:
                cnxn.cursor().execute(f"DELETE FROM {table}")
            cnxn.commit()
        finally:
            cnxn.close()

    # -- outages ----------------------------------------------------------------------------

    def go_down(self) -> None:
        self.outage.go_down()

    def come_back(self) -> None:
        self.outage.come_back()

    def remove_target(self) -> str:
        return self.outage.remove_target()
