"""The 同步 page and the full 工作台 (issue #14): the figures of the sync with the ERP (one count for
the dashboard, /metrics and ``check``, O3), the outbox messages with the E8 preview of what is sent,
retrying dead letters (E6) and replaying ERP events, driven in Debian's Chromium against a live
bridge (tests/admin_site.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from bridge import dashboard
from bridge.diagnose import _stuck_messages
from bridge.models import InboxEvent, InboxStatus, OutboxMessage, OutboxStatus
from bridge.syncstate import sync_state
from bridge.types import utcnow
from webapi.ops import Metrics


def _message(session, n: int, status: OutboxStatus, *, target: str = "erp", age_s: int = 0, **kw) -> OutboxMessage:
    row = OutboxMessage(
        target=target,
        kind=kw.pop("kind", "order.create" if target == "erp" else "notify.new_order"),
        ordering_key=f"customer:{n}",
        aggregate_type="order",
        aggregate_id=kw.pop("aggregate_id", f"T-{n:04d}"),
        payload=kw.pop("payload", {"order_no": f"T-{n:04d}"}),
        status=status,
        created_at=utcnow() - timedelta(seconds=age_s),
        **kw,
    )
    session.add(row)
    return row


def _event(session, n: int, status: InboxStatus, *, age_s: int = 0, kind: str = "order.status", **kw) -> InboxEvent:
    row = InboxEvent(
        connector="filedrop",
        event_id=f"e{n}",
        kind=kind,
        payload=kw.pop("payload", {"order_no": f"T-{n:04d}", "status": "生产"}),
        status=status,
        received_at=utcnow() - timedelta(seconds=age_s),
        **kw,
    )
    session.add(row)
    return row


def test_o3_the_dashboard_the_metrics_and_check_count_the_sync_alike(engine):
    """O3: one count of the outbox and the inbox (``bridge.syncstate``): the 工作台, /metrics and
    ``check`` read the same figures — the oldest waiting message's age and the last ERP event too."""
    with Session(engine) as s:
        _message(s, 1, OutboxStatus.PENDING, age_s=180)
        _message(s, 2, OutboxStatus.PENDING, age_s=30)
        _message(s, 3, OutboxStatus.PENDING, target="notify", age_s=60)
        _message(s, 4, OutboxStatus.DEAD, age_s=999)  # not waiting: not the oldest pending
        _message(s, 5, OutboxStatus.DEAD, target="notify")
        _message(s, 6, OutboxStatus.DELIVERED, age_s=5000)
        for n, status in enumerate(
            [InboxStatus.PARKED, InboxStatus.PARKED, InboxStatus.DEAD, InboxStatus.QUARANTINED, InboxStatus.APPLIED]
        ):
            _event(s, n, status, age_s=600 - n * 100)
        _event(s, 9, InboxStatus.APPLIED, age_s=40, kind="order.shipment")  # the last one received
        s.commit()

        state = sync_state(s)
        assert state.messages(OutboxStatus.PENDING) == 3 and state.messages(OutboxStatus.PENDING, "erp") == 2
        assert state.messages_by_target(OutboxStatus.DEAD) == {"erp": 1, "notify": 1}
        assert 179 <= state.oldest_pending_age().total_seconds() < 200
        assert state.last_event.kind == "order.shipment" and 39 <= state.last_event_age().total_seconds() < 60

        counts = dashboard.sync_counts(s)
        assert (counts.outbox_pending, counts.outbox_dead) == (3, 2)
        assert (counts.inbox_parked, counts.inbox_dead, counts.inbox_quarantined) == (2, 1, 1)
        assert 179 <= counts.oldest_pending_age.total_seconds() < 200
        assert counts.last_event.kind == "order.shipment"

        metrics = Metrics()
        metrics.refresh(s)

    def gauge(name: str, **labels) -> float:
        return metrics.registry.get_sample_value(name, labels or None)

    assert gauge("jht_outbox_pending", target="erp") == 2 and gauge("jht_outbox_pending", target="notify") == 1
    assert 179 <= gauge("jht_outbox_oldest_pending_seconds") < 200
    assert gauge("jht_outbox_dead_letters") == 2
    assert (gauge("jht_inbox_parked"), gauge("jht_inbox_dead"), gauge("jht_inbox_quarantined")) == (2, 1, 1)
    assert 39 <= gauge("jht_inbox_last_event_age_seconds") < 60

    lines = {line.name: line for line in _stuck_messages(engine)}
    assert lines["outbox dead letters"].detail.startswith("2 message(s) will not be delivered (1 to the ERP, 1 notice")
    assert lines["inbox parked events"].detail.startswith("2 ERP event(s)")
    assert lines["inbox dead events"].detail.startswith("1 ERP event(s)")
    assert lines["inbox quarantined events"].detail.startswith("1 ERP event(s)")


def test_o3_nothing_waiting_reads_zero_everywhere(engine):
    with Session(engine) as s:
        state = sync_state(s)
        metrics = Metrics()
        metrics.refresh(s)
    assert state.oldest_pending_age() is None and state.last_event is None
    assert metrics.registry.get_sample_value("jht_outbox_oldest_pending_seconds") == 0
    assert metrics.registry.get_sample_value("jht_inbox_last_event_age_seconds") == 0
    assert all(line.ok for line in _stuck_messages(engine))
