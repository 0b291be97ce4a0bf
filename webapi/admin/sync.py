"""同步 (admins only): the sync with the ERP as a person handles it.

- ``/admin/sync``: the outbox — messages to the ERP and notices, filtered by state and kind, each
  with its attempts, next try and last error in the ERP's own words; retry one dead letter (a
  button in its row) or all of them (``bridge.outbox.retry_dead``, as ``jht-bridge outbox retry``).
- ``/admin/sync/messages/{id}``: one message and the E8 preview of exactly what would be sent
  (``bridge.outbox.preview_message``, as ``jht-bridge outbox preview``).
- ``/admin/sync/events``: events received from the ERP — by default those parked, quarantined or
  dead — with the reason, the raw document, and replay (``InboxPoller.replay``, as
  ``jht-bridge inbox replay``).
- ``/admin/health``: the report of ``jht-bridge check`` as a fragment the 工作台 loads after it
  renders (``Runtime.health``: cached briefly, it asks the ERP).

A salesperson gets the 403 page from the services (``bridge.syncstate.admins_only``).
"""

from __future__ import annotations

from litestar import Request, get, post
from litestar.response import Redirect, Template

from bridge import inbox, labels, outbox
from webapi.admin.common import Admin, is_htmx, page, page_number, reading, writing
from webapi import fields
from webapi.auth import runtime


def _number(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


@get("/sync", sync_to_thread=True)
def messages(request: Request, admin: Admin) -> Template:
    """The outbox, newest first, filtered by ``status`` (a state) and ``kind``."""
    params = request.query_params
    state, kind = params.get("status") or None, params.get("kind") or None
    with reading(request) as session:
        found = outbox.message_page(session, admin.actor, state=state, kind=kind, page=page_number(params.get("page")))
        kinds = outbox.message_kinds(session, admin.actor)
    return page(
        "sync/messages.html",
        admin,
        nav="sync",
        found=found,
        state_options=[(s, labels.OUTBOX_STATUS_LABELS[s]) for s in outbox.DELIVERY_STATES],
        kind_options=[(k, f"{labels.OUTBOX_KIND_LABELS.get(k, k)}（{k}）") for k in kinds],
        state=state or "",
        kind=kind or "",
        requeued=_number(params.get("requeued")),
        delivery_state=outbox.delivery_state,
    )


@get("/sync/messages/{message_id:int}", sync_to_thread=True)
def message(request: Request, admin: Admin, message_id: fields.PathId) -> Template:
    """One message and what delivering it would send (E8), without sending anything."""
    rt = runtime(request)
    with reading(request) as session:
        try:
            preview = outbox.preview_message(
                session, message_id, actor=admin.actor, connector=rt.connector, adjust=rt.adjust
            )
        except LookupError:
            preview = None
    if preview is None:
        return page("error.html", admin, status_code=404, status=404, message="页面不存在")
    return page(
        "sync/message.html",
        admin,
        nav="sync",
        preview=preview,
        m=preview.message,
        connector=rt.connector.name,
        delivery_state=outbox.delivery_state,
    )


@post("/sync/messages/{message_id:int}/retry", sync_to_thread=True, status_code=200)
def retry_one(request: Request, admin: Admin, message_id: fields.PathId) -> Template | Redirect:
    """Re-queue one dead letter; htmx gets its row again, a plain form the message's page."""
    with writing(request) as session:
        outbox.retry_dead(session, admin.actor, [message_id])
        row = outbox.message_for(session, admin.actor, message_id)
        if is_htmx(request):
            return Template("sync/_message_row.html", context={"m": row, "delivery_state": outbox.delivery_state})
    return Redirect(f"/admin/sync/messages/{message_id}", status_code=303)


@post("/sync/retry-dead", sync_to_thread=True, status_code=303)
def retry_all(request: Request, admin: Admin) -> Redirect:
    """Re-queue every dead letter, then show the waiting messages with how many were re-queued."""
    with writing(request) as session:
        n = outbox.retry_dead(session, admin.actor)
    return Redirect(f"/admin/sync?status=pending&requeued={n}", status_code=303)


@get("/sync/events", sync_to_thread=True)
def events(request: Request, admin: Admin) -> Template:
    """Events from the ERP, newest first: those needing a person, or those in ``status``."""
    params = request.query_params
    status = params.get("status") or ""
    with reading(request) as session:
        found = inbox.event_page(session, admin.actor, status=status, page=page_number(params.get("page")))
    return page(
        "sync/events.html",
        admin,
        nav="sync",
        found=found,
        status_options=[(s, labels.INBOX_STATUS_LABELS[s]) for s in labels.INBOX_STATUS_LABELS] + [("all", "全部")],
        status=status,
        replayable=inbox.replayable,
        replayed=_number(params.get("replayed")),
    )


@post("/sync/events/{inbox_id:int}/replay", sync_to_thread=True, status_code=200)
def replay(request: Request, admin: Admin, inbox_id: fields.PathId) -> Template | Redirect:
    """Apply one stored ERP event again; htmx gets its row with what became of it."""
    with reading(request) as session:
        inbox.event_for(session, admin.actor, inbox_id)  # NotFound (or Forbidden) before any work
    poller = runtime(request).poller()
    poller.replay(inbox_id, admin.actor)
    if not is_htmx(request):
        return Redirect(f"/admin/sync/events?status=all&replayed={inbox_id}", status_code=303)
    with reading(request) as session:
        row = inbox.event_for(session, admin.actor, inbox_id)
        return Template(
            "sync/_event_row.html", context={"e": row, "replayable": inbox.replayable, "replayed": inbox_id}
        )


@get("/health", sync_to_thread=True)
def health(request: Request, admin: Admin) -> Template:
    """The connector's and the bridge's health (``jht-bridge check``): a fragment for htmx, or a
    page of its own when opened as a link."""
    report = runtime(request).health(admin.actor)
    if is_htmx(request):
        return Template("sync/_health.html", context={"report": report})
    return page("sync/health.html", admin, nav="home", report=report)


PAGES = [messages, message, retry_one, retry_all, events, replay, health]
