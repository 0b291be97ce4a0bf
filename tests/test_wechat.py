"""WeChat (login, phone number, access token, C12 shipment notices) against a fake WeChat
server speaking real HTTP on 127.0.0.1."""

from __future__ import annotations

import logging
import socket
import threading
from datetime import UTC, datetime

import pytest
import structlog

from bridge.connector import PermanentError, TransientError
from bridge.models import Account
from bridge.wechat import (
    InvalidCode,
    SubscriptionRefused,
    WeChatClient,
    WeChatError,
    WeChatNotifier,
    WeChatUnavailable,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def client(fake_wechat):
    with WeChatClient(fake_wechat.settings()) as c:
        yield c


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --------------------------------------------------------------------------- login


def test_login_code_gives_openid_and_unionid(fake_wechat, client):
    fake_wechat.codes["code-1"] = ("openid-1", "union-1")
    session = client.code2session("code-1")
    assert (session.openid, session.unionid) == ("openid-1", "union-1")
    assert session.session_key == "sk-code-1" and "sk-code-1" not in repr(session)
    query = fake_wechat.requests[0]["query"]
    assert query["grant_type"] == "authorization_code" and query["appid"] == fake_wechat.appid


def test_login_without_unionid(fake_wechat, client):
    fake_wechat.codes["code-2"] = ("openid-2", None)
    assert client.code2session("code-2").unionid is None


def test_login_with_unknown_or_used_code_is_invalid_code(fake_wechat, client):
    fake_wechat.codes["code-1"] = ("openid-1", None)
    with pytest.raises(InvalidCode) as exc:
        client.code2session("nope")
    assert exc.value.errcode == 40029
    client.code2session("code-1")
    with pytest.raises(InvalidCode) as exc:
        client.code2session("code-1")
    assert exc.value.errcode == 40163


def test_login_with_empty_or_overlong_code_is_refused_without_a_call(fake_wechat, client):
    for code in ("", "x" * 129, "has space"):
        with pytest.raises(InvalidCode):
            client.code2session(code)
    assert fake_wechat.calls["code2session"] == 0


def test_wechat_busy_is_unavailable(fake_wechat, client):
    fake_wechat.busy = True
    with pytest.raises(WeChatUnavailable) as exc:
        client.code2session("code-1")
    assert exc.value.errcode == -1


def test_http_500_is_unavailable(fake_wechat, client):
    fake_wechat.http_500 = True
    with pytest.raises(WeChatUnavailable, match="HTTP 500"):
        client.code2session("code-1")


def test_slow_wechat_is_unavailable_after_the_timeout(fake_wechat):
    fake_wechat.delay_s = 1.0
    with WeChatClient(fake_wechat.settings(timeout_s=0.2)) as client:
        with pytest.raises(WeChatUnavailable, match="no answer within"):
            client.code2session("code-1")


def test_unreachable_wechat_is_unavailable(fake_wechat):
    with WeChatClient(fake_wechat.settings(base_url=closed_port_url())) as client:
        with pytest.raises(WeChatUnavailable, match="unreachable"):
            client.code2session("code-1")


def test_wrong_secret_is_a_plain_wechat_error(fake_wechat):
    with WeChatClient(fake_wechat.settings(app_secret="wrong")) as client:
        with pytest.raises(WeChatError) as exc:
            client.code2session("code-1")
    assert exc.value.errcode == 40125 and not isinstance(exc.value, (InvalidCode, WeChatUnavailable))


def test_live_mode_needs_appid_and_secret(fake_wechat):
    for overrides in ({"appid": ""}, {"app_secret": None}):
        with pytest.raises(ValueError, match="wechat.appid and JHT_WECHAT__APP_SECRET are needed"):
            WeChatClient(fake_wechat.settings(**overrides))


# --------------------------------------------------------------------------- access token


def test_access_token_is_fetched_once_for_many_calls(fake_wechat, client):
    fake_wechat.phone_codes["pc-1"] = "13800138000"
    tokens = {client.access_token() for _ in range(10)}
    for _ in range(5):
        client.phone_number("pc-1")
    assert tokens == {"token-1"}
    assert fake_wechat.calls["stable_token"] == 1
    body = fake_wechat.requests[0]["body"]
    assert body["grant_type"] == "client_credential" and body["force_refresh"] is False


def test_access_token_is_refreshed_before_it_expires(fake_wechat):
    clock = Clock()
    with WeChatClient(fake_wechat.settings(), clock=clock) as client:
        assert client.access_token() == "token-1"
        clock.now += 7200 - 301  # just outside the 5-minute margin
        client.access_token()
        assert fake_wechat.calls["stable_token"] == 1
        clock.now += 2  # inside it: refreshed although WeChat would still take the old one
        client.access_token()
        assert fake_wechat.calls["stable_token"] == 2


def test_short_lived_token_is_refreshed_at_half_its_life(fake_wechat):
    fake_wechat.expires_in = 60
    clock = Clock()
    with WeChatClient(fake_wechat.settings(), clock=clock) as client:
        client.access_token()
        clock.now += 29
        client.access_token()
        assert fake_wechat.calls["stable_token"] == 1
        clock.now += 2
        client.access_token()
        assert fake_wechat.calls["stable_token"] == 2


def test_failed_refresh_ahead_keeps_the_still_valid_token(fake_wechat):
    clock = Clock()
    with WeChatClient(fake_wechat.settings(), clock=clock) as client:
        assert client.access_token() == "token-1"
        fake_wechat.token_busy = True
        clock.now += 7000  # due for refresh, not yet expired
        assert client.access_token() == "token-1"
        clock.now += 300  # now expired
        with pytest.raises(WeChatUnavailable):
            client.access_token()


def test_rejected_token_triggers_one_refresh_and_one_retry(fake_wechat, client):
    fake_wechat.phone_codes["pc-1"] = "13800138000"
    client.phone_number("pc-1")
    fake_wechat.expire_token()
    assert client.phone_number("pc-1") == "13800138000"
    assert fake_wechat.calls["stable_token"] == 2
    assert fake_wechat.calls["phone_number"] == 3  # ok, 40001, retried ok
    tokens = [r["query"]["access_token"] for r in fake_wechat.requests if r["endpoint"] == "phone_number"]
    assert tokens == ["token-1", "token-1", "token-2"]


def test_token_rejected_twice_is_not_retried_forever(fake_wechat, client):
    fake_wechat.phone_codes["pc-1"] = "13800138000"
    fake_wechat.reject_tokens = True
    with pytest.raises(WeChatError) as exc:
        client.phone_number("pc-1")
    assert exc.value.errcode == 40001
    assert fake_wechat.calls["phone_number"] == 2


def test_twenty_threads_asking_for_the_token_at_once_cause_one_fetch(fake_wechat, client):
    fake_wechat.delay_s = 0.3  # the fetch is in flight while every thread asks
    barrier = threading.Barrier(20)
    results: list[str] = []

    def ask() -> None:
        barrier.wait()
        results.append(client.access_token())

    threads = [threading.Thread(target=ask) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == ["token-1"] * 20
    assert fake_wechat.calls["stable_token"] == 1


# --------------------------------------------------------------------------- phone, messages


def test_phone_number_from_a_phone_code(fake_wechat, client):
    fake_wechat.phone_codes["pc-1"] = "13912345678"
    assert client.phone_number("pc-1") == "13912345678"
    assert fake_wechat.requests[-1]["body"] == {"code": "pc-1"}
    with pytest.raises(InvalidCode):
        client.phone_number("pc-unknown")


def test_subscribe_message_body_is_what_wechat_expects(fake_wechat, client):
    client.send_subscribe_message(
        "openid-1",
        "tmpl-1",
        {"character_string1": "JHT-20261125-0001", "thing2": "顺丰速运"},
        "packageOrder/detail/index?order_no=JHT-20261125-0001",
    )
    assert fake_wechat.sent == [
        {
            "touser": "openid-1",
            "template_id": "tmpl-1",
            "page": "packageOrder/detail/index?order_no=JHT-20261125-0001",
            "data": {"character_string1": {"value": "JHT-20261125-0001"}, "thing2": {"value": "顺丰速运"}},
            "miniprogram_state": "formal",
            "lang": "zh_CN",
        }
    ]


def test_subscribe_message_to_a_user_without_subscription_is_refused(fake_wechat, client):
    fake_wechat.refused.add("openid-1")
    with pytest.raises(SubscriptionRefused) as exc:
        client.send_subscribe_message("openid-1", "tmpl-1", {"thing2": "x"}, "pages/index/index")
    assert exc.value.errcode == 43101


# --------------------------------------------------------------------------- dev mode


def test_dev_mode_makes_no_http_call():
    from bridge.config import WechatSection

    settings = WechatSection(mode="dev", base_url=closed_port_url(), timeout_s=0.2)
    with WeChatClient(settings) as client:  # no appid, no secret: fine in dev mode
        assert client.code2session("abc").openid == "dev-abc"
        assert client.phone_number("13800138000") == "13800138000"
        client.send_subscribe_message("dev-abc", "tmpl", {"thing2": "x"}, "pages/index/index")
        for bad in ("", "x" * 61, "a b"):
            with pytest.raises(InvalidCode):
                client.code2session(bad)
        for bad in ("12345678901", "1380013800", "pc-1"):
            with pytest.raises(InvalidCode):
                client.phone_number(bad)


# --------------------------------------------------------------------------- secrets


def test_secret_and_token_never_reach_a_log_line(fake_wechat, client, caplog):
    fake_wechat.codes["code-1"] = ("openid-1", None)
    fake_wechat.phone_codes["pc-1"] = "13800138000"
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as captured:
        client.code2session("code-1")
        client.phone_number("pc-1")
        fake_wechat.expire_token()
        client.phone_number("pc-1")
        fake_wechat.busy = True
        with pytest.raises(WeChatUnavailable) as exc:
            client.code2session("code-1")
    assert any(line.get("api") == "code2session" and line.get("errcode") == -1 for line in captured)
    text = repr(captured) + caplog.text + str(exc.value)
    assert "HTTP Request" in caplog.text  # httpx did log the requests, masked
    assert fake_wechat.secret not in text
    assert "token-1" not in text and "token-2" not in text


# --------------------------------------------------------------------------- notifier (C12)


def shipment(customer_id: int, **extra) -> dict:
    return {
        "order_no": "JHT-20261125-0001",
        "customer_id": customer_id,
        "shipment_id": "S1",
        "courier": "顺丰速运",
        "tracking_no": "SF1234567890",
        **extra,
    }


@pytest.fixture
def customer_with_accounts(session, make):
    customer = make.customer()
    other = make.customer()
    session.add_all(
        [
            Account(customer_id=customer.id, openid="openid-a"),
            Account(customer_id=customer.id, openid="openid-b", phone="13800138000"),
            Account(customer_id=customer.id, phone="13900139000"),  # phone only: no WeChat
            Account(customer_id=other.id, openid="openid-other"),
        ]
    )
    session.commit()
    return customer


@pytest.fixture
def notifier(engine, fake_wechat):
    """``notifier(**wechat_settings)``: a WeChat notifier on the test database, sending to the fake."""
    clients = []

    def build(**overrides) -> WeChatNotifier:
        clients.append(WeChatClient(fake_wechat.settings(**overrides)))
        return WeChatNotifier(engine, clients[-1], now=lambda: datetime(2026, 11, 25, 6, 30, tzinfo=UTC))

    yield build
    for client in clients:
        client.close()


def test_c12_shipment_notice_goes_to_every_wechat_account_of_the_customer(
    notifier, fake_wechat, customer_with_accounts
):
    notifier().notify("notify.shipment", shipment(customer_with_accounts.id))
    assert [m["touser"] for m in fake_wechat.sent] == ["openid-a", "openid-b"]
    message = fake_wechat.sent[0]
    assert message["template_id"] == "tmpl-shipment"
    assert message["page"] == "packageOrder/detail/index?order_no=JHT-20261125-0001"
    assert message["data"] == {
        "character_string1": {"value": "JHT-20261125-0001"},
        "thing2": {"value": "顺丰速运"},
        "character_string3": {"value": "SF1234567890"},
        "time4": {"value": "2026年11月25日 14:30"},  # Asia/Shanghai
    }


def test_c12_long_courier_name_is_cut_to_twenty_characters(notifier, fake_wechat, customer_with_accounts):
    payload = shipment(customer_with_accounts.id, courier="某某某物流" * 6, tracking_no=None)
    notifier().notify("notify.shipment", payload)
    data = fake_wechat.sent[0]["data"]
    assert len(data["thing2"]["value"]) == 20 and data["character_string3"]["value"] == "-"


def test_c12_no_template_id_sends_nothing(notifier, fake_wechat, customer_with_accounts):
    notifier(shipment_template_id="").notify("notify.shipment", shipment(customer_with_accounts.id))
    assert fake_wechat.calls.total() == 0


def test_other_notices_are_not_for_wechat(notifier, fake_wechat, customer_with_accounts):
    notifier().notify("notify.new_order", shipment(customer_with_accounts.id))
    assert fake_wechat.calls.total() == 0


def test_c12_wechat_busy_is_a_transient_error(notifier, fake_wechat, customer_with_accounts):
    fake_wechat.busy = True
    with pytest.raises(TransientError, match="JHT-20261125-0001"):
        notifier().notify("notify.shipment", shipment(customer_with_accounts.id))


def test_c12_customer_without_subscription_is_skipped(notifier, fake_wechat, customer_with_accounts):
    fake_wechat.refused.add("openid-a")
    notifier().notify("notify.shipment", shipment(customer_with_accounts.id))
    assert [m["touser"] for m in fake_wechat.sent] == ["openid-b"]


def test_c12_wrong_template_is_a_permanent_error(notifier, fake_wechat, customer_with_accounts):
    fake_wechat.templates = {"the-real-template"}
    with pytest.raises(PermanentError, match="40037"):
        notifier().notify("notify.shipment", shipment(customer_with_accounts.id))


def test_c12_the_api_and_the_shipment_notices_share_one_wechat_client(engine, tmp_path):
    """With shipment notices configured, the composition root gives the API the WeChat
    notifier's own client: one access token for the process, not one per user of it."""
    from bridge.app import build_api
    from tests.sync_helpers import filedrop_runtime

    rt = filedrop_runtime(
        engine,
        tmp_path,
        JHT_WECHAT__MODE="dev",
        JHT_WECHAT__SHIPMENT_TEMPLATE_ID="tmpl-1",
        JHT_SECURITY__TOKEN_SECRET="test-secret-" + "x" * 32,
    )
    (notifier,) = [n for n in rt.notifiers if n.name == "wechat"]
    assert build_api(rt).state.wechat is notifier.client
    rt.connector.close()
