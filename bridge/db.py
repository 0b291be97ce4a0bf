"""Database engine, sessions and migrations.

SQLite (the embedded default) is set up for a long-running service: WAL journal so readers
never block the writer, foreign keys enforced, a busy timeout, and write transactions opened
with ``BEGIN IMMEDIATE`` so two writers queue on the lock instead of failing half-way with
"database is locked". PostgreSQL is used as it comes, through a pool whose connections are
checked before use when they have been idle (``PING_IDLE_S``).

Domain functions never commit: the caller owns the unit of work (``session_scope``), so a
state change and the outbox row it causes are committed together or not at all.
"""

from __future__ import annotations

import copy
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import msgspec
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from bridge.config import Config, DatabaseSection

T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

PING_IDLE_S = 1.0
"""PostgreSQL: a pooled connection that has lain unused for longer than this is pinged before it
is handed out (a round trip), and replaced if the server or the network dropped it meanwhile; one
given back just now is not (as HikariCP's alive-bypass window). Pinging at every checkout cost
three round trips per order placed (issue #16); a connection that breaks while in use is an
error of that request, and the pool then replaces every connection older than the break."""


_JSON = msgspec.json.Encoder()


def json_text(value) -> str:
    """A JSON column's text: msgspec's encoder in C (the standard library's is several times
    slower on an order's document, written at placement and read at each delivery). UTF-8 as
    it is: Chinese is stored as Chinese, not as \\u escapes. What msgspec refuses (a subclass
    of str, say) goes the standard library's way, as before, and fails there if it must."""
    try:
        return _JSON.encode(value).decode()
    except (TypeError, msgspec.EncodeError):
        return json.dumps(value)


def make_engine(db: DatabaseSection | Config | str, **kwargs) -> Engine:
    """An engine for the configured database (or a URL), with the settings above. PostgreSQL
    through psycopg needs the ``postgresql`` extra: without it, a ConfigError says so. JSON
    columns are written by ``json_text`` and read by msgspec's decoder."""
    kwargs = {"json_serializer": json_text, "json_deserializer": msgspec.json.decode, **kwargs}
    source, threads = None, 0
    if isinstance(db, Config):
        source, threads, db = db.source, db.api.threads, db.database
    if isinstance(db, str):
        db = DatabaseSection.model_construct(url=db, busy_timeout_ms=5000, pool_size=20, echo=False)
        url = db.url
    else:
        url = db.secret_url()
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        _create_private_sqlite_file(make_url(url).database)
        engine = sa.create_engine(url, echo=db.echo, **kwargs)
        _setup_sqlite(engine, db.busy_timeout_ms)
    else:
        _require_driver(make_url(url), source)
        # Up to pool_size more for a burst, and never fewer than the API's threads plus a few: a
        # placement briefly holds a second connection (bridge.orders.next_order_no), so a smaller
        # pool could leave every thread waiting for a connection that never comes back.
        overflow = max(db.pool_size, threads + 8)
        engine = sa.create_engine(url, echo=db.echo, pool_size=db.pool_size, max_overflow=overflow, **kwargs)
        _ping_idle_connections(engine)
    return engine


def _ping_idle_connections(engine: Engine) -> None:
    """``PING_IDLE_S``: the pessimistic disconnect check, skipped for connections in use just now."""

    @event.listens_for(engine.pool, "checkin")
    def _given_back(_dbapi_conn, record) -> None:
        if record is not None:
            record.info["jht_given_back"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _handed_out(dbapi_conn, record, _proxy) -> None:
        given_back = record.info.get("jht_given_back")
        if given_back is None or time.monotonic() - given_back < PING_IDLE_S:
            return  # just connected, or in use a moment ago
        # SQLAlchemy's own pre-ping, asked only here: a dropped connection means the server
        # restarted or the network cut every connection of that moment, so the pool replaces
        # all those older than now and hands out a new one.
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise sa.exc.InvalidatePoolError(f"pooled connection dropped while idle: {exc}") from exc


def _require_driver(url: sa.URL, source: str | None) -> None:
    """The DBAPI module the URL names can be imported, or a ConfigError on ``database.url``."""
    from bridge.config import ConfigError
    from bridge.extras import MissingDriver, driver

    try:
        if url.get_driver_name() == "psycopg":
            driver("psycopg")
        else:
            url.get_dialect().import_dbapi()
    except MissingDriver as exc:
        raise ConfigError([f"database.url: {exc}"], source) from None
    except ImportError as exc:
        raise ConfigError(
            [
                f"database.url: the {url.get_backend_name()} driver {url.get_driver_name()} cannot be imported ({exc}): "
                "use postgresql+psycopg://… and install jht-bridge[postgresql]"
            ],
            source,
        ) from None


def _create_private_sqlite_file(database: str | None) -> None:
    """Create a new SQLite file readable by its owner only (0600), before SQLite would create it
    with the umask's mode (often world-readable). SQLite gives the -wal and -shm files it makes
    later the database file's mode. An existing file is left as it is."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        os.close(os.open(database, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except (FileExistsError, FileNotFoundError):
        pass  # there already, or no such folder: SQLite then opens it or says what is wrong


def _setup_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Take transaction control away from the sqlite3 module (it would BEGIN lazily,
        # deferred) so the "begin" hook below decides how a transaction starts.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    # Writers of this process queue on a lock of their own before BEGIN IMMEDIATE: a waiter wakes
    # the moment the writer before it commits, instead of sleeping in SQLite's busy handler (whose
    # sleeps grow to 100 ms: under 50 concurrent placements most of the time went there, issue
    # #16). SQLite's own lock still guards the file against other processes (serve + worker).
    writer = threading.Lock()
    wait_s = busy_timeout_ms / 1000

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if conn.get_execution_options().get("jht_read_only"):
            # Reads (read_scope) begin deferred, so they never wait for the write lock.
            conn.exec_driver_sql("BEGIN")
            return
        if not writer.acquire(timeout=wait_s):
            raise sqlite3.OperationalError("database is locked (another writer of this process held it too long)")
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            writer.release()
            raise
        conn.info["jht_writer"] = True

    def _end(conn):
        # Released as the COMMIT / ROLLBACK is sent: the next writer's BEGIN IMMEDIATE meets
        # SQLite's lock for at most that statement.
        if conn.info.pop("jht_writer", False):
            writer.release()

    event.listen(engine, "commit", _end)
    event.listen(engine, "rollback", _end)


def new_session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = new_session(engine)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """A read-only unit of work: on SQLite it does not take the write lock (WAL readers see the
    last committed state and never block writers); nothing is committed."""
    session = Session(engine.execution_options(jht_read_only=True), expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()  # ends the transaction; loaded objects stay readable (detached, not expired)


# --------------------------------------------------------------------------- inserts without the unit of work


class _InsertPlan:
    """How ``insert_rows`` writes one model: its table, its fields' defaults, and the insert
    statement with the new ids returned in the order of the rows (built once per model)."""

    def __init__(self, model: type) -> None:
        table = model.__table__
        self.table = table
        self.manager = sa.orm.class_mapper(model).class_manager
        # (field, zero-argument factory or None, default): what the model's __init__ would fill in
        self.defaults = [
            (name, info.default_factory, info.default)
            for name, info in model.model_fields.items()
            if name in table.c and not info.is_required()
        ]
        self.keyed = "id" in table.c and table.c.id.primary_key
        self.insert = table.insert()
        self.returning = table.insert().returning(table.c.id, sort_by_parameter_order=True) if self.keyed else None


_PLANS: dict[type, _InsertPlan] = {}


def insert_rows(session: Session, model: type[T], rows: list[dict], *, read_back: bool = True) -> list[T]:
    """Insert ``rows`` of ``model`` in the caller's transaction with one Core statement, and
    return them as ``model`` objects holding every field (the given values, the fields'
    defaults, the new ids) — what ``session.add`` and a flush would have stored, without the
    unit of work's bookkeeping (issue #16: it cost most of an order's placement). The objects
    are in the session as if read back after the insert: a change to one is flushed as an
    UPDATE. ``read_back=False``: the rows are only written (no ids asked back, no objects; a
    multi-row insert with its ids returned in order is one statement per row on SQLite)."""
    if not rows:
        return []
    if session.new:
        session.flush()  # what was added before goes in first (a new order before its lines)
    plan = _PLANS.get(model) or _PLANS.setdefault(model, _InsertPlan(model))
    full = []
    for row in rows:
        values = dict(row)
        for name, factory, default in plan.defaults:
            if name not in values:
                values[name] = factory() if factory is not None else copy.copy(default)
        if plan.keyed and values.get("id") is None:
            values.pop("id", None)
        full.append(values)
    # On the session's connection, not through Session.execute: a Core insert needs none of its
    # ORM steps, and changes to rows already stored wait for the commit's flush, as they would
    # have beside an added object (no autoflush: flushing them before every insert cost a unit
    # of work per row; the dispatcher records the ERP's reference and a timeline line per
    # order, issue #16).
    connection = session.connection()
    if not read_back:
        connection.execute(plan.insert, full)
        return []
    if plan.keyed and "id" not in full[0]:
        # One row as one set of parameters: a list of one would take the executemany path.
        ids = connection.execute(plan.returning, full if len(full) > 1 else full[0]).scalars().all()
        for values, new_id in zip(full, ids):
            values["id"] = new_id
    else:
        connection.execute(plan.insert, full)
    objects = []
    for values in full:
        obj = plan.manager.new_instance()
        obj.__dict__.update(values)
        sa.orm.make_transient_to_detached(obj)
        objects.append(obj)
    session.add_all(objects)  # persistent, as if read back: a change to one is an UPDATE
    return objects


def insert_row(session: Session, model: type[T], **values) -> T:
    """``insert_rows`` of one row."""
    return insert_rows(session, model, [values])[0]


# --------------------------------------------------------------------------- migrations


PAGE_SIZE = 20
"""Rows per page of every list the APIs and pages show."""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its rows and where it stands in the whole."""

    items: list[T]
    total: int
    page: int
    page_size: int = PAGE_SIZE


def paginate(session: Session, stmt, page: int = 1, page_size: int = PAGE_SIZE) -> Page:
    """Page ``page`` (1-based) of ``stmt`` (already ordered), counted and cut in SQL. A select of
    one entity gives its objects; a select of several, tuples."""
    total = session.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.exec(stmt.offset((page - 1) * page_size).limit(page_size)).all()
    return Page(list(rows), total, page, page_size)


def alembic_config(engine_or_url: Engine | str):
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if isinstance(engine_or_url, Engine):
        cfg.attributes["engine"] = engine_or_url
    else:
        cfg.set_main_option("sqlalchemy.url", engine_or_url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (Alembic), creating it on an empty database."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
