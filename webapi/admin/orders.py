"""订单 pages: the orders the signed-in staff user may see, filtered and paged, and one order with
its lines, timeline, shipments and notes, with the actions the state machine allows this user
now — 确认收款 (release), 取消订单, 添加备注.

The rules are in ``bridge``: the list is ``orders.order_listing`` (``order_page``: the one scope
rule), the detail ``orders.order_details``, the actions ``orders.release_order`` /
``cancel_order`` / ``note_order`` — the same services the sales API calls. An action posted by
htmx answers the parts of the page it changes (status and buttons, and out of band the timeline
and the notes); a refused one answers them with the service's message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from bridge import orders, scope
from bridge.errors import DomainError, NotFound
from bridge.labels import STATUS_LABELS
from bridge.models import OrderStatus
from bridge.orders import OrderDetails
from webapi.admin.common import Admin, field_errors, is_htmx, page, page_number, reading, writing
from webapi import fields
from webapi.auth import runtime, wake_dispatcher

UNASSIGNED = "unassigned"
"""The salesperson filter's value for the customers nobody follows (admins: A10)."""


@dataclass
class Filters:
    """The list's query as the form sends it (text, as typed)."""

    q: str = ""
    status: str = ""
    date_from: str = ""
    date_to: str = ""
    salesperson: str = ""
    waiting: bool = False
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, request: Request) -> Filters:
        params = request.query_params
        return cls(
            q=(params.get("q") or "").strip()[:100],
            status=params.get("status") or "",
            date_from=params.get("from") or "",
            date_to=params.get("to") or "",
            salesperson=params.get("salesperson") or "",
            waiting=params.get("waiting") == "1",
        )

    def _day(self, name: str, value: str) -> date | None:
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.errors[name] = "日期格式应为 年-月-日"
            return None

    def service_filters(self) -> dict[str, Any]:
        """The filters as ``orders.order_page`` takes them (a value that is not one is dropped,
        a malformed day reported in ``errors``)."""
        statuses = {s.value for s in OrderStatus}
        found: dict[str, Any] = {
            "search": self.q or None,
            "status": OrderStatus(self.status) if self.status in statuses else None,
            "awaiting_payment": self.waiting,
            "created_from": self._day("from", self.date_from),
            "created_to": self._day("to", self.date_to),
        }
        if self.salesperson == UNASSIGNED:
            found["unassigned"] = True
        elif self.salesperson.isdigit() and len(self.salesperson) < 10:
            found["salesperson_id"] = int(self.salesperson)
        return found


@get("/orders", sync_to_thread=True)
def order_list(request: Request, admin: Admin) -> Template:
    """The orders the user may see, newest first, by status / customer / days / salesperson."""
    filters = Filters.of(request)
    tz = runtime(request).config.bridge.timezone
    with reading(request) as session:
        listing = orders.order_listing(
            session,
            admin.actor,
            **filters.service_filters(),
            timezone=tz,
            page=page_number(request.query_params.get("page")),
        )
    context = {
        "rows": listing.rows,
        "filters": filters,
        "errors": filters.errors,
        "status_options": [(s.value, label) for s, label in STATUS_LABELS.items()],
        "sales_options": [(UNASSIGNED, "未分配业务员")]
        + [(u.id, u.display_name + ("" if u.active else "（已停用）")) for u in listing.salespeople],
    }
    if is_htmx(request) and request.headers.get("hx-history-restore-request") != "true":
        return page("orders/_table.html", admin, **context)
    return page("orders/list.html", admin, nav="orders", **context)


@get("/orders/{order_no:str}", sync_to_thread=True)
def order_detail(request: Request, admin: Admin, order_no: fields.OrderNo) -> Template:
    """One order: lines, stock check, address, shipments, timeline, notes and the actions."""
    return _detail_page(admin, _read(request, admin, order_no))


@dataclass
class CancelForm:
    reason: str = ""


@dataclass
class NoteForm:
    body: str = ""


def _read(request: Request, admin: Admin, order_no: str) -> OrderDetails:
    with reading(request) as session:
        return orders.order_details(session, admin.actor, scope.order_for(session, admin.actor, order_no))


def _detail_page(admin: Admin, details: OrderDetails, *, status_code: int = 200, **context: Any) -> Template:
    return page("orders/detail.html", admin, nav="orders", status_code=status_code, d=details, **context)


def _answer(request: Request, admin: Admin, details: OrderDetails, flash: str) -> Template | Redirect:
    """After an action: the changed parts for htmx, else back to the order (post/redirect/get)."""
    if not is_htmx(request):
        return Redirect(f"/admin/orders/{details.order.order_no}", status_code=303)
    return page("orders/_live.html", admin, d=details, flash=flash, oob=True)


def _refused(request: Request, admin: Admin, order_no: str, exc: DomainError, **form: str) -> Template:
    """A refused action: the order as it is now, with the service's message (422)."""
    if isinstance(exc, NotFound):
        raise exc
    details = _read(request, admin, order_no)
    errors = field_errors(exc)
    name = "orders/_live.html" if is_htmx(request) else "orders/detail.html"
    return page(name, admin, nav="orders", status_code=422, d=details, errors=errors, oob=True, form=form)


@post("/orders/{order_no:str}/release", sync_to_thread=True, status_code=200)
def release(request: Request, admin: Admin, order_no: fields.OrderNo) -> Template | Redirect:
    """确认收款: release a type-2 order to production; the ERP gets ``order.release``."""
    try:
        with writing(request) as session:
            done = orders.release_order(session, admin.actor, order_no)
    except DomainError as exc:
        return _refused(request, admin, order_no, exc)
    if done.changed:
        wake_dispatcher(request)
    return _answer(request, admin, done.details, "已确认收款，订单已放行生产")


Cancel = Annotated[CancelForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
Note = Annotated[NoteForm, Body(media_type=RequestEncodingType.URL_ENCODED)]


@post("/orders/{order_no:str}/cancel", sync_to_thread=True, status_code=200)
def cancel(request: Request, admin: Admin, order_no: fields.OrderNo, data: Cancel) -> Template | Redirect:
    """取消订单 with a reason (on the timeline); the ERP and the customer are told."""
    try:
        with writing(request) as session:
            done = orders.cancel_order(session, admin.actor, order_no, data.reason)
    except DomainError as exc:
        return _refused(request, admin, order_no, exc, reason=data.reason)
    wake_dispatcher(request)
    return _answer(request, admin, done.details, "订单已取消")


@post("/orders/{order_no:str}/notes", sync_to_thread=True, status_code=200)
def add_note(request: Request, admin: Admin, order_no: fields.OrderNo, data: Note) -> Template | Redirect:
    """添加备注: a follow-up note on the order (staff read it; the customer does not)."""
    try:
        with writing(request) as session:
            orders.note_order(session, admin.actor, order_no, data.body)
    except DomainError as exc:
        return _refused(request, admin, order_no, exc, body=data.body)
    return _answer(request, admin, _read(request, admin, order_no), "备注已添加")


PAGES = [order_list, order_detail, release, cancel, add_note]
