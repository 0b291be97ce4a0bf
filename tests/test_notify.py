"""Notices that reach people (issue #15): routed from their cause through the outbox to the
channels, paced per address, merged into digests. The WeCom robot is a local fake server
(tests/fake_wecom.py) that answers as WeCom does, 130101 past its rate included."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bridge.actors import Actor
from bridge.config import WecomRobotSection
from bridge.inquiries import create_inquiry
from bridge.models import Customer, Order, OrderStatus, OutboxMessage, OutboxStatus, StaffRole, StaffUser
from bridge.notify import TARGET_SEND, Pace, WecomRobot
from bridge.statemachine import transition
from tests.sync_helpers import Clock, filedrop_runtime, make_shop, place
from tests.test_cli_commands import Site


def _robot_runtime(engine, tmp_path, fake_wecom, **env):
    return filedrop_runtime(engine, tmp_path, JHT_NOTIFY__WECOM_ROBOT__WEBHOOK_URL=fake_wecom.webhook_url(), **env)


def _with_phone(engine, username: str, phone: str) -> None:
    with Session(engine) as s:
        user = s.exec(select(StaffUser).where(StaffUser.username == username)).one()
        user.phone = phone
        s.add(user)
        s.commit()


def _sends(engine) -> list[OutboxMessage]:
    with Session(engine) as s:
        return list(s.exec(select(OutboxMessage).where(OutboxMessage.target == TARGET_SEND).order_by(OutboxMessage.id)))


def test_a5_a_new_order_reaches_its_salesperson_on_the_wecom_robot(engine, tmp_path, fake_wecom):
    rt = _robot_runtime(engine, tmp_path, fake_wecom)
    shop = make_shop(engine, customers=1)
    _with_phone(engine, "sales", "13900139000")
    order = place(engine, shop, shop["customers"][0])
    rt.dispatcher().drain()
    assert len(fake_wecom.received) == 1
    got = fake_wecom.received[0]
    assert got["msgtype"] == "text" and got["mentions"] == ["13900139000"]
    assert f"【新订单】客户1 下单 {order.order_no}，¥360.00" in got["content"]
    assert "需确认收款后下发生产" in got["content"]  # type 2: the salesperson must confirm payment
    (send,) = _sends(engine)
    assert send.status == OutboxStatus.DELIVERED and send.kind == "notify.new_order"
    assert send.payload["text"] == got["content"]  # the row holds exactly what went out (E8)


def test_a5_an_unassigned_customers_order_goes_to_the_admins(engine, tmp_path, fake_wecom):
    rt = _robot_runtime(engine, tmp_path, fake_wecom)
    shop = make_shop(engine, customers=1)
    with Session(engine) as s:
        s.add(
            StaffUser(
                username="boss", display_name="老板", role=StaffRole.ADMIN, password_hash="x", phone="13700000001"
            )
        )
        s.add(
            StaffUser(username="it", display_name="网管", role=StaffRole.ADMIN, password_hash="x", phone="13700000002")
        )
        customer = s.get(Customer, shop["customers"][0].id)
        customer.salesperson_id = None
        s.add(customer)
        s.commit()
    place(engine, shop, shop["customers"][0])
    rt.dispatcher().drain()
    assert [r["mentions"] for r in fake_wecom.received] == [["13700000001", "13700000002"]]  # one message, both named


def test_c11_an_inquiry_and_a_customers_cancellation_reach_the_salesperson(engine, tmp_path, fake_wecom):
    rt = _robot_runtime(engine, tmp_path, fake_wecom)
    shop = make_shop(engine, customers=1)
    customer = shop["customers"][0]
    order = place(engine, shop, customer)
    rt.dispatcher().drain()
    with Session(engine) as s:
        create_inquiry(s, Actor.customer(customer.id), s.get(Customer, customer.id), "想定做 350×40×127 的 WA60 砂轮")
        transition(s, s.get(Order, order.id), OrderStatus.CANCELLED, Actor.customer(customer.id))
        s.commit()
    rt.dispatcher().drain()
    texts = [r["content"] for r in fake_wecom.received[1:]]
    assert len(texts) in (1, 2)  # sent one by one, or merged when both waited together
    joined = "\n".join(texts)
    assert "【询价】客户1：想定做 350×40×127 的 WA60 砂轮" in joined
    assert f"【订单取消】客户1 取消了订单 {order.order_no}" in joined


def test_a5_a_burst_of_100_orders_on_a_robot_limited_to_20_a_minute(engine, tmp_path, fake_wecom):
    """No notice lost, no 130101 left unhandled, every order in the digests; the robot is
    paced, not hammered."""
    clock = Clock()
    fake_wecom.clock = lambda: clock.now.timestamp()
    fake_wecom.per_minute = 3  # stricter than the bridge believes (20): WeCom's 130101 must be handled
    rt = _robot_runtime(engine, tmp_path, fake_wecom)
    shop = make_shop(engine, customers=4)
    orders = [place(engine, shop, shop["customers"][i % 4]) for i in range(100)]
    dispatcher = rt.dispatcher(clock=clock, pace=Pace(clock=lambda: clock.now.timestamp()))
    for _ in range(200):
        dispatcher.drain()
        waiting = [r for r in _sends(engine) if r.status == OutboxStatus.PENDING]
        if not waiting and _sends(engine):
            break
        clock.advance(20)
    sends = _sends(engine)
    assert len(sends) == 100
    assert {r.status for r in sends} == {OutboxStatus.DELIVERED}
    assert {r.attempts for r in sends} == {1}  # waiting for the pace is not a failed attempt
    received = "\n".join(r["content"] for r in fake_wecom.received)
    assert all(o.order_no in received for o in orders)
    assert len(fake_wecom.received) < 100  # merged into digests
    assert all(len(r["content"].encode()) <= 2048 for r in fake_wecom.received)
    assert any(r["errcode"] == 130101 for r in fake_wecom.refused)  # it happened, and was waited out


def test_a5_the_bridges_own_pace_keeps_the_robot_under_its_limit(engine, tmp_path, fake_wecom):
    clock = Clock()
    fake_wecom.clock = lambda: clock.now.timestamp()
    fake_wecom.per_minute = 2
    rt = _robot_runtime(engine, tmp_path, fake_wecom, JHT_NOTIFY__WECOM_ROBOT__PER_MINUTE="2")
    shop = make_shop(engine, customers=1)
    dispatcher = rt.dispatcher(clock=clock, pace=Pace(clock=lambda: clock.now.timestamp()))
    for _ in range(5):  # five orders, each delivered on its own as it comes
        place(engine, shop, shop["customers"][0])
        dispatcher.drain()
    assert len(fake_wecom.received) == 2 and not fake_wecom.refused  # paced, never refused
    clock.advance(61)
    dispatcher.drain()
    assert len(fake_wecom.received) == 3 and not fake_wecom.refused
    assert "【汇总】3 条通知" in fake_wecom.received[2]["content"]  # the three that waited, in one


def test_a5_a_wrong_webhook_is_a_dead_letter_with_wecoms_words(engine, tmp_path, fake_wecom):
    rt = filedrop_runtime(engine, tmp_path, JHT_NOTIFY__WECOM_ROBOT__WEBHOOK_URL=fake_wecom.webhook_url("no-such-key"))
    shop = make_shop(engine, customers=1)
    place(engine, shop, shop["customers"][0])
    rt.dispatcher().drain()
    (send,) = _sends(engine)
    assert send.status == OutboxStatus.DEAD
    assert "93000" in send.last_error and "notify.wecom_robot.webhook_url" in send.last_error
    with Session(engine) as s:  # the cause was routed once and is done
        cause = s.exec(
            select(OutboxMessage).where(OutboxMessage.kind == "notify.new_order", OutboxMessage.target == "notify")
        ).one()
        assert cause.status == OutboxStatus.DELIVERED and cause.result == {"routed": 1}


def test_a5_wecom_busy_is_retried_later(engine, tmp_path, fake_wecom):
    clock = Clock()
    rt = _robot_runtime(engine, tmp_path, fake_wecom)
    shop = make_shop(engine, customers=1)
    place(engine, shop, shop["customers"][0])
    fake_wecom.busy = True
    dispatcher = rt.dispatcher(clock=clock)
    dispatcher.drain()
    (send,) = _sends(engine)
    assert send.status == OutboxStatus.PENDING and send.attempts == 1 and "errcode -1" in send.last_error
    fake_wecom.busy = False
    clock.advance(3600)
    dispatcher.drain()
    assert _sends(engine)[0].status == OutboxStatus.DELIVERED and len(fake_wecom.received) == 1


def test_a5_no_robot_configured_routes_nothing(engine, tmp_path):
    rt = filedrop_runtime(engine, tmp_path)
    shop = make_shop(engine, customers=1)
    place(engine, shop, shop["customers"][0])
    rt.dispatcher().drain()
    assert _sends(engine) == []


def test_the_robot_packs_waiting_messages_within_wecoms_limit():
    robot = WecomRobot("http://127.0.0.1:9/none", WecomRobotSection(webhook_url="http://127.0.0.1:9/none"))
    messages = [
        {"text": f"【新订单】客户{i} 下单 JHT-20261204-{i:04d}，¥1,234.00：平形砂轮 400×50×127 × 2。", "mentions": []}
        for i in range(60)
    ]
    packed = robot.pack(messages)
    assert sorted(i for _, carried in packed for i in carried) == list(range(60))  # each once, in order
    assert all(len(robot.body(m)["text"]["content"].encode()) <= 2048 for m, _ in packed)
    assert 2 <= len(packed) < 10
    assert robot.pack(messages[:1]) == [(messages[0], [0])]  # one alone is sent as it is


def test_pace_is_a_token_bucket_per_address():
    now = [0.0]
    pace = Pace(clock=lambda: now[0])
    assert [pace.wait_s("a", 2) for _ in range(2)] == [0.0, 0.0]
    assert pace.wait_s("a", 2) == 30.0  # one token per 30 s at 2 a minute
    assert pace.wait_s("b", 2) == 0.0  # another address has its own
    now[0] = 30.0
    assert pace.wait_s("a", 2) == 0.0
    pace.empty("b", 60)
    assert pace.wait_s("b", 2) > 60
    assert pace.wait_s("c", None) == 0.0


# --------------------------------------------------------------------------- check and notify test


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A folder made by ``jht-bridge init`` (tests/test_cli_commands.Site)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JHT_CONFIG", raising=False)
    made = Site(tmp_path / "var")
    yield made
    made.engine.dispose()


def test_check_tests_the_robots_key_without_sending(site, monkeypatch, fake_wecom):
    monkeypatch.setenv("JHT_NOTIFY__WECOM_ROBOT__WEBHOOK_URL", fake_wecom.webhook_url())
    result = site("check")
    assert "[ok  ] notify wecom_robot: webhook key accepted (nothing sent)" in result.output
    assert fake_wecom.received == []
    monkeypatch.setenv("JHT_NOTIFY__WECOM_ROBOT__WEBHOOK_URL", fake_wecom.webhook_url("revoked-key"))
    result = site("check")
    assert result.exit_code == 1
    assert "[FAIL] notify wecom_robot: WeCom robot errcode 93000" in result.output


def test_check_send_test_sends_one_message(site, monkeypatch, fake_wecom):
    monkeypatch.setenv("JHT_NOTIFY__WECOM_ROBOT__WEBHOOK_URL", fake_wecom.webhook_url())
    result = site("check", "--send-test")
    assert "a test message was sent" in result.output
    assert len(fake_wecom.received) == 1 and "【测试】" in fake_wecom.received[0]["content"]


def test_notify_test_reaches_the_user_through_the_robot(site, monkeypatch, fake_wecom):
    assert (
        site(
            "users",
            "add",
            "zhangwei",
            "--role",
            "sales",
            "--name",
            "张伟",
            "--phone",
            "13900139000",
            "--password-stdin",
            input="a-long-password-9\n",
        ).exit_code
        == 0
    )
    result = site("notify", "test", "--to", "zhangwei")
    assert result.exit_code == 1 and "no notice channel is configured" in result.output
    monkeypatch.setenv("JHT_NOTIFY__WECOM_ROBOT__WEBHOOK_URL", fake_wecom.webhook_url())
    result = site("notify", "test", "--to", "zhangwei")
    assert result.exit_code == 0, result.output
    assert "[ok  ] wecom_robot: sent to group" in result.output
    assert fake_wecom.received[0]["mentions"] == ["13900139000"] and "张伟" in fake_wecom.received[0]["content"]
    assert site("notify", "test", "--to", "nobody").exit_code == 1


# --------------------------------------------------------------------------- the WeCom app


def _app_env(fake_wecom, **extra) -> dict:
    return {
        "JHT_NOTIFY__WECOM_APP__CORP_ID": fake_wecom.corp_id,
        "JHT_NOTIFY__WECOM_APP__AGENT_ID": str(fake_wecom.agent_id),
        "JHT_NOTIFY__WECOM_APP__SECRET": fake_wecom.secret,
        "JHT_NOTIFY__WECOM_APP__BASE_URL": fake_wecom.base_url,
        **extra,
    }


def _wecom_user(engine, username: str, wecom_userid: str) -> None:
    from bridge.actors import CLI_ADMIN
    from bridge.notify import set_contacts

    with Session(engine) as s:
        set_contacts(
            s,
            CLI_ADMIN,
            s.exec(select(StaffUser).where(StaffUser.username == username)).one(),
            wecom_userid=wecom_userid,
        )
        s.commit()


def test_a5_a_new_order_reaches_the_salesperson_in_their_wecom_app(engine, tmp_path, fake_wecom):
    rt = filedrop_runtime(engine, tmp_path, **_app_env(fake_wecom))
    shop = make_shop(engine, customers=1)
    _wecom_user(engine, "sales", "zhangwei")
    first = place(engine, shop, shop["customers"][0])
    rt.dispatcher().drain()
    second = place(engine, shop, shop["customers"][0])
    rt.dispatcher().drain()
    assert [m["touser"] for m in fake_wecom.app_messages] == ["zhangwei", "zhangwei"]
    assert (
        first.order_no in fake_wecom.app_messages[0]["content"]
        and second.order_no in fake_wecom.app_messages[1]["content"]
    )
    assert fake_wecom.token_calls == 1  # the token is cached
    fake_wecom.expire_tokens()
    place(engine, shop, shop["customers"][0])
    rt.dispatcher().drain()
    assert len(fake_wecom.app_messages) == 3 and fake_wecom.token_calls == 2  # fetched again once, sent
    assert {r.status for r in _sends(engine)} == {OutboxStatus.DELIVERED}


def test_a5_a_wecom_user_the_company_does_not_have_is_a_dead_letter(engine, tmp_path, fake_wecom):
    rt = filedrop_runtime(engine, tmp_path, **_app_env(fake_wecom))
    shop = make_shop(engine, customers=1)
    _wecom_user(engine, "sales", "left-the-company")
    place(engine, shop, shop["customers"][0])
    rt.dispatcher().drain()
    (send,) = _sends(engine)
    assert send.status == OutboxStatus.DEAD and "WeCom does not know the user left-the-company" in send.last_error


def test_a5_a_wrong_app_secret_fails_the_check(fake_wecom, site, monkeypatch):
    for key, value in _app_env(fake_wecom).items():
        monkeypatch.setenv(key, value)
    assert "[ok  ] notify wecom_app: access token fetched for corp ww-fake-corp" in site("check").output
    monkeypatch.setenv("JHT_NOTIFY__WECOM_APP__SECRET", "wrong")
    result = site("check")
    assert result.exit_code == 1 and "[FAIL] notify wecom_app: WeCom gettoken errcode 40001" in result.output
    assert fake_wecom.app_messages == []


# --------------------------------------------------------------------------- the admins' digest


def test_a5_what_needs_a_person_reaches_the_admins_once_per_interval(engine, tmp_path, fake_wecom):
    from datetime import timedelta

    from bridge.models import InboxEvent, InboxStatus
    from bridge.types import utcnow

    rt = _robot_runtime(engine, tmp_path, fake_wecom)
    shop = make_shop(engine, customers=1)
    with Session(engine) as s:
        s.add(
            StaffUser(
                username="boss", display_name="老板", role=StaffRole.ADMIN, password_hash="x", phone="13700000001"
            )
        )
        s.add(
            InboxEvent(
                connector="filedrop",
                event_id="e1",
                kind="order.status",
                payload={},
                status=InboxStatus.PARKED,
                received_at=utcnow() - timedelta(hours=2),
            )
        )
        s.add(
            InboxEvent(connector="filedrop", event_id="e2", kind="order.status", payload={}, status=InboxStatus.PARKED)
        )  # parked just now: not yet
        s.commit()
    worker = rt.worker()
    assert worker.queue_ops_digest()  # the event parked two hours ago
    assert not worker.queue_ops_digest()  # at most one per interval
    rt.dispatcher().drain()
    (digest,) = [m for m in fake_wecom.received if "【同步告警】" in m["content"]]
    assert digest["mentions"] == ["13700000001"]  # the admins, not the salesperson
    assert "暂存过久的 ERP 事件 1 条" in digest["content"] and "发往 ERP 失败" not in digest["content"]
    place(engine, shop, shop["customers"][0])  # an order, nothing wrong: no digest is due for that
    with Session(engine) as s:
        row = s.exec(
            select(OutboxMessage).where(OutboxMessage.kind == "notify.ops_digest", OutboxMessage.target == "notify")
        ).one()
        row.created_at = utcnow() - timedelta(hours=2)  # the interval has gone by
        s.add(row)
        s.commit()
    assert worker.queue_ops_digest()  # still parked: told again, once


def test_a5_nothing_wrong_queues_no_digest(engine, tmp_path):
    rt = filedrop_runtime(engine, tmp_path)
    make_shop(engine, customers=1)
    assert not rt.worker().queue_ops_digest()


def test_a5_the_staff_notices_text_comes_from_the_config(engine, tmp_path, fake_wecom):
    rt = _robot_runtime(
        engine,
        tmp_path,
        fake_wecom,
        JHT_NOTIFY__TEMPLATES__NEW_ORDER="{salesperson}，{customer}（{customer_type}）又下单了：{order_no}",
    )
    shop = make_shop(engine, customers=1)
    order = place(engine, shop, shop["customers"][0])
    rt.dispatcher().drain()
    assert fake_wecom.received[0]["content"] == f"张伟，客户1（类型二）又下单了：{order.order_no}"


def test_a5_a_template_naming_an_unknown_field_is_refused_at_start(tmp_path):
    from bridge.config import ConfigError, load_config

    with pytest.raises(ConfigError) as bad:
        load_config(None, environ={"JHT_NOTIFY__TEMPLATES__INQUIRY": "【询价】{customer}：{product}"})
    assert "notify.templates.inquiry: unknown field {product}" in str(bad.value)
    with pytest.raises(ConfigError) as bad:
        load_config(None, environ={"JHT_NOTIFY__TEMPLATES__BIRTHDAY": "生日快乐"})
    assert "notify.templates.birthday: unknown notice" in str(bad.value)
