"""The ERP simulator's business logic, one copy for every transport.

``ErpCore`` plays the production software: it imports orders once per order number (counting
every arrival, duplicates included) and gives each its ERP number ``SO-00001``…, reserves stock
for an order it can serve at once, gives customers ERP codes ``C0001``…, honours release /
cancel / complete, and drives orders through production and shipping by hand (``produce``,
``finish``, ``ship`` …) or one realistic step at a time (``auto_tick``). Everything it tells the
bridge goes through ``emit``.

A transport is a subclass that says how an event reaches the bridge (``_publish``: an event
file in in/, a row in an interface table, an entry in memory for a web service to hand out)
and, if it keeps one, how the stock snapshot is stored (``_stock_changed``). The file drop's
``connectors.filedrop.simulator.ErpSimulator`` and the SOAP services of ``connectors.soap`` are
such subclasses; ``MemoryErp`` is the one for transports that answer from memory.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from bridge.connector import COMMANDS, Command  # noqa: F401  COMMANDS: the words the ERP side accepts (re-exported)

COURIERS = (
    ("顺丰速运", "SF", 12),
    ("中通快递", "75", 12),
    ("德邦物流", "DPK", 12),
    ("圆通速递", "YT", 13),
    ("京东物流", "JDX", 12),
)


class ErpRejected(Exception):
    """The ERP refuses the document on business grounds; the text is the ERP's own words."""


class UnknownOrder(KeyError):
    """The order is not in the ERP (yet)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "unknown order"


def number(value: Decimal) -> int | float:
    """A quantity as the plain number an event carries (integral values as int)."""
    return int(value) if value == value.to_integral_value() else float(value)


def quantity(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _number_exact(value: Decimal) -> int | Decimal:
    """Integral quantities as int (what the file drop always wrote), others kept exact."""
    return int(value) if value == value.to_integral_value() else value


class ErpCore:
    """The ERP's state and rules; subclasses add a transport (see the module docstring).

    What it saw is public, for tests: ``imports`` (order number → arrivals, duplicates
    included), ``orders`` (order number → the ``jht.order/1`` document, once), ``arrivals``
    ((customer id, reference, kind) of everything taken, in order), ``customers``,
    ``customer_codes``, ``commands`` ((order number, command) applied), ``merges``, ``status``,
    ``erp_refs``, ``released``, ``shipments``, ``emitted`` (every event published, as the
    record ``_publish`` returned), ``stock``, ``rejections`` (order number → the words of a
    business rejection set with ``reject``).

    Every public method holds one lock, so a threaded transport (a web server) may call them
    from several threads at once.
    """

    def __init__(self, *, stock: dict[str, Any] | None = None, seed: int = 0):
        self.rng = random.Random(seed)
        self._lock = threading.RLock()
        self.imports: Counter[str] = Counter()
        self.orders: dict[str, dict[str, Any]] = {}
        self.arrivals: list[tuple[Any, str, str]] = []
        self.customers: dict[Any, dict[str, Any]] = {}
        self.customer_codes: dict[Any, str] = {}
        self.commands: list[tuple[str, str]] = []
        self.merges: list[dict[str, Any]] = []
        self.status: dict[str, str] = {}
        self.erp_refs: dict[str, str] = {}
        self.released: dict[str, bool] = {}
        self.shipments: dict[str, list[dict[str, Any]]] = {}
        self.emitted: list[dict[str, Any]] = []
        self.stock: dict[str, Decimal] = {}
        self.rejections: dict[str, str] = {}
        self._reserved: dict[str, dict[str, Decimal]] = {}
        self._shipment_no = 0
        self._codes_given = 0
        if stock is not None:
            self.stock = {sku: quantity(q) for sku, q in stock.items()}
            self._stock_changed()

    # ------------------------------------------------------------------ the transport's hooks

    def _publish(self, kind: str, data: dict[str, Any], event_id: str | None) -> dict[str, Any]:
        """Hand one event to the bridge; returns the record kept in ``emitted``, at least
        ``{"event_id", "kind", "data"}``. Called with the lock held."""
        raise NotImplementedError

    def _stock_changed(self) -> None:
        """The stock figures were set (``set_stock``, a given start stock): keep the snapshot
        the bridge reads, if the transport has one. Called with the lock held."""
        return None

    def emit(self, kind: str, data: dict[str, Any], *, event_id: str | None = None) -> str:
        """Report one event (a kind of ``bridge.connector.EVENT_KINDS``); returns its event id."""
        with self._lock:
            record = self._publish(kind, data, event_id)
            self.emitted.append(record)
            return record["event_id"]

    # ------------------------------------------------------------------ what the bridge sends

    def reject(self, order_no: str, text: str) -> None:
        """From now on the order is refused on business grounds with ``text`` (the ERP's words)."""
        with self._lock:
            self.rejections[order_no] = text

    def import_order(self, doc: dict[str, Any]) -> tuple[str, bool]:
        """Take a ``jht.order/1`` document: imported once per order number, reserving stock
        when every line can be served. Returns (ERP order number, was it a duplicate).
        Raises ErpRejected for an order set with ``reject``."""
        with self._lock:
            order_no = doc["order_no"]
            if order_no in self.rejections:
                raise ErpRejected(self.rejections[order_no])
            customer_id = doc["customer"]["id"]
            self.imports[order_no] += 1
            self.arrivals.append((customer_id, order_no, "order.create"))
            if order_no in self.orders:
                return self.erp_refs[order_no], True  # the same order number again: already imported
            self.orders[order_no] = doc
            self.erp_refs[order_no] = f"SO-{len(self.orders):05d}"
            self.released[order_no] = bool(doc.get("released")) or doc.get("customer_type") == 1
            self.emit("order.accepted", {"order_no": order_no, "erp_ref": self.erp_refs[order_no]})
            needed: dict[str, Decimal] = {}
            for line in doc["lines"]:
                needed[line["sku"]] = needed.get(line["sku"], Decimal(0)) + quantity(line["quantity"])
            if all(self.stock.get(sku, Decimal(0)) >= qty for sku, qty in needed.items()):
                self._reserved[order_no] = needed
                for sku, qty in needed.items():
                    self.stock[sku] -= qty
                self._set_status(order_no, "awaiting_shipment")
            else:
                self._set_status(order_no, "pending")
            return self.erp_refs[order_no], False

    def upsert_customer(self, doc: dict[str, Any]) -> str:
        """Take a ``jht.customer/1`` document; returns the customer's ERP code (the one it
        brought, or a new ``C0001``… announced by a ``customer.code`` event)."""
        with self._lock:
            customer_id = doc["id"]
            self.customers[customer_id] = doc
            self.arrivals.append((customer_id, f"customer-{customer_id}", "customer.upsert"))
            if customer_id in self.customer_codes:
                return self.customer_codes[customer_id]
            if doc.get("erp_code"):
                self.customer_codes[customer_id] = doc["erp_code"]
                return doc["erp_code"]
            self._codes_given += 1
            code = f"C{self._codes_given:04d}"
            self.customer_codes[customer_id] = code
            self.emit("customer.code", {"customer_id": customer_id, "erp_code": code})
            return code

    def merge_customers(self, doc: dict[str, Any]) -> None:
        """Take a ``jht.customer_merge/1`` document: the absorbed customer gets the survivor's code."""
        with self._lock:
            self.merges.append(doc)
            survivor, absorbed = doc["survivor"]["id"], doc["absorbed"]["id"]
            self.arrivals.append((survivor, f"customer-{survivor}", "customer.merge"))
            if survivor in self.customer_codes:
                self.customer_codes[absorbed] = self.customer_codes[survivor]

    def apply_command(self, order_no: str, command: str, *, kind: str = "order.command") -> None:
        """release, cancel or complete the order; repeating one is harmless. Raises
        UnknownOrder when the order is not in the ERP (yet)."""
        with self._lock:
            if order_no not in self.orders:
                raise UnknownOrder(f"order {order_no} is not in the ERP (yet)")
            self.arrivals.append((self.orders[order_no]["customer"]["id"], order_no, kind))
            self.commands.append((order_no, command))
            if command == Command.RELEASE:
                self.released[order_no] = True
            elif command == Command.CANCEL and self.status[order_no] not in ("shipped", "completed", "cancelled"):
                self._unreserve(order_no)
                self._set_status(order_no, "cancelled")
            elif command == Command.COMPLETE:
                self.status[order_no] = "completed"

    def stock_of(self, skus: list[str]) -> dict[str, Decimal]:
        """Stock now for the skus the ERP knows (unknown ones left out)."""
        with self._lock:
            return {sku: self.stock[sku] for sku in skus if sku in self.stock}

    def _unreserve(self, order_no: str) -> None:
        for sku, qty in self._reserved.pop(order_no, {}).items():
            self.stock[sku] = self.stock.get(sku, Decimal(0)) + qty

    def _set_status(self, order_no: str, status: str) -> str:
        self.status[order_no] = status
        return self.emit("order.status", {"order_no": order_no, "status": status, "erp_ref": self.erp_refs[order_no]})

    # ------------------------------------------------------------------ driving an order

    def _known(self, order_no: str) -> None:
        if order_no not in self.orders:
            raise UnknownOrder(f"order {order_no} has not reached the ERP{self._not_yet_hint}")

    _not_yet_hint = ""
    """Appended to the UnknownOrder message of the methods below (the file drop says what to call)."""

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
            lines = [(line["sku"], quantity(line["quantity"])) for line in self.orders[order_no]["lines"]]
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
                    "lines": [{"sku": sku, "quantity": _number_exact(qty)} for sku, qty in group],
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
        """Set stock figures: the snapshot is kept (``_stock_changed``) and a ``stock`` event sent."""
        with self._lock:
            for sku, qty in items.items():
                self.stock[sku] = quantity(qty)
            self._stock_changed()
            return self.emit("stock", {"items": {sku: self._event_quantity(quantity(q)) for sku, q in items.items()}})

    def _event_quantity(self, value: Decimal) -> Any:
        """How a stock figure is written into a ``stock`` event (the file drop: a JSON number)."""
        return _number_exact(value)

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


class MemoryErp(ErpCore):
    """An ERP that keeps its events in memory, numbered 1, 2, 3… (``id``), for transports that
    hand them out on request (a web service's "events after id N"). ``event_id`` is the number
    as text; an id asked for by the caller of ``emit`` is ignored, the ERP numbers its events."""

    def _publish(self, kind: str, data: dict[str, Any], event_id: str | None) -> dict[str, Any]:
        number_ = len(self.emitted) + 1
        return {"event_id": str(number_), "id": number_, "kind": kind, "data": data, "at": datetime.now(timezone.utc)}

    def events_after(self, after_id: int, limit: int) -> list[dict[str, Any]]:
        """The events numbered above ``after_id``, oldest first, at most ``limit``."""
        with self._lock:
            start = max(int(after_id), 0)
            return list(self.emitted[start : start + max(int(limit), 0)])
