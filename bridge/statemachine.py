"""The order state machine: every change of an order's status or release, whoever asks.

Statuses (code → what the customer reads): pending 等待处理, in_production 生产中,
awaiting_shipment 等待发货, shipped 已发货, completed 已完成, cancelled 已取消.

``TRANSITIONS`` is the whole rule: for each (from, to) the actors who may cause it, with an
optional guard. Anything not in the table is refused with a reason. Release (type 2: payment
confirmed) is a separate fact on the order, not a status: 等待发货 can show before payment is
confirmed (scenario 1). Each accepted change is written to the order's timeline; changes the
ERP must hear about (release, cancel and complete by a person) write their outbox row in the
same transaction; a cancellation the customer did not make is noticed to them. What staff do
(a salesperson or an admin: release, cancel, complete) is also written to the audit log.

ERP moves that would go backwards are not errors: ``apply_erp_status`` records them on the
timeline as ignored and leaves the order as it is (the ERP may send events late or twice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import object_session
from sqlmodel import Session

from bridge.actors import Actor, audit
from bridge.connector import Command
from bridge.documents import command_document
from bridge.errors import DomainError, Forbidden, TransitionRefused
from bridge.labels import AWAITING_PAYMENT_HINT, STATUS_LABELS
from bridge.models import ActorKind, Customer, Order, OrderEvent, OrderStatus
from bridge.outbox import customer_key, enqueue, enqueue_notice
from bridge.timeline import record
from bridge.scope import may_act_on
from bridge.types import utcnow
from bridge.users import contact_or_none

S = OrderStatus
A = ActorKind


# How far along an order is; the ERP never moves an order to a lower rank.
RANK = {S.PENDING: 0, S.IN_PRODUCTION: 1, S.AWAITING_SHIPMENT: 2, S.SHIPPED: 3, S.COMPLETED: 4}
TERMINAL = frozenset({S.COMPLETED, S.CANCELLED})
OPEN = frozenset({S.PENDING, S.IN_PRODUCTION, S.AWAITING_SHIPMENT})
"""Orders still on their way: an unreleased type-2 order in one of these waits for the
salesperson's payment confirmation (A1, A6); shipped, completed and cancelled ones wait for nothing."""

Guard = Callable[[Order, Actor], str | None]
"""Returns None when allowed, else the reason (English) it is not."""


def _out_of_scope(order: Order, actor: Actor) -> str | None:
    # A person acts on the orders of the customers in their scope (bridge.scope: a customer on
    # its own, a salesperson on their customers', an admin on all); the ERP and the system (only
    # where TRANSITIONS names it) on every order.
    if actor.kind in (A.ERP, A.SYSTEM):
        return None
    customer = object_session(order).get(Customer, order.customer_id)
    if customer is None or not may_act_on(actor, customer):
        return f"the order is for another customer, outside the scope of {actor}"
    return None


def _customer_may_cancel(order: Order, actor: Actor) -> str | None:
    # C13: a customer cancels only what has not been released to production.
    if order.released:
        return "the order has been released to production; ask your salesperson"
    return None


@dataclass(frozen=True)
class Rule:
    actors: frozenset[ActorKind]
    guards: dict[ActorKind, Guard] | None = None
    """Extra conditions for some of the actors."""


def _rule(*actors: ActorKind, guards: dict[ActorKind, Guard] | None = None) -> Rule:
    return Rule(frozenset(actors), guards)


_CANCEL_GUARDS = {A.CUSTOMER: _customer_may_cancel}

TRANSITIONS: dict[tuple[OrderStatus, OrderStatus], Rule] = {
    (S.PENDING, S.IN_PRODUCTION): _rule(A.ERP, A.ADMIN),
    (S.PENDING, S.AWAITING_SHIPMENT): _rule(A.ERP, A.ADMIN),
    (S.PENDING, S.SHIPPED): _rule(A.ERP),
    (S.PENDING, S.CANCELLED): _rule(A.CUSTOMER, A.SALES, A.ADMIN, A.ERP, guards=_CANCEL_GUARDS),
    (S.IN_PRODUCTION, S.AWAITING_SHIPMENT): _rule(A.ERP, A.ADMIN),
    (S.IN_PRODUCTION, S.SHIPPED): _rule(A.ERP),
    (S.IN_PRODUCTION, S.CANCELLED): _rule(A.SALES, A.ADMIN, A.ERP, guards=_CANCEL_GUARDS),
    # The stock seen at placement was gone after all: the ERP produces instead.
    (S.AWAITING_SHIPMENT, S.IN_PRODUCTION): _rule(A.ERP),
    (S.AWAITING_SHIPMENT, S.SHIPPED): _rule(A.ERP),
    (S.AWAITING_SHIPMENT, S.CANCELLED): _rule(A.CUSTOMER, A.SALES, A.ADMIN, A.ERP, guards=_CANCEL_GUARDS),
    # C9: the customer confirms receipt; an admin may on their behalf; the ERP may report it;
    # the system completes it orders.auto_complete_days after shipment (bridge.autocomplete).
    (S.SHIPPED, S.COMPLETED): _rule(A.CUSTOMER, A.ADMIN, A.ERP, A.SYSTEM),
}

AUDIT_ACTION_ON = {S.CANCELLED: "order.cancel", S.COMPLETED: "order.complete"}
"""The audit log's name for a staff user's move to a status (others: ``order.status``)."""

# Messages to the ERP caused by a person's (or the system's) transition (E5). The ERP's own moves
# send nothing back.
ERP_COMMAND_ON = {S.CANCELLED: Command.CANCEL, S.COMPLETED: Command.COMPLETE}

CUSTOMER_TOLD_OF = (S.IN_PRODUCTION, S.AWAITING_SHIPMENT)
"""Status changes the customer hears of (``notify.status``: a WeChat subscribe message where they
accepted it). A shipment is told per shipment, a cancellation as such."""


def allowed(order: Order, to: OrderStatus, actor: Actor) -> str | None:
    """None when ``actor`` may move ``order`` to ``to``; else the reason it may not."""
    frm = order.status
    if frm == to:
        return f"the order is already {to.value}"
    if frm in TERMINAL:
        return f"the order is {frm.value}; nothing can change it any more"
    rule = TRANSITIONS.get((frm, to))
    if rule is None:
        return f"an order cannot go from {frm.value} to {to.value}"
    if actor.kind not in rule.actors:
        return f"{actor.kind.value} may not move an order from {frm.value} to {to.value}"
    reason = _out_of_scope(order, actor)
    if reason is not None:
        return reason
    guard = (rule.guards or {}).get(actor.kind)
    return guard(order, actor) if guard else None


def _refusal_message(order: Order, to: OrderStatus, actor: Actor) -> str:
    if (
        to == S.CANCELLED
        and actor.kind == A.CUSTOMER
        and actor.customer_id == order.customer_id
        and order.status in OPEN
    ):
        # C13: on its way to the customer but released to production (or already produced):
        # only the salesperson can stop it now, so name them.
        return f"订单已下达生产，不能在线取消；如需取消，请联系{_contact_text(order)}"
    if to == S.CANCELLED:
        return f"订单当前状态为「{STATUS_LABELS[order.status]}」，不能取消"
    if to == S.COMPLETED:
        return f"订单当前状态为「{STATUS_LABELS[order.status]}」，不能确认收货"
    return f"订单不能从「{STATUS_LABELS[order.status]}」变为「{STATUS_LABELS[to]}」"


def _contact_text(order: Order) -> str:
    """Whom the order's customer asks (``users.contact_or_none``: their salesperson, else an
    admin), by name and phone where known, in Chinese."""
    session = object_session(order)
    customer = session.get(Customer, order.customer_id) if session is not None else None
    user = contact_or_none(session, customer) if customer is not None else None
    if user is None:
        return "您的业务员"
    who = "您的业务员" if user.id == customer.salesperson_id else "客服"
    return f"{who}{user.display_name}" + (f"（电话 {user.phone}）" if user.phone else "")


def repeated(session: Session, order: Order, to: OrderStatus, actor: Actor) -> bool:
    """Is asking to move ``order`` to ``to`` a repeat of what this customer already did? True when
    ``actor`` is the order's customer and the order is in ``to`` by a move that customer (any of
    its accounts) made: the mini-program retried a request whose answer was lost. The caller then
    answers with the order as it is; anyone else asking, or a customer asking for what another
    did (a cancellation by the salesperson, a completion by the system), is a refusal as usual."""
    if actor.kind != A.CUSTOMER or order.status != to or order.customer_id != actor.customer_id:
        return False
    last = session.exec(
        sa.select(OrderEvent.actor_kind)
        .where(OrderEvent.order_id == order.id, OrderEvent.action == "status", OrderEvent.to_status == to)
        .order_by(OrderEvent.id.desc())
        .limit(1)
    ).first()
    return last is not None and last[0] == A.CUSTOMER


def transition(
    session: Session,
    order: Order,
    to: OrderStatus,
    actor: Actor,
    *,
    note: str | None = None,
    data: dict | None = None,
    at: datetime | None = None,
) -> OrderEvent:
    """Move ``order`` to ``to`` for ``actor``, or raise TransitionRefused with the reason."""
    reason = allowed(order, to, actor)
    if reason is not None:
        raise TransitionRefused(
            _refusal_message(order, to, actor), f"order {order.order_no}: {reason}", order_no=order.order_no
        )
    at = at or utcnow()
    frm = order.status
    order.status = to
    order.updated_at = at
    session.add(order)
    event = record(session, order, actor, "status", from_status=frm, to_status=to, note=note, data=data, at=at)
    command = ERP_COMMAND_ON.get(to)
    if command and actor.kind != A.ERP:
        _tell_erp(session, order, command, at)
    _audit_staff(
        session, order, actor, AUDIT_ACTION_ON.get(to, "order.status"), {"from": frm.value, "to": to.value}, note
    )
    if to == S.CANCELLED and actor.kind != A.CUSTOMER:
        # The customer hears of a cancellation they did not make. (Shipment notices, with their
        # tracking numbers, are sent per shipment by the inbox, not per status change.)
        enqueue_notice(
            session,
            "cancelled",
            customer_id=order.customer_id,
            order_no=order.order_no,
            status=to.value,
            reason=note or "",
        )
    elif to == S.CANCELLED:
        # The salesperson hears of a cancellation the customer made (issue #15).
        enqueue_notice(session, "customer_cancelled", customer_id=order.customer_id, order_no=order.order_no)
    if to in CUSTOMER_TOLD_OF and actor.kind != A.CUSTOMER:
        # The customer hears that the order was accepted into production / is ready to ship.
        enqueue_notice(session, "status", customer_id=order.customer_id, order_no=order.order_no, status=to.value)
    return event


def apply_erp_status(
    session: Session, order: Order, to: OrderStatus, actor: Actor, *, note: str | None = None, data: dict | None = None
) -> OrderEvent | None:
    """Apply a status the ERP reports. A move backwards or from a final state is recorded as
    ignored and changes nothing; the same status again is a no-op (returns None)."""
    if actor.kind != A.ERP:
        raise Forbidden("无权限", "apply_erp_status is for ERP events only")
    if order.status == to:
        return None
    backwards = order.status in TERMINAL or (to in RANK and RANK[to] < RANK[order.status])
    if backwards and (order.status, to) not in TRANSITIONS:
        return record(
            session,
            order,
            actor,
            "ignored",
            from_status=order.status,
            to_status=to,
            note=f"ERP reported {to.value} after {order.status.value}: ignored",
            data=data,
        )
    return transition(session, order, to, actor, note=note, data=data)


def awaits_payment(order: Order) -> bool:
    """Is ``order`` waiting for a payment confirmation (A6)? ``awaiting_payment`` in Python."""
    return not order.released and order.status in OPEN


def status_hint(order: Order) -> str | None:
    """What the order's reader is told beside its status, or None: an order waiting for the
    payment confirmation (``awaits_payment``) says so until it is released (C15)."""
    return AWAITING_PAYMENT_HINT if awaits_payment(order) else None


def awaiting_payment() -> sa.ColumnElement[bool]:
    """SQL condition on ``Order``: waiting for a payment confirmation (A6) — not released and still
    open. Only type-2 orders are ever unreleased (type 1 is released at placement), and an order
    keeps the rule it was placed under when its customer's type changes later."""
    return sa.and_(Order.released.is_(False), Order.status.in_(OPEN))


def release(session: Session, order: Order, actor: Actor, *, note: str | None = None) -> OrderEvent | None:
    """Payment confirmed: release a type-2 order to production (A1, E5).

    A salesperson (the customer's own) or an admin releases in the bridge, and the ERP is told;
    the ERP may report it was released there (scenario 1), which is recorded but not echoed.
    Releasing a released order again is a no-op (returns None)."""
    if order.released:
        return None
    refusal = _release_refusal(order, actor)
    if refusal is not None:
        raise refusal
    at = utcnow()
    order.released = True
    order.released_at = at
    order.updated_at = at
    session.add(order)
    event = record(session, order, actor, "release", note=note, at=at)
    if actor.kind != A.ERP:
        _tell_erp(session, order, Command.RELEASE, at)
    _audit_staff(session, order, actor, "order.release", {"status": order.status.value}, note)
    return event


def _release_refusal(order: Order, actor: Actor) -> DomainError | None:
    """Why ``actor`` may not release ``order`` (not yet released), or None."""
    if order.status not in OPEN:
        return TransitionRefused(
            f"订单当前状态为「{STATUS_LABELS[order.status]}」，不能确认收款",
            f"order {order.order_no} is {order.status.value}: cannot release",
            order_no=order.order_no,
        )
    if actor.kind not in (A.SALES, A.ADMIN, A.ERP):
        return Forbidden("无权确认收款", f"{actor.kind.value} may not release order {order.order_no}")
    reason = _out_of_scope(order, actor)
    if reason is not None:
        return Forbidden("只能确认自己客户的订单", f"order {order.order_no}: {reason}")
    return None


# --------------------------------------------------------------------------- what may be done now

CANCEL, CONFIRM_RECEIPT, RELEASE = "cancel", "confirm_receipt", "release"
ACTIONS = (CANCEL, CONFIRM_RECEIPT, RELEASE)
"""What a person can ask of an order in a front end: its buttons (``can_<action>``)."""


def may(order: Order, actor: Actor, action: str) -> str | None:
    """None when ``actor`` may do ``action`` (one of ``ACTIONS``) to ``order`` now; else the
    reason (English) it may not. The same guards as ``transition`` and ``release`` themselves,
    so a button is shown exactly when pressing it would work."""
    if action == CANCEL:
        return allowed(order, S.CANCELLED, actor)
    if action == CONFIRM_RECEIPT:
        return allowed(order, S.COMPLETED, actor)
    if action == RELEASE:
        if order.released:
            return f"order {order.order_no} is already released"
        refusal = _release_refusal(order, actor)
        return refusal.detail if refusal is not None else None
    raise ValueError(f"unknown order action {action!r} (one of {', '.join(ACTIONS)})")


def actions(order: Order, actor: Actor) -> frozenset[str]:
    """The ``ACTIONS`` ``actor`` may do to ``order`` now (see ``may``)."""
    return frozenset(a for a in ACTIONS if may(order, actor, a) is None)


def _audit_staff(session: Session, order: Order, actor: Actor, action: str, detail: dict, note: str | None) -> None:
    """Who of the staff did what to the order, in the audit log (A12); the customer's own moves,
    the ERP's and the system's are on the order's timeline only."""
    if actor.kind in (A.SALES, A.ADMIN):
        audit(session, actor, action, "order", order.order_no, detail | ({"note": note} if note else {}))


def _tell_erp(session: Session, order: Order, command: str, at: datetime) -> None:
    enqueue(
        session,
        kind=f"order.{command}",
        ordering_key=customer_key(order.customer_id),
        aggregate_type="order",
        aggregate_id=order.order_no,
        payload=command_document(order, command, at),
    )
