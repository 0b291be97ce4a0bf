"""O2: the bridge scaled out on PostgreSQL, as README.md "Scale out" sets it up.

Two `jht-bridge serve` and two `jht-bridge worker` processes on one PostgreSQL database (made by
`init`, `db upgrade` and `demo-data`), with the file-drop connector and the ERP simulator on its
folder, behind a real nginx that runs etc/nginx/jht-bridge.conf (its ports and log folder
replaced). Customers log in and place orders over HTTP through nginx as the mini-program does,
a fresh Idempotency-Key per order and the same key again after a connection error or a 5xx.
While they do, one `serve` and the worker that polls the inbox are killed with SIGKILL, twice,
and started again. Afterwards every order that was answered 2xx is in the database once, reached
the ERP (at least once: the ERP dedupes by order number, ``bridge.outbox``) under one file, in
order per customer, and the other worker took over the inbox while the first was down.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from bridge import db as bridge_db
from bridge.models import InboxEvent, Order, OrderStatus, Product
from bridge.worker import wait_until
from connectors.filedrop.formats import parse_out_name
from connectors.filedrop.simulator import PROCESSED
from tests.conftest import require, require_postgresql
from tests.sync_helpers import LOAD_LIMITS, REPO, scratch_database
from tests.test_crash import (
    FAST,
    FiledropErp,
    SimulatorThread,
    _erp_rows_done,
    _statuses,
    assert_delivered_once_in_order,
    start_worker_process,
)

NGINX_TEMPLATE = REPO / "etc" / "nginx" / "jht-bridge.conf"
TEMPLATE_PORTS = (8601, 8602)
"""The replicas' ports in the template, replaced by this test's."""

CUSTOMERS, ORDERS_EACH = 20, 100  # 2,000 orders
KILL_AT = (0.25, 0.6)
"""Share of the orders answered when a `serve` and the inbox's worker are killed."""
LEADER = "this worker polls the inbox"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def nginx_binary() -> str:
    """nginx from apt (see ``tests.conftest.require``)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    require(os.access(nginx, os.X_OK), "nginx is not installed (apt-get install nginx; scripts/test does)")
    return nginx


def nginx_config(folder: Path, listen: int, replicas: list[int]) -> Path:
    """etc/nginx/jht-bridge.conf as an operator installs it, with this test's ports and its log in
    ``folder``, inside a top-level nginx.conf of the test's own (pid, error log, temporary
    folders there). Every replacement must hit: a template of another shape fails here."""
    text = NGINX_TEMPLATE.read_text(encoding="utf-8")
    for template_port, port in zip(TEMPLATE_PORTS, replicas, strict=True):
        line = f"server 127.0.0.1:{template_port} "
        assert text.count(line) == 2, f"{NGINX_TEMPLATE}: expected {line!r} in both upstreams"
        text = text.replace(line, f"server 127.0.0.1:{port} ")
    assert text.count("    listen 80;\n") == 1 and text.count("/var/log/nginx/") == 1, NGINX_TEMPLATE
    text = text.replace("    listen 80;\n", f"    listen 127.0.0.1:{listen};\n")
    text = text.replace("/var/log/nginx/", f"{folder}/")
    site = folder / "jht-bridge.conf"
    site.write_text(text, encoding="utf-8")
    temp = "\n".join(
        f"    {kind}_temp_path {folder}/{kind}-temp;" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = folder / "nginx.conf"
    main.write_text(
        # As root, nginx's workers would otherwise run as nobody, who may not enter the test's folder.
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log info;\n"
        + "events { worker_connections 1024; }\n"
        + f"http {{\n{temp}\n    include {site};\n}}\n",
        encoding="utf-8",
    )
    return main


class ScaleOut:
    """The processes of one scaled-out bridge: ``serve`` replicas on fixed ports, ``worker``
    processes, nginx in front. Each is a child of the test, stopped by its id."""

    def __init__(self, folder: Path, env: dict[str, str]):
        self.folder, self.env = folder, env
        self.config = folder / "var" / "bridge.toml"
        self.serve_ports = [free_port(), free_port()]
        self.proxy_port = free_port()
        self.serves: list[subprocess.Popen | None] = [None, None]
        self.workers: list[subprocess.Popen | None] = [None, None]
        self.worker_logs: list[Path | None] = [None, None]
        self.starts = 0
        self.nginx: subprocess.Popen | None = None
        self.access_log = folder / "jht-bridge.access.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "bridge.cli", *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"jht-bridge {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def start_serve(self, i: int) -> None:
        """``jht-bridge serve --port P`` number ``i``, once it answers /healthz."""
        self.starts += 1
        port = self.serve_ports[i]
        log = self.folder / f"serve-{i}-{self.starts}.log"
        with open(log, "wb") as output:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bridge.cli", "--config", str(self.config), "serve", "--port", str(port)],
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self.serves[i] = proc

        def up() -> bool:
            if proc.poll() is not None:
                return True
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_until(up, timeout=60, step=0.1) and proc.poll() is None, log.read_text(errors="replace")[-3000:]

    def start_worker(self, i: int) -> None:
        self.starts += 1
        log = self.folder / f"worker-{i}-{self.starts}.log"
        self.workers[i] = start_worker_process(self.folder, self.config, self.env, log, self.starts)
        self.worker_logs[i] = log

    def inbox_leader(self, timeout: float = 30) -> int:
        """The worker whose poller holds the inbox (its log says so), after waiting for one to."""
        found: list[int] = []

        def one_leads() -> bool:
            found[:] = [
                i for i, log in enumerate(self.worker_logs) if log and LEADER in log.read_text(errors="replace")
            ]
            return len(found) == 1

        assert wait_until(one_leads, timeout=timeout, step=0.1), f"inbox leaders: {found}"
        return found[0]

    def start_nginx(self) -> None:
        config = nginx_config(self.folder, self.proxy_port, self.serve_ports)
        command = [nginx_binary(), "-p", str(self.folder), "-c", str(config), "-e", str(self.folder / "error.log")]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        with open(self.folder / "nginx.out", "wb") as output:
            self.nginx = subprocess.Popen([*command, "-g", "daemon off;"], stdout=output, stderr=subprocess.STDOUT)

        def up() -> bool:
            try:
                return httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return self.nginx.poll() is not None

        assert wait_until(up, timeout=30, step=0.1) and self.nginx.poll() is None, "nginx did not start"

    @staticmethod
    def kill(proc: subprocess.Popen) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop(self) -> list[int]:
        """SIGTERM to each process still running; their exit codes (nginx's left out)."""
        codes = []
        for proc in [*self.serves, *self.workers]:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [*self.serves, *self.workers]:
            if proc is not None:
                try:
                    codes.append(proc.wait(30))
                except subprocess.TimeoutExpired:  # pragma: no cover - reported by the exit code
                    proc.kill()
                    codes.append(proc.wait())
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)  # graceful: the master waits for its workers
            try:
                self.nginx.wait(10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                self.nginx.kill()
                self.nginx.wait()
        return codes

    def serve_output(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.folder.glob("serve-*.log")))


@pytest.fixture(scope="module")
def scaled(tmp_path_factory):
    """A bridge set up as the README's "Scale out" says, on a database of its own on the test
    PostgreSQL server, running 2 `serve` + 2 `worker` behind nginx, with the ERP simulator at
    work on its file drop. Yields (ScaleOut, engine, erp, simulator thread)."""
    url = require_postgresql()
    nginx_binary()
    folder = tmp_path_factory.mktemp("scale-out")
    with scratch_database(url, "jht_scale") as db_url:
        parts = sa.make_url(db_url)  # the password goes to the environment, as in production
        env = {
            **os.environ,
            **FAST,
            "JHT_DATABASE__URL": parts.set(password=None).render_as_string(hide_password=False),
            "JHT_DATABASE__PASSWORD": parts.password or "",
            "JHT_CONNECTOR__FILEDROP__SETTLE_S": "0",  # the simulator writes by rename: complete at once
            "JHT_ORDERS__PER_CUSTOMER_PER_MINUTE": str(LOAD_LIMITS.per_customer_per_minute),
            "JHT_ORDERS__PER_CUSTOMER_PER_DAY": str(LOAD_LIMITS.per_customer_per_day),
            # No stock figure is fresh enough: every order starts as 等待处理 and the ERP's
            # order.status moves it on, so each order needs the inbox (as in tests/test_crash.py).
            "JHT_ORDERS__STOCK_SNAPSHOT_MAX_AGE_S": "0",
            "JHT_LOG__FORMAT": "json",
            "JHT_LOG__LEVEL": "info",  # the worker's "this worker polls the inbox"
        }
        env.pop("JHT_CONFIG", None)
        cluster = ScaleOut(folder, env)
        cluster.cli("init", str(folder / "var"))
        with open(cluster.config, "a", encoding="utf-8") as fh:
            fh.write('\n[api]\ntrusted_proxies = ["127.0.0.1"]\n')
        cluster.cli("--config", str(cluster.config), "db", "upgrade")
        cluster.cli("--config", str(cluster.config), "demo-data")
        engine = bridge_db.make_engine(db_url)
        erp = FiledropErp(folder / "var")
        with Session(engine) as s:
            erp.sim.set_stock({sku: 1_000_000 for sku in s.exec(select(Product.sku)).all()})
        try:
            for i in range(2):
                cluster.start_serve(i)
                cluster.start_worker(i)
            cluster.start_nginx()
            with SimulatorThread(erp) as simulator:
                yield cluster, engine, erp, simulator
        finally:
            cluster.stop()
            engine.dispose()


# =========================================================================== the caller's address


def staff_login(base_url: str, source: str, username: str, forged: str | None = None) -> httpx.Response:
    """A wrong password for ``username`` from the local address ``source`` (127.0.0.x: all of
    127/8 is this machine), with a forged X-Forwarded-For when given."""
    headers = {"X-Forwarded-For": forged} if forged else {}
    with httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=10) as client:
        return client.post(
            f"{base_url}/api/sales/v1/auth/login",
            json={"username": username, "password": "not-the-password-1"},
            headers=headers,
        )


def test_o2_behind_nginx_the_login_limit_counts_the_address_nginx_reports_not_a_forged_one(scaled):
    """api.trusted_proxies = ["127.0.0.1"]: the bridge believes nginx's X-Forwarded-For, and
    nginx's is the address it saw — a client's own X-Forwarded-For is dropped. The staff login
    limit (10 a minute per address) therefore stops 127.0.0.2 whatever it claims to be, leaves
    127.0.0.3 alone (nginx's own address, 127.0.0.1, is not what is counted), and the log names the
    real address. Straight to a replica, the header of a caller that is not the proxy is ignored."""
    cluster, *_ = scaled
    per_minute = 10  # security.login_attempts_per_minute, the default
    answers = [
        staff_login(cluster.base_url, "127.0.0.2", f"guess{n}", forged=f"203.0.113.{n}") for n in range(per_minute + 1)
    ]
    assert [a.status_code for a in answers] == [401] * per_minute + [429], [a.text for a in answers]
    assert answers[-1].json()["code"] == "rate_limited" and answers[-1].headers.get("retry-after")
    other = staff_login(cluster.base_url, "127.0.0.3", "guess-other", forged="127.0.0.2")
    assert other.status_code == 401, other.text
    direct = staff_login(f"http://127.0.0.1:{cluster.serve_ports[0]}", "127.0.0.4", "guess-direct", forged="127.0.0.9")
    assert direct.status_code == 401, direct.text

    def failures() -> dict[str, str]:
        seen = {}
        for line in cluster.serve_output().splitlines():
            if '"staff login failed"' in line and '"username": "guess' in line:
                entry = json.loads(line)
                seen[entry["username"]] = entry["client"]
        return seen

    assert wait_until(lambda: len(failures()) == per_minute + 2, timeout=10), failures()
    assert failures() == {
        **{f"guess{n}": "127.0.0.2" for n in range(per_minute)},
        "guess-other": "127.0.0.3",
        "guess-direct": "127.0.0.4",
    }
    assert "203.0.113." not in cluster.serve_output()


# =========================================================================== 2,000 orders and SIGKILL


class Customer:
    """One mini-program user placing ``ORDERS_EACH`` orders one after the other through the
    proxy, as the app does: a fresh Idempotency-Key per order, the same again after a
    connection error or a 5xx, until answered (at most a minute)."""

    def __init__(self, base_url: str, n: int):
        self.client = httpx.Client(base_url=base_url, timeout=30)
        self.code = f"scale-out-{n}"
        self.placed: list[str] = []  # order numbers, in placement order
        self.retries = 0
        self.errors: list[str] = []

    def call(self, method: str, path: str, **kw) -> httpx.Response:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = self.client.request(method, path, **kw)
                if answer.status_code < 500:
                    return answer
                problem = f"{answer.status_code} {answer.text[:200]}"
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise AssertionError(f"{method} {path}: still failing after a minute: {problem}")
            self.retries += 1
            time.sleep(0.2)

    def sign_in(self) -> None:
        login = self.call("POST", "/api/mp/v1/auth/login", json={"code": self.code})
        assert login.status_code == 201, login.text
        self.client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        address = self.call(
            "POST",
            "/api/mp/v1/addresses",
            json={
                "recipient": "李工",
                "phone": "13800000000",
                "detail": "佛山市南海区狮山镇科技路 18 号",
                "is_default": True,
            },
        )
        assert address.status_code == 201, address.text
        self.address_id = address.json()["id"]
        products = self.call("GET", "/api/mp/v1/products", params={"kind": "standard"})
        assert products.status_code == 200, products.text
        self.product_id = products.json()["items"][0]["id"]

    def place_all(self) -> None:
        try:
            for k in range(ORDERS_EACH):
                body = {
                    "lines": [{"product_id": self.product_id, "quantity": 1 + k % 3}],
                    "address_id": self.address_id,
                }
                key = str(uuid.uuid4())
                answer = self.call("POST", "/api/mp/v1/orders", json=body, headers={"Idempotency-Key": key})
                assert answer.status_code in (200, 201), answer.text
                self.placed.append(answer.json()["order_no"])
        except Exception as exc:  # reported by the test
            self.errors.append(repr(exc))
        finally:
            self.client.close()


def applied_since(engine, erp, emitted_before: int) -> bool:
    """Has an event the ERP wrote after the first ``emitted_before`` been taken by the bridge?"""
    later = [event["event_id"] for event in list(erp.sim.emitted)[emitted_before:]]
    if not later:
        return False
    with Session(engine) as s:
        return bool(s.exec(select(InboxEvent.event_id).where(InboxEvent.event_id.in_(later))).first())


def test_o2_two_serve_two_workers_sigkill_under_2000_orders_lose_nothing_double_nothing_keep_order(scaled):
    """2,000 orders through nginx while a `serve` and the inbox's worker are SIGKILLed and
    restarted, twice: nothing lost, nothing doubled, nothing out of order, the inbox taken over,
    and nginx hid the kills from the customers."""
    cluster, engine, erp, simulator = scaled
    started = time.monotonic()
    customers = [Customer(cluster.base_url, n) for n in range(CUSTOMERS)]
    for customer in customers:
        customer.sign_in()
    threads = [threading.Thread(target=c.place_all, daemon=True) for c in customers]
    for thread in threads:
        thread.start()

    def answered() -> int:
        return sum(len(c.placed) for c in customers)

    def taken_back() -> bool:
        """nginx has served a request from each restarted replica since its restart."""
        log = cluster.access_log.read_text(errors="replace")
        return all(f"upstream=127.0.0.1:{cluster.serve_ports[v]} " in log[at:] for v, at in restarted)

    kills, restarted = [], []
    for round_no, share in enumerate(KILL_AT):
        assert wait_until(lambda: answered() >= share * CUSTOMERS * ORDERS_EACH, timeout=120), answered()
        # One replica down at a time: the one restarted in the round before is back in nginx's
        # rotation first. nginx tries a failed replica again only after fail_timeout (5 s), and a
        # try that came while it was still starting keeps it out for another 5 s; with placement
        # this fast the next kill could come before that, leaving nginx no replica (CI: 502s).
        assert wait_until(taken_back, timeout=30), "nginx did not take the restarted replica back"
        victim, leader = round_no % 2, cluster.inbox_leader()
        cluster.kill(cluster.serves[victim])
        cluster.kill(cluster.workers[leader])
        emitted = len(erp.sim.emitted)  # what the ERP writes from now on, the killed worker never saw
        kills.append((answered(), victim, leader))
        cluster.worker_logs[leader] = None
        # The other worker takes the inbox over while the killed one is down: it says so, and
        # events the ERP writes after the kill are taken.
        assert cluster.inbox_leader() == 1 - leader
        assert wait_until(lambda: applied_since(engine, erp, emitted), timeout=30), "no inbox poller took over"
        at = cluster.access_log.stat().st_size
        cluster.start_serve(victim)
        cluster.start_worker(leader)
        restarted.append((victim, at))
    for thread in threads:
        thread.join(180)
    placing_s = time.monotonic() - started
    # nginx leaves a replica that failed out for fail_timeout (5 s) before it tries it again, and
    # the orders may all be placed sooner than that after the last restart: reads go on through
    # the proxy until it has tried each restarted replica (asserted below, from the access log).
    with httpx.Client(base_url=cluster.base_url, timeout=10, headers=dict(customers[0].client.headers)) as reader:

        def read_until_taken_back() -> bool:
            reader.get("/api/mp/v1/orders")
            return taken_back()

        wait_until(read_until_taken_back, timeout=30)
    assert [c.errors for c in customers if c.errors] == []
    placed = [no for c in customers for no in c.placed]
    assert len(placed) == CUSTOMERS * ORDERS_EACH

    assert wait_until(lambda: _erp_rows_done(engine), timeout=120), "outbox did not drain"
    assert wait_until(lambda: set(erp.orders_held()) >= set(placed), timeout=60), "orders missing in the ERP"
    assert wait_until(lambda: _statuses(engine) == {OrderStatus.AWAITING_SHIPMENT}, timeout=60), (
        "ERP events not applied"
    )
    simulator.stop.set()
    simulator.thread.join(10)
    assert simulator.errors == []
    codes = cluster.stop()
    log = cluster.access_log.read_text(errors="replace")
    numbers = set(placed)
    print(
        f"\n{len(placed)} orders by {CUSTOMERS} customers placed in {placing_s:.1f} s, all done in "
        f"{time.monotonic() - started:.1f} s; kills (orders answered, serve, worker): {kills}; client retries "
        f"{sum(c.retries for c in customers)}; requests nginx passed on to the other replica "
        f"{len(re.findall(r'upstream=127[.]0[.]0[.]1:[0-9]+, ', log))}; order files the ERP took again "
        f"{sum(n - 1 for no, n in erp.sim.imports.items() if no in numbers)}"
    )
    assert codes == [0, 0, 0, 0]  # the processes running at the end stop cleanly on SIGTERM
    # nginx passed the requests of each killed replica on (placement too: non_idempotent, its
    # Idempotency-Key makes that safe), so no customer saw an error.
    assert [c.retries for c in customers] == [0] * CUSTOMERS

    # Once in the database, once in the ERP (at least once delivered, deduplicated by number),
    # in order per customer, every ERP event applied once.
    assert_delivered_once_in_order(engine, erp, placed)
    with Session(engine) as s:
        keys = s.exec(select(Order.customer_id, Order.idempotency_key)).all()
    assert len(keys) == len(set(keys)) == len(placed)
    # One order.create file per order number (its outbox id: a redelivery writes the same name),
    # and per customer the files' numbers rise with the order of placement.
    root = cluster.folder / "var" / "erp"
    seqs: dict[str, set[str]] = defaultdict(set)
    for name in [*os.listdir(root / "out"), *os.listdir(root / PROCESSED)]:
        parsed = parse_out_name(name)
        if parsed and parsed[2] == "order.create":
            seqs[parsed[1]].add(parsed[0])
    assert {no: len(seqs[no]) for no in placed} == {no: 1 for no in placed}
    for customer in customers:
        assert customer.placed == sorted(customer.placed) and len(set(customer.placed)) == ORDERS_EACH
        files = [int(next(iter(seqs[no]))) for no in customer.placed]
        assert files == sorted(files), f"{customer.code}: files out of order"
    # nginx took each restarted replica back.
    for victim, at in restarted:
        assert f"upstream=127.0.0.1:{cluster.serve_ports[victim]} " in log[at:]
