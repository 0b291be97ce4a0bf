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

After a query that failed or ran out of time, orders stop asking the ERP: they are judged by the
snapshot at once, instead of each waiting out the deadline (or failing) against an ERP that is
down, or a file drop whose ERP writes no stock file. Every ``PAUSE_AFTER_FAILURE_S`` one query
runs in the background, which no order waits for; once one answers, orders ask again. One that
hangs (a file share or a network that does not answer, beyond the connector's own timeouts) is
given up after ``PROBE_GIVE_UP_S``, and the next order starts another: a late answer of the one
given up decides nothing.

The question to the ERP (``ask``) happens before, and outside, the order's transaction: the
customer's order is never held up by a write lock while the ERP thinks. Its answer is judged
(``answer``: saved into the snapshot, merged with it) in the order's own transaction, so placing
an order writes once.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bridge.config import Config
from bridge.connector import Connector, StockFigures
from bridge.db import read_scope, session_scope
from bridge.inbox import save_stock
from bridge.logs import get_logger
from bridge.models import StockSnapshot
from bridge.orders import StockAnswer
from bridge.types import utcnow

log = get_logger("bridge.stock")

PAUSE_AFTER_FAILURE_S = 10.0
"""How long live stock queries rest after one failed or timed out (the snapshot answers), before
a query in the background tries the ERP again."""

PROBE_GIVE_UP_S = 60.0
"""How long a background query may go unanswered before another one may start (it keeps its
thread until it returns: at most all but one of the pool's threads are left to such stragglers)."""


@dataclass(frozen=True)
class StockQuery:
    """What ``StockChecker.ask`` got for the order's items, to be judged in the order's
    transaction (``StockChecker.answer``)."""

    skus: list[str]
    live: dict[str, Decimal] | None = None
    """The connector's figures; None when it did not answer in time (or there is none)."""
    as_of: datetime | None = None
    """When the ERP took them, for a connector answering from a copy (``StockFigures``)."""


_t = StockSnapshot.__table__
_FRESH = sa.select(_t.c.sku, _t.c.quantity).where(
    _t.c.sku.in_(sa.bindparam("skus", expanding=True)), _t.c.as_of >= sa.bindparam("since")
)
"""The snapshot's figures for some skus, taken at or after a time (built once: it runs per order)."""


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
        pause_s: float = PAUSE_AFTER_FAILURE_S,
        clock=time.monotonic,
    ):
        self.engine = engine
        self.connector = connector
        self.deadline_s = deadline_s
        self.max_age_s = max_age_s
        # A query that outlives its deadline keeps its thread until it returns; the pool bounds
        # how many such stragglers a slow ERP can pile up.
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stock")
        self._warned: dict[str, tuple[int, float]] = {}
        self.pause_s = pause_s
        self.clock = clock
        self._paused_until = 0.0
        """Non-zero after a failure: the ERP is resting, until this ``clock()``; then a
        probe in the background (``_probe``) decides whether orders ask it again."""
        self._probing = False
        self._probe_lock = threading.Lock()
        self._probe_started = 0.0
        self._probe_no = 0
        """The number of the latest background query: only its answer is a verdict."""
        self._stragglers = 0
        """Background queries given up on that have not returned yet."""
        self._workers = workers
        self.probe_give_up_s = PROBE_GIVE_UP_S

    @classmethod
    def from_config(cls, config: Config, engine: Engine, connector: Connector | None) -> StockChecker:
        return cls(
            engine,
            connector,
            deadline_s=config.orders.stock_check_deadline_s,
            max_age_s=config.orders.stock_snapshot_max_age_s,
        )

    def check(self, skus: list[str]) -> StockAnswer | None:
        """``ask`` the ERP, then ``answer`` in a transaction of its own."""
        asked = self.ask(skus)
        if asked is None:
            return None
        with (session_scope if asked.live is not None else read_scope)(self.engine) as session:
            return self.answer(session, asked)

    def ask(self, skus: list[str]) -> StockQuery | None:
        """The connector's live figures for ``skus``, or none (timeout, error, no connector):
        outside any transaction, the database is not touched. None when there are no skus."""
        skus = sorted(set(skus))
        if not skus:
            return None
        if self.connector is None:
            return StockQuery(skus)
        if self._paused_until:
            self._probe(skus)
            return StockQuery(skus)
        future = self._pool.submit(self.connector.query_stock, skus)
        try:
            live = future.result(timeout=self.deadline_s)
        except FutureTimeout:
            self._failed("stock query timed out; using the snapshot", f"no answer within {self.deadline_s} s")
        except Exception as exc:
            self._failed("stock query failed; using the snapshot", str(exc) or type(exc).__name__)
        else:
            as_of = live.as_of if isinstance(live, StockFigures) else None
            return StockQuery(skus, {k: Decimal(v) for k, v in (live or {}).items()}, as_of)
        return StockQuery(skus)

    def _failed(self, what: str, error: str) -> None:
        self._paused_until = self.clock() + self.pause_s
        self._warn(what, f"{error}; asked again in {self.pause_s:g} s" if self.pause_s else error)

    def _probe(self, skus: list[str]) -> None:
        """While resting after a failure: once the pause is over, ask the ERP in the background
        (no order waits for it); its answer ends the rest, a failure starts a new one. One that
        has not returned after ``probe_give_up_s`` is given up, and another starts."""
        with self._probe_lock:
            now = self.clock()
            if now < self._paused_until:
                return
            if self._probing:
                waited = now - self._probe_started
                if waited < self.probe_give_up_s or self._stragglers >= self._workers - 1:
                    return
                self._stragglers += 1
                self._warn("background stock query did not return; asking again", f"no answer in {waited:.0f} s")
            self._probing, self._probe_started = True, now
            self._probe_no += 1
            mine = self._probe_no
        future = self._pool.submit(self.connector.query_stock, skus)

        def done(finished) -> None:
            with self._probe_lock:
                if mine != self._probe_no:  # given up on: the newer query decides
                    self._stragglers -= 1
                    return
            error = finished.exception()
            if error is None:
                self._paused_until = 0.0
                log.info("stock queries answered again")
            else:
                self._failed("stock query failed; using the snapshot", str(error) or type(error).__name__)
            with self._probe_lock:  # after the verdict: no second probe starts before it is known
                if mine == self._probe_no:
                    self._probing = False

        future.add_done_callback(done)

    def answer(self, session: Session, asked: StockQuery) -> StockAnswer | None:
        """The figures the order is judged by, in ``session`` (the order's own transaction in
        ``orders.submit_order``): a live answer is saved into the snapshot first (save_stock keeps
        a newer figure, a stock event after the ERP's copy) and merged with it; without one, the
        snapshot alone when it has a fresh enough figure for every item, else None."""
        if asked.live is not None:
            save_stock(session, asked.live, asked.as_of or utcnow())
            return StockAnswer(self._fresh(session, asked.skus), "live")
        fresh = self._fresh(session, asked.skus)
        if len(fresh) < len(asked.skus):
            return None
        return StockAnswer(fresh, "snapshot")

    def _warn(self, what: str, error: str) -> None:
        # Once a minute per kind of problem, with how often it happened: not once per order.
        now = time.monotonic()
        count, last = self._warned.get(what, (0, 0.0))
        if now - last >= 60:
            log.warning(what, error=error, times_since_last_warning=count + 1)
            self._warned[what] = (0, now)
        else:
            self._warned[what] = (count + 1, last)

    def _fresh(self, session: Session, skus: list[str]) -> dict[str, Decimal]:
        """The snapshot's figures for ``skus`` not older than ``max_age_s``."""
        fresh_since = utcnow() - timedelta(seconds=self.max_age_s)
        return dict(session.connection().execute(_FRESH, {"skus": skus, "since": fresh_since}).all())

    def snapshot(self, skus: list[str]) -> StockAnswer | None:
        with read_scope(self.engine) as session:
            return self.answer(session, StockQuery(sorted(set(skus))))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
