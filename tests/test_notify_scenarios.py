"""The proposal's scenarios 1 and 2 end to end with the notices (issue #15, "Tests"): the ERP is
the file-drop simulator; the salesperson's channels are a fake WeCom robot and a real SMTP server
(aiosmtpd); the customer's is the fake WeChat server. Scenario 1: the salesperson is reminded of
the new order on WeCom and by mail, and the customer hears it shipped with the tracking number.
Scenario 2: the customer hears their custom product is ready."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session, select

from bridge.actors import CLI_ADMIN, Actor
from bridge.customers import create_customer
from bridge.models import Account, Address, Order, OrderStatus, Product, ProductGrant, ProductKind, StaffRole, StaffUser
from bridge.notify import set_contacts
from bridge.orders import LineRequest, OrderRequest, submit_order
from bridge.products import tell_product_ready
from bridge.statemachine import release
from connectors.filedrop.simulator import ErpSimulator
from tests.smtp_server import SmtpServer
from tests.sync_helpers import filedrop_runtime


def _cycle(rt, sim, rounds: int = 3) -> None:
    for _ in range(rounds):
        rt.dispatcher().drain()
        sim.step()
        rt.poller().drain()


def test_scenarios_1_and_2_reach_the_salesperson_and_the_customer(engine, tmp_path, fake_wecom, fake_wechat):
    with SmtpServer() as smtp:
        rt = filedrop_runtime(
            engine,
            tmp_path,
            JHT_NOTIFY__WECOM_ROBOT__WEBHOOK_URL=fake_wecom.webhook_url(),
            JHT_NOTIFY__EMAIL__HOST="127.0.0.1",
            JHT_NOTIFY__EMAIL__PORT=str(smtp.port),
            JHT_NOTIFY__EMAIL__SECURITY="none",
            JHT_NOTIFY__EMAIL__FROM_ADDRESS="shop@jht.example",
            JHT_WECHAT__MODE="live",
            JHT_WECHAT__APPID=fake_wechat.appid,
            JHT_WECHAT__APP_SECRET=fake_wechat.secret,
            JHT_WECHAT__BASE_URL=fake_wechat.base_url,
            JHT_NOTIFY__WECHAT__SHIPMENT__TEMPLATE_ID="tmpl-ship",
            JHT_NOTIFY__WECHAT__READY__TEMPLATE_ID="tmpl-ready",
        )
        sim = ErpSimulator(rt.connector.root)
        with Session(engine, expire_on_commit=False) as s:
            sales = StaffUser(
                username="zhangwei", display_name="张伟", role=StaffRole.SALES, password_hash="x", phone="13900139000"
            )
            s.add(sales)
            s.flush()
            set_contacts(s, CLI_ADMIN, sales, email="zhangwei@jht.example")
            customer = create_customer(
                s, Actor.sales(sales.id), name="佛山市南海区恒达五金机械厂", type=2, phone="13900000001"
            )
            address = Address(customer_id=customer.id, recipient="陈国强", phone="13900000001", detail="狮山镇 8 号")
            s.add_all([address, Account(customer_id=customer.id, openid="openid-chen")])
            wheel = Product(sku="WA-400", name="平形砂轮 1-400×50×127 WA60K5V", price=Decimal("186.00"))
            custom = Product(
                sku="C-HD-350", name="恒达定制 350×40×127", kind=ProductKind.CUSTOM, price=Decimal("210.00")
            )
            s.add_all([wheel, custom])
            s.flush()
            s.add(ProductGrant(product_id=custom.id, customer_id=customer.id))
            s.commit()
        sim.set_stock({"WA-400": 50})
        _cycle(rt, sim)

        # scenario 1: the order, the reminder, the payment, the shipment
        request = OrderRequest([LineRequest(product_id=wheel.id, quantity=10)], "scenario-1", address_id=address.id)
        order_no = submit_order(
            engine, rt.stock_checker(), Actor.customer(customer.id), customer.id, request, rt.config
        ).order.order_no
        _cycle(rt, sim)
        (robot,) = [m for m in fake_wecom.received if order_no in m["content"]]
        assert robot["mentions"] == ["13900139000"] and "需确认收款后下发生产" in robot["content"]
        (mail,) = [m for m in smtp.messages if order_no in m["Subject"]]
        assert mail["To"] == "zhangwei@jht.example" and "¥1,860.00" in mail.get_body(("plain",)).get_content()
        with Session(engine) as s:
            release(s, s.exec(select(Order).where(Order.order_no == order_no)).one(), Actor.sales(sales.id))
            s.commit()
        _cycle(rt, sim)
        sim.ship(order_no)
        _cycle(rt, sim)
        with Session(engine) as s:
            assert s.exec(select(Order).where(Order.order_no == order_no)).one().status == OrderStatus.SHIPPED
        shipped = [m for m in fake_wechat.sent if m["template_id"] == "tmpl-ship"]
        assert [m["touser"] for m in shipped] == ["openid-chen"]
        assert shipped[0]["data"]["character_string1"]["value"] == order_no
        assert shipped[0]["data"]["character_string3"]["value"] not in ("", "-")  # the tracking number

        # scenario 2: the custom product is made
        with Session(engine) as s:
            tell_product_ready(s, Actor.sales(sales.id), custom.id, customer.id, note="可以下单了")
            s.commit()
        _cycle(rt, sim, rounds=1)
        ready = [m for m in fake_wechat.sent if m["template_id"] == "tmpl-ready"]
        assert [m["touser"] for m in ready] == ["openid-chen"]
        assert ready[0]["data"]["thing1"]["value"] == "恒达定制 350×40×127"
    rt.connector.close()
