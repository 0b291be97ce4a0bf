"""Which products a customer may see (C2, A3) — one rule, used for lists, details, scans and
order placement alike.

A product is visible to a customer when it is active, not hidden from that customer, and
either standard or granted (to that customer, or to every customer of its type). A hide wins
over a grant. A product that is not visible behaves exactly like one that does not exist.
"""

from __future__ import annotations

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


# Order placement asks these once per line: built once (statement building and its cache key cost
# more than running it), customer and product bound at execution.
_CUSTOMER = {"customer_id": sa.bindparam("customer_id"), "customer_type": sa.bindparam("customer_type")}
_VISIBLE_BY_ID = select(Product).where(Product.id == sa.bindparam("product_id"), _visible(**_CUSTOMER))
_VISIBLE_BY_SKU = select(Product).where(Product.sku == sa.bindparam("sku"), _visible(**_CUSTOMER))


def is_visible(session: Session, customer: Customer, product_id: int) -> bool:
    stmt = select(Product.id).where(Product.id == product_id, visible_to(customer))
    return session.exec(stmt).first() is not None


def get_visible_product(
    session: Session, customer: Customer, product_id: int | None = None, *, sku: str | None = None
) -> Product:
    """The product if ``customer`` may see it; NotFound (the same as for no product) if not."""
    _not_an_alias(customer)
    who = {"customer_id": customer.id, "customer_type": customer.type}
    if product_id is not None:
        found = session.execute(_VISIBLE_BY_ID, {"product_id": product_id, **who})
    elif sku is not None:
        found = session.execute(_VISIBLE_BY_SKU, {"sku": sku, **who})
    else:
        raise ValueError("product_id or sku is required")
    product = found.scalars().first()
    if product is None:
        what = f"id {product_id}" if product_id is not None else f"sku {sku!r}"
        raise NotFound(PRODUCT_NOT_FOUND, f"product {what} does not exist or is not visible to customer {customer.id}")
    return product
