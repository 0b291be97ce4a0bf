"""通知: the notices routed to people (issue #15) — to whom, through which channel, what they said
and what became of them (sent, not accepted by the customer, waiting, failed with the channel's
words). An admin sees all; a salesperson those about their own customers. The rules are
``bridge.notify.notification_page``'s."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template

from bridge import notify
from bridge.errors import InvalidInput
from bridge.labels import CHANNEL_LABELS, NOTICE_OUTCOME_LABELS
from webapi.admin.common import Admin, page, page_number, reading

FILTER_OUTCOMES = [(k, v) for k, v in NOTICE_OUTCOME_LABELS.items() if k != "not_consented"]


@get("/notifications", sync_to_thread=True)
def notification_list(request: Request, admin: Admin) -> Template:
    """The routed notices, newest first, by channel and outcome."""
    channel = request.query_params.get("channel") or None
    outcome = request.query_params.get("outcome") or None
    with reading(request) as session:
        try:
            found = notify.notification_page(
                session,
                admin.actor,
                channel=channel,
                outcome=outcome,
                page=page_number(request.query_params.get("page")),
            )
        except InvalidInput:  # a filter value from a stale link: the whole list instead
            channel = outcome = None
            found = notify.notification_page(session, admin.actor)
    template = (
        "notifications/_table.html"
        if request.headers.get("hx-target") == "notifications"
        else "notifications/list.html"
    )
    return page(
        template,
        admin,
        nav="notifications",
        found=found,
        channels=list(CHANNEL_LABELS.items()),
        outcomes=FILTER_OUTCOMES,
        channel=channel or "",
        outcome=outcome or "",
    )


PAGES = [notification_list]
