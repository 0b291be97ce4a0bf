"""The order state machine (C6, C9, C13, A1, E3, E5): every transition, allowed and refused, per actor."""

from __future__ import annotations

import itertools

import pytest
from sqlmodel import select

from bridge.actors import Actor
from bridge.errors import Forbidden, TransitionRefused
from bridge.models import AuditLog, Order, OrderEvent, OrderStatus, OutboxMessage
from bridge.labels import STATUS_LABELS
from bridge.statemachine import ACTIONS, actions, apply_erp_status, may, release, transition
from tests.conftest import count

S = OrderStatus

# The table as the business describes it, written out independently of bridge.statemachine.
# (from, to): actors allowed. Customer and sales act on their own customers' orders; a customer
# may cancel only an order not yet released to production.
ALLOWED = {
    ("pending", "in_production"): {"erp", "admin"},
    ("pending", "awaiting_shipment"): {"erp", "admin"},
    ("pending", "shipped"): {"erp"},
    ("pending", "cancelled"): {"customer", "sales", "admin", "erp"},
    ("in_production", "awaiting_shipment"): {"erp", "admin"},
    ("in_production", "shipped"): {"erp"},
    ("in_production", "cancelled"): {"sales", "admin", "erp"},
    ("awaiting_shipment", "in_production"): {"erp"},
    ("awaiting_shipment", "shipped"): {"erp"},
    ("awaiting_shipment", "cancelled"): {"customer", "sales", "admin", "erp"},
    ("shipped", "completed"): {"customer", "admin", "erp", "system"},  # system: orders.auto_complete_days
}
ACTOR_KINDS = ["customer", "sales", "admin", "erp", "system"]
CASES = [
    (frm, to, who) for frm, to in itertools.product([s.value for s in S], repeat=2) if frm != to for who in ACTOR_KINDS
]


@pytest.fixture
def world(session, make):
    sales = make.staff()
    customer = make.customer(salesperson_id=sales.id)
    session.flush()
    return {"sales": sales, "customer": customer}


def _order(session, customer, status, *, released=False, n=[0]):
    n[0] += 1
    order = Order(
        order_no=f"T-{n[0]:05d}",
        customer_id=customer.id,
        status=status,
        released=released,
        idempotency_key=f"key-{n[0]:08d}",
        request_hash="x",
    )
    session.add(order)
    session.flush()
    return order


def _actor(kind, world):
    return {
        "customer": Actor.customer(world["customer"].id, 1),
        "sales": Actor.sales(world["sales"].id),
        "admin": Actor.admin(1),
        "erp": Actor.erp("filedrop"),
        "system": Actor.system(),
    }[kind]


@pytest.mark.parametrize("frm,to,who", CASES, ids=[f"{f}->{t}-by-{w}" for f, t, w in CASES])
def test_c6_transition_table_per_actor(session, world, frm, to, who):
    order = _order(session, world["customer"], S(frm))
    expected = who in ALLOWED.get((frm, to), set())
    if expected:
        transition(session, order, S(to), _actor(who, world))
        assert order.status == S(to)
        events = session.exec(select(OrderEvent).where(OrderEvent.order_id == order.id)).all()
        assert [(e.from_status, e.to_status, e.actor_kind.value) for e in events] == [(S(frm), S(to), who)]
    else:
        with pytest.raises(TransitionRefused) as refused:
            transition(session, order, S(to), _actor(who, world))
        assert order.status == S(frm)
        assert refused.value.message  # a Chinese reason the UI can show
        assert count(session, OrderEvent, OrderEvent.order_id == order.id) == 0


def test_c13_customer_cannot_cancel_a_released_order(session, world):
    order = _order(session, world["customer"], S.PENDING, released=True)
    with pytest.raises(TransitionRefused, match="released"):
        transition(session, order, S.CANCELLED, _actor("customer", world))
    assert order.status == S.PENDING


def test_c13_customer_cannot_touch_another_customers_order(session, world, make):
    other = make.customer()
    order = _order(session, other, S.SHIPPED)
    with pytest.raises(TransitionRefused, match="another customer"):
        transition(session, order, S.COMPLETED, _actor("customer", world))


def test_a6_salesperson_cannot_cancel_another_salespersons_order(session, world, make):
    stranger = make.staff()
    order = _order(session, world["customer"], S.PENDING)
    with pytest.raises(TransitionRefused):
        transition(session, order, S.CANCELLED, Actor.sales(stranger.id))


def test_terminal_states_never_change(session, world):
    for final in (S.COMPLETED, S.CANCELLED):
        order = _order(session, world["customer"], final)
        for to in S:
            if to != final:
                with pytest.raises(TransitionRefused):
                    transition(session, order, to, Actor.admin(1))


def _outbox(session, order):
    return [
        (m.target, m.kind)
        for m in session.exec(
            select(OutboxMessage).where(OutboxMessage.aggregate_id == order.order_no).order_by(OutboxMessage.id)
        )
    ]


def test_e5_customer_cancel_and_receipt_tell_the_erp(session, world):
    cancelled = _order(session, world["customer"], S.PENDING)
    transition(session, cancelled, S.CANCELLED, _actor("customer", world))
    # the ERP is told, and the salesperson hears of it (issue #15); the customer, who did it, not
    assert _outbox(session, cancelled) == [("erp", "order.cancel"), ("notify", "notify.customer_cancelled")]
    received = _order(session, world["customer"], S.SHIPPED)
    transition(session, received, S.COMPLETED, _actor("customer", world))
    assert _outbox(session, received) == [("erp", "order.complete")]
    payload = session.exec(select(OutboxMessage).where(OutboxMessage.aggregate_id == received.order_no)).one().payload
    assert payload["command"] == "complete" and payload["order_no"] == received.order_no


def test_e3_erp_moves_send_nothing_back_to_the_erp(session, world):
    order = _order(session, world["customer"], S.AWAITING_SHIPMENT)
    transition(session, order, S.SHIPPED, Actor.erp("filedrop"))
    transition(session, order, S.COMPLETED, Actor.erp("filedrop"))
    assert _outbox(session, order) == []


def test_n1_a_cancellation_by_someone_else_queues_a_cancellation_notice(session, world):
    by_sales = _order(session, world["customer"], S.PENDING)
    transition(session, by_sales, S.CANCELLED, _actor("sales", world))
    assert _outbox(session, by_sales) == [("erp", "order.cancel"), ("notify", "notify.cancelled")]
    by_erp = _order(session, world["customer"], S.PENDING)
    transition(session, by_erp, S.CANCELLED, _actor("erp", world))
    assert _outbox(session, by_erp) == [("notify", "notify.cancelled")]


def test_e3_backwards_erp_status_is_recorded_and_ignored(session, world):
    order = _order(session, world["customer"], S.SHIPPED)
    event = apply_erp_status(session, order, S.IN_PRODUCTION, Actor.erp("filedrop"))
    assert order.status == S.SHIPPED
    assert event.action == "ignored" and event.to_status == S.IN_PRODUCTION
    assert apply_erp_status(session, order, S.SHIPPED, Actor.erp("filedrop")) is None


def test_e3_erp_may_correct_awaiting_shipment_to_production(session, world):
    order = _order(session, world["customer"], S.AWAITING_SHIPMENT)
    apply_erp_status(session, order, S.IN_PRODUCTION, Actor.erp("filedrop"))
    assert order.status == S.IN_PRODUCTION


def test_e3_erp_cannot_jump_to_completed_without_shipping(session, world):
    order = _order(session, world["customer"], S.PENDING)
    with pytest.raises(TransitionRefused):
        apply_erp_status(session, order, S.COMPLETED, Actor.erp("filedrop"))


def test_a1_own_salesperson_releases_and_the_erp_is_told_once(session, world):
    order = _order(session, world["customer"], S.AWAITING_SHIPMENT)
    release(session, order, Actor.sales(world["sales"].id))
    assert order.released and order.released_at is not None
    assert order.status == S.AWAITING_SHIPMENT  # release is a fact, not a status
    assert release(session, order, Actor.sales(world["sales"].id)) is None
    assert _outbox(session, order) == [("erp", "order.release")]


def test_a1_release_confirmed_in_the_erp_is_recorded_not_echoed(session, world):
    order = _order(session, world["customer"], S.PENDING)
    release(session, order, Actor.erp("filedrop"))
    assert order.released
    assert _outbox(session, order) == []
    assert session.exec(select(OrderEvent.action).where(OrderEvent.order_id == order.id)).all() == ["release"]


@pytest.mark.parametrize("who", ["customer", "system"])
def test_a1_only_staff_or_erp_may_release(session, world, who):
    order = _order(session, world["customer"], S.PENDING)
    with pytest.raises(Forbidden):
        release(session, order, _actor(who, world))
    assert not order.released


def test_a1_other_salesperson_may_not_release(session, world, make):
    order = _order(session, world["customer"], S.PENDING)
    with pytest.raises(Forbidden):
        release(session, order, Actor.sales(make.staff().id))


@pytest.mark.parametrize("status", [S.SHIPPED, S.COMPLETED, S.CANCELLED])
def test_a1_release_refused_once_shipped_or_final(session, world, status):
    order = _order(session, world["customer"], status)
    with pytest.raises(TransitionRefused):
        release(session, order, Actor.admin(1))


def test_c6_every_status_has_a_chinese_label():
    assert STATUS_LABELS == {
        S.PENDING: "等待处理",
        S.IN_PRODUCTION: "生产中",
        S.AWAITING_SHIPMENT: "等待发货",
        S.SHIPPED: "已发货",
        S.COMPLETED: "已完成",
        S.CANCELLED: "已取消",
    }


# --------------------------------------------------------------------------- what may be done now

PEOPLE = ["customer", "other_customer", "sales", "other_sales", "admin", "erp", "system"]
BUTTON_CASES = [
    (status, released, who, action)
    for status in S
    for released in (False, True)
    for who in PEOPLE
    for action in ACTIONS
]


def _person(kind, world, make):
    if kind == "other_customer":
        return Actor.customer(make.customer().id, 2)
    if kind == "other_sales":
        return Actor.sales(make.staff().id)
    return _actor(kind, world)


@pytest.mark.parametrize(
    "status,released,who,action",
    BUTTON_CASES,
    ids=[f"{s.value}-{'released' if r else 'unreleased'}-{w}-{a}" for s, r, w, a in BUTTON_CASES],
)
def test_c13_c9_a1_may_says_yes_exactly_when_doing_it_works(session, world, make, status, released, who, action):
    """C13 (cancel), C9 (confirm receipt), A1 (release): the state machine's answer to "may this
    person do this now" (the buttons a front end shows) is the one its transitions give: None
    exactly when the action goes through, else the reason it is refused."""
    order = _order(session, world["customer"], status, released=released)
    actor = _person(who, world, make)
    reason = may(order, actor, action)
    try:
        if action == "release":
            done = release(session, order, actor) is not None
        else:
            transition(session, order, S.CANCELLED if action == "cancel" else S.COMPLETED, actor)
            done = True
    except (TransitionRefused, Forbidden):
        done = False
    assert (reason is None) == done, reason
    assert reason is None or reason.strip()


def test_c13_a6_buttons_of_the_customer_and_of_salespeople(session, world, make):
    """C13: a customer may cancel an unreleased pending order and confirm receipt of a shipped
    one; A6: their salesperson may cancel and release an unreleased order, another salesperson
    nothing."""
    customer, sales = _actor("customer", world), _actor("sales", world)
    pending = _order(session, world["customer"], S.PENDING)
    shipped = _order(session, world["customer"], S.SHIPPED, released=True)
    assert actions(pending, customer) == {"cancel"}
    assert actions(shipped, customer) == {"confirm_receipt"}
    assert actions(pending, sales) == {"cancel", "release"}
    assert actions(shipped, sales) == frozenset()
    assert actions(pending, Actor.sales(make.staff().id)) == frozenset()
    assert "already released" in may(shipped, sales, "release")
    with pytest.raises(ValueError):
        may(pending, customer, "teleport")


def test_a12_staff_release_and_cancel_are_in_the_audit_log_with_who_and_what(session, world):
    """A12: a salesperson's release and an admin's cancel (with its reason) each leave an audit
    row naming the actor, the order and the change; the ERP's and the customer's moves do not
    (they are on the order's timeline)."""
    sales = Actor.sales(world["sales"].id)
    order = _order(session, world["customer"], S.PENDING)
    release(session, order, sales)
    transition(session, order, S.CANCELLED, Actor.admin(7), note="客户改单")
    rows = session.exec(select(AuditLog).order_by(AuditLog.id)).all()
    assert [(r.actor_kind.value, r.actor_id, r.action, r.entity, r.entity_id, r.detail) for r in rows] == [
        ("sales", str(world["sales"].id), "order.release", "order", order.order_no, {"status": "pending"}),
        (
            "admin",
            "7",
            "order.cancel",
            "order",
            order.order_no,
            {"from": "pending", "to": "cancelled", "note": "客户改单"},
        ),
    ]
    other = _order(session, world["customer"], S.PENDING)
    transition(session, other, S.CANCELLED, _actor("customer", world))
    erp = _order(session, world["customer"], S.PENDING)
    release(session, erp, Actor.erp("filedrop"))
    apply_erp_status(session, erp, S.IN_PRODUCTION, Actor.erp("filedrop"))
    assert count(session, AuditLog) == 2
