"""The notices routed to people (issue #15), for staff: what was sent, to whom, through which
channel, with its outcome. The rules are ``bridge.notify.notification_page``."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get
from litestar.params import Parameter

from bridge import notify
from bridge.db import read_scope
from webapi import views
from webapi.auth import Staff, runtime

PageNo = Annotated[int, Parameter(ge=1, le=10000)]


@get("/notifications", sync_to_thread=True, operation_id="salesNotifications", tags=["sales notifications"])
def staff_notifications(
    request: Request,
    staff: Staff,
    channel: Annotated[str | None, Parameter(required=False, pattern="^(wecom_robot|wecom_app|email|wechat)$")] = None,
    outcome: Annotated[str | None, Parameter(required=False, pattern="^(sent|waiting|failed)$")] = None,
    page: PageNo = 1,
) -> views.NotificationPage:
    """The notices about my customers (an admin: all), newest first, by channel and outcome."""
    with read_scope(runtime(request).engine) as session:
        return views.notification_page(
            notify.notification_page(session, staff.actor, channel=channel, outcome=outcome, page=page)
        )


SALES = [staff_notifications]
