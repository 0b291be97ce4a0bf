"""An ERP simulator: plays the production software's side of a file drop, for tests, benchmarks
and the demo.

It takes what the bridge writes to out/ (``step``), imports orders once per order number,
gives customers ERP codes, honours release / cancel / complete, and answers through event files
in in/ written the way a well-behaved ERP writes them (temporary name, then rename), in the
same format and encoding as the connector's settings — with ``local_times`` its times as a
Chinese ERP writes them, wall time without a zone (``2026-12-03 15:40:00``). Methods drive an order through
production and shipping by hand (``produce``, ``finish``, ``ship`` …) or one realistic step at
a time (``auto_tick``), and ``go_down`` / ``come_back`` take the share away from the bridge.
The business rules are ``connectors.erpsim.ErpCore``'s, shared with the other transports' ERP
sides; this module is the file drop around them.

From a shell, beside a running bridge::

    python -m connectors.filedrop.simulator var/erp --interval 3
"""

from __future__ import annotations

import argparse
import contextlib
import os
import threading
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator
from zoneinfo import ZoneInfo

from connectors.erpsim import COURIERS, ErpCore, ErpRejected, UnknownOrder, number
from connectors.filedrop.files import IN, OUT, is_ignored, make_folders, write_atomic
from connectors.filedrop.formats import (
    TIME_FIELDS,
    decode_document,
    decode_stock,
    encode_events,
    encode_stock,
    parse_out_name,
)

__all__ = ["COURIERS", "PROCESSED", "ErpSimulator", "SimulatorHarness", "main"]

PROCESSED = "erp-processed"
"""Where the simulator moves the files it took from out/ (a real ERP deletes or archives them)."""


class ErpSimulator(ErpCore):
    """The ERP side of a file drop under ``root`` (folders are made if missing).

    The business rules and what the ERP saw are ``connectors.erpsim.ErpCore``'s; this class
    adds the file drop: ``step`` takes the files of out/, events are files in in/ (their
    ``emitted`` records also name the ``file``), the stock snapshot is ``stock.<fmt>``, and
    ``rejected`` holds the files still waiting in out/ (file → why: a command for an order
    not there yet, or an order refused with ``reject``).

    ``local_times`` (a zone name, e.g. ``Asia/Shanghai``): write every time — a shipment's
    ``shipped_at``, a stock event's and the snapshot's ``as_of`` (stock events then carry one) —
    as wall time in that zone without an offset, ``2026-12-03 15:40:00``, as Chinese ERPs do.
    """

    _not_yet_hint = " (call step() first?)"

    def __init__(
        self,
        root: str | Path,
        *,
        encoding: str = "utf-8",
        fmt: str = "json",
        stock: dict[str, Any] | None = None,
        seed: int = 0,
        local_times: str | None = None,
    ):
        self.root = Path(root)
        self.encoding = encoding
        self.fmt = fmt
        self.local_zone = ZoneInfo(local_times) if local_times else None
        self._down_at: Path | None = None
        make_folders(self.root)
        self.rejected: dict[str, str] = {}
        self._seq = self._last_seq()
        super().__init__(stock=stock, seed=seed)
        if stock is None and (self.root / f"stock.{fmt}").is_file():  # a restarted ERP keeps its stock
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
        return super().emit(kind, data, event_id=event_id)

    def _publish(self, kind: str, data: dict[str, Any], event_id: str | None) -> dict[str, Any]:
        self._seq += 1
        event_id = event_id or f"sim-{uuid.uuid4().hex[:16]}"
        if data.get("order_no"):
            ref = str(data["order_no"])
        elif "customer_id" in data:
            ref = f"customer-{data['customer_id']}"
        else:
            ref = kind
        name = f"{self._seq:08d}_{kind}_{ref}.{self.fmt}"
        written = dict(data)
        if self.local_zone is not None:
            if kind == "stock":
                written.setdefault("as_of", datetime.now(timezone.utc).isoformat(timespec="seconds"))
            for field in TIME_FIELDS.get(kind, ()):
                if written.get(field):
                    written[field] = self._time_text(written[field])
        raw = encode_events([{"event_id": event_id, "kind": kind, "data": written}], self.fmt, self.encoding)
        write_atomic(self._base / IN, name, raw)
        return {"event_id": event_id, "kind": kind, "data": data, "file": name}

    def _event_quantity(self, value: Decimal) -> Any:
        return number(value)  # a JSON / CSV number

    def _stock_changed(self) -> None:
        self._write_stock()

    def _time_text(self, iso: str) -> str:
        """An aware ISO time as this ERP writes it: as it is, or local wall time without a zone."""
        if self.local_zone is None:
            return iso
        return datetime.fromisoformat(iso).astimezone(self.local_zone).strftime("%Y-%m-%d %H:%M:%S")

    def _write_stock(self) -> None:
        items = {sku: number(q) for sku, q in sorted(self.stock.items())}
        as_of = self._time_text(datetime.now(timezone.utc).isoformat(timespec="seconds"))
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
            try:
                self.import_order(doc)
            except ErpRejected as exc:  # set with reject(): the file stays in out/
                self.rejected[name] = str(exc)
                return False
        elif kind == "customer.upsert":
            self.upsert_customer(doc)
        elif kind == "customer.merge":
            self.merge_customers(doc)
        else:
            try:
                self.apply_command(doc["order_no"], doc["command"], kind=kind)
            except UnknownOrder as exc:
                self.rejected[name] = str(exc)
                return False
            self.rejected.pop(name, None)
        return True

    # ------------------------------------------------------------------ running beside a bridge

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
    (``tests.doubles.connector_kit.ErpSide``)."""

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
    parser.add_argument(
        "--local-times",
        metavar="ZONE",
        help="write times as wall time in ZONE without an offset (2026-12-03 15:40:00), e.g. Asia/Shanghai",
    )
    args = parser.parse_args(argv)
    sim = ErpSimulator(args.root, encoding=args.encoding, fmt=args.format, seed=args.seed, local_times=args.local_times)
    stop = threading.Event()
    print(f"ERP simulator on {args.root.resolve()} every {args.interval} s; Ctrl-C stops it")
    try:
        sim.run(args.interval, stop)
    except KeyboardInterrupt:
        stop.set()


if __name__ == "__main__":
    main()
