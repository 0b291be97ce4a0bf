"""The 订单 admin pages (issue #14; A1, A6, A8, A12, C8, S3), driven in Debian's Chromium against a
live bridge with the demo data: the list with its filters for an admin and a salesperson, one
order with lines, timeline and shipment, 确认收款 / 取消订单 / 添加备注 through htmx, a refused action
with the service's words, and another salesperson's order closed to a salesperson."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from bridge.actors import Actor
from bridge.config import OrdersSection
from bridge.demo import ADMIN_LOGIN, SALES_LOGIN
from bridge.inbox import InboxPoller
from bridge.models import (
    AuditLog,
    Customer,
    CustomerType,
    Note,
    Order,
    OrderStatus,
    OutboxMessage,
    Product,
    ProductKind,
    StaffRole,
    StaffUser,
)
from bridge.orders import LineRequest, OrderRequest, StockAnswer, place_order
from bridge.types import utcnow
from tests.admin_site import shoot, signed_in
from tests.doubles.memory import MemoryConnector

SHIP_TO = {
    "recipient": "王建军",
    "phone": "13800138003",
    "province": "浙江省",
    "city": "宁波市",
    "detail": "明光北路299号",
}


def _place(session, actor, customer, products, *, key: str, stock: bool = False, days_ago: int = 0) -> Order:
    request = OrderRequest(
        lines=[LineRequest(product_id=p.id, quantity=q) for p, q in products],
        idempotency_key=key,
        ship_to=SHIP_TO,
        remark="请用木箱包装",
    )
    answer = StockAnswer({p.sku: Decimal(1000) for p, _ in products}) if stock else None
    placed = place_order(session, actor, customer.id, request, limits=OrdersSection(), stock=answer).order
    if days_ago:
        placed.created_at = utcnow() - timedelta(days=days_ago)
        session.add(placed)
    session.flush()
    return placed


@pytest.fixture
def shop(demo_site):
    """The demo shop with orders placed the real way: type 1 (released, in stock, accepted by the
    ERP and shipped in part, with a courier and tracking number), type 2 waiting for the payment
    confirmation (one today, one ten days ago), and an order of another salesperson's customer."""
    site = demo_site
    with Session(site.rt.engine, expire_on_commit=False) as session:
        customers = {c.name: c for c in session.exec(select(Customer)).all()}
        wheels = session.exec(select(Product).where(Product.kind == ProductKind.STANDARD).order_by(Product.id)).all()
        hengda = customers["佛山市南海区恒达五金机械厂"]
        yongxing = customers["宁波市鄞州区永兴轴承有限公司"]
        desheng = customers["苏州工业园区德胜精密机械有限公司"]
        admin = Actor.admin("cli")
        shipped = _place(
            session,
            admin,
            hengda,
            [(wheels[0], 20), (wheels[1], 50), (wheels[2], 5)],
            key="order-key-shipped",
            stock=True,
        )
        waiting = _place(session, admin, yongxing, [(wheels[3], 10)], key="order-key-waiting")
        old = _place(session, admin, desheng, [(wheels[4], 3), (wheels[5], 8)], key="order-key-old", days_ago=10)
        lisi = StaffUser(username="lisi", display_name="李四", role=StaffRole.SALES, password_hash="x")
        session.add(lisi)
        session.flush()
        theirs = Customer(name="杭州别家机械有限公司", type=CustomerType.TYPE_2, salesperson_id=lisi.id)
        session.add(theirs)
        session.flush()
        other = _place(session, admin, theirs, [(wheels[0], 1)], key="order-key-theirs")
        session.commit()
    erp = MemoryConnector()
    erp.emit("order.accepted", {"order_no": shipped.order_no, "erp_ref": "SO-2026-0815"})
    erp.emit(
        "order.shipment",
        {
            "order_no": shipped.order_no,
            "shipment_id": "FH-0001",
            "courier": "顺丰速运",
            "tracking_no": "SF1234567890123",
            "lines": [{"sku": wheels[0].sku, "quantity": 20}, {"sku": wheels[1].sku, "quantity": 30}],
        },
    )
    InboxPoller(site.rt.engine, erp).drain()
    site.orders = {"shipped": shipped, "waiting": waiting, "old": old, "theirs": other}
    return site


def _wait_rows(page, n: int) -> None:
    """Until the list shows ``n`` rows (htmx swapped it); by locator, as the CSP allows no eval."""
    from playwright.sync_api import expect

    expect(page.locator("#order-table tbody tr")).to_have_count(n)


def _rows(page) -> list[str]:
    return page.locator("#order-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.order)")


def test_a8_admin_lists_every_order_and_filters_them(shop, browser):
    """A8: the admin's list has every order with customer, status, total, ERP number and lines;
    the filters (status, customer search, days, salesperson, 待确认收款) narrow it in place."""
    o = shop.orders
    page = signed_in(browser, shop, ADMIN_LOGIN)
    page.click("nav[aria-label=主菜单] >> text=订单")
    page.wait_for_url(f"{shop.base_url}/admin/orders")
    assert _rows(page) == [o["theirs"].order_no, o["old"].order_no, o["waiting"].order_no, o["shipped"].order_no]
    row = page.locator(f"tr[data-order='{o['shipped'].order_no}']").inner_text()
    for text in ("佛山市南海区恒达五金机械厂", "等待发货", "SO-2026-0815", "等 3 种", "张伟"):
        assert text in row
    assert "待确认收款" in page.locator(f"tr[data-order='{o['waiting'].order_no}']").inner_text()
    assert "未分配" not in page.inner_text("#order-table")

    page.select_option("select[name=salesperson]", label="李四")
    _wait_rows(page, 1)
    assert _rows(page) == [o["theirs"].order_no]
    assert "salesperson=" in page.url  # the filter is in the address, a link to share

    page.click("text=清除")
    page.fill("input[name=q]", "永兴")
    page.press("input[name=q]", "Enter")
    _wait_rows(page, 1)
    assert _rows(page) == [o["waiting"].order_no]

    page.goto(f"{shop.base_url}/admin/orders")
    page.fill("input[name=from]", (utcnow() - timedelta(days=11)).date().isoformat())
    page.fill("input[name=to]", (utcnow() - timedelta(days=9)).date().isoformat())
    page.click("button:text('筛选')")
    _wait_rows(page, 1)
    assert _rows(page) == [o["old"].order_no]

    page.goto(f"{shop.base_url}/admin/orders?status=awaiting_shipment")
    assert _rows(page) == [o["shipped"].order_no]
    page.click("text=待确认收款")
    page.wait_for_url("**/admin/orders?waiting=1")
    assert _rows(page) == [o["theirs"].order_no, o["old"].order_no, o["waiting"].order_no]
    shoot(page, "orders")
    page.close()


def test_a6_s3_salesperson_sees_only_their_customers_orders(shop, browser):
    """A6: the salesperson's list is their own customers' orders (no salesperson filter for them);
    S3: another salesperson's order opened by its address is 页面不存在 with nothing of it."""
    o = shop.orders
    page = signed_in(browser, shop, SALES_LOGIN, phone=True)
    page.goto(f"{shop.base_url}/admin/orders")
    assert _rows(page) == [o["old"].order_no, o["waiting"].order_no, o["shipped"].order_no]
    assert page.locator("select[name=salesperson]").count() == 0
    page.check("input[name=waiting]")
    _wait_rows(page, 2)
    assert _rows(page) == [o["old"].order_no, o["waiting"].order_no]

    answer = page.goto(f"{shop.base_url}/admin/orders/{o['theirs'].order_no}")
    assert answer.status == 404
    body = page.inner_text("body")
    assert "页面不存在" in body
    for leak in (o["theirs"].order_no, "杭州别家机械有限公司", "李四"):
        assert leak not in page.content()
    page.goto(f"{shop.base_url}/admin/orders?q=别家")
    assert _rows(page) == []
    page.close()


def test_a1_admin_confirms_payment_and_the_erp_gets_order_release(shop, browser):
    """A1, A12: 确认收款 on a type-2 order releases it: the page shows it at once (htmx), the
    outbox holds ``order.release`` for the ERP and the audit log says who did it."""
    order = shop.orders["waiting"]
    page = signed_in(browser, shop, ADMIN_LOGIN)
    page.goto(f"{shop.base_url}/admin/orders/{order.order_no}")
    assert "待确认收款" in page.inner_text("#order-actions")
    page.once("dialog", lambda d: d.accept())
    page.click("#order-actions button:text('确认收款')")
    page.wait_for_selector("#order-actions .notice")
    assert "已确认收款" in page.inner_text("#order-actions")
    assert page.locator("#order-actions button:text('确认收款')").count() == 0
    assert "确认收款，放行生产" in page.inner_text("#order-timeline")
    assert "管理员" in page.inner_text("#order-timeline")
    assert page.url.endswith(order.order_no)
    assert not [e for e in getattr(page, "_jht_errors", [])]
    with Session(shop.rt.engine) as session:
        assert session.get(Order, order.id).released
        kinds = session.exec(
            select(OutboxMessage.kind).where(OutboxMessage.aggregate_id == order.order_no).order_by(OutboxMessage.id)
        ).all()
        assert "order.release" in kinds
        admin = session.exec(select(StaffUser).where(StaffUser.username == ADMIN_LOGIN[0])).one()
        audit = session.exec(select(AuditLog).where(AuditLog.action == "order.release")).one()
        assert (audit.actor_id, audit.entity, audit.entity_id) == (str(admin.id), "order", order.order_no)
    page.close()


def test_a6_salesperson_cancels_with_a_reason_and_adds_a_note(shop, browser):
    """A6: the customer's salesperson cancels an order with a reason (on the timeline, in the
    audit log, the ERP told) and writes a note that shows on the page at once."""
    order = shop.orders["old"]
    page = signed_in(browser, shop, SALES_LOGIN, phone=True)
    page.goto(f"{shop.base_url}/admin/orders/{order.order_no}")
    page.fill("textarea[name=body]", "客户说月底付款，先别催")
    page.click("#order-notes button:text('添加备注')")
    page.wait_for_selector("#order-notes li:has-text('客户说月底付款')")
    assert "张伟" in page.inner_text("#order-notes")
    assert page.input_value("textarea[name=body]") == ""

    page.click("summary:text('取消订单')")
    page.fill("textarea[name=reason]", "客户改单，重新下")
    page.once("dialog", lambda d: d.accept())
    page.click("button:text('确认取消订单')")
    # not just any notice: the note's 备注已添加 is there already, before the cancel's answer
    from playwright.sync_api import expect

    expect(page.locator("#order-actions .notice")).to_contain_text("已取消")
    assert page.locator("#order-actions button").count() == 0
    assert "客户改单，重新下" in page.inner_text("#order-timeline")
    assert "客户说月底付款" in page.inner_text("#order-notes")  # the notes came back with the answer
    with Session(shop.rt.engine) as session:
        assert session.get(Order, order.id).status == OrderStatus.CANCELLED
        assert session.exec(select(Note.body).where(Note.order_id == order.id)).all() == ["客户说月底付款，先别催"]
        assert "order.cancel" in session.exec(select(OutboxMessage.kind)).all()
        cancel = session.exec(select(AuditLog).where(AuditLog.action == "order.cancel")).one()
        assert cancel.detail["note"] == "客户改单，重新下"
    page.close()


def test_a6_a_refused_action_shows_the_services_chinese_message(shop, browser):
    """A6: a page opened before the order was cancelled elsewhere still offers 确认收款; pressing it
    shows the state machine's refusal in Chinese and the buttons the order has now. A blank note
    is refused at its field."""
    order = shop.orders["waiting"]
    page = signed_in(browser, shop, ADMIN_LOGIN)
    page.goto(f"{shop.base_url}/admin/orders/{order.order_no}")
    with Session(shop.rt.engine) as session:
        from bridge import orders

        orders.cancel_order(session, Actor.admin("cli"), order.order_no, "电话取消")
        session.commit()
    page.once("dialog", lambda d: d.accept())
    page.click("#order-actions button:text('确认收款')")
    page.wait_for_selector("#order-actions .error")
    assert page.inner_text("#order-actions .error") == "订单当前状态为「已取消」，不能确认收款"
    assert page.locator("#order-actions button").count() == 0
    assert "已取消" in page.inner_text("#order-actions .status")

    page.fill("textarea[name=body]", "   ")
    page.click("#order-notes button:text('添加备注')")
    page.wait_for_selector("#order-notes .field-error")
    assert page.inner_text("#order-notes .field-error") == "备注内容不能为空"
    with Session(shop.rt.engine) as session:
        assert not session.get(Order, order.id).released
        assert session.exec(select(Note).where(Note.order_id == order.id)).all() == []
    page.close()


def test_c8_order_detail_shows_lines_stock_check_shipment_and_timeline(shop, browser):
    """C8, A8: the detail has the lines with what shipped of each, the stock check at placement,
    the ERP number, the ship-to address, the shipment with its courier and tracking number, and
    the timeline; the customer links to the customer's page."""
    order = shop.orders["shipped"]
    page = signed_in(browser, shop, ADMIN_LOGIN)
    page.goto(f"{shop.base_url}/admin/orders")
    page.click(f"text={order.order_no}")
    page.wait_for_url(f"**/admin/orders/{order.order_no}")
    lines = page.locator("[data-name=lines] tbody tr")
    assert lines.count() == 3
    assert "20" in lines.nth(0).inner_text() and "30" in lines.nth(1).inner_text()
    assert page.inner_text("[data-name=stock-check]") == "库存充足（实时查询生产管理软件）"
    assert "SO-2026-0815" in page.inner_text("main")
    assert "浙江省 宁波市 明光北路299号" in page.inner_text("[data-name=ship-to]")
    shipment = page.inner_text("[data-name=shipments]")
    assert "顺丰速运" in shipment and "SF1234567890123" in shipment
    timeline = page.inner_text("#order-timeline")
    for text in ("提交订单", "生产管理软件已接单", "发货", "顺丰速运 SF1234567890123"):
        assert text in timeline
    href = page.get_attribute("a:text('佛山市南海区恒达五金机械厂')", "href")
    with Session(shop.rt.engine) as session:
        assert href == f"/admin/customers/{session.get(Order, order.id).customer_id}"
    shoot(page, "order")
    page.close()
