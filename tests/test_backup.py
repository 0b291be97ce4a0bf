"""O4: `jht-bridge backup` while the bridge runs and orders are placed, and `restore` into a new
folder (SQLite) or a new database (PostgreSQL): every order and outbox message committed before
the backup began is there, no order is there in part; restore refuses while the bridge runs,
keeps the database it replaces, and checks the backup's schema against this version."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from bridge import db as bridge_db
from bridge import runlock
from bridge.cli import app
from bridge.worker import wait_until
from tests.conftest import require, require_postgresql
from tests.sync_helpers import make_shop, place

runner = CliRunner()
QUIET = {"JHT_OUTBOX__POLL_INTERVAL_S": "120"}
"""The bridge's dispatcher idles during the SQLite test (the test's threads do not wake it): a
commit of its would checkpoint the WAL into the database file, and the orders must stay in the
WAL, the hard case for a backup (a copy of the file alone misses them)."""


def invoke(*args, input=None, env=None):
    return runner.invoke(app, [str(a) for a in args], input=input, env=env, catch_exceptions=False)


def cli(folder: Path, *args, env: dict | None = None) -> subprocess.CompletedProcess:
    """The CLI as an operator runs it: another process."""
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *map(str, args)],
        cwd=folder,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("JHT_") and not n.startswith("JHT_TEST_")]:
        monkeypatch.delenv(name)
    return tmp_path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Load:
    """Threads placing orders through the real placement code (``bridge.orders.place_order``),
    one customer each, until stopped; ``committed`` holds the order numbers whose transaction
    has committed, in the order they did."""

    def __init__(self, engine, shop):
        self.engine, self.shop = engine, shop
        self.committed: list[str] = []
        self.errors: list[BaseException] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._place, args=(c,)) for c in shop["customers"]]

    def _place(self, customer) -> None:
        try:
            while not self.stop.is_set():
                order = place(self.engine, self.shop, customer)
                self.committed.append(order.order_no)  # after the commit returned
        except BaseException as exc:  # reported by the test
            self.errors.append(exc)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)
        assert not self.errors, self.errors


def _rows(engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql)]


def _outbox(engine, up_to: int | None = None) -> dict[int, tuple]:
    where = f" WHERE id <= {up_to}" if up_to is not None else ""
    return {r[0]: r[1:] for r in _rows(engine, f"SELECT id, kind, aggregate_id FROM outbox{where}")}


def _lines_per_order(engine) -> dict[str, int]:
    return dict(
        _rows(
            engine,
            "SELECT o.order_no, count(l.id) FROM orders o LEFT JOIN order_line l ON l.order_id = o.id GROUP BY o.order_no",
        )
    )


def _assert_backup_holds_what_was_committed(live, restored, before: set[str], outbox_before: dict[int, tuple]) -> None:
    """Every order committed before the backup began is in the restored database with all its
    lines, so is every outbox message committed before it, and no order is there in part (an
    order without its lines or without its order.create message)."""
    restored_lines = _lines_per_order(restored)
    live_lines = _lines_per_order(live)
    assert before <= set(restored_lines), sorted(before - set(restored_lines))[:5]
    restored_outbox = _outbox(restored)
    missing = {i: m for i, m in outbox_before.items() if restored_outbox.get(i) != m}
    assert not missing, list(missing.items())[:5]
    creates = {agg for kind, agg in restored_outbox.values() if kind == "order.create"}
    for order_no, lines in restored_lines.items():
        assert lines and lines == live_lines[order_no], order_no
        assert order_no in creates, f"{order_no} was restored without its message to the ERP"
    assert _rows(restored, "PRAGMA integrity_check" if restored.dialect.name == "sqlite" else "SELECT 'ok'") == [
        ("ok",)
    ]


def test_o4_backup_under_load_restores_every_committed_order_and_outbox_message_into_a_new_folder(folder):
    """SQLite: `jht-bridge run` serves and dispatches, threads place orders, `jht-bridge backup`
    runs in another process meanwhile; restore refuses while the bridge runs, then restores into
    a new folder."""
    assert invoke("init", "site").exit_code == 0
    config = folder / "site" / "bridge.toml"
    engine = bridge_db.make_engine(f"sqlite:///{folder / 'site' / 'bridge.db'}")
    sa.event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA wal_autocheckpoint = 0"))
    shop = make_shop(engine, customers=4)
    port = _free_port()
    bridge = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "-c", str(config), "run", "--port", str(port)],
        cwd=folder,
        env={**os.environ, **QUIET},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_until(healthy, timeout=30)
        with Load(engine, shop) as load:
            assert wait_until(lambda: len(load.committed) >= 100, timeout=60)
            before = set(load.committed)
            outbox_before = _outbox(engine)
            done = cli(folder, "-c", config, "backup", "backup.tar.gz")
            during = len(load.committed) - len(before)
            time.sleep(0.3)
        assert done.returncode == 0, done.stderr
        assert during > 0, "no order was placed while the backup ran: not a test under load"
        assert "copied with SQLite's online backup API" in done.stdout
        assert f"secret file security.token_secret_file = {folder / 'site' / 'secrets' / 'token.key'} (not copied)" in (
            done.stdout
        )
        # The database is the bridge's: no restore under it.
        orders_now = len(_lines_per_order(engine))
        refused = cli(folder, "-c", config, "restore", "backup.tar.gz", "--yes")
        assert refused.returncode == 1
        assert "the bridge is running on" in refused.stderr and "stop it first" in refused.stderr
        assert len(_lines_per_order(engine)) == orders_now
        assert not list((folder / "site").glob("bridge.db.replaced-*"))
    finally:
        bridge.send_signal(signal.SIGTERM)
        output, _ = bridge.communicate(timeout=30)
    assert bridge.returncode == 0, output

    with tarfile.open(folder / "backup.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["config/bridge.toml", "database/bridge.db", "manifest.json"]
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["database"]["backend"] == "sqlite" and manifest["schema_revision"] == bridge_db.head_revision()
    assert manifest["counts"]["orders"] >= len(before)
    assert [s["key"] for s in manifest["secrets"]] == ["security.token_secret_file"]
    assert oct(os.stat(folder / "backup.tar.gz").st_mode & 0o777) == "0o600"

    assert invoke("init", "copy").exit_code == 0
    result = cli(folder, "-c", folder / "copy" / "bridge.toml", "restore", "backup.tar.gz", "--yes")
    assert result.returncode == 0, result.stderr
    (aside,) = [p for p in (folder / "copy").glob("bridge.db.replaced-*") if p.name[-1].isdigit()]  # kept
    assert _rows(bridge_db.make_engine(f"sqlite:///{aside}"), "SELECT count(*) FROM orders") == [(0,)]
    restored = bridge_db.make_engine(f"sqlite:///{folder / 'copy' / 'bridge.db'}")
    _assert_backup_holds_what_was_committed(engine, restored, before, outbox_before)
    assert len(_lines_per_order(restored)) == manifest["counts"]["orders"]
    assert invoke("-c", folder / "copy" / "bridge.toml", "check").exit_code == 0


def test_o4_restore_asks_first_and_a_no_changes_nothing(folder):
    assert invoke("init", "site").exit_code == 0
    assert invoke("-c", "site/bridge.toml", "backup", "b.tar.gz").exit_code == 0
    db = folder / "site" / "bridge.db"
    before = db.read_bytes()
    answer = invoke("-c", "site/bridge.toml", "restore", "b.tar.gz", input="n\n")
    assert answer.exit_code == 1 and "Replace the database with the backup?" in answer.output
    assert "nothing restored" in answer.output
    assert db.read_bytes() == before and not list(db.parent.glob("bridge.db.replaced-*"))


def test_o4_a_bridge_does_not_start_while_a_restore_holds_the_database(folder):
    assert invoke("init", "site").exit_code == 0
    with runlock.hold(folder / "site" / "bridge.db", shared=False):
        result = invoke("-c", "site/bridge.toml", "run", "--port", _free_port())
    assert result.exit_code == 2 and "the database is being restored" in result.output


def _rewrite_manifest(archive: Path, **changes) -> None:
    with tarfile.open(archive) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(archive, "w:gz") as tar:
        for member, data in members:
            if member.name == "manifest.json":
                data = json.dumps({**json.loads(data), **changes}).encode()
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data))


def test_o4_restore_refuses_a_backup_of_a_newer_schema_and_one_of_another_database(folder):
    assert invoke("init", "site").exit_code == 0
    assert invoke("-c", "site/bridge.toml", "backup", "b.tar.gz").exit_code == 0
    _rewrite_manifest(folder / "b.tar.gz", schema_revision="0099_from_the_future", bridge_version="9.0")
    newer = invoke("-c", "site/bridge.toml", "restore", "b.tar.gz", "--yes")
    assert newer.exit_code == 1
    assert "the backup's schema 0099_from_the_future is newer than this jht-bridge" in newer.output
    assert "made by jht-bridge 9.0" in newer.output
    _rewrite_manifest(
        folder / "b.tar.gz", schema_revision=bridge_db.head_revision(), database={"backend": "postgresql"}
    )
    other = invoke("-c", "site/bridge.toml", "restore", "b.tar.gz", "--yes")
    assert other.exit_code == 1 and "the backup holds a postgresql database, the current config uses sqlite" in (
        other.output
    )
    (folder / "junk.tar.gz").write_bytes(b"not an archive")
    junk = invoke("-c", "site/bridge.toml", "restore", "junk.tar.gz", "--yes")
    assert junk.exit_code == 1 and "is not a jht-bridge backup" in junk.output
    assert not list((folder / "site").glob("bridge.db.replaced-*"))


def test_o4_a_backup_of_an_older_schema_is_upgraded_after_the_restore(folder):
    old = folder / "old.db"
    engine = bridge_db.make_engine(f"sqlite:///{old}")
    bridge_db.upgrade(engine, "0003")
    engine.dispose()
    env = {"JHT_DATABASE__URL": f"sqlite:///{old}", "JHT_SECURITY__TOKEN_SECRET": "s" * 40}
    assert invoke("backup", "old.tar.gz", env=env).exit_code == 0
    assert invoke("init", "site").exit_code == 0
    result = invoke("-c", "site/bridge.toml", "restore", "old.tar.gz", "--yes")
    assert result.exit_code == 0, result.output
    assert "its schema is older than this version's" in result.output
    assert f"schema upgraded from 0003 to {bridge_db.head_revision()}" in result.output
    restored = bridge_db.make_engine(f"sqlite:///{folder / 'site' / 'bridge.db'}")
    assert bridge_db.current_revision(restored) == bridge_db.head_revision()


def test_o4_a_backup_into_a_folder_that_does_not_exist_is_refused_and_writes_nothing(folder):
    """O4: a mistyped folder is said, not made (the backup would sit where nobody looks)."""
    assert invoke("init", "site").exit_code == 0
    result = invoke("-c", "site/bridge.toml", "backup", "bakcups/b.tar.gz")
    assert result.exit_code != 0
    assert f"folder {folder / 'bakcups'} does not exist" in result.output
    assert not (folder / "bakcups").exists()


def test_o4_secrets_are_listed_unless_included_and_restore_keeps_the_current_ones(folder):
    assert invoke("init", "site").exit_code == 0
    key = (folder / "site" / "secrets" / "token.key").read_bytes()
    assert invoke("-c", "site/bridge.toml", "backup", "plain.tar.gz").exit_code == 0
    result = invoke("-c", "site/bridge.toml", "backup", "full.tar.gz", "--include-secrets")
    assert result.exit_code == 0 and "(copied)" in result.output
    with tarfile.open(folder / "plain.tar.gz") as tar:
        assert "secrets/security.token_secret_file" not in tar.getnames()
    with tarfile.open(folder / "full.tar.gz") as tar:
        assert tar.extractfile("secrets/security.token_secret_file").read() == key

    assert invoke("init", "other").exit_code == 0  # a key of its own
    result = invoke("-c", "other/bridge.toml", "restore", "full.tar.gz", "--yes")
    assert result.exit_code == 0, result.output
    assert (folder / "other" / "secrets" / "token.key").read_bytes() != key  # the current one is kept
    assert (folder / "other" / "secrets" / "token.key.from-backup").read_bytes() == key
    (folder / "other" / "secrets" / "token.key").unlink()  # a new machine without its key yet
    os.remove(folder / "other" / "secrets" / "token.key.from-backup")
    result = invoke("-c", "other/bridge.toml", "restore", "full.tar.gz", "--yes")
    assert result.exit_code == 0, result.output
    assert (folder / "other" / "secrets" / "token.key").read_bytes() == key
    assert oct(os.stat(folder / "other" / "secrets" / "token.key").st_mode & 0o777) == "0o600"


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture
def pg_databases():
    """Two new databases on the test cluster (the backup's source and the restore's target),
    dropped at the end."""
    url = make_url(require_postgresql())
    for tool in ("pg_dump", "pg_restore", "psql"):
        require(bool(__import__("shutil").which(tool)), f"{tool} is missing: apt install postgresql-client")
    names = [f"jht_backup_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield [url.set(database=name) for name in names]
    with admin.connect() as conn:
        for name in names:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _pg_env(url) -> dict[str, str]:
    return {
        "JHT_DATABASE__URL": url.set(password=None).render_as_string(hide_password=False),
        "JHT_DATABASE__PASSWORD": url.password,
    }


def test_o4_postgresql_backup_under_load_is_a_pg_dump_and_restores_into_another_database(folder, pg_databases):
    source_url, target_url = pg_databases
    source = bridge_db.make_engine(source_url.render_as_string(hide_password=False))
    bridge_db.upgrade(source)
    shop = make_shop(source, customers=4)
    assert invoke("init", "site").exit_code == 0
    config = folder / "site" / "bridge.toml"
    with Load(source, shop) as load:
        assert wait_until(lambda: len(load.committed) >= 60, timeout=60)
        before = set(load.committed)
        outbox_before = _outbox(source)
        done = cli(folder, "-c", config, "backup", "pg.tar.gz", env=_pg_env(source_url))
        during = len(load.committed) - len(before)
    assert done.returncode == 0, done.stderr
    assert during > 0, "no order was placed while the backup ran: not a test under load"
    assert "dumped with pg_dump (custom format)" in done.stdout
    with tarfile.open(folder / "pg.tar.gz") as tar:
        assert "database/bridge.dump" in tar.getnames()
        assert tar.extractfile("database/bridge.dump").read(5) == b"PGDMP"  # pg_dump's custom format

    target = bridge_db.make_engine(target_url.render_as_string(hide_password=False))
    bridge_db.upgrade(target)  # a database in use before: its tables go
    with target.connect():  # someone is connected: refused
        refused = cli(folder, "-c", config, "restore", "pg.tar.gz", "--yes", env=_pg_env(target_url))
    assert refused.returncode == 1 and "other connection(s)" in refused.stderr, refused.stderr
    target.dispose()
    result = cli(folder, "-c", config, "restore", "pg.tar.gz", "--yes", env=_pg_env(target_url))
    assert result.returncode == 0, result.stderr
    (aside,) = (folder / "site").glob(f"{target_url.database}.replaced-*.dump")
    assert aside.read_bytes()[:5] == b"PGDMP"
    restored = bridge_db.make_engine(target_url.render_as_string(hide_password=False))
    try:
        _assert_backup_holds_what_was_committed(source, restored, before, outbox_before)
        assert bridge_db.current_revision(restored) == bridge_db.head_revision()
    finally:
        restored.dispose()
        source.dispose()
