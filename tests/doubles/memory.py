"""An in-memory ERP connector that records what it is sent and can be told to fail.

For tests of the bridge's own loops (and of plugins' hooks): like a real ERP it dedupes
orders by order number; ``down`` makes every call a TransientError, ``reject`` makes the
next calls for an order number PermanentErrors; ``customer_codes`` sets the code the ERP
answers for a customer id (default ``C0001``-style); ``events`` are handed out in order with an
integer cursor. ``reset()`` forgets everything.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from bridge.connector import CheckLine, Connector, ErpEvent, PermanentError, TransientError


class MemoryConnector(Connector):
    name = "memory"
    description = "in-memory ERP for tests"

    def __init__(self, settings: Any = None, context=None):
        super().__init__(settings or {}, context)
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.orders: dict[str, dict] = {}
        self.customers: dict[int, dict] = {}
        self.customer_codes: dict[int, str] = {}
        self.commands: list[tuple[str, str]] = []
        self.stock: dict[str, Decimal] = {}
        self.events: list[ErpEvent] = []
        self.acks: list[tuple[str, str]] = []
        self.down = False
        self.reject: dict[str, str] = {}
        self.crash_with: Exception | None = None
        self.stock_delay_s = 0.0

    def _enter(self, op: str, arg: Any) -> None:
        with self.lock:
            self.calls.append((op, arg))
        if self.crash_with is not None:
            raise self.crash_with
        if self.down:
            raise TransientError("ERP unreachable (memory connector is down)")

    def push_customer(self, doc):
        self._enter("push_customer", doc["id"])
        self.customers[doc["id"]] = doc
        return self.customer_codes.get(doc["id"]) or doc.get("erp_code") or f"C{doc['id']:04d}"

    def push_order(self, doc):
        self._enter("push_order", doc["order_no"])
        if doc["order_no"] in self.reject:
            raise PermanentError(self.reject[doc["order_no"]])
        with self.lock:
            self.orders.setdefault(doc["order_no"], doc)
        return f"SO-{doc['order_no']}"

    def order_command(self, order_no, command, at, doc=None):
        self._enter("order_command", (order_no, command))
        if order_no not in self.orders:
            raise PermanentError(f"order {order_no} does not exist in the ERP")
        self.commands.append((order_no, command))

    def push_merge(self, doc):
        self._enter("push_merge", doc["survivor"]["id"])

    def query_stock(self, skus):
        self._enter("query_stock", tuple(skus))
        if self.stock_delay_s:
            import time

            time.sleep(self.stock_delay_s)
        return {s: self.stock[s] for s in skus if s in self.stock}

    def emit(self, kind: str, data: dict, event_id: str | None = None, problem: str | None = None) -> str:
        event_id = event_id or f"ev-{len(self.events) + 1}"
        self.events.append(ErpEvent(event_id, kind, data, cursor=str(len(self.events) + 1), problem=problem))
        return event_id

    def pull_events(self, cursor, limit=100):
        self._enter("pull_events", cursor)
        start = int(cursor or 0)
        batch = self.events[start : start + limit]
        return batch, str(start + len(batch))

    def ack(self, event, outcome, reason=None, reason_zh=None):
        self.acks.append((event.event_id, outcome))

    def check(self):
        return [CheckLine("memory", not self.down, "down" if self.down else "up")]
