"""Notices to people (``notify.*`` outbox rows): a new order for the salesperson (A5), a
shipment with its tracking number for the customer (C12), a cancellation, an inquiry (C11).

A notice travels in two steps, both through the outbox, so none is lost and none is sent twice
for one cause:

1. The **cause** (``target = notify``, kind ``notify.<event>``) is written in the transaction
   of the change it tells of (``outbox.enqueue_notice``). Delivering it means: hand it to every
   plugin notifier of the old kind (``notify(kind, payload)``: the log, the WeChat shipment
   notice), and **route** it — decide whom it is for (the customer's salesperson, or the admins
   when the customer has none) and through which configured channel, and render the message.
   The routed messages are written as ``send`` rows in the same transaction that marks the
   cause delivered (``Delivery.spawn``): routed once, whatever happens.
2. Each ``send`` row (``target = send``, ordering key ``<channel>:<address>``) is one message
   to one address of one channel, with exactly the text that goes out (what ``outbox preview``
   shows). It is retried with backoff and becomes a dead letter with the channel's own error
   like any message. A channel that limits its rate (the WeCom robot: 20 a minute) is paced by
   the dispatcher (``Pace``, a token bucket per address) and what waits is merged into digest
   messages (``Channel.pack``); a message that waits for the pace is not a failed attempt.

Sending is at least once: a worker killed between the channel's answer and the commit sends that
message again after its lease expires (WeCom and SMTP have no idempotency key to stop it).
"""

from __future__ import annotations

import hashlib
import html
import json
import smtplib
import ssl
import threading
import time
from email.message import EmailMessage
from email.utils import formataddr
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, Protocol

import httpx
from sqlmodel import Session, select

from bridge import hookimpl
from bridge.actors import audit
from bridge.config import Config, EmailSection, NotifySection, WecomAppSection, WecomRobotSection
from bridge.connector import PermanentError, TransientError
from bridge.errors import Forbidden, InvalidInput
from bridge.logs import get_logger
from bridge.wechat import AccessToken
from bridge.labels import CUSTOMER_TYPE_LABELS
from bridge.models import ActorKind, Customer, Inquiry, Order, OrderLine, OutboxMessage, StaffRole, StaffUser

log = get_logger("bridge.notify")

TARGET_SEND = "send"
STAFF_EVENTS = ("new_order", "inquiry", "customer_cancelled", "ops_digest")
"""The notices for staff: routed to the staff channels (robot, WeCom app, e-mail)."""
CUSTOMER_EVENTS = ("shipment", "status", "cancelled", "ready")
"""The notices for the customer: routed to the customer channels (WeChat subscribe messages)."""


class LogNotifier:
    """Writes each notice as a log line (structured: kind and payload fields)."""

    name = "log"

    def notify(self, kind: str, payload: dict[str, Any]) -> None:
        log.info("notice", kind=kind, **{k: v for k, v in payload.items() if k != "kind"})


@hookimpl(trylast=True)
def register_notifiers(config: Config):
    return [LogNotifier(), *builtin_channels(config)]


def builtin_channels(config: Config) -> list[Any]:
    """The built-in channels that ``config`` turns on (a section with its address or secret)."""
    found: list[Any] = []
    robot = WecomRobot.from_config(config.notify.wecom_robot)
    if robot is not None:
        found.append(robot)
    if config.notify.wecom_app.corp_id:
        found.append(WecomApp(config.notify.wecom_app))
    if config.notify.email.host:
        found.append(Email(config.notify.email))
    return found


def test_message(user: StaffUser) -> dict[str, Any]:
    """The message ``notify test`` and ``check --send-test`` send."""
    text = f"【测试】锦亨泰商城的测试通知：{user.display_name}，收到这条消息说明通知设置正确。"
    return {
        "title": "【测试】锦亨泰商城通知",
        "text": text,
        "markdown": text,
        "mentions": [user.phone] if user.phone else [],
    }


# --------------------------------------------------------------------------- channels


class RateLimited(TransientError):
    """The channel refused for sending too fast: wait ``retry_after_s``, not a failed attempt."""

    def __init__(self, message: str, retry_after_s: float = 60.0):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Channel(Protocol):
    """A way to reach people. Registered through ``register_notifiers`` like any notifier; a
    notifier with a ``channel`` attribute is a channel (``send`` instead of ``notify``)."""

    name: str
    channel: str
    """The channel's name in ``send`` rows and in the config (``wecom_robot`` …)."""
    per_minute: int | None
    """Messages a minute one address accepts (None: no limit): the dispatcher paces."""

    def addresses(self, recipient: StaffUser) -> list[str]:
        """Where this channel reaches ``recipient`` (empty: it does not)."""

    def pack(self, messages: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[int]]]:
        """Messages waiting for one address → what to send: each a message and the indexes of
        those it carries (a digest of several, or one alone)."""

    def send(self, address: str, message: dict[str, Any]) -> dict[str, Any] | None:
        """Send one message; raise TransientError / RateLimited / PermanentError."""


def is_channel(notifier: Any) -> bool:
    return hasattr(notifier, "channel") and hasattr(notifier, "send")


class WecomRobot:
    """A WeCom group robot webhook (企业微信群机器人). One address: the group. A text message
    @-mentions the recipients by phone (``mentioned_mobile_list``); a digest merges waiting
    messages up to WeCom's length limit (text 2048 bytes, markdown 4096)."""

    name = "wecom_robot"
    channel = "wecom_robot"
    ADDRESS = "group"
    LIMITS = {"text": 2048, "markdown": 4096}
    TOO_FAST = {45009, 130101}  # "api freq out of limit" (the documented code and the one seen)

    def __init__(self, url: str, settings: WecomRobotSection, *, client: httpx.Client | None = None):
        self.url = url
        self.settings = settings
        self.per_minute = settings.per_minute
        self.client = client or httpx.Client(timeout=settings.timeout_s)

    @classmethod
    def from_config(cls, settings: WecomRobotSection) -> WecomRobot | None:
        url = settings.url()
        return cls(url, settings) if url else None

    def addresses(self, recipient: StaffUser) -> list[str]:
        return [self.ADDRESS]

    def check(self) -> tuple[bool, str]:
        """Is the webhook's key valid? Asked without sending anything: a message of no type,
        which WeCom refuses with 40008 for a valid key and 93000 for an unknown one."""
        try:
            answer = self.client.post(self.url, json={"msgtype": "jht-bridge-check"})
            data = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            return False, f"WeCom robot unreachable: {type(exc).__name__}: {exc}"
        code = data.get("errcode")
        if code in (0, 40008):
            return True, "webhook key accepted (nothing sent)"
        return False, f"WeCom robot errcode {code}: {data.get('errmsg', '')} (check notify.wecom_robot.webhook_url)"

    def _content(self, message: dict[str, Any]) -> str:
        if self.settings.msgtype == "markdown":
            return message.get("markdown") or message["text"]
        return message["text"]

    def pack(self, messages: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[int]]]:
        limit = self.LIMITS[self.settings.msgtype]
        packed: list[tuple[dict[str, Any], list[int]]] = []
        current: list[int] = []

        def flush() -> None:
            if not current:
                return
            if len(current) == 1:
                packed.append((messages[current[0]], list(current)))
            else:
                packed.append((self._digest([messages[i] for i in current]), list(current)))
            current.clear()

        for i, message in enumerate(messages):
            trial = [messages[j] for j in current] + [message]
            if current and len(self._render(self._digest(trial)).encode()) > limit:
                flush()
            current.append(i)
        flush()
        return packed

    def _digest(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        head = f"【汇总】{len(messages)} 条通知"
        mentions = sorted({m for msg in messages for m in msg.get("mentions", [])})
        return {
            "text": "\n".join([head, *(f"{n}. {m['text']}" for n, m in enumerate(messages, 1))]),
            "markdown": "\n".join([f"**{head}**", *(f"> {m.get('markdown') or m['text']}" for m in messages)]),
            "mentions": mentions,
        }

    def _render(self, message: dict[str, Any]) -> str:
        return self._content(message)

    def body(self, message: dict[str, Any]) -> dict[str, Any]:
        """The JSON posted to the webhook."""
        content = self._content(message)
        if self.settings.msgtype == "markdown":
            return {"msgtype": "markdown", "markdown": {"content": content}}
        text: dict[str, Any] = {"content": content}
        if message.get("mentions"):
            text["mentioned_mobile_list"] = list(message["mentions"])
        return {"msgtype": "text", "text": text}

    def send(self, address: str, message: dict[str, Any]) -> dict[str, Any] | None:
        try:
            answer = self.client.post(self.url, json=self.body(message))
        except httpx.HTTPError as exc:
            raise TransientError(f"WeCom robot unreachable: {type(exc).__name__}: {exc}") from exc
        if answer.status_code >= 500 or answer.status_code == 429:
            raise TransientError(f"WeCom robot answered HTTP {answer.status_code}")
        try:
            data = answer.json()
        except ValueError:
            raise TransientError(f"WeCom robot answered HTTP {answer.status_code} without JSON") from None
        code = data.get("errcode")
        if code == 0:
            return None
        words = f"WeCom robot errcode {code}: {data.get('errmsg', '')}"
        if code in self.TOO_FAST:
            raise RateLimited(words, retry_after_s=60.0)
        if code == -1:  # system busy
            raise TransientError(words)
        raise PermanentError(words + " (check notify.wecom_robot.webhook_url)")


class WecomApp:
    """A WeCom self-built app's message to one staff user (``touser``: their WeCom user id).
    The access token is cached and refreshed one at a time (``bridge.wechat.AccessToken``, as the
    WeChat client's); a token WeCom rejects is fetched again once. WeCom's duplicate check is on:
    the same message sent again within 30 minutes (a worker killed after WeCom took it) is not
    shown twice."""

    name = "wecom_app"
    channel = "wecom_app"
    TOKEN_REJECTED = {40001, 40014, 42001}
    TOO_FAST = {45009, 45033}

    def __init__(self, settings: WecomAppSection, *, clock: Any = time.monotonic):
        self.settings = settings
        self.per_minute = settings.per_minute
        self.http = httpx.Client(base_url=settings.base_url, timeout=settings.timeout_s)
        self.token = AccessToken(self._fetch_token, unavailable=TransientError, clock=clock, api="wecom gettoken")

    def addresses(self, recipient: StaffUser) -> list[str]:
        return [recipient.wecom_userid] if recipient.wecom_userid else []

    def pack(self, messages: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[int]]]:
        return [(m, [i]) for i, m in enumerate(messages)]

    def _call(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        try:
            answer = self.http.request(method, path, **kw)
            data = answer.json()
        except httpx.HTTPError as exc:
            raise TransientError(f"WeCom unreachable: {type(exc).__name__}") from exc
        except ValueError:
            raise TransientError(f"WeCom answered HTTP {answer.status_code} without JSON") from None
        if not isinstance(data, dict):
            raise TransientError("WeCom answered something else than a JSON object")
        return data

    def _fetch_token(self) -> tuple[str, float]:
        data = self._call(
            "GET",
            "/cgi-bin/gettoken",
            params={"corpid": self.settings.corp_id, "corpsecret": self.settings.app_secret() or ""},
        )
        code = data.get("errcode") or 0
        if code == 0 and data.get("access_token"):
            return str(data["access_token"]), float(data.get("expires_in") or 7200)
        words = f"WeCom gettoken errcode {code}: {data.get('errmsg', '')}"
        if code == -1:
            raise TransientError(words)
        raise PermanentError(words + " (check notify.wecom_app.corp_id and the app's secret)")

    def send(self, address: str, message: dict[str, Any]) -> dict[str, Any] | None:
        body = {
            "touser": address,
            "msgtype": "text",
            "agentid": self.settings.agent_id,
            "text": {"content": message["text"]},
            "enable_duplicate_check": 1,
            "duplicate_check_interval": 1800,
        }
        token = self.token.get()
        data = self._call("POST", "/cgi-bin/message/send", params={"access_token": token}, json=body)
        if data.get("errcode") in self.TOKEN_REJECTED:
            self.token.drop(token)
            data = self._call("POST", "/cgi-bin/message/send", params={"access_token": self.token.get()}, json=body)
        code = data.get("errcode") or 0
        words = f"WeCom app errcode {code}: {data.get('errmsg', '')}"
        if code == 0:
            if data.get("invaliduser"):
                raise PermanentError(
                    f"WeCom does not know the user {data['invaliduser']} (notify set USER --wecom-user)"
                )
            return {"msgid": data.get("msgid")} if data.get("msgid") else None
        if code in self.TOO_FAST:
            raise RateLimited(words, retry_after_s=60.0)
        if code == -1:
            raise TransientError(words)
        raise PermanentError(words)

    def check(self) -> tuple[bool, str]:
        """Fetch an access token (the corp id and the secret are right); nothing is sent."""
        try:
            self.token.get()
        except (TransientError, PermanentError) as exc:
            return False, str(exc)
        return (
            True,
            f"access token fetched for corp {self.settings.corp_id}, app {self.settings.agent_id} (nothing sent)",
        )


class Email:
    """E-mail over SMTP (STARTTLS, SSL or plain on a LAN relay), plain text with an HTML part,
    one message per notice to each staff user's address. Each message has a Message-ID made
    from its notice, so a message sent twice (a worker killed after the server took it) carries
    the same id and mail clients that dedupe show it once."""

    name = "email"
    channel = "email"
    per_minute = None

    def __init__(self, settings: EmailSection):
        self.settings = settings

    def addresses(self, recipient: StaffUser) -> list[str]:
        return [recipient.email] if recipient.email else []

    def pack(self, messages: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[int]]]:
        return [(m, [i]) for i, m in enumerate(messages)]

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)
        if s.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
            if s.security == "starttls":
                smtp.starttls(context=context)
        if s.username:
            smtp.login(s.username, self.settings.secret() or "")
        return smtp

    def compose(self, address: str, message: dict[str, Any]) -> EmailMessage:
        s = self.settings
        mail = EmailMessage()
        mail["Subject"] = message.get("title") or message["text"].splitlines()[0][:80]
        mail["From"] = formataddr((s.from_name, s.from_address))
        mail["To"] = address
        key = message.get("key") or hashlib.sha256(message["text"].encode()).hexdigest()[:16]
        mail["Message-ID"] = f"<jht-notice-{key}@{s.from_address.split('@', 1)[1]}>"  # the same on a resend
        mail.set_content(message["text"])
        body = html.escape(message["text"]).replace("\n", "<br>")
        if message.get("link"):
            link = html.escape(message["link"], quote=True)
            body += f'<p><a href="{link}">在管理后台查看</a></p>'
        mail.add_alternative(f"<html><body><p>{body}</p></body></html>", subtype="html")
        return mail

    def send(self, address: str, message: dict[str, Any]) -> dict[str, Any] | None:
        mail = self.compose(address, message)
        try:
            with self._connect() as smtp:
                smtp.send_message(mail)
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentError(
                f"SMTP login refused: {exc.smtp_code} {_smtp_words(exc)} (check notify.email.username / password)"
            ) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentError(f"SMTP refused the address {address}: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            words = f"SMTP {exc.smtp_code} {_smtp_words(exc)}"
            if 400 <= exc.smtp_code < 500:
                raise TransientError(words) from exc
            raise PermanentError(words) from exc
        except ssl.SSLCertVerificationError as exc:
            raise PermanentError(
                f"the SMTP server's certificate is not trusted: {exc.verify_message} (notify.email.ca_file)"
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:  # refused, timed out, cut off
            raise TransientError(
                f"SMTP server {self.settings.host}:{self.settings.port} unreachable: {type(exc).__name__}: {exc}"
            ) from exc
        return {"message_id": str(mail["Message-ID"])}  # a header object: kept as its text

    def check(self) -> tuple[bool, str]:
        """Connect, secure and log in, then quit: nothing is sent."""
        try:
            with self._connect() as smtp:
                smtp.noop()
        except smtplib.SMTPAuthenticationError as exc:
            return False, f"SMTP login refused: {exc.smtp_code} {_smtp_words(exc)}"
        except (OSError, smtplib.SMTPException) as exc:
            return False, f"SMTP server {self.settings.host}:{self.settings.port}: {type(exc).__name__}: {exc}"
        login = f" as {self.settings.username}" if self.settings.username else ""
        return (
            True,
            f"{self.settings.host}:{self.settings.port} ({self.settings.security}) accepted the connection{login} (nothing sent)",
        )


def _smtp_words(exc: smtplib.SMTPResponseException) -> str:
    words = exc.smtp_error
    return words.decode("utf-8", "replace") if isinstance(words, bytes) else str(words)


# --------------------------------------------------------------------------- pacing


@dataclass
class Pace:
    """Token buckets per (channel, address), refilled at ``per_minute``; one per dispatcher
    (several workers on PostgreSQL each pace their own sends: set per_minute for the whole)."""

    clock: Any = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_s(self, key: str, per_minute: int | None) -> float:
        """0 and a token taken when one is free, else the seconds until one is."""
        if not per_minute:
            return 0.0
        rate = per_minute / 60.0
        with self._lock:
            now = self.clock()
            tokens, at = self._buckets.get(key, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - at) * rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / rate

    def empty(self, key: str, seconds: float) -> None:
        """The channel said "too fast": no token for ``seconds``."""
        with self._lock:
            self._buckets[key] = (0.0, self.clock() + seconds)


# --------------------------------------------------------------------------- routing


def staff_recipients(session: Session, customer: Customer | None) -> list[StaffUser]:
    """Whom a staff notice about ``customer`` is for: its active salesperson, else every active
    admin (the admins' queue)."""
    if customer is not None and customer.salesperson_id:
        user = session.get(StaffUser, customer.salesperson_id)
        if user is not None and user.active:
            return [user]
    return list(
        session.exec(
            select(StaffUser)
            .where(StaffUser.role == StaffRole.ADMIN, StaffUser.active.is_(True))
            .order_by(StaffUser.id)
        )
    )


def _amount(value: Decimal | None) -> str:
    return f"¥{Decimal(value or 0):,.2f}"


def render(session: Session, cause: OutboxMessage, settings: NotifySection) -> dict[str, Any] | None:
    """The Chinese message of a staff notice: ``text`` (plain), ``markdown``, ``link``; None
    when the thing it tells of is gone."""
    event = cause.kind.split(".", 1)[1]
    payload = cause.payload
    customer = session.get(Customer, payload["customer_id"]) if payload.get("customer_id") else None
    who = customer.name if customer is not None else f"客户 {payload.get('customer_id')}"
    base = (settings.admin_base_url or "").rstrip("/")
    salesperson = ""
    if customer is not None and customer.salesperson_id:
        user = session.get(StaffUser, customer.salesperson_id)
        salesperson = user.display_name if user is not None else ""
    values: dict[str, Any] = {"customer": who, "salesperson": salesperson}
    if event in ("new_order", "customer_cancelled"):
        order = session.exec(select(Order).where(Order.order_no == payload.get("order_no"))).first()
        if order is None:
            return None
        link = f"{base}/admin/orders/{order.order_no}" if base else None
        values.update(order_no=order.order_no, amount=_amount(order.total_amount))
        if event == "new_order":
            lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id)).all()
            summary = "；".join(f"{line.name} × {line.quantity}" for line in lines[:3])
            if len(lines) > 3:
                summary += f" 等 {len(lines)} 种"
            values.update(
                lines=summary,
                payment="需确认收款后下发生产。" if payload.get("needs_payment_confirmation") else "",
                customer_type=CUSTOMER_TYPE_LABELS.get(customer.type, "") if customer is not None else "",
            )
    elif event == "ops_digest":  # for the admins (the cause names no customer)
        values["problems"] = "，".join(
            f"{label} {payload[key]} 条"
            for key, label in (
                ("outbox_dead", "发往 ERP 失败的消息"),
                ("notices_dead", "发送失败的通知"),
                ("inbox_dead", "无法处理的 ERP 事件"),
                ("inbox_quarantined", "被隔离的 ERP 事件"),
                ("inbox_parked_long", "暂存过久的 ERP 事件"),
            )
            if payload.get(key)
        )
        link = f"{base}/admin/sync" if base else None
    elif event == "inquiry":
        inquiry = session.get(Inquiry, payload.get("inquiry_id"))
        if inquiry is None:
            return None
        values["body"] = inquiry.body if len(inquiry.body) <= 200 else inquiry.body[:200] + "…"
        link = f"{base}/admin/inquiries/{inquiry.id}" if base else None
    else:
        return None
    text = settings.templates[event].format_map(values).strip()
    title = text.splitlines()[0][:60] if text else event
    markdown = text if link is None else f"[{title}]({link})" + (text[len(title) :] if len(text) > len(title) else "")
    if link:
        text += f"\n{link}"
    return {"title": title, "text": text, "markdown": markdown, "link": link}


def route(session: Session, cause: OutboxMessage, channels: list[Any], settings: NotifySection) -> list[OutboxMessage]:
    """The ``send`` rows of a staff notice: one per (channel, address) that reaches one of its
    recipients, carrying the rendered message (not yet added to the session)."""
    event = cause.kind.split(".", 1)[1]
    if event in CUSTOMER_EVENTS:
        return _route_to_customer(session, cause, event, [c for c in channels if _audience(c) == "customer"])
    channels = [c for c in channels if _audience(c) == "staff"]
    if event not in STAFF_EVENTS or not channels:
        return []
    message = render(session, cause, settings)
    if message is None:
        return []
    customer = session.get(Customer, cause.payload["customer_id"]) if cause.payload.get("customer_id") else None
    recipients = staff_recipients(session, customer)
    rows: list[OutboxMessage] = []
    for channel in channels:
        by_address: dict[str, list[StaffUser]] = {}
        for user in recipients:
            if user.notify_channels is not None and channel.channel not in user.notify_channels:
                continue  # the user chose other channels
            for address in channel.addresses(user):
                by_address.setdefault(address, []).append(user)
        for address, users in by_address.items():
            mentions = sorted({u.phone for u in users if u.phone})
            rows.append(_send_row(cause, channel, address, message, staff_ids=[u.id for u in users], mentions=mentions))
    return rows


def _audience(channel: Any) -> str:
    return getattr(channel, "audience", "staff")


def _send_row(cause: OutboxMessage, channel: Any, address: str, message: dict[str, Any], **extra: Any) -> OutboxMessage:
    return OutboxMessage(
        target=TARGET_SEND,
        kind=cause.kind,
        ordering_key=f"{channel.channel}:{address}"[:64],
        aggregate_type=cause.aggregate_type,
        aggregate_id=cause.aggregate_id,
        payload={
            "cause_id": cause.id,
            "key": f"{cause.id}-{hashlib.sha256(address.encode()).hexdigest()[:8]}",
            "channel": channel.channel,
            "to": address,
            **extra,
            **message,
        },
    )


def customer_values(session: Session, cause: OutboxMessage, event: str) -> dict[str, Any]:
    """What a customer notice's template may show (the sources of [notify.wechat.<event>])."""
    from bridge.labels import STATUS_LABELS

    payload = dict(cause.payload)
    values: dict[str, Any] = {**payload}
    now = cause.created_at
    if event == "shipment":
        values.setdefault("shipped_at", now)
    elif event in ("status", "cancelled"):
        status = payload.get("status")
        values["status"] = STATUS_LABELS.get(status, status) if status else ""
        values["changed_at"] = now
        values.setdefault("note", "")
        values.setdefault("reason", payload.get("note") or "")
    elif event == "ready":  # the product's name and spec come in the payload (products.tell_product_ready)
        values["ready_at"] = now
        values.setdefault("note", "")
    return values


def _route_to_customer(session: Session, cause: OutboxMessage, event: str, channels: list[Any]) -> list[OutboxMessage]:
    rows = []
    customer_id = cause.payload.get("customer_id")
    for channel in channels:
        message = channel.prepare(event, customer_values(session, cause, event))
        if message is None:
            continue
        for address in channel.customer_addresses(customer_id):
            rows.append(_send_row(cause, channel, address, message, customer_id=customer_id))
    return rows


def describe(row: OutboxMessage) -> str:
    """One line for logs: the channel, the address and the start of the text."""
    p = row.payload
    return f"{p.get('channel')}→{p.get('to')}: {json.dumps(p.get('text', ''), ensure_ascii=False)[:80]}"


def send_test(channels: list[Any], user: StaffUser) -> list[tuple[str, bool, str]]:
    """Send the test message to ``user`` through every channel that reaches them, now (not
    through the outbox: this is for the person setting the channels up). Per channel: its
    name, whether it was accepted, and what it answered."""
    results = []
    for channel in [c for c in channels if _audience(c) == "staff"]:  # customers' channels reach no staff user
        addresses = channel.addresses(user)
        if not addresses:
            results.append((channel.channel, False, f"does not reach {user.username} (no address for this channel)"))
            continue
        for address in addresses:
            try:
                channel.send(address, test_message(user))
            except Exception as exc:
                results.append((channel.channel, False, f"{address}: {exc}"))
            else:
                results.append((channel.channel, True, f"sent to {address}"))
    return results


CHANNEL_NAMES = ("wecom_robot", "wecom_app", "email")
"""The built-in channels a staff user may choose."""


def set_contacts(
    session: Session,
    actor: Any,
    user: StaffUser,
    *,
    email: str | None = None,
    wecom_userid: str | None = None,
    channels: list[str] | None = None,
    all_channels: bool = False,
) -> StaffUser:
    """Set where notices reach ``user`` and through which channels (``channels``; ``all_channels``:
    back to every configured one). Empty strings clear an address. Admins, or the user
    themselves. Audited."""
    if actor.kind != ActorKind.ADMIN and actor.id != str(user.id):
        raise Forbidden("只能修改自己的通知设置", f"{actor} may not change {user.username}'s notice settings")
    changes: dict[str, Any] = {}
    if email is not None:
        value = email.strip() or None
        if value is not None and (
            len(value) > 254 or value.count("@") != 1 or " " in value or "." not in value.split("@")[1]
        ):
            raise InvalidInput("邮箱地址格式不正确", f"not an e-mail address: {value!r}", field="email")
        user.email = changes["email"] = value
    if wecom_userid is not None:
        value = wecom_userid.strip() or None
        if value is not None and (
            len(value) > 64 or not value.replace("_", "").replace("-", "").replace(".", "").replace("@", "").isalnum()
        ):
            raise InvalidInput("企业微信账号格式不正确", f"not a WeCom user id: {value!r}", field="wecom_userid")
        user.wecom_userid = changes["wecom_userid"] = value
    if all_channels:
        user.notify_channels = changes["notify_channels"] = None
    elif channels is not None:
        unknown = [c for c in channels if c not in CHANNEL_NAMES]
        if unknown:
            raise InvalidInput(
                f"未知的通知方式：{'、'.join(unknown)}",
                f"unknown channel(s) {unknown}: choose from {', '.join(CHANNEL_NAMES)}",
                field="notify_channels",
            )
        user.notify_channels = changes["notify_channels"] = sorted(set(channels))
    session.add(user)
    audit(session, actor, "user.notify_settings", "staff_user", user.id, changes)
    return user


# --------------------------------------------------------------------------- what was sent (the notifications view)


@dataclass(frozen=True)
class Notification:
    """One routed notice as the notifications view shows it: to whom, through which channel,
    what it said, and what became of it."""

    row: OutboxMessage
    channel: str
    to: str
    text: str
    outcome: str
    """sent / not_consented (the customer did not accept the template) / waiting / failed."""
    recipient: str = ""
    """Whom it is for, by name: the staff users it names, or the customer."""

    @property
    def error(self) -> str | None:
        return self.row.last_error


def _outcome(row: OutboxMessage) -> str:
    from bridge.models import OutboxStatus

    if row.status == OutboxStatus.DELIVERED:
        return "not_consented" if (row.result or {}).get("not_consented") else "sent"
    if row.status == OutboxStatus.DEAD:
        return "failed"
    return "waiting"


def notification_page(
    session: Session,
    actor: Any,
    *,
    channel: str | None = None,
    outcome: str | None = None,
    page: int = 1,
    page_size: int = 30,
) -> Any:
    """The routed notices, newest first (``send`` rows): an admin sees all; a salesperson those
    about their own customers (the one scope rule, ``bridge.scope.customers_of``). Filter by
    channel and by outcome (sent — a customer who did not accept the template included —,
    waiting, failed)."""
    import sqlalchemy as sa

    from bridge.db import Page, paginate
    from bridge.labels import CHANNEL_LABELS
    from bridge.models import OutboxStatus
    from bridge.scope import customers_of

    stmt = select(OutboxMessage).where(OutboxMessage.target == TARGET_SEND)
    if actor.kind != ActorKind.ADMIN:
        mine = select(Customer.id).where(customers_of(actor))
        orders = select(Order.order_no).where(Order.customer_id.in_(mine))
        stmt = stmt.where(
            sa.or_(
                sa.and_(OutboxMessage.aggregate_type == "order", OutboxMessage.aggregate_id.in_(orders)),
                sa.and_(
                    OutboxMessage.aggregate_type == "customer",
                    OutboxMessage.aggregate_id.in_(select(sa.cast(Customer.id, sa.String)).where(customers_of(actor))),
                ),
            )
        )
    if channel:
        if channel not in CHANNEL_LABELS:  # bridge.labels
            raise InvalidInput("未知的通知方式", f"unknown channel {channel!r}", field="channel")
        stmt = stmt.where(OutboxMessage.ordering_key.startswith(f"{channel}:"))
    if outcome:
        statuses = {"sent": OutboxStatus.DELIVERED, "waiting": OutboxStatus.PENDING, "failed": OutboxStatus.DEAD}
        if outcome not in statuses:
            raise InvalidInput("未知的状态", f"unknown outcome {outcome!r}", field="outcome")
        stmt = stmt.where(OutboxMessage.status == statuses[outcome])  # sent: not consented ones too
    stmt = stmt.order_by(OutboxMessage.id.desc())
    found = paginate(session, stmt, page, page_size)
    staff_ids = {i for r in found.items for i in r.payload.get("staff_ids") or []}
    customer_ids = {r.payload.get("customer_id") for r in found.items if r.payload.get("customer_id")}
    staff = (
        {u.id: u.display_name for u in session.exec(select(StaffUser).where(StaffUser.id.in_(staff_ids)))}
        if staff_ids
        else {}
    )
    customers = (
        {c.id: c.name for c in session.exec(select(Customer).where(Customer.id.in_(customer_ids)))}
        if customer_ids
        else {}
    )

    def whom(r: OutboxMessage) -> str:
        if r.payload.get("staff_ids"):
            return "、".join(staff.get(i, str(i)) for i in r.payload["staff_ids"])
        return customers.get(r.payload.get("customer_id"), "")

    items = [
        Notification(
            r,
            str(r.payload.get("channel", "")),
            str(r.payload.get("to", "")),
            str(r.payload.get("text", "")),
            _outcome(r),
            whom(r),
        )
        for r in found.items
    ]
    return Page(items, found.total, found.page, found.page_size)


def ops_digest(session: Session, settings: NotifySection, now: Any = None) -> dict[str, int] | None:
    """The counts of a digest for the admins — dead letters (to the ERP and notices), dead and
    quarantined ERP events, events parked longer than ``ops_parked_after_s`` — or None when none
    is due: nothing needs a person, or one was queued less than ``ops_digest_interval_s`` ago
    (at most one per interval, however many workers ask)."""
    import sqlalchemy as sa

    from bridge.models import InboxEvent, InboxStatus, OutboxStatus
    from bridge.types import utcnow

    if not settings.ops_digest_interval_s:
        return None
    now = now or utcnow()
    last = session.exec(
        select(sa.func.max(OutboxMessage.created_at)).where(
            OutboxMessage.kind == "notify.ops_digest", OutboxMessage.target != TARGET_SEND
        )
    ).one()
    if last is not None:
        last = last if last.tzinfo else last.replace(tzinfo=now.tzinfo)
        if (now - last).total_seconds() < settings.ops_digest_interval_s:
            return None

    def count(stmt) -> int:
        return session.exec(select(sa.func.count()).select_from(stmt.subquery())).one()

    dead = OutboxMessage.status == OutboxStatus.DEAD
    parked_before = now - timedelta(seconds=settings.ops_parked_after_s)
    counts = {
        "outbox_dead": count(select(OutboxMessage.id).where(dead, OutboxMessage.target != TARGET_SEND)),
        "notices_dead": count(select(OutboxMessage.id).where(dead, OutboxMessage.target == TARGET_SEND)),
        "inbox_dead": count(select(InboxEvent.id).where(InboxEvent.status == InboxStatus.DEAD)),
        "inbox_quarantined": count(select(InboxEvent.id).where(InboxEvent.status == InboxStatus.QUARANTINED)),
        "inbox_parked_long": count(
            select(InboxEvent.id).where(InboxEvent.status == InboxStatus.PARKED, InboxEvent.received_at < parked_before)
        ),
    }
    return counts if any(counts.values()) else None
