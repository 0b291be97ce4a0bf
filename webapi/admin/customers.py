"""The 客户 pages: the customer list (search, the admins' queue of unassigned customers, merged
ones), a customer's page (accounts, addresses, orders, notes, custom products), the customer form
(create, scenario 2 / A7; edit: type A1, salesperson, ERP code A11), merging a duplicate with a
preview of what moves (A2), and importing the ERP's customer list from a sheet (A11).

Each handler parses, calls the services of ``bridge.customers`` (``customer_import``, ``notes``
…) and renders a template under ``customers/``; who may see or do what is decided there."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from bridge import customer_import, customers, notes, orders, products
from bridge.errors import DomainError, InvalidInput, NotFound
from bridge.models import ProductKind
from webapi import fields
from webapi.admin.common import Admin, field_errors, is_htmx, page, page_number, reading, writing
from webapi.auth import runtime, wake_dispatcher


@dataclass
class CustomerForm:
    """The customer form as typed; ``None``: the field was not on the form (a salesperson's form
    has no salesperson and no ERP code)."""

    name: str = ""
    contact_name: str = ""
    phone: str = ""
    type: str = ""
    salesperson_id: str | None = None
    erp_code: str | None = None

    def customer_type(self) -> Any:
        # "1" → 1; anything else goes to the service as typed, which refuses it (field "type")
        return int(self.type) if self.type.strip().isdigit() else self.type

    def salesperson(self) -> int | None:
        text = (self.salesperson_id or "").strip()
        if not text:
            return None
        return int(text) if text.isdigit() else 0  # 0: no such user, refused by the service

    def code(self) -> str | None:
        return self.erp_code if self.erp_code is not None and self.erp_code.strip() else None


@dataclass
class NoteForm:
    body: str = ""


@dataclass
class MergeForm:
    absorbed: str = ""


@dataclass
class ImportForm:
    file: UploadFile | None = None
    action: str = "check"


Form = Annotated[CustomerForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
NoteBody = Annotated[NoteForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
Merge = Annotated[MergeForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
Upload = Annotated[ImportForm, Body(media_type=RequestEncodingType.MULTI_PART)]


def _flag(value: Any) -> bool:
    return value in ("1", "true", "on")


def _id(text: str) -> int:
    if not text.strip().isdigit():
        raise NotFound("客户不存在", f"customer {text!r} is not an id")
    return int(text)


# --------------------------------------------------------------------------- list


@get("/customers", sync_to_thread=True)
def customer_list(request: Request, admin: Admin) -> Template:
    """客户: search by name, contact, phone or ERP code; admins also filter 无人跟进 (A10) and
    show merged customers."""
    query = request.query_params
    q = (query.get("q") or "").strip()[:64]
    unassigned, merged = _flag(query.get("unassigned")), _flag(query.get("merged"))
    with reading(request) as session:
        found = customers.customer_page(
            session,
            admin.actor,
            search=q or None,
            unassigned=unassigned,
            include_merged=merged,
            page=page_number(query.get("page")),
        )
    return page("customers/list.html", admin, nav="customers", found=found, q=q, unassigned=unassigned, merged=merged)


# --------------------------------------------------------------------------- create / edit


def _form_page(request: Request, admin: Admin, *, customer=None, values, errors=None, status_code=200) -> Template:
    with reading(request) as session:
        choices = customers.salesperson_choices(session) if admin.is_admin else []
    return page(
        "customers/form.html",
        admin,
        nav="customers",
        status_code=status_code,
        customer=customer,
        values=values,
        errors=errors or {},
        salespeople=choices,
    )


@get("/customers/new", sync_to_thread=True)
def new_customer(request: Request, admin: Admin) -> Template:
    """The form for a new customer (scenario 2: staff create the company before it orders)."""
    values = {"type": "2", "salesperson_id": str(admin.id) if not admin.is_admin else ""}
    return _form_page(request, admin, values=values)


@post("/customers/new", sync_to_thread=True, status_code=303)
def create_customer(request: Request, admin: Admin, data: Form) -> Template | Redirect:
    """Create the customer (``customers.create_customer``); its page, or the form with the errors."""
    rt = runtime(request)
    try:
        with writing(request) as session:
            customer = customers.create_customer(
                session,
                admin.actor,
                name=data.name,
                type=data.customer_type(),
                salesperson_id=data.salesperson() if admin.is_admin else None,
                phone=data.phone,
                contact_name=data.contact_name,
                erp_code=data.code() if admin.is_admin else None,
                connector=rt.config.connector.name,
            )
            customer_id = customer.id
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return _form_page(request, admin, values=vars(data), errors=field_errors(exc), status_code=422)
    wake_dispatcher(request)
    return Redirect(f"/admin/customers/{customer_id}?done=created", status_code=303)


@get("/customers/{customer_id:int}/edit", sync_to_thread=True)
def edit_customer_page(request: Request, admin: Admin, customer_id: fields.PathId) -> Template:
    """The form of a customer in the caller's scope, filled in."""
    with reading(request) as session:
        customer = customers.customer_for(session, admin.actor, customer_id)
    values = {
        "name": customer.name,
        "contact_name": customer.contact_name or "",
        "phone": customer.phone or "",
        "type": str(customer.type),
        "salesperson_id": str(customer.salesperson_id or ""),
        "erp_code": customer.erp_code or "",
    }
    return _form_page(request, admin, customer=customer, values=values)


@post("/customers/{customer_id:int}/edit", sync_to_thread=True, status_code=303)
def save_customer(request: Request, admin: Admin, customer_id: fields.PathId, data: Form) -> Template | Redirect:
    """Save the form (``customers.edit_customer``: data, type, salesperson, ERP code at once)."""
    rt = runtime(request)
    fields: dict[str, Any] = {"name": data.name, "phone": data.phone, "contact_name": data.contact_name}
    if admin.is_admin:
        fields["salesperson_id"] = data.salesperson()
    try:
        with writing(request) as session:
            edit = customers.edit_customer(
                session,
                admin.actor,
                customer_id,
                type=data.customer_type(),
                erp_code=data.erp_code if admin.is_admin else None,
                connector=rt.config.connector.name,
                **fields,
            )
            target = edit.customer.id
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        with reading(request) as session:
            customer = customers.customer_for(session, admin.actor, customer_id)
        return _form_page(
            request, admin, customer=customer, values=vars(data), errors=field_errors(exc), status_code=422
        )
    wake_dispatcher(request)
    return Redirect(f"/admin/customers/{target}?done=saved", status_code=303)


# --------------------------------------------------------------------------- detail and notes


DONE = {"created": "已创建客户", "saved": "已保存", "note": "已添加备注"}


@get("/customers/{customer_id:int}", sync_to_thread=True)
def customer_detail(request: Request, admin: Admin, customer_id: fields.PathId) -> Template | Redirect:
    """One customer: who they are, accounts, addresses, orders, notes, custom products granted.
    A merged customer's id leads to the customer it was merged into."""
    query = request.query_params
    with reading(request) as session:
        customer = customers.customer_for(session, admin.actor, customer_id)
        if customer.id != customer_id:
            return Redirect(f"/admin/customers/{customer.id}?merged_from={customer_id}", status_code=303)
        overview = customers.customer_overview(session, admin.actor, customer)
        found = orders.order_page(session, admin.actor, customer=customer, page=page_number(query.get("page")))
        custom = products.customer_catalog(session, admin.actor, customer, kind=ProductKind.CUSTOM)
    return page(
        "customers/detail.html",
        admin,
        nav="customers",
        o=overview,
        c=customer,
        found=found,
        custom=custom,
        done=DONE.get(query.get("done") or ""),
        merged_from=query.get("merged_from"),
        note_errors={},
        note_body="",
    )


@post("/customers/{customer_id:int}/notes", sync_to_thread=True, status_code=303)
def add_note(request: Request, admin: Admin, customer_id: fields.PathId, data: NoteBody) -> Template | Redirect:
    """Write a note on the customer (``notes.add_note``); htmx gets the notes again."""
    try:
        with writing(request) as session:
            customer = customers.customer_for(session, admin.actor, customer_id)
            notes.add_note(session, admin.actor, data.body, customer)
    except InvalidInput as exc:
        errors, body = field_errors(exc), data.body
    else:
        if not is_htmx(request):
            return Redirect(f"/admin/customers/{customer_id}?done=note#notes", status_code=303)
        errors, body = {}, ""
    with reading(request) as session:
        overview = customers.customer_overview(
            session, admin.actor, customers.customer_for(session, admin.actor, customer_id)
        )
    status = 422 if errors else 200
    context = {"o": overview, "c": overview.customer, "note_errors": errors, "note_body": body}
    if is_htmx(request):
        return Template("customers/_notes.html", context=context, status_code=status)
    return page("customers/notes.html", admin, nav="customers", status_code=status, **context)


# --------------------------------------------------------------------------- merge (A2)


@get("/customers/{customer_id:int}/merge", sync_to_thread=True)
def merge_page(request: Request, admin: Admin, customer_id: fields.PathId) -> Template:
    """Admins: choose the duplicate to merge into this customer (search), then the preview of
    exactly what would move (``customers.merge_preview``); nothing changes here."""
    query = request.query_params
    q = (query.get("q") or "").strip()[:64]
    absorbed = (query.get("absorbed") or "").strip()
    with reading(request) as session:
        survivor, found = customers.merge_candidates(
            session, admin.actor, customer_id, search=q or None, page=page_number(query.get("page"))
        )
        preview, refused = None, None
        if absorbed:
            try:
                preview = customers.merge_preview(session, admin.actor, survivor.id, _id(absorbed))
            except DomainError as exc:
                if isinstance(exc, NotFound):
                    refused = "要合并的客户不存在"
                else:
                    refused = exc.message
    return page(
        "customers/merge.html",
        admin,
        nav="customers",
        survivor=survivor,
        found=found,
        q=q,
        preview=preview,
        refused=refused,
    )


@post("/customers/{customer_id:int}/merge", sync_to_thread=True)
def merge(request: Request, admin: Admin, customer_id: fields.PathId, data: Merge) -> Template:
    """Admins: merge the chosen duplicate into this customer (``customers.merge_customers``) and
    say what moved."""
    with writing(request) as session:
        survivor = customers.customer_for(session, admin.actor, customer_id)
        result = customers.merge_customers(session, admin.actor, survivor.id, _id(data.absorbed))
        survivor_name = survivor.name
    wake_dispatcher(request)
    return page("customers/merged.html", admin, nav="customers", result=result, survivor_name=survivor_name)


# --------------------------------------------------------------------------- import (A11)


def _upload_name(filename: str) -> str:
    """The uploaded file's own name, safe to write in a folder of ours (its suffix tells the format)."""
    path = Path(filename.replace("\\", "/"))
    stem, suffix = path.stem.strip(". ") or "customers", path.suffix[:8]
    return stem[:80] + suffix


@get("/customers/import", sync_to_thread=True)
def import_page(request: Request, admin: Admin) -> Template:
    """Admins: upload the ERP's customer list (xlsx / csv) to check, then import."""
    customer_import.check_importer(admin.actor)
    return page("customers/import.html", admin, nav="customers", report=None, error=None)


@post("/customers/import", sync_to_thread=True, status_code=200)
def import_customers(request: Request, admin: Admin, data: Upload) -> Template:
    """检查 (a dry run: what each row would do, or every bad row) or 导入 (all rows or none,
    ``customer_import.import_erp_customers``)."""
    rt = runtime(request)
    dry_run = data.action != "import"
    report, error = None, None
    upload = data.file
    if upload is None or not upload.filename:
        error = "请选择要导入的文件（.xlsx 或 .csv）"
    else:
        name = _upload_name(upload.filename)
        try:
            with tempfile.TemporaryDirectory(prefix="jht-import-") as folder:
                path = Path(folder) / name
                path.write_bytes(upload.file.read())
                with writing(request) as session:
                    report = customer_import.import_erp_customers(
                        session,
                        admin.actor,
                        path,
                        connector=rt.config.connector.name,
                        settings=rt.config.customers,
                        dry_run=dry_run,
                    )
        except InvalidInput as exc:
            error = exc.message
    if report is not None and report.ok and not dry_run:
        wake_dispatcher(request)
    context = {"report": report, "error": error}
    status = 422 if error or (report is not None and not report.ok) else 200
    if is_htmx(request):
        return Template("customers/_import_result.html", context={"admin": admin, **context}, status_code=status)
    return page("customers/import.html", admin, nav="customers", status_code=status, **context)


PAGES = [
    customer_list,
    new_customer,
    create_customer,
    import_page,
    import_customers,
    customer_detail,
    edit_customer_page,
    save_customer,
    add_note,
    merge_page,
    merge,
]
