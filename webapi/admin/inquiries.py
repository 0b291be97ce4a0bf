"""询价: customers' custom-product inquiries (C11) with their status, scoped like the sales API (a
salesperson sees their own customers' only; another's reads 页面不存在), and on an inquiry's page
the answer the customer reads (C16) and 标记已处理, both with htmx. The rules are
``bridge.inquiries``'s (``inquiry_page``, ``inquiry_detail``, ``answer_inquiry``, ``handle_inquiry``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from bridge import inquiries
from bridge.errors import InvalidInput
from bridge.labels import INQUIRY_STATUS_LABELS
from bridge.models import InquiryStatus
from bridge.text import BadText
from webapi.fields import PathId
from webapi.admin.common import Admin, field_errors, is_htmx, page, page_number, reading, writing

NOTICES = {"answered": "回复已保存，客户可在小程序“我的询价”中看到", "handled": "已标记为已处理"}
"""What the inquiry's page says after a change (``?done=…``)."""

STATUSES = [(status.value, label) for status, label in INQUIRY_STATUS_LABELS.items()]
"""The status filter's choices: (code, label)."""


@dataclass
class AnswerForm:
    answer: str = ""


Answer = Annotated[AnswerForm, Body(media_type=RequestEncodingType.URL_ENCODED)]


def _status(value: str | None) -> InquiryStatus | None:
    try:
        return InquiryStatus(value) if value else None
    except ValueError:
        return None


@get("/inquiries", sync_to_thread=True)
def inquiry_list(request: Request, admin: Admin) -> Template:
    """The inquiries of the signed-in user's customers (an admin: all), newest first."""
    status = _status(request.query_params.get("status"))
    with reading(request) as session:
        found = inquiries.inquiry_page(
            session, admin.actor, status=status, page=page_number(request.query_params.get("page"))
        )
    template = "inquiries/_table.html" if request.headers.get("hx-target") == "inquiries" else "inquiries/list.html"
    return page(template, admin, nav="inquiries", found=found, statuses=STATUSES, status=status.value if status else "")


@get("/inquiries/{inquiry_id:int}", sync_to_thread=True)
def inquiry_detail(request: Request, admin: Admin, inquiry_id: PathId) -> Template:
    """One inquiry, its answer and the form to give or change it."""
    with reading(request) as session:
        view = inquiries.inquiry_detail(session, admin.actor, inquiry_id)
    flash = NOTICES.get(request.query_params.get("done", ""))
    return page("inquiries/detail.html", admin, nav="inquiries", v=view, errors={}, draft=None, flash=flash)


@post("/inquiries/{inquiry_id:int}/answer", sync_to_thread=True, status_code=303)
def answer(request: Request, admin: Admin, inquiry_id: PathId, data: Answer) -> Template | Redirect:
    """Give or replace the answer (it marks the inquiry handled); an empty one is shown at the
    field (422). With htmx the inquiry part of the page is swapped, else the page is reloaded."""
    errors: dict[str, str] = {}
    try:
        with writing(request) as session:
            inquiries.answer_inquiry(session, admin.actor, inquiry_id, data.answer)
    except (InvalidInput, BadText) as exc:
        errors = field_errors(exc)
    if not errors and not is_htmx(request):
        return Redirect(f"/admin/inquiries/{inquiry_id}?done=answered", status_code=303)
    with reading(request) as session:
        view = inquiries.inquiry_detail(session, admin.actor, inquiry_id)
    context = {"v": view, "errors": errors, "draft": data.answer if errors else None}
    context["saved"] = None if errors else NOTICES["answered"]
    name = "inquiries/_inquiry.html" if is_htmx(request) else "inquiries/detail.html"
    return page(name, admin, nav="inquiries", status_code=422 if errors else 200, **context)


@post("/inquiries/{inquiry_id:int}/handle", sync_to_thread=True, status_code=303)
def handle(request: Request, admin: Admin, inquiry_id: PathId) -> Template | Redirect:
    """Mark an inquiry handled (again: nothing changes). From the list (htmx) its row is swapped."""
    with writing(request) as session:
        view = inquiries.handle_inquiry(session, admin.actor, inquiry_id)
    if is_htmx(request):
        return page("inquiries/_row.html", admin, v=view)
    return Redirect(f"/admin/inquiries/{inquiry_id}?done=handled", status_code=303)


PAGES = [inquiry_list, inquiry_detail, answer, handle]
