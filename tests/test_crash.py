"""E6: the ERP side going away and the bridge being killed lose nothing and double nothing.

Crash test: a real `jht-bridge worker` process is killed with SIGKILL at random moments while
200 orders flow, and started again each time, with no manual step in between. Outage test:
the ERP's share disappears while orders keep being taken; once it is back every order is
delivered, in order per customer."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict

import pytest
from sqlmodel import Session, select

from bridge.models import InboxEvent, InboxStatus, Order, OrderEvent, OrderStatus, OutboxMessage, OutboxStatus
from bridge.worker import wait_until
from connectors.filedrop import make_folders
from connectors.filedrop.simulator import ErpSimulator
from tests.sync_helpers import filedrop_runtime, make_shop, place

FAST = {
    "JHT_OUTBOX__POLL_INTERVAL_S": "0.05",
    "JHT_OUTBOX__LEASE_S": "2",
    "JHT_OUTBOX__BACKOFF_BASE_S": "0.1",
    "JHT_OUTBOX__BACKOFF_MAX_S": "0.5",
    "JHT_OUTBOX__MAX_ATTEMPTS": "1000",
    "JHT_INBOX__POLL_INTERVAL_S": "0.1",
}


def _erp_rows_done(engine) -> bool:
    with Session(engine) as s:
        return not s.exec(
            select(OutboxMessage.id).where(OutboxMessage.status != OutboxStatus.DELIVERED, OutboxMessage.target == "erp")
        ).first()


def _first_arrivals(sim) -> dict[int, list[str]]:
    """Per customer, order numbers in the order they first reached the ERP."""
    seen, per_customer = set(), defaultdict(list)
    for customer_id, ref, kind in list(sim.arrivals):
        if kind == "order.create" and ref not in seen:
            seen.add(ref)
            per_customer[customer_id].append(ref)
    return per_customer


class SimulatorThread:
    def __init__(self, sim):
        self.sim, self.stop = sim, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.errors = []

    def _run(self):
        while not self.stop.is_set():
            try:
                self.sim.step()
            except Exception as exc:  # pragma: no cover - reported by the test
                self.errors.append(exc)
            self.stop.wait(0.05)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(10)


def test_e6_sigkill_at_random_moments_loses_nothing_and_doubles_nothing(engine, tmp_path):
    root = tmp_path / "erp"
    make_folders(root)
    config = tmp_path / "bridge.toml"
    config.write_text(f'[connector.filedrop]\nroot = "{root}"\n', encoding="utf-8")
    env = {**os.environ, **FAST, "JHT_DATABASE__URL": engine.url.render_as_string(hide_password=False),
           "JHT_LOG__FORMAT": "json", "JHT_LOG__LEVEL": "warning"}
    shop = make_shop(engine, customers=10)
    sim = ErpSimulator(root, stock={"WA-400": 1_000_000}, seed=7)
    rng = random.Random(20261125)
    placed: list[str] = []

    def place_orders():
        for i in range(200):
            placed.append(place(engine, shop, shop["customers"][i % 10]).order_no)
            time.sleep(rng.uniform(0, 0.02))

    def start_worker():
        return subprocess.Popen([sys.executable, "-m", "bridge.cli", "--config", str(config), "worker"], env=env,
                                stdout=subprocess.DEVNULL, stderr=open(tmp_path / "worker.log", "ab"))

    kills = 0
    with SimulatorThread(sim) as simulator:
        placer = threading.Thread(target=place_orders)
        placer.start()
        while placer.is_alive() or kills < 8:
            worker = start_worker()
            time.sleep(rng.uniform(0.3, 1.5))
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            kills += 1
        placer.join()
        worker = start_worker()  # the last start: no one steps in, it just carries on
        try:
            assert wait_until(lambda: _erp_rows_done(engine), timeout=120), "outbox did not drain"
            assert wait_until(lambda: len(sim.orders) == 200, timeout=30)
            assert wait_until(lambda: _statuses(engine) == {OrderStatus.AWAITING_SHIPMENT}, timeout=60)
        finally:
            worker.send_signal(signal.SIGTERM)
            code = worker.wait(30)
        assert simulator.errors == []
    assert code == 0  # a clean stop on SIGTERM
    assert kills >= 8
    # Every order reached the ERP once in effect (redelivered files are deduplicated there by number).
    assert sorted(sim.orders) == sorted(placed)
    assert all(sim.imports[no] >= 1 for no in placed)
    # In order per customer, as placed.
    for customer_id, numbers in _first_arrivals(sim).items():
        assert numbers == sorted(numbers), f"customer {customer_id} got its orders out of order"
    with Session(engine) as s:
        # Each ERP status event was applied once: one pending → awaiting_shipment per order.
        moves = s.exec(select(OrderEvent.order_id).where(OrderEvent.action == "status")).all()
        assert len(moves) == len(set(moves)) == 200
        assert not s.exec(select(InboxEvent).where(InboxEvent.status.in_(
            [InboxStatus.DEAD, InboxStatus.QUARANTINED, InboxStatus.PARKED]))).all()


def _statuses(engine):
    with Session(engine) as s:
        return set(s.exec(select(Order.status)).all())


def test_e6_erp_outage_orders_keep_coming_and_are_delivered_in_order_after(engine, tmp_path):
    rt = filedrop_runtime(engine, tmp_path, **FAST)
    sim = ErpSimulator(rt.config.connector.filedrop.root, stock={"WA-400": 1000})
    shop = make_shop(engine, customers=3)
    worker = rt.worker()
    worker.start()
    try:
        sim.go_down()
        placed = [place(engine, shop, shop["customers"][i % 3]).order_no for i in range(30)]
        def tried_and_failed():  # the worker tries and fails while the share is gone
            with Session(engine) as s:
                rows = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "order.create")).all()
            return any(m.attempts >= 1 and m.last_error for m in rows)

        assert wait_until(tried_and_failed, timeout=20)
        with Session(engine) as s:
            failing = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "order.create")).all()
        assert all(m.status == OutboxStatus.PENDING for m in failing)
        assert sim.step() == [] and sim.orders == {}
        sim.come_back()
        assert wait_until(lambda: _erp_rows_done(engine), timeout=30)
        sim.step()
        assert sorted(sim.orders) == sorted(placed)
        for numbers in _first_arrivals(sim).values():
            assert numbers == sorted(numbers)
    finally:
        worker.stop()
        worker.join(10)
