"""审计日志 (admins only; ``bridge.audit`` refuses anyone else, and a salesperson gets the 403
page): who did what to which record and when, newest first, filterable by the actor, the
action, the entity and its id, and a range of days, with paging. The query is
``bridge.audit.audit_log``; the rows are written by the services that make the changes."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template

from bridge import audit
from bridge.errors import InvalidInput
from bridge.text import BadText
from webapi.admin.common import Admin, field_errors, is_htmx, page, page_number, reading
from webapi.auth import runtime

FILTERS = ("who", "action", "entity", "entity_id", "since", "until")
"""The query parameters of the page's filters (``bridge.audit.audit_log`` takes them as they are)."""


@get("/audit", sync_to_thread=True)
def audit_page(request: Request, admin: Admin) -> Template:
    """The audit log; a malformed filter (a date typed by hand) is shown at its field (422)."""
    chosen = {name: request.query_params.get(name, "")[:64] for name in FILTERS}
    tz = runtime(request).config.bridge.timezone
    errors: dict[str, str] = {}
    try:
        with reading(request) as session:
            log = audit.audit_log(
                session, admin.actor, tz=tz, page=page_number(request.query_params.get("page")), **chosen
            )
    except (InvalidInput, BadText) as exc:
        log, errors = None, field_errors(exc)
    template = (
        "audit/_table.html"
        if is_htmx(request) and request.headers.get("hx-target") == "audit-log"
        else "audit/list.html"
    )
    return page(
        template,
        admin,
        nav="audit",
        status_code=422 if errors else 200,
        log=log,
        chosen=chosen,
        errors=errors,
    )


PAGES = [audit_page]
