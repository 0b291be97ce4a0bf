"""Notices by e-mail (issue #15): a real SMTP server (aiosmtpd, tests/smtp_server.py) plain, with
STARTTLS and login (a self-signed certificate trusted through notify.email.ca_file) and with SSL;
the salesperson's address and channel choice set through ``bridge.notify.set_contacts``."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bridge.actors import CLI_ADMIN, Actor
from bridge.errors import Forbidden, InvalidInput
from bridge.models import OutboxMessage, OutboxStatus, StaffUser
from bridge.notify import TARGET_SEND, set_contacts
from tests.smtp_server import SmtpServer, self_signed_cert
from tests.sync_helpers import Clock, filedrop_runtime, make_shop, place


def _contacts(engine, username: str = "sales", **changes) -> None:
    with Session(engine) as s:
        user = s.exec(select(StaffUser).where(StaffUser.username == username)).one()
        set_contacts(s, CLI_ADMIN, user, **changes)
        s.commit()


def _sends(engine) -> list[OutboxMessage]:
    with Session(engine) as s:
        return list(s.exec(select(OutboxMessage).where(OutboxMessage.target == TARGET_SEND).order_by(OutboxMessage.id)))


def _email_env(smtp: SmtpServer, **extra) -> dict:
    return {
        "JHT_NOTIFY__EMAIL__HOST": "127.0.0.1",
        "JHT_NOTIFY__EMAIL__PORT": str(smtp.port),
        "JHT_NOTIFY__EMAIL__SECURITY": "none",
        "JHT_NOTIFY__EMAIL__FROM_ADDRESS": "shop@jht.example",
        "JHT_NOTIFY__ADMIN_BASE_URL": "https://bridge.jht.example",
        **extra,
    }


def test_a5_a_new_order_reaches_the_salesperson_by_mail(engine, tmp_path):
    with SmtpServer() as smtp:
        rt = filedrop_runtime(engine, tmp_path, **_email_env(smtp))
        shop = make_shop(engine, customers=1)
        _contacts(engine, email="zhangwei@jht.example")
        order = place(engine, shop, shop["customers"][0])
        rt.dispatcher().drain()
    (mail,) = smtp.messages
    assert mail["To"] == "zhangwei@jht.example" and "锦亨泰商城" in mail["From"]
    assert mail["Subject"].startswith(f"【新订单】客户1 下单 {order.order_no}")
    text = mail.get_body(("plain",)).get_content()
    page = mail.get_body(("html",)).get_content()
    assert "需确认收款后下发生产" in text
    assert f'href="https://bridge.jht.example/admin/orders/{order.order_no}"' in page  # the order's admin page
    (send,) = _sends(engine)
    assert send.status == OutboxStatus.DELIVERED and send.result["message_id"] == mail["Message-ID"].strip()
    # the id is the notice's own, the same if it is ever sent again
    assert mail["Message-ID"].strip() == f"<jht-notice-{send.payload['key']}@jht.example>"


def test_a5_starttls_with_a_login_and_the_companys_own_ca(engine, tmp_path):
    cert = self_signed_cert(tmp_path)
    with SmtpServer(tls=cert, login=("bot@jht.example", "s3cret-pass")) as smtp:
        env = _email_env(
            smtp,
            JHT_NOTIFY__EMAIL__SECURITY="starttls",
            JHT_NOTIFY__EMAIL__CA_FILE=str(cert[0]),
            JHT_NOTIFY__EMAIL__USERNAME="bot@jht.example",
            JHT_NOTIFY__EMAIL__PASSWORD="s3cret-pass",
        )
        rt = filedrop_runtime(engine, tmp_path, **env)
        shop = make_shop(engine, customers=1)
        _contacts(engine, email="zhangwei@jht.example")
        place(engine, shop, shop["customers"][0])
        rt.dispatcher().drain()
    assert len(smtp.messages) == 1
    assert _sends(engine)[0].status == OutboxStatus.DELIVERED


def test_a5_a_wrong_smtp_password_is_a_dead_letter_that_says_so(engine, tmp_path):
    cert = self_signed_cert(tmp_path)
    with SmtpServer(tls=cert, login=("bot@jht.example", "s3cret-pass")) as smtp:
        env = _email_env(
            smtp,
            JHT_NOTIFY__EMAIL__SECURITY="starttls",
            JHT_NOTIFY__EMAIL__CA_FILE=str(cert[0]),
            JHT_NOTIFY__EMAIL__USERNAME="bot@jht.example",
            JHT_NOTIFY__EMAIL__PASSWORD="wrong",
        )
        rt = filedrop_runtime(engine, tmp_path, **env)
        shop = make_shop(engine, customers=1)
        _contacts(engine, email="zhangwei@jht.example")
        place(engine, shop, shop["customers"][0])
        rt.dispatcher().drain()
    (send,) = _sends(engine)
    assert send.status == OutboxStatus.DEAD and "SMTP login refused: 535" in send.last_error
    assert smtp.messages == []


def test_a5_an_untrusted_certificate_is_refused(engine, tmp_path):
    cert = self_signed_cert(tmp_path)
    with SmtpServer(tls=cert) as smtp:
        rt = filedrop_runtime(engine, tmp_path, **_email_env(smtp, JHT_NOTIFY__EMAIL__SECURITY="starttls"))
        shop = make_shop(engine, customers=1)
        _contacts(engine, email="zhangwei@jht.example")
        place(engine, shop, shop["customers"][0])
        rt.dispatcher().drain()
    (send,) = _sends(engine)
    assert send.status == OutboxStatus.DEAD and "certificate is not trusted" in send.last_error


def test_a5_ssl_from_the_first_byte(engine, tmp_path):
    cert = self_signed_cert(tmp_path)
    with SmtpServer(tls=cert, ssl_only=True) as smtp:
        env = _email_env(smtp, JHT_NOTIFY__EMAIL__SECURITY="ssl", JHT_NOTIFY__EMAIL__CA_FILE=str(cert[0]))
        rt = filedrop_runtime(engine, tmp_path, **env)
        shop = make_shop(engine, customers=1)
        _contacts(engine, email="zhangwei@jht.example")
        place(engine, shop, shop["customers"][0])
        rt.dispatcher().drain()
    assert len(smtp.messages) == 1


def test_a5_a_server_that_is_down_is_tried_again_later(engine, tmp_path):
    clock = Clock()
    smtp = SmtpServer()  # its port, not started yet
    rt = filedrop_runtime(engine, tmp_path, **_email_env(smtp))
    shop = make_shop(engine, customers=1)
    _contacts(engine, email="zhangwei@jht.example")
    place(engine, shop, shop["customers"][0])
    dispatcher = rt.dispatcher(clock=clock)
    dispatcher.drain()
    (send,) = _sends(engine)
    assert send.status == OutboxStatus.PENDING and "unreachable" in send.last_error
    with smtp:
        clock.advance(3600)
        dispatcher.drain()
    assert _sends(engine)[0].status == OutboxStatus.DELIVERED and len(smtp.messages) == 1


def test_a5_a_refused_address_is_a_dead_letter(engine, tmp_path):
    with SmtpServer() as smtp:
        smtp.refuse["gone@jht.example"] = (550, "mailbox unavailable")
        rt = filedrop_runtime(engine, tmp_path, **_email_env(smtp))
        shop = make_shop(engine, customers=1)
        _contacts(engine, email="gone@jht.example")
        place(engine, shop, shop["customers"][0])
        rt.dispatcher().drain()
    (send,) = _sends(engine)
    assert send.status == OutboxStatus.DEAD and "gone@jht.example" in send.last_error


def test_a5_each_staff_user_chooses_their_channels(engine, tmp_path, fake_wecom):
    with SmtpServer() as smtp:
        env = _email_env(smtp, JHT_NOTIFY__WECOM_ROBOT__WEBHOOK_URL=fake_wecom.webhook_url())
        rt = filedrop_runtime(engine, tmp_path, **env)
        shop = make_shop(engine, customers=1)
        _contacts(engine, email="zhangwei@jht.example")
        place(engine, shop, shop["customers"][0])
        rt.dispatcher().drain()
        assert (len(smtp.messages), len(fake_wecom.received)) == (1, 1)  # every channel that reaches them
        _contacts(engine, channels=["email"])
        place(engine, shop, shop["customers"][0])
        rt.dispatcher().drain()
        assert (len(smtp.messages), len(fake_wecom.received)) == (2, 1)  # e-mail only, as chosen
        _contacts(engine, channels=[])
        place(engine, shop, shop["customers"][0])
        rt.dispatcher().drain()
        assert (len(smtp.messages), len(fake_wecom.received)) == (2, 1)  # none


def test_set_contacts_checks_what_it_is_given(session, make):
    sales = make.staff(username="zw") if hasattr(make, "staff") else None
    user = sales or StaffUser(username="zw", display_name="张伟", role="sales", password_hash="x")
    session.add(user)
    session.flush()
    with pytest.raises(InvalidInput) as bad:
        set_contacts(session, CLI_ADMIN, user, email="not-an-address")
    assert bad.value.data["field"] == "email"
    with pytest.raises(InvalidInput) as bad:
        set_contacts(session, CLI_ADMIN, user, channels=["pigeon"])
    assert "pigeon" in bad.value.message
    other = StaffUser(username="ls", display_name="李四", role="sales", password_hash="x")
    session.add(other)
    session.flush()
    with pytest.raises(Forbidden):
        set_contacts(session, Actor.sales(other.id), user, email="a@b.cn")
    set_contacts(session, Actor.sales(user.id), user, email="zw@jht.example")  # their own: allowed
    assert user.email == "zw@jht.example"


def test_check_logs_in_to_the_smtp_server_without_sending(tmp_path, monkeypatch):
    from tests.test_notify import Site

    cert = self_signed_cert(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JHT_CONFIG", raising=False)
    site = Site(tmp_path / "var")
    with SmtpServer(tls=cert, login=("bot@jht.example", "s3cret-pass")) as smtp:
        for key, value in _email_env(
            smtp, JHT_NOTIFY__EMAIL__SECURITY="starttls", JHT_NOTIFY__EMAIL__CA_FILE=str(cert[0]),
            JHT_NOTIFY__EMAIL__USERNAME="bot@jht.example", JHT_NOTIFY__EMAIL__PASSWORD="s3cret-pass",
        ).items():  # fmt: skip
            monkeypatch.setenv(key, value)
        result = site("check")
        assert "[ok  ] notify email: 127.0.0.1:" in result.output and "as bot@jht.example" in result.output
        monkeypatch.setenv("JHT_NOTIFY__EMAIL__PASSWORD", "wrong")
        result = site("check")
        assert "[FAIL] notify email: SMTP login refused: 535" in result.output and result.exit_code == 1
        assert smtp.messages == []
        # notify set, then notify test: the message reaches the address now
        monkeypatch.setenv("JHT_NOTIFY__EMAIL__PASSWORD", "s3cret-pass")
        assert (
            site(
                "users",
                "add",
                "zw",
                "--role",
                "sales",
                "--name",
                "张伟",
                "--password-stdin",
                input="a-long-password-9\n",
            ).exit_code
            == 0
        )
        result = site("notify", "set", "zw", "--email", "zw@jht.example", "--channels", "email")
        assert (
            result.exit_code == 0 and "zw: email zw@jht.example" in result.output and "channels: email" in result.output
        )
        assert site("notify", "set", "zw", "--email", "nope").exit_code == 1
        result = site("notify", "test", "--to", "zw")
        assert result.exit_code == 0, result.output
        assert [m["To"] for m in smtp.messages] == ["zw@jht.example"]
    site.engine.dispose()
