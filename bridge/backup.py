"""Backup and restore of the bridge's data (``jht-bridge backup`` and ``restore``, O4).

A backup is one ``.tar.gz`` file, owner-only (it holds every customer and order):

- ``manifest.json``: the archive's format, the bridge's version, the schema revision, when, the
  database kind, how many orders and outbox messages it holds, the config's secret files;
- ``database/bridge.db`` (SQLite): a copy made with SQLite's online backup API while the bridge
  runs — one read transaction, so it holds exactly the transactions committed when it began:
  an order with all of its lines and its outbox message, or nothing of it;
- ``database/bridge.dump`` (PostgreSQL): ``pg_dump --format=custom``, one snapshot too;
- ``config/bridge.toml``: the config file as it was;
- ``secrets/<key>``: each file the config's ``*_file`` keys name, only with ``include_secrets``
  (listed in the manifest either way).

``restore`` replaces the database the current config names, never while the bridge runs on it
(SQLite: ``bridge.runlock``; PostgreSQL: nobody else may be connected), keeps the replaced one
(SQLite: renamed beside it; PostgreSQL: a ``pg_dump`` beside the config), and brings an older
schema up to date. The current config and secret files are kept; the backup's are written beside
them (``….from-backup``) when they differ, a secret file the current config names but lacks is
restored.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bridge import __version__, runlock
from bridge.config import Config

FORMAT = "jht-bridge-backup/1"
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/bridge.db"
PG_MEMBER = "database/bridge.dump"
CONFIG_MEMBER = "config/bridge.toml"

Say = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    """What a backup holds (``manifest.json``)."""

    data: dict[str, Any]

    @property
    def backend(self) -> str:
        return self.data["database"]["backend"]

    @property
    def revision(self) -> str | None:
        return self.data.get("schema_revision")

    def summary(self) -> str:
        counts = self.data.get("counts", {})
        return (
            f"{self.backend} backup of {self.data.get('created_at')} by jht-bridge {self.data.get('bridge_version')}, "
            f"schema {self.revision}, {counts.get('orders', '?')} orders, {counts.get('outbox', '?')} outbox messages"
        )


def default_name(now: datetime | None = None) -> Path:
    """``jht-bridge-backup-20261207-093000.tar.gz`` (UTC) in the current folder."""
    return Path(f"jht-bridge-backup-{(now or datetime.now(UTC)):%Y%m%d-%H%M%S}.tar.gz")


# --------------------------------------------------------------------------- backup


def backup(config: Config, target: Path, *, include_secrets: bool = False, say: Say = print) -> Manifest:
    """Write a backup of ``config``'s database (and its config, and the secret files' list or,
    with ``include_secrets``, the files) to ``target``, while the bridge may run. The archive
    appears complete or not at all."""
    from bridge.diagnose import secret_files, sqlite_file

    target = target.resolve()
    if target.exists():
        raise BackupError(f"{target} exists: choose another name (the default has the time in it)")
    if not target.parent.is_dir():
        # Not made: a mistyped folder would go unnoticed, and the backup with it.
        raise BackupError(
            f"folder {target.parent} does not exist: create it first, or name another place for {target.name}"
        )
    staging = Path(tempfile.mkdtemp(prefix=".jht-backup-", dir=target.parent))  # same disk as the target
    try:
        members: list[tuple[str, Path]] = []
        if config.database.backend == "sqlite":
            database = sqlite_file(config)
            if database is None or not database.is_file():
                raise BackupError(f"database.url names no SQLite file there is: {config.database.display_url()}")
            copy = staging / "bridge.db"
            revision, counts = _sqlite_copy(database, copy, config.database.busy_timeout_ms)
            say(f"database: SQLite {database}, copied with SQLite's online backup API")
            members.append((SQLITE_MEMBER, copy))
        else:
            dump = staging / "bridge.dump"
            revision, counts = _pg_dump(config, dump)
            say(f"database: PostgreSQL {config.database.display_url()}, dumped with pg_dump (custom format)")
            members.append((PG_MEMBER, dump))
        say(f"  schema {revision}, {counts['orders']} orders, {counts['outbox']} outbox messages")
        config_entry = None
        if config.source:
            members.append((CONFIG_MEMBER, Path(config.source)))
            config_entry = {"member": CONFIG_MEMBER, "path": str(Path(config.source).resolve())}
            say(f"config: {Path(config.source).resolve()}")
        else:
            say("config: none (built-in defaults and the environment)")
        secrets = []
        for key, path in secret_files(config).items():
            entry: dict[str, Any] = {"key": key, "path": str(path), "member": None}
            if include_secrets and path.is_file():
                entry["member"] = f"secrets/{key}"
                members.append((entry["member"], path))
            secrets.append(entry)
            state = "copied" if entry["member"] else "missing" if not path.is_file() else "not copied"
            say(f"secret file {key} = {path} ({state})")
        if secrets and not include_secrets:
            say("  (secret files are listed, not copied: --include-secrets copies them; keep such a backup safe)")
        manifest = Manifest(
            {
                "format": FORMAT,
                "bridge_version": __version__,
                "schema_revision": revision,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "database": {
                    "backend": config.database.backend,
                    "member": members[0][0],
                    "source": config.database.display_url(),
                },
                "counts": counts,
                "config": config_entry,
                "secrets": secrets,
            }
        )
        partial = staging / "archive.tar.gz"
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        with tarfile.open(partial, "w:gz") as tar:
            _add_bytes(tar, MANIFEST, json.dumps(manifest.data, indent=2, ensure_ascii=False).encode())
            for name, path in members:
                _add_file(tar, name, path)
        os.replace(partial, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    say(f"wrote {target} ({target.stat().st_size:,} bytes)")
    return manifest


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


def _add_file(tar: tarfile.TarFile, name: str, path: Path) -> None:
    info = tar.gettarinfo(str(path), arcname=name)
    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
    with path.open("rb") as fh:
        tar.addfile(info, fh)


def _counts(query: Callable[[str], Any]) -> dict[str, int]:
    """Orders and outbox messages, by ``query`` (a DB-API ``execute`` or SQLAlchemy's
    ``exec_driver_sql``)."""
    return {
        "orders": query("SELECT count(*) FROM orders").fetchone()[0],
        "outbox": query("SELECT count(*) FROM outbox").fetchone()[0],
    }


def _sqlite_copy(database: Path, copy: Path, busy_timeout_ms: int) -> tuple[str | None, dict[str, int]]:
    """Copy ``database`` to ``copy`` with the online backup API in one step (pages=-1: one read
    transaction, so one consistent snapshot; under WAL the bridge's writers go on meanwhile).
    Returns the copy's schema revision and counts."""
    os.close(os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    source = sqlite3.connect(database, timeout=busy_timeout_ms / 1000)
    try:
        target = sqlite3.connect(copy)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
            problem = target.execute("PRAGMA quick_check").fetchone()[0]
            if problem != "ok":
                raise BackupError(f"the copy of {database} fails SQLite's check: {problem}")
            return _sqlite_revision(target), _counts(target.execute)
        finally:
            target.close()
    finally:
        source.close()


def _sqlite_revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    return row[0] if row else None


# --------------------------------------------------------------------------- PostgreSQL tools


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(
            f"{name} is not installed: install the PostgreSQL client (Debian: apt install postgresql-client; "
            "Windows: the PostgreSQL installer's command line tools), of the server's major version or newer"
        )
    return found


def _libpq(config: Config) -> tuple[str, dict[str, str]]:
    """The database as a libpq URI for pg_dump / pg_restore / psql, and the environment that
    carries its password (never on the command line, where `ps` would show it)."""
    url = make_url(config.database.secret_url())
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    uri = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{what} failed (exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}")


def _pg_dump(config: Config, out: Path) -> tuple[str | None, dict[str, int]]:
    from bridge.db import current_revision, make_engine

    tool = _pg_tool("pg_dump")
    engine = make_engine(config)
    try:
        revision = current_revision(engine)
        with engine.connect() as conn:
            counts = _counts(conn.exec_driver_sql)
    finally:
        engine.dispose()
    uri, env = _libpq(config)
    _run([tool, "--format=custom", "--file", str(out), "--dbname", uri], env, "pg_dump")
    return revision, counts


# --------------------------------------------------------------------------- restore


def read_manifest(archive: Path) -> Manifest:
    """The manifest of the backup ``archive``; a file that is not one is a ``BackupError``."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            data = json.loads(member.read()) if member else None
    except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
        raise BackupError(f"{archive} is not a jht-bridge backup: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BackupError(f"{archive} is not a jht-bridge backup of format {FORMAT}")
    return Manifest(data)


def check_restorable(config: Config, manifest: Manifest) -> str:
    """Why ``manifest``'s backup cannot go into ``config``'s database (a ``BackupError``), or
    what restoring it means for the schema: ``current`` or ``older`` (upgraded after)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from bridge.db import MIGRATIONS_DIR, head_revision

    if manifest.backend != config.database.backend:
        raise BackupError(
            f"the backup holds a {manifest.backend} database, the current config uses {config.database.backend} "
            f"({config.database.display_url()}): restore it with a config on {manifest.backend}"
        )
    if manifest.revision is None:
        raise BackupError("the backup's database has no schema (it was never `jht-bridge db upgrade`d)")
    try:
        known = ScriptDirectory(str(MIGRATIONS_DIR)).get_revision(manifest.revision)
    except CommandError:
        known = None
    if known is None:
        raise BackupError(
            f"the backup's schema {manifest.revision} is newer than this jht-bridge {__version__} knows "
            f"(made by jht-bridge {manifest.data.get('bridge_version')}): restore it with that version or a newer one"
        )
    return "current" if manifest.revision == head_revision() else "older"


def restore(config: Config, archive: Path, *, say: Say = print) -> Manifest:
    """Replace ``config``'s database with the backup ``archive`` (see the module's docstring);
    refused while the bridge runs on it."""
    manifest = read_manifest(archive)
    schema = check_restorable(config, manifest)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    with tarfile.open(archive, "r:gz") as tar:
        if manifest.backend == "sqlite":
            _restore_sqlite(config, tar, stamp, say)
        else:
            _restore_pg(config, tar, stamp, say)
        _restore_files(config, manifest, tar, say)
    if schema == "older":
        from bridge.db import head_revision, make_engine, upgrade

        engine = make_engine(config)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        say(f"schema upgraded from {manifest.revision} to {head_revision()} (as `jht-bridge db upgrade`)")
    say(f"restored: {manifest.summary()}")
    return manifest


def _member(tar: tarfile.TarFile, name: str):
    try:
        member = tar.extractfile(name)
    except KeyError:
        member = None
    if member is None:
        raise BackupError(f"the backup lacks {name}: it is damaged or incomplete")
    return member


def _extract(tar: tarfile.TarFile, name: str, to: Path) -> None:
    member = _member(tar, name)
    fd = os.open(to, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(member, out, 2**20)


def _restore_sqlite(config: Config, tar: tarfile.TarFile, stamp: str, say: Say) -> None:
    from bridge.diagnose import sqlite_file

    database = sqlite_file(config)
    if database is None:
        raise BackupError(f"database.url names no SQLite file: {config.database.display_url()}")
    database.parent.mkdir(parents=True, exist_ok=True)
    try:
        with runlock.hold(database, shared=False):
            incoming = database.with_name(database.name + ".restoring")
            _extract(tar, SQLITE_MEMBER, incoming)
            try:
                check = sqlite3.connect(incoming)
                try:
                    problem = check.execute("PRAGMA quick_check").fetchone()[0]
                finally:
                    check.close()
                if problem != "ok":
                    raise BackupError(f"the backup's database fails SQLite's check: {problem}")
                if database.exists():
                    _quiesce(database, config.database.busy_timeout_ms)
                    aside = database.with_name(f"{database.name}.replaced-{stamp}")
                    for suffix in ("", "-wal", "-shm"):  # the -wal, if any, belongs to the file it came with
                        if Path(f"{database}{suffix}").exists():
                            os.replace(f"{database}{suffix}", f"{aside}{suffix}")
                    say(f"the database replaced is kept as {aside}")
                os.replace(incoming, database)
            finally:
                incoming.unlink(missing_ok=True)
    except runlock.Locked as exc:
        raise BackupError(
            f"the bridge is running on {database} (a `run`, `serve` or `worker` holds {exc}): stop it first "
            "(`systemctl stop jht-bridge`, the Windows service, or Ctrl-C), then restore"
        ) from None
    say(f"database: SQLite {database} restored from the backup")


def _quiesce(database: Path, busy_timeout_ms: int) -> None:
    """No one-off command is writing (``sync once``, an import); fold the WAL into the file so
    the file kept aside is whole on its own."""
    conn = sqlite3.connect(database, timeout=min(busy_timeout_ms, 5000) / 1000, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.OperationalError as exc:
        raise BackupError(f"{database} is in use by another command ({exc}): wait for it to finish") from None
    finally:
        conn.close()


_PG_CLEAR = """\
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
    EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', r.tablename);
  END LOOP;
  FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = current_schema() AND c.relkind = 'S' LOOP
    EXECUTE format('DROP SEQUENCE IF EXISTS %I CASCADE', r.relname);
  END LOOP;
  FOR r IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE n.nspname = current_schema() AND t.typtype = 'e' LOOP
    EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', r.typname);
  END LOOP;
END $$;
"""
"""Before the backup's objects are made: the current schema's tables, sequences and enum types
(the bridge's, from whichever version made them), in the same transaction as the load."""


def pg_others(config: Config) -> list[str]:
    """Who else is connected to ``config``'s PostgreSQL database: ``application@address`` each."""
    from bridge.db import make_engine

    engine = make_engine(config)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT coalesce(nullif(application_name, ''), backend_type, '?') || ' from ' || "
                "coalesce(host(client_addr), 'this server') FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            ).all()
    finally:
        engine.dispose()
    return sorted(r[0] for r in rows)


def _restore_pg(config: Config, tar: tarfile.TarFile, stamp: str, say: Say) -> None:
    pg_restore, psql, pg_dump = _pg_tool("pg_restore"), _pg_tool("psql"), _pg_tool("pg_dump")
    others = pg_others(config)
    if others:
        raise BackupError(
            f"{len(others)} other connection(s) to {config.database.display_url()} ({', '.join(others)}): "
            "the bridge may be running; stop every `run`, `serve` and `worker` on it first, then restore"
        )
    uri, env = _libpq(config)
    folder = config.base_dir
    aside = folder / f"{make_url(config.database.url).database}.replaced-{stamp}.dump"
    _run([pg_dump, "--format=custom", "--file", str(aside), "--dbname", uri], env, "pg_dump of the current database")
    os.chmod(aside, 0o600)
    say(f"the database replaced is kept as {aside} (pg_restore puts it back)")
    with tempfile.TemporaryDirectory(prefix="jht-restore-") as tmp:
        dump, clear = Path(tmp) / "bridge.dump", Path(tmp) / "clear.sql"
        _extract(tar, PG_MEMBER, dump)
        clear.write_text(_PG_CLEAR)
        # One transaction for the whole replacement: the old tables go and the backup's come, or
        # (any error) nothing changes.
        script = subprocess.Popen(
            [pg_restore, "--no-owner", "--no-acl", "--file", "-", str(dump)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        load = subprocess.run(
            [psql, "--quiet", "--no-psqlrc", "--single-transaction", "-v", "ON_ERROR_STOP=1", "--dbname", uri]
            + ["--file", str(clear), "--file", "-"],
            stdin=script.stdout,
            capture_output=True,
            text=True,
            env=env,
        )
        script.stdout.close()
        script_err = script.stderr.read().decode("utf-8", "replace")
        script.wait()
        if script.returncode != 0:
            raise BackupError(f"pg_restore failed (exit {script.returncode}): {script_err.strip()}")
        if load.returncode != 0:
            raise BackupError(f"loading the backup failed, nothing was changed: {load.stderr.strip()}")
    say(f"database: PostgreSQL {config.database.display_url()} restored from the backup (pg_restore)")


def _restore_files(config: Config, manifest: Manifest, tar: tarfile.TarFile, say: Say) -> None:
    """The backup's config and secret files beside the current ones (see the module)."""
    from bridge.diagnose import secret_files

    entry = manifest.data.get("config")
    if entry and config.source:
        current = Path(config.source).resolve()
        theirs = _member(tar, entry["member"]).read()
        if theirs == current.read_bytes():
            say(f"config: {current} is the same as the backup's")
        else:
            _write_private(current.with_name(current.name + ".from-backup"), theirs)
            say(f"config: kept {current}; the backup's is {current.name}.from-backup beside it (compare them)")
    wanted = secret_files(config)
    for secret in manifest.data.get("secrets", []):
        if not secret.get("member"):
            continue
        data = _member(tar, secret["member"]).read()
        path = wanted.get(secret["key"])
        if path is None:
            say(f"secret {secret['key']}: the current config names no file for it; not restored")
        elif not path.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            _write_private(path, data)
            say(f"secret {secret['key']}: restored to {path}")
        elif path.read_bytes() != data:
            _write_private(path.with_name(path.name + ".from-backup"), data)
            say(f"secret {secret['key']}: kept {path}; the backup's is {path.name}.from-backup beside it")


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
