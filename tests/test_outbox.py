"""The outbox dispatcher (E1, E4, E5, E6): in order per customer, retried with backoff,
dead-lettered on a permanent error or a spent budget, leases taken over after a crash."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlmodel import Session, select

from bridge.actors import CLI_ADMIN
from bridge.config import OutboxSection
from bridge.connector import TransientError
from bridge.models import Customer, ErpBinding, Order, OutboxMessage, OutboxStatus
from bridge.outbox import Dispatcher, RetryPolicy, message_action, retry_dead
from tests.doubles.memory import MemoryConnector
from tests.sync_helpers import Clock, make_shop, place

SETTINGS = OutboxSection(quick_retries=0, backoff_base_s=2, max_attempts=3, lease_s=30)


@pytest.fixture
def erp():
    return MemoryConnector()


@pytest.fixture
def clock():
    return Clock()


def dispatcher(engine, erp, clock, **kw):
    return Dispatcher(
        engine,
        erp,
        settings=kw.pop("settings", SETTINGS),
        notifiers=kw.pop("notifiers", [Recorder()]),
        clock=clock,
        **kw,
    )


class Recorder:
    name = "recorder"

    def __init__(self):
        self.seen = []

    def notify(self, kind, payload):
        self.seen.append((kind, payload.get("order_no")))


def rows(engine):
    with Session(engine) as s:
        return s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_e1_an_order_reaches_the_erp_and_its_reference_is_kept(engine, erp, clock):
    shop = make_shop(engine)
    order = place(engine, shop, shop["customers"][0])
    assert dispatcher(engine, erp, clock).drain() == 2
    assert list(erp.orders) == [order.order_no]
    assert erp.orders[order.order_no]["lines"][0]["quantity"] == 2
    assert {r.status for r in rows(engine)} == {OutboxStatus.DELIVERED}
    with Session(engine) as s:
        assert s.get(Order, order.id).erp_ref == f"SO-{order.order_no}"
        from bridge.models import OrderEvent

        timeline = s.exec(
            select(OrderEvent).where(OrderEvent.order_id == order.id, OrderEvent.action == "accepted")
        ).all()
        assert [(e.note, e.actor_kind) for e in timeline] == [(f"ERP order SO-{order.order_no}", "erp")]


def test_e4_customer_upsert_stores_the_erp_code(engine, erp, clock):
    from bridge.actors import Actor
    from bridge.customers import create_customer

    make_shop(engine)
    with Session(engine) as s:
        customer = create_customer(s, Actor.admin(1), name="新客户", type=2)
        s.commit()
        cid = customer.id
    dispatcher(engine, erp, clock).drain()
    with Session(engine) as s:
        assert s.get(Customer, cid).erp_code == f"C{cid:04d}"
        # The same binding as a customer.code event from the ERP makes (bridge.bindings).
        binding = s.exec(select(ErpBinding).where(ErpBinding.internal_id == cid)).one()
        assert (binding.connector, binding.entity, binding.external_id) == ("memory", "customer", f"C{cid:04d}")


def test_a11_an_erp_code_another_customer_holds_is_a_dead_letter_and_the_queue_flows(engine, erp, clock):
    """A11 (a code belongs to one customer): the ERP answers customer b's upsert with the code
    customer a already holds. The answer is not taken, b's upsert becomes a dead letter naming
    the code and its holder (instead of failing the batch's commit round after round), and b's
    order queued behind it still reaches the ERP."""
    from bridge.actors import Actor
    from bridge.customers import create_customer
    from bridge.models import Address

    shop = make_shop(engine, customers=0)
    with Session(engine, expire_on_commit=False) as s:
        a = create_customer(s, Actor.admin(shop["sales"].id), name="甲公司", type=1)
        b = create_customer(s, Actor.admin(shop["sales"].id), name="乙公司", type=1)
        s.flush()
        address = Address(customer_id=b.id, recipient="王工", phone="13900000000", detail="工业大道 9 号")
        s.add(address)
        s.commit()
    shop["addresses"][b.id] = address.id
    order = place(engine, shop, b)
    erp.customer_codes = {a.id: "K-001", b.id: "K-001"}

    dispatcher(engine, erp, clock).drain()

    with Session(engine) as s:
        assert s.get(Customer, a.id).erp_code == "K-001"
        assert s.get(Customer, b.id).erp_code is None
        bound = s.exec(select(ErpBinding.internal_id).where(ErpBinding.external_id == "K-001")).all()
        assert bound == [a.id]
    upsert_b = next(r for r in rows(engine) if r.kind == "customer.upsert" and r.aggregate_id == str(b.id))
    assert upsert_b.status == OutboxStatus.DEAD
    assert "K-001" in upsert_b.last_error and f"customer {a.id}" in upsert_b.last_error
    assert order.order_no in erp.orders
    create = next(r for r in rows(engine) if r.kind == "order.create")
    assert create.status == OutboxStatus.DELIVERED


def test_e6_messages_of_one_customer_keep_their_order_while_others_flow(engine, erp, clock):
    shop = make_shop(engine)
    a, b = shop["customers"]
    first = place(engine, shop, a)
    d = dispatcher(engine, erp, clock)
    erp.down = True
    d.run_once()  # a's first message and b's nothing yet: a fails
    erp.down = False
    second = place(engine, shop, a)
    other = place(engine, shop, b)
    d.drain()
    # a's second order waits behind its first (backing off); b's goes through.
    assert other.order_no in erp.orders
    assert first.order_no not in erp.orders and second.order_no not in erp.orders
    clock.advance(10)
    d.drain()
    pushed = [arg for op, arg in erp.calls if op == "push_order"]
    assert pushed.index(first.order_no) < pushed.index(second.order_no)


def test_e6_transient_failures_back_off_then_dead_letter_after_the_budget(engine, erp, clock):
    shop = make_shop(engine, customers=1)
    place(engine, shop, shop["customers"][0])
    erp.down = True
    d = dispatcher(engine, erp, clock)
    d.run_once()
    create = rows(engine)[0]
    assert create.status == OutboxStatus.PENDING and create.attempts == 1
    wait = (create.next_attempt_at - clock.now).total_seconds()
    assert 0.5 <= wait <= 2.0
    assert d.run_once() == 0  # not due yet
    clock.advance(2)
    d.run_once()
    clock.advance(4)
    d.run_once()
    create = rows(engine)[0]
    assert create.status == OutboxStatus.DEAD and create.attempts == 3
    assert "unreachable" in create.last_error
    # An operator re-queues it once the ERP is back.
    erp.down = False
    with Session(engine) as s:
        assert retry_dead(s, CLI_ADMIN) == 1
        s.commit()
    d.drain()
    assert rows(engine)[0].status == OutboxStatus.DELIVERED


def test_e6_a_permanent_rejection_is_dead_at_once_with_the_erps_words(engine, erp, clock):
    shop = make_shop(engine, customers=1)
    order = place(engine, shop, shop["customers"][0])
    erp.reject[order.order_no] = "物料编码不存在 WA-400"
    dispatcher(engine, erp, clock).run_once()
    create = rows(engine)[0]
    assert create.status == OutboxStatus.DEAD and create.attempts == 1
    assert create.last_error == "物料编码不存在 WA-400"


def test_e6_a_connector_bug_keeps_the_message_for_a_retry(engine, erp, clock):
    shop = make_shop(engine, customers=1)
    place(engine, shop, shop["customers"][0])
    erp.crash_with = KeyError("oops")
    dispatcher(engine, erp, clock).run_once()
    create = rows(engine)[0]
    assert create.status == OutboxStatus.PENDING and "KeyError" in create.last_error


def test_e6_quick_retries_absorb_a_blip(engine, erp, clock):
    shop = make_shop(engine, customers=1)
    order = place(engine, shop, shop["customers"][0])
    calls = {"n": 0}
    real = erp.push_order

    def flaky(doc):
        calls["n"] += 1
        if calls["n"] == 1:
            raise TransientError("connection reset")
        return real(doc)

    erp.push_order = flaky
    dispatcher(engine, erp, clock, settings=OutboxSection(quick_retries=2)).drain()
    assert order.order_no in erp.orders and rows(engine)[0].attempts == 1


def test_e6_quick_retries_are_that_many_tries_more_and_no_more(engine, erp, clock):
    """E6: ``quick_retries = 2`` is three tries in all: two failures then an answer is delivered
    at the third; three failures leave the message pending for the next round, one attempt
    counted, with the last error."""
    shop = make_shop(engine, customers=2)
    first = place(engine, shop, shop["customers"][0])
    real = erp.push_order
    calls = {"n": 0, "fail": 2}

    def flaky(doc):
        calls["n"] += 1
        if calls["n"] <= calls["fail"]:
            raise TransientError(f"connection reset {calls['n']}")
        return real(doc)

    erp.push_order = flaky
    dispatcher(engine, erp, clock, settings=OutboxSection(quick_retries=2)).run_once()
    assert calls["n"] == 3 and first.order_no in erp.orders

    second = place(engine, shop, shop["customers"][1])
    calls.update(n=0, fail=3)
    dispatcher(engine, erp, clock, settings=OutboxSection(quick_retries=2)).run_once()
    create = next(r for r in rows(engine) if r.kind == "order.create" and r.aggregate_id == second.order_no)
    assert calls["n"] == 3 and second.order_no not in erp.orders
    assert create.status == OutboxStatus.PENDING and create.attempts == 1
    assert create.last_error == "connection reset 3"


def test_e6_a_crashed_workers_lease_expires_and_another_worker_delivers(engine, erp, clock):
    shop = make_shop(engine, customers=1)
    order = place(engine, shop, shop["customers"][0])
    crashed = dispatcher(engine, erp, clock, worker_id="crashed")
    claimed = crashed.claim()
    assert [m.kind for m in claimed] == ["order.create", "notify.new_order"]  # separate queues
    rescuer = dispatcher(engine, erp, clock, worker_id="rescuer")
    assert rescuer.claim() == []  # still leased
    clock.advance(SETTINGS.lease_s + 1)
    rescuer.drain()
    assert order.order_no in erp.orders
    # The crashed worker coming back late cannot overwrite the outcome.
    assert crashed.finish(claimed[0], rescuer.deliver(claimed[0])) is False


def test_e1_two_workers_never_deliver_one_message_twice(engine, erp):
    shop = make_shop(engine, customers=20)
    for customer in shop["customers"]:
        for _ in range(3):
            place(engine, shop, customer)
    delivered = Counter()
    lock = threading.Lock()
    real = erp.push_order

    def counting(doc):
        with lock:
            delivered[doc["order_no"]] += 1
        return real(doc)

    erp.push_order = counting
    workers = [
        Dispatcher(
            engine,
            erp,
            settings=OutboxSection(batch_size=7, quick_retries=0),
            notifiers=[Recorder()],
            worker_id=f"w{i}",
        )
        for i in range(2)
    ]
    threads = [threading.Thread(target=w.drain) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for w in workers:  # whatever one left while the other held the head of a queue
        w.drain()
    assert len(delivered) == 60 and set(delivered.values()) == {1}
    assert {r.status for r in rows(engine)} == {OutboxStatus.DELIVERED}


def test_a5_notices_go_to_every_notifier(engine, erp, clock):
    shop = make_shop(engine, customers=1)
    order = place(engine, shop, shop["customers"][0])
    first, second = Recorder(), Recorder()
    dispatcher(engine, erp, clock, notifiers=[first, second]).drain()
    assert first.seen == second.seen == [("notify.new_order", order.order_no)]


def test_e8_preview_is_what_the_connector_gets_after_plugin_adjustments(engine, erp, clock):
    shop = make_shop(engine, customers=1)
    order = place(engine, shop, shop["customers"][0])
    message = rows(engine)[0]
    action, doc = message_action(message)
    assert action == "push_order" and doc["order_no"] == order.order_no and doc["_outbox_id"] == message.id

    def adjust(kind, document, connector_name):
        return {**document, "warehouse": "一号仓"}

    dispatcher(engine, erp, clock, adjust=adjust).drain()
    assert erp.orders[order.order_no]["warehouse"] == "一号仓"


def test_p12_14_e8_preview_is_what_the_connector_renders_else_the_document(engine, erp, clock):
    """#12 point 14, E8: ``preview_message`` gives what the connector's ``render`` says it sends
    for the adjusted document; a connector without ``render`` leaves the document to look at,
    and a document the connector refuses is named as a permanent error. Nothing is delivered."""
    from bridge.connector import PermanentError, Rendered
    from bridge.outbox import preview_message

    shop = make_shop(engine, customers=1)
    order = place(engine, shop, shop["customers"][0])
    message = rows(engine)[0]

    def adjust(kind, document, connector_name):
        return {**document, "warehouse": "一号仓"}

    with Session(engine) as session:
        plain = preview_message(session, message.id, actor=CLI_ADMIN, connector=erp, adjust=adjust)
    assert plain.action == "push_order" and plain.sent is None and plain.problem is None
    assert plain.document["warehouse"] == "一号仓" and plain.document["order_no"] == order.order_no

    class Rendering(MemoryConnector):
        def render(self, operation, doc):
            if doc.get("warehouse") != "一号仓":
                raise PermanentError("no warehouse")
            return [Rendered(operation, f"{doc['order_no']} → {doc['warehouse']}")]

    with Session(engine) as session:
        shown = preview_message(session, message.id, actor=CLI_ADMIN, connector=Rendering(), adjust=adjust)
        refused = preview_message(session, message.id, actor=CLI_ADMIN, connector=Rendering())
    assert shown.sent == [Rendered("push_order", f"{order.order_no} → 一号仓")]
    assert refused.sent is None and refused.problem == "permanent error (a dead letter at delivery): no warehouse"
    assert erp.orders == {} and {r.status for r in rows(engine)} == {OutboxStatus.PENDING}


def test_retry_policy_backs_off_exponentially_with_jitter_and_a_cap():
    policy = RetryPolicy(base_s=2, max_s=60, max_attempts=5)
    for attempts, full in [(1, 2), (2, 4), (3, 8), (6, 60), (20, 60)]:
        delays = [policy.delay(attempts) for _ in range(200)]
        assert full / 2 <= min(delays) and max(delays) <= full
        assert len(set(delays)) > 1
    assert not policy.exhausted(4) and policy.exhausted(5)


def test_e5_every_command_word_of_the_contract_is_delivered_as_an_order_command():
    """E5: release, cancel and complete are spelled once (bridge.connector.COMMANDS); the
    dispatcher hands each to ``order_command`` and refuses a word outside them."""
    from bridge.connector import COMMANDS

    assert COMMANDS == ("release", "cancel", "complete")
    for command in COMMANDS:
        message = OutboxMessage(
            id=1,
            target="erp",
            kind=f"order.{command}",
            ordering_key="customer:1",
            aggregate_type="order",
            aggregate_id="JHT-1",
            payload={"command": command},
        )
        assert message_action(message)[0] == "order_command"
    odd = OutboxMessage(
        id=2,
        target="erp",
        kind="order.explode",
        ordering_key="customer:1",
        aggregate_type="order",
        aggregate_id="JHT-1",
        payload={},
    )
    assert message_action(odd)[0] == "unknown"
