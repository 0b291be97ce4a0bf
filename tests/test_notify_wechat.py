"""The customer's notices as WeChat subscribe messages (issue #15, C12): status changes, a
cancellation, a shipment and "your custom product is ready", routed through the outbox to every
WeChat account of the customer (the fake WeChat server of tests/fake_wechat.py); fields cut to
WeChat's limits; 43101 recorded as not consented, not retried."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bridge.actors import Actor
from bridge.errors import InvalidInput, NotFound
from bridge.models import (
    Account,
    Customer,
    Order,
    OrderStatus,
    OutboxMessage,
    OutboxStatus,
    Product,
    ProductGrant,
    ProductKind,
    StaffUser,
)
from bridge.notify import TARGET_SEND
from bridge.products import tell_product_ready
from bridge.statemachine import transition
from tests.sync_helpers import filedrop_runtime, make_shop, place


def _wechat_env(fake_wechat, **templates) -> dict:
    env = {
        "JHT_WECHAT__MODE": "live",
        "JHT_WECHAT__APPID": fake_wechat.appid,
        "JHT_WECHAT__APP_SECRET": fake_wechat.secret,
        "JHT_WECHAT__BASE_URL": fake_wechat.base_url,
    }
    for event, template_id in templates.items():
        env[f"JHT_NOTIFY__WECHAT__{event.upper()}__TEMPLATE_ID"] = template_id
    return env


@pytest.fixture
def shop(engine):
    shop = make_shop(engine, customers=2)
    with Session(engine) as s:
        s.add(Account(customer_id=shop["customers"][0].id, openid="openid-a"))
        s.add(Account(customer_id=shop["customers"][0].id, openid="openid-b"))
        s.add(Account(customer_id=shop["customers"][1].id, openid="openid-other"))
        s.commit()
    return shop


def _sends(engine) -> list[OutboxMessage]:
    with Session(engine) as s:
        return list(s.exec(select(OutboxMessage).where(OutboxMessage.target == TARGET_SEND).order_by(OutboxMessage.id)))


def _move(engine, order, to: OrderStatus) -> None:
    with Session(engine) as s:
        transition(s, s.get(Order, order.id), to, Actor.erp("filedrop"))
        s.commit()


def test_c12_the_customer_hears_that_the_order_went_into_production(engine, tmp_path, fake_wechat, shop):
    rt = filedrop_runtime(engine, tmp_path, **_wechat_env(fake_wechat, status="tmpl-status"))
    order = place(engine, shop, shop["customers"][0])
    _move(engine, order, OrderStatus.IN_PRODUCTION)
    rt.dispatcher().drain()
    assert [m["touser"] for m in fake_wechat.sent] == ["openid-a", "openid-b"]  # every account, no one else's
    message = fake_wechat.sent[0]
    assert message["template_id"] == "tmpl-status"
    assert message["page"] == f"packageOrder/detail/index?order_no={order.order_no}"
    data = {k: v["value"] for k, v in message["data"].items()}
    assert data["character_string1"] == order.order_no and data["phrase2"] == "生产中"
    assert data["time3"].startswith("20") and "年" in data["time3"] and data["thing4"] == "-"
    sends = _sends(engine)
    assert {s.status for s in sends} == {OutboxStatus.DELIVERED} and len(sends) == 2


def test_c12_a_customer_who_did_not_accept_is_recorded_as_not_consented(engine, tmp_path, fake_wechat, shop):
    fake_wechat.refused.add("openid-a")
    rt = filedrop_runtime(engine, tmp_path, **_wechat_env(fake_wechat, status="tmpl-status"))
    order = place(engine, shop, shop["customers"][0])
    _move(engine, order, OrderStatus.IN_PRODUCTION)
    rt.dispatcher().drain()
    refused, accepted = _sends(engine)
    assert refused.payload["to"] == "openid-a" and refused.status == OutboxStatus.DELIVERED
    assert refused.result["not_consented"] is True and refused.attempts == 1  # not retried
    assert accepted.result is None and [m["touser"] for m in fake_wechat.sent] == ["openid-b"]


def test_c12_a_notice_without_a_template_is_not_sent(engine, tmp_path, fake_wechat, shop):
    rt = filedrop_runtime(engine, tmp_path, **_wechat_env(fake_wechat, shipment="tmpl-ship"))
    order = place(engine, shop, shop["customers"][0])
    _move(engine, order, OrderStatus.IN_PRODUCTION)  # status has no template here
    rt.dispatcher().drain()
    assert fake_wechat.sent == [] and _sends(engine) == []


def test_c12_fields_are_cut_to_wechats_limits(engine, tmp_path, fake_wechat, shop):
    env = _wechat_env(fake_wechat, cancelled="tmpl-cancel")
    rt = filedrop_runtime(engine, tmp_path, **env)
    order = place(engine, shop, shop["customers"][0])
    with Session(engine) as s:
        transition(
            s,
            s.get(Order, order.id),
            OrderStatus.CANCELLED,
            Actor.erp("filedrop"),
            note="生产线检修导致本批次无法按期完成，已与业务员沟通",
        )
        s.commit()
    rt.dispatcher().drain()
    data = {k: v["value"] for k, v in fake_wechat.sent[0]["data"].items()}
    assert data["phrase2"] == "已取消" and len(data["thing3"]) == 20  # thing: 20 characters
    assert len(data["phrase2"]) <= 5 and len(data["character_string1"]) <= 32


def test_c12_a_wrong_template_is_a_dead_letter_with_wechats_words(engine, tmp_path, fake_wechat, shop):
    fake_wechat.templates = {"the-real-one"}
    rt = filedrop_runtime(engine, tmp_path, **_wechat_env(fake_wechat, status="tmpl-typo"))
    order = place(engine, shop, shop["customers"][0])
    _move(engine, order, OrderStatus.IN_PRODUCTION)
    rt.dispatcher().drain()
    sends = _sends(engine)
    assert {s.status for s in sends} == {OutboxStatus.DEAD}
    assert "40037" in sends[0].last_error and "[notify.wechat.status]" in sends[0].last_error


def test_c12_the_shipment_template_of_wechat_section_still_works(engine, tmp_path, fake_wechat, shop):
    env = _wechat_env(fake_wechat)
    env["JHT_WECHAT__SHIPMENT_TEMPLATE_ID"] = "tmpl-old-ship"
    rt = filedrop_runtime(engine, tmp_path, **env)
    order = place(engine, shop, shop["customers"][0])
    with Session(engine) as s:
        from bridge.outbox import enqueue_notice

        enqueue_notice(
            s, "shipment", customer_id=order.customer_id, order_no=order.order_no, courier="顺丰速运", tracking_no="SF1"
        )
        s.commit()
    rt.dispatcher().drain()
    assert [m["template_id"] for m in fake_wechat.sent] == ["tmpl-old-ship", "tmpl-old-ship"]
    assert fake_wechat.sent[0]["data"]["thing2"] == {"value": "顺丰速运"}


def _custom_product(engine, shop, grant_to: int | None) -> Product:
    with Session(engine, expire_on_commit=False) as s:
        product = Product(sku="CU-350", name="定制砂轮 350×40×127", kind=ProductKind.CUSTOM, price=0)
        s.add(product)
        s.flush()
        if grant_to is not None:
            s.add(ProductGrant(product_id=product.id, customer_id=grant_to))
        s.commit()
        return product


def test_scenario_2_the_customer_hears_their_custom_product_is_ready(engine, tmp_path, fake_wechat, shop):
    rt = filedrop_runtime(engine, tmp_path, **_wechat_env(fake_wechat, ready="tmpl-ready"))
    customer = shop["customers"][0]
    product = _custom_product(engine, shop, grant_to=customer.id)
    with Session(engine) as s:
        sales = s.exec(select(StaffUser).where(StaffUser.username == "sales")).one()
        tell_product_ready(s, Actor.sales(sales.id), product.id, customer.id, note="可以下单了")
        s.commit()
    rt.dispatcher().drain()
    assert [m["touser"] for m in fake_wechat.sent] == ["openid-a", "openid-b"]
    data = {k: v["value"] for k, v in fake_wechat.sent[0]["data"].items()}
    assert data["thing1"] == "定制砂轮 350×40×127" and data["thing4"] == "可以下单了"
    assert fake_wechat.sent[0]["page"] == "pages/custom/index"


def test_scenario_2_ready_is_refused_for_a_customer_who_cannot_see_the_product(engine, shop):
    product = _custom_product(engine, shop, grant_to=None)
    with Session(engine) as s:
        sales = s.exec(select(StaffUser).where(StaffUser.username == "sales")).one()
        with pytest.raises(InvalidInput) as refused:  # an admin sees every product
            tell_product_ready(s, Actor.admin(None), product.id, shop["customers"][0].id)
        assert "请先把它授权" in refused.value.message
        with pytest.raises(NotFound):  # a salesperson does not even see it (not theirs, not granted)
            tell_product_ready(s, Actor.sales(sales.id), product.id, shop["customers"][0].id)
        other = StaffUser(username="ls", display_name="李四", role="sales", password_hash="x")
        s.add(other)
        s.flush()
        with pytest.raises(NotFound):  # not their customer
            tell_product_ready(s, Actor.sales(other.id), product.id, shop["customers"][0].id)
        assert s.get(Customer, shop["customers"][0].id) is not None


def test_scenario_2_the_salesperson_tells_the_customer_from_the_sales_api(engine, tmp_path):
    """The workbench's 定制品已就绪: POST /api/sales/v1/products/{id}/ready (202, the notice queued)."""
    from bridge.actors import CLI_ADMIN
    from bridge.demo import SALES_LOGIN, load_demo_data
    from tests.api_helpers import make_client

    client, rt = make_client(engine, tmp_path)
    with Session(rt.engine, expire_on_commit=False) as s:
        load_demo_data(s, CLI_ADMIN)
        s.commit()
        grant = s.exec(select(ProductGrant).where(ProductGrant.customer_id.is_not(None))).first()
        ungranted = s.exec(select(Customer).where(Customer.id != grant.customer_id)).first()
    with client:
        token = client.post("/api/sales/v1/auth/login", json={"username": SALES_LOGIN[0], "password": SALES_LOGIN[1]})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        url = f"/api/sales/v1/products/{grant.product_id}/ready"
        answer = client.post(url, json={"customer_id": grant.customer_id, "note": "请下单"}, headers=headers)
        assert answer.status_code == 202, answer.text
        assert answer.json()["kind"] == "notify.ready"
        refused = client.post(url, json={"customer_id": ungranted.id}, headers=headers)
        assert refused.status_code in (404, 422) and refused.json()["message"]
    with Session(rt.engine) as s:
        (row,) = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "notify.ready")).all()
        assert row.payload["customer_id"] == grant.customer_id and row.payload["note"] == "请下单"
    rt.connector.close()
