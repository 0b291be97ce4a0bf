"""Which products a customer may see (C2, A3) and at what price (A9) — one rule each, used for
lists, details, scans, reorders and order placement alike.

A product is visible to a customer when it is active, not hidden from that customer, and
either standard or granted (to that customer, or to every customer of its type). A hide wins
over a grant. A product that is not visible behaves exactly like one that does not exist.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from bridge.errors import NotFound
from bridge.models import Customer, CustomerPrice, Product, ProductGrant, ProductHide, ProductKind

PRODUCT_NOT_FOUND = "商品不存在或已下架"


def applies_to(
    model: type[ProductGrant] | type[CustomerPrice], customer_id: Any, customer_type: Any
) -> sa.ColumnElement[bool]:
    """SQL condition on a table of rows for one customer or for a whole customer type (grants,
    A3; prices, A9): true for the rows about customer ``customer_id`` itself or about every
    customer of its type ``customer_type`` (values, or bound parameters of a statement built once)."""
    return sa.or_(model.customer_id == customer_id, model.customer_type == customer_type)


def visible_to(customer: Customer) -> sa.ColumnElement[bool]:
    """SQL condition on ``Product``: true for the products ``customer`` may see."""
    _not_an_alias(customer)
    return _visible(customer.id, customer.type)


def _not_an_alias(customer: Customer) -> None:
    if customer.merged_into_id is not None:
        # An alias has no catalog of its own; callers resolve to the surviving customer first.
        raise ValueError(f"customer {customer.id} is merged into {customer.merged_into_id}")


def _visible(customer_id, customer_type) -> sa.ColumnElement[bool]:
    """``visible_to`` for a customer's id and type, values or bound parameters."""
    hidden = sa.exists().where(ProductHide.product_id == Product.id, ProductHide.customer_id == customer_id)
    granted = sa.exists().where(
        ProductGrant.product_id == Product.id, applies_to(ProductGrant, customer_id, customer_type)
    )
    return sa.and_(
        Product.active.is_(True),
        sa.not_(hidden),
        sa.or_(Product.kind == ProductKind.STANDARD, granted),
    )


def price_columns(customer_id: Any, customer_type: Any) -> tuple[sa.ScalarSelect, sa.ScalarSelect]:
    """For a select of ``Product``: the price agreed with customer ``customer_id`` and the one
    agreed for its type ``customer_type`` (A9), each NULL where there is none (values, or bound
    parameters of a statement built once). ``pick_price`` says which one the customer pays."""

    def agreed(grantee: sa.ColumnElement[bool]) -> sa.ScalarSelect:
        # At most one row each (customer_price's unique constraints).
        return sa.select(CustomerPrice.price).where(CustomerPrice.product_id == Product.id, grantee).scalar_subquery()

    return agreed(CustomerPrice.customer_id == customer_id), agreed(CustomerPrice.customer_type == customer_type)


def pick_price(product: Product, own: Decimal | None, by_type: Decimal | None) -> Decimal:
    """What the customer pays (A9): their own agreed price, else their type's, else the list price."""
    return own if own is not None else by_type if by_type is not None else product.price


def priced(customer: Customer) -> tuple[sa.ScalarSelect, sa.ScalarSelect]:
    """``price_columns`` of ``customer``: ``select(Product, *priced(customer))`` gives rows of
    (product, own, by_type) for ``pick_price``."""
    _not_an_alias(customer)
    return price_columns(customer.id, customer.type)


# Order placement asks these once per line: built once (statement building and its cache key cost
# more than running it), customer and product bound at execution. The product comes with the
# customer's prices (one statement per line, issue #16).
_CUSTOMER = {"customer_id": sa.bindparam("customer_id"), "customer_type": sa.bindparam("customer_type")}
_PRICED = (Product, *price_columns(**_CUSTOMER))
_VISIBLE_BY_ID = select(*_PRICED).where(Product.id == sa.bindparam("product_id"), _visible(**_CUSTOMER))
_VISIBLE_BY_SKU = select(*_PRICED).where(Product.sku == sa.bindparam("sku"), _visible(**_CUSTOMER))
_PRICES = sa.select(*price_columns(**_CUSTOMER)).where(Product.id == sa.bindparam("product_id"))


def price_for(session: Session, customer: Customer, product: Product) -> Decimal:
    """What ``customer`` pays for ``product`` (``pick_price``)."""
    own, by_type = session.execute(
        _PRICES, {"product_id": product.id, "customer_id": customer.id, "customer_type": customer.type}
    ).one()
    return pick_price(product, own, by_type)


def is_visible(session: Session, customer: Customer, product_id: int) -> bool:
    stmt = select(Product.id).where(Product.id == product_id, visible_to(customer))
    return session.exec(stmt).first() is not None


def get_visible_product(
    session: Session, customer: Customer, product_id: int | None = None, *, sku: str | None = None
) -> Product:
    """The product if ``customer`` may see it; NotFound (the same as for no product) if not."""
    return get_priced_product(session, customer, product_id, sku=sku)[0]


def get_priced_product(
    session: Session, customer: Customer, product_id: int | None = None, *, sku: str | None = None
) -> tuple[Product, Decimal]:
    """``get_visible_product`` and what ``customer`` pays for it (``pick_price``), in one statement."""
    _not_an_alias(customer)
    who = {"customer_id": customer.id, "customer_type": customer.type}
    if product_id is not None:
        found = session.execute(_VISIBLE_BY_ID, {"product_id": product_id, **who})
    elif sku is not None:
        found = session.execute(_VISIBLE_BY_SKU, {"sku": sku, **who})
    else:
        raise ValueError("product_id or sku is required")
    row = found.first()
    if row is None:
        what = f"id {product_id}" if product_id is not None else f"sku {sku!r}"
        raise NotFound(PRODUCT_NOT_FOUND, f"product {what} does not exist or is not visible to customer {customer.id}")
    product, own, by_type = row
    return product, pick_price(product, own, by_type)
