"""The sync loops: the outbox dispatcher and the inbox poller, each in its own thread, and the
auto-completion of shipped orders (``bridge.autocomplete``) in a third, every
``AUTO_COMPLETE_EVERY_S`` (at start, then hourly; off when ``orders.auto_complete_days`` is 0).

``Worker`` runs them until told to stop (``stop()``; ``bridge.app.serve`` calls it on SIGTERM /
SIGINT), then finishes the message in hand and returns. ``stuck()`` names the loops that have been
in one round (a delivery, a poll) for too long: the service manager's watchdog is pinged only
while there are none (``bridge.sdnotify``). Each loop waits on three things at once: stop, "new work" (an
order placed in this process wakes the dispatcher; a new file wakes the poller through the
connector's ``wait_for_events``) and its poll interval.

On PostgreSQL several workers may run: they share the outbox through leases, and one inbox
poller per connector is elected with ``pg_try_advisory_lock`` (the others stand by and take
over when its session ends). On SQLite run one worker process (``jht-bridge run``).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Engine

from bridge import autocomplete, notify
from bridge.config import Config
from bridge.connector import Connector
from bridge.inbox import InboxPoller
from bridge.logs import get_logger
from bridge.db import session_scope
from bridge.outbox import TARGET_NOTIFY, Dispatcher, RetryPolicy, enqueue

log = get_logger("bridge.worker")

AUTO_COMPLETE_EVERY_S = 3600.0
OPS_DIGEST_CHECK_S = 300.0
"""How often the worker asks whether the admins' digest is due (``notify.ops_digest_interval_s``)."""
"""How often the worker completes the shipped orders that are due: the rule counts days, so an
hour late is nothing, and a restart runs it at once."""


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"jht-bridge:inbox:{name}".encode()).digest()[:8], "big", signed=True)


class Worker:
    def __init__(
        self,
        config: Config,
        engine: Engine,
        connector: Connector,
        *,
        notifiers: list | None = None,
        adjust=None,
        dispatch: bool = True,
        poll_inbox: bool = True,
        auto_complete_every_s: float = AUTO_COMPLETE_EVERY_S,
    ):
        self.config = config
        self.engine = engine
        self.connector = connector
        self.dispatcher = Dispatcher(
            engine, connector, settings=config.outbox, notifiers=notifiers, adjust=adjust, notify_settings=config.notify
        )
        self.poller = InboxPoller(engine, connector, settings=config.inbox, status_map=config.sync.status_map)
        self.stop_event = threading.Event()
        self.work_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.dispatch = dispatch
        self.poll_inbox = poll_inbox
        self.auto_complete_every_s = auto_complete_every_s
        self._busy: dict[str, float] = {}
        """Loop name → when (monotonic) the round in hand began; waiting loops are not here."""

    def wake(self) -> None:
        """Tell the dispatcher there is a new message (same process)."""
        self.work_event.set()

    def start(self) -> None:
        if self.dispatch:
            self.threads.append(threading.Thread(target=self._dispatch_loop, name="outbox", daemon=True))
        if self.poll_inbox:
            self.threads.append(threading.Thread(target=self._inbox_loop, name="inbox", daemon=True))
        if self.dispatch and self.config.notify.ops_digest_interval_s:
            self.threads.append(threading.Thread(target=self._ops_digest_loop, name="ops-digest", daemon=True))
        if self.dispatch and self.config.orders.auto_complete_days > 0:
            # With the dispatcher: it sends the ``complete`` commands the completions queue.
            self.threads.append(threading.Thread(target=self._auto_complete_loop, name="auto-complete", daemon=True))
        for thread in self.threads:
            thread.start()
        log.info("sync loops started", connector=self.connector.name, worker=self.dispatcher.worker_id)

    def stop(self) -> None:
        self.stop_event.set()
        self.work_event.set()

    def join(self, timeout: float | None = None) -> None:
        for thread in self.threads:
            thread.join(timeout)
        self.connector.close()
        log.info("sync loops stopped")

    def stuck(self, limit_s: float) -> list[str]:
        """The loops in one round for longer than ``limit_s`` seconds, and those that ended
        while the worker was not told to stop. Waiting for work is not being stuck."""
        now = time.monotonic()
        names = [name for name, since in list(self._busy.items()) if now - since > limit_s]
        if not self.stop_event.is_set():
            names += [f"{thread.name} (ended)" for thread in self.threads if not thread.is_alive()]
        return names

    @contextmanager
    def _round(self, name: str) -> Iterator[None]:
        self._busy[name] = time.monotonic()
        try:
            yield
        finally:
            self._busy.pop(name, None)

    # -- loops ------------------------------------------------------------------------------

    def _dispatch_loop(self) -> None:
        interval = self.config.outbox.poll_interval_s
        gather = self.config.outbox.gather_s
        full = self.config.outbox.batch_size
        while not self.stop_event.is_set():
            try:
                with self._round("outbox"):
                    handled = self.dispatcher.run_once()
            except Exception:
                log.exception("outbox dispatch round failed; retrying")
                handled = 0
                self.stop_event.wait(interval)
            if handled == 0:
                self.work_event.wait(interval)
                self.work_event.clear()
            elif handled < full and gather:
                # Busy, not backlogged: let the orders of the next moment gather into one round
                # (a wake-up per order cost a claim and a finish per order).
                self.stop_event.wait(gather)

    def _inbox_loop(self) -> None:
        interval = self.config.inbox.poll_interval_s
        # From one poll interval up to ten of them (at most 30 s): a short blip is over soon, a
        # long outage is not hammered.
        backoff = RetryPolicy(base_s=interval, max_s=max(interval, min(10 * interval, 30.0)))
        failures = 0
        with _InboxLeadership(self.engine, self.connector.name, self.stop_event, interval) as leader:
            while not self.stop_event.is_set():
                if not leader.held():
                    continue
                try:
                    with self._round("inbox"):
                        handled = self.poller.run_once()
                except Exception as exc:
                    # The ERP side is away: say so once in a while, not at every poll.
                    failures += 1
                    wait = backoff.delay(failures)
                    if failures == 1 or failures % 10 == 0:
                        log.warning(
                            "inbox poll failed; retrying",
                            error=str(exc) or type(exc).__name__,
                            failures=failures,
                            retry_in_s=round(wait, 1),
                        )
                    self.stop_event.wait(wait)
                    continue
                if failures:
                    log.info("inbox poll works again", after_failures=failures)
                    failures = 0
                if handled == 0:
                    self._wait_for_events(interval)

    def _wait_for_events(self, interval: float) -> None:
        """The connector's wait, in slices of at most a second so that ``stop`` is heeded soon
        even with a long inbox.poll_interval_s (the connector knows nothing of the stop)."""
        deadline = time.monotonic() + interval
        while not self.stop_event.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or self.connector.wait_for_events(min(left, 1.0)):
                return

    def _auto_complete_loop(self) -> None:
        days = self.config.orders.auto_complete_days
        while not self.stop_event.is_set():
            try:
                with self._round("auto-complete"):
                    done = autocomplete.run(self.engine, days)
            except Exception:
                log.exception("auto-completion of shipped orders failed; retrying later")
                done = []
            if done:
                log.info(
                    "shipped orders completed automatically",
                    count=len(done),
                    orders=[c.order_no for c in done][:20],
                    after_days=days,
                )
                self.wake()
            self.stop_event.wait(self.auto_complete_every_s)

    def _ops_digest_loop(self) -> None:
        """Every few minutes: when something needs a person and no digest went out within
        ``notify.ops_digest_interval_s``, queue one for the admins (``notify.ops_digest``). Two
        workers asking at the same moment may each queue one."""
        settings = self.config.notify
        every = min(settings.ops_digest_interval_s, OPS_DIGEST_CHECK_S)
        while not self.stop_event.wait(every):
            try:
                with self._round("ops-digest"):
                    queued = self.queue_ops_digest()
            except Exception:
                log.exception("the admins' digest failed; retrying later")
                queued = False
            if queued:
                self.wake()

    def queue_ops_digest(self) -> bool:
        """Queue the admins' digest if one is due (``bridge.notify.ops_digest``)."""
        with session_scope(self.engine) as session:
            counts = notify.ops_digest(session, self.config.notify)
            if counts is None:
                return False
            enqueue(
                session,
                target=TARGET_NOTIFY,
                kind="notify.ops_digest",
                ordering_key="ops",
                aggregate_type="ops",
                aggregate_id="sync",
                payload=counts,
            )
        log.warning("digest of what needs a person queued for the admins", **counts)
        return True


class _InboxLeadership:
    """One inbox poller per connector on PostgreSQL (advisory lock on a held connection). The
    leader looks at its lock's session at most every ``RECHECK_S`` between polls: when that
    session is gone (the server restarted, the network dropped it), so is the lock, another
    worker may hold it by now, and this one stops polling until it has the lock again."""

    RECHECK_S = 1.0

    def __init__(self, engine: Engine, name: str, stop: threading.Event, interval: float):
        self.engine, self.key, self.stop, self.interval = engine, _lock_key(name), stop, interval
        self.conn = None
        self.leading = engine.dialect.name != "postgresql"
        self.checked = 0.0

    def __enter__(self):
        return self

    def held(self) -> bool:
        if self.leading and (self.conn is None or time.monotonic() - self.checked < self.RECHECK_S):
            return True
        if self.leading:
            try:
                self.conn.execute(text("SELECT 1"))
                self.conn.commit()
                self.checked = time.monotonic()
                return True
            except Exception as exc:
                log.warning("lost the inbox lock with its database session; taking it again", error=str(exc))
                self._drop()
        try:
            if self.conn is None:
                self.conn = self.engine.connect()
            got = self.conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
            self.conn.commit()
        except Exception as exc:
            log.warning("cannot take the inbox lock; retrying", error=str(exc))
            self._drop()
            got = False
        if got:
            self.leading, self.checked = True, time.monotonic()
            log.info("this worker polls the inbox")
            return True
        self.stop.wait(self.interval)
        return False

    def _drop(self) -> None:
        """End the database session that holds (or tried for) the lock. Not just ``close()``:
        that hands the session back to the pool, lock and all, and the next try on another
        pooled connection would never get it. Invalidating closes the session itself, which is
        what releases a session-level advisory lock. A session still usable unlocks first, so the
        lock is free at once (PostgreSQL releases a closed session's locks only when its backend
        has exited, a moment later; the next worker's retry covers that case)."""
        if self.conn is not None:
            try:
                if self.leading and not self.conn.invalidated:
                    self.conn.execute(text("SELECT pg_advisory_unlock_all()"))
            except Exception:
                pass
            try:
                self.conn.invalidate()
                self.conn.close()
            except Exception:
                pass
            self.conn = None
            self.leading = self.engine.dialect.name != "postgresql"

    def __exit__(self, *exc):
        self._drop()
        return False


def wait_until(predicate, timeout: float, step: float = 0.05) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass (tests, demo)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
