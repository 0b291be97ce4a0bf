"""An ERP simulator: plays the production software's side of a file drop, for tests, benchmarks
and the demo.

It takes what the bridge writes to out/ (``step``), imports orders once per order number,
gives customers ERP codes, honours release / cancel / complete, and answers through event files
in in/ written the way a well-behaved ERP writes them (temporary name, then rename), in the
same format and encoding as the connector's settings. Methods drive an order through
production and shipping by hand (``produce``, ``finish``, ``ship`` …) or one realistic step at
a time (``auto_tick``), and ``go_down`` / ``come_back`` take the share away from the bridge.

From a shell, beside a running bridge::

    python -m connectors.filedrop.simulator var/erp --interval 3
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import threading
import uuid
from collections import Counter
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

from connectors.filedrop.files import IN, OUT, is_ignored, make_folders, write_atomic
from connectors.filedrop.formats import decode_document, decode_stock, encode_events, encode_stock, parse_out_name

COURIERS = (
    ("顺丰速运", "SF", 12),
    ("中通快递", "75", 12),
    ("德邦物流", "DPK", 12),
    ("圆通速递", "YT", 13),
    ("京东物流", "JDX", 12),
)
PROCESSED = "erp-processed"
"""Where the simulator moves the files it took from out/ (a real ERP deletes or archives them)."""


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


class ErpSimulator:
    """The ERP side of a file drop under ``root`` (folders are made if missing).

    What it saw is public, for tests: ``imports`` (order number → files seen, duplicates
    included), ``orders`` (order number → the document, once), ``arrivals`` ((customer id,
    reference, kind) of every file taken, in order), ``customers``, ``customer_codes``,
    ``commands`` ((order number, command) applied), ``rejected`` (file → why it is still
    waiting), ``merges``, ``status``, ``released``, ``shipments``, ``emitted`` (every event
    written), ``stock``.
    """

    def __init__(
        self,
        root: str | Path,
        *,
        encoding: str = "utf-8",
        fmt: str = "json",
        stock: dict[str, Any] | None = None,
        seed: int = 0,
    ):
        self.root = Path(root)
        self.encoding = encoding
        self.fmt = fmt
        self.rng = random.Random(seed)
        self._lock = threading.RLock()
        self._down_at: Path | None = None
        make_folders(self.root)
        self.imports: Counter[str] = Counter()
        self.orders: dict[str, dict[str, Any]] = {}
        self.arrivals: list[tuple[Any, str, str]] = []
        self.customers: dict[Any, dict[str, Any]] = {}
        self.customer_codes: dict[Any, str] = {}
        self.commands: list[tuple[str, str]] = []
        self.rejected: dict[str, str] = {}
        self.merges: list[dict[str, Any]] = []
        self.status: dict[str, str] = {}
        self.erp_refs: dict[str, str] = {}
        self.released: dict[str, bool] = {}
        self.shipments: dict[str, list[dict[str, Any]]] = {}
        self.emitted: list[dict[str, Any]] = []
        self.stock: dict[str, Decimal] = {}
        self._reserved: dict[str, dict[str, Decimal]] = {}
        self._seq = self._last_seq()
        self._shipment_no = 0
        self._codes_given = 0
        if stock is not None:
            self.stock = {sku: Decimal(str(q)) for sku, q in stock.items()}
            self._write_stock()
        elif (self.root / f"stock.{fmt}").is_file():  # a restarted ERP keeps its stock
            self.stock = decode_stock((self.root / f"stock.{fmt}").read_bytes(), fmt, encoding)[1]

    # ------------------------------------------------------------------ where things are

    @property
    def _base(self) -> Path:
        """The folder as the ERP sees it (while 'down' it is moved out of the bridge's sight)."""
        return self._down_at or self.root

    def _last_seq(self) -> int:
        best = 0
        for sub in ("in", "archive", "error"):
            folder = self.root / sub
            for name in os.listdir(folder) if folder.is_dir() else ():
                head = name.split("_", 1)[0]
                if head.isdigit() and len(head) == 8:
                    best = max(best, int(head))
        return best

    # ------------------------------------------------------------------ events to the bridge

    def emit(self, kind: str, data: dict[str, Any], *, event_id: str | None = None) -> str:
        """Write one event file into in/ (temporary name, then rename); returns its event id."""
        with self._lock:
            self._seq += 1
            event_id = event_id or f"sim-{uuid.uuid4().hex[:16]}"
            if data.get("order_no"):
                ref = str(data["order_no"])
            elif "customer_id" in data:
                ref = f"customer-{data['customer_id']}"
            else:
                ref = kind
            name = f"{self._seq:08d}_{kind}_{ref}.{self.fmt}"
            raw = encode_events([{"event_id": event_id, "kind": kind, "data": data}], self.fmt, self.encoding)
            write_atomic(self._base / IN, name, raw)
            self.emitted.append({"event_id": event_id, "kind": kind, "data": data, "file": name})
            return event_id

    def _write_stock(self) -> None:
        items = {sku: _number(q) for sku, q in sorted(self.stock.items())}
        as_of = datetime.now(timezone.utc).isoformat(timespec="seconds")
        write_atomic(self._base, f"stock.{self.fmt}", encode_stock(items, as_of, self.fmt, self.encoding))

    # ------------------------------------------------------------------ taking files from out/

    def step(self) -> list[str]:
        """Take everything waiting in out/ once, in name order; returns the names taken. A
        command for an order the ERP does not have yet stays in out/ (see ``rejected``)."""
        with self._lock:
            out = self._base / OUT
            done_dir = self._base / PROCESSED
            done_dir.mkdir(exist_ok=True)
            taken = []
            stock_before = dict(self.stock)
            for name in sorted(os.listdir(out)):
                parsed = parse_out_name(name)
                if is_ignored(name) or parsed is None:
                    continue
                kind = parsed[2]
                doc = decode_document(kind, (out / name).read_bytes(), name.rpartition(".")[2], self.encoding)
                if self._take(name, kind, doc):
                    os.replace(out / name, done_dir / name)
                    taken.append(name)
            if self.stock != stock_before:
                self._write_stock()
            return taken

    def _take(self, name: str, kind: str, doc: dict[str, Any]) -> bool:
        if kind == "order.create":
            self._import_order(doc)
        elif kind == "customer.upsert":
            self._upsert_customer(doc)
        elif kind == "customer.merge":
            self.merges.append(doc)
            survivor, absorbed = doc["survivor"]["id"], doc["absorbed"]["id"]
            self.arrivals.append((survivor, f"customer-{survivor}", kind))
            if survivor in self.customer_codes:
                self.customer_codes[absorbed] = self.customer_codes[survivor]
        else:
            order_no, command = doc["order_no"], doc["command"]
            if order_no not in self.orders:
                self.rejected[name] = f"order {order_no} is not in the ERP (yet)"
                return False
            self.rejected.pop(name, None)
            self.arrivals.append((self.orders[order_no]["customer"]["id"], order_no, kind))
            self.commands.append((order_no, command))
            if command == "release":
                self.released[order_no] = True
            elif command == "cancel" and self.status[order_no] not in ("shipped", "completed", "cancelled"):
                self._unreserve(order_no)
                self._set_status(order_no, "cancelled")
            elif command == "complete":
                self.status[order_no] = "completed"
        return True

    def _import_order(self, doc: dict[str, Any]) -> None:
        order_no = doc["order_no"]
        customer_id = doc["customer"]["id"]
        self.imports[order_no] += 1
        self.arrivals.append((customer_id, order_no, "order.create"))
        if order_no in self.orders:
            return  # the same order number again: already imported
        self.orders[order_no] = doc
        self.erp_refs[order_no] = f"SO-{len(self.orders):05d}"
        self.released[order_no] = bool(doc.get("released")) or doc.get("customer_type") == 1
        self.emit("order.accepted", {"order_no": order_no, "erp_ref": self.erp_refs[order_no]})
        needed: Counter[str] = Counter()
        for line in doc["lines"]:
            needed[line["sku"]] += int(line["quantity"])
        if all(self.stock.get(sku, Decimal(0)) >= qty for sku, qty in needed.items()):
            self._reserved[order_no] = {sku: Decimal(qty) for sku, qty in needed.items()}
            for sku, qty in needed.items():
                self.stock[sku] -= qty
            self._set_status(order_no, "awaiting_shipment")
        else:
            self._set_status(order_no, "pending")

    def _unreserve(self, order_no: str) -> None:
        for sku, qty in self._reserved.pop(order_no, {}).items():
            self.stock[sku] = self.stock.get(sku, Decimal(0)) + qty

    def _upsert_customer(self, doc: dict[str, Any]) -> None:
        customer_id = doc["id"]
        self.customers[customer_id] = doc
        self.arrivals.append((customer_id, f"customer-{customer_id}", "customer.upsert"))
        if customer_id in self.customer_codes:
            return
        if doc.get("erp_code"):
            self.customer_codes[customer_id] = doc["erp_code"]
            return
        self._codes_given += 1
        code = f"C{self._codes_given:04d}"
        self.customer_codes[customer_id] = code
        self.emit("customer.code", {"customer_id": customer_id, "erp_code": code})

    def _set_status(self, order_no: str, status: str) -> str:
        self.status[order_no] = status
        return self.emit("order.status", {"order_no": order_no, "status": status, "erp_ref": self.erp_refs[order_no]})

    # ------------------------------------------------------------------ driving an order

    def _known(self, order_no: str) -> None:
        if order_no not in self.orders:
            raise KeyError(f"order {order_no} has not reached the ERP (call step() first?)")

    def produce(self, order_no: str) -> str:
        """Production starts: ``order.status`` in_production."""
        with self._lock:
            self._known(order_no)
            return self._set_status(order_no, "in_production")

    def finish(self, order_no: str) -> str:
        """Production done: ``order.status`` awaiting_shipment."""
        with self._lock:
            self._known(order_no)
            return self._set_status(order_no, "awaiting_shipment")

    def ship(self, order_no: str, parts: int = 1) -> list[str]:
        """Ship the order in one or two parts: ``order.shipment`` events with courier and
        tracking number, the order's lines split across them; the last one says the order is
        shipped. Returns the event ids."""
        with self._lock:
            self._known(order_no)
            lines = [(line["sku"], int(line["quantity"])) for line in self.orders[order_no]["lines"]]
            groups = [lines]
            if parts >= 2 and len(lines) >= 2:
                half = (len(lines) + 1) // 2
                groups = [lines[:half], lines[half:]]
            elif parts >= 2 and lines[0][1] >= 2:
                sku, qty = lines[0]
                groups = [[(sku, qty // 2)], [(sku, qty - qty // 2)] + lines[1:]]
            ids = []
            for i, group in enumerate(groups):
                courier, prefix, digits = self.rng.choice(COURIERS)
                self._shipment_no += 1
                data: dict[str, Any] = {
                    "order_no": order_no,
                    "shipment_id": f"{self.erp_refs[order_no]}-S{self._shipment_no}",
                    "courier": courier,
                    "tracking_no": prefix + "".join(self.rng.choice("0123456789") for _ in range(digits)),
                    "shipped_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "lines": [{"sku": sku, "quantity": qty} for sku, qty in group],
                }
                if i == len(groups) - 1:
                    data["order_status"] = "shipped"
                self.shipments.setdefault(order_no, []).append(data)
                ids.append(self.emit("order.shipment", data))
            self._reserved.pop(order_no, None)
            self.status[order_no] = "shipped"
            return ids

    def complete(self, order_no: str) -> str:
        """``order.status`` completed."""
        with self._lock:
            self._known(order_no)
            return self._set_status(order_no, "completed")

    def cancel(self, order_no: str) -> str:
        """Cancelled in the ERP: ``order.status`` cancelled, its stock freed."""
        with self._lock:
            self._known(order_no)
            self._unreserve(order_no)
            return self._set_status(order_no, "cancelled")

    def release_in_erp(self, order_no: str) -> str:
        """Payment confirmed in the ERP itself (scenario 1): ``order.released``."""
        with self._lock:
            self._known(order_no)
            self.released[order_no] = True
            return self.emit("order.released", {"order_no": order_no})

    def set_stock(self, items: dict[str, Any]) -> str:
        """Set stock figures: rewrites the snapshot file (atomically) and sends a ``stock`` event."""
        with self._lock:
            for sku, qty in items.items():
                self.stock[sku] = Decimal(str(qty))
            self._write_stock()
            return self.emit("stock", {"items": {sku: _number(Decimal(str(q))) for sku, q in items.items()}})

    def auto_tick(self) -> list[str]:
        """Move every open order one realistic step: pending → in_production →
        awaiting_shipment → shipped (sometimes in two shipments). A type-2 order is not
        shipped until released. Completion is the customer's. Returns the event ids."""
        with self._lock:
            ids: list[str] = []
            for order_no in sorted(self.orders):
                status = self.status.get(order_no)
                if status == "pending":
                    ids.append(self.produce(order_no))
                elif status == "in_production":
                    ids.append(self.finish(order_no))
                elif status == "awaiting_shipment" and self.released.get(order_no):
                    ids += self.ship(order_no, parts=2 if self.rng.random() < 0.3 else 1)
            return ids

    def run(self, interval: float, stop_event: threading.Event) -> None:
        """``step`` and ``auto_tick`` every ``interval`` seconds until ``stop_event`` is set."""
        while not stop_event.is_set():
            try:
                self.step()
                self.auto_tick()
            except Exception as exc:  # keep the demo going; the next round tries again
                print(f"erp simulator: {type(exc).__name__}: {exc}")
            stop_event.wait(interval)

    # ------------------------------------------------------------------ outages

    def go_down(self) -> None:
        """Take the share away from the bridge: the root folder is moved out of its sight (as
        when the share is not mounted); the connector then raises TransientError."""
        with self._lock:
            if self._down_at is None:
                hidden = self.root.parent / f".{self.root.name}.unavailable"
                os.rename(self.root, hidden)
                self._down_at = hidden

    def come_back(self) -> None:
        """Give the share back, with whatever the ERP did meanwhile."""
        with self._lock:
            if self._down_at is not None:
                os.rename(self._down_at, self.root)
                self._down_at = None

    @contextlib.contextmanager
    def unavailable(self) -> Iterator[None]:
        """``with sim.unavailable(): ...`` — down inside the block, back after it."""
        self.go_down()
        try:
            yield
        finally:
            self.come_back()


class SimulatorHarness:
    """The simulator as the ERP side of the connector contract kit
    (``bridge.testing.connector_kit.ErpSide``)."""

    def __init__(self, sim: ErpSimulator):
        self.sim = sim

    def orders(self) -> dict[str, dict[str, Any]]:
        return dict(self.sim.orders)

    def import_count(self, order_no: str) -> int:
        return self.sim.imports[order_no]

    def customers(self) -> dict[Any, dict[str, Any]]:
        return dict(self.sim.customers)

    def commands(self, order_no: str) -> list[str]:
        return [command for no, command in self.sim.commands if no == order_no]

    def process(self) -> None:
        self.sim.step()

    def emit(self, kind: str, data: dict[str, Any]) -> str:
        return self.sim.emit(kind, data)

    def set_stock(self, items: dict[str, Any]) -> None:
        self.sim.set_stock(items)

    def go_down(self) -> None:
        self.sim.go_down()

    def come_back(self) -> None:
        self.sim.come_back()

    def remove_target(self) -> str:
        self.sim.go_down()
        return str(self.sim.root)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Play the ERP's side of a jht-bridge file drop.")
    parser.add_argument("root", type=Path, help="the file-drop folder (connector.filedrop.root)")
    parser.add_argument("--interval", type=float, default=3.0, help="seconds between steps (default 3)")
    parser.add_argument("--format", choices=("json", "csv"), default="json")
    parser.add_argument("--encoding", choices=("utf-8", "gb18030"), default="utf-8")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sim = ErpSimulator(args.root, encoding=args.encoding, fmt=args.format, seed=args.seed)
    stop = threading.Event()
    print(f"ERP simulator on {args.root.resolve()} every {args.interval} s; Ctrl-C stops it")
    try:
        sim.run(args.interval, stop)
    except KeyboardInterrupt:
        stop.set()


if __name__ == "__main__":
    main()
