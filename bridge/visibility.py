"""Which products a customer may see (C2, A3) — one rule, used for lists, details, scans and
order placement alike.

A product is visible to a customer when it is active, not hidden from that customer, and
either standard or granted (to that customer, or to every customer of its type). A hide wins
over a grant. A product that is not visible behaves exactly like one that does not exist.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, select

from bridge.errors import NotFound
from bridge.models import Customer, CustomerPrice, Product, ProductGrant, ProductHide, ProductKind

PRODUCT_NOT_FOUND = "商品不存在或已下架"


def applies_to(model: type[ProductGrant] | type[CustomerPrice], customer: Customer) -> sa.ColumnElement[bool]:
    """SQL condition on a table of rows for one customer or for a whole customer type (grants,
    A3; prices, A9): true for the rows about ``customer`` itself or about every customer of
    its type."""
    return sa.or_(model.customer_id == customer.id, model.customer_type == customer.type)


def visible_to(customer: Customer) -> sa.ColumnElement[bool]:
    """SQL condition on ``Product``: true for the products ``customer`` may see."""
    if customer.merged_into_id is not None:
        # An alias has no catalog of its own; callers resolve to the surviving customer first.
        raise ValueError(f"customer {customer.id} is merged into {customer.merged_into_id}")
    hidden = sa.exists().where(ProductHide.product_id == Product.id, ProductHide.customer_id == customer.id)
    granted = sa.exists().where(ProductGrant.product_id == Product.id, applies_to(ProductGrant, customer))
    return sa.and_(
        Product.active.is_(True),
        sa.not_(hidden),
        sa.or_(Product.kind == ProductKind.STANDARD, granted),
    )


def is_visible(session: Session, customer: Customer, product_id: int) -> bool:
    stmt = select(Product.id).where(Product.id == product_id, visible_to(customer))
    return session.exec(stmt).first() is not None


def get_visible_product(
    session: Session, customer: Customer, product_id: int | None = None, *, sku: str | None = None
) -> Product:
    """The product if ``customer`` may see it; NotFound (the same as for no product) if not."""
    stmt = select(Product).where(visible_to(customer))
    if product_id is not None:
        stmt = stmt.where(Product.id == product_id)
    elif sku is not None:
        stmt = stmt.where(Product.sku == sku)
    else:
        raise ValueError("product_id or sku is required")
    product = session.exec(stmt).first()
    if product is None:
        what = f"id {product_id}" if product_id is not None else f"sku {sku!r}"
        raise NotFound(PRODUCT_NOT_FOUND, f"product {what} does not exist or is not visible to customer {customer.id}")
    return product
