"""Bindings: which record in the ERP is which record of ours (A11, E1, E4).

The ERP names our customers by its own customer codes and our orders by its own order numbers.
It says so in two ways: in its answer to a push (the dispatcher, ``bridge.outbox``) and later as
an event (``customer.code``, ``order.accepted`` or a status event carrying ``erp_ref``, read by
``bridge.inbox``). Both record the answer here, so both check the same rules:

- a customer code belongs to one customer, in ``Customer.erp_code`` and in the connector's
  ``ErpBinding`` row alike; a code another customer holds is refused (``CodeTaken``) and
  nothing is written — the caller turns that into a dead letter with the reason;
- a customer merged away is bound through the customer it was merged into;
- an order learns its ERP reference once per change, with one timeline line.

Functions take the caller's session and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bridge.actors import Actor
from bridge.errors import Conflict
from bridge.models import Customer, ErpBinding, Order
from bridge import timeline

CUSTOMER = "customer"
"""``ErpBinding.entity`` of customer codes."""


class CodeTaken(Conflict):
    """The ERP gave a customer a code another customer already holds."""

    code = "erp_code_taken"


@dataclass(frozen=True)
class CodeChange:
    customer_id: int
    previous: str | None
    code: str


def root_customer(session: Session, customer_id: int) -> Customer | None:
    """The customer ``customer_id`` is, following merges to the one that stays; None if unknown."""
    customer = session.get(Customer, customer_id)
    while customer is not None and customer.merged_into_id is not None:
        customer = session.get(Customer, customer.merged_into_id)
    return customer


def code_holder(session: Session, connector: str, code: str, *, other_than: int | None = None) -> Customer | None:
    """The customer that holds ``code``, as its ERP code or as its binding for ``connector``
    (not following merges: it may be an alias), other than ``other_than``; None if nobody does."""
    held = select(Customer.id).where(Customer.erp_code == code)
    bound = select(ErpBinding.internal_id).where(
        ErpBinding.connector == connector, ErpBinding.entity == CUSTOMER, ErpBinding.external_id == code
    )
    if other_than is not None:
        held = held.where(Customer.id != other_than)
        bound = bound.where(ErpBinding.internal_id != other_than)
    holder_id = session.exec(held).first()
    if holder_id is None:
        holder_id = session.exec(bound).first()
    return None if holder_id is None else session.get(Customer, holder_id)


def bind_customer_code(session: Session, connector: str, customer: Customer, code: str) -> CodeChange | None:
    """Record that the ERP behind ``connector`` knows ``customer`` (a root) as ``code``.

    Returns what changed, or None when the customer already had this code and its binding.
    Raises CodeTaken, writing nothing, when another customer holds the code (as its ERP code
    or its binding)."""
    holder = code_holder(session, connector, code, other_than=customer.id)
    if holder is not None:
        raise _taken(code, customer.id, holder)
    binding = session.exec(
        select(ErpBinding).where(
            ErpBinding.connector == connector, ErpBinding.entity == CUSTOMER, ErpBinding.internal_id == customer.id
        )
    ).first()
    previous = customer.erp_code
    if previous == code and binding is not None and binding.external_id == code:
        return None
    try:
        # A savepoint: a code taken by a transaction that committed after the checks above is a
        # refusal of this answer only, not a failure of the caller's whole transaction.
        with session.begin_nested():
            customer.erp_code = code
            session.add(customer)
            if binding is None:
                session.add(ErpBinding(connector=connector, entity=CUSTOMER, internal_id=customer.id, external_id=code))
            else:
                binding.external_id = code
                session.add(binding)
            session.flush()
    except IntegrityError:
        raise _taken(code, customer.id, None) from None
    return CodeChange(customer.id, previous, code)


def _taken(code: str, customer_id: int, holder: Customer | None) -> CodeTaken:
    who = f"customer {holder.id} ({holder.name})" if holder is not None else "another customer"
    if holder is not None and holder.merged_into_id is not None:
        who += f" (merged into customer {holder.merged_into_id})"
    return CodeTaken(
        f"ERP 客户编码 {code} 已属于客户 {holder.id}（{holder.name}）"
        if holder is not None
        else f"ERP 客户编码 {code} 已属于其他客户",
        f"ERP code {code} for customer {customer_id} already belongs to {who}: "
        "merge the two customers or correct the code in the ERP, then retry",
        field="erp_code",
        erp_code=code,
        **({"customer_id": holder.id} if holder is not None else {}),
    )


def bind_order_ref(session: Session, order: Order, ref: str | None, erp: Actor) -> bool:
    """Record the ERP's own reference for ``order``, with the timeline line that says the ERP
    accepted it. False (nothing written) when ``ref`` is empty or already known."""
    return bind_order_refs(session, [(order, ref)], erp) == 1


def bind_order_refs(session: Session, refs: list[tuple[Order, str | None]], erp: Actor) -> int:
    """``bind_order_ref`` for several orders (the dispatcher's answers of a round), their
    timeline lines written with one statement; how many orders learnt a new reference."""
    lines = []
    for order, ref in refs:
        if not ref or order.erp_ref == ref:
            continue
        order.erp_ref = ref
        session.add(order)
        lines.append(timeline.line(order, erp, "accepted", note=f"ERP order {ref}"))
    timeline.record_all(session, lines)
    return len(lines)
