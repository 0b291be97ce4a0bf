"""Order placement (C5, C7, C2, A1, A9, E1): one order per idempotency key, exact snapshots,
the order and its outbox rows written together, and nothing written for a bad request."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from bridge.actors import Actor
from bridge.config import OrdersSection
from bridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from bridge.models import (
    Address,
    CustomerPrice,
    CustomerType,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    OutboxMessage,
    ProductHide,
    ProductKind,
    ProductQR,
    StockCheck,
)
from bridge.orders import LineRequest, OrderRequest, StockAnswer, next_order_no, place_order
from tests.conftest import count

LIMITS = OrdersSection()


@pytest.fixture
def shop(session, make):
    sales = make.staff()
    customer = make.customer(type=CustomerType.TYPE_2, salesperson_id=sales.id)
    wheel = make.product(sku="WA-400", price=Decimal("180.00"), erp_item_code="ERP-400")
    disc = make.product(sku="C-105", price=Decimal("2.35"))
    address = Address(
        customer_id=customer.id,
        recipient="李工",
        phone="13800000000",
        province="广东省",
        city="佛山市",
        district="南海区",
        detail="狮山镇工业大道 8 号",
    )
    session.add(address)
    session.commit()
    return {"sales": sales, "customer": customer, "wheel": wheel, "disc": disc, "address": address}


def _request(shop, key="order-key-0001", qty=3, **kw):
    lines = kw.pop("lines", [LineRequest(product_id=shop["wheel"].id, quantity=qty)])
    return OrderRequest(lines=lines, idempotency_key=key, address_id=kw.pop("address_id", shop["address"].id), **kw)


def _place(session, shop, request=None, actor=None, **kw):
    customer = shop["customer"]
    return place_order(
        session,
        actor or Actor.customer(customer.id, None),
        kw.pop("customer_id", customer.id),
        request or _request(shop),
        limits=kw.pop("limits", LIMITS),
        **kw,
    )


def test_c5_the_same_idempotency_key_gives_one_order(session, shop):
    first = _place(session, shop)
    session.commit()
    again = _place(session, shop)
    session.commit()
    assert first.created and not again.created
    assert again.order.order_no == first.order.order_no
    assert count(session, Order) == 1
    assert count(session, OutboxMessage, OutboxMessage.kind == "order.create") == 1


def test_c5_the_same_key_with_a_different_order_is_refused(session, shop):
    _place(session, shop)
    session.commit()
    with pytest.raises(Conflict):
        _place(session, shop, _request(shop, qty=4))
    session.rollback()
    assert count(session, Order) == 1


def test_c5_double_submit_racing_from_two_connections_makes_one_order(engine, session, shop):
    """Two requests with one key at the same moment (a double tap): one order, both answered with it."""
    results, errors = [], []
    barrier = threading.Barrier(2)

    def submit():
        try:
            with Session(engine, expire_on_commit=False) as s:
                barrier.wait()
                placed = _place(s, shop)
                s.commit()
                results.append(placed.order.order_no)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(results) == 2 and results[0] == results[1]
    assert count(session, Order) == 1


def test_c5_order_and_its_outbox_rows_are_one_transaction(session, shop):
    placed = _place(session, shop)
    session.rollback()
    assert count(session, Order) == 0
    assert count(session, OutboxMessage) == 0
    assert count(session, OrderLine) == 0
    del placed


def test_e1_order_create_message_carries_the_order_document(session, shop):
    placed = _place(session, shop)
    session.commit()
    rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(r.target, r.kind) for r in rows] == [("erp", "order.create"), ("notify", "notify.new_order")]
    doc = rows[0].payload
    assert doc["schema"] == "jht.order/1"
    assert doc["order_no"] == placed.order.order_no
    assert doc["customer"]["id"] == shop["customer"].id
    assert doc["lines"] == [
        {
            "line_no": 1,
            "sku": "WA-400",
            "erp_item_code": "ERP-400",
            "name": shop["wheel"].name,
            "spec": "",
            "marking": None,
            "quantity": 3,
            "unit": "片",
            "unit_price": "180.00",
            "amount": "540.00",
        }
    ]
    assert doc["ship_to"]["detail"] == "狮山镇工业大道 8 号"
    assert rows[0].ordering_key == rows[1].ordering_key == f"customer:{shop['customer'].id}"
    assert rows[1].payload["needs_payment_confirmation"] is True


def test_a9_price_is_snapshotted_and_customer_price_wins(session, shop):
    session.add(CustomerPrice(product_id=shop["wheel"].id, customer_type=2, price=Decimal("170.00")))
    session.add(CustomerPrice(product_id=shop["disc"].id, customer_id=shop["customer"].id, price=Decimal("2.10")))
    session.add(CustomerPrice(product_id=shop["disc"].id, customer_type=2, price=Decimal("2.20")))
    session.commit()
    placed = _place(
        session,
        shop,
        _request(
            shop, lines=[LineRequest(product_id=shop["wheel"].id, quantity=2), LineRequest(sku="C-105", quantity=1000)]
        ),
    )
    session.commit()
    shop["wheel"].price = Decimal("999.00")
    session.add(shop["wheel"])
    session.commit()
    lines = session.exec(select(OrderLine).order_by(OrderLine.line_no)).all()
    assert [(line.unit_price, line.amount) for line in lines] == [
        (Decimal("170.00"), Decimal("340.00")),
        (Decimal("2.10"), Decimal("2100.00")),
    ]
    assert session.get(Order, placed.order.id).total_amount == Decimal("2440.00")


def test_a9_another_customers_or_another_types_price_does_not_apply(session, shop, make):
    """A9: the price rows asked are the customer's own and its type's (the same "customer or
    customer type" rule as grants, bridge.visibility.applies_to), no one else's."""
    other = make.customer(type=CustomerType.TYPE_1)
    session.add(CustomerPrice(product_id=shop["wheel"].id, customer_type=1, price=Decimal("100.00")))
    session.add(CustomerPrice(product_id=shop["wheel"].id, customer_id=other.id, price=Decimal("90.00")))
    session.commit()
    _place(session, shop)
    session.commit()
    assert session.exec(select(OrderLine.unit_price)).all() == [Decimal("180.00")]


@pytest.mark.parametrize(
    "stock,status,check",
    [
        (StockAnswer({"WA-400": Decimal("3")}), OrderStatus.AWAITING_SHIPMENT, StockCheck.SUFFICIENT),
        (StockAnswer({"WA-400": Decimal("2")}), OrderStatus.PENDING, StockCheck.INSUFFICIENT),
        (StockAnswer({}), OrderStatus.PENDING, StockCheck.UNKNOWN),
        (None, OrderStatus.PENDING, StockCheck.UNKNOWN),
    ],
    ids=["enough", "short", "item-missing-from-answer", "no-answer"],
)
def test_c7_initial_status_follows_the_stock_check(session, shop, stock, status, check):
    placed = _place(session, shop, stock=stock)
    assert (placed.order.status, placed.order.stock_check) == (status, check)
    event = session.exec(select(OrderEvent).where(OrderEvent.order_id == placed.order.id)).one()
    assert (event.action, event.to_status) == ("placed", status)


def test_c7_two_lines_of_one_item_are_checked_together(session, shop):
    lines = [LineRequest(product_id=shop["wheel"].id, quantity=2), LineRequest(product_id=shop["wheel"].id, quantity=2)]
    placed = _place(session, shop, _request(shop, lines=lines), stock=StockAnswer({"WA-400": Decimal("3")}))
    assert placed.order.stock_check == StockCheck.INSUFFICIENT


def test_a1_type_1_orders_are_released_at_once_type_2_wait(session, shop, make):
    placed = _place(session, shop)
    assert placed.order.released is False
    shop["customer"].type = CustomerType.TYPE_1
    session.add(shop["customer"])
    placed1 = _place(session, shop, _request(shop, key="order-key-0002"))
    assert placed1.order.released is True
    create = session.exec(
        select(OutboxMessage).where(
            OutboxMessage.kind == "order.create", OutboxMessage.aggregate_id == placed1.order.order_no
        )
    ).one()
    assert create.payload["released"] is True


def test_c2_a_hidden_product_cannot_be_ordered_and_nothing_is_written(session, shop):
    session.add(ProductHide(product_id=shop["disc"].id, customer_id=shop["customer"].id))
    session.commit()
    lines = [LineRequest(product_id=shop["wheel"].id, quantity=1), LineRequest(product_id=shop["disc"].id, quantity=1)]
    with pytest.raises(NotFound) as err:
        _place(session, shop, _request(shop, lines=lines))
    assert err.value.data["line"] == 2
    session.rollback()
    assert count(session, Order) == 0 and count(session, OutboxMessage) == 0


def test_c2_an_ungranted_custom_product_cannot_be_ordered(session, shop, make):
    custom = make.product(kind=ProductKind.CUSTOM)
    session.commit()
    with pytest.raises(NotFound):
        _place(session, shop, _request(shop, lines=[LineRequest(product_id=custom.id, quantity=1)]))


@pytest.mark.parametrize(
    "change",
    [
        {"lines": []},
        {"lines": [LineRequest(product_id=1, quantity=0)]},
        {"lines": [LineRequest(product_id=1, quantity=-2)]},
        {"lines": [LineRequest(product_id=1, quantity=True)]},
        {"lines": [LineRequest(product_id=1, quantity=2.5)]},
        {"lines": [LineRequest(product_id=1, quantity=100_001)]},
        {"lines": [LineRequest(quantity=1)]},
        {"lines": [LineRequest(product_id=1, quantity=1)] * 51},
        {"remark": "长" * 501},
        {"key": "short"},
        {"key": "has spaces in it"},
        {"address_id": None},
    ],
    ids=[
        "no-lines",
        "zero",
        "negative",
        "bool",
        "fraction",
        "too-many",
        "no-product",
        "too-many-lines",
        "long-remark",
        "short-key",
        "bad-key",
        "no-address",
    ],
)
def test_c5_bad_requests_are_refused_with_a_reason_and_write_nothing(session, shop, change):
    change = dict(change)
    request = _request(shop, key=change.pop("key", "order-key-0001"), **change)
    with pytest.raises(InvalidInput) as err:
        _place(session, shop, request)
    assert err.value.message and err.value.detail
    session.rollback()
    assert count(session, Order) == 0


def test_c13_another_customers_address_is_not_found(session, shop, make):
    other = make.customer()
    foreign = Address(customer_id=other.id, recipient="王", phone="1", detail="x")
    session.add(foreign)
    session.commit()
    with pytest.raises(NotFound):
        _place(session, shop, _request(shop, address_id=foreign.id))


def test_c13_a_deleted_address_is_not_found_and_a_kept_one_is_copied_whole(session, shop):
    placed = _place(session, shop)
    assert placed.order.address_id == shop["address"].id
    assert placed.order.ship_to == {
        "recipient": "李工",
        "phone": "13800000000",
        "province": "广东省",
        "city": "佛山市",
        "district": "南海区",
        "detail": "狮山镇工业大道 8 号",
    }
    shop["address"].deleted = True
    session.add(shop["address"])
    session.commit()
    with pytest.raises(NotFound) as refused:
        _place(session, shop, _request(shop, key="order-key-0002"))
    assert refused.value.message == "收货地址不存在"


def test_c5_explicit_ship_to_is_validated_and_kept(session, shop):
    ship_to = {"recipient": "赵六", "phone": "13900000000", "detail": "仓库 3 号门"}
    placed = _place(session, shop, _request(shop, address_id=None, ship_to=ship_to))
    assert placed.order.ship_to["recipient"] == "赵六" and placed.order.address_id is None
    with pytest.raises(InvalidInput):
        _place(session, shop, _request(shop, key="order-key-0009", address_id=None, ship_to={"recipient": "x"}))


def test_c4_scanned_line_carries_the_qr_marking_and_a_foreign_code_is_refused(session, shop):
    session.add(ProductQR(product_id=shop["wheel"].id, payload="JHT:QR:WA-400:B7", marking="WA60K5V 批次B7"))
    session.add(ProductQR(product_id=shop["disc"].id, payload="JHT:QR:C-105"))
    session.commit()
    placed = _place(
        session,
        shop,
        _request(shop, lines=[LineRequest(product_id=shop["wheel"].id, quantity=1, qr_payload="JHT:QR:WA-400:B7")]),
    )
    assert placed.lines[0].marking == "WA60K5V 批次B7"
    with pytest.raises(InvalidInput):
        _place(
            session,
            shop,
            _request(
                shop,
                key="order-key-0002",
                lines=[LineRequest(product_id=shop["wheel"].id, quantity=1, qr_payload="JHT:QR:C-105")],
            ),
        )


def test_a2_orders_for_a_merged_away_customer_go_to_the_survivor(session, shop, make):
    alias = make.customer(merged_into_id=shop["customer"].id)
    session.commit()
    placed = _place(session, shop, customer_id=alias.id, actor=Actor.customer(alias.id, None))
    assert placed.order.customer_id == shop["customer"].id


def test_a6_salesperson_orders_for_own_customers_only(session, shop, make):
    placed = _place(session, shop, actor=Actor.sales(shop["sales"].id))
    assert placed.order.placed_by_staff_id == shop["sales"].id
    with pytest.raises(Forbidden):
        _place(session, shop, _request(shop, key="order-key-0002"), actor=Actor.sales(make.staff().id))
    with pytest.raises(Forbidden):
        _place(session, shop, _request(shop, key="order-key-0003"), actor=Actor.customer(make.customer().id))


@pytest.mark.parametrize("backend", ["postgresql"])
def test_o2_every_api_thread_gets_its_order_number_with_a_small_pool(engine):
    """O2, PostgreSQL: the order number is counted on a second connection while the placement's
    own is held; with database.pool_size below api.threads the pool still opens enough for every
    thread at once (none waits for a connection the others hold)."""
    from bridge.config import load_config
    from bridge.db import make_engine, session_scope

    url = engine.url.render_as_string(hide_password=False)
    config = load_config(
        None, environ={"JHT_DATABASE__URL": url, "JHT_DATABASE__POOL_SIZE": "1", "JHT_API__THREADS": "8"}
    )
    small = make_engine(config, pool_timeout=5)
    barrier, numbers, errors = threading.Barrier(8), [], []

    def placement():
        try:
            with session_scope(small) as s:
                s.execute(select(1))  # the placement's connection, held to the end
                barrier.wait(10)
                numbers.append(next_order_no(s, "JHT", "Asia/Shanghai"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=placement) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    small.dispose()
    assert errors == []
    assert len(set(numbers)) == 8


def test_order_numbers_are_readable_unique_and_count_per_day(session):
    from datetime import UTC, datetime

    day1 = datetime(2026, 11, 24, 16, 30, tzinfo=UTC)  # 00:30 on the 25th in Shanghai
    numbers = [next_order_no(session, "JHT", "Asia/Shanghai", day1) for _ in range(3)]
    assert numbers == ["JHT-20261125-0001", "JHT-20261125-0002", "JHT-20261125-0003"]
    day2 = datetime(2026, 11, 25, 16, 30, tzinfo=UTC)
    assert next_order_no(session, "JHT", "Asia/Shanghai", day2) == "JHT-20261126-0001"
