"""Who may see and act on which customer, and on which custom product (S3): one rule, asked by
every list and every action, so a new page cannot forget it.

- An admin: every customer (aliases left by a merge are never listed; their id leads to the
  survivor), every product.
- A salesperson: their own customers (``Customer.salesperson_id``) and those customers' orders,
  inquiries, notes and accounts; standard products, and the custom products they made or that
  are granted to one of their customers — never another company's wheel at its agreed price.
- A customer: itself.

Customers nobody follows (no salesperson, or one who is no longer active) are the admins'
queue (A10): ``unassigned_queue``, asked by the customer list and the order list alike.

Anything outside the caller's scope is answered exactly like something that does not exist.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, select

from bridge.actors import Actor
from bridge.errors import Forbidden, NotFound
from bridge.models import ActorKind, Customer, Inquiry, Order, Product, ProductGrant, ProductKind, StaffUser


def _staff_id(actor: Actor) -> int | None:
    return int(actor.id) if actor.id and actor.id.isdigit() else None


def customers_of(actor: Actor) -> sa.ColumnElement[bool]:
    """SQL condition on ``Customer``: the (non-alias) customers ``actor`` may see and act on."""
    roots = Customer.merged_into_id.is_(None)
    if actor.kind == ActorKind.ADMIN:
        return roots
    if actor.kind == ActorKind.SALES and _staff_id(actor) is not None:
        return sa.and_(roots, Customer.salesperson_id == _staff_id(actor))
    if actor.kind == ActorKind.CUSTOMER and actor.customer_id is not None:
        return sa.and_(roots, Customer.id == actor.customer_id)
    return sa.false()


def customers_and_aliases_of(actor: Actor) -> sa.ColumnElement[bool]:
    """SQL condition on ``Customer``: ``customers_of`` plus the aliases merges left behind, for
    an admin looking at what was merged into what. Forbidden for anyone else (an alias keeps the
    salesperson it had, who no longer follows it)."""
    if actor.kind != ActorKind.ADMIN:
        raise Forbidden("只有管理员可以查看已合并的客户", f"{actor} may not list merged customers (admins only)")
    return sa.true()


def may_act_on(actor: Actor, customer: Customer, *, named_as: int | None = None) -> bool:
    """May ``actor`` act on ``customer`` (a root customer, already resolved)? Same rule as
    ``customers_of``, for a customer in hand. ``named_as`` is the id the caller named the
    customer by, when that was an alias left by a merge: a customer signed in under the
    absorbed id is the survivor now."""
    if actor.kind == ActorKind.ADMIN:
        return True
    if actor.kind == ActorKind.SALES:
        return customer.salesperson_id is not None and customer.salesperson_id == _staff_id(actor)
    if actor.kind == ActorKind.CUSTOMER:
        return actor.customer_id is not None and actor.customer_id in (customer.id, named_as)
    return False


def may_manage(actor: Actor, customer: Customer) -> bool:
    """May ``actor`` change ``customer`` (its data, type, salesperson)? Staff within their scope
    only: a customer sees itself but does not manage itself."""
    return actor.kind in (ActorKind.ADMIN, ActorKind.SALES) and may_act_on(actor, customer)


def unassigned() -> sa.ColumnElement[bool]:
    """SQL condition on ``Customer``: nobody follows it — no salesperson, or one no longer active.
    The same rule as ``users.contact_or_none`` (an admin answers such a customer) in SQL: no
    salesperson sees these customers or their orders, so they wait in the admins' queue."""
    active = select(StaffUser.id).where(StaffUser.active.is_(True))
    return sa.or_(Customer.salesperson_id.is_(None), Customer.salesperson_id.not_in(active))


def unassigned_queue(actor: Actor) -> sa.ColumnElement[bool]:
    """``unassigned()`` for ``actor``, who must be an admin: the queue of customers (and their
    orders) waiting for a salesperson (A10). Forbidden for anyone else."""
    if actor.kind != ActorKind.ADMIN:
        raise Forbidden(
            "只有管理员可以查看未分配业务员的客户", f"{actor} may not see the unassigned customers (admins only)"
        )
    return unassigned()


def products_of(actor: Actor) -> sa.ColumnElement[bool]:
    """SQL condition on ``Product``: the products ``actor`` (staff) may see in the catalog and
    grant. A salesperson: standard ones, custom ones they made, and custom ones granted to one of
    their own customers (or to a whole customer type by an admin: those are every customer's)."""
    if actor.kind == ActorKind.ADMIN:
        return sa.true()
    staff_id = _staff_id(actor)
    if actor.kind != ActorKind.SALES or staff_id is None:
        return sa.false()
    granted_to_mine = (
        select(ProductGrant.product_id)
        .join(Customer, Customer.id == ProductGrant.customer_id)
        .where(Customer.salesperson_id == staff_id, Customer.merged_into_id.is_(None))
    )
    granted_to_a_type = select(ProductGrant.product_id).where(ProductGrant.customer_type.is_not(None))
    return sa.or_(
        Product.kind == ProductKind.STANDARD,
        Product.created_by_id == staff_id,
        Product.id.in_(granted_to_mine),
        Product.id.in_(granted_to_a_type),
    )


# --------------------------------------------------------------------------- lookups in scope
# The one way every front end finds "an order / inquiry / product the caller may see" (a customer:
# ``customers.customer_for``, which also follows merges): anything
# outside the scope raises the same NotFound as something that does not exist.


def order_for(session: Session, actor: Actor, order_no: str) -> Order:
    """The order ``order_no`` if ``actor`` may see its customer."""
    order = session.exec(
        select(Order)
        .join(Customer, Customer.id == Order.customer_id)
        .where(Order.order_no == order_no, customers_of(actor))
    ).first()
    if order is None:
        raise NotFound("订单不存在", f"order {order_no} not found for {actor}")
    return order


def inquiry_for(session: Session, actor: Actor, inquiry_id: int) -> Inquiry:
    """The inquiry ``inquiry_id`` if ``actor`` may see its customer."""
    inquiry = session.exec(
        select(Inquiry)
        .join(Customer, Customer.id == Inquiry.customer_id)
        .where(Inquiry.id == inquiry_id, customers_of(actor))
    ).first()
    if inquiry is None:
        raise NotFound("询价不存在", f"inquiry {inquiry_id} not found for {actor}")
    return inquiry


def product_for(session: Session, actor: Actor, product_id: int) -> Product:
    """The product ``product_id`` if ``actor`` (staff) may see it in the catalog."""
    product = session.exec(select(Product).where(Product.id == product_id, products_of(actor))).first()
    if product is None:
        raise NotFound("商品不存在", f"product {product_id} not found for {actor}")
    return product
