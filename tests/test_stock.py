"""Stock at order time (C7, E2): the ERP's answer within the deadline, else a fresh snapshot,
else unknown → 等待处理; a slow ERP never holds the order up past the deadline."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session

from bridge.actors import Actor
from bridge.config import Config
from bridge.inbox import save_stock
from bridge.models import OrderStatus, StockCheck
from bridge.orders import LineRequest, OrderRequest, submit_order
from bridge.stock import StockChecker
from bridge.types import utcnow
from bridge.worker import wait_until
from tests.doubles.memory import MemoryConnector
from tests.sync_helpers import make_shop


@pytest.fixture
def erp():
    return MemoryConnector()


def _checker(engine, erp, deadline=0.3, max_age=600):
    return StockChecker(engine, erp, deadline_s=deadline, max_age_s=max_age)


def _snapshot(engine, quantities, age_s=0):
    with Session(engine) as s:
        save_stock(s, {k: Decimal(v) for k, v in quantities.items()}, utcnow() - timedelta(seconds=age_s))
        s.commit()


def test_e2_live_answer_is_used_and_kept_as_snapshot(engine, erp):
    erp.stock = {"WA-400": Decimal("5")}
    checker = _checker(engine, erp)
    answer = checker.check(["WA-400", "C-105"])
    assert answer.source == "live" and answer.quantities == {"WA-400": Decimal("5")}
    erp.down = True
    assert checker.check(["WA-400"]).source == "snapshot"


def test_c7_a_slow_erp_is_cut_off_at_the_deadline_and_a_fresh_snapshot_is_used(engine, erp):
    _snapshot(engine, {"WA-400": 8})
    erp.stock, erp.stock_delay_s = {"WA-400": Decimal("1")}, 2.0
    started = time.monotonic()
    answer = _checker(engine, erp, deadline=0.3).check(["WA-400"])
    assert time.monotonic() - started < 1.5
    assert answer.source == "snapshot" and answer.quantities == {"WA-400": Decimal("8")}


def test_c7_no_answer_and_a_stale_snapshot_means_unknown(engine, erp):
    _snapshot(engine, {"WA-400": 8}, age_s=3600)
    erp.down = True
    assert _checker(engine, erp, max_age=600).check(["WA-400"]) is None


def test_c7_submit_order_checks_stock_first_and_a_retry_does_not_ask_again(engine, erp):
    shop = make_shop(engine, customers=1)
    customer = shop["customers"][0]
    erp.stock = {"WA-400": Decimal("10")}
    config = Config.model_validate({})
    request = OrderRequest(
        lines=[LineRequest(product_id=shop["wheel"].id, quantity=3)],
        idempotency_key="submit-key-01",
        address_id=shop["addresses"][customer.id],
    )
    checker = _checker(engine, erp)
    placed = submit_order(engine, checker, Actor.customer(customer.id), customer.id, request, config)
    assert placed.order.status == OrderStatus.AWAITING_SHIPMENT and placed.order.stock_check == StockCheck.SUFFICIENT
    asked = len([c for c in erp.calls if c[0] == "query_stock"])
    again = submit_order(engine, checker, Actor.customer(customer.id), customer.id, request, config)
    assert again.order.order_no == placed.order.order_no and not again.created
    assert len([c for c in erp.calls if c[0] == "query_stock"]) == asked


class _Clock:
    """A monotonic clock the test moves on."""

    def __init__(self):
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


def _asked(erp) -> int:
    return len([c for c in erp.calls if c[0] == "query_stock"])


def test_c7_after_a_failed_query_the_erp_rests_and_the_snapshot_answers_at_once(engine, erp):
    """C7: after a query that failed (or ran out of time) the ERP is not asked again for a
    while: the next orders are judged by the snapshot at once instead of each waiting out the
    deadline against an ERP that is down; after the pause it is asked again."""
    _snapshot(engine, {"WA-400": 8})
    erp.stock, erp.stock_delay_s = {"WA-400": Decimal("1")}, 2.0
    clock = _Clock()
    checker = StockChecker(engine, erp, deadline_s=0.3, max_age_s=600, pause_s=30, clock=clock)
    assert checker.check(["WA-400"]).source == "snapshot"  # cut off at the deadline
    asked = _asked(erp)
    started = time.monotonic()
    for _ in range(5):
        assert checker.check(["WA-400"]).quantities == {"WA-400": Decimal("8")}
    assert time.monotonic() - started < 0.25  # no deadline waited out
    assert _asked(erp) == asked

    erp.stock_delay_s = 0
    clock.now += 31
    # After the pause one query runs in the background; the order asking does not wait for it.
    assert checker.check(["WA-400"]).source == "snapshot"
    assert wait_until(lambda: not checker._paused_until, timeout=5)
    assert _asked(erp) == asked + 1
    answer = checker.check(["WA-400"])  # the ERP answered again: orders ask it live
    assert answer.source == "live" and answer.quantities == {"WA-400": Decimal("1")}
    assert _asked(erp) == asked + 2


def test_c7_a_background_query_that_fails_keeps_the_erp_resting(engine, erp):
    """C7: the background query after a pause failing starts a new pause: no order asks."""
    _snapshot(engine, {"WA-400": 8})
    erp.down = True
    clock = _Clock()
    checker = StockChecker(engine, erp, deadline_s=0.3, max_age_s=600, pause_s=30, clock=clock)
    assert checker.check(["WA-400"]).source == "snapshot"
    clock.now += 31
    assert checker.check(["WA-400"]).source == "snapshot"
    assert wait_until(lambda: not checker._probing, timeout=5)
    asked = _asked(erp)
    assert asked == 2 and checker._paused_until > clock.now
    erp.down = False
    assert checker.check(["WA-400"]).source == "snapshot"  # still resting: not asked
    assert _asked(erp) == asked


def test_c7_a_background_query_that_hangs_is_given_up_and_another_one_asks(engine, erp):
    """C7: a background query that does not return (a hung share or network) does not keep
    orders off the ERP for good: after ``probe_give_up_s`` the next order starts another query,
    whose answer ends the rest; the late answer of the one given up decides nothing."""
    _snapshot(engine, {"WA-400": 8})
    erp.stock = {"WA-400": Decimal("1")}
    erp.down = True
    clock = _Clock()
    checker = StockChecker(engine, erp, deadline_s=0.3, max_age_s=600, pause_s=30, clock=clock)
    checker.probe_give_up_s = 60
    assert checker.check(["WA-400"]).source == "snapshot"  # failed: resting
    erp.down, erp.stock_delay_s = False, 3.0
    clock.now += 31
    assert checker.check(["WA-400"]).source == "snapshot"  # the background query starts, and hangs
    assert wait_until(lambda: _asked(erp) == 2, timeout=5)
    erp.stock_delay_s = 0
    clock.now += 30
    assert checker.check(["WA-400"]).source == "snapshot"  # not given up yet: no second query
    assert _asked(erp) == 2 and checker._probing
    clock.now += 31
    assert checker.check(["WA-400"]).source == "snapshot"  # given up: another query asks
    assert wait_until(lambda: not checker._paused_until and not checker._probing, timeout=5)
    assert _asked(erp) == 3
    assert checker.check(["WA-400"]).source == "live"
    erp.stock = None  # the hung one now fails when it returns: not a verdict any more
    assert wait_until(lambda: checker._stragglers == 0, timeout=10)
    assert checker._paused_until == 0.0 and not checker._probing
