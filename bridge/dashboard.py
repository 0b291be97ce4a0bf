"""The 工作台 (dashboard) of the admin pages: what a staff user should look at now.

A salesperson sees the counts of their own customers' orders (the one scope rule,
``bridge.scope.customers_of``); an admin sees every order and, besides, the state of the sync
with the ERP (outbox and inbox). Functions take the caller's ``Session`` and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from bridge.actors import Actor, ActorKind
from bridge.models import Customer, InboxEvent, InboxStatus, Order, OutboxMessage, OutboxStatus
from bridge.scope import customers_of
from bridge.statemachine import awaiting_payment
from bridge.types import local_midnight, utcnow


@dataclass(frozen=True)
class SyncCounts:
    """Messages and events that wait or need a person (the same states ``check`` reports, O3)."""

    outbox_pending: int
    outbox_dead: int
    inbox_parked: int
    inbox_quarantined: int
    inbox_dead: int


@dataclass(frozen=True)
class Dashboard:
    awaiting_payment: int
    """Orders of the caller's customers waiting for a payment confirmation (A6)."""
    today_orders: int
    """Orders of the caller's customers placed today (local time of ``[bridge] timezone``)."""
    sync: SyncCounts | None
    """For admins only."""


def sync_counts(session: Session) -> SyncCounts:
    outbox = dict(session.exec(select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)).all())
    inbox = dict(session.exec(select(InboxEvent.status, sa.func.count()).group_by(InboxEvent.status)).all())
    return SyncCounts(
        outbox_pending=outbox.get(OutboxStatus.PENDING, 0),
        outbox_dead=outbox.get(OutboxStatus.DEAD, 0),
        inbox_parked=inbox.get(InboxStatus.PARKED, 0),
        inbox_quarantined=inbox.get(InboxStatus.QUARANTINED, 0),
        inbox_dead=inbox.get(InboxStatus.DEAD, 0),
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
    return Dashboard(
        awaiting_payment=count(awaiting_payment()),
        today_orders=count(Order.created_at >= since),
        sync=sync_counts(session) if actor.kind == ActorKind.ADMIN else None,
    )
