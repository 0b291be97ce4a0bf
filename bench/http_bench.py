"""Order placement over HTTP under wrk, beside two anchors served by uvicorn the same way (issue #16).

What is measured, in one run, each for --seconds with wrk (apt `wrk`, one thread, --connections):
- bare: `POST /noop` on a one-handler Litestar app that parses a body of the order's shape;
- anchor: `POST /insert` on a one-handler Litestar app that does one SQLite insert per request
  (WAL, synchronous=NORMAL, a connection per worker thread): what one durable write per request
  costs on this machine;
- placement: `POST /api/mp/v1/orders` on the real server (`jht-bridge run`: API, sync loops and
  the file-drop connector on the SQLite database of a fresh `init` + `demo-data` folder), for
  --clients customers logged in with the dev-mode WeChat login, one address each, one line of a
  visible standard product, a fresh Idempotency-Key per request; and the same with 1 connection.

It prints req/s, p50 and p99 of each, non-2xx answers and wrk's socket errors (timeouts: > 2 s),
and the ratio placement / anchor. The load generator shares the 2-core machine with the server.
Not yet here (issue #16 asks for them too): PostgreSQL with its psycopg one-insert anchor, and
`serve` + `worker` as separate processes.

    .venv/bin/python bench/http_bench.py [--clients 50] [--connections 50] [--seconds 15]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_bench import BARE_APP, ROOT, free_port, log_summary, prepare_customers, start, stop  # noqa: E402

ANCHOR_APP = """
import sqlite3, threading, os
from typing import Annotated
import msgspec
from litestar import Litestar, post

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

class Line(msgspec.Struct):
    product_id: int
    quantity: Annotated[int, msgspec.Meta(gt=0)]

class Body(msgspec.Struct):
    lines: list[Line]
    address_id: int
    remark: str = ""

@post("/insert", sync_to_thread=True)
def insert(data: Body) -> dict:
    cur = connection().execute(
        "INSERT INTO orders (address_id, body) VALUES (?, ?)", (data.address_id, msgspec.json.encode(data).decode())
    )
    return {"id": cur.lastrowid}

app = Litestar([insert])
"""

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0)
    opts = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    folder = Path(tempfile.mkdtemp(prefix="jht-http-bench-"))
    cli = [sys.executable, "-m", "bridge.cli"]
    procs: list = []
    results: dict[str, dict] = {}
    try:
        subprocess.run([*cli, "init", str(folder)], cwd=ROOT, check=True, capture_output=True)
        config = ["--config", str(folder / "bridge.toml")]
        subprocess.run([*cli, *config, "demo-data"], cwd=ROOT, check=True, capture_output=True)
        port = free_port()
        bridge = start(
            [*cli, *config, "--log-level", "warning", "run", "--port", str(port)],
            port,
            "/healthz",
            folder / "bridge.log",
            env={  # 50 logins from one address; hundreds of orders a minute per customer
                "JHT_SECURITY__LOGIN_ATTEMPTS_PER_MINUTE": "1000",
                "JHT_ORDERS__PER_CUSTOMER_PER_MINUTE": "10000",
                "JHT_ORDERS__PER_CUSTOMER_PER_DAY": "1000000",
            },
        )
        procs.append(bridge)
        base = f"http://127.0.0.1:{port}"
        clients = prepare_customers(base, opts.clients)
        product = clients[0]["body"]["lines"][0]["product_id"]
        common = {"product": product, "seconds": opts.seconds, "folder": folder}
        # one connection first: the big run leaves an outbox backlog the dispatcher drains after it
        results["placement, 1 connection"] = wrk(
            base, "/api/mp/v1/orders", clients, connections=1, auth=True, tag="placement1", **common
        )
        results["placement"] = wrk(
            base, "/api/mp/v1/orders", clients, connections=opts.connections, auth=True, tag="placement", **common
        )
        stop(bridge)

        (folder / "bare_app.py").write_text(BARE_APP, encoding="utf-8")
        (folder / "anchor_app.py").write_text(ANCHOR_APP, encoding="utf-8")
        for name, app, path in (
            ("bare Litestar", "bare_app.py", "/noop"),
            ("Litestar + one SQLite insert (anchor)", "anchor_app.py", "/insert"),
        ):
            port = free_port()
            proc = uvicorn(
                folder / app, port, folder / f"{Path(app).stem}.log", env={"ANCHOR_DB": str(folder / "anchor.db")}
            )
            procs.append(proc)
            results[name] = wrk(
                f"http://127.0.0.1:{port}",
                path,
                clients,
                connections=opts.connections,
                auth=False,
                tag=Path(app).stem,
                **common,
            )
            stop(proc)
    finally:
        for proc in procs:
            stop(proc)
        bridge_log = log_summary(folder / "bridge.log")
        shutil.rmtree(folder, ignore_errors=True)

    print(
        f"wrk, 1 thread, {opts.connections} connections (unless said), {opts.seconds:g} s each; {opts.clients} customers"
    )
    print(f"{'':40}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>9}{'timeouts':>10}")
    for name in ("bare Litestar", "Litestar + one SQLite insert (anchor)", "placement", "placement, 1 connection"):
        r = results[name]
        print(f"{name:40}{r['per_s']:10.0f}{r['p50_ms']:10.1f}{r['p99_ms']:10.1f}{r['non2xx']:9}{r['timeouts']:10}")
    anchor = results["Litestar + one SQLite insert (anchor)"]["per_s"]
    print(f"placement / anchor: {results['placement']['per_s'] / anchor:.1%} (issue #16 asks for >= 30 %)")
    for line, count in bridge_log.most_common(8):
        print(f"bridge log x{count}: {line}")


if __name__ == "__main__":
    main()
