"""The inbox (E3, C8, C12, E2, E4): ERP events applied once, through the state machine, with
the cursor in the same transaction; unknown orders parked, bad events quarantined, backwards
moves ignored — each with its reason, and the loop goes on."""

from __future__ import annotations

import time

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bridge.config import InboxSection
from bridge.inbox import InboxPoller, load_cursor
from bridge.models import (
    Customer,
    InboxEvent,
    InboxStatus,
    Order,
    OrderEvent,
    OrderStatus,
    OutboxMessage,
    Shipment,
    ShipmentLine,
    StockSnapshot,
)
from tests.doubles.memory import MemoryConnector
from tests.sync_helpers import LOAD_LIMITS, Clock, make_shop, place


@pytest.fixture
def erp():
    return MemoryConnector()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def shop(engine):
    return make_shop(engine)


@pytest.fixture
def order(engine, shop):
    return place(engine, shop, shop["customers"][0], qty=4)


def poller(engine, erp, clock, **kw):
    return InboxPoller(
        engine, erp, settings=kw.pop("settings", InboxSection(park_retry_s=10, park_max_attempts=3)), clock=clock, **kw
    )


def fresh(engine, model, id_):
    with Session(engine) as s:
        return s.get(model, id_)


def inbox(engine):
    with Session(engine) as s:
        return {r.event_id: r for r in s.exec(select(InboxEvent))}


def test_e3_status_event_moves_the_order_and_the_cursor_together(engine, erp, clock, order):
    erp.emit("order.status", {"order_no": order.order_no, "status": "生产中", "erp_ref": "SO-1"})
    poller(engine, erp, clock).run_once()
    got = fresh(engine, Order, order.id)
    assert got.status == OrderStatus.IN_PRODUCTION and got.erp_ref == "SO-1"
    with Session(engine) as s:
        assert load_cursor(s, "memory") == "1"
        events = s.exec(select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id)).all()
    assert [(e.action, e.actor_kind.value, e.to_status) for e in events][-1] == (
        "status",
        "erp",
        OrderStatus.IN_PRODUCTION,
    )
    assert erp.acks == [("ev-1", "applied")]


def test_e3_the_same_event_twice_is_applied_once(engine, erp, clock, order):
    erp.emit(
        "order.shipment",
        {
            "order_no": order.order_no,
            "shipment_id": "S1",
            "courier": "顺丰速运",
            "tracking_no": "SF100",
            "lines": [{"sku": "WA-400", "quantity": 4}],
        },
        event_id="dup",
    )
    p = poller(engine, erp, clock)
    p.run_once()
    p.handle(erp.events[0])  # read again after a crash before the ack
    with Session(engine) as s:
        assert len(s.exec(select(Shipment)).all()) == 1
    assert erp.acks[-1] == ("dup", "ignored")


def test_e3_event_for_an_unknown_order_is_parked_then_applied_when_it_appears(engine, erp, clock, shop):
    # The number the bridge gives the first order of the day (bridge.orders.next_order_no): the
    # ERP hears of that order before the bridge has it.
    day = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y%m%d")
    early_for = f"{LOAD_LIMITS.number_prefix}-{day}-0001"
    erp.emit("order.status", {"order_no": early_for, "status": "in_production"})
    p = poller(engine, erp, clock)
    p.run_once()
    row = inbox(engine)["ev-1"]
    assert row.status == InboxStatus.PARKED and "not known" in row.error
    order = place(engine, shop, shop["customers"][0])  # the order the ERP was early for
    assert order.order_no == early_for
    assert p.run_once() == 0  # not due yet
    clock.advance(11)
    p.run_once()
    assert inbox(engine)["ev-1"].status == InboxStatus.APPLIED
    assert fresh(engine, Order, order.id).status == OrderStatus.IN_PRODUCTION


def test_e3_a_parked_event_becomes_dead_after_its_attempts(engine, erp, clock, shop):
    erp.emit("order.status", {"order_no": "NOPE-1", "status": "shipped"})
    p = poller(engine, erp, clock)
    p.run_once()
    for _ in range(3):
        clock.advance(11)
        p.run_once()
    row = inbox(engine)["ev-1"]
    assert row.status == InboxStatus.DEAD and "gave up after 3 attempts" in row.error


def test_e3_a_backwards_move_is_recorded_and_ignored(engine, erp, clock, order):
    erp.emit("order.status", {"order_no": order.order_no, "status": "shipped"})
    erp.emit("order.status", {"order_no": order.order_no, "status": "in_production"})
    poller(engine, erp, clock).drain()
    assert fresh(engine, Order, order.id).status == OrderStatus.SHIPPED
    row = inbox(engine)["ev-2"]
    assert row.status == InboxStatus.IGNORED and "ignored" in row.error


@pytest.mark.parametrize("word", ["完工待检", None, 42])
def test_e3_an_unknown_erp_status_is_dead_never_guessed(engine, erp, clock, order, word):
    erp.emit("order.status", {"order_no": order.order_no, "status": word})
    poller(engine, erp, clock).run_once()
    row = inbox(engine)["ev-1"]
    assert row.status == InboxStatus.DEAD and "sync.status_map" in row.error
    assert fresh(engine, Order, order.id).status == OrderStatus.PENDING


def test_e3_the_status_map_is_configurable(engine, erp, clock, order):
    erp.emit("order.status", {"order_no": order.order_no, "status": "完工待发"})
    poller(engine, erp, clock, status_map={"完工待发": "awaiting_shipment"}).run_once()
    assert fresh(engine, Order, order.id).status == OrderStatus.AWAITING_SHIPMENT


def test_e3_never_jumps_to_completed_without_shipping(engine, erp, clock, order):
    erp.emit("order.status", {"order_no": order.order_no, "status": "completed"})
    poller(engine, erp, clock).run_once()
    assert inbox(engine)["ev-1"].status == InboxStatus.DEAD
    assert fresh(engine, Order, order.id).status == OrderStatus.PENDING


def test_c8_c12_two_shipments_with_tracking_numbers_then_shipped(engine, erp, clock, order):
    erp.emit(
        "order.shipment",
        {
            "order_no": order.order_no,
            "shipment_id": "S1",
            "courier": "顺丰速运",
            "tracking_no": "SF1001",
            "lines": [{"sku": "WA-400", "quantity": 3}],
        },
    )
    erp.emit(
        "order.shipment",
        {
            "order_no": order.order_no,
            "shipment_id": "S2",
            "courier": "德邦物流",
            "tracking_no": "DB2002",
            "lines": [{"sku": "WA-400", "quantity": 1}],
            "order_status": "shipped",
        },
    )
    p = poller(engine, erp, clock)
    p.run_once()
    with Session(engine) as s:
        shipments = s.exec(select(Shipment).order_by(Shipment.id)).all()
        assert [(x.courier, x.tracking_no) for x in shipments] == [("顺丰速运", "SF1001"), ("德邦物流", "DB2002")]
        assert sum(item.quantity for item in s.exec(select(ShipmentLine))) == 4
        assert all(item.order_line_id is not None for item in s.exec(select(ShipmentLine)))
        notices = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "notify.shipment")).all()
        assert [n.payload["tracking_no"] for n in notices] == ["SF1001", "DB2002"]
    assert fresh(engine, Order, order.id).status == OrderStatus.SHIPPED


def test_c8_a_partial_shipment_leaves_the_status(engine, erp, clock, order):
    erp.emit("order.shipment", {"order_no": order.order_no, "shipment_id": "S1", "lines": []})
    poller(engine, erp, clock).run_once()
    assert fresh(engine, Order, order.id).status == OrderStatus.PENDING
    assert inbox(engine)["ev-1"].status == InboxStatus.APPLIED


def test_a1_payment_confirmed_in_the_erp_releases_without_echo(engine, erp, clock, order):
    erp.emit("order.released", {"order_no": order.order_no})
    poller(engine, erp, clock).run_once()
    assert fresh(engine, Order, order.id).released is True
    with Session(engine) as s:
        assert s.exec(select(OutboxMessage).where(OutboxMessage.kind == "order.release")).all() == []


def test_e2_stock_events_refresh_the_snapshot_and_old_figures_never_win(engine, erp, clock, shop):
    erp.emit("stock", {"items": {"WA-400": 12, "C-105": "3.5"}, "as_of": "2026-11-25T10:00:00+08:00"})
    erp.emit("stock", {"items": {"WA-400": 99}, "as_of": "2026-11-25T09:00:00+08:00"})
    poller(engine, erp, clock).drain()
    with Session(engine) as s:
        stock = {r.sku: r.quantity for r in s.exec(select(StockSnapshot))}
    assert stock == {"WA-400": Decimal("12"), "C-105": Decimal("3.5")}


def test_e4_customer_code_is_stored_and_a_clash_is_dead(engine, erp, clock, shop):
    a, b = shop["customers"]
    erp.emit("customer.code", {"customer_id": a.id, "erp_code": "K-001"})
    erp.emit("customer.code", {"customer_id": b.id, "erp_code": "K-001"})
    poller(engine, erp, clock).drain()
    assert fresh(engine, Customer, a.id).erp_code == "K-001"
    assert inbox(engine)["ev-2"].status == InboxStatus.DEAD and "already belongs" in inbox(engine)["ev-2"].error


@pytest.mark.parametrize(
    "kind,data,problem",
    [
        ("invalid", {}, "not valid JSON at line 1"),
        ("order.status", {"status": "shipped"}, None),
        ("order.shipment", {"order_no": "X", "shipment_id": "S", "lines": [{"sku": "A", "quantity": -1}]}, None),
        ("stock", {"items": {"A": "lots"}}, None),
        ("teleport", {"order_no": "X"}, None),
    ],
    ids=["unreadable-file", "missing-order-no", "negative-quantity", "bad-stock", "unknown-kind"],
)
def test_e6_malformed_events_are_quarantined_with_a_reason_and_the_loop_goes_on(
    engine, erp, clock, order, kind, data, problem
):
    erp.emit(kind, data, problem=problem)
    erp.emit("order.status", {"order_no": order.order_no, "status": "in_production"})
    poller(engine, erp, clock).drain()
    bad = inbox(engine)["ev-1"]
    assert bad.status == InboxStatus.QUARANTINED and bad.error
    assert erp.acks[0] == ("ev-1", "quarantined")
    assert fresh(engine, Order, order.id).status == OrderStatus.IN_PRODUCTION


def test_e3_replay_applies_a_dead_event_after_the_mapping_is_fixed(engine, erp, clock, order):
    erp.emit("order.status", {"order_no": order.order_no, "status": "排产"})
    poller(engine, erp, clock).run_once()
    row = inbox(engine)["ev-1"]
    assert row.status == InboxStatus.DEAD
    fixed = poller(engine, erp, clock, status_map={"排产": "in_production"})
    assert fixed.replay(row.id) == InboxStatus.APPLIED
    assert fresh(engine, Order, order.id).status == OrderStatus.IN_PRODUCTION


@pytest.mark.parametrize("backend", ["postgresql"])
def test_e3_the_inbox_lead_passes_on_to_the_next_worker_in_the_same_process(engine):
    """PostgreSQL: one inbox poller per connector, by a session-level advisory lock. A worker
    that stops (or loses its lock connection) must end that session, not hand it back to the
    pool lock and all: the next worker on the same engine becomes the poller."""
    import threading

    from bridge.worker import _InboxLeadership

    stop = threading.Event()
    with _InboxLeadership(engine, "memory", stop, 0.01) as first:
        assert first.held()
        with _InboxLeadership(engine, "memory", stop, 0.01) as rival:
            assert not rival.held()  # one poller at a time
        first._drop()  # as after an error on its connection
        assert not first.leading
    for _ in range(3):  # whichever pooled connection the next one gets, the lock is free
        with _InboxLeadership(engine, "memory", stop, 0.01) as nxt:
            assert nxt.held()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_e3_a_poller_whose_lock_session_died_stops_polling_once_another_took_the_lead(engine):
    """PostgreSQL: when the session holding the inbox lock ends under a live worker (the
    server restarted, the network cut it), the lock is free and another worker takes it; the
    first one notices at its next look (RECHECK_S) and polls no more: never two pollers."""
    import threading

    import sqlalchemy as sa

    from bridge.worker import _InboxLeadership

    stop = threading.Event()
    with (
        _InboxLeadership(engine, "memory", stop, 0.01) as first,
        _InboxLeadership(engine, "memory", stop, 0.01) as rival,
    ):
        first.RECHECK_S = 0.05
        assert first.held() and not rival.held()
        pid = first.conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        first.conn.commit()
        with engine.connect() as admin:
            admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            admin.commit()
        for _ in range(100):  # the server needs a moment to end the backend and free its lock
            if rival.held():
                break
        assert rival.leading
        time.sleep(0.1)
        assert not first.held()
        assert not first.leading


def test_e6_the_inbox_loop_backs_off_from_an_unreachable_erp_by_the_outboxs_formula(engine, erp):
    """E6: while ``pull_events`` fails, the inbox loop waits by the outbox's RetryPolicy (equal
    jitter, doubling from one poll interval up to ten of them, at most 30 s), for as long as
    the ERP is away (no overflow after many failures), and says so only once in a while."""
    from bridge.config import Config
    from bridge.worker import Worker

    class CountingStop:
        """Stands in for the worker's stop event: records each wait, stops after ``n``."""

        def __init__(self, n):
            self.n, self.waits = n, []

        def is_set(self):
            return len(self.waits) >= self.n

        def wait(self, seconds):
            self.waits.append(seconds)
            return self.is_set()

    erp.down = True
    config = Config.model_validate({"inbox": {"poll_interval_s": 2.0}}, context={"skip_existence_checks": True})
    worker = Worker(config, engine, erp, dispatch=False)
    worker.stop_event = CountingStop(1200)
    worker._inbox_loop()
    waits = worker.stop_event.waits
    for failures, full in [(1, 2), (2, 4), (3, 8), (4, 16), (5, 20), (1200, 20)]:
        assert full / 2 <= waits[failures - 1] <= full, (failures, waits[failures - 1])
    assert len({round(w, 6) for w in waits[10:]}) > 1  # jittered, not in lockstep


def test_p12_03_shipment_lines_are_held_against_the_order_and_progress_is_shown(engine, erp, clock, order, shop):
    """#12 point 3 (C8): a shipment line of a SKU not on the order, or of more than is still
    unshipped across the earlier shipments, is quarantined with the line and SKU named and
    records nothing; the order detail shows shipped / ordered per line."""
    from bridge.actors import Actor
    from bridge.orders import order_details

    def ship(shipment_id: str, *lines: tuple[str, int]) -> str:
        return erp.emit(
            "order.shipment",
            {
                "order_no": order.order_no,
                "shipment_id": shipment_id,
                "courier": "顺丰速运",
                "tracking_no": f"SF-{shipment_id}",
                "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines],
            },
        )

    stranger = ship("S0", ("WA-400", 1), ("XX-999", 999))  # the order is 4 × WA-400
    first = ship("S1", ("WA-400", 3))
    too_many = ship("S2", ("WA-400", 1), ("WA-400", 1))  # 1 left after S1
    poller(engine, erp, clock).drain()
    rows = inbox(engine)
    assert rows[stranger].status == InboxStatus.QUARANTINED
    assert "lines[2]" in rows[stranger].error and "'XX-999' is not on order" in rows[stranger].error
    assert rows[first].status == InboxStatus.APPLIED
    assert rows[too_many].status == InboxStatus.QUARANTINED
    assert "lines[2]: 1 × WA-400 is more than is still unshipped" in rows[too_many].error
    assert "(ordered 4, 3 shipped before, 1 in the lines above: 0 left)" in rows[too_many].error
    with Session(engine) as s:
        assert [x.erp_shipment_id for x in s.exec(select(Shipment))] == ["S1"]
        notices = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "notify.shipment")).all()
        assert [n.payload["shipment_id"] for n in notices] == ["S1"]
        detail = order_details(s, Actor.customer(order.customer_id), s.get(Order, order.id))
        (line,) = detail.lines
        assert (detail.shipped[line.id], line.quantity) == (3, 4)


def test_p12_02_a_refused_event_sent_again_corrected_replaces_the_stored_one(engine, erp, clock, order):
    """#12 point 2 (E3): a dead event (an unknown status word) sent again unchanged is reported
    dead again with its reason, never acknowledged as fine; sent again corrected with the same
    event id it replaces the stored one and is applied; after that a copy is a duplicate."""
    p = poller(engine, erp, clock)
    erp.emit("order.status", {"order_no": order.order_no, "status": "生产 中"}, event_id="st-1")
    p.run_once()
    assert inbox(engine)["st-1"].status == InboxStatus.DEAD
    assert p.handle(erp.events[0]) == InboxStatus.DEAD  # the same copy again
    assert erp.acks[-1] == ("st-1", "dead")
    erp.emit("order.status", {"order_no": order.order_no, "status": "生产中"}, event_id="st-1")
    assert p.handle(erp.events[1]) == InboxStatus.APPLIED
    row = inbox(engine)["st-1"]
    assert row.status == InboxStatus.APPLIED and row.payload["status"] == "生产中"
    assert fresh(engine, Order, order.id).status == OrderStatus.IN_PRODUCTION
    assert p.handle(erp.events[0]) == InboxStatus.IGNORED  # the old copy, late: applied already
    assert fresh(engine, Order, order.id).status == OrderStatus.IN_PRODUCTION
