"""Benchmark of the sync engine's hot paths on the embedded default (SQLite + file drop).

Prints, for N orders (default 10 000):
- placement: orders/s through bridge.orders.place_order (validation, prices, order + lines +
  timeline + outbox rows), committed in batches of 100;
- drain: orders/s from the outbox to files in out/ through the real Dispatcher and file-drop
  connector, next to the raw rate of writing the same documents as files directly (same
  atomic write: temp name, fsync, rename);
- event latency: p50/p95 from an ERP event file appearing in in/ to the order's status
  changing in the database, with the real worker threads running (file watching).

    .venv/bin/python bench/sync_bench.py [--orders 10000] [--latency-events 200] [--database URL]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import Session, select  # noqa: E402

from bridge.actors import Actor  # noqa: E402
from bridge.config import load_config  # noqa: E402
from bridge.db import make_engine, upgrade  # noqa: E402
from bridge.logs import setup_logging  # noqa: E402
from bridge.models import Address, Customer, Order, OrderStatus, OutboxMessage, Product  # noqa: E402
from bridge.orders import LineRequest, OrderRequest, place_order  # noqa: E402
from bridge.outbox import message_action  # noqa: E402
from bridge.app import open_runtime  # noqa: E402
from connectors.filedrop import make_folders  # noqa: E402
from connectors.filedrop.files import write_atomic  # noqa: E402
from connectors.filedrop.formats import encode_document, out_name  # noqa: E402
from connectors.filedrop.simulator import ErpSimulator  # noqa: E402


class Quiet:
    name = "quiet"

    def notify(self, kind, payload):
        pass


def setup(folder: Path, database: str | None):
    root = folder / "erp"
    make_folders(root)
    environ = {
        "JHT_CONNECTOR__FILEDROP__ROOT": str(root),
        "JHT_DATABASE__URL": database or f"sqlite:///{folder / 'bench.db'}",
        "JHT_OUTBOX__BATCH_SIZE": "200",
        "JHT_OUTBOX__POLL_INTERVAL_S": "0.05",
        "JHT_INBOX__POLL_INTERVAL_S": "0.5",
        # Event files are renamed into place (write_atomic): the latency measured is that of an
        # ERP that renames, read at once, not of the default settle time for in-place writers.
        "JHT_CONNECTOR__FILEDROP__SETTLE_S": "0",
        # Thousands of orders a minute from a few customers: lift the per-customer order limits.
        "JHT_ORDERS__PER_CUSTOMER_PER_MINUTE": "10000",
        "JHT_ORDERS__PER_CUSTOMER_PER_DAY": "1000000",
    }
    config = load_config(None, environ=environ)
    engine = make_engine(config)
    upgrade(engine)
    rt = open_runtime(config, engine)
    rt.notifiers = [Quiet()]
    return rt, root


def seed(engine, customers: int):
    with Session(engine, expire_on_commit=False) as s:
        product = Product(sku="WA-400", name="平形砂轮 1-400×50×127 WA60K5V", price=Decimal("186.00"))
        s.add(product)
        shop = []
        for i in range(customers):
            c = Customer(name=f"客户{i}", type=1 + i % 2)
            s.add(c)
            s.flush()
            a = Address(customer_id=c.id, recipient="李工", phone="13800000000", detail=f"工业大道 {i} 号")
            s.add(a)
            s.flush()
            shop.append((c.id, a.id))
        s.commit()
        return product.id, shop


def place_many(rt, product_ids: int | list[int], shop, n: int) -> float:
    """Place ``n`` orders through bridge.orders.place_order, customers in turn, one line per
    product (quantities 1–7), committed 100 at a time; orders/s. Every bench places this way."""
    products = [product_ids] if isinstance(product_ids, int) else list(product_ids)
    started = time.perf_counter()
    done = 0
    while done < n:
        with Session(rt.engine) as s:
            for _ in range(min(100, n - done)):
                cid, aid = shop[done % len(shop)]
                lines = [LineRequest(product_id=pid, quantity=1 + (done + k) % 7) for k, pid in enumerate(products)]
                place_order(
                    s,
                    Actor.customer(cid),
                    cid,
                    OrderRequest(lines, f"bench-{done:08d}", address_id=aid),
                    limits=rt.config.orders,
                )
                done += 1
            s.commit()
    return n / (time.perf_counter() - started)


def drain(rt, n: int) -> tuple[float, float]:
    started = time.perf_counter()
    handled = rt.dispatcher().drain()
    elapsed = time.perf_counter() - started
    return n / elapsed, handled / elapsed


def raw_writes(rt, folder: Path, n: int) -> float:
    """The same order documents written straight to files, as fast as the disk allows."""
    with Session(rt.engine) as s:
        messages = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "order.create").limit(n)).all()
    docs = [message_action(m)[1] for m in messages]
    target = folder / "raw"
    target.mkdir()
    started = time.perf_counter()
    for doc in docs:
        name = out_name(f"{doc['_outbox_id']:010d}", doc["order_no"], "order.create", "json")
        write_atomic(target, name, encode_document("order.create", doc, "json", "utf-8"))
    return len(docs) / (time.perf_counter() - started)


def latency(rt, root: Path, events: int) -> tuple[float, float]:
    sim = ErpSimulator(root)
    sim.step()  # take the orders the drain wrote, so the simulator knows them
    with Session(rt.engine) as s:
        numbers = s.exec(select(Order.order_no).where(Order.status == OrderStatus.PENDING).limit(events)).all()
    worker = rt.worker(dispatch=False)
    rt.poller().drain()  # apply the simulator's import events first
    worker.start()
    waits = []
    try:
        for order_no in numbers:
            t0 = time.perf_counter()
            sim.produce(order_no)
            while True:
                with Session(rt.engine) as s:
                    if (
                        s.exec(select(Order.status).where(Order.order_no == order_no)).one()
                        == OrderStatus.IN_PRODUCTION
                    ):
                        break
                if time.perf_counter() - t0 > 10:
                    raise SystemExit(f"event for {order_no} not applied within 10 s")
                time.sleep(0.001)
            waits.append(time.perf_counter() - t0)
    finally:
        worker.stop()
        worker.join(10)
    waits.sort()
    return statistics.median(waits), waits[int(len(waits) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--latency-events", type=int, default=200)
    parser.add_argument("--database", help="SQLAlchemy URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    setup_logging("error", "json")
    with tempfile.TemporaryDirectory(prefix="jht-bench-") as tmp:
        folder = Path(tmp)
        rt, root = setup(folder, args.database)
        product_id, shop = seed(rt.engine, args.customers)
        placed = place_many(rt, product_id, shop, args.orders)
        orders_s, messages_s = drain(rt, args.orders)
        raw_s = raw_writes(rt, folder, args.orders)
        p50, p95 = latency(rt, root, min(args.latency_events, args.orders))
        results = {
            "database": rt.config.database.display_url().split(":", 1)[0],
            "orders": args.orders,
            "place_orders_per_s": round(placed),
            "drain_orders_per_s": round(orders_s),
            "drain_messages_per_s": round(messages_s),
            "raw_file_writes_per_s": round(raw_s),
            "event_to_status_p50_ms": round(p50 * 1000, 1),
            "event_to_status_p95_ms": round(p95 * 1000, 1),
        }
        rt.close()
    width = max(map(len, results))
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
