"""The 同步 page and the full 工作台 (issue #14): the figures of the sync with the ERP (one count for
the dashboard, /metrics and ``check``, O3), the outbox messages with the E8 preview of what is sent,
retrying dead letters (E6) and replaying ERP events, driven in Debian's Chromium against a live
bridge (tests/admin_site.py)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bridge import dashboard, inbox, labels, outbox
from bridge.actors import CLI_ADMIN
from bridge.demo import ADMIN_LOGIN, SALES_LOGIN, load_demo_data
from bridge.errors import Forbidden, InvalidInput
from bridge.diagnose import CachedChecks, CheckResult, _stuck_messages, run_checks
from bridge.models import (
    AuditLog,
    Customer,
    InboxEvent,
    InboxStatus,
    Order,
    OrderStatus,
    OutboxMessage,
    OutboxStatus,
    StaffUser,
)
from bridge.outbox import preview_message
from bridge.syncstate import sync_state
from bridge.types import utcnow
from tests.admin_site import Site, page_errors, shoot, signed_in
from tests.api_helpers import LiveServer, make_client
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


# --------------------------------------------------------------------------- the pages in a browser


@pytest.fixture
def sync_site(engine, tmp_path):
    """A live bridge with the demo data, plus: a customer nobody follows; an order T-0001 of the
    demo salesperson's customer; of the demo's waiting messages one dead with the ERP's words
    and the oldest waiting one 3½ minutes old; ERP events: one parked for T-0001 (now known), one
    quarantined that a replay can read, one quarantined file nobody can, one dead, and the last
    one received: an applied shipment."""
    client, rt = make_client(engine, tmp_path)
    with Session(rt.engine) as s:
        load_demo_data(s, CLI_ADMIN)
        sales = s.exec(select(StaffUser).where(StaffUser.username == SALES_LOGIN[0])).one()
        mine = s.exec(select(Customer).where(Customer.salesperson_id == sales.id)).first()
        s.add(Customer(name="无人跟进的客户", type=1, salesperson_id=None))
        s.add(
            Order(
                order_no="T-0001",
                customer_id=mine.id,
                status=OrderStatus.PENDING,
                idempotency_key="k1",
                request_hash="h",
            )
        )
        waiting = s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert len(waiting) >= 3 and {m.status for m in waiting} == {OutboxStatus.PENDING}
        dead, oldest = waiting[0], waiting[1]
        dead.status, dead.attempts, dead.last_error = OutboxStatus.DEAD, 20, "ERP 拒绝：客户编码 C-9 已停用 [E42]"
        oldest.created_at = utcnow() - timedelta(seconds=210)
        notice = _message(s, mine.id, OutboxStatus.PENDING, target="notify", aggregate_id="T-0001")
        _event(
            s,
            1,
            InboxStatus.PARKED,
            age_s=900,
            payload={"order_no": "T-0001", "status": "生产中"},
            error="order T-0001 is not known to the bridge (yet)",
        )
        _event(
            s,
            2,
            InboxStatus.QUARANTINED,
            age_s=800,
            payload={"order_no": "T-0001", "erp_ref": "SO-77"},
            kind="order.accepted",
            error="erp_ref is missing",
        )
        _event(
            s,
            3,
            InboxStatus.QUARANTINED,
            age_s=700,
            kind="invalid",
            payload={"raw": "{not json"},
            error="bad.json: Expecting property name enclosed in double quotes",
            source="in/bad.json",
        )
        _event(
            s,
            4,
            InboxStatus.DEAD,
            age_s=600,
            payload={"order_no": "T-0001", "status": "半成品"},
            error="unknown ERP status '半成品': add it to [sync.status_map] in the config",
        )
        _event(s, 5, InboxStatus.APPLIED, age_s=120, kind="order.shipment", payload={"order_no": "T-0001"})
        s.commit()
        ids = {"dead": dead.id, "oldest": oldest.id, "notice": notice.id}
    with LiveServer(client.app) as server:
        site = Site(server, rt)
        site.erp_out = tmp_path / "erp" / "out"
        yield site, ids
    rt.connector.close()


def _event_id(site, event_id: str) -> int:
    with Session(site.rt.engine) as s:
        return s.exec(select(InboxEvent.id).where(InboxEvent.event_id == event_id)).one()


def _audit(site, action: str) -> list[AuditLog]:
    with Session(site.rt.engine) as s:
        return list(s.exec(select(AuditLog).where(AuditLog.action == action)).all())


def test_a10_o3_dashboard_shows_the_unassigned_queue_the_oldest_wait_the_last_event_and_the_check(sync_site, browser):
    """A10, O3 (issue #14 工作台): an admin's dashboard counts the customers nobody follows (a link
    to that queue), says how long the oldest waiting message has waited, when the last ERP event
    came and of what kind, and loads the report of ``jht-bridge check`` after the page rendered,
    with the same verdict."""
    site, _ = sync_site
    page = signed_in(browser, site, ADMIN_LOGIN)
    tile = page.locator("[data-name=unassigned-customers]")
    assert tile.locator(".num").inner_text() == "1"
    assert tile.get_attribute("href") == "/admin/customers?unassigned=1"
    assert page.locator("[data-name=awaiting-payment]").get_attribute("href") == "/admin/orders?waiting=1"
    today = utcnow().astimezone(ZoneInfo(site.rt.config.bridge.timezone)).date().isoformat()
    assert page.locator("[data-name=today-orders]").get_attribute("href") == f"/admin/orders?from={today}&to={today}"
    assert page.inner_text("[data-name=outbox-oldest]") == "最早一条已等待 3 分钟"
    assert page.inner_text("[data-name=outbox-dead] .num") == "1"
    assert page.locator("[data-name=outbox-dead]").get_attribute("href") == "/admin/sync?status=dead"
    assert page.inner_text("[data-name=inbox-parked] .num") == "1"
    assert page.inner_text("[data-name=inbox-quarantined] .num") == "2"
    assert page.inner_text("[data-name=inbox-dead] .num") == "1"
    last = page.inner_text("[data-name=last-event]")
    received = (utcnow() - timedelta(seconds=120)).astimezone(ZoneInfo(site.rt.config.bridge.timezone))
    assert "发货" in last and received.strftime("%m-%d %H:%M")[:-1] in last  # to the ten minutes

    page.wait_for_selector("#health[data-verdict]")  # htmx replaced the placeholder
    expected = run_checks(site.rt.config, site.rt.engine)
    assert (
        page.get_attribute("#health", "data-verdict") == "fail" == ("fail" if any(not r.ok for r in expected) else "ok")
    )
    assert f"{sum(not r.ok for r in expected)} 项失败" in page.inner_text("#health .verdict")
    line = page.locator('#health [data-check="outbox dead letters"]')
    assert (
        "失败" in line.inner_text() and "发送失败的消息" in line.inner_text() and "处理后重新发送" in line.inner_text()
    )
    assert "1 message(s) will not be delivered" not in line.inner_text()  # folded: for the IT person
    line.locator("summary").click()
    assert "1 message(s) will not be delivered" in line.inner_text()
    assert not page_errors(page)
    page.close()


def test_o3_the_health_check_is_cached_briefly():
    """O3: the dashboard's check asks the ERP; it runs at most once per ``ttl_s``."""
    clock = [0.0]
    runs = []
    cache = CachedChecks(ttl_s=30, clock=lambda: clock[0])

    def counting(config, engine):
        runs.append(1)
        return [CheckResult("x", True, "fine")]

    import bridge.diagnose as diagnose

    real, diagnose.run_checks = diagnose.run_checks, counting
    try:
        first = cache(None, None)
        clock[0] = 29.0
        assert cache(None, None) is first and len(runs) == 1
        clock[0] = 30.5
        assert cache(None, None) is not first and len(runs) == 2
    finally:
        diagnose.run_checks = real


@pytest.mark.parametrize(
    "path",
    ["/admin/sync", "/admin/sync?status=dead", "/admin/sync/events", "/admin/health", "/admin/sync/messages/{dead}"],
)
def test_a8_a_salesperson_cannot_open_the_sync_pages(sync_site, browser, path):
    """A8 (roles): 同步 and the connector's health are the admins': a salesperson gets the 403 page,
    with nothing of the ERP's words in it."""
    site, ids = sync_site
    page = signed_in(browser, site, SALES_LOGIN, phone=True)
    answer = page.goto(site.base_url + path.format(**ids))
    assert answer.status == 403
    body = page.inner_text("body")
    assert "只有管理员" in body and "E42" not in body and "#" + str(ids["dead"]) not in body
    page.close()


def test_a8_a_salesperson_sees_no_sync_state_on_the_dashboard_nor_retries_anything(sync_site, browser):
    site, ids = sync_site
    page = signed_in(browser, site, SALES_LOGIN)
    for name in ("unassigned-customers", "outbox-pending", "outbox-dead", "inbox-parked", "last-event"):
        assert page.locator(f"[data-name={name}]").count() == 0, name
    assert page.locator("#health-slot, #health").count() == 0 and "同步" not in page.inner_text("header")
    token = page.get_attribute("body", "hx-headers").split('"')[3]
    for url in (f"/admin/sync/messages/{ids['dead']}/retry", "/admin/sync/retry-dead"):
        refused = page.request.post(site.base_url + url, headers={"x-csrftoken": token}, max_redirects=0)
        assert refused.status == 403
    refused = page.request.post(
        f"{site.base_url}/admin/sync/events/{_event_id(site, 'e1')}/replay", headers={"x-csrftoken": token}
    )
    assert refused.status == 403
    parked = _event_id(site, "e1")
    with Session(site.rt.engine) as s:
        assert s.get(OutboxMessage, ids["dead"]).status == OutboxStatus.DEAD
        assert s.get(InboxEvent, parked).status == InboxStatus.PARKED
    page.close()


def test_e6_the_sync_page_lists_messages_filtered_by_state_and_kind(sync_site, browser):
    """E6, issue #14 同步: every message with its state, attempts and the ERP's words; the filters
    (htmx, the address follows) show only the chosen state and kind."""
    site, ids = sync_site
    page = signed_in(browser, site, ADMIN_LOGIN)
    page.goto(f"{site.base_url}/admin/sync")
    with Session(site.rt.engine) as s:
        total = len(s.exec(select(OutboxMessage)).all())
    assert page.locator("tr[data-message]").count() == min(total, 20)
    dead_row = page.locator(f'tr[data-message="{ids["dead"]}"]')
    assert "发送失败" in dead_row.inner_text() and "ERP 拒绝：客户编码 C-9 已停用 [E42]" in dead_row.inner_text()
    assert dead_row.locator("td").nth(4).inner_text() == "20"
    shoot(page, "sync")

    page.select_option("#f-status", "dead")
    page.wait_for_url("**/admin/sync?status=dead*")
    page.wait_for_function("document.querySelectorAll('tr[data-message]').length === 1")
    assert page.locator("tr[data-message]").get_attribute("data-message") == str(ids["dead"])

    page.select_option("#f-kind", "notify.new_order")  # dead and a notice: none
    page.wait_for_url("**kind=notify.new_order*")
    page.wait_for_selector("#message-table .empty")
    page.select_option("#f-status", "pending")
    page.wait_for_url("**/admin/sync?status=pending&kind=notify.new_order*")
    page.wait_for_function("document.querySelectorAll('tr[data-message]').length === 1")
    assert page.locator("tr[data-message]").get_attribute("data-message") == str(ids["notice"])
    assert "新订单提醒" in page.inner_text("tr[data-message]")
    page.goto(f"{site.base_url}/admin/sync?status=pending&kind=customer.upsert")
    rows = page.locator("tr[data-message]")
    assert rows.count() >= 2 and all("待发送" in t and "客户资料" in t for t in rows.all_inner_texts())
    assert not page_errors(page)
    page.close()


def test_e8_the_preview_shows_exactly_what_is_sent(sync_site, browser):
    """E8: a message's page shows what the connector would send — here the file of the file drop,
    its name and its text, as ``jht-bridge outbox preview`` prints it — and sends nothing."""
    site, ids = sync_site
    page = signed_in(browser, site, ADMIN_LOGIN)
    page.goto(f"{site.base_url}/admin/sync")
    page.click(f'tr[data-message="{ids["oldest"]}"] >> text=预览')
    page.wait_for_url(f"**/admin/sync/messages/{ids['oldest']}")
    with Session(site.rt.engine) as s:
        expected = preview_message(
            s, ids["oldest"], actor=CLI_ADMIN, connector=site.rt.connector, adjust=site.rt.adjust
        )
    assert expected.sent, "the file drop renders what it writes"
    part = page.locator(".sent[data-part='1']")
    assert expected.sent[0].title in part.locator("h3").inner_text()
    assert part.locator("pre").inner_text().strip() == expected.sent[0].text.strip()
    assert expected.document["name"] in part.locator("pre").inner_text()  # the customer's name, in Chinese
    shoot(page, "sync-message")
    assert not list(site.erp_out.iterdir())  # nothing was written for the ERP
    with Session(site.rt.engine) as s:
        assert s.get(OutboxMessage, ids["oldest"]).status == OutboxStatus.PENDING  # nothing was sent
    page.close()


def test_e6_a12_retry_a_dead_letter_in_the_browser(sync_site, browser):
    """E6, A12: the admin retries the dead letter from its row (htmx swaps the row): it is waiting
    again with its attempts from zero, and the audit log says who re-queued which message."""
    site, ids = sync_site
    page = signed_in(browser, site, ADMIN_LOGIN)
    page.goto(f"{site.base_url}/admin/sync?status=dead")
    row = page.locator(f'tr[data-message="{ids["dead"]}"]')
    row.locator("[data-action=retry]").click()
    page.wait_for_selector(f'tr[data-message="{ids["dead"]}"] .badge-pending')
    assert page.url.endswith("/admin/sync?status=dead")  # swapped in place, no reload
    assert page.locator(f'tr[data-message="{ids["dead"]}"] [data-action=retry]').count() == 0
    with Session(site.rt.engine) as s:
        message = s.get(OutboxMessage, ids["dead"])
        assert (message.status, message.attempts) == (OutboxStatus.PENDING, 0)
        admin = s.exec(select(StaffUser).where(StaffUser.username == ADMIN_LOGIN[0])).one()
    (entry,) = _audit(site, "outbox.retry")
    assert (entry.actor_kind.value, entry.actor_id, entry.entity_id) == ("admin", str(admin.id), str(ids["dead"]))
    assert entry.detail["ids"] == [ids["dead"]]
    assert not page_errors(page)
    page.close()


def test_e6_retry_every_dead_letter_at_once(sync_site, browser):
    site, ids = sync_site
    with Session(site.rt.engine) as s:
        s.get(OutboxMessage, ids["oldest"]).status = OutboxStatus.DEAD
        s.commit()
    page = signed_in(browser, site, ADMIN_LOGIN)
    page.goto(f"{site.base_url}/admin/sync")
    page.click("[data-action=retry-all]")
    page.wait_for_url("**/admin/sync?status=pending&requeued=2")
    assert "已将 2 条发送失败的消息重新排队" in page.inner_text(".notice")
    with Session(site.rt.engine) as s:
        assert not s.exec(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.DEAD)).all()
    (entry,) = _audit(site, "outbox.retry")
    assert sorted(entry.detail["ids"]) == sorted([ids["dead"], ids["oldest"]]) and entry.detail["all_dead"] is True
    page.close()


def test_e8_replay_a_parked_and_a_quarantined_erp_event_in_the_browser(sync_site, browser):
    """E8 (replay by hand), issue #14 同步: the events page lists those needing a person with the
    ERP's words and the raw document; replaying the parked one (its order is known now) applies
    it, a quarantined one the bridge can read now is applied too; a file nobody can read offers no
    replay. Each replay is audited."""
    site, _ = sync_site
    page = signed_in(browser, site, ADMIN_LOGIN)
    page.goto(f"{site.base_url}/admin/sync/events")
    listed = page.locator("tr[data-event]")
    assert listed.count() == 4  # parked, 2 quarantined, dead; not the applied shipment
    parked_id, fixed_id, broken_id = (_event_id(site, e) for e in ("e1", "e2", "e3"))
    parked = page.locator(f'tr[data-event="{parked_id}"]')
    assert "order T-0001 is not known to the bridge (yet)" in parked.inner_text()
    parked.locator("summary").click()
    assert '"status": "生产中"' in parked.locator("pre").inner_text()
    assert page.locator(f'tr[data-event="{broken_id}"] [data-action=replay]').count() == 0
    assert "in/bad.json" in page.locator(f'tr[data-event="{broken_id}"]').inner_text()

    parked.locator("[data-action=replay]").click()
    page.wait_for_selector(f'tr[data-event="{parked_id}"] .badge-applied')
    with Session(site.rt.engine) as s:
        assert s.get(InboxEvent, parked_id).status == InboxStatus.APPLIED
        assert s.exec(select(Order).where(Order.order_no == "T-0001")).one().status == OrderStatus.IN_PRODUCTION

    # a quarantined event whose document is readable (an upgrade reads it): replayed and applied
    with Session(site.rt.engine) as s:
        s.get(InboxEvent, fixed_id).payload = {"order_no": "T-0001", "erp_ref": "SO-77"}
        s.commit()
    page.locator(f'tr[data-event="{fixed_id}"] [data-action=replay]').click()
    page.wait_for_selector(f'tr[data-event="{fixed_id}"] .badge-applied')
    with Session(site.rt.engine) as s:
        assert s.exec(select(Order).where(Order.order_no == "T-0001")).one().erp_ref == "SO-77"
    replays = {e.entity_id: e.detail for e in _audit(site, "inbox.replay")}
    assert replays[str(parked_id)]["from"] == "parked" and replays[str(parked_id)]["to"] == "applied"
    assert replays[str(fixed_id)]["from"] == "quarantined"
    assert not page_errors(page)
    page.close()


# --------------------------------------------------------------------------- the services behind the page


def test_e6_the_outbox_list_filters_by_state_in_flight_included(session):
    """E6: the states of the list are the model's, plus 发送中: a waiting message a worker holds
    the lease of; an unknown state is refused, not ignored."""
    waiting = _message(session, 1, OutboxStatus.PENDING)
    leased = _message(session, 2, OutboxStatus.PENDING, lease_until=utcnow() + timedelta(seconds=60), leased_by="w")
    lapsed = _message(session, 3, OutboxStatus.PENDING, lease_until=utcnow() - timedelta(seconds=1), leased_by="w")
    dead = _message(session, 4, OutboxStatus.DEAD)
    session.commit()

    def ids(**kw):
        return [m.id for m in outbox.message_page(session, CLI_ADMIN, **kw).items]

    assert ids() == [dead.id, lapsed.id, leased.id, waiting.id]
    assert ids(state="pending") == [lapsed.id, leased.id, waiting.id]
    assert ids(state="in_flight") == [leased.id]
    assert ids(state="dead", kind="order.create") == [dead.id] and ids(kind="customer.upsert") == []
    assert [outbox.delivery_state(m) for m in (waiting, leased, lapsed, dead)] == [
        "pending",
        "in_flight",
        "pending",
        "dead",
    ]
    assert set(outbox.DELIVERY_STATES) <= set(labels.OUTBOX_STATUS_LABELS)
    with pytest.raises(InvalidInput):
        outbox.message_page(session, CLI_ADMIN, state="lost")


def test_e6_a12_retry_dead_requeues_only_dead_letters_and_audits_it(session):
    dead = _message(session, 1, OutboxStatus.DEAD, attempts=20, last_error="ERP down")
    other = _message(session, 2, OutboxStatus.DEAD, attempts=3)
    delivered = _message(session, 3, OutboxStatus.DELIVERED)
    session.commit()
    assert outbox.retry_dead(session, CLI_ADMIN, [dead.id, delivered.id]) == 1
    assert outbox.retry_dead(session, CLI_ADMIN, [delivered.id]) == 0  # nothing re-queued, nothing audited
    session.commit()
    session.refresh(dead)
    session.refresh(other)
    assert (dead.status, dead.attempts, other.status) == (OutboxStatus.PENDING, 0, OutboxStatus.DEAD)
    (entry,) = session.exec(select(AuditLog).where(AuditLog.action == "outbox.retry")).all()
    assert (entry.actor_id, entry.entity, entry.entity_id, entry.detail) == (
        "cli",
        "outbox",
        str(dead.id),
        {"ids": [dead.id], "all_dead": False},
    )


def test_a8_the_sync_services_refuse_a_salesperson(session):
    """A8: the outbox, its documents, the ERP events and the check report are the admins'."""
    from bridge.actors import Actor

    dead = _message(session, 1, OutboxStatus.DEAD)
    event = _event(session, 1, InboxStatus.PARKED)
    session.commit()
    sales = Actor.sales(1)
    for call in (
        lambda: outbox.message_page(session, sales),
        lambda: outbox.message_kinds(session, sales),
        lambda: outbox.message_for(session, sales, dead.id),
        lambda: outbox.retry_dead(session, sales),
        lambda: outbox.preview_message(session, dead.id, actor=sales, connector=None),
        lambda: inbox.event_page(session, sales),
        lambda: inbox.event_for(session, sales, event.id),
    ):
        with pytest.raises(Forbidden):
            call()
    session.rollback()
    assert session.get(OutboxMessage, dead.id).status == OutboxStatus.DEAD


def test_the_events_list_shows_those_needing_a_person_unless_told(session):
    rows = {s: _event(session, n, s) for n, s in enumerate(InboxStatus)}
    session.commit()

    def statuses(**kw):
        return {e.status for e in inbox.event_page(session, CLI_ADMIN, **kw).items}

    assert statuses() == set(inbox.NEEDS_A_PERSON) == {InboxStatus.PARKED, InboxStatus.QUARANTINED, InboxStatus.DEAD}
    assert statuses(status="all") == set(InboxStatus)
    assert statuses(status="ignored") == {InboxStatus.IGNORED}
    assert not inbox.replayable(rows[InboxStatus.APPLIED]) and inbox.replayable(rows[InboxStatus.PARKED])
    with pytest.raises(InvalidInput):
        inbox.event_page(session, CLI_ADMIN, status="lost")


def test_age_label_says_a_wait_as_people_do():
    assert labels.age_label(None) == ""
    assert labels.age_label(timedelta(seconds=59)) == "不到 1 分钟"
    assert labels.age_label(timedelta(minutes=3, seconds=30)) == "3 分钟"
    assert labels.age_label(timedelta(hours=2)) == "2 小时"
    assert labels.age_label(timedelta(hours=2, minutes=5)) == "2 小时 5 分钟"
    assert labels.age_label(timedelta(days=3, hours=4, minutes=9)) == "3 天 4 小时"


def test_o3_every_check_line_has_a_chinese_name_and_advice():
    """O3: the 工作台 shows every line of ``jht-bridge check`` under a Chinese name, and a failure or
    warning with what it means in Chinese; the names are taken from the checks themselves (those
    of a connector and of a notice channel are named after it)."""
    import re
    from pathlib import Path

    from bridge import diagnose

    source = Path(diagnose.__file__).read_text(encoding="utf-8")
    fixed = set(re.findall(r'CheckResult\(\s*"([^"]+)"', source))
    assert {"database", "demo logins", "salespeople", "outbox dead letters"} <= fixed
    for name in fixed:
        assert name in labels.CHECK_NAMES, f"check {name!r} has no Chinese name in bridge.labels.CHECK_NAMES"
    for name in fixed:
        assert not re.search(r"[a-z]{3,}", labels.check_name(name)), name  # wholly Chinese
    for name in (*fixed, "connector filedrop", "connector odbc: connect", "notify email", "notify wecom_robot"):
        zh, advice = labels.check_name(name), labels.check_advice(name)
        assert re.search(r"[\u4e00-\u9fff]", zh) and re.search(r"[\u4e00-\u9fff]", advice), (name, zh, advice)
    assert labels.check_name("notify email") == "新订单提醒（邮件）"
