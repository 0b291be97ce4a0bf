"""Shipped orders completed automatically (C15, issue #13; the ERP told as for C9): ``orders.auto_complete_days`` after
the latest shipment, by the system actor through the state machine, on the timeline, and the ERP
gets the same ``complete`` command as for a customer's confirmation of receipt."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bridge import autocomplete
from bridge.actors import Actor
from bridge.config import Config, OrdersSection
from bridge.models import ActorKind, Order, OrderEvent, OrderStatus, OutboxMessage, Shipment
from bridge.outbox import Dispatcher
from bridge.statemachine import transition
from bridge.types import utcnow
from bridge.worker import Worker
from tests.doubles.memory import MemoryConnector
from tests.sync_helpers import make_shop, place


@pytest.fixture
def shop(engine):
    return make_shop(engine, customers=1)


@pytest.fixture
def erp():
    return MemoryConnector()


def shipped(engine, shop, days_ago: float, *, shipment_days_ago: float | None = None) -> str:
    """An order placed, moved to shipped ``days_ago`` days ago by the ERP, with a shipment
    ``shipment_days_ago`` days ago (none when None)."""
    order = place(engine, shop, shop["customers"][0])
    now = utcnow()
    with Session(engine) as s:
        row = s.get(Order, order.id)
        transition(s, row, OrderStatus.SHIPPED, Actor.erp("memory"), at=now - timedelta(days=days_ago))
        if shipment_days_ago is not None:
            s.add(
                Shipment(
                    order_id=order.id,
                    erp_shipment_id=f"S-{order.order_no}",
                    courier="顺丰速运",
                    tracking_no="SF1",
                    shipped_at=now - timedelta(days=shipment_days_ago),
                )
            )
        s.commit()
    return order.order_no


def status(engine, order_no: str) -> OrderStatus:
    with Session(engine) as s:
        return s.exec(select(Order.status).where(Order.order_no == order_no)).one()


def complete_commands(engine, order_no: str) -> int:
    with Session(engine) as s:
        return len(
            s.exec(
                select(OutboxMessage).where(
                    OutboxMessage.kind == "order.complete", OutboxMessage.aggregate_id == order_no
                )
            ).all()
        )


def test_c15_auto_complete_days_defaults_to_15_and_0_turns_it_off():
    assert OrdersSection().auto_complete_days == 15
    assert OrdersSection(auto_complete_days=0).auto_complete_days == 0
    with pytest.raises(ValueError):
        OrdersSection(auto_complete_days=-1)


def test_c15_an_order_shipped_16_days_ago_completes_one_shipped_14_days_ago_does_not(engine, shop, erp):
    old = shipped(engine, shop, 16, shipment_days_ago=16)
    recent = shipped(engine, shop, 14, shipment_days_ago=14)
    done = autocomplete.run(engine, 15)
    assert [c.order_no for c in done] == [old]
    assert status(engine, old) == OrderStatus.COMPLETED and status(engine, recent) == OrderStatus.SHIPPED
    with Session(engine) as s:
        order = s.exec(select(Order).where(Order.order_no == old)).one()
        last = s.exec(select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id.desc())).first()
    assert (last.actor_kind, last.action, last.from_status, last.to_status) == (
        ActorKind.SYSTEM,
        "status",
        OrderStatus.SHIPPED,
        OrderStatus.COMPLETED,
    )
    assert last.data["auto_complete_days"] == 15
    # The ERP hears of it exactly like a customer's confirmation: one ``complete`` command.
    Dispatcher(engine, erp, settings=Config().outbox).drain()
    assert [c for c in erp.commands if c[0] in (old, recent)] == [(old, "complete")]


def test_c15_a_completed_order_is_not_touched_twice(engine, shop):
    old = shipped(engine, shop, 20, shipment_days_ago=20)
    assert [c.order_no for c in autocomplete.run(engine, 15)] == [old]
    assert autocomplete.run(engine, 15) == []
    assert complete_commands(engine, old) == 1
    with Session(engine) as s:
        order = s.exec(select(Order).where(Order.order_no == old)).one()
        moves = s.exec(
            select(OrderEvent).where(OrderEvent.order_id == order.id, OrderEvent.to_status == OrderStatus.COMPLETED)
        ).all()
    assert len(moves) == 1


def test_c15_shipped_at_is_the_latest_shipment_else_the_move_to_shipped(engine, shop):
    """Marked shipped 20 days ago but its last parcel left 10 days ago: not yet. No shipment
    recorded: the move to shipped counts."""
    late_parcel = shipped(engine, shop, 20, shipment_days_ago=10)
    no_parcel = shipped(engine, shop, 16)
    assert [c.order_no for c in autocomplete.run(engine, 15)] == [no_parcel]
    assert status(engine, late_parcel) == OrderStatus.SHIPPED
    assert [c.order_no for c in autocomplete.run(engine, 9)] == [late_parcel]


def test_c15_the_customers_own_confirmation_or_0_days_leave_nothing_to_do(engine, shop):
    confirmed = shipped(engine, shop, 30, shipment_days_ago=30)
    with Session(engine) as s:
        order = s.exec(select(Order).where(Order.order_no == confirmed)).one()
        transition(s, order, OrderStatus.COMPLETED, Actor.customer(order.customer_id))
        s.commit()
    other = shipped(engine, shop, 30, shipment_days_ago=30)
    assert autocomplete.run(engine, 0) == []
    assert status(engine, other) == OrderStatus.SHIPPED
    assert [c.order_no for c in autocomplete.run(engine, 15)] == [other]
    assert complete_commands(engine, confirmed) == 1


def test_c15_the_worker_completes_due_orders_and_wakes_the_dispatcher(engine, shop, erp):
    old = shipped(engine, shop, 16, shipment_days_ago=16)
    config = Config.model_validate({}, context={"skip_existence_checks": True})
    worker = Worker(config, engine, erp, poll_inbox=False)

    class OneRound:
        def __init__(self):
            self.waits = []

        def is_set(self):
            return bool(self.waits)

        def wait(self, seconds):
            self.waits.append(seconds)
            return True

    worker.stop_event = OneRound()
    worker._auto_complete_loop()
    assert status(engine, old) == OrderStatus.COMPLETED
    assert worker.work_event.is_set() and worker.stop_event.waits == [worker.auto_complete_every_s]
    assert worker.auto_complete_every_s == 3600.0
