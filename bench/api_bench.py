"""Benchmark of order placement through the real HTTP API, next to a bare Litestar endpoint.

What is measured:
- placement: `POST /api/mp/v1/orders` on the real server (`jht-bridge run`: the Litestar API,
  the sync loops and the file-drop connector on the embedded SQLite database of a fresh
  `jht-bridge init` + `demo-data` folder), by 50 customers logged in with the dev-mode WeChat
  login, each with its own address; one line of a visible standard product, a fresh
  Idempotency-Key per order;
- bare: `POST /noop` on a one-handler Litestar app served by uvicorn the same way (a
  subprocess on 127.0.0.1), parsing a body of the same shape into msgspec structs.

Harness: asyncio in this process, one httpx.AsyncClient (one keep-alive connection) per
client; each client sends one untimed warm-up request, then its requests back to back for
--seconds (ok/s = 2xx answers / wall time of that phase). Every request's latency is
recorded, and every non-2xx answer or transport error is counted and shown (status, body).
Both servers get SIGTERM at the end, pass or fail; the temp folder is removed. The load
generator shares the machine with the server, so the bare figure is a ceiling of the harness
as much as of Litestar.

    .venv/bin/python bench/api_bench.py [--clients 50] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BODY_TYPES = """
from typing import Annotated
import msgspec
from litestar import Litestar, post

class Line(msgspec.Struct):
    product_id: int
    quantity: Annotated[int, msgspec.Meta(gt=0)]

class Body(msgspec.Struct):
    lines: list[Line]
    address_id: int
    remark: str = ""
"""
"""The order body's types, as the anchor apps (here and in http_bench.py) parse it."""

BARE_APP = (
    BODY_TYPES
    + """
@post("/noop")
async def noop(data: Body) -> dict:
    return {"ok": True, "lines": len(data.lines), "address_id": data.address_id}

app = Litestar([noop])
"""
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(args: list[str], port: int, path: str, log: Path, env: dict | None = None) -> subprocess.Popen:
    with open(log, "wb") as fh:  # the server's output goes to a file, summarised at the end
        proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=fh, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {' '.join(args)}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=1).status_code < 500:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    stop(proc)
    raise RuntimeError(f"server did not answer {path} within 30 s")


def log_summary(log: Path) -> Counter:
    """Lines of a server's log counted by (level, event); lines that are not JSON kept as they are."""
    counts: Counter = Counter()
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if log.exists() else []:
        try:
            entry = json.loads(line)
            counts[
                f"{entry.get('level')}: {entry.get('event')}" + (f" ({entry['error']})" if "error" in entry else "")
            ] += 1
        except (ValueError, AttributeError):
            counts[line[:300]] += 1
    return counts


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def load(base: str, path: str, clients: list[dict], seconds: float) -> dict:
    """Every client opens its connection with one untimed request, then all post back to back
    until the deadline; latencies in ms, failures kept."""
    latencies: list[float] = []
    failures: Counter = Counter()

    async def post(client: httpx.AsyncClient, who: dict, timed: bool) -> None:
        t0 = time.perf_counter()
        try:
            answer = await client.post(path, json=who["body"], headers={"Idempotency-Key": uuid.uuid4().hex})
        except httpx.HTTPError as exc:
            failures[f"{type(exc).__name__}: {exc}"] += 1
            return
        if timed:
            latencies.append((time.perf_counter() - t0) * 1000)
        if not 200 <= answer.status_code < 300:
            try:
                code = answer.json().get("code")
            except ValueError:
                code = answer.text[:200]
            failures[f"{answer.status_code} {code}"] += 1  # one line per kind, not per message

    async def run(client: httpx.AsyncClient, who: dict, deadline: float) -> None:
        while time.perf_counter() < deadline:
            await post(client, who, timed=True)

    sessions = [httpx.AsyncClient(base_url=base, headers=who["headers"], timeout=60) for who in clients]
    try:
        await asyncio.gather(*(post(c, who, timed=False) for c, who in zip(sessions, clients)))  # warm-up
        started = time.perf_counter()
        await asyncio.gather(*(run(c, who, started + seconds) for c, who in zip(sessions, clients)))
        elapsed = time.perf_counter() - started
    finally:
        await asyncio.gather(*(c.aclose() for c in sessions))
    ok = len(latencies) - sum(n for f, n in failures.items() if f[:3].isdigit())
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [float("nan")] * 99
    return {
        "requests": len(latencies),
        "ok": ok,
        "per_s": ok / elapsed,
        "p50_ms": q[49],
        "p99_ms": q[98],
        "failures": dict(failures),
    }


def prepare_customers(base: str, n: int) -> list[dict]:
    """N dev-mode logins (codes bench-0…), one address each, and an order body for each."""
    with httpx.Client(base_url=base, timeout=30) as c:
        clients = []
        for i in range(n):
            answer = c.post("/api/mp/v1/auth/login", json={"code": f"bench-{i}"})
            answer.raise_for_status()
            headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
            address = c.post(
                "/api/mp/v1/addresses",
                headers=headers,
                json={"recipient": "李工", "phone": "13800000000", "detail": f"工业大道 {i} 号"},
            )
            address.raise_for_status()
            clients.append({"headers": headers, "address_id": address.json()["id"]})
        products = c.get("/api/mp/v1/products?kind=standard", headers=clients[0]["headers"]).json()["items"]
        product = products[0]["id"]
    for who in clients:
        who["body"] = {"lines": [{"product_id": product, "quantity": 2}], "address_id": who["address_id"]}
    return clients


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    opts = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="jht-api-bench-"))
    cli = [sys.executable, "-m", "bridge.cli"]
    bridge = bare = None
    try:
        subprocess.run([*cli, "init", str(folder)], cwd=ROOT, check=True, capture_output=True)
        config = ["--config", str(folder / "bridge.toml")]
        subprocess.run([*cli, *config, "demo-data"], cwd=ROOT, check=True, capture_output=True)
        port = free_port()
        # 50 logins come from one address: lift the per-address login limit (default 10/min); each
        # client places hundreds of orders a minute: lift the per-customer order limits (10/min,
        # 200/day), which would otherwise make this a benchmark of 429 answers.
        bridge = start(
            [*cli, *config, "--log-level", "warning", "run", "--port", str(port)],
            port,
            "/healthz",
            folder / "bridge.log",
            env={
                "JHT_SECURITY__LOGIN_ATTEMPTS_PER_MINUTE": "1000",
                "JHT_ORDERS__PER_CUSTOMER_PER_MINUTE": "10000",
                "JHT_ORDERS__PER_CUSTOMER_PER_DAY": "1000000",
            },
        )
        base = f"http://127.0.0.1:{port}"
        clients = prepare_customers(base, opts.clients)
        placement = asyncio.run(load(base, "/api/mp/v1/orders", clients, opts.seconds))
        stop(bridge)

        (folder / "bare_app.py").write_text(BARE_APP, encoding="utf-8")
        port = free_port()
        bare = start(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bare_app:app",
                "--app-dir",
                str(folder),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            port,
            "/schema",
            folder / "bare.log",
        )
        baseline = asyncio.run(load(f"http://127.0.0.1:{port}", "/noop", clients, opts.seconds))
    finally:
        stop(bridge)
        stop(bare)
        logs = {name: log_summary(folder / f"{name}.log") for name in ("bridge", "bare")}
        shutil.rmtree(folder, ignore_errors=True)

    print(f"{opts.clients} clients x {opts.seconds:g} s, asyncio + one httpx.AsyncClient per client")
    print(f"{'':22}{'ok/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'requests':>10}{'failed':>8}")
    for name, r in (("placement (orders)", placement), ("bare POST /noop", baseline)):
        print(
            f"{name:22}{r['per_s']:10.1f}{r['p50_ms']:10.1f}{r['p99_ms']:10.1f}{r['requests']:10}"
            f"{sum(r['failures'].values()):8}"
        )
    ratios = {
        "throughput_bare_over_placement": baseline["per_s"] / placement["per_s"] if placement["per_s"] else None,
        "p50_placement_over_bare": placement["p50_ms"] / baseline["p50_ms"],
    }
    print(
        f"ratios: throughput bare/placement {ratios['throughput_bare_over_placement'] or float('nan'):.1f}x, "
        f"p50 placement/bare {ratios['p50_placement_over_bare']:.1f}x"
    )
    for name, r in (("placement", placement), ("bare", baseline)):
        for failure, count in r["failures"].items():
            print(f"FAILED {name} x{count}: {failure}")
    for name, counts in logs.items():
        for line, count in counts.most_common(15):
            print(f"{name} log x{count}: {line}")
    print(
        json.dumps(
            {"clients": opts.clients, "seconds": opts.seconds, "placement": placement, "bare": baseline, **ratios},
            ensure_ascii=False,
        )
    )
    if placement["failures"] or baseline["failures"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
