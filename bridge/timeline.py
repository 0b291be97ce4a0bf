"""An order's timeline (``OrderEvent``): one line per thing that happened to it — placed, a
status change, a release, a shipment, the ERP's acceptance, an ERP move that was ignored.

It sits below the state machine and the outbox, which both write to it: the state machine
for the changes it decides, the dispatcher and the inbox for what the ERP answered.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bridge.actors import Actor
from bridge.db import insert_row, insert_rows
from bridge.models import Order, OrderEvent, OrderStatus
from bridge.types import utcnow


def line(
    order: Order,
    actor: Actor,
    action: str,
    *,
    from_status: OrderStatus | None = None,
    to_status: OrderStatus | None = None,
    note: str | None = None,
    data: dict | None = None,
    at: datetime | None = None,
) -> dict:
    """One timeline line for ``order``, to be written by ``record_all``."""
    return dict(
        order_id=order.id,
        at=at or utcnow(),
        actor_kind=actor.kind,
        actor_id=actor.id,
        action=action,
        from_status=from_status,
        to_status=to_status,
        note=note,
        data=data,
    )


def record(session: Session, order: Order, actor: Actor, action: str, **fields) -> OrderEvent:
    """Add a line to the order's timeline (inserted at once, in the caller's transaction);
    ``fields`` as ``line`` takes them."""
    return insert_row(session, OrderEvent, **line(order, actor, action, **fields))


def record_all(session: Session, lines: list[dict]) -> list[OrderEvent]:
    """Add several ``line``s (of any orders) with one statement, in the caller's transaction."""
    return insert_rows(session, OrderEvent, lines)
