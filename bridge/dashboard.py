"""The 工作台 (dashboard) of the admin pages: what a staff user should look at now.

A salesperson sees the counts of their own customers' orders (the one scope rule,
``bridge.scope.customers_of``); an admin sees every order and, besides, the customers waiting for a
salesperson and the state of the sync with the ERP (outbox and inbox: ``bridge.syncstate``; the
connector's health, which may be slow, is the page's own fragment: ``bridge.diagnose``).
Functions take the caller's ``Session`` and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from bridge.actors import Actor, ActorKind
from bridge.customers import count_unassigned
from bridge.models import Customer, InboxStatus, Order, OutboxStatus
from bridge.scope import customers_of
from bridge.syncstate import LastEvent, sync_state
from bridge.statemachine import awaiting_payment
from bridge.types import local_midnight, utcnow


@dataclass(frozen=True)
class SyncCounts:
    """Messages and events that wait or need a person (the figures ``check`` and ``/metrics``
    report, O3: ``bridge.syncstate``), the age of the oldest waiting message and the last event
    the ERP sent."""

    outbox_pending: int
    outbox_dead: int
    inbox_parked: int
    inbox_quarantined: int
    inbox_dead: int
    oldest_pending_age: timedelta | None = None
    """How long the oldest message still waiting for delivery has waited (None: none waits)."""
    last_event: LastEvent | None = None
    """The event received last from the ERP (None: none yet)."""


@dataclass(frozen=True)
class Dashboard:
    awaiting_payment: int
    """Orders of the caller's customers waiting for a payment confirmation (A6)."""
    today_orders: int
    """Orders of the caller's customers placed today (local time of ``[bridge] timezone``)."""
    sync: SyncCounts | None
    """For admins only."""
    today: date | None = None
    """Today in ``[bridge] timezone``: the day ``today_orders`` counts."""
    unassigned_customers: int | None = None
    """Customers nobody follows, waiting for an admin to give them a salesperson (A10); admins only."""


def sync_counts(session: Session, now: datetime | None = None) -> SyncCounts:
    state = sync_state(session)
    return SyncCounts(
        outbox_pending=state.messages(OutboxStatus.PENDING),
        outbox_dead=state.messages(OutboxStatus.DEAD),
        inbox_parked=state.events(InboxStatus.PARKED),
        inbox_quarantined=state.events(InboxStatus.QUARANTINED),
        inbox_dead=state.events(InboxStatus.DEAD),
        oldest_pending_age=state.oldest_pending_age(now),
        last_event=state.last_event,
    )


def start_of_day(tz: str, now: datetime | None = None) -> datetime:
    """Local midnight of ``now``'s day in ``tz``, as UTC."""
    return local_midnight((now or utcnow()).astimezone(ZoneInfo(tz)).date(), tz)


def dashboard(session: Session, actor: Actor, *, tz: str, now: datetime | None = None) -> Dashboard:
    """The dashboard of ``actor`` (a staff user)."""

    def count(*where) -> int:
        stmt = select(sa.func.count()).select_from(Order).join(Customer, Customer.id == Order.customer_id)
        return session.exec(stmt.where(customers_of(actor), *where)).one()

    since = start_of_day(tz, now)
    admin = actor.kind == ActorKind.ADMIN
    return Dashboard(
        awaiting_payment=count(awaiting_payment()),
        today_orders=count(Order.created_at >= since),
        today=since.astimezone(ZoneInfo(tz)).date(),
        sync=sync_counts(session, now) if admin else None,
        unassigned_customers=count_unassigned(session) if admin else None,
    )
