"""A salesperson's notes on a customer or an order (A6): follow-up written from the phone or the
admin pages, shown newest first with their author's name."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from bridge.actors import Actor, audit
from bridge.errors import Forbidden
from bridge.models import ActorKind, Customer, Note, Order, StaffUser
from bridge.scope import may_act_on
from bridge.text import required_text

MAX_NOTE = 2000


@dataclass(frozen=True)
class NoteView:
    note: Note
    author: str | None
    """The author's display name (None when the user is gone)."""


def staff_names(session: Session, ids) -> dict[int, str]:
    """Display names of the staff users ``ids`` (ids that are None or unknown are left out)."""
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(session.exec(select(StaffUser.id, StaffUser.display_name).where(StaffUser.id.in_(ids))).all())


def _views(session: Session, rows: list[Note]) -> list[NoteView]:
    authors = staff_names(session, {n.author_id for n in rows})
    return [NoteView(n, authors.get(n.author_id)) for n in rows]


def notes_on(session: Session, *, customer: Customer | None = None, order: Order | None = None) -> list[NoteView]:
    """The notes on ``customer`` or on ``order``, newest first (the caller found it in scope)."""
    where = Note.customer_id == customer.id if customer is not None else Note.order_id == order.id
    return _views(session, list(session.exec(select(Note).where(where).order_by(Note.id.desc()))))


def add_note(session: Session, actor: Actor, body: str, customer: Customer, order: Order | None = None) -> NoteView:
    """Write a note on ``customer`` (or, with ``order``, on that order of the customer). Staff
    only, within their scope; a blank note is refused."""
    if actor.kind not in (ActorKind.ADMIN, ActorKind.SALES) or not actor.id or not actor.id.isdigit():
        raise Forbidden("只有员工可以写备注", f"{actor} may not write notes")
    if not may_act_on(actor, customer):
        raise Forbidden("只能为自己的客户写备注", f"{actor} may not act on customer {customer.id}")
    text = required_text(body, "body", "备注内容", MAX_NOTE)
    note = Note(
        author_id=int(actor.id), body=text, **({"order_id": order.id} if order else {"customer_id": customer.id})
    )
    session.add(note)
    session.flush()
    audit(
        session,
        actor,
        "note.add",
        "order" if order else "customer",
        order.order_no if order else customer.id,
        {"note_id": note.id},
    )
    return _views(session, [note])[0]
