"""The transactional outbox: every message to the ERP and every notification.

A message is written by ``enqueue`` in the same transaction as the change that caused it, so
the change and the message exist together or not at all. Messages are delivered in ``id``
order per ``ordering_key`` (the customer: its upsert precedes its orders). The dispatcher that
delivers them is built on this table (sync-engine issue).
"""

from __future__ import annotations

import os
import random
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from bridge.actors import Actor, audit
from bridge.bindings import CodeTaken, bind_customer_code, bind_order_refs, root_customer
from bridge.config import NotifySection, OutboxSection
from bridge.connector import COMMANDS, Connector, PermanentError, Rendered, TransientError, command_args
from bridge.db import Page, insert_rows, paginate, read_scope, session_scope
from bridge.errors import InvalidInput, NotFound
from bridge.logs import get_logger
from bridge.models import Order, OutboxMessage, OutboxStatus
from bridge.notify import TARGET_SEND, Pace, RateLimited, is_channel, route
from bridge.syncstate import admins_only
from bridge.types import utcnow

TARGET_ERP = "erp"
TARGET_NOTIFY = "notify"


def customer_key(customer_id: int) -> str:
    """The ordering key of everything about one customer."""
    return f"customer:{customer_id}"


def message_row(
    *,
    kind: str,
    ordering_key: str,
    aggregate_type: str,
    aggregate_id: Any,
    payload: dict[str, Any],
    target: str = TARGET_ERP,
) -> dict[str, Any]:
    """The row of one outbox message, for ``enqueue_all``."""
    return dict(
        target=target,
        kind=kind,
        ordering_key=ordering_key,
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate_id),
        payload=payload,
    )


def notice_row(event: str, *, customer_id: int, order_no: str | None = None, **fields: Any) -> dict[str, Any]:
    """The row of the notice ``notify.<event>`` for the notifiers (N1, N2), about an order or,
    without ``order_no``, about a customer, in the customer's queue (so it follows the change it
    tells of). The payload is ``order_no`` (if any), ``customer_id`` and ``fields``."""
    return message_row(
        target=TARGET_NOTIFY,
        kind=f"notify.{event}",
        ordering_key=customer_key(customer_id),
        aggregate_type="order" if order_no is not None else "customer",
        aggregate_id=order_no if order_no is not None else customer_id,
        payload=({"order_no": order_no} if order_no is not None else {}) | {"customer_id": customer_id, **fields},
    )


def enqueue_all(session: Session, rows: list[dict[str, Any]]) -> None:
    """Add messages (``message_row``, ``notice_row``) to the caller's transaction, in this order
    (ids ascending), with one statement; inserted at once, never committed, not read back."""
    insert_rows(session, OutboxMessage, rows, read_back=False)


def enqueue(session: Session, **fields: Any) -> OutboxMessage:
    """Add one message (``message_row``'s fields) to the caller's transaction (never commits)."""
    return insert_rows(session, OutboxMessage, [message_row(**fields)])[0]


def enqueue_notice(session: Session, event: str, **fields: Any) -> OutboxMessage:
    """Queue one ``notice_row`` in the caller's transaction (never commits)."""
    return enqueue(session, **notice_row(event, **fields))


# --------------------------------------------------------------------------- delivery


def prepared_action(
    message: OutboxMessage, adjust: Callable[[str, dict, str], dict] | None, connector_name: str
) -> tuple[str, dict[str, Any]]:
    """``message_action`` with the document after every plugin's ``adjust`` for
    ``connector_name``: what the dispatcher hands over, and what ``outbox preview`` shows.
    Notices are not adjusted (plugins shape what the ERP gets)."""
    action, doc = message_action(message)
    if adjust is not None and action not in ("notify", "send"):
        doc = adjust(message.kind, doc, connector_name)
    return action, doc


def message_action(message: OutboxMessage) -> tuple[str, dict[str, Any]]:
    """What delivering ``message`` means: the connector operation (or "notify") and the
    document it gets. Used by the dispatcher and by ``outbox preview`` alike (E8)."""
    kind = message.kind
    if message.target == TARGET_NOTIFY:
        return "notify", dict(message.payload)
    if message.target == TARGET_SEND:
        return "send", dict(message.payload)
    doc = dict(message.payload)
    doc["_outbox_id"] = message.id  # envelope: lets a connector name or dedupe by message
    if kind == "customer.upsert":
        return "push_customer", doc
    if kind == "customer.merge":
        return "push_merge", doc
    if kind == "order.create":
        return "push_order", doc
    if kind.startswith("order.") and kind.split(".", 1)[1] in COMMANDS:
        return "order_command", doc
    return "unknown", doc


@dataclass(frozen=True)
class RetryPolicy:
    """When to try a failed message again.

    After the n-th failed attempt the message waits ``d/2 + uniform(0, d/2)`` seconds, where
    ``d = min(max_s, base_s · 2^(n-1))`` ("equal jitter": never less than half the backoff, so
    an outage is not hammered, and spread so that messages do not retry in lockstep). After
    ``max_attempts`` failures it is a dead letter; a permanent error makes it one at once.
    The inbox loop backs off from a failing ``pull_events`` by the same formula (it never
    gives up, so it ignores ``max_attempts``).
    """

    base_s: float = 2.0
    max_s: float = 900.0
    max_attempts: int = 20

    @classmethod
    def from_settings(cls, settings: OutboxSection) -> RetryPolicy:
        return cls(settings.backoff_base_s, settings.backoff_max_s, settings.max_attempts)

    def delay(self, attempts: int, rng: random.Random | None = None) -> float:
        # The exponent is capped: a poll failing for days must not overflow the float.
        d = min(self.max_s, self.base_s * 2 ** min(max(0, attempts - 1), 64))
        return d / 2 + (rng or random).uniform(0, d / 2)

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


@dataclass
class Delivery:
    """The result of one delivery attempt."""

    ok: bool
    result: dict[str, Any] | None = None
    error: str | None = None
    permanent: bool = False
    spawn: list[OutboxMessage] | None = None
    """Messages to add when this outcome is recorded (a routed notice's ``send`` rows): written
    in the transaction that marks this one delivered, so they exist once or not at all."""
    defer_s: float | None = None
    """Not tried (a paced channel had no room): due again in this many seconds, no attempt
    counted."""

    @property
    def plain(self) -> bool:
        """Delivered, with no answer to keep and nothing to add: recorded in bulk."""
        return self.ok and not self.result and not self.spawn and self.defer_s is None


class Dispatcher:
    """Delivers due outbox messages, oldest first, one at a time per (target, customer).

    A message is claimed by setting a lease (``lease_until``, ``leased_by``) in a short
    transaction (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so several workers share the work;
    SQLite: writers are serialised anyway), delivered outside any transaction, then finished
    in another short transaction — only if the lease is still ours. A worker that dies leaves
    its leases to expire; another worker then takes the messages over. So delivery is at
    least once; the ERP side dedupes by order number.
    """

    def __init__(
        self,
        engine: Engine,
        connector: Connector,
        *,
        settings: OutboxSection | None = None,
        notifiers: list[Any] | None = None,
        adjust: Callable[[str, dict, str], dict] | None = None,
        worker_id: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        notify_settings: NotifySection | None = None,
        pace: Pace | None = None,
    ):
        self.engine = engine
        self.connector = connector
        self.settings = settings or OutboxSection()
        self.policy = RetryPolicy.from_settings(self.settings)
        self.notifiers = [n for n in notifiers or [] if not is_channel(n)]
        self.channels = {n.channel: n for n in notifiers or [] if is_channel(n)}
        self.notify_settings = notify_settings or NotifySection()
        self.pace = pace or Pace()
        self.adjust = adjust
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.clock = clock
        self.log = get_logger("bridge.outbox").bind(worker=self.worker_id)

    # -- claim ------------------------------------------------------------------------------

    def claim(self, limit: int | None = None) -> list[sa.Row]:
        """Lease the due messages that are first in line for their customer, in id order. They
        come as rows (read-only, with ``OutboxMessage``'s column names), not ORM objects: for a
        batch of 200, building the objects took some 5 ms, near the statement's 7 (issue #16)."""
        limit = limit or self.settings.batch_size
        now = self.clock()
        t = OutboxMessage.__table__
        earlier = t.alias("earlier")
        due = (
            sa.select(t.c.id)
            .where(
                t.c.status == OutboxStatus.PENDING.value,
                t.c.next_attempt_at <= now,
                sa.or_(t.c.lease_until.is_(None), t.c.lease_until < now),
                ~sa.exists().where(
                    earlier.c.target == t.c.target,
                    earlier.c.ordering_key == t.c.ordering_key,
                    earlier.c.status == OutboxStatus.PENDING.value,
                    earlier.c.id < t.c.id,
                ),
            )
            .order_by(t.c.id)
            .limit(limit)
        )
        with session_scope(self.engine) as session:
            if session.get_bind().dialect.name == "postgresql":
                # = ANY(ARRAY(…)): the leased rows found by their key, not by a scan of the table
                chosen = t.c.id == sa.any_(sa.func.array(due.with_for_update(skip_locked=True, of=t).scalar_subquery()))
            else:
                chosen = t.c.id.in_(due.scalar_subquery())
            until = now + timedelta(seconds=self.settings.lease_s)
            # One statement leases what is due and reads it back.
            leased = sa.update(t).where(chosen).values(lease_until=until, leased_by=self.worker_id).returning(*t.c)
            rows = list(session.execute(leased))
        rows.sort(key=lambda m: m.id)
        return rows

    # -- deliver ----------------------------------------------------------------------------

    def deliver(self, message: OutboxMessage) -> Delivery:
        """Hand one message to the connector (or the notifiers); never raises."""
        action, doc = prepared_action(message, self.adjust, self.connector.name)
        try:
            result = self._attempt(action, message, doc)
            if action == "notify" and self.channels:
                with read_scope(self.engine) as session:
                    spawn = route(session, message, list(self.channels.values()), self.notify_settings)
                return Delivery(ok=True, result={"routed": len(spawn)} if spawn else None, spawn=spawn)
            return Delivery(ok=True, result=result)
        except PermanentError as exc:
            return Delivery(ok=False, error=_text(exc), permanent=True)
        except TransientError as exc:
            return Delivery(ok=False, error=_text(exc))
        except Exception as exc:  # a connector bug: keep the message, retry later, say what
            self.log.exception("connector raised an unexpected error", outbox_id=message.id, kind=message.kind)
            return Delivery(ok=False, error=f"unexpected {type(exc).__name__}: {exc}")

    def _attempt(self, action: str, message: OutboxMessage, doc: dict[str, Any]) -> dict[str, Any] | None:
        """``_call`` with ``quick_retries`` more tries (0.2 s, 0.4 s, … apart) on a transient error.
        The first try is made without the retry machinery, which costs more than a delivery's
        own bookkeeping; a failure of it is handed to tenacity as its first attempt's."""
        try:
            return self._call(action, message, doc)
        except TransientError as exc:
            if self.settings.quick_retries == 0:
                raise
            first: TransientError | None = exc
        retrying = Retrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(self.settings.quick_retries + 1),
            wait=wait_exponential(multiplier=0.2, max=2),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                if first is not None:
                    failed, first = first, None
                    raise failed
                return self._call(action, message, doc)
        raise AssertionError("unreachable: tenacity re-raises the last failure")  # pragma: no cover

    def _call(self, action: str, message: OutboxMessage, doc: dict[str, Any]) -> dict[str, Any] | None:
        c = self.connector
        if action == "push_order":
            ref = c.push_order(doc)
            return {"erp_ref": ref} if ref else None
        if action == "push_customer":
            code = c.push_customer(doc)
            return {"erp_code": code} if code else None
        if action == "push_merge":
            c.push_merge(doc)
            return None
        if action == "order_command":
            c.order_command(*command_args(doc), doc)
            return None
        if action == "send":  # one routed notice alone (deliver_sends packs and paces them)
            channel = self.channels.get(doc.get("channel"))
            if channel is None:
                raise TransientError(
                    f"channel {doc.get('channel')!r} is not configured ([notify.{doc.get('channel')}])"
                )
            return channel.send(doc["to"], doc)
        if action == "notify":
            if not self.notifiers and not self.channels:
                raise TransientError("no notifier is registered")
            for notifier in self.notifiers:
                notifier.notify(message.kind, doc)
            return None
        raise PermanentError(f"no connector operation for message kind {message.kind!r}")

    def deliver_sends(self, first: OutboxMessage) -> list[tuple[OutboxMessage, Delivery]]:
        """Send ``first`` (a ``send`` row) and what waits behind it for the same address, packed
        by the channel into as few messages as its limits allow (a digest), as fast as its pace
        lets; what the pace holds back waits without an attempt counted. Never raises."""
        channel = self.channels.get(first.payload.get("channel"))
        if channel is None:
            name = first.payload.get("channel")
            return [(first, Delivery(ok=False, error=f"channel {name!r} is not configured ([notify.{name}])"))]
        rows = [first, *self._lease_waiting(first)]
        key = first.ordering_key
        outcomes: list[tuple[OutboxMessage, Delivery]] = []
        packed = channel.pack([dict(r.payload) for r in rows])
        for n, (message, carried) in enumerate(packed):
            wait = self.pace.wait_s(key, channel.per_minute)
            if wait > 0:
                outcomes += [(rows[i], Delivery(ok=False, defer_s=wait)) for _, c in packed[n:] for i in c]
                break
            try:
                result = channel.send(first.payload["to"], message)
            except RateLimited as exc:
                self.pace.empty(key, exc.retry_after_s)
                self.log.warning("channel says too fast; waiting", channel=channel.channel, error=_text(exc))
                outcomes += [(rows[i], Delivery(ok=False, defer_s=exc.retry_after_s)) for _, c in packed[n:] for i in c]
                break
            except PermanentError as exc:
                outcomes += [(rows[i], Delivery(ok=False, error=_text(exc), permanent=True)) for i in carried]
                continue
            except Exception as exc:  # TransientError, or a channel bug: keep them, retry later
                error = _text(exc) if isinstance(exc, TransientError) else f"unexpected {type(exc).__name__}: {exc}"
                outcomes += [(rows[i], Delivery(ok=False, error=error)) for i in carried]
                outcomes += [(rows[i], Delivery(ok=False, defer_s=0)) for _, c in packed[n + 1 :] for i in c]
                break
            if len(carried) > 1:
                result = {**(result or {}), "digest_of": [rows[i].id for i in carried]}
            outcomes += [(rows[i], Delivery(ok=True, result=result)) for i in carried]
        return outcomes

    def _lease_waiting(self, first: OutboxMessage, limit: int = 200) -> list[OutboxMessage]:
        """Lease the due ``send`` rows waiting behind ``first`` for the same address."""
        now = self.clock()
        t = OutboxMessage.__table__
        waiting = (
            sa.select(t.c.id)
            .where(
                t.c.target == TARGET_SEND,
                t.c.ordering_key == first.ordering_key,
                t.c.status == OutboxStatus.PENDING.value,
                t.c.id > first.id,
                t.c.next_attempt_at <= now,
                sa.or_(t.c.lease_until.is_(None), t.c.lease_until < now),
            )
            .order_by(t.c.id)
            .limit(limit)
        )
        with session_scope(self.engine) as session:
            if session.get_bind().dialect.name == "postgresql":
                waiting = waiting.with_for_update(skip_locked=True, of=t)
            ids = session.execute(waiting).scalars().all()
            if not ids:
                return []
            until = now + timedelta(seconds=self.settings.lease_s)
            session.execute(sa.update(t).where(t.c.id.in_(ids)).values(lease_until=until, leased_by=self.worker_id))
            return list(
                session.exec(select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)).all()
            )

    # -- finish -----------------------------------------------------------------------------

    def finish(self, message: OutboxMessage, delivery: Delivery) -> bool:
        """Record the outcome if our lease still holds; False when another worker took over."""
        return self.finish_many([(message, delivery)]) == 1

    def finish_many(self, outcomes: list[tuple[OutboxMessage, Delivery]]) -> int:
        """Record several outcomes in one transaction; how many still had our lease."""
        if not outcomes:
            return 0
        outcomes = self._settled(outcomes)
        plain = [m.id for m, d in outcomes if d.plain]
        outcomes = [(m, d) for m, d in outcomes if not d.plain]
        with session_scope(self.engine) as session:
            kept = self._record_delivered(session, plain) if plain else 0
            if not outcomes:
                return kept
            ids = [m.id for m, _ in outcomes]
            rows = {
                r.id: r
                for r in session.exec(
                    select(OutboxMessage)
                    .where(OutboxMessage.id.in_(ids))
                    .with_for_update()
                    .execution_options(populate_existing=True)
                )
            }
            for message, delivery in outcomes:
                kept += self._record(session, rows.get(message.id), message, delivery)
            _record_answers(
                session,
                [r for r in rows.values() if r.status == OutboxStatus.DELIVERED and r.result],
                self.connector.name if self.connector is not None else "erp",
                self.log,
            )
        return kept

    def _settled(self, outcomes: list[tuple[OutboxMessage, Delivery]]) -> list[tuple[OutboxMessage, Delivery]]:
        """The ERP deliveries among ``outcomes`` made durable by the connector (``settle``)
        before they are recorded; when it fails, they count as transient failures."""
        pushed = [d.ok and m.target == TARGET_ERP for m, d in outcomes]
        if self.connector is None or not any(pushed):
            return outcomes
        try:
            self.connector.settle()
        except Exception as exc:  # ConnectorError or a connector bug: deliver again later
            self.log.warning("connector could not make the round's deliveries durable", error=_text(exc))
            failed = Delivery(ok=False, error=f"delivered, but not made durable: {_text(exc)}")
            return [(m, failed if was_pushed else d) for (m, d), was_pushed in zip(outcomes, pushed)]
        return outcomes

    def _record_delivered(self, session: Session, ids: list[int]) -> int:
        """Plain deliveries (no answer to keep, nothing to spawn) recorded in one statement,
        for the rows our lease still holds; how many."""
        t = OutboxMessage.__table__
        done = session.execute(
            sa.update(t)
            .where(t.c.id.in_(ids), t.c.leased_by == self.worker_id, t.c.status == OutboxStatus.PENDING.value)
            .values(
                status=OutboxStatus.DELIVERED.value,
                delivered_at=self.clock(),
                attempts=t.c.attempts + 1,
                lease_until=None,
                leased_by=None,
                result=None,
                last_error=None,
            )
            .returning(t.c.id)
        ).scalars()
        lost = set(ids) - set(done)
        for outbox_id in sorted(lost):
            self.log.warning("lease lost before the outcome was recorded", outbox_id=outbox_id)
        return len(ids) - len(lost)

    def _record(self, session: Session, row: OutboxMessage | None, message: OutboxMessage, delivery: Delivery) -> bool:
        now = self.clock()
        if row is None or row.leased_by != self.worker_id or row.status != OutboxStatus.PENDING:
            self.log.warning("lease lost before the outcome was recorded", outbox_id=message.id)
            return False
        row.lease_until = None
        row.leased_by = None
        if delivery.defer_s is not None:
            row.next_attempt_at = now + timedelta(seconds=delivery.defer_s)
            session.add(row)
            return True
        row.attempts += 1
        if delivery.ok:
            row.status = OutboxStatus.DELIVERED
            row.delivered_at = now
            row.result = delivery.result
            row.last_error = None
            session.add_all(delivery.spawn or [])
        elif delivery.permanent or self.policy.exhausted(row.attempts):
            row.status = OutboxStatus.DEAD
            row.last_error = (delivery.error or "")[:4000]
            self.log.error("dead letter", outbox_id=row.id, kind=row.kind, ref=row.aggregate_id, error=row.last_error)
        else:
            row.next_attempt_at = now + timedelta(seconds=self.policy.delay(row.attempts))
            row.last_error = (delivery.error or "")[:4000]
            self.log.warning(
                "delivery failed, will retry",
                outbox_id=row.id,
                kind=row.kind,
                ref=row.aggregate_id,
                attempts=row.attempts,
                retry_at=row.next_attempt_at.isoformat(),
                error=row.last_error,
            )
        session.add(row)
        return True

    def run_once(self) -> int:
        """Claim, deliver and finish one batch; the number of messages handled.

        Outcomes are recorded together (one transaction, not one per message) after the batch,
        or sooner when a third of the lease has gone by: a crash in between only means those
        messages are delivered again, which the ERP dedupes. When the ERP fails a delivery
        with a transient error, the rest of the batch for it is handed back untouched — the
        ERP is most likely down, and every message would only wait out its quick retries."""
        batch = self.claim()
        if not batch:
            return 0
        if self.connector is None:
            return self._run_batch(batch)
        self.connector.open_round()
        try:
            return self._run_batch(batch)
        finally:
            self.connector.close_round()

    def _run_batch(self, batch: list[OutboxMessage]) -> int:
        outcomes: list[tuple[OutboxMessage, Delivery]] = []
        released: list[OutboxMessage] = []
        blocked: set[str] = set()
        started = time.monotonic()
        for message in batch:
            if message.target == TARGET_SEND:
                outcomes.extend(self.deliver_sends(message))
                continue
            if message.target in blocked:
                released.append(message)
                continue
            with structlog.contextvars.bound_contextvars(outbox_id=message.id, ref=message.aggregate_id):
                delivery = self.deliver(message)
                if delivery.ok:
                    self.log.debug("delivered", kind=message.kind)
                elif not delivery.permanent:
                    blocked.add(message.target)
            outcomes.append((message, delivery))
            if time.monotonic() - started > self.settings.lease_s / 3:
                self.finish_many(outcomes)
                outcomes, started = [], time.monotonic()
        self.finish_many(outcomes)
        self.release(released)
        return len(batch) - len(released)

    def release(self, messages: list[OutboxMessage]) -> None:
        """Give claimed messages back without an attempt (they are tried in the next round)."""
        if not messages:
            return
        with session_scope(self.engine) as session:
            session.execute(
                sa.update(OutboxMessage)
                .where(OutboxMessage.id.in_([m.id for m in messages]), OutboxMessage.leased_by == self.worker_id)
                .values(lease_until=None, leased_by=None)
            )

    def drain(self, max_batches: int = 1_000_000) -> int:
        """Deliver until nothing is due (tests, `sync once`)."""
        total = 0
        for _ in range(max_batches):
            n = self.run_once()
            if n == 0:
                break
            total += n
        return total


def _text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _record_answers(session: Session, rows: list[OutboxMessage], connector_name: str, log) -> None:
    """Keep what the ERP answered (its order numbers, its customer codes) for a batch of
    delivered messages, through ``bridge.bindings`` as the inbox does: one query per kind to
    load the records, not one per message. An answer the bindings refuse (a customer code
    another customer holds) makes its message a dead letter with the reason; the rest of the
    batch is recorded."""
    refs = {
        r.aggregate_id: str(r.result["erp_ref"])[:64]
        for r in rows
        if r.kind == "order.create" and r.result.get("erp_ref")
    }
    upserts = [r for r in rows if r.kind == "customer.upsert" and r.result.get("erp_code")]
    if not refs and not upserts:
        return
    erp = Actor.erp(connector_name)
    with session.no_autoflush:
        orders = session.exec(select(Order).where(Order.order_no.in_(refs))).all() if refs else []
    bind_order_refs(session, [(order, refs[order.order_no]) for order in orders], erp)
    for row in upserts:
        customer = root_customer(session, int(row.aggregate_id))
        if customer is None:
            continue
        try:
            bind_customer_code(session, connector_name, customer, str(row.result["erp_code"])[:64])
        except CodeTaken as exc:
            row.status = OutboxStatus.DEAD
            row.last_error = exc.detail
            session.add(row)
            log.error("dead letter", outbox_id=row.id, kind=row.kind, ref=row.aggregate_id, error=row.last_error)


# --------------------------------------------------------------------------- operators


def retry_dead(session: Session, actor: Actor, ids: list[int] | None = None) -> int:
    """Re-queue dead letters (all, or the given ids) for delivery now, their attempts counted
    from zero again (E6: after the cause was fixed in the ERP or the config); admins only, written
    to the audit log with the ids re-queued. Returns how many were."""
    admins_only(actor)
    found = select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.DEAD).order_by(OutboxMessage.id)
    if ids:
        found = found.where(OutboxMessage.id.in_(ids))
    requeued = list(session.exec(found.with_for_update()).all())
    if not requeued:
        return 0
    session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(requeued), OutboxMessage.status == OutboxStatus.DEAD)
        .values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=utcnow(), lease_until=None, leased_by=None)
    )
    which = str(requeued[0]) if len(requeued) == 1 else "dead"
    audit(session, actor, "outbox.retry", "outbox", which, {"ids": requeued, "all_dead": not ids})
    return len(requeued)


def purge_delivered(session: Session, older_than: timedelta) -> int:
    """Delete delivered and superseded messages older than ``older_than``; dead letters stay."""
    cutoff = utcnow() - older_than
    stmt = sa.delete(OutboxMessage).where(
        OutboxMessage.status.in_([OutboxStatus.DELIVERED, OutboxStatus.SUPERSEDED]),
        OutboxMessage.created_at < cutoff,
    )
    return session.execute(stmt).rowcount


def in_flight(now: datetime | None = None) -> sa.ColumnElement[bool]:
    """SQL condition on ``OutboxMessage``: waiting, and a worker holds its lease — it is being
    delivered now (``Dispatcher.claim``)."""
    return sa.and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.lease_until > (now or utcnow()))


def delivery_state(message: OutboxMessage, now: datetime | None = None) -> str:
    """What to call where ``message`` stands: its status, or ``in_flight`` when a worker is
    delivering it now (the same rule as ``in_flight``)."""
    leased = message.lease_until is not None and message.lease_until > (now or utcnow())
    return "in_flight" if message.status == OutboxStatus.PENDING and leased else message.status.value


DELIVERY_STATES = ("pending", "in_flight", "dead", "delivered", "superseded")
"""The states a list of messages can be filtered by (``message_page``)."""


def message_page(
    session: Session, actor: Actor, *, state: str | None = None, kind: str | None = None, page: int = 1
) -> Page[OutboxMessage]:
    """One page of the outbox for the 同步 page, newest first (admins only): all messages, or
    those in ``state`` (an ``OutboxStatus`` value, or ``in_flight``: waiting ones a worker is
    delivering now) and/or of ``kind``. An unknown state is InvalidInput."""
    admins_only(actor)
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if state == "in_flight":
        stmt = stmt.where(in_flight())
    elif state:
        try:
            stmt = stmt.where(OutboxMessage.status == OutboxStatus(state))
        except ValueError:
            raise InvalidInput("没有这种状态", f"unknown outbox state {state!r}", field="status") from None
    if kind:
        stmt = stmt.where(OutboxMessage.kind == kind)
    return paginate(session, stmt, page)


def message_for(session: Session, actor: Actor, message_id: int) -> OutboxMessage:
    """Outbox message ``message_id`` (admins only); NotFound when there is none."""
    admins_only(actor)
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound("消息不存在", f"outbox message {message_id} does not exist")
    return message


def message_kinds(session: Session, actor: Actor) -> list[str]:
    """The kinds of messages the outbox holds, for a filter (admins only)."""
    admins_only(actor)
    return list(session.exec(select(OutboxMessage.kind).distinct().order_by(OutboxMessage.kind)).all())


def list_messages(
    session: Session, *, status: OutboxStatus | None = None, ref: str | None = None, limit: int = 50
) -> list[OutboxMessage]:
    """Outbox messages, newest first, at most ``limit``: all, or only those in ``status``
    and/or about ``ref`` (an order number or a customer id)."""
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(OutboxMessage.status == status)
    if ref:
        stmt = stmt.where(OutboxMessage.aggregate_id == ref)
    return list(session.exec(stmt).all())


@dataclass(frozen=True)
class Preview:
    """What delivering one message would hand over and send (``preview_message``)."""

    message: OutboxMessage
    action: str
    """The connector operation, "notify" (a notice's cause) or "send" (a routed notice: its
    document holds the channel, the address and the exact text)."""
    document: dict[str, Any]
    """The document after every plugin's ``adjust``: what the connector (or notifier) gets."""
    sent: list[Rendered] | None
    """What the connector would send (``Connector.render``): None when it cannot say (a connector
    without ``render``, a notice) — then the document is what to look at."""
    problem: str | None = None
    """Why it would not be sent: the connector's error (permanent: a dead letter at delivery;
    transient: it cannot render now, e.g. the WSDL is out of reach)."""


def preview_message(
    session: Session,
    message_id: int,
    *,
    actor: Actor,
    connector: Connector,
    adjust: Callable[[str, dict, str], dict] | None = None,
) -> Preview:
    """What delivering message ``message_id`` would hand over and send, without sending
    anything (E8): its action (a connector operation, or "notify"), the document after every
    plugin's ``adjust`` — as ``Dispatcher.deliver`` prepares it — and what ``connector``
    renders of it (the SQL with its values, the file, the envelope). Admins only. A message
    that does not exist is a LookupError."""
    admins_only(actor)
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise LookupError(f"outbox message {message_id} does not exist")
    action, doc = prepared_action(message, adjust, connector.name)
    if action in ("notify", "send", "unknown"):
        return Preview(message, action, doc, None)
    try:
        sent = connector.render(action, doc)
    except PermanentError as exc:
        return Preview(message, action, doc, None, f"permanent error (a dead letter at delivery): {_text(exc)}")
    except Exception as exc:  # transient, or a connector bug: the delivery would be retried
        return Preview(message, action, doc, None, f"cannot render it now ({type(exc).__name__}): {_text(exc)}")
    return Preview(message, action, doc, sent)
