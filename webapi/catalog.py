"""The catalog, both APIs: for the mini-program, the products this customer may see at their
prices (C1, C2) and scan-to-order (C4); for staff, the products they may see, making a custom
product and granting it to a customer (A3, A7).

The rules are ``bridge.products``, ``bridge.visibility`` and ``bridge.scope``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Request, get, post
from litestar.params import JSONBody, Parameter

from bridge import products
from bridge.db import read_scope, session_scope
from bridge.models import ProductKind
from webapi import fields, views
from webapi.auth import Me, Staff, runtime, signed_in

Page = Annotated[int, Parameter(ge=1, le=10000)]
KindFilter = Annotated[str | None, Parameter(pattern="^(standard|custom)$", required=False)]
Decimal_ = Annotated[str, msgspec.Meta(max_length=24, pattern=r"^ *[+-]?[0-9.,]+ *$")]
Money = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$")]
"""Money as a string, never a float: at least 0, at most two decimals."""


class ScanBody(msgspec.Struct):
    payload: fields.token(1, 1024)
    """The text of the packaging QR code, as scanned (or the ``q`` of WeChat's own scanner)."""


class ProductBody(msgspec.Struct):
    """A new product; text and decimal limits are the catalog's (``bridge.catalog.COLUMNS``)."""

    sku: fields.line(64, required=True)
    name: fields.line(128, required=True)
    price: Money
    kind: Literal["custom", "standard"] = "custom"
    """Salespeople create custom products only."""
    unit: fields.line(16, required=True) = "片"
    erp_item_code: fields.line(64) | None = None
    shape: fields.line(32) | None = None
    outer_diameter_mm: Decimal_ | None = None
    thickness_mm: Decimal_ | None = None
    bore_mm: Decimal_ | None = None
    abrasive: fields.line(32) | None = None
    grit: fields.line(16) | None = None
    hardness: fields.line(8) | None = None
    bond: fields.line(16) | None = None
    max_speed_ms: Decimal_ | None = None
    marking: fields.line(128) | None = None
    description: fields.text(2000) | None = None


class GrantBody(msgspec.Struct):
    customer_id: fields.Id


class ReadyBody(msgspec.Struct):
    customer_id: fields.Id
    note: fields.text(20) = ""


def _kind(value: str | None) -> ProductKind | None:
    return ProductKind(value) if value else None


# --------------------------------------------------------------------------- the mini-program


@get("/products", sync_to_thread=True, operation_id="mpProducts", tags=["mp catalog"])
def customer_products(
    request: Request, me: Me, kind: KindFilter = None, q: fields.Search = None, page: Page = 1
) -> views.ProductPage:
    """The products this customer may see, at their prices (C1, C2): by kind, searched by name,
    code or marking."""
    with read_scope(runtime(request).engine) as session:
        who = signed_in(session, me)
        return views.product_page(
            products.customer_catalog(session, who.actor, who.customer, kind=_kind(kind), q=q, page=page)
        )


@get("/products/{product_id:int}", sync_to_thread=True, operation_id="mpProduct", tags=["mp catalog"])
def customer_product(request: Request, product_id: fields.PathId, me: Me) -> views.ProductView:
    """One product, if this customer may see it (else 404, like a missing one)."""
    with read_scope(runtime(request).engine) as session:
        who = signed_in(session, me)
        return views.product_view(products.customer_product(session, who.actor, who.customer, product_id))


@post("/scan", sync_to_thread=True, operation_id="mpScan", tags=["mp catalog"], status_code=200)
def scan(request: Request, data: JSONBody[ScanBody], me: Me) -> views.ScanView:
    """A packaging QR code → the product and the spec and marking to prefill (C4); an unknown
    code and a product this customer may not see get the same 404."""
    with read_scope(runtime(request).engine) as session:
        who = signed_in(session, me)
        return views.scan_view(products.scan(session, who.actor, who.customer, data.payload))


# --------------------------------------------------------------------------- staff


@get("/products", sync_to_thread=True, operation_id="salesProducts", tags=["sales products"])
def staff_products(
    request: Request, staff: Staff, kind: KindFilter = None, q: fields.Search = None, page: Page = 1
) -> views.StaffProductPage:
    """The products I may see, active or not, by kind, searched by name, code or marking."""
    with read_scope(runtime(request).engine) as session:
        return views.staff_product_page(products.staff_catalog(session, staff.actor, kind=_kind(kind), q=q, page=page))


@post("/products", sync_to_thread=True, operation_id="salesCreateProduct", tags=["sales products"])
def add_product(request: Request, data: JSONBody[ProductBody], staff: Staff) -> views.StaffProductView:
    """Create a product (A7): custom by default and visible to nobody until granted; only admins
    create standard ones; a code (sku) already used answers 409."""
    values = {f: getattr(data, f) for f in data.__struct_fields__ if f != "kind"}
    with session_scope(runtime(request).engine) as session:
        return views.staff_product_view(products.create_product(session, staff.actor, values, ProductKind(data.kind)))


@post(
    "/products/{product_id:int}/grants", sync_to_thread=True, operation_id="salesGrantProduct", tags=["sales products"]
)
def grant_product(
    request: Request, product_id: fields.PathId, data: JSONBody[GrantBody], staff: Staff
) -> views.GrantView:
    """Make a custom product visible to one of my customers (A3, A7); granting again changes
    nothing, and ``visible_to_customer`` says whether a hide or an inactive product still wins."""
    with session_scope(runtime(request).engine) as session:
        return views.grant_view(products.grant_product(session, staff.actor, product_id, data.customer_id))


@post(
    "/products/{product_id:int}/ready",
    sync_to_thread=True,
    operation_id="salesProductReady",
    tags=["sales products"],
    status_code=202,
)
def product_ready(
    request: Request, product_id: fields.PathId, data: JSONBody[ReadyBody], staff: Staff
) -> views.NoticeQueued:
    """Tell one of my customers their custom product is ready to order (scenario 2): a WeChat
    subscribe message, sent through the outbox where the customer accepted the template."""
    with session_scope(runtime(request).engine) as session:
        row = products.tell_product_ready(session, staff.actor, product_id, data.customer_id, data.note or None)
        session.flush()
        return views.NoticeQueued(notice_id=row.id, kind=row.kind)


MP = [customer_products, customer_product, scan]
SALES = [staff_products, add_product, grant_product, product_ready]
