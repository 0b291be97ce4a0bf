"""Order placement over HTTP under wrk, beside anchors served by uvicorn the same way (issue #16).

What is measured, in one run, each for --seconds with wrk (apt `wrk`, one thread, --connections):
- bare: `POST /noop` on a one-handler Litestar app that parses a body of the order's shape;
- SQLite anchor: `POST /insert` on a one-handler Litestar app that does one SQLite insert per
  request (WAL, synchronous=NORMAL, a connection per worker thread): what one durable write per
  request costs on this machine;
- PostgreSQL anchor: the same with one psycopg insert per request (autocommit, a connection
  per worker thread) on a throwaway cluster (scripts/pg-throwaway, with fsync turned back on so
  that a commit is durable as on a real server);
- placement: `POST /api/mp/v1/orders` on the real server on a fresh `init` + `demo-data`
  folder with the file-drop connector, on SQLite and on that PostgreSQL, run as `jht-bridge run`
  (API and sync loops in one process) and as `serve` + `worker` (two processes); --clients
  customers logged in with the dev-mode WeChat login, one address each, one line of a visible
  standard product, a fresh Idempotency-Key per request; with --connections and with 1.

For each bridge it also prints the time from starting it to `/readyz` answering 200 and the
resident memory of its processes, idle before the load. It prints req/s, p50 and p99 of each
run, non-2xx answers and wrk's timeouts (> 2 s), and the ratio placement / anchor of the same
database. The load generator shares the 2-core machine with the server.

    .venv/bin/python bench/http_bench.py [--clients 50] [--connections 50] [--seconds 15]
        [--databases sqlite,postgresql] [--modes run,serve+worker]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_bench import BARE_APP, BODY_TYPES, ROOT, free_port, log_summary, prepare_customers, start, stop  # noqa: E402

ANCHOR_APP = (
    BODY_TYPES
    + """
import sqlite3, threading, os

DB = os.environ["ANCHOR_DB"]
local = threading.local()

def connection():
    if not hasattr(local, "db"):
        local.db = sqlite3.connect(DB, isolation_level=None, check_same_thread=False, timeout=30)
        local.db.execute("PRAGMA journal_mode=WAL")
        local.db.execute("PRAGMA synchronous=NORMAL")
    return local.db

with sqlite3.connect(DB) as db:
    db.execute("CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, address_id INTEGER, body TEXT)")

@post("/insert", sync_to_thread=True)
def insert(data: Body) -> dict:
    cur = connection().execute(
        "INSERT INTO orders (address_id, body) VALUES (?, ?)", (data.address_id, msgspec.json.encode(data).decode())
    )
    return {"id": cur.lastrowid}

app = Litestar([insert])
"""
)

PG_ANCHOR_APP = (
    BODY_TYPES
    + """
import threading, os
import psycopg

URL = os.environ["ANCHOR_PG"]
local = threading.local()

def connection():
    if not hasattr(local, "db"):
        local.db = psycopg.connect(URL, autocommit=True)
    return local.db

with psycopg.connect(URL, autocommit=True) as db:
    db.execute("CREATE TABLE IF NOT EXISTS anchor_orders (id bigserial PRIMARY KEY, address_id bigint, body text)")

@post("/insert", sync_to_thread=True)
def insert(data: Body) -> dict:
    row = connection().execute(
        "INSERT INTO anchor_orders (address_id, body) VALUES (%s, %s) RETURNING id",
        (data.address_id, msgspec.json.encode(data).decode()),
    ).fetchone()
    return {"id": row[0]}

app = Litestar([insert])
"""
)

WRK_SCRIPT = """
local clients = %(clients)s
local product = %(product)d
local path = "%(path)s"
local run = "%(run)s"
local i = 0
request = function()
  i = i + 1
  local c = clients[(i %% #clients) + 1]
  local body = string.format('{"lines":[{"product_id":%%d,"quantity":2}],"address_id":%%d}', product, c[2])
  local headers = {["Content-Type"] = "application/json", ["Idempotency-Key"] = run .. "-" .. i}
  if c[1] ~= "" then headers["Authorization"] = "Bearer " .. c[1] end
  return wrk.format("POST", path, headers, body)
end
"""


def wrk(
    url: str,
    path: str,
    clients: list[dict],
    product: int,
    *,
    connections: int,
    seconds: float,
    auth: bool,
    tag: str,
    folder: Path,
) -> dict:
    """wrk with one thread against ``url`` + ``path``: req/s, p50, p99 (ms), non-2xx, errors."""
    rows = ", ".join(
        "{%s, %d}" % (json.dumps(c["headers"]["Authorization"].split(" ", 1)[1] if auth else ""), c["address_id"])
        for c in clients
    )
    script = folder / f"{tag}.lua"
    script.write_text(
        WRK_SCRIPT % {"clients": "{" + rows + "}", "product": product, "path": path, "run": f"{tag}-{free_port()}"},
        encoding="utf-8",
    )
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "2s", "-s", str(script), url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return parse_wrk(out)


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(out: str) -> dict:
    """The figures of wrk's --latency report."""
    per_s = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)) else 0
    errors = re.search(r"Socket errors: (.*)", out)
    timeouts = int(re.search(r"timeout (\d+)", errors.group(1)).group(1)) if errors else 0
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return {"per_s": per_s, "p50_ms": p50, "p99_ms": p99, "non2xx": non2xx, "timeouts": timeouts, "requests": requests}


def uvicorn(app_file: Path, port: int, log: Path, env: dict | None = None):
    module = app_file.stem
    args = [sys.executable, "-m", "uvicorn", f"{module}:app", "--app-dir", str(app_file.parent)]
    args += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    return start(args, port, "/schema", log, env=env)


LIMITS = {  # 50 logins from one address; hundreds of orders a minute per customer
    "JHT_SECURITY__LOGIN_ATTEMPTS_PER_MINUTE": "1000",
    "JHT_ORDERS__PER_CUSTOMER_PER_MINUTE": "10000",
    "JHT_ORDERS__PER_CUSTOMER_PER_DAY": "1000000",
}
CLI = [sys.executable, "-m", "bridge.cli"]


@contextlib.contextmanager
def postgres():
    """A throwaway PostgreSQL cluster (scripts/pg-throwaway) with fsync on; yields its URL."""
    owner = str(os.getpid())
    out = subprocess.run(
        [str(ROOT / "scripts" / "pg-throwaway"), "start", "--owner", owner], check=True, capture_output=True, text=True
    ).stdout
    try:
        url = dict(re.findall(r"^export (\w+)='(.*)'$", out, re.M))["JHT_TEST_PG_URL"]
        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as db:
            db.execute("ALTER SYSTEM SET fsync = on")  # the throwaway cluster runs with fsync off
            db.execute("SELECT pg_reload_conf()")
        yield url
    finally:
        subprocess.run([str(ROOT / "scripts" / "pg-throwaway"), "stop", "--owner", owner], capture_output=True)


def new_database(url: str, name: str) -> str:
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as db:
        db.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + "/" + name


def prepare_bridge(database_url: str | None) -> tuple[Path, dict]:
    """A fresh `init` + `demo-data` folder (on ``database_url`` when given); its environment."""
    folder = Path(tempfile.mkdtemp(prefix="jht-http-bench-"))
    # Without PYTHONDONTWRITEBYTECODE (set on some development machines): `init` leaves the
    # compiled modules, and the bridge starts from them, as an installed one does from its second
    # start on; with it, every start would compile the bridge's own modules again (some 0.3 s).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env |= {**LIMITS, **({"JHT_DATABASE__URL": database_url} if database_url else {})}
    subprocess.run([*CLI, "init", str(folder)], cwd=ROOT, check=True, capture_output=True, env=env)
    config = ["--config", str(folder / "bridge.toml")]
    if database_url:
        subprocess.run([*CLI, *config, "db", "upgrade"], cwd=ROOT, check=True, capture_output=True, env=env)
    subprocess.run([*CLI, *config, "demo-data"], cwd=ROOT, check=True, capture_output=True, env=env)
    return folder, env


def rss_mb(procs: list[subprocess.Popen]) -> float:
    total = 0
    for proc in procs:
        status = Path(f"/proc/{proc.pid}/status").read_text()
        total += int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1))
    return total / 1024


def start_bridge(mode: str, folder: Path, env: dict) -> tuple[list[subprocess.Popen], str, float, float]:
    """``run`` or ``serve+worker`` on ``folder``: the processes, the base URL, seconds from the
    start to /readyz 200, and the resident MB of the processes after 3 s idle."""
    port = free_port()
    cli = [*CLI, "--config", str(folder / "bridge.toml"), "--log-level", "warning"]
    commands = (
        {"run": [*cli, "run", "--port", str(port)]}
        if mode == "run"
        else {"serve": [*cli, "serve", "--port", str(port)], "worker": [*cli, "worker"]}
    )
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    procs = []
    for name, args in commands.items():
        with open(folder / f"{name}.log", "wb") as fh:
            procs.append(subprocess.Popen(args, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT))
    with httpx.Client(timeout=1) as client:
        while True:
            if any(proc.poll() is not None for proc in procs) or time.monotonic() - started > 30:
                for proc in procs:
                    stop(proc)
                raise RuntimeError(f"{mode} did not get ready; see {folder}")
            try:
                if client.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.01)
    ready_s = time.monotonic() - started
    time.sleep(3)
    return procs, base, ready_s, rss_mb(procs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--modes", default="run,serve+worker", help="comma-separated: run, serve+worker")
    opts = parser.parse_args()
    databases = opts.databases.split(",")
    modes = opts.modes.split(",")
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    scratch = Path(tempfile.mkdtemp(prefix="jht-http-bench-"))
    results: dict[str, dict] = {}
    bridges: dict[str, tuple[float, float]] = {}
    logs: Counter = Counter()
    folders = [scratch]
    with contextlib.ExitStack() as stack:
        pg_url = stack.enter_context(postgres()) if "postgresql" in databases else None
        try:
            for db in databases:
                for mode in modes:
                    name = f"{'SQLite' if db == 'sqlite' else 'PostgreSQL'}, {mode.replace('+', ' + ')}"
                    url = new_database(pg_url, f"bench_{len(folders)}") if db == "postgresql" else None
                    folder, env = prepare_bridge(url)
                    folders.append(folder)
                    procs, base, ready_s, rss = start_bridge(mode, folder, env)
                    bridges[name] = (ready_s, rss)
                    try:
                        clients = prepare_customers(base, opts.clients)
                        product = clients[0]["body"]["lines"][0]["product_id"]
                        common = {"product": product, "seconds": opts.seconds, "folder": scratch, "auth": True}
                        path = "/api/mp/v1/orders"
                        # one connection first: the big run leaves an outbox backlog drained after it
                        results[f"{name}: placement, 1 connection"] = wrk(
                            base, path, clients, connections=1, tag="one", **common
                        )
                        results[f"{name}: placement"] = wrk(
                            base, path, clients, connections=opts.connections, tag="many", **common
                        )
                    finally:
                        for proc in procs:
                            stop(proc)
                        for log in folder.glob("*.log"):
                            logs.update(log_summary(log))

            (scratch / "bare_app.py").write_text(BARE_APP, encoding="utf-8")
            (scratch / "anchor_app.py").write_text(ANCHOR_APP, encoding="utf-8")
            (scratch / "pg_anchor_app.py").write_text(PG_ANCHOR_APP, encoding="utf-8")
            anchors = [("bare Litestar", "bare_app.py", "/noop", None)]
            if "sqlite" in databases:
                anchors.append(("SQLite: one insert (anchor)", "anchor_app.py", "/insert", None))
            if pg_url:
                url = new_database(pg_url, "bench_anchor").replace("+psycopg", "")
                anchors.append(("PostgreSQL: one insert (anchor)", "pg_anchor_app.py", "/insert", url))
            for name, app, path, url in anchors:
                port = free_port()
                env = {"ANCHOR_DB": str(scratch / "anchor.db"), "ANCHOR_PG": url or ""}
                proc = uvicorn(scratch / app, port, scratch / f"{Path(app).stem}.log", env=env)
                try:
                    results[name] = wrk(
                        f"http://127.0.0.1:{port}",
                        path,
                        [{"headers": {"Authorization": "Bearer -"}, "address_id": 1}],
                        1,
                        connections=opts.connections,
                        auth=False,
                        tag=Path(app).stem,
                        seconds=opts.seconds,
                        folder=scratch,
                    )
                finally:
                    stop(proc)
        finally:
            for folder in folders:
                shutil.rmtree(folder, ignore_errors=True)

    print(
        f"wrk, 1 thread, {opts.connections} connections (unless said), {opts.seconds:g} s each; {opts.clients} customers"
    )
    print(f"{'':50}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'timeouts':>9}")
    for name, r in results.items():
        print(f"{name:50}{r['per_s']:9.0f}{r['p50_ms']:9.1f}{r['p99_ms']:9.1f}{r['non2xx']:9}{r['timeouts']:9}")
    for name, (ready_s, rss) in bridges.items():
        print(f"{name}: /readyz 200 after {ready_s:.2f} s, {rss:.0f} MB resident idle")
    for name, r in results.items():
        if name.endswith(": placement"):
            db = name.split(",", 1)[0]
            anchor = results.get(f"{db}: one insert (anchor)")
            if anchor:
                print(f"{name} / {db} anchor: {r['per_s'] / anchor['per_s']:.1%} (issue #16 asks for >= 30 %)")
    for line, count in logs.most_common(8):
        print(f"bridge log x{count}: {line}")


if __name__ == "__main__":
    main()
