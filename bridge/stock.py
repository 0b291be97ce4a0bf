"""Stock at order time (C7, E2): ask the ERP, with a deadline, before the order is stored.

One batched ``query_stock`` for all the order's items runs in a worker thread (connectors
block); if it answers within ``orders.stock_check_deadline_s`` the answer is merged into the
snapshot, per item the newest figure winning: a live answer is of this moment, a copy the ERP
wrote earlier (the file drop's stock.json, ``StockFigures``) of its own time, and ``stock``
events of theirs. The order is judged by the merged figures that are fresh enough
(``orders.stock_snapshot_max_age_s``), so an item the answer leaves out but an event gave counts
too. On timeout or error the snapshot alone is used when every item has a fresh enough figure;
otherwise the answer is "unknown" and the order starts as 等待处理. The ERP may correct the status
later through the inbox.

The check happens before, and outside, the order's transaction: the customer's order is never
held up by a write lock while the ERP thinks.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import timedelta
from decimal import Decimal

from sqlalchemy.engine import Engine
from sqlmodel import select

from bridge.config import Config
from bridge.connector import Connector, StockFigures
from bridge.db import read_scope, session_scope
from bridge.inbox import save_stock
from bridge.logs import get_logger
from bridge.models import StockSnapshot
from bridge.orders import StockAnswer
from bridge.types import utcnow

log = get_logger("bridge.stock")


class StockChecker:
    """Asks the connector for stock with a deadline; falls back to the snapshot."""

    def __init__(
        self,
        engine: Engine,
        connector: Connector | None,
        *,
        deadline_s: float = 1.5,
        max_age_s: float = 900,
        workers: int = 4,
    ):
        self.engine = engine
        self.connector = connector
        self.deadline_s = deadline_s
        self.max_age_s = max_age_s
        # A query that outlives its deadline keeps its thread until it returns; the pool bounds
        # how many such stragglers a slow ERP can pile up.
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stock")
        self._warned: dict[str, tuple[int, float]] = {}

    @classmethod
    def from_config(cls, config: Config, engine: Engine, connector: Connector | None) -> StockChecker:
        return cls(
            engine,
            connector,
            deadline_s=config.orders.stock_check_deadline_s,
            max_age_s=config.orders.stock_snapshot_max_age_s,
        )

    def check(self, skus: list[str]) -> StockAnswer | None:
        skus = sorted(set(skus))
        if not skus:
            return None
        if self.connector is not None:
            future = self._pool.submit(self.connector.query_stock, skus)
            try:
                live = future.result(timeout=self.deadline_s)
            except FutureTimeout:
                self._warn("stock query timed out; using the snapshot", f"no answer within {self.deadline_s} s")
            except Exception as exc:
                self._warn("stock query failed; using the snapshot", str(exc) or type(exc).__name__)
            else:
                quantities = {k: Decimal(v) for k, v in (live or {}).items()}
                with session_scope(self.engine) as session:
                    # save_stock keeps a newer figure (a stock event after the ERP's copy).
                    save_stock(
                        session, quantities, (live.as_of if isinstance(live, StockFigures) else None) or utcnow()
                    )
                    merged = self._fresh(session, skus)
                return StockAnswer(merged, "live")
        return self.snapshot(skus)

    def _warn(self, what: str, error: str) -> None:
        # Once a minute per kind of problem, with how often it happened: not once per order.
        now = time.monotonic()
        count, last = self._warned.get(what, (0, 0.0))
        if now - last >= 60:
            log.warning(what, error=error, times_since_last_warning=count + 1)
            self._warned[what] = (0, now)
        else:
            self._warned[what] = (count + 1, last)

    def _fresh(self, session, skus: list[str]) -> dict[str, Decimal]:
        """The snapshot's figures for ``skus`` not older than ``max_age_s``."""
        fresh_since = utcnow() - timedelta(seconds=self.max_age_s)
        rows = session.exec(
            select(StockSnapshot).where(StockSnapshot.sku.in_(skus), StockSnapshot.as_of >= fresh_since)
        ).all()
        return {r.sku: r.quantity for r in rows}

    def snapshot(self, skus: list[str]) -> StockAnswer | None:
        with read_scope(self.engine) as session:
            fresh = self._fresh(session, skus)
        if len(fresh) < len(set(skus)):
            return None
        return StockAnswer(fresh, "snapshot")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
