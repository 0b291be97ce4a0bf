"""Shipped orders completed automatically (C15), as the big shops do: an order shipped
``orders.auto_complete_days`` days ago (default 15; 0 turns it off) whose customer never
confirmed receipt is completed by the system actor.

It goes through the state machine like the customer's own confirmation: the timeline shows the
move (by ``system``) and the ERP gets the same ``complete`` command. "Shipped at" is the order's
latest shipment (the last parcel), else the time it moved to shipped. The worker runs it
periodically and ``jht-bridge sync once`` / ``sync auto-complete`` by hand; on PostgreSQL the
orders are taken ``FOR UPDATE SKIP LOCKED``, so several workers never complete one twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bridge import statemachine
from bridge.actors import Actor
from bridge.db import session_scope
from bridge.models import Order, OrderEvent, OrderStatus, Shipment
from bridge.types import utcnow

ACTOR = Actor.system("auto_complete")
BATCH = 100


@dataclass(frozen=True)
class Completed:
    order_no: str
    shipped_at: datetime


def shipped_at() -> sa.ColumnElement:
    """SQL expression on ``Order``: when it was shipped — its latest shipment, else its latest
    move to shipped, else its last update."""
    last_shipment = select(sa.func.max(Shipment.shipped_at)).where(Shipment.order_id == Order.id).scalar_subquery()
    last_move = (
        select(sa.func.max(OrderEvent.at))
        .where(
            OrderEvent.order_id == Order.id, OrderEvent.to_status == OrderStatus.SHIPPED, OrderEvent.action == "status"
        )
        .scalar_subquery()
    )
    return sa.func.coalesce(last_shipment, last_move, Order.updated_at).label("shipped_at")


def complete_due(session: Session, days: int, *, now: datetime | None = None, limit: int = BATCH) -> list[Completed]:
    """Complete up to ``limit`` shipped orders shipped at least ``days`` days before ``now``, oldest
    first, each by the system actor through ``statemachine.transition`` (timeline, ERP command).
    ``days`` 0 completes nothing. Does not commit."""
    if days <= 0:
        return []
    cutoff = (now or utcnow()) - timedelta(days=days)
    when = shipped_at()
    rows = session.exec(
        select(Order, when)
        .where(Order.status == OrderStatus.SHIPPED, when <= cutoff)
        .order_by(when, Order.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Order)
    ).all()
    done = []
    for order, at in rows:
        statemachine.transition(
            session,
            order,
            OrderStatus.COMPLETED,
            ACTOR,
            note=f"completed automatically {days} days after shipment",
            data={"auto_complete_days": days, "shipped_at": at.isoformat()},
        )
        done.append(Completed(order.order_no, at))
    session.flush()
    return done


def run(engine: Engine, days: int, *, now: datetime | None = None) -> list[Completed]:
    """Complete every order that is due, a batch per transaction (the worker, the CLI)."""
    done: list[Completed] = []
    while True:
        with session_scope(engine) as session:
            batch = complete_due(session, days, now=now)
        done += batch
        if len(batch) < BATCH:
            return done
