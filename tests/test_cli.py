"""The command line (O1): init in an empty folder, check, config errors without tracebacks,
users, and complete --help for every command."""

from __future__ import annotations

import json
import os
import stat

import pytest
from typer.testing import CliRunner

from bridge.cli import app

runner = CliRunner()


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JHT_CONFIG", raising=False)
    return tmp_path


def invoke(*args, input=None, env=None):
    return runner.invoke(app, [str(a) for a in args], input=input, env=env, catch_exceptions=False)


def test_o1_init_makes_a_working_setup_in_an_empty_folder(folder):
    result = invoke("init")
    assert result.exit_code == 0, result.output
    var = folder / "var"
    assert (var / "bridge.toml").is_file() and (var / "bridge.db").is_file()
    assert all((var / "erp" / sub).is_dir() for sub in ("out", "in", "archive", "error"))
    key = var / "secrets" / "token.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    # Found without --config: ./var/bridge.toml is a default location.
    check = invoke("check")
    assert check.exit_code == 0, check.output
    assert "[ok  ] schema: up to date" in check.output


def test_o1_check_with_no_configuration_says_where_it_looked_and_to_run_init(folder, monkeypatch):
    """O1 (issue #18 point 7): in a folder with no config (and no JHT_* variables) ``check``
    does not check the built-in defaults (their missing erp folder, a database made here) but
    says where it looked and to run ``jht-bridge init``; after that, the same ``check`` passes."""
    for name in [n for n in os.environ if n.startswith("JHT_") and not n.startswith("JHT_TEST_")]:
        monkeypatch.delenv(name)
    result = invoke("check")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"[FAIL] config: no configuration found (looked in {folder / 'etc' / 'bridge.toml'} and "
        f"{folder / 'var' / 'bridge.toml'}; no --config, no $JHT_CONFIG, no JHT_<SECTION>__<KEY> variables); "
        "run `jht-bridge init` to make one in ./var, or pass --config FILE"
    ]
    assert "erp" not in result.output and list(folder.iterdir()) == []
    assert invoke("init").exit_code == 0
    assert invoke("check").exit_code == 0


def test_o1_init_again_keeps_what_exists(folder):
    invoke("init", "site")
    config = folder / "site" / "bridge.toml"
    config.write_text(config.read_text() + "\n# edited by hand\n")
    key = (folder / "site" / "secrets" / "token.key").read_text()
    result = invoke("init", "site")
    assert result.exit_code == 0
    assert "# edited by hand" in config.read_text()
    assert (folder / "site" / "secrets" / "token.key").read_text() == key


def test_o3_check_fails_clearly_when_the_schema_is_behind(folder):
    invoke("init", "site")
    os.remove(folder / "site" / "bridge.db")
    result = invoke("--config", folder / "site" / "bridge.toml", "check")
    assert result.exit_code == 1
    assert "run `jht-bridge db upgrade`" in result.output
    assert invoke("--config", folder / "site" / "bridge.toml", "db", "upgrade").exit_code == 0
    assert invoke("--config", folder / "site" / "bridge.toml", "check").exit_code == 0


def test_o1_a_bad_config_is_reported_by_key_without_a_traceback(folder):
    invoke("init", "site")
    config = folder / "site" / "bridge.toml"
    config.write_text(config.read_text().replace("[customers]", "[customers]\ncolour = 'blue'"))
    result = invoke("--config", config, "check")
    assert result.exit_code == 2
    assert "customers.colour: unknown key" in result.output
    assert "Traceback" not in result.output
    env_result = invoke("--config", config, "check", env={"JHT_ORDERS__MAX_LINES": "lots"})
    assert "orders.max_lines" in env_result.output


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_o1_run_serves_the_api_delivers_orders_and_stops_cleanly_on_sigterm(folder):
    """`jht-bridge run` as an operator starts it: the API answers and the sync loops deliver."""
    import signal
    import subprocess
    import sys

    import httpx

    from bridge.worker import wait_until

    invoke("init")
    assert invoke("demo-data").exit_code == 0  # four customers: their upserts are queued
    out_dir = folder / "var" / "erp" / "out"
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "run", "--port", str(port)],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def healthy():
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        assert wait_until(healthy, timeout=30)
        assert wait_until(lambda: len(list(out_dir.glob("*customer.upsert*"))) == 4, timeout=30)
        login = httpx.post(f"http://127.0.0.1:{port}/api/mp/v1/auth/login", json={"code": "someone"}, timeout=5)
        assert login.status_code == 201 and login.json()["access_token"]
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    assert "sync loops stopped" in output and "WECHAT DEV MODE" in output


def test_p12_18_o1_run_on_a_port_in_use_says_which_and_who_holds_it_before_starting_anything(folder):
    """#12 point 18, O1: `jht-bridge run` on a port another process listens on fails at once
    with exit code 2, naming the port and the process that holds it, without saying "API on"
    and without starting the sync loops (nothing is delivered)."""
    import socket

    invoke("init")
    assert invoke("demo-data").exit_code == 0  # four customers: their upserts are queued
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        result = invoke("run", "--port", port)
    finally:
        holder.close()
    assert result.exit_code == 2, result.output
    assert f"port {port} on 127.0.0.1 is already in use by process {os.getpid()} (" in result.output
    assert "--port" in result.output and "API on" not in result.output
    assert list((folder / "var" / "erp" / "out").iterdir()) == []


def test_o1_dev_mode_is_refused_on_a_public_address(folder):
    invoke("init")
    result = invoke("run", "--host", "0.0.0.0")
    assert result.exit_code == 2 and "wechat.mode = dev" in result.output


def test_o1_run_refuses_an_old_schema(folder):
    invoke("init")
    os.remove(folder / "var" / "bridge.db")
    result = invoke("run")
    assert result.exit_code == 1 and "jht-bridge db upgrade" in result.output


def test_p12_06_a_missing_share_lets_the_bridge_start_take_orders_and_deliver_once_mounted(folder):
    """#12 point 6 (O1, O3, E5): with the ERP share not mounted yet, `run` serves the API and
    takes an order (it waits in the outbox), `check` prints one failing line naming the folder,
    `outbox list` and `inbox list` work; once the share is there the order is delivered."""
    import signal
    import subprocess
    import sys
    import uuid

    import httpx

    from bridge.worker import wait_until
    from connectors.filedrop import make_folders

    invoke("init")
    assert invoke("demo-data").exit_code == 0
    share = folder / "mnt" / "erp"  # not mounted yet
    env = {
        "JHT_CONNECTOR__FILEDROP__ROOT": str(share),
        "JHT_OUTBOX__BACKOFF_BASE_S": "0.2",
        "JHT_OUTBOX__BACKOFF_MAX_S": "0.5",
        "JHT_OUTBOX__QUICK_RETRIES": "0",
    }
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "run", "--port", str(port)],
        cwd=folder,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"

    def healthy():
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return proc.poll() is not None  # exited: stop waiting

    try:
        assert wait_until(healthy, timeout=30) and proc.poll() is None, "run did not start"
        token = httpx.post(f"{base}/api/mp/v1/auth/login", json={"code": "early-buyer"}, timeout=5).json()
        me = {"Authorization": f"Bearer {token['access_token']}"}
        address = httpx.post(
            f"{base}/api/mp/v1/addresses",
            headers=me,
            json={"recipient": "李工", "phone": "13800000000", "detail": "工业大道 1 号"},
            timeout=5,
        ).json()["id"]
        product = httpx.get(f"{base}/api/mp/v1/products", headers=me, timeout=5).json()["items"][0]["id"]
        placed = httpx.post(
            f"{base}/api/mp/v1/orders",
            headers={**me, "Idempotency-Key": uuid.uuid4().hex},
            json={"lines": [{"product_id": product, "quantity": 2}], "address_id": address},
            timeout=10,
        )
        assert placed.status_code == 201, placed.text
        order_no = placed.json()["order_no"]

        check = invoke("check", env=env)
        failing = [line for line in check.output.splitlines() if line.startswith("[FAIL]")]
        assert len(failing) == 1 and str(share) in failing[0], check.output
        listed = invoke("outbox", "list", "--ref", order_no, env=env)
        assert listed.exit_code == 0 and "order.create" in listed.output and "pending" in listed.output
        assert invoke("inbox", "list", env=env).exit_code == 0

        make_folders(share)  # the share is mounted
        out_dir = share / "out"
        assert wait_until(lambda: any(out_dir.glob(f"*_{order_no}_order.create.*")), timeout=30)
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output


def test_users_add_hashes_the_password_and_refuses_duplicates(folder):
    invoke("init")
    result = invoke(
        "users", "add", "zhangwei", "--role", "sales", "--name", "张伟", "--password-stdin", input="a-good-password\n"
    )
    assert result.exit_code == 0, result.output
    assert "invite code" in result.output
    again = invoke("users", "add", "zhangwei", "--password-stdin", input="a-good-password\n")
    assert again.exit_code == 1 and "already exists" in again.output
    short = invoke("users", "add", "li", "--password-stdin", input="short\n")
    assert short.exit_code == 1 and "at least 10" in short.output
    bad_role = invoke("users", "add", "li", "--role", "boss", "--password-stdin", input="a-good-password\n")
    assert bad_role.exit_code == 2

    from sqlmodel import Session, select

    from bridge.config import load_config
    from bridge.db import make_engine
    from bridge.models import StaffUser
    from bridge.users import verify_password

    engine = make_engine(load_config(folder / "var" / "bridge.toml", environ={}))
    with Session(engine) as s:
        user = s.exec(select(StaffUser).where(StaffUser.username == "zhangwei")).one()
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, "a-good-password")
    assert not verify_password(user.password_hash, "wrong-password")
    engine.dispose()


def test_users_add_reads_the_password_from_a_file(folder):
    """Issue #14 "What must hold": `users add admin --role admin --password-file F` (an installer)."""
    invoke("init")
    secret = folder / "admin.password"
    secret.write_text("a-good-admin-password\nignored second line\n", encoding="utf-8")
    result = invoke("users", "add", "admin", "--role", "admin", "--password-file", str(secret))
    assert result.exit_code == 0, result.output
    missing = invoke("users", "add", "li", "--password-file", str(folder / "nope"))
    assert missing.exit_code == 1 and "cannot read the password file" in missing.output
    both = invoke("users", "add", "li", "--password-stdin", "--password-file", str(secret), input="x\n")
    assert both.exit_code == 1 and "not both" in both.output

    from sqlmodel import Session, select

    from bridge.config import load_config
    from bridge.db import make_engine
    from bridge.models import StaffUser
    from bridge.users import verify_password

    engine = make_engine(load_config(folder / "var" / "bridge.toml", environ={}))
    with Session(engine) as s:
        user = s.exec(select(StaffUser).where(StaffUser.username == "admin")).one()
    assert user.role == "admin" and verify_password(user.password_hash, "a-good-admin-password")
    engine.dispose()


def test_config_show_hides_secrets(folder):
    invoke("init")
    result = invoke("config", "show", env={"JHT_SECURITY__TOKEN_SECRET": "top-secret-123"})
    assert result.exit_code == 0
    assert "top-secret-123" not in result.output
    body = result.output.split("\n", 1)[1]
    assert json.loads(body)["security"]["token_secret"] == "**********"


def _commands(group, prefix=()):
    import typer.main

    click_group = typer.main.get_command(group) if not hasattr(group, "commands") else group
    for name, command in click_group.commands.items():
        path = (*prefix, name)
        yield path, command
        if hasattr(command, "commands"):
            yield from _commands(command, path)


def test_o1_every_command_has_complete_help():
    for path, command in _commands(app):
        assert command.help and len(command.help.strip()) > 20, f"{' '.join(path)} has no help text"
        for param in command.params:
            if param.param_type_name == "option" and param.name not in ("help",):
                assert param.help, f"{' '.join(path)} {param.opts} has no help"
        result = invoke(*path, "--help")
        assert result.exit_code == 0


def _site_engine(folder):
    from bridge.config import load_config
    from bridge.db import make_engine

    return make_engine(load_config(folder / "var" / "bridge.toml", environ={}))


def test_o1_outbox_and_inbox_lists_print_the_stored_words_as_they_are(folder):
    """A dead letter's ERP error and an event's reason often hold brackets ("[sync.status_map]",
    "[code 42]"): the lists show them, not rich's reading of them as markup."""
    from sqlmodel import Session, select

    from bridge.models import InboxEvent, InboxStatus, OutboxMessage, OutboxStatus

    invoke("init")
    assert invoke("demo-data").exit_code == 0  # queues the demo customers' upserts
    engine = _site_engine(folder)
    with Session(engine) as s:
        message = s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).first()
        message.status, message.last_error = OutboxStatus.DEAD, "ERP: [code 42] [b]客户[/b] refused"
        s.add(message)
        s.add(
            InboxEvent(
                connector="filedrop",
                event_id="file:a.json:0",
                kind="order.status",
                payload={},
                status=InboxStatus.DEAD,
                error="unknown ERP status 'x' (add it to [sync.status_map])",
            )
        )
        s.commit()
    engine.dispose()
    outbox = invoke("outbox", "list", "--status", "dead")
    assert outbox.exit_code == 0 and "ERP: [code 42] [b]客户[/b] refused" in outbox.output, outbox.output
    inbox = invoke("inbox", "list")
    assert inbox.exit_code == 0 and "(add it to [sync.status_map])" in inbox.output, inbox.output


def test_o1_a_database_this_install_cannot_open_is_a_clean_config_error(folder, monkeypatch):
    """make_engine refusing the configured database (e.g. its driver is not installed) exits 2
    with the message, like any other config problem, without a traceback."""
    import bridge.db
    from bridge.config import ConfigError

    invoke("init")

    def no_driver(config, **kw):
        raise ConfigError(["database.url: postgresql needs psycopg (pip install 'jht-bridge[postgresql]')"])

    monkeypatch.setattr(bridge.db, "make_engine", no_driver)
    result = invoke("db", "current")
    assert result.exit_code == 2
    assert "database.url: postgresql needs psycopg" in result.output and "Traceback" not in result.output


ADMIN_PAGES = {
    "/admin/": "工作台",
    "/admin/orders": "订单",
    "/admin/customers": "客户",
    "/admin/products": "商品",
    "/admin/inquiries": "询价",
    "/admin/notifications": "通知",
    "/admin/sync": "同步",
    "/admin/staff": "人员",
    "/admin/audit": "审计日志",
}


def test_s1_a_new_installs_admin_pages_work_under_jht_bridge_run(folder):
    """Issue #14 "What must hold": `init && demo-data && users add admin --role admin
    --password-file F`, then `jht-bridge run`: /admin/ asks for a login, and after it every page
    answers with the demo data (and the first order's and customer's pages too)."""
    import re
    import signal
    import subprocess
    import sys

    import httpx

    from bridge.worker import wait_until

    invoke("init")
    assert invoke("demo-data").exit_code == 0
    (folder / "pw").write_text("the-boss-password-2026\n", encoding="utf-8")
    assert invoke("users", "add", "boss", "--role", "admin", "--password-file", folder / "pw").exit_code == 0
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "run", "--port", str(port)],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def up():
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        assert wait_until(up, timeout=30)
        with httpx.Client(base_url=base, timeout=10) as http:
            first = http.get("/admin/", follow_redirects=True)
            assert str(first.url) == f"{base}/admin/login" and "员工登录" in first.text
            token = re.search(r'name="_csrf_token" value="([^"]+)"', first.text).group(1)
            signed = http.post(
                "/admin/login",
                data={"username": "boss", "password": "the-boss-password-2026", "_csrf_token": token},
                follow_redirects=False,
            )
            assert (signed.status_code, signed.headers["location"]) == (303, "/admin/")
            for path, title in ADMIN_PAGES.items():
                answer = http.get(path)
                assert answer.status_code == 200, f"{path}: {answer.status_code}"
                assert f"<title>{title}" in answer.text, f"{path}: not the {title} page"
            customers = http.get("/admin/customers").text
            customer = re.search(r'href="(/admin/customers/\d+)"', customers).group(1)
            assert http.get(customer).status_code == 200
            products = http.get("/admin/products").text
            product = re.search(r'href="(/admin/products/\d+)"', products).group(1)
            assert http.get(product).status_code == 200 and http.get(product + "/qr").status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output


def test_the_api_socket_sends_answers_at_once():
    """Issue #16: the listening socket (and so, on Linux, each connection accepted from it) has
    Nagle off — else an answer written in two parts waits ~40 ms for the client's delayed ACK on
    every keep-alive request (measured by bench/http_bench.py: 1 connection, 17 → 63 orders/s)."""
    import socket

    from bridge.app import listen

    sock = listen("127.0.0.1", 0)
    try:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        sock.listen()
        with socket.create_connection(sock.getsockname()) as client:
            accepted, _ = sock.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
            assert client
    finally:
        sock.close()


def test_writers_of_one_process_take_turns_on_sqlite(tmp_path):
    """Issue #16: SQLite writers of this process queue on an in-process lock before BEGIN
    IMMEDIATE (no busy-handler sleeps). Eight threads writing at once: every committed write
    lands, and the lock is released on commit and on rollback alike (a leaked lock would stall
    every later write and fail it after the busy timeout)."""
    import threading

    import sqlalchemy as sa

    from bridge import db

    engine = db.make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (n INTEGER)"))
    errors = []

    def writer(k: int) -> None:
        for i in range(50):
            try:
                with db.session_scope(engine) as session:
                    session.execute(sa.text("INSERT INTO t VALUES (:n)"), {"n": k * 100 + i})
                    if i % 10 == 0:
                        raise ValueError("rolled back")  # the lock must be released on rollback too
            except ValueError:
                pass
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    with db.session_scope(engine) as session:  # not left locked: a write goes through
        session.execute(sa.text("INSERT INTO t VALUES (-1)"))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar() == 8 * 45 + 1  # 5 of 50 rolled back each
    engine.dispose()
