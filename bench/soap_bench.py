"""Benchmark of the SOAP connector (issue 6): orders/s delivered to the reference SOAP service
(etc/soap/jht-erp.wsdl, tests.doubles.soap_erp_server on 127.0.0.1) three ways, same orders:

- dispatcher: N orders (default 1000, 3 lines each) placed first in a fresh SQLite bridge
  database (bridge.orders.place_order, as bench/sync_bench.py does), then the outbox drained
  through the real Dispatcher and SoapConnector: orders/s and messages/s (each order also
  carries a salesperson notification, delivered to a no-op notifier);
- connector.push_order: the same order documents (renumbered, so the ERP imports each once
  more) handed to the same connector directly, one call per order: no database, no outbox;
  the difference to raw zeep is the mapping (JMESPath rendering of request and answer);
- raw zeep: the same ``PushOrder`` requests, rendered beforehand, through one plain
  ``zeep.Client`` on the same server, one call per order.

Each path makes one untimed warm-up call first (``QueryStock``: the WSDL is loaded). Calls
are made one at a time, as the dispatcher makes them; the reference server (wsgiref, HTTP/1.0)
closes the connection after each answer, so every call on every path opens a new one. The
server runs by default in its own process (``python -m tests.doubles.soap_erp_server``), so its
CPU does not share this process's GIL; ``--server thread`` runs it in a thread of this process
instead. Besides the rates, the CPU time per order of this process and of the server process
is shown: on a shared machine the rates move with the load, the CPU times much less. The
outbox is claimed 200 messages at a time, as in sync_bench. ``--profile FILE`` runs the
dispatcher's drain under cProfile (its figure is then slower than unprofiled), writes the
stats to FILE and prints the functions taking the most time.

    .venv/bin/python bench/soap_bench.py [--orders 1000] [--lines 3] [--server process|thread] [--profile FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import signal
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import zeep  # noqa: E402
from api_bench import free_port, start, stop  # noqa: E402
from sqlalchemy import func  # noqa: E402
from sqlmodel import Session, select  # noqa: E402
from sync_bench import Quiet, drain, place_many, seed  # noqa: E402
from bridge.config import load_config  # noqa: E402
from bridge.db import make_engine, upgrade  # noqa: E402
from bridge.logs import setup_logging  # noqa: E402
from bridge.models import Order, OutboxMessage, Product  # noqa: E402
from bridge.outbox import message_action  # noqa: E402
from bridge.app import open_runtime  # noqa: E402
from bridge.runtime import Runtime  # noqa: E402
from connectors.soap.mapping import render  # noqa: E402
from tests.doubles.soap_erp_server import DEFAULT_PATH  # noqa: E402

WARM_UP_SKUS = ["WA-400"]


class ErpService:
    """The reference SOAP service on 127.0.0.1, in a child process (default) or a thread."""

    def __init__(self, how: str, folder: Path):
        self.how, self.folder = how, folder
        self.proc = self.thread_server = None

    def __enter__(self) -> "ErpService":
        if self.how == "thread":
            from connectors.erpsim import MemoryErp
            from tests.doubles.soap_erp_server import SoapErpServer

            self.thread_server = SoapErpServer(MemoryErp()).start()
            self.url = self.thread_server.url
            self.described = "in a thread of the bench process (sharing its GIL)"
        else:
            port = free_port()
            command = [sys.executable, "-m", "tests.doubles.soap_erp_server", "--port", str(port)]
            self.log = self.folder / "erp_server.log"
            try:
                self.proc = start(command, port, DEFAULT_PATH + "?wsdl", self.log)
            except RuntimeError:
                print(self.log.read_text(encoding="utf-8", errors="replace")[-3000:], file=sys.stderr)
                raise
            self.url = f"http://127.0.0.1:{port}{DEFAULT_PATH}"
            self.described = f"in its own process (python -m tests.doubles.soap_erp_server, pid {self.proc.pid})"
        return self

    def __exit__(self, *exc) -> None:
        if self.thread_server is not None:
            self.thread_server.stop()
        stop(self.proc)

    @property
    def wsdl_url(self) -> str:
        return self.url + "?wsdl"

    def cpu_s(self) -> float | None:
        """CPU seconds the server process has used so far (None in a thread, or without /proc)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (AttributeError, OSError):
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds used by this process and by the server between ``__enter__`` and ``__exit__``."""

    def __init__(self, erp: ErpService):
        self.erp = erp

    def __enter__(self) -> "CpuMeter":
        self.bench0, self.server0 = time.process_time(), self.erp.cpu_s()
        return self

    def __exit__(self, *exc) -> None:
        self.bench = time.process_time() - self.bench0
        server = self.erp.cpu_s()
        self.server = None if server is None or self.server0 is None else server - self.server0


def setup(folder: Path, wsdl_url: str, database: str | None) -> Runtime:
    environ = {
        "JHT_CONNECTOR__NAME": "soap",
        "JHT_CONNECTOR__SOAP__WSDL": wsdl_url,
        "JHT_CONNECTOR__SOAP__WSDL_CACHE": str(folder / "soap-cache"),
        "JHT_DATABASE__URL": database or f"sqlite:///{folder / 'bench.db'}",
        "JHT_OUTBOX__BATCH_SIZE": "200",
    }
    config = load_config(None, environ=environ)
    engine = make_engine(config)
    upgrade(engine)
    rt = open_runtime(config, engine)
    rt.notifiers = [Quiet()]
    return rt


def more_products(engine, first: int, count: int) -> list[int]:
    """sync_bench's product (``first``), then ``count - 1`` more, so an order can have ``count`` lines."""
    with Session(engine) as s:
        added = [
            Product(
                sku=f"WA-{400 + 100 * i}",
                name=f"平形砂轮 1-{400 + 100 * i}×50×127 WA60K5V",
                price=Decimal("186.00") + 20 * i,
            )
            for i in range(1, count)
        ]
        s.add_all(added)
        s.commit()
        return [first, *(p.id for p in added)]


def check_drained(rt: Runtime, n: int) -> None:
    """Every message delivered, and every order carries the ERP's order number from the answer."""
    with Session(rt.engine) as s:
        rows = s.exec(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
        numbered = s.exec(select(func.count()).select_from(Order).where(Order.erp_ref.is_not(None))).one()
    counts = {getattr(status, "value", status): count for status, count in rows}
    if counts != {"delivered": 2 * n} or numbered != n:
        raise SystemExit(
            f"after the drain: outbox {counts}, {numbered} orders with an ERP number "
            f"(expected {2 * n} delivered, {n} numbered): see `jht-bridge outbox list`"
        )


def order_documents(rt: Runtime) -> list[dict]:
    """The documents the dispatcher handed to push_order, as it made them."""
    with Session(rt.engine) as s:
        messages = s.exec(
            select(OutboxMessage).where(OutboxMessage.kind == "order.create").order_by(OutboxMessage.id)
        ).all()
    return [rt.adjust(m.kind, message_action(m)[1], rt.connector.name) for m in messages]


def renumbered(docs: list[dict], prefix: str) -> list[dict]:
    """The same orders under new numbers, so the ERP imports each again rather than answering
    "duplicate" (a cheaper path)."""
    return [{**doc, "order_no": prefix + doc["order_no"]} for doc in docs]


def timed_drain(rt: Runtime, n: int, profile: Path | None) -> tuple[float, float, str | None]:
    if profile is None:
        return (*drain(rt, n), None)
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        orders_s, messages_s = drain(rt, n)
    finally:
        profiler.disable()
    profiler.dump_stats(str(profile))
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    return orders_s, messages_s, out.getvalue()


def connector_calls(rt: Runtime, docs: list[dict]) -> float:
    started = time.perf_counter()
    for doc in docs:
        if not rt.connector.push_order(doc):
            raise SystemExit(f"push_order {doc['order_no']}: no ERP order number in the answer")
    return len(docs) / (time.perf_counter() - started)


def raw_zeep_client(wsdl_url: str, mapping: dict, docs: list[dict]) -> tuple[zeep.Client, list[dict]]:
    """One plain zeep client, warmed up, and the PushOrder parameters of ``docs`` rendered
    with the connector's mapping (before the clock starts)."""
    client = zeep.Client(wsdl_url)
    client.service.QueryStock(**render(mapping["query_stock"]["request"], {"skus": WARM_UP_SKUS}))
    return client, [render(mapping["push_order"]["request"], doc) for doc in docs]


def raw_zeep_calls(client: zeep.Client, requests: list[dict]) -> float:
    started = time.perf_counter()
    for params in requests:
        answer = client.service.PushOrder(**params)
        if answer.duplicate or not answer.erpOrderNo:
            raise SystemExit(f"raw PushOrder {params['order']['orderNo']}: unexpected answer {answer}")
    elapsed = time.perf_counter() - started
    client.transport.session.close()
    return len(requests) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=3, help="lines per order (one product each)")
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument(
        "--server",
        choices=("process", "thread"),
        default="process",
        help="run the SOAP server in its own process (default) or in a thread of this one",
    )
    parser.add_argument("--database", help="SQLAlchemy URL (default: a fresh SQLite file)")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="cProfile the dispatcher's drain, write the stats to FILE, print the top functions",
    )
    args = parser.parse_args()
    if args.orders < 1 or args.lines < 1 or args.customers < 1:
        parser.error("--orders, --lines and --customers must be at least 1")
    setup_logging("error", "json")
    # SIGTERM unwinds like Ctrl-C, so the server process is stopped either way.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="jht-soap-bench-") as tmp:
        folder = Path(tmp)
        with ErpService(args.server, folder) as erp:
            rt = setup(folder, erp.wsdl_url, args.database)
            try:
                product_id, shop = seed(rt.engine, args.customers)
                products = more_products(rt.engine, product_id, args.lines)
                placed = place_many(rt, products, shop, args.orders)
                rt.connector.query_stock(WARM_UP_SKUS)  # warm-up: WSDL loaded, connection open
                with CpuMeter(erp) as dispatcher_cpu:
                    orders_s, messages_s, profile_text = timed_drain(rt, args.orders, args.profile)
                check_drained(rt, args.orders)
                docs = order_documents(rt)
                with CpuMeter(erp) as direct_cpu:
                    direct_s = connector_calls(rt, renumbered(docs, "C-"))
                raw_client, raw_requests = raw_zeep_client(erp.wsdl_url, rt.connector.mapping, renumbered(docs, "R-"))
                with CpuMeter(erp) as raw_cpu:
                    raw_s = raw_zeep_calls(raw_client, raw_requests)
                database = rt.config.database.display_url().split(":", 1)[0]
            finally:
                rt.close()
            described = erp.described
    n = args.orders
    results = {
        "database": database,
        "server": args.server,
        "orders": n,
        "lines_per_order": args.lines,
        "customers": args.customers,
        "profiled": bool(profile_text),
        "place_orders_per_s": round(placed, 1),
        "drain_messages_per_s": round(messages_s, 1),
    }
    for key, per_s, cpu in (
        ("drain", orders_s, dispatcher_cpu),
        ("connector", direct_s, direct_cpu),
        ("raw", raw_s, raw_cpu),
    ):
        results[f"{key}_orders_per_s"] = round(per_s, 1)
        results[f"{key}_ms_per_order"] = round(1000 / per_s, 2)
        results[f"{key}_bench_cpu_ms_per_order"] = round(cpu.bench * 1000 / n, 2)
        results[f"{key}_server_cpu_ms_per_order"] = None if cpu.server is None else round(cpu.server * 1000 / n, 2)
    report(results, described, args.profile)
    if profile_text:
        print(profile_text)


def report(r: dict, described: str, profile: Path | None) -> None:
    print(
        f"SOAP PushOrder to the reference service on 127.0.0.1, {described}; {r['orders']} orders x "
        f"{r['lines_per_order']} lines, {r['customers']} customers, {r['database']} bridge database; "
        f"placed at {r['place_orders_per_s']} orders/s; Python {platform.python_version()}, zeep {zeep.__version__}"
    )
    if r["profiled"]:
        print(f"(the bridge's figure is taken under cProfile, stats in {profile})")
    table = (
        ("bridge: outbox + SOAP connector", "drain"),
        ("SOAP connector push_order alone", "connector"),
        ("raw zeep PushOrder", "raw"),
    )
    print(f"{'path':<34}{'orders/s':>10}{'ms/order':>10}{'vs raw':>8}{'CPU ms/order: bench':>21}{'server':>8}")
    for name, key in table:
        server = r[f"{key}_server_cpu_ms_per_order"]
        print(
            f"{name:<34}{r[f'{key}_orders_per_s']:>10.1f}{r[f'{key}_ms_per_order']:>10.2f}"
            f"{r[f'{key}_orders_per_s'] / r['raw_orders_per_s']:>8.2f}{r[f'{key}_bench_cpu_ms_per_order']:>21.2f}"
            f"{'-' if server is None else f'{server:.2f}':>8}"
        )
    print(f"drain messages: {2 * r['orders']} (order.create + notify.new_order) at {r['drain_messages_per_s']}/s")
    print(
        "CPU: bench = this whole process"
        + (" (the server's threads included)" if r["server"] == "thread" else ", server = the server process")
    )
    print(json.dumps(r, ensure_ascii=False))


if __name__ == "__main__":
    main()
