"""Products as the front ends use them (A3, A4, A7, A9, C1, C2, C4): the catalog a customer or a
staff member may search, a product made or changed by hand (custom unless an admin says
standard), grants of a custom product to a customer or a customer type, hides, agreed prices,
packaging QR codes, and the product behind a scanned code.

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
from bridge.db import Page, paginate, read_scope
from bridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from bridge.models import (
    ActorKind,
    Customer,
    CustomerPrice,
    OutboxMessage,
    Product,
    ProductGrant,
    ProductHide,
    ProductKind,
    ProductQR,
)
from bridge.orders import spec_text
from bridge.outbox import enqueue_notice
from bridge.customers import customer_for
from bridge.scope import customers_of, may_act_on, product_for, products_of
from bridge.text import LIKE_ESCAPE, like_pattern, required_text
from bridge.types import utcnow
from bridge.visibility import get_priced_product, is_visible, pick_price, priced, visible_to

_COLUMN = {c.key: c for c in COLUMNS}
REQUIRED = ("sku", "name", "price", "unit")


@dataclass(frozen=True)
class PricedProduct:
    product: Product
    price: Decimal
    """What this customer pays (``visibility.price_for``)."""


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


def _as_seen_by(actor: Actor, customer: Customer) -> None:
    """A customer's catalog is read by the customer, or by staff in whose scope it is (to see
    what the customer sees); to anyone else the customer does not exist."""
    if not may_act_on(actor, customer):
        raise NotFound("客户不存在", f"customer {customer.id} not found for {actor}")


def customer_catalog(
    session: Session,
    actor: Actor,
    customer: Customer,
    *,
    kind: ProductKind | None = None,
    q: str | None = None,
    page: int = 1,
) -> Page[PricedProduct]:
    """The products ``customer`` may see, at the customer's prices, searched by name, code,
    marking or ERP item code."""
    _as_seen_by(actor, customer)
    # The customer's prices come with the products: one statement for the page, not one per product.
    found = paginate(session, _search(select(Product, *priced(customer)).where(visible_to(customer)), kind, q), page)
    items = [PricedProduct(p, pick_price(p, own, by_type)) for p, own, by_type in found.items]
    return Page(items, found.total, found.page, found.page_size)


def customer_product(session: Session, actor: Actor, customer: Customer, product_id: int) -> PricedProduct:
    """One product if ``customer`` may see it, at their price; else NotFound."""
    _as_seen_by(actor, customer)
    return PricedProduct(*get_priced_product(session, customer, product_id))


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


def scan(session: Session, actor: Actor, customer: Customer, payload: str) -> Scanned:
    """The product behind a packaging QR code, if ``customer`` may see it. An unknown code and a
    product the customer may not see get the same NotFound (``unknown_qr``)."""
    _as_seen_by(actor, customer)
    unknown = NotFound("未识别的二维码，请联系业务员", "unknown QR payload", code="unknown_qr")
    qr = session.exec(select(ProductQR).where(ProductQR.payload.in_(qr_payload_candidates(payload)))).first()
    if qr is None:
        raise unknown
    try:
        return Scanned(customer_product(session, actor, customer, qr.product_id), qr)
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


# --------------------------------------------------------------------------- editing (A3, A7)


def _staff_id(actor: Actor) -> int | None:
    return int(actor.id) if actor.id and actor.id.isdigit() else None


def may_change(actor: Actor, product: Product) -> bool:
    """May ``actor`` change ``product`` (its fields, its QR codes)? An admin any product; a
    salesperson the custom products they made (a standard product is the company's catalog:
    admins only)."""
    if actor.kind == ActorKind.ADMIN:
        return True
    return (
        actor.kind == ActorKind.SALES
        and product.kind == ProductKind.CUSTOM
        and product.created_by_id is not None
        and product.created_by_id == _staff_id(actor)
    )


def _editable(session: Session, actor: Actor, product_id: int) -> Product:
    """The product, if ``actor`` may change it (``may_change``); Forbidden if they may only see it."""
    product = product_for(session, actor, product_id)
    if may_change(actor, product):
        return product
    raise Forbidden("只能修改自己创建的定制品", f"{actor} may not change product {product.sku}")


def editable_product(session: Session, actor: Actor, product_id: int) -> Product:
    """The product for its edit form, if ``actor`` may change it (else Forbidden, or NotFound
    outside their scope)."""
    return _editable(session, actor, product_id)


def update_product(session: Session, actor: Actor, product_id: int, changes: dict[str, Any]) -> Product:
    """Change the fields named in ``changes`` (field → text as typed; ``active`` a bool, ``kind``
    a kind, admins only) with the catalog's column rules; a blank optional field is cleared, a
    blank required one refused. A new sku already used is a Conflict. Nothing changed → nothing
    written."""
    product = _editable(session, actor, product_id)
    unknown = set(changes) - set(_COLUMN)
    if unknown:
        raise InvalidInput("商品包含未知字段", f"unknown product fields {sorted(unknown)}")
    wanted: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "active":
            if not isinstance(value, bool):
                raise InvalidInput("上架应为 是 或 否", "active must be true or false", field=key)
            wanted[key] = value
        elif key == "kind":
            if actor.kind != ActorKind.ADMIN:
                raise Forbidden("只有管理员可以更改商品类型", "only admins change a product's kind")
            wanted[key] = ProductKind(value)
        else:
            parsed = _cell(key, value)
            if parsed is None and key in REQUIRED:
                raise InvalidInput(f"{_COLUMN[key].header}不能为空", f"{key} is blank", field=key)
            wanted[key] = parsed
    diff = {k: [getattr(product, k), v] for k, v in wanted.items() if getattr(product, k) != v}
    if not diff:
        return product
    taken = Conflict(f"商品编码 {wanted.get('sku')} 已存在", f"sku {wanted.get('sku')!r} already exists", field="sku")
    if "sku" in diff and session.exec(select(Product.id).where(Product.sku == wanted["sku"])).first() is not None:
        raise taken
    for key, (_, new) in diff.items():
        setattr(product, key, new)
    product.updated_at = utcnow()
    try:
        with session.begin_nested():
            session.add(product)
            session.flush()
    except IntegrityError:  # the new sku raced in from another request
        raise taken from None
    audit(session, actor, "product.update", "product", product.id, {k: [str(a), str(b)] for k, (a, b) in diff.items()})
    return product


# --------------------------------------------------------------------------- who sees it (A3): grants and hides


def _custom(product: Product) -> None:
    if product.kind != ProductKind.CUSTOM:
        raise InvalidInput(
            "标准品对所有客户可见，无需授权", f"product {product.sku} is standard: grants are for custom products"
        )


def grant_to_type(session: Session, actor: Actor, product_id: int, customer_type: int) -> bool:
    """Make a custom product visible to every customer of ``customer_type`` (admins only: it
    reaches other salespeople's customers too). True when the grant is new."""
    if actor.kind != ActorKind.ADMIN:
        raise Forbidden("只有管理员可以按客户类型授权", f"{actor} may not grant to a whole customer type")
    if customer_type not in (1, 2):
        raise InvalidInput("客户类型只能是 1 或 2", f"customer type must be 1 or 2, not {customer_type!r}")
    product = product_for(session, actor, product_id)
    _custom(product)
    exists = select(ProductGrant.id).where(
        ProductGrant.product_id == product.id, ProductGrant.customer_type == customer_type
    )
    if session.exec(exists).first() is not None:
        return False
    try:
        with session.begin_nested():
            session.add(ProductGrant(product_id=product.id, customer_type=customer_type))
            session.flush()
    except IntegrityError:  # granted by another request just now: same outcome
        return False
    audit(session, actor, "product.grant", "product", product.id, {"customer_type": customer_type, "sku": product.sku})
    return True


def revoke_grant(
    session: Session, actor: Actor, product_id: int, *, customer_id: int | None = None, customer_type: int | None = None
) -> bool:
    """Take back a grant to one customer (staff within their scope) or to a type (admins); True
    when there was one. Orders already placed keep their lines."""
    product = product_for(session, actor, product_id)
    if customer_type is not None:
        if actor.kind != ActorKind.ADMIN:
            raise Forbidden("只有管理员可以按客户类型授权", f"{actor} may not change grants to a customer type")
        where = ProductGrant.customer_type == customer_type
        detail: dict[str, Any] = {"customer_type": customer_type}
    elif customer_id is not None:
        customer = customer_for(session, actor, customer_id)
        where = ProductGrant.customer_id == customer.id
        detail = {"customer_id": customer.id}
    else:
        raise ValueError("customer_id or customer_type is required")
    grant = session.exec(select(ProductGrant).where(ProductGrant.product_id == product.id, where)).first()
    if grant is None:
        return False
    session.delete(grant)
    session.flush()
    audit(session, actor, "product.revoke", "product", product.id, detail | {"sku": product.sku})
    return True


def hide_product(session: Session, actor: Actor, product_id: int, customer_id: int, *, hidden: bool = True) -> bool:
    """Hide a product from one customer (a hide wins over a grant), or show it again
    (``hidden=False``). Staff within their scope; True when something changed."""
    if actor.kind not in (ActorKind.ADMIN, ActorKind.SALES):
        raise Forbidden("只有员工可以隐藏商品", f"{actor} may not hide products")
    product = product_for(session, actor, product_id)
    customer = customer_for(session, actor, customer_id)
    row = session.exec(
        select(ProductHide).where(ProductHide.product_id == product.id, ProductHide.customer_id == customer.id)
    ).first()
    if (row is not None) == hidden:
        return False
    if hidden:
        try:
            with session.begin_nested():
                session.add(ProductHide(product_id=product.id, customer_id=customer.id))
                session.flush()
        except IntegrityError:  # hidden by another request just now
            return False
    else:
        session.delete(row)
        session.flush()
    audit(
        session,
        actor,
        "product.hide" if hidden else "product.unhide",
        "product",
        product.id,
        {"customer_id": customer.id, "sku": product.sku},
    )
    return True


# --------------------------------------------------------------------------- prices (A9)


def set_price(
    session: Session,
    actor: Actor,
    product_id: int,
    price: str | Decimal | None,
    *,
    customer_id: int | None = None,
    customer_type: int | None = None,
) -> CustomerPrice | None:
    """Agree a price for one customer (staff within their scope) or for a customer type (admins),
    overriding the list price; ``price=None`` goes back to the list price. The customer's own
    price wins over its type's (``visibility.price_for``)."""
    if actor.kind not in (ActorKind.ADMIN, ActorKind.SALES):
        raise Forbidden("只有员工可以设置价格", f"{actor} may not set prices")
    product = product_for(session, actor, product_id)
    if customer_type is not None:
        if actor.kind != ActorKind.ADMIN:
            raise Forbidden("只有管理员可以设置客户类型价格", f"{actor} may not set a customer type's price")
        if customer_type not in (1, 2):
            raise InvalidInput("客户类型只能是 1 或 2", f"customer type must be 1 or 2, not {customer_type!r}")
        where, who = CustomerPrice.customer_type == customer_type, {"customer_type": customer_type}
    elif customer_id is not None:
        customer = customer_for(session, actor, customer_id)
        where, who = CustomerPrice.customer_id == customer.id, {"customer_id": customer.id}
    else:
        raise ValueError("customer_id or customer_type is required")
    row = session.exec(select(CustomerPrice).where(CustomerPrice.product_id == product.id, where)).first()
    if price is None or (isinstance(price, str) and not price.strip()):
        if row is not None:
            session.delete(row)
            session.flush()
            audit(session, actor, "price.clear", "product", product.id, who | {"sku": product.sku})
        return None
    amount = _cell("price", price)
    if row is None:
        row = CustomerPrice(product_id=product.id, price=amount, **who)
    elif row.price == amount:
        return row
    else:
        row.price = amount
    session.add(row)
    session.flush()
    audit(session, actor, "price.set", "product", product.id, who | {"sku": product.sku, "price": str(amount)})
    return row


# --------------------------------------------------------------------------- who sees it at what price, on one page


@dataclass(frozen=True)
class CustomerPriceRow:
    customer: Customer
    price: Decimal


@dataclass(frozen=True)
class ProductAccess:
    """A product as its staff detail page shows it (A3, A9): who it is granted to, who it is
    hidden from, and the agreed prices, of the customers ``actor`` may see (another
    salesperson's customers are left out, S3); grants and prices per customer type are every
    customer's and always shown."""

    product: Product
    may_change: bool
    """``may_change``: the actor may edit its fields."""
    granted_customers: list[Customer]
    granted_types: list[int]
    hidden_from: list[Customer]
    customer_prices: list[CustomerPriceRow]
    type_prices: dict[int, Decimal]


def product_access(session: Session, actor: Actor, product_id: int) -> ProductAccess:
    """The product ``product_id`` (staff within their scope, ``scope.product_for``) with its
    grants, hides and agreed prices."""
    product = product_for(session, actor, product_id)

    def of_mine(model):
        return (
            select(Customer)
            .join(model, model.customer_id == Customer.id)
            .where(model.product_id == product.id, customers_of(actor))
            .order_by(Customer.id)
        )

    prices = session.exec(
        select(CustomerPrice, Customer)
        .join(Customer, Customer.id == CustomerPrice.customer_id)
        .where(CustomerPrice.product_id == product.id, customers_of(actor))
        .order_by(Customer.id)
    ).all()
    type_grants = session.exec(
        select(ProductGrant.customer_type).where(
            ProductGrant.product_id == product.id, ProductGrant.customer_type.is_not(None)
        )
    ).all()
    type_prices = session.exec(
        select(CustomerPrice.customer_type, CustomerPrice.price).where(
            CustomerPrice.product_id == product.id, CustomerPrice.customer_type.is_not(None)
        )
    ).all()
    return ProductAccess(
        product=product,
        may_change=may_change(actor, product),
        granted_customers=list(session.exec(of_mine(ProductGrant)).all()),
        granted_types=sorted(type_grants),
        hidden_from=list(session.exec(of_mine(ProductHide)).all()),
        customer_prices=[CustomerPriceRow(customer, row.price) for row, customer in prices],
        type_prices=dict(type_prices),
    )


# --------------------------------------------------------------------------- packaging QR codes (A4)

MAX_QR_PAYLOAD = 512


def shop_qr_payload(sku: str) -> str:
    """The text of the shop's own packaging QR code for a spec: what a label printed here carries
    when the packaging has no code of its own (``bridge.qrlabels``)."""
    return f"JHT:QR:1:{sku}"


def add_qr(session: Session, actor: Actor, product_id: int, payload: str, marking: str | None = None) -> ProductQR:
    """Tie a packaging QR code's text to a product spec (``marking``: what to prefill when it is
    scanned, if not the product's own). A code tied to another product is a Conflict; tying it to
    the same product again changes nothing."""
    product = _editable(session, actor, product_id)
    text = required_text(payload, "payload", "二维码内容", MAX_QR_PAYLOAD, multiline=False)
    marking = _cell("marking", marking)
    existing = session.exec(select(ProductQR).where(ProductQR.payload == text)).first()
    if existing is not None:
        if existing.product_id != product.id:
            raise Conflict(
                "该二维码已用于其他商品",
                f"QR payload already belongs to product {existing.product_id}",
                field="payload",
            )
        return existing
    qr = ProductQR(product_id=product.id, payload=text, marking=marking)
    try:
        with session.begin_nested():
            session.add(qr)
            session.flush()
    except IntegrityError:  # the same code raced in from another request
        raise Conflict("该二维码已用于其他商品", "QR payload was just taken", field="payload") from None
    audit(session, actor, "product.qr_add", "product", product.id, {"payload": text, "sku": product.sku})
    return qr


def qr_codes(session: Session, actor: Actor, product_id: int) -> list[ProductQR]:
    """The QR codes tied to a product the staff member may see."""
    product = product_for(session, actor, product_id)
    return list(session.exec(select(ProductQR).where(ProductQR.product_id == product.id).order_by(ProductQR.id)))


def remove_qr(session: Session, actor: Actor, product_id: int, qr_id: int) -> None:
    """Untie a QR code from a product (scanning it then finds nothing)."""
    product = _editable(session, actor, product_id)
    qr = session.get(ProductQR, qr_id)
    if qr is None or qr.product_id != product.id:
        raise NotFound("二维码不存在", f"QR code {qr_id} not found on product {product.sku}")
    session.delete(qr)
    session.flush()
    audit(session, actor, "product.qr_remove", "product", product.id, {"payload": qr.payload, "sku": product.sku})


class ItemCodeBook:
    """``bridge.connector.ItemCodes`` read from the products: the ERP item code of each sku
    (``Product.erp_item_code``) and back. A code two products share names neither: the ERP's
    answer for it cannot be told apart, so it is left out (the connector then says so)."""

    def __init__(self, engine):
        self.engine = engine

    def erp_item_codes(self, skus: list[str]) -> dict[str, str]:
        with read_scope(self.engine) as session:
            rows = session.exec(
                select(Product.sku, Product.erp_item_code).where(
                    Product.sku.in_(skus), Product.erp_item_code.is_not(None)
                )
            ).all()
        return {sku: code for sku, code in rows if code}

    def skus(self, erp_item_codes: list[str]) -> dict[str, str]:
        with read_scope(self.engine) as session:
            rows = session.exec(
                select(Product.erp_item_code, Product.sku).where(Product.erp_item_code.in_(erp_item_codes))
            ).all()
        found: dict[str, list[str]] = {}
        for code, sku in rows:
            found.setdefault(code, []).append(sku)
        return {code: skus[0] for code, skus in found.items() if len(skus) == 1}


def tell_product_ready(
    session: Session, actor: Actor, product_id: int, customer_id: int, note: str | None = None
) -> OutboxMessage:
    """Scenario 2: tell the customer their custom product is ready to order (``notify.ready``,
    a WeChat subscribe message where they accepted it). The staff user must see both the
    customer and the product, and the customer must see the product (granted to them). Audited."""
    customer = customer_for(session, actor, customer_id)
    product = product_for(session, actor, product_id)
    if not is_visible(session, customer, product.id):
        raise InvalidInput(
            "该客户还看不到这个商品，请先把它授权给该客户",
            f"product {product.id} is not visible to customer {customer.id}",
        )
    text = required_text(note, "note", "备注", 20, multiline=False) if note and note.strip() else ""
    row = enqueue_notice(
        session,
        "ready",
        customer_id=customer.id,
        product_id=product.id,
        product=product.name,
        spec=spec_text(product),
        note=text,
    )
    audit(session, actor, "product.ready_notice", "product", product.id, {"customer_id": customer.id})
    return row
