"""Custom-product inquiries (C11): a customer leaves one from the mini-program, their salesperson
(or an admin) follows it up, answers it (the customer reads the answer among their own
inquiries) and marks it handled."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from bridge.actors import Actor, audit
from bridge.db import Page, paginate
from bridge.errors import Forbidden
from bridge.models import ActorKind, Customer, Inquiry, InquiryStatus
from bridge.notes import staff_names
from bridge.outbox import enqueue_notice
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
    answered_by: str | None = None
    """The display name of who answered it."""


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
    enqueue_notice(session, "inquiry", customer_id=customer.id, inquiry_id=row.id)  # C11: the salesperson hears
    return row


def inquiry_page(
    session: Session, actor: Actor, *, status: InquiryStatus | None = None, page: int = 1
) -> Page[InquiryView]:
    """The inquiries of the customers ``actor`` may see, newest first (for a customer: their own,
    from any of their accounts)."""
    stmt = select(Inquiry, Customer).join(Customer, Customer.id == Inquiry.customer_id).where(customers_of(actor))
    if status is not None:
        stmt = stmt.where(Inquiry.status == status)
    found = paginate(session, stmt.order_by(Inquiry.id.desc()), page)
    names = staff_names(session, {x for i, _ in found.items for x in (i.handled_by_id, i.answered_by_id)})
    items = [InquiryView(i, c, names.get(i.handled_by_id), names.get(i.answered_by_id)) for i, c in found.items]
    return Page(items, found.total, found.page, found.page_size)


def _view(session: Session, inquiry: Inquiry, customer: Customer) -> InquiryView:
    names = staff_names(session, {inquiry.handled_by_id, inquiry.answered_by_id})
    return InquiryView(inquiry, customer, names.get(inquiry.handled_by_id), names.get(inquiry.answered_by_id))


def _staff_inquiry(session: Session, actor: Actor, inquiry_id: int, what: str) -> Inquiry:
    if actor.kind not in (ActorKind.ADMIN, ActorKind.SALES):
        raise Forbidden(f"只有员工可以{what}询价", f"{actor} may not handle inquiries")
    return inquiry_for(session, actor, inquiry_id)


def inquiry_detail(session: Session, actor: Actor, inquiry_id: int) -> InquiryView:
    """One inquiry with its customer and who handled and answered it (staff, within their scope:
    another salesperson's inquiry is NotFound, like one that does not exist)."""
    inquiry = _staff_inquiry(session, actor, inquiry_id, "查看")
    return _view(session, inquiry, session.get(Customer, inquiry.customer_id))


def _mark_handled(session: Session, actor: Actor, inquiry: Inquiry) -> None:
    if inquiry.status != InquiryStatus.HANDLED:
        inquiry.status, inquiry.handled_by_id, inquiry.handled_at = InquiryStatus.HANDLED, int(actor.id), utcnow()
        session.add(inquiry)
        audit(session, actor, "inquiry.handle", "inquiry", inquiry.id, {"customer_id": inquiry.customer_id})


def handle_inquiry(session: Session, actor: Actor, inquiry_id: int) -> InquiryView:
    """Mark an inquiry followed up (staff, within their scope); doing it again changes nothing."""
    inquiry = _staff_inquiry(session, actor, inquiry_id, "处理")
    _mark_handled(session, actor, inquiry)
    session.flush()
    return _view(session, inquiry, session.get(Customer, inquiry.customer_id))


def answer_inquiry(session: Session, actor: Actor, inquiry_id: int, text: str) -> InquiryView:
    """Answer an inquiry (staff, within their scope): the customer reads the answer with their
    inquiries; it marks the inquiry handled. Answering again replaces the answer (both are in
    the audit log); a blank answer is refused."""
    inquiry = _staff_inquiry(session, actor, inquiry_id, "回复")
    answer = required_text(text, "answer", "回复内容", MAX_INQUIRY)
    if answer != inquiry.answer:
        audit(
            session,
            actor,
            "inquiry.answer",
            "inquiry",
            inquiry.id,
            {"customer_id": inquiry.customer_id, "answer": answer, "previous_answer": inquiry.answer},
        )
        inquiry.answer, inquiry.answered_by_id, inquiry.answered_at = answer, int(actor.id), utcnow()
        session.add(inquiry)
    _mark_handled(session, actor, inquiry)
    session.flush()
    return _view(session, inquiry, session.get(Customer, inquiry.customer_id))
