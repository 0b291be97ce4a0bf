"""商品 · 二维码: a product's packaging QR codes (list, add one, remove one), the bulk import of a
sheet of codes with its per-row report, and the printable label sheet (PDF) for chosen products.
Each handler parses, calls one service (``bridge.products`` for single codes, ``bridge.qrlabels``
for the sheet, the labels and the lists) and renders; the rules are there."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from bridge import products, qrlabels
from bridge.errors import DomainError
from bridge.labels import PRODUCT_KIND_LABELS
from bridge.models import ProductKind
from webapi.fields import PathId
from webapi.admin.common import Admin, field_errors, is_htmx, page, page_number, reading, writing


@dataclass
class CodeForm:
    payload: str = ""
    marking: str = ""


@dataclass
class UploadForm:
    file: UploadFile | None = None
    dry_run: str = ""


CodeBody = Annotated[CodeForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
UploadBody = Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)]
FormBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _codes_page(request: Request, admin: Admin, product_id: int, *, status: int = 200, **context: Any) -> Template:
    with reading(request) as session:
        found = qrlabels.product_codes(session, admin.actor, product_id)
    name = "qr/_codes.html" if is_htmx(request) else "qr/product.html"
    context = {"form": CodeForm(), "errors": {}} | context
    return page(name, admin, nav="products", status_code=status, found=found, **context)


@get("/products/{product_id:int}/qr", sync_to_thread=True)
def product_qr(request: Request, admin: Admin, product_id: PathId) -> Template:
    """The QR codes of one product, with the form to add one."""
    return _codes_page(request, admin, product_id)


@post("/products/{product_id:int}/qr", sync_to_thread=True, status_code=303)
def add_code(request: Request, admin: Admin, product_id: PathId, data: CodeBody) -> Template | Redirect:
    """Tie a code to the product (``products.add_qr``); a refusal re-renders the form with it."""
    try:
        with writing(request) as session:
            products.add_qr(session, admin.actor, product_id, data.payload, data.marking)
    except DomainError as exc:
        return _codes_page(request, admin, product_id, status=422, form=data, errors=field_errors(exc))
    if is_htmx(request):
        return _codes_page(request, admin, product_id, flash="二维码已添加")
    return Redirect(f"/admin/products/{product_id}/qr", status_code=303)


@post("/products/{product_id:int}/qr/{qr_id:int}/remove", sync_to_thread=True, status_code=303)
def remove_code(request: Request, admin: Admin, product_id: PathId, qr_id: PathId) -> Template | Redirect:
    """Untie a code from the product (``products.remove_qr``)."""
    with writing(request) as session:
        products.remove_qr(session, admin.actor, product_id, qr_id)
    if is_htmx(request):
        return _codes_page(request, admin, product_id, flash="二维码已删除")
    return Redirect(f"/admin/products/{product_id}/qr", status_code=303)


@get("/qr/import", sync_to_thread=True)
def import_form(request: Request, admin: Admin) -> Template:
    """The upload form of a sheet of QR codes."""
    return page("qr/import.html", admin, nav="products", report=None, errors={}, columns=qrlabels.COLUMNS)


def _upload_name(upload: UploadFile) -> str:
    """The uploaded file's own name (its suffix tells the format), without any folder."""
    name = Path((upload.filename or "").replace("\\", "/")).name.strip()
    return name[-100:] or "upload"


@post("/qr/import", sync_to_thread=True, status_code=200)
def import_sheet(request: Request, admin: Admin, data: UploadBody) -> Template:
    """Import the uploaded sheet (``qrlabels.import_qr_codes``): the result, or every bad row
    with nothing imported."""
    context: dict[str, Any] = {"report": None, "errors": {}, "columns": qrlabels.COLUMNS}
    if data.file is None or not data.file.filename:
        context["errors"] = {"file": "请选择要导入的文件"}
        return page("qr/import.html", admin, nav="products", status_code=422, **context)
    with tempfile.TemporaryDirectory(prefix="jht-qr-") as folder:
        path = Path(folder) / _upload_name(data.file)
        path.write_bytes(data.file.file.read())
        try:
            with writing(request) as session:
                report = qrlabels.import_qr_codes(session, admin.actor, path, dry_run=bool(data.dry_run))
        except DomainError as exc:
            context["errors"] = {"file": exc.message}
            return page("qr/import.html", admin, nav="products", status_code=422, **context)
    status = 200 if report.ok else 422
    return page("qr/import.html", admin, nav="products", status_code=status, **context | {"report": report})


def _kind(value: str | None) -> ProductKind | None:
    try:
        return ProductKind(value) if value else None
    except ValueError:
        return None


def _labels_page(request: Request, admin: Admin, *, status: int = 200, **context: Any) -> Template:
    params = request.query_params
    q, kind = (params.get("q") or "").strip()[:100], _kind(params.get("kind"))
    with reading(request) as session:
        found = qrlabels.label_candidates(session, admin.actor, q=q, kind=kind, page=page_number(params.get("page")))
    context = {"errors": {}, "chosen": {}, "columns": 3, "rows": 8} | context
    return page(
        "qr/labels.html",
        admin,
        nav="products",
        status_code=status,
        found=found,
        q=q,
        kind=kind.value if kind else "",
        kinds=[(k.value, label) for k, label in PRODUCT_KIND_LABELS.items()],
        limits=(qrlabels.MAX_COLUMNS, qrlabels.MAX_ROWS),
        **context,
    )


@get("/qr/labels", sync_to_thread=True)
def labels_form(request: Request, admin: Admin) -> Template:
    """The products to choose for a label sheet (search, kind, paging), a copies field each."""
    chosen = {int(v): 1 for v in request.query_params.getall("product", []) if v.isdigit()}
    return _labels_page(request, admin, chosen=chosen)


def _number(value: Any, default: int) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return default


def _as_list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value] if value else []


@post("/qr/labels", sync_to_thread=True, status_code=200)
def labels_pdf(request: Request, admin: Admin, data: FormBody) -> Response | Template:
    """The label sheet of the ticked products as a PDF download (``qrlabels.label_sheet``)."""
    ids = [int(v) for v in _as_list(data.get("product")) if str(v).isdigit()]
    chosen = {pid: _number(data.get(f"copies_{pid}"), 1) for pid in ids}
    columns, rows = _number(data.get("columns"), 3), _number(data.get("rows"), 8)
    choices = [qrlabels.LabelChoice(pid, copies) for pid, copies in chosen.items()]
    try:
        with writing(request) as session:  # a product without a code gets the shop's own first
            sheet = qrlabels.label_sheet(session, admin.actor, choices, columns=columns, rows=rows)
    except DomainError as exc:
        errors = field_errors(exc)
        return _labels_page(request, admin, status=exc.status, errors=errors, chosen=chosen, columns=columns, rows=rows)
    return Response(
        sheet.pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{sheet.filename}"'},
    )


PAGES = [product_qr, add_code, remove_code, import_form, import_sheet, labels_form, labels_pdf]
