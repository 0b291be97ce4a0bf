"""Reorder (C14): a past order's lines offered again — the products the customer may still see
(``bridge.visibility``), at today's prices (``visibility.price_for``) — and the lines left out, each
with the reason.

Nothing is placed here: the front end puts the lines in the cart and the customer confirms them
through the ordinary placement (``POST /orders``, ``orders.submit_order``) with a new
idempotency key, so every placement rule (limits, stock check, review amount) applies as to any
order.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from sqlmodel import Session, select

from bridge.actors import Actor
from bridge.models import Customer, OrderLine, Product
from bridge.products import PricedProduct
from bridge.scope import order_for
from bridge.visibility import price_for, visible_to


class DropReason(StrEnum):
    """Why a past line is not offered again (labels: ``bridge.labels.REORDER_DROP_LABELS``)."""

    GONE = "gone"
    """The product no longer exists."""
    INACTIVE = "inactive"
    """The product was taken off sale for everyone."""
    NOT_VISIBLE = "not_visible"
    """The product is on sale but no longer offered to this customer (grant withdrawn, hidden)."""


@dataclass(frozen=True)
class ReorderLine:
    line_no: int
    """The past order's line number."""
    product: PricedProduct
    """The product as it is today, with today's price for this customer."""
    quantity: int
    marking: str | None
    """The marking as ordered then."""
    previous_unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return self.product.price * self.quantity


@dataclass(frozen=True)
class DroppedLine:
    line_no: int
    sku: str
    name: str
    """As ordered then (the product may be gone)."""
    quantity: int
    reason: DropReason


@dataclass(frozen=True)
class Reorder:
    order_no: str
    lines: list[ReorderLine]
    dropped: list[DroppedLine]

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))


def reorder(session: Session, actor: Actor, order_no: str) -> Reorder:
    """The lines of ``order_no`` (an order of a customer in ``actor``'s scope, ``scope.order_for``;
    NotFound otherwise) that can be ordered again today, and those that cannot, in line order."""
    order = order_for(session, actor, order_no)
    customer = session.get(Customer, order.customer_id)
    past = session.exec(select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.line_no)).all()
    ids = {line.product_id for line in past}
    products = {p.id: p for p in session.exec(select(Product).where(Product.id.in_(ids))).all()}
    visible = set(session.exec(select(Product.id).where(Product.id.in_(ids), visible_to(customer))).all())
    prices: dict[int, Decimal] = {}
    lines: list[ReorderLine] = []
    dropped: list[DroppedLine] = []
    for line in past:
        product = products.get(line.product_id)
        if product is not None and product.id in visible:
            if product.id not in prices:
                prices[product.id] = price_for(session, customer, product)
            lines.append(
                ReorderLine(
                    line_no=line.line_no,
                    product=PricedProduct(product, prices[product.id]),
                    quantity=line.quantity,
                    marking=line.marking,
                    previous_unit_price=line.unit_price,
                )
            )
            continue
        reason = (
            DropReason.GONE
            if product is None
            else DropReason.INACTIVE
            if not product.active
            else DropReason.NOT_VISIBLE
        )
        dropped.append(DroppedLine(line.line_no, line.sku, line.name, line.quantity, reason))
    return Reorder(order.order_no, lines, dropped)
