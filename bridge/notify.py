"""Notices to people (``notify.*`` outbox rows): a new order for the salesperson (A5), a
shipment with its tracking number for the customer (C12), a cancellation.

Notifiers are plugins (``register_notifiers``). This built-in one writes each notice to the
log, so nothing is silently dropped before the WeChat notifier (``bridge.wechat``, registered
when ``wechat.shipment_template_id`` is set) is configured; every registered notifier gets
every notice.
"""

from __future__ import annotations

from typing import Any

from bridge import hookimpl
from bridge.logs import get_logger

log = get_logger("bridge.notify")


class LogNotifier:
    """Writes each notice as a log line (structured: kind and payload fields)."""

    name = "log"

    def notify(self, kind: str, payload: dict[str, Any]) -> None:
        log.info("notice", kind=kind, **{k: v for k, v in payload.items() if k != "kind"})


@hookimpl(trylast=True)
def register_notifiers():
    return [LogNotifier()]
