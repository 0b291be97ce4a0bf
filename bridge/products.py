"""Products as the front ends use them (A3, A7, C1, C2, C4): the catalog a customer or a staff
member may search, a product made by hand (custom unless an admin says standard), grants of a
custom product to a customer, and the product behind a scanned packaging code.

Who may see which product is ``bridge.visibility`` (customers) and ``bridge.scope`` (staff); the
checks of each field are the catalog import's own (``bridge.catalog.COLUMNS``), so a product
typed in by hand meets exactly the rules of one imported from a sheet.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bridge.actors import Actor, audit
from bridge.catalog import COLUMNS, CellError
from bridge.db import Page, paginate
from bridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from bridge.models import ActorKind, Customer, Product, ProductGrant, ProductKind, ProductQR
from bridge.orders import price_for
from bridge.customers import customer_for
from bridge.scope import product_for, products_of
from bridge.text import LIKE_ESCAPE, like_pattern
from bridge.visibility import get_visible_product, is_visible, visible_to

_COLUMN = {c.key: c for c in COLUMNS}
REQUIRED = ("sku", "name", "price", "unit")


@dataclass(frozen=True)
class PricedProduct:
    product: Product
    price: Decimal
    """What this customer pays (``orders.price_for``)."""


@dataclass(frozen=True)
class Scanned:
    product: PricedProduct
    qr: ProductQR


@dataclass(frozen=True)
class Grant:
    product: Product
    customer: Customer
    created: bool
    visible_to_customer: bool
    """A hide or an inactive product still wins over the grant."""


def _search(stmt, kind: ProductKind | None, q: str | None):
    if kind is not None:
        stmt = stmt.where(Product.kind == kind)
    if q and q.strip():
        like = like_pattern(q.strip())
        stmt = stmt.where(
            sa.or_(
                *(
                    col.ilike(like, escape=LIKE_ESCAPE)
                    for col in (Product.name, Product.sku, Product.marking, Product.erp_item_code)
                )
            )
        )
    return stmt.order_by(Product.kind, Product.sku)


def customer_catalog(
    session: Session, customer: Customer, *, kind: ProductKind | None = None, q: str | None = None, page: int = 1
) -> Page[PricedProduct]:
    """The products ``customer`` may see, at the customer's prices, searched by name, code,
    marking or ERP item code."""
    found = paginate(session, _search(select(Product).where(visible_to(customer)), kind, q), page)
    items = [PricedProduct(p, price_for(session, customer, p)) for p in found.items]
    return Page(items, found.total, found.page, found.page_size)


def customer_product(session: Session, customer: Customer, product_id: int) -> PricedProduct:
    """One product if ``customer`` may see it, at their price; else NotFound."""
    product = get_visible_product(session, customer, product_id)
    return PricedProduct(product, price_for(session, customer, product))


def staff_catalog(
    session: Session, actor: Actor, *, kind: ProductKind | None = None, q: str | None = None, page: int = 1
) -> Page[Product]:
    """The products ``actor`` (staff) may see, active or not (``bridge.scope.products_of``)."""
    return paginate(session, _search(select(Product).where(products_of(actor)), kind, q), page)


# --------------------------------------------------------------------------- scanning (C4)


def qr_payload_candidates(raw: str) -> list[str]:
    """The packaging code as scanned, and what WeChat's own scanner passes (the ``q`` parameter
    of the mini-program link, URL-encoded), so both scanners find the same product."""
    raw = raw.strip()
    found = [raw]
    query = parse_qs(urlparse(raw).query)
    found += query.get("q", []) + query.get("c", [])
    decoded = unquote(raw)
    if decoded != raw:
        found.append(decoded)
        found += parse_qs(urlparse(decoded).query).get("q", [])
    return list(dict.fromkeys(found))


def scan(session: Session, customer: Customer, payload: str) -> Scanned:
    """The product behind a packaging QR code, if ``customer`` may see it. An unknown code and a
    product the customer may not see get the same NotFound (``unknown_qr``)."""
    unknown = NotFound("未识别的二维码，请联系业务员", "unknown QR payload", code="unknown_qr")
    qr = session.exec(select(ProductQR).where(ProductQR.payload.in_(qr_payload_candidates(payload)))).first()
    if qr is None:
        raise unknown
    try:
        return Scanned(customer_product(session, customer, qr.product_id), qr)
    except NotFound:
        raise unknown from None


# --------------------------------------------------------------------------- making and granting (A7)


def _cell(key: str, value: Any) -> Any:
    """A product field checked by the catalog's own column rule (the import's limits and
    messages): blank means "not given"."""
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    column = _COLUMN[key]
    try:
        return column.parse(text)
    except CellError as exc:
        raise InvalidInput(f"{column.header}：{exc.zh}", f"{key}: {exc.en}", field=key) from None


def create_product(
    session: Session, actor: Actor, values: dict[str, Any], kind: ProductKind = ProductKind.CUSTOM
) -> Product:
    """A new product from ``values`` (field → text, as typed). Custom by default and visible to
    nobody until granted; only admins make standard products. A code (sku) already used is a
    Conflict, also when another request takes it at the same moment."""
    if actor.kind not in (ActorKind.ADMIN, ActorKind.SALES):
        raise Forbidden("只有员工可以创建商品", f"{actor} may not create products")
    if kind == ProductKind.STANDARD and actor.kind != ActorKind.ADMIN:
        raise Forbidden("业务员只能创建定制品", "salespeople create custom products only")
    unknown = set(values) - set(_COLUMN) - {"kind"}
    if unknown:
        raise InvalidInput("商品包含未知字段", f"unknown product fields {sorted(unknown)}")
    fields = {key: _cell(key, values.get(key)) for key in _COLUMN if key not in ("kind", "active")}
    for key in REQUIRED:
        if fields[key] is None:
            raise InvalidInput(f"{_COLUMN[key].header}不能为空", f"{key} is blank", field=key)
    taken = Conflict(f"商品编码 {fields['sku']} 已存在", f"sku {fields['sku']!r} already exists", field="sku")
    if session.exec(select(Product.id).where(Product.sku == fields["sku"])).first() is not None:
        raise taken
    staff_id = int(actor.id) if actor.id and actor.id.isdigit() else None
    product = Product(kind=kind, created_by_id=staff_id, **{k: v for k, v in fields.items() if v is not None})
    try:
        with session.begin_nested():
            session.add(product)
            session.flush()
    except IntegrityError:  # the same sku raced in from another request
        raise taken from None
    audit(
        session,
        actor,
        "product.create",
        "product",
        product.id,
        {"sku": product.sku, "kind": product.kind.value, "price": str(product.price)},
    )
    return product


def grant_product(session: Session, actor: Actor, product_id: int, customer_id: int) -> Grant:
    """Make a custom product (one ``actor`` may see) visible to one of the actor's customers.
    Standard products need no grant (InvalidInput); granting again changes nothing."""
    if actor.kind not in (ActorKind.ADMIN, ActorKind.SALES):
        raise Forbidden("只有员工可以授权商品", f"{actor} may not grant products")
    product = product_for(session, actor, product_id)
    customer = customer_for(session, actor, customer_id)
    if product.kind != ProductKind.CUSTOM:
        raise InvalidInput(
            "标准品对所有客户可见，无需授权", f"product {product.sku} is standard: grants are for custom products"
        )
    exists = select(ProductGrant.id).where(
        ProductGrant.product_id == product.id, ProductGrant.customer_id == customer.id
    )
    created = session.exec(exists).first() is None
    if created:
        try:
            with session.begin_nested():
                session.add(ProductGrant(product_id=product.id, customer_id=customer.id))
                session.flush()
        except IntegrityError:  # granted by another request just now: same outcome
            created = False
    if created:
        audit(session, actor, "product.grant", "product", product.id, {"customer_id": customer.id, "sku": product.sku})
    return Grant(product, customer, created, is_visible(session, customer, product.id))
