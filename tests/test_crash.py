"""E6: the ERP side going away and the bridge being killed lose nothing and double nothing.

Crash test: a real `jht-bridge worker` process is killed with SIGKILL at random moments while
its sync loops run and 200 orders flow, and started again each time, with no manual step in
between: with the file drop, and with the ODBC connector on the reference interface tables
through the real SQLite3 and psqlODBC drivers, and with the SOAP connector on a real SOAP
server. Outage tests: the ERP's share disappears while
orders keep being taken; the ERP's PostgreSQL server is stopped and started again while orders
flow. Afterwards every order reached the ERP once, in order per customer, and every ERP event
was applied once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict

import pyodbc
import pytest
from sqlmodel import Session, select

from bridge.models import InboxEvent, InboxStatus, Order, OrderEvent, OrderStatus, OutboxMessage, OutboxStatus
from bridge.worker import wait_until
from connectors.filedrop import make_folders
from connectors.filedrop.simulator import ErpSimulator
from connectors.odbc.connector import is_transient
from tests.conftest import require_postgresql
from tests.doubles.odbc_erp import ErpSimulator as SqlErpSimulator
from tests.sync_helpers import (
    filedrop_runtime,
    make_shop,
    odbc_connector_toml,
    odbc_runtime,
    pg_server,
    place,
    postgresql_erp,
    sqlite_erp,
    throwaway_postgresql,
)

FAST = {
    "JHT_OUTBOX__POLL_INTERVAL_S": "0.05",
    "JHT_OUTBOX__LEASE_S": "2",
    "JHT_OUTBOX__BACKOFF_BASE_S": "0.1",
    "JHT_OUTBOX__BACKOFF_MAX_S": "0.5",
    "JHT_OUTBOX__MAX_ATTEMPTS": "1000",
    "JHT_INBOX__POLL_INTERVAL_S": "0.1",
}
ORDERS, CUSTOMERS, KILLS = 200, 10, 4


def _erp_rows_done(engine) -> bool:
    with Session(engine) as s:
        return not s.exec(
            select(OutboxMessage.id).where(
                OutboxMessage.status != OutboxStatus.DELIVERED, OutboxMessage.target == "erp"
            )
        ).first()


def _statuses(engine):
    with Session(engine) as s:
        return set(s.exec(select(Order.status)).all())


def _first_arrivals(sim) -> dict[int, list[str]]:
    """Per customer, order numbers in the order they first reached the ERP."""
    seen, per_customer = set(), defaultdict(list)
    for customer_id, ref, kind in list(sim.arrivals):
        if kind == "order.create" and ref not in seen:
            seen.add(ref)
            per_customer[customer_id].append(ref)
    return per_customer


# =========================================================================== the ERP, as these tests see it


class FiledropErp:
    """The ERP behind a file drop (``connectors.filedrop.simulator``): it imports each order
    once by number and answers ``order.accepted`` and ``order.status`` awaiting_shipment."""

    def __init__(self, folder):
        root = folder / "erp"
        make_folders(root)
        self.sim = ErpSimulator(root, stock={"WA-400": 1_000_000}, seed=7)
        self.connector_toml = f'[connector.filedrop]\nroot = "{root}"\n'

    def step(self) -> None:
        self.sim.step()

    def busy(self, exc: Exception) -> bool:
        return False

    def orders_held(self) -> list[str]:
        # A file written again after a kill is seen again (``imports`` counts it) and
        # deduplicated by number: the ERP holds each order once.
        return list(self.sim.orders)

    def arrivals(self) -> dict[int, list[str]]:
        return _first_arrivals(self.sim)

    def erp_refs(self) -> dict[str, str]:
        return dict(self.sim.erp_refs)

    def event_ids(self) -> list[str]:
        return [event["event_id"] for event in self.sim.emitted]


class OdbcErp:
    """The ERP behind the interface tables (``tests.doubles.odbc_erp``), reached through
    ODBC: it imports each order row and answers in the same transaction."""

    def __init__(self, connection_string: str, dialect: str, folder):
        self.sim = SqlErpSimulator(connection_string, dialect)
        self.sim.track_arrivals()
        self.connector_toml = odbc_connector_toml(connection_string, dialect, folder)

    def step(self) -> None:
        self.sim.process(answer="awaiting_shipment")

    def busy(self, exc: Exception) -> bool:
        """The other side holds SQLite's lock, or the server is down: the ERP tries again later."""
        return isinstance(exc, pyodbc.Error) and is_transient(exc)

    def orders_held(self) -> list[str]:
        return [order_no for _, order_no in self.sim.arrivals()]  # one row per import, doubles included

    def arrivals(self) -> dict[int, list[str]]:
        per_customer = defaultdict(list)
        for customer_id, order_no in self.sim.arrivals():
            per_customer[customer_id].append(order_no)
        return per_customer

    def event_ids(self) -> list[str]:
        return [event["event_id"] for event in self.sim.events()]

    def erp_refs(self) -> dict[str, str]:
        return {order_no: row["erp_order_no"] for order_no, row in self.sim.orders().items()}


class SoapErp(FiledropErp):
    """The ERP behind its SOAP web service (``tests.doubles.soap_erp_server``, the reference WSDL)
    on 127.0.0.1: it imports each order during the call and answers with its number; a
    redelivered order is answered ``duplicate`` with the same number. What the ERP holds is
    read as for the file drop: both sit on ``connectors.erpsim.ErpCore``."""

    def __init__(self):  # not the file drop's: no folder
        from connectors.erpsim import MemoryErp
        from tests.doubles.soap_erp_server import SoapErpServer

        self.sim = MemoryErp(stock={"WA-400": 1_000_000}, seed=7)
        self.server = SoapErpServer(self.sim).start()
        self.connector_toml = (
            f'[connector]\nname = "soap"\n\n[connector.soap]\nwsdl = "{self.server.wsdl_url}"\nread_timeout_s = 10\n'
        )

    def step(self) -> None:
        """Nothing to do: the ERP takes each call as it comes."""

    def close(self) -> None:
        self.server.stop()


class SimulatorThread:
    """The ERP at work beside the bridge: a step every 50 ms. An error the ERP itself would
    wait out (``erp.busy``) is counted; any other is kept for the test to report."""

    def __init__(self, erp):
        self.erp, self.stop = erp, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.errors, self.busy = [], 0

    def _run(self):
        while not self.stop.is_set():
            try:
                self.erp.step()
            except Exception as exc:  # pragma: no cover - reported by the test
                if self.erp.busy(exc):
                    self.busy += 1
                else:
                    self.errors.append(exc)
            self.stop.wait(0.05)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(10)


class Placer:
    """Customers placing orders in turn, with random pauses: ``count`` orders, or until the
    ``with`` block ends."""

    def __init__(self, engine, shop, count: int | None = None, pause: float = 0.05, seed: int = 1):
        self.engine, self.shop, self.count, self.pause = engine, shop, count, pause
        self.rng, self.stop, self.placed, self.errors = random.Random(seed), threading.Event(), [], []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        customers = self.shop["customers"]
        while not self.stop.is_set() and (self.count is None or len(self.placed) < self.count):
            try:
                self.placed.append(place(self.engine, self.shop, customers[len(self.placed) % len(customers)]).order_no)
            except Exception as exc:  # pragma: no cover - reported by the test
                self.errors.append(exc)
                return
            time.sleep(self.rng.uniform(0, self.pause))

    def is_alive(self) -> bool:
        return self.thread.is_alive()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(30)


def assert_delivered_once_in_order(engine, erp, placed: list[str]) -> None:
    """Every order reached the ERP once, in order per customer; every ERP event was applied
    once: each order moved pending → awaiting_shipment once and has the ERP's number, the inbox
    holds each event once."""
    assert sorted(erp.orders_held()) == sorted(placed)
    for customer_id, numbers in erp.arrivals().items():
        assert numbers == sorted(numbers), f"customer {customer_id} got its orders out of order"
    assert _statuses(engine) == {OrderStatus.AWAITING_SHIPMENT}
    with Session(engine) as s:
        moves = s.exec(select(OrderEvent.order_id).where(OrderEvent.action == "status")).all()
        assert len(moves) == len(set(moves)) == len(placed)
        inbox = s.exec(select(InboxEvent.event_id, InboxEvent.status)).all()
    assert sorted(event_id for event_id, _ in inbox) == sorted(erp.event_ids())
    refs = erp.erp_refs()
    with Session(engine) as s:
        assert dict(s.exec(select(Order.order_no, Order.erp_ref)).all()) == {no: refs[no] for no in placed}
        for event in s.exec(select(InboxEvent).where(InboxEvent.status != InboxStatus.APPLIED)):
            # After a kill between the ERP's COMMIT and "delivered", the redelivery reads the
            # ERP's number back; its order.accepted then changes nothing (and loses nothing).
            assert event.kind == "order.accepted" and event.status == InboxStatus.IGNORED, event
            assert event.payload["erp_ref"] == refs[event.payload["order_no"]], event


# =========================================================================== SIGKILL


def start_worker_process(folder, config, env: dict, log, n: int) -> subprocess.Popen:
    """``jht-bridge worker`` number ``n`` on ``config``, once its sync loops run (start-up takes a
    second: a kill before proves little); its stderr is appended to ``log``."""
    out = folder / f"worker-{n}.out"
    with open(out, "wb") as stdout, open(log, "ab") as stderr:
        worker = subprocess.Popen(
            [sys.executable, "-m", "bridge.cli", "--config", str(config), "worker"],
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
    up = wait_until(lambda: worker.poll() is not None or b"sync loops running" in out.read_bytes(), timeout=60)
    assert up and worker.poll() is None, f"worker {n} did not start:\n{log.read_text(errors='replace')[-3000:]}"
    return worker


@pytest.fixture
def crash_erp(request, tmp_path):
    if request.param == "filedrop":
        yield FiledropErp(tmp_path)
    elif request.param == "soap":
        erp = SoapErp()
        yield erp
        erp.close()
    elif request.param == "odbc-sqlite":
        yield OdbcErp(sqlite_erp(tmp_path), "sqlite", tmp_path)
    else:
        with postgresql_erp(require_postgresql()) as connection_string:
            yield OdbcErp(connection_string, "postgresql", tmp_path)


@pytest.mark.parametrize(
    ("backend", "crash_erp"),
    [
        ("sqlite", "filedrop"),
        ("postgresql", "filedrop"),
        ("sqlite", "odbc-sqlite"),
        ("postgresql", "odbc-postgresql"),
        ("postgresql", "soap"),
    ],
    indirect=["crash_erp"],
)
def test_e6_sigkill_at_random_moments_loses_nothing_and_doubles_nothing(engine, crash_erp, tmp_path):
    """E6: SIGKILL while the sync loops run, again and again, and restarts with no one
    stepping in. The ODBC variants bring the ERP's own transactions into it: a kill between
    the INSERTs and the COMMIT, or between the COMMIT and the outbox's "delivered"."""
    erp = crash_erp
    config = tmp_path / "bridge.toml"
    config.write_text(erp.connector_toml, encoding="utf-8")
    env = {
        **os.environ,
        **FAST,
        "JHT_DATABASE__URL": engine.url.render_as_string(hide_password=False),
        "JHT_LOG__FORMAT": "json",
        "JHT_LOG__LEVEL": "warning",
    }
    shop = make_shop(engine, customers=CUSTOMERS)
    rng = random.Random(20261125)
    log = tmp_path / "worker.log"

    def start_worker(n: int) -> subprocess.Popen:
        return start_worker_process(tmp_path, config, env, log, n)

    kills = 0
    with SimulatorThread(erp) as simulator, Placer(engine, shop, count=ORDERS, pause=0.02, seed=7) as placer:
        while placer.is_alive() or kills < KILLS:
            worker = start_worker(kills)
            time.sleep(rng.uniform(0, 0.5))
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            kills += 1
        worker = start_worker(kills)  # the last start: no one steps in, it just carries on
        try:
            assert wait_until(lambda: _erp_rows_done(engine), timeout=120), "outbox did not drain"
            assert wait_until(lambda: len(erp.orders_held()) >= ORDERS, timeout=30)
            assert wait_until(lambda: _statuses(engine) == {OrderStatus.AWAITING_SHIPMENT}, timeout=60)
        finally:
            worker.send_signal(signal.SIGTERM)
            code = worker.wait(30)
        assert simulator.errors == []
    assert code == 0  # a clean stop on SIGTERM
    assert placer.errors == [] and len(placer.placed) == ORDERS and kills >= KILLS
    assert_delivered_once_in_order(engine, erp, placer.placed)


# =========================================================================== the ERP going away


def test_e6_erp_outage_orders_keep_coming_and_are_delivered_in_order_after(engine, tmp_path):
    rt = filedrop_runtime(engine, tmp_path, **FAST)
    sim = ErpSimulator(rt.connector.root, stock={"WA-400": 1000})
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


@pytest.fixture(scope="module")
def erp_pg_server():
    """The ERP's own PostgreSQL server, so stopping it leaves the bridge's database alone."""
    with throwaway_postgresql() as server:
        yield server


@pytest.mark.parametrize("backend", ["postgresql"])
def test_e6_erp_postgresql_server_stopped_and_started_under_load_loses_nothing_and_doubles_nothing(
    engine, erp_pg_server, tmp_path
):
    """E6 with the ODBC connector: the ERP's PostgreSQL server is shut down (``pg_ctl -m fast``:
    sessions ended, transactions in flight rolled back, connections refused) twice while orders
    are placed and delivered, and started again; the worker rides it out on its own. The
    bridge's database is on another PostgreSQL server, which stays up."""
    with postgresql_erp(erp_pg_server["JHT_TEST_PG_URL"]) as connection_string:
        erp = OdbcErp(connection_string, "postgresql", tmp_path)
        rt = odbc_runtime(engine, tmp_path, connection_string, "postgresql", **FAST)
        shop = make_shop(engine, customers=3)
        worker = rt.worker()
        worker.start()
        try:
            with SimulatorThread(erp) as simulator, Placer(engine, shop, pause=0.03) as placer:

                def erp_gets_more():  # orders are flowing into the ERP
                    held = len(erp.orders_held())
                    assert wait_until(lambda: len(erp.orders_held()) >= held + 5, timeout=30)

                for _ in range(2):
                    erp_gets_more()
                    with Session(engine) as s:
                        before = dict(s.exec(select(OutboxMessage.id, OutboxMessage.attempts)).all())
                    pg_server(erp_pg_server["JHT_TEST_PG_DATA"], "stop")

                    def failed_since_the_stop():
                        with Session(engine) as s:
                            rows = s.exec(
                                select(OutboxMessage).where(
                                    OutboxMessage.kind == "order.create", OutboxMessage.status == OutboxStatus.PENDING
                                )
                            ).all()
                        return any(m.last_error and m.attempts > before.get(m.id, 0) for m in rows)

                    try:
                        assert wait_until(failed_since_the_stop, timeout=30)
                    finally:
                        pg_server(erp_pg_server["JHT_TEST_PG_DATA"], "start")
                erp_gets_more()
            assert wait_until(lambda: _erp_rows_done(engine), timeout=60), "outbox did not drain"
            with SimulatorThread(erp) as late:  # the ERP takes what came last
                assert wait_until(lambda: _statuses(engine) == {OrderStatus.AWAITING_SHIPMENT}, timeout=60)
        finally:
            worker.stop()
            worker.join(10)
            rt.connector.close()
        assert simulator.errors == [] and late.errors == [] and placer.errors == []
        assert_delivered_once_in_order(engine, erp, placer.placed)


def test_o1_a_worker_stops_within_seconds_even_with_a_long_inbox_poll_interval(engine, tmp_path):
    """O1: a stop (SIGTERM of a service) is heeded within about a second while the inbox loop
    waits for the ERP's events, whatever inbox.poll_interval_s says (here 60 s)."""
    rt = filedrop_runtime(engine, tmp_path, JHT_INBOX__POLL_INTERVAL_S="60")
    worker = rt.worker()
    worker.start()
    time.sleep(1.5)  # the inbox loop found nothing and waits
    started = time.monotonic()
    worker.stop()
    worker.join(30)
    assert not any(thread.is_alive() for thread in worker.threads)
    assert time.monotonic() - started < 5
