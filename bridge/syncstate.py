"""The state of the sync with the ERP in figures: how many outbox messages and inbox events are in
each status, how long the oldest waiting message has waited, and the last event the ERP sent;
and who may look at it (``admins_only``).

One set of queries that the 工作台 (``bridge.dashboard``), ``/metrics`` (``webapi.ops``) and
``jht-bridge check`` (``bridge.diagnose``) all read (O3), so that they never disagree on what
"waiting" or "dead" counts. Functions take the caller's ``Session`` and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from bridge.actors import Actor
from bridge.errors import Forbidden
from bridge.models import ActorKind, InboxEvent, InboxStatus, OutboxMessage, OutboxStatus
from bridge.types import utcnow


def admins_only(actor: Actor) -> None:
    """The sync with the ERP (its messages, its events, their documents) is the admins' business:
    Forbidden for anyone else. Asked by every service behind the 同步 page."""
    if actor.kind != ActorKind.ADMIN:
        raise Forbidden(
            "只有管理员可以查看和处理 ERP 同步", f"{actor} may not see or act on the ERP sync (admins only)"
        )


@dataclass(frozen=True)
class LastEvent:
    """The event received last from the ERP."""

    received_at: datetime
    kind: str


@dataclass(frozen=True)
class SyncState:
    outbox: dict[tuple[str, OutboxStatus], int]
    """Outbox messages by (target, status): ``("erp", DEAD) → 2``; missing keys are 0."""
    inbox: dict[InboxStatus, int]
    """Inbox events by status; missing keys are 0."""
    oldest_pending_at: datetime | None
    """When the oldest message still waiting for delivery (any target) was written."""
    last_event: LastEvent | None
    """The event received last from the ERP (None: none yet)."""

    def messages(self, status: OutboxStatus, target: str | None = None) -> int:
        """Outbox messages in ``status`` (to ``target`` only, if given)."""
        return sum(n for (t, s), n in self.outbox.items() if s == status and target in (None, t))

    def messages_by_target(self, status: OutboxStatus) -> dict[str, int]:
        """``{target: count}`` of the messages in ``status`` (targets with none left out)."""
        return {t: n for (t, s), n in self.outbox.items() if s == status and n}

    def events(self, status: InboxStatus) -> int:
        return self.inbox.get(status, 0)

    def oldest_pending_age(self, now: datetime | None = None) -> timedelta | None:
        """How long the oldest waiting message has waited (None: nothing waits)."""
        if self.oldest_pending_at is None:
            return None
        return max(timedelta(0), (now or utcnow()) - self.oldest_pending_at)

    def last_event_age(self, now: datetime | None = None) -> timedelta | None:
        if self.last_event is None:
            return None
        return max(timedelta(0), (now or utcnow()) - self.last_event.received_at)


def sync_state(session: Session) -> SyncState:
    """The figures of ``SyncState``, read in four small queries."""
    outbox = {
        (target, OutboxStatus(status)): n
        for target, status, n in session.exec(
            select(OutboxMessage.target, OutboxMessage.status, sa.func.count()).group_by(
                OutboxMessage.target, OutboxMessage.status
            )
        ).all()
    }
    inbox = {
        InboxStatus(status): n
        for status, n in session.exec(select(InboxEvent.status, sa.func.count()).group_by(InboxEvent.status)).all()
    }
    oldest = session.exec(
        select(sa.func.min(OutboxMessage.created_at)).where(OutboxMessage.status == OutboxStatus.PENDING)
    ).one()
    last = session.exec(
        select(InboxEvent.received_at, InboxEvent.kind)
        .order_by(InboxEvent.received_at.desc(), InboxEvent.id.desc())
        .limit(1)
    ).first()
    return SyncState(
        outbox=outbox,
        inbox=inbox,
        oldest_pending_at=_aware(oldest),
        last_event=LastEvent(_aware(last[0]), last[1]) if last else None,
    )


def _aware(value: datetime | str | None) -> datetime | None:
    # An aggregate (min) comes back from SQLite as text and without the column's UTC type.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
