"""Custom-product inquiries (C11): a customer leaves one from the mini-program, their salesperson
(or an admin) follows it up and marks it handled."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from bridge.actors import Actor, audit
from bridge.db import Page, paginate
from bridge.errors import Forbidden
from bridge.models import ActorKind, Customer, Inquiry, InquiryStatus
from bridge.notes import staff_names
from bridge.scope import customers_of, inquiry_for, may_act_on
from bridge.text import required_text
from bridge.types import utcnow

MAX_INQUIRY = 2000


@dataclass(frozen=True)
class InquiryView:
    inquiry: Inquiry
    customer: Customer
    handled_by: str | None
    """The display name of who marked it handled."""


def create_inquiry(
    session: Session, actor: Actor, customer: Customer, body: str, account_id: int | None = None
) -> Inquiry:
    """A customer's inquiry for their salesperson; a blank one is refused."""
    if not may_act_on(actor, customer):
        raise Forbidden("无权为该客户留言", f"{actor} may not act on customer {customer.id}")
    text = required_text(body, "body", "询价内容", MAX_INQUIRY)
    row = Inquiry(customer_id=customer.id, account_id=account_id, body=text)
    session.add(row)
    session.flush()
    return row


def inquiry_page(
    session: Session, actor: Actor, *, status: InquiryStatus | None = None, page: int = 1
) -> Page[InquiryView]:
    """The inquiries of the customers ``actor`` may see, newest first."""
    stmt = select(Inquiry, Customer).join(Customer, Customer.id == Inquiry.customer_id).where(customers_of(actor))
    if status is not None:
        stmt = stmt.where(Inquiry.status == status)
    found = paginate(session, stmt.order_by(Inquiry.id.desc()), page)
    names = staff_names(session, {i.handled_by_id for i, _ in found.items})
    items = [InquiryView(i, c, names.get(i.handled_by_id)) for i, c in found.items]
    return Page(items, found.total, found.page, found.page_size)


def handle_inquiry(session: Session, actor: Actor, inquiry_id: int) -> InquiryView:
    """Mark an inquiry followed up (staff, within their scope); doing it again changes nothing."""
    if actor.kind not in (ActorKind.ADMIN, ActorKind.SALES):
        raise Forbidden("只有员工可以处理询价", f"{actor} may not handle inquiries")
    inquiry = inquiry_for(session, actor, inquiry_id)
    if inquiry.status != InquiryStatus.HANDLED:
        inquiry.status, inquiry.handled_by_id, inquiry.handled_at = InquiryStatus.HANDLED, int(actor.id), utcnow()
        session.add(inquiry)
        audit(session, actor, "inquiry.handle", "inquiry", inquiry.id, {"customer_id": inquiry.customer_id})
        session.flush()
    customer = session.get(Customer, inquiry.customer_id)
    return InquiryView(inquiry, customer, staff_names(session, {inquiry.handled_by_id}).get(inquiry.handled_by_id))
