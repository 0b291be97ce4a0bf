"""商品: the product pages (A3, A9, C1). The list by kind with search and paging; a product made
or changed by hand with its full wheel spec; its detail with who may see it (grants of a custom
product to chosen customers and to customer types, hides from chosen customers) and the prices
agreed per customer and per type; the catalog's export and import (CSV or XLSX, a dry run first,
all rows or none).

The rules are ``bridge.products`` (who may make, change, grant, hide and price what),
``bridge.scope`` (which products and customers a salesperson sees) and ``bridge.catalog`` (the
sheet's columns and checks, admins only); a page parses, calls them and renders. The QR data and
labels of a product are a page of their own (``/admin/products/{id}/qr``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.params import Body
from litestar.response import Redirect, Response, Template

from bridge import catalog, customers, products
from bridge.errors import DomainError
from bridge.labels import PRODUCT_KIND_LABELS
from bridge.models import ProductKind
from bridge.orders import spec_text
from webapi.fields import PathId
from webapi.admin.common import Admin, field_errors, is_htmx, page, page_number, reading, writing

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
"""The largest catalog sheet the import takes (a sheet of 10,000 wheels is about 1 MB)."""

LABELS = {c.key: c.header for c in catalog.COLUMNS} | {"kind": "类型", "active": "上架"}
"""Each field's label: the catalog sheet's own header, so an error ("外径mm：必须大于 0") names
the field as the form shows it."""

TYPES = (1, 2)
KINDS = [(kind.value, text) for kind, text in PRODUCT_KIND_LABELS.items()]


def _kind(value: str | None) -> ProductKind | None:
    try:
        return ProductKind(value) if value else None
    except ValueError:
        return None


def _id(value: str) -> int:
    """A customer id or a customer type from a form (a browser sends what the page gave it)."""
    if not value.isdigit() or len(value) > 10:
        raise ValidationException("bad id")
    return int(value)


# --------------------------------------------------------------------------- the list


@get("/products", sync_to_thread=True)
def product_list(request: Request, admin: Admin) -> Template:
    """标准品 / 定制品 (or both), searched by name, code, marking or ERP item code, a page at a
    time, active or not (a salesperson: standard ones and their own custom ones)."""
    kind = _kind(request.query_params.get("kind"))
    q = (request.query_params.get("q") or "")[:64]
    with reading(request) as session:
        found = products.staff_catalog(
            session, admin.actor, kind=kind, q=q, page=page_number(request.query_params.get("page"))
        )
    return page("products/list.html", admin, nav="products", found=found, kind=kind, kinds=KINDS, q=q, spec=spec_text)


# --------------------------------------------------------------------------- making and editing


@dataclass
class ProductForm:
    sku: str = ""
    name: str = ""
    kind: str = ""
    erp_item_code: str = ""
    unit: str = ""
    price: str = ""
    shape: str = ""
    outer_diameter_mm: str = ""
    thickness_mm: str = ""
    bore_mm: str = ""
    abrasive: str = ""
    grit: str = ""
    hardness: str = ""
    bond: str = ""
    max_speed_ms: str = ""
    marking: str = ""
    description: str = ""
    active: str = ""
    """A checkbox: "1" when ticked, missing when not."""

    def values(self) -> dict[str, str]:
        """The typed fields (text) for ``products.create_product`` / ``update_product``."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("kind", "active")}


Form = Annotated[ProductForm, Body(media_type=RequestEncodingType.URL_ENCODED)]


def _form(admin, product_id: int | None, values: dict[str, Any], errors: dict[str, str], status: int = 200):
    return page(
        "products/form.html",
        admin,
        nav="products",
        status_code=status,
        product_id=product_id,
        values=values,
        errors=errors,
        label=LABELS,
        kinds=KINDS,
    )


@get("/products/new", sync_to_thread=True)
def new_product(request: Request, admin: Admin) -> Template:
    """The form for a new product: custom unless an admin chooses standard."""
    kind = _kind(request.query_params.get("kind")) or ProductKind.CUSTOM
    return _form(admin, None, {"kind": kind.value, "unit": "片", "active": True}, {})


@post("/products/new", sync_to_thread=True, status_code=303)
def create_product(request: Request, admin: Admin, data: Form) -> Template | Redirect:
    """Make the product (``products.create_product``), then its page; else the form with the
    field's error."""
    kind = _kind(data.kind) or ProductKind.CUSTOM
    try:
        with writing(request) as session:
            product = products.create_product(session, admin.actor, data.values(), kind)
            product_id = product.id
    except DomainError as exc:
        return _form(admin, None, data.values() | {"kind": kind.value, "active": True}, field_errors(exc), 422)
    return Redirect(f"/admin/products/{product_id}", status_code=303)


def _product_values(product) -> dict[str, Any]:
    values = {c.key: c.format(getattr(product, c.key)) for c in catalog.COLUMNS if c.key not in ("kind", "active")}
    return values | {"kind": product.kind.value, "active": product.active}


@get("/products/{product_id:int}/edit", sync_to_thread=True)
def edit_product(request: Request, admin: Admin, product_id: PathId) -> Template:
    """The edit form, for whoever may change the product (else 没有权限)."""
    with reading(request) as session:
        product = products.editable_product(session, admin.actor, product_id)
        values = _product_values(product)
    return _form(admin, product_id, values, {})


@post("/products/{product_id:int}/edit", sync_to_thread=True, status_code=303)
def update_product(request: Request, admin: Admin, product_id: PathId, data: Form) -> Template | Redirect:
    """Save the changed fields (``products.update_product``); the kind only where the form
    offered it (admins)."""
    changes: dict[str, Any] = data.values() | {"active": data.active == "1"}
    if data.kind:
        changes["kind"] = _kind(data.kind) or data.kind
    try:
        with writing(request) as session:
            products.update_product(session, admin.actor, product_id, changes)
    except DomainError as exc:
        values = changes | {"kind": data.kind or "", "active": data.active == "1"}
        return _form(admin, product_id, values, field_errors(exc), 422)
    return Redirect(f"/admin/products/{product_id}", status_code=303)


# --------------------------------------------------------------------------- the detail: who sees it at what price


def _access(request: Request, admin, product_id: int):
    with reading(request) as session:
        return products.product_access(session, admin.actor, product_id)


def _detail(admin, access, **extra) -> dict[str, Any]:
    return {
        "access": access,
        "product": access.product,
        "spec": spec_text(access.product),
        "values": _product_values(access.product),
        "types": TYPES,
        "label": LABELS,
        "errors": {},
        **extra,
    }


@get("/products/{product_id:int}", sync_to_thread=True)
def product_detail(request: Request, admin: Admin, product_id: PathId) -> Template:
    """The product's spec, price and state; who it is granted to and hidden from; its agreed
    prices; a link to its QR data and labels."""
    access = _access(request, admin, product_id)
    return page("products/detail.html", admin, nav="products", **_detail(admin, access))


def _section(request: Request, admin, product_id: int, name: str, status: int = 200, **extra) -> Template | Redirect:
    """After a change: for htmx the section ``name`` of the detail page anew, else back to the page."""
    if not is_htmx(request):
        return Redirect(f"/admin/products/{product_id}#{name}", status_code=303)
    access = _access(request, admin, product_id)
    return Template(
        f"products/_{name}.html", context={"admin": admin, **_detail(admin, access, **extra)}, status_code=status
    )


@dataclass
class WhoForm:
    customer_id: str = ""
    customer_type: str = ""
    price: str = ""
    hidden: str = "1"


Who = Annotated[WhoForm, Body(media_type=RequestEncodingType.URL_ENCODED)]


def _who(data: WhoForm) -> dict[str, int]:
    if data.customer_type:
        return {"customer_type": _id(data.customer_type)}
    return {"customer_id": _id(data.customer_id)}


@post("/products/{product_id:int}/grants", sync_to_thread=True, status_code=200)
def grant(request: Request, admin: Admin, product_id: PathId, data: Who) -> Template | Redirect:
    """Grant the custom product to a customer (``products.grant_product``) or to every customer
    of a type (``products.grant_to_type``, admins)."""
    who = _who(data)
    with writing(request) as session:
        if "customer_type" in who:
            products.grant_to_type(session, admin.actor, product_id, who["customer_type"])
        else:
            products.grant_product(session, admin.actor, product_id, who["customer_id"])
    return _section(request, admin, product_id, "grants")


@post("/products/{product_id:int}/ready", sync_to_thread=True, status_code=200)
def ready(request: Request, admin: Admin, product_id: PathId, data: Who) -> Template | Redirect:
    """Scenario 2: tell a granted customer their custom product is ready to order
    (``products.tell_product_ready``: a WeChat subscribe message through the outbox)."""
    customer_id = _id(data.customer_id)
    with writing(request) as session:
        products.tell_product_ready(session, admin.actor, product_id, customer_id)
    return _section(request, admin, product_id, "grants", ready_sent=customer_id)


@post("/products/{product_id:int}/grants/revoke", sync_to_thread=True, status_code=200)
def revoke(request: Request, admin: Admin, product_id: PathId, data: Who) -> Template | Redirect:
    """Take a grant back (``products.revoke_grant``)."""
    with writing(request) as session:
        products.revoke_grant(session, admin.actor, product_id, **_who(data))
    return _section(request, admin, product_id, "grants")


@post("/products/{product_id:int}/hides", sync_to_thread=True, status_code=200)
def hide(request: Request, admin: Admin, product_id: PathId, data: Who) -> Template | Redirect:
    """Hide the product from a customer, or show it again (``hidden=0``; ``products.hide_product``)."""
    with writing(request) as session:
        products.hide_product(session, admin.actor, product_id, _id(data.customer_id), hidden=data.hidden != "0")
    return _section(request, admin, product_id, "hides")


@post("/products/{product_id:int}/prices", sync_to_thread=True, status_code=200)
def price(request: Request, admin: Admin, product_id: PathId, data: Who) -> Template | Redirect:
    """Agree a price for a customer or a type, change it, or (blank) go back to the list price
    (``products.set_price``). With htmx the prices section comes back, with the price's error
    beside the row it belongs to."""
    who = _who(data)
    try:
        with writing(request) as session:
            products.set_price(session, admin.actor, product_id, data.price, **who)
    except DomainError as exc:
        if not is_htmx(request) or exc.data.get("field") != "price":
            raise
        row = f"type-{who['customer_type']}" if "customer_type" in who else f"customer-{who['customer_id']}"
        return _section(request, admin, product_id, "prices", 422, price_error={row: exc.message}, typed=data.price)
    return _section(request, admin, product_id, "prices")


@get("/products/{product_id:int}/pick", sync_to_thread=True)
def pick_customer(request: Request, admin: Admin, product_id: PathId) -> Template:
    """The customers (of the signed-in staff user) matching ``q``, each with the button of
    ``purpose``: 授权 (grant), 隐藏 (hide) or a price to agree (price)."""
    purpose = request.query_params.get("purpose")
    if purpose not in ("grant", "hide", "price"):
        raise ValidationException("bad purpose")
    q = (request.query_params.get("q") or "")[:64].strip()
    found = None
    if q:
        with reading(request) as session:
            found = customers.customer_page(session, admin.actor, search=q)
    context = {"product_id": product_id, "purpose": purpose, "q": q, "found": found}
    if is_htmx(request):
        return Template("products/_pick.html", context={"admin": admin, **context})
    return page("products/pick.html", admin, nav="products", **context)


# --------------------------------------------------------------------------- the catalog sheet


@get("/products/export", sync_to_thread=True)
def export(request: Request, admin: Admin) -> Response:
    """The whole catalog as a download (``catalog.export_catalog``, admins): xlsx, or csv with
    ``?format=csv``."""
    fmt = "csv" if request.query_params.get("format") == "csv" else "xlsx"
    with reading(request) as session:
        content = catalog.export_catalog(session, admin.actor, fmt)
    media = "text/csv" if fmt == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        content,
        media_type=media,
        headers={"content-disposition": f'attachment; filename="catalog.{fmt}"'},
    )


@get("/products/import", sync_to_thread=True)
def import_page(request: Request, admin: Admin) -> Template:
    """The import form (admins): a sheet, its format and encoding; 预览 checks it, 导入 applies it."""
    catalog.may_exchange_catalog(admin.actor)
    return page("products/import.html", admin, nav="products", report=None, label=LABELS, form={})


@dataclass
class ImportForm:
    file: UploadFile | None = None
    format: str = ""
    encoding: str = "auto"
    mode: str = "preview"
    """``preview``: a dry run; ``import``: write (all rows or none)."""


Upload = Annotated[ImportForm, Body(media_type=RequestEncodingType.MULTI_PART)]


@post("/products/import", sync_to_thread=True, status_code=200, request_max_body_size=MAX_UPLOAD_BYTES)
def import_sheet(request: Request, admin: Admin, data: Upload) -> Template:
    """Check (``mode=preview``) or import a sheet (``catalog.import_upload``): the report with
    every bad row, and nothing imported when there is one."""
    fmt = data.format if data.format in catalog.FORMATS else None
    encoding = data.encoding if data.encoding in catalog.ENCODINGS else "auto"
    form = {"format": fmt or "", "encoding": encoding}
    if data.file is None or not data.file.filename:
        return _import_result(request, admin, None, form, error="请选择要导入的文件", status=422)
    content = data.file.file.read(MAX_UPLOAD_BYTES + 1)
    dry_run = data.mode != "import"
    try:
        if dry_run:
            with reading(request) as session:
                report = catalog.import_upload(
                    session, admin.actor, data.file.filename, content, fmt, True, encoding=encoding
                )
        else:
            with writing(request) as session:  # a report with errors has written nothing
                report = catalog.import_upload(
                    session, admin.actor, data.file.filename, content, fmt, encoding=encoding
                )
    except DomainError as exc:
        if exc.status == 403:
            raise
        return _import_result(request, admin, None, form, error=exc.message, status=422)
    return _import_result(request, admin, report, form, status=200 if report.ok else 422)


def _import_result(request: Request, admin, report, form, *, error: str | None = None, status: int) -> Template:
    context = {"report": report, "error": error, "label": LABELS, "form": form}
    if is_htmx(request):
        return Template("products/_import_result.html", context={"admin": admin, **context}, status_code=status)
    return page("products/import.html", admin, nav="products", status_code=status, **context)


PAGES = [
    product_list,
    new_product,
    create_product,
    export,
    import_page,
    import_sheet,
    edit_product,
    update_product,
    product_detail,
    grant,
    revoke,
    ready,
    hide,
    price,
    pick_customer,
]
