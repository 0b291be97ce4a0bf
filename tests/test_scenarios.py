"""The two seed scenarios of the proposal (§6.1, §6.2) end to end: the bridge's real loops
and the file-drop connector against the ERP simulator, driven as the people would."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from bridge.actors import Actor
from bridge.customers import create_customer
from bridge.errors import NotFound
from bridge.models import (
    Address,
    Customer,
    Order,
    OrderStatus,
    OutboxMessage,
    OutboxStatus,
    Product,
    ProductGrant,
    ProductKind,
    Shipment,
    StaffRole,
    StaffUser,
)
from bridge.orders import LineRequest, OrderRequest, submit_order
from bridge.statemachine import release, transition
from bridge.visibility import get_visible_product
from connectors.filedrop.simulator import ErpSimulator
from tests.sync_helpers import RecordingNotifier, filedrop_runtime


@pytest.fixture
def notices():
    """What the bridge's notifiers were handed, recorded by a notifier plugin."""
    return RecordingNotifier()


ERP_SIDES = {
    "json-utf8": {"fmt": "json", "encoding": "utf-8"},
    # E10 (#12): what Chinese Windows software writes — GB18030 CSV with CRLF line ends, times
    # as local wall time without a zone (read in [bridge] timezone).
    "csv-gb18030-local-times": {"fmt": "csv", "encoding": "gb18030", "local_times": "Asia/Shanghai"},
}


@pytest.fixture(params=list(ERP_SIDES))
def erp_side(request):
    """How the ERP side writes its files (the bridge is configured to match)."""
    return ERP_SIDES[request.param]


@pytest.fixture
def rt(engine, tmp_path, notices, erp_side):
    runtime = filedrop_runtime(
        engine,
        tmp_path,
        plugins=(notices,),
        JHT_BRIDGE__TIMEZONE="Asia/Shanghai",
        JHT_CONNECTOR__FILEDROP__FORMAT=erp_side["fmt"],
        JHT_CONNECTOR__FILEDROP__ENCODING=erp_side["encoding"],
    )
    yield runtime
    runtime.connector.close()


@pytest.fixture
def sim(rt, erp_side):
    sim = ErpSimulator(rt.connector.root, **erp_side)
    yield sim
    # What the bridge read is what this ERP side claims to write (all of it, none quarantined).
    root = rt.connector.root
    assert not list((root / "error").iterdir())
    for path in (root / "archive").iterdir():
        raw = path.read_bytes()
        if erp_side["fmt"] == "csv":
            text = raw.decode("gb18030")
            assert text.count("\r\n") == text.count("\n") > 1 and not raw.startswith(b"\xef\xbb\xbf")
            if ",order.shipment," in text or ",stock," in text:
                assert not re.search(r"[+-]\d\d:\d\d\b|Z\b", text) and re.search(
                    r"20\d\d-\d\d-\d\d \d\d:\d\d:\d\d", text
                )


@pytest.fixture
def sales(engine):
    with Session(engine, expire_on_commit=False) as s:
        user = StaffUser(username="zhangwei", display_name="张伟", role=StaffRole.SALES, password_hash="x")
        s.add(user)
        s.commit()
        return user


def cycle(rt, sim, rounds: int = 3) -> None:
    """Let messages and events flow both ways until things settle."""
    for _ in range(rounds):
        rt.dispatcher().drain()
        sim.step()
        rt.poller().drain()


def order_of(engine, order_no) -> Order:
    with Session(engine) as s:
        return s.exec(select(Order).where(Order.order_no == order_no)).one()


def new_customer(engine, sales, name, type, phone="13900000001"):
    with Session(engine, expire_on_commit=False) as s:
        customer = create_customer(s, Actor.sales(sales.id), name=name, type=type, phone=phone)
        address = Address(
            customer_id=customer.id,
            recipient="陈国强",
            phone=phone,
            province="广东省",
            city="佛山市",
            district="南海区",
            detail="狮山镇科技路 18 号",
        )
        s.add(address)
        s.commit()
        return customer, address


def new_product(engine, **kw):
    with Session(engine, expire_on_commit=False) as s:
        product = Product(**kw)
        s.add(product)
        s.commit()
        return product


def test_scenario_1_type2_customer_orders_a_stocked_standard_wheel(engine, rt, sim, sales, notices):
    """§6.1: new type-2 customer, stock sufficient → 等待发货; the salesperson confirms payment;
    the ERP ships with a tracking number; the customer confirms receipt → 已完成, ERP told."""
    wheel = new_product(engine, sku="WA-400", name="平形砂轮 1-400×50×127 WA60K5V", price=Decimal("186.00"))
    sim.set_stock({"WA-400": 50})
    customer, address = new_customer(engine, sales, "佛山市南海区恒达五金机械厂", type=2)
    cycle(rt, sim)  # the stock event, and the new customer reaches the ERP with a code back
    assert customer.id in sim.customers

    request = OrderRequest(
        [LineRequest(product_id=wheel.id, quantity=10)],
        "scenario-1-order",
        address_id=address.id,
        remark="请周五前发货",
    )
    placed = submit_order(engine, rt.stock_checker(), Actor.customer(customer.id), customer.id, request, rt.config)
    order_no = placed.order.order_no
    assert placed.order.status == OrderStatus.AWAITING_SHIPMENT  # 等待发货 before payment
    assert placed.order.released is False

    cycle(rt, sim)
    assert sim.orders[order_no]["remark"] == "请周五前发货" and sim.released[order_no] is False
    assert order_of(engine, order_no).erp_ref == sim.erp_refs[order_no]
    with Session(engine) as s:
        reminder = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "notify.new_order")).one()
        assert reminder.status == OutboxStatus.DELIVERED
    # A5: the notifiers were handed the reminder, addressed to this customer's salesperson, saying
    # the payment is to be confirmed.
    assert [
        (n["order_no"], n["salesperson_id"], n["needs_payment_confirmation"])
        for n in notices.of_kind("notify.new_order")
    ] == [(order_no, sales.id, True)]

    with Session(engine) as s:  # the salesperson confirms payment from the phone
        release(s, s.exec(select(Order).where(Order.order_no == order_no)).one(), Actor.sales(sales.id))
        s.commit()
    cycle(rt, sim)
    assert (order_no, "release") in sim.commands

    sim.ship(order_no)
    cycle(rt, sim)
    order = order_of(engine, order_no)
    assert order.status == OrderStatus.SHIPPED
    with Session(engine) as s:
        shipment = s.exec(select(Shipment).where(Shipment.order_id == order.id)).one()
        assert shipment.tracking_no == sim.shipments[order_no][0]["tracking_no"] and shipment.courier
        assert shipment.shipped_at == datetime.fromisoformat(sim.shipments[order_no][0]["shipped_at"])
        notice = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "notify.shipment")).one()
        assert notice.payload["tracking_no"] == shipment.tracking_no and notice.status == OutboxStatus.DELIVERED
    # C12: the notifiers were handed the shipment notice for this customer, with the tracking number.
    assert [(n["order_no"], n["customer_id"], n["tracking_no"]) for n in notices.of_kind("notify.shipment")] == [
        (order_no, customer.id, shipment.tracking_no)
    ]

    with Session(engine) as s:  # the customer confirms receipt
        transition(
            s,
            s.exec(select(Order).where(Order.order_no == order_no)).one(),
            OrderStatus.COMPLETED,
            Actor.customer(customer.id),
        )
        s.commit()
    cycle(rt, sim)
    assert order_of(engine, order_no).status == OrderStatus.COMPLETED
    assert (order_no, "complete") in sim.commands and sim.status[order_no] == "completed"
    assert sim.imports[order_no] == 1


def test_scenario_2_custom_product_for_one_new_customer(engine, rt, sim, sales, notices):
    """§6.2: the salesperson creates the customer and a custom product only it sees; no stock
    → 等待处理; the ERP produces, payment is confirmed there, then it ships in two parts."""
    customer, address = new_customer(engine, sales, "东莞市长安镇精工模具有限公司", type=2)
    other, _ = new_customer(engine, sales, "别的客户", type=2, phone="13900000002")
    custom = new_product(
        engine,
        sku="CUS-JG-001",
        name="定制 碗形砂轮 11-150×60×32 GC80J",
        kind=ProductKind.CUSTOM,
        price=Decimal("420.00"),
    )
    with Session(engine) as s:
        s.add(ProductGrant(product_id=custom.id, customer_id=customer.id))
        s.commit()
        with pytest.raises(NotFound):
            get_visible_product(s, s.get(Customer, other.id), custom.id)

    request = OrderRequest([LineRequest(product_id=custom.id, quantity=6)], "scenario-2-order", address_id=address.id)
    placed = submit_order(engine, rt.stock_checker(), Actor.customer(customer.id), customer.id, request, rt.config)
    order_no = placed.order.order_no
    assert placed.order.status == OrderStatus.PENDING  # 等待处理: custom products have no stock

    cycle(rt, sim)
    assert sim.status[order_no] == "pending"
    # A5: the salesperson who created the customer is reminded of its order, to confirm payment.
    assert [
        (n["order_no"], n["salesperson_id"], n["needs_payment_confirmation"])
        for n in notices.of_kind("notify.new_order")
    ] == [(order_no, sales.id, True)]
    sim.produce(order_no)
    cycle(rt, sim)
    assert order_of(engine, order_no).status == OrderStatus.IN_PRODUCTION
    sim.release_in_erp(order_no)
    sim.finish(order_no)
    cycle(rt, sim)
    order = order_of(engine, order_no)
    assert order.status == OrderStatus.AWAITING_SHIPMENT and order.released
    sim.ship(order_no, parts=2)
    cycle(rt, sim)
    order = order_of(engine, order_no)
    assert order.status == OrderStatus.SHIPPED
    with Session(engine) as s:
        shipments = s.exec(select(Shipment).where(Shipment.order_id == order.id)).all()
        assert len(shipments) == 2 and all(x.tracking_no for x in shipments)
        # Nothing about this order went back to the ERP except the order itself.
        kinds = s.exec(select(OutboxMessage.kind).where(OutboxMessage.aggregate_id == order_no)).all()
        assert [k for k in kinds if not k.startswith("notify.")] == ["order.create"]
        # the notices: the salesperson's, and the customer's of production, ready to ship, each shipment
        notices = sorted(k for k in kinds if k.startswith("notify."))
        assert notices == ["notify.new_order", "notify.shipment", "notify.shipment", "notify.status", "notify.status"]
