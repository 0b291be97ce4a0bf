"""Custom-product inquiries (C11), both APIs: a customer leaves one and reads their own with the
answers; staff list, answer and follow them up. The rules are ``bridge.inquiries``."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.params import JSONBody, Parameter

from bridge import inquiries
from bridge.db import read_scope, session_scope
from bridge.models import InquiryStatus
from webapi import fields, views
from webapi.auth import Me, Staff, runtime, signed_in


class InquiryBody(msgspec.Struct):
    body: fields.text(2000, required=True)


class AnswerBody(msgspec.Struct):
    answer: fields.text(2000, required=True)


PageNo = Annotated[int, Parameter(ge=1, le=10000)]


@post("/inquiries", sync_to_thread=True, operation_id="mpInquiry", tags=["mp me"])
def leave_inquiry(request: Request, data: JSONBody[InquiryBody], me: Me) -> views.InquiryCreated:
    """Leave a custom-product inquiry for the salesperson (C11)."""
    with session_scope(runtime(request).engine) as session:
        who = signed_in(session, me)
        row = inquiries.create_inquiry(session, who.actor, who.customer, data.body, account_id=who.account.id)
        return views.inquiry_created(row)


@get("/inquiries", sync_to_thread=True, operation_id="mpInquiries", tags=["mp me"])
def my_inquiries(request: Request, me: Me, page: PageNo = 1) -> views.MyInquiryPage:
    """My own inquiries, newest first, with the salesperson's answer once given (C11)."""
    with read_scope(runtime(request).engine) as session:
        who = signed_in(session, me)
        return views.my_inquiry_page(inquiries.inquiry_page(session, who.actor, page=page))


@get("/inquiries", sync_to_thread=True, operation_id="salesInquiries", tags=["sales inquiries"])
def staff_inquiries(
    request: Request,
    staff: Staff,
    status: Annotated[str | None, Parameter(required=False, pattern="^(open|handled)$")] = None,
    page: PageNo = 1,
) -> views.InquiryPage:
    """My customers' custom-product inquiries, newest first."""
    with read_scope(runtime(request).engine) as session:
        found = inquiries.inquiry_page(
            session, staff.actor, status=InquiryStatus(status) if status else None, page=page
        )
        return views.inquiry_page(found)


@post(
    "/inquiries/{inquiry_id:int}/handle",
    sync_to_thread=True,
    operation_id="salesHandleInquiry",
    tags=["sales inquiries"],
    status_code=200,
)
def handle_inquiry(request: Request, inquiry_id: fields.PathId, staff: Staff) -> views.InquiryOut:
    """Mark an inquiry as followed up; doing it again changes nothing."""
    with session_scope(runtime(request).engine) as session:
        return views.inquiry_view(inquiries.handle_inquiry(session, staff.actor, inquiry_id))


@post(
    "/inquiries/{inquiry_id:int}/answer",
    sync_to_thread=True,
    operation_id="salesAnswerInquiry",
    tags=["sales inquiries"],
    status_code=200,
)
def answer_inquiry(
    request: Request, inquiry_id: fields.PathId, data: JSONBody[AnswerBody], staff: Staff
) -> views.InquiryOut:
    """Answer an inquiry: the customer reads it with their inquiries, and it is marked handled;
    answering again replaces the answer."""
    with session_scope(runtime(request).engine) as session:
        return views.inquiry_view(inquiries.answer_inquiry(session, staff.actor, inquiry_id, data.answer))


MP = [leave_inquiry, my_inquiries]
SALES = [staff_inquiries, handle_inquiry, answer_inquiry]
