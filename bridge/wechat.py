"""WeChat: everything the bridge asks of WeChat's server API, in one place.

- ``WeChatClient``: login (``code2session``), the phone number behind a ``getPhoneNumber``
  code, the access token (cached, refreshed ahead of expiry, one refresh at a time) and
  subscribe messages. Synchronous httpx; request handlers call it from worker threads.
- ``WeChatNotifier``: the ``wechat`` notifier that sends shipment notices (C12) as subscribe
  messages to every WeChat account of the customer. A built-in plugin (``register_notifiers``
  below): registered when ``wechat.shipment_template_id`` is set.

Errors: every failure is a ``WeChatError`` carrying WeChat's ``errcode`` and ``errmsg``.
``WeChatUnavailable`` (busy, HTTP 5xx, timeout, rate limit) means "try again later";
``InvalidCode`` means the code from the mini-program is wrong, used or refused;
``SubscriptionRefused`` means the user has no subscription for the template (43101).

``mode = "dev"`` makes no HTTP call at all: a login code ``abc`` is openid ``dev-abc`` and a
phone code that is a mainland mobile number is that number — for demos and local use only.

The app secret and access tokens never reach a log line: our lines name the API and the
errcode only, and httpx's own request lines have ``secret=`` / ``access_token=`` masked.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bridge.config import Config, ConfigError, SubscribeTemplate, WechatNoticeSection, WechatSection
from bridge.connector import PermanentError, TransientError
from bridge.hookspecs import hookimpl
from bridge.logs import get_logger
from bridge.models import Account

log = get_logger("bridge.wechat")

# errcodes (developers.weixin.qq.com, 全局返回码 and each API's page)
BUSY = -1  # 系统繁忙
INVALID_CODES = {40029, 40163, 40226}  # invalid code, code already used, 高风险等级用户 (risky user)
UNAVAILABLE_CODES = {BUSY, 45009, 45011}  # busy, daily quota reached, per-minute rate limit
TOKEN_REJECTED = {40001, 40014, 42001}  # access_token invalid / not valid / expired
SUBSCRIPTION_REFUSED = 43101  # 用户拒绝接受消息 (no subscription left for this template)

TOKEN_REFRESH_AHEAD_S = 300
"""The access token is replaced this long before WeChat says it expires (capped at half its
lifetime), so a request never goes out with a token that expires on the way."""

_CODE = re.compile(r"^[!-~]{1,128}$")
"""A code as we pass it on: printable ASCII without spaces (WeChat's login codes have 32
characters, phone codes 64); anything else is refused before a call is made."""
_DEV_CODE = re.compile(r"^[\w-]{1,60}$", re.ASCII)
"""A dev-mode login code: 60 characters keep ``dev-{code}`` within ``account.openid``'s 64."""
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


LIVE_SETTINGS = (
    "set wechat.mode = live, wechat.appid and the AppSecret (wechat.app_secret_file) in the config, or in the "
    "environment JHT_WECHAT__MODE=live JHT_WECHAT__APPID=wx... (the mini-program's AppID, mp.weixin.qq.com: "
    "开发管理 → 开发设置) JHT_WECHAT__APP_SECRET=..."
)
"""What to set for real WeChat logins, as the operator reads it at start (a container's log too)."""


class WeChatError(Exception):
    """WeChat refused or failed a call; ``errcode`` is WeChat's (None when there was no
    WeChat answer: a timeout, an HTTP error), ``errmsg`` its words, ``api`` the call."""

    def __init__(self, errcode: int | None, errmsg: str, api: str = ""):
        self.errcode = errcode
        self.errmsg = errmsg
        self.api = api
        code = "" if errcode is None else f" errcode {errcode}"
        super().__init__(f"WeChat {api or 'call'}{code}: {errmsg}")


class InvalidCode(WeChatError):
    """The code from the mini-program is invalid, already used, or its user is refused:
    the user has to log in (or tap "get phone number") again."""


class WeChatUnavailable(WeChatError):
    """WeChat is busy, unreachable, slow or rate-limiting: try again later."""


class SubscriptionRefused(WeChatError):
    """The user has not subscribed to the template (or used up their subscriptions): the
    message cannot be sent, and retrying will not change that."""


@dataclass(frozen=True)
class WeChatSession:
    """What ``code2session`` answers. ``session_key`` is a secret: it is kept out of repr."""

    openid: str
    unionid: str | None
    session_key: str = field(repr=False)


@dataclass
class _Token:
    value: str
    refresh_at: float  # clock() after which we fetch a new one
    expires_at: float  # clock() after which WeChat no longer takes it


class AccessToken:
    """An access token of a Tencent API (WeChat, WeCom): cached, replaced ahead of its expiry,
    fetched by one thread at a time while the others wait for it. ``fetch`` returns (token,
    lifetime in seconds) or raises; when a refresh ahead of time fails with ``unavailable`` the
    current token is used while it lasts. ``drop(value)`` forgets a token the API rejected."""

    def __init__(
        self,
        fetch: Callable[[], tuple[str, float]],
        *,
        unavailable: type[Exception] | tuple[type[Exception], ...],
        clock: Callable[[], float] = time.monotonic,
        api: str = "token",
    ):
        self._fetch = fetch
        self._unavailable = unavailable
        self._clock = clock
        self._api = api
        self._token: _Token | None = None
        self._lock = threading.Lock()

    def get(self) -> str:
        token = self._token
        if token is not None and self._clock() < token.refresh_at:
            return token.value
        with self._lock:
            token = self._token  # another thread may have refreshed while we waited
            now = self._clock()
            if token is not None and now < token.refresh_at:
                return token.value
            try:
                value, expires_in = self._fetch()
            except self._unavailable:
                if token is not None and now < token.expires_at:
                    # Refreshing ahead failed; the old token is good for a while yet.
                    log.warning("access token refresh failed, using the current token", api=self._api)
                    return token.value
                raise
            now = self._clock()
            ahead = min(TOKEN_REFRESH_AHEAD_S, expires_in / 2)
            log.info("access token fetched", api=self._api, expires_in=expires_in)
            self._token = _Token(value, refresh_at=now + expires_in - ahead, expires_at=now + expires_in)
            return value

    def drop(self, value: str) -> None:
        with self._lock:
            if self._token is not None and self._token.value == value:
                self._token = None


class WeChatClient:
    """WeChat's server API for one mini-program (``[wechat]`` settings).

    Thread-safe: one instance is shared by all request handlers and the notifier.
    ``transport`` replaces httpx's network transport (tests); ``clock`` is a monotonic clock
    in seconds, for the token's lifetime.

    The access token comes from the *stable token* API (``POST /cgi-bin/stable_token``, not
    ``GET /cgi-bin/token``): the API server and the worker run as separate processes, each
    with its own cache, and with ``/cgi-bin/token`` every fetch by one process would cut the
    other's token short. A stable token stays valid for its whole lifetime whoever asks, and
    the secret travels in the request body instead of the URL.
    """

    miniprogram_state = "formal"
    """Which version of the mini-program a subscribe message opens (formal / trial / developer)."""

    def __init__(
        self,
        settings: WechatSection,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.settings = settings
        self.dev = settings.mode == "dev"
        self._secret = settings.secret()
        self._clock = clock
        self._token = AccessToken(self._fetch_token, unavailable=WeChatUnavailable, clock=clock, api="stable_token")
        self._http: httpx.Client | None = None
        if self.dev:
            return
        if not settings.appid or not self._secret:
            raise ValueError(
                f"wechat.appid and JHT_WECHAT__APP_SECRET are needed in live mode ({LIVE_SETTINGS}); or set "
                "wechat.mode = dev (local use only)"
            )
        self._http = httpx.Client(base_url=settings.base_url, timeout=settings.timeout_s, transport=transport)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def __enter__(self) -> WeChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- login and phone ----------------------------------------------------------------------

    def code2session(self, code: str) -> WeChatSession:
        """The WeChat user behind a ``wx.login`` code. Raises ``InvalidCode`` for a wrong,
        used or refused code, ``WeChatUnavailable`` when WeChat cannot answer now."""
        _check_code(code, "code2session")
        if self.dev:
            if not _DEV_CODE.match(code):
                raise InvalidCode(40029, "dev mode: a login code is 1-60 letters, digits, _ or -", "code2session")
            return WeChatSession(openid=f"dev-{code}", unionid=None, session_key="dev")
        answer = self._call(
            "code2session",
            "GET",
            "/sns/jscode2session",
            params={
                "appid": self.settings.appid,
                "secret": self._secret,
                "js_code": code,
                "grant_type": "authorization_code",
            },
        )
        try:
            return WeChatSession(answer["openid"], answer.get("unionid") or None, answer.get("session_key", ""))
        except KeyError:
            raise WeChatError(None, "answer without openid", "code2session") from None

    def phone_number(self, code: str) -> str:
        """The phone number (without country code) behind a ``getPhoneNumber`` code."""
        _check_code(code, "phone_number")
        if self.dev:
            if not _MOBILE.match(code):
                raise InvalidCode(40029, "dev mode: the phone code must be a mainland mobile number", "phone_number")
            return code
        answer = self._call_with_token(
            "phone_number", "POST", "/wxa/business/getuserphonenumber", json_body={"code": code}
        )
        try:
            return str(answer["phone_info"]["purePhoneNumber"])
        except (KeyError, TypeError):
            raise WeChatError(None, "answer without phone_info.purePhoneNumber", "phone_number") from None

    # -- subscribe messages -------------------------------------------------------------------

    def send_subscribe_message(self, openid: str, template_id: str, data: dict[str, str], page: str) -> None:
        """Send one subscribe message (订阅消息). ``data`` maps the template's keys to their
        values. Raises ``SubscriptionRefused`` when the user has no subscription for it."""
        if self.dev:
            log.info(
                "wechat subscribe message (dev mode, not sent)",
                api="subscribe_send",
                template_id=template_id,
                page=page,
                data=data,
            )
            return
        body = {
            "touser": openid,
            "template_id": template_id,
            "page": page,
            "data": {key: {"value": value} for key, value in data.items()},
            "miniprogram_state": self.miniprogram_state,
            "lang": "zh_CN",
        }
        self._call_with_token("subscribe_send", "POST", "/cgi-bin/message/subscribe/send", json_body=body)

    # -- access token -------------------------------------------------------------------------

    def access_token(self) -> str:
        """A valid access token: the cached one, or a fresh one when it is due. Only one
        thread fetches; the others wait for it and use the same token."""
        if self.dev:
            return "dev"
        return self._token.get()

    def _fetch_token(self) -> tuple[str, float]:
        # force_refresh stays false: a forced refresh invalidates the token of every other
        # process and is limited per day. Without it WeChat answers its current token, which
        # is a new one whenever ours was replaced or revoked — what a 40001 retry needs.
        answer = self._call(
            "stable_token",
            "POST",
            "/cgi-bin/stable_token",
            json_body={
                "grant_type": "client_credential",
                "appid": self.settings.appid,
                "secret": self._secret,
                "force_refresh": False,
            },
        )
        try:
            return str(answer["access_token"]), float(answer["expires_in"])
        except (KeyError, TypeError, ValueError):
            raise WeChatError(None, "answer without access_token / expires_in", "stable_token") from None

    def _call_with_token(self, api: str, method: str, path: str, *, json_body: Any) -> dict[str, Any]:
        """A call that needs the access token; a token WeChat rejects (revoked, expired
        early) is dropped and the call is made once more with a fresh one."""
        token = self.access_token()
        try:
            return self._call(api, method, path, params={"access_token": token}, json_body=json_body)
        except WeChatError as exc:
            if exc.errcode not in TOKEN_REJECTED:
                raise
        log.info("wechat token rejected, fetching a new one", api=api)
        self._token.drop(token)
        token = self.access_token()
        return self._call(api, method, path, params={"access_token": token}, json_body=json_body)

    # -- HTTP ---------------------------------------------------------------------------------

    def _call(
        self, api: str, method: str, path: str, *, params: dict | None = None, json_body: Any = None
    ) -> dict[str, Any]:
        assert self._http is not None
        try:
            # ensure_ascii=False: WeChat shows \uXXXX escapes literally in some fields.
            content = None if json_body is None else json.dumps(json_body, ensure_ascii=False).encode()
            headers = {"Content-Type": "application/json"} if content is not None else None
            response = self._http.request(method, path, params=params, content=content, headers=headers)
        except httpx.TimeoutException:
            log.warning("wechat call timed out", api=api, timeout_s=self.settings.timeout_s)
            raise WeChatUnavailable(None, f"no answer within {self.settings.timeout_s} s", api) from None
        except httpx.TransportError as exc:
            # The exception's text names the host at most, never the URL with its query.
            log.warning("wechat unreachable", api=api, error=type(exc).__name__)
            raise WeChatUnavailable(None, f"unreachable ({type(exc).__name__}: {exc})", api) from None
        if response.status_code >= 500:
            log.warning("wechat http error", api=api, status=response.status_code)
            raise WeChatUnavailable(None, f"HTTP {response.status_code}", api)
        if response.status_code != 200:
            log.warning("wechat http error", api=api, status=response.status_code)
            raise WeChatError(None, f"HTTP {response.status_code}", api)
        try:
            answer = json.loads(response.content)
        except ValueError:
            log.warning("wechat answer is not JSON", api=api)
            raise WeChatUnavailable(None, "answer is not JSON", api) from None
        if not isinstance(answer, dict):
            raise WeChatUnavailable(None, "answer is not a JSON object", api)
        errcode = answer.get("errcode") or 0
        if errcode == 0:
            log.debug("wechat call ok", api=api)
            return answer
        errmsg = str(answer.get("errmsg", ""))
        log.warning("wechat error", api=api, errcode=errcode, errmsg=errmsg)
        if errcode in UNAVAILABLE_CODES:
            raise WeChatUnavailable(errcode, errmsg, api)
        if errcode in INVALID_CODES:
            raise InvalidCode(errcode, errmsg, api)
        if errcode == SUBSCRIPTION_REFUSED:
            raise SubscriptionRefused(errcode, errmsg, api)
        raise WeChatError(errcode, errmsg, api)


def _check_code(code: str, api: str) -> None:
    if not isinstance(code, str) or not _CODE.match(code):
        raise InvalidCode(40029, "the code is empty, too long or has characters a code does not have", api)


class _MaskSecrets(logging.Filter):
    """httpx logs each request's URL at INFO; the secret and the access token ride in the
    query string of some WeChat calls, so they are masked before any handler sees them."""

    _PATTERN = re.compile(r"((?:secret|access_token|js_code)=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self._PATTERN.sub(r"\1***", message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


if not any(isinstance(f, _MaskSecrets) for f in logging.getLogger("httpx").filters):
    logging.getLogger("httpx").addFilter(_MaskSecrets())


# --------------------------------------------------------------------------- notifier

SHIPMENT_TEMPLATE_FIELDS: dict[str, str] = dict(WechatNoticeSection().shipment.fields)
"""The default template keys of the shipment notice (``[notify.wechat.shipment] fields``)."""

_LIMITS = {"thing": 20, "character_string": 32, "number": 32, "letter": 32, "phrase": 5, "name": 10, "symbol": 5}


class WeChatNotifier:
    """The customer's notices as subscribe messages (订阅消息) to every WeChat account of the
    customer: a channel (``bridge.notify``) for the customer's events — ``shipment`` (C12),
    ``status``, ``cancelled``, ``ready`` — each sent when its template is configured in
    ``[notify.wechat.<event>]`` (the shipment's also by ``wechat.shipment_template_id``).

    ``prepare`` renders the template data when the notice is routed (each value cut to its
    field's WeChat limit), so the send row holds what goes out. A customer who has not accepted
    the template (43101) is recorded as not consented, not retried; WeChat being unavailable is
    a ``TransientError``; any other refusal (a wrong template id, a field the template does not
    have) is a ``PermanentError`` with WeChat's words, for the dead letters.
    """

    name = "wechat"
    channel = "wechat"
    audience = "customer"
    per_minute = None

    def __init__(
        self,
        engine: Engine,
        client: WeChatClient,
        *,
        templates: WechatNoticeSection | None = None,
        timezone: str = "Asia/Shanghai",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.engine = engine
        self.client = client
        self.templates = templates or WechatNoticeSection()
        self.zone = ZoneInfo(timezone)
        self.now = now

    def template(self, event: str) -> tuple[str, SubscribeTemplate] | None:
        """The template id and settings of ``event``'s notice, or None when it has none."""
        settings = getattr(self.templates, event, None)
        if not isinstance(settings, SubscribeTemplate):
            return None
        template_id = settings.template_id or (self.client.settings.shipment_template_id if event == "shipment" else "")
        return (template_id, settings) if template_id else None

    def customer_addresses(self, customer_id: int) -> list[str]:
        """The openids of the customer's bound WeChat accounts."""
        stmt = (
            sa.select(Account.openid)
            .where(Account.customer_id == customer_id, Account.openid.is_not(None))
            .order_by(Account.id)
        )
        with self.engine.connect() as conn:
            return [row[0] for row in conn.execute(stmt)]

    def prepare(self, event: str, values: dict[str, Any]) -> dict[str, Any] | None:
        """The message of ``event`` with ``values`` (its sources), or None when not configured."""
        found = self.template(event)
        if found is None:
            return None
        template_id, settings = found
        data = self.data(settings.fields, values)
        page = settings.page
        legacy = self.client.settings.shipment_page  # the older key of the shipment's page
        if event == "shipment" and legacy != WechatSection.model_fields["shipment_page"].default:
            page = legacy
        if values.get("order_no"):
            page += f"?order_no={quote(str(values['order_no']))}"
        text = "；".join(data.values())
        return {"template_id": template_id, "page": page, "data": data, "text": text, "event": event}

    def data(self, fields: dict[str, str], values: dict[str, Any]) -> dict[str, str]:
        """Template key → its text: a time in the bridge's zone, anything cut to its type's limit,
        '-' for nothing (WeChat refuses empty values)."""
        data = {}
        for key, source in fields.items():
            value = values.get(source)
            kind = key.rstrip("0123456789")
            if isinstance(value, str) and kind in ("time", "date"):
                value = _parse_time(value)
            if isinstance(value, datetime):
                local = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(self.zone)
                text = f"{local.year}年{local.month}月{local.day}日"
                if kind != "date":
                    text += f" {local:%H:%M}"
            else:
                text = str(value).strip() if value not in (None, "") else "-"
            data[key] = text[: _LIMITS[kind]] if kind in _LIMITS else text
        return data

    def shipment_data(self, payload: dict[str, Any]) -> dict[str, str]:
        """The template data of one shipment notice."""
        return self.data(
            self.templates.shipment.fields, {**payload, "shipped_at": payload.get("shipped_at") or self.now()}
        )

    def pack(self, messages: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[int]]]:
        return [(m, [i]) for i, m in enumerate(messages)]

    def send(self, address: str, message: dict[str, Any]) -> dict[str, Any] | None:
        try:
            self.client.send_subscribe_message(address, message["template_id"], message["data"], message["page"])
        except (SubscriptionRefused, InvalidCode) as exc:
            log.info("wechat notice not sent: not subscribed", notice=message.get("event"), errcode=exc.errcode)
            return {"not_consented": True, "errcode": exc.errcode}
        except WeChatUnavailable as exc:
            raise TransientError(f"WeChat subscribe message: {exc}") from exc
        except WeChatError as exc:
            raise PermanentError(
                f"WeChat subscribe message ({message.get('event')}): {exc} (check the template id and the "
                f"fields of [notify.wechat.{message.get('event')}] against the template)"
            ) from exc
        return None

    def check(self) -> tuple[bool, str]:
        """Fetch the access token (the AppID and the secret are right); nothing is sent."""
        try:
            self.client.access_token()
        except WeChatError as exc:
            return False, f"WeChat access token: {exc}"
        events = [e for e in ("shipment", "status", "cancelled", "ready") if self.template(e)]
        return True, f"access token fetched; templates for {', '.join(events)} (nothing sent)"

    def notify(self, kind: str, payload: dict[str, Any]) -> None:
        """Send the shipment notice of ``payload`` now to every account (without the outbox)."""
        if kind != "notify.shipment":
            return
        message = self.prepare("shipment", {**payload, "shipped_at": payload.get("shipped_at") or self.now()})
        if message is None:
            return
        for openid in self.customer_addresses(payload["customer_id"]):
            try:
                self.send(openid, message)
            except (TransientError, PermanentError) as exc:
                raise type(exc)(f"shipment notice for {payload.get('order_no')}: {exc}") from exc


def _parse_time(value: str) -> datetime | str:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return value


@hookimpl(trylast=True)
def register_notifiers(config: Config, engine: Engine) -> list[WeChatNotifier]:
    """The ``wechat`` channel, when a customer notice has a template (``[notify.wechat.*]
    template_id`` or ``wechat.shipment_template_id``); none otherwise. Live mode without an AppID
    or AppSecret is a ConfigError."""
    templates = config.notify.wechat
    if not (
        config.wechat.shipment_template_id
        or any(getattr(templates, e).template_id for e in type(templates).model_fields)
    ):
        return []
    try:
        client = WeChatClient(config.wechat)
    except ValueError as exc:
        raise ConfigError([str(exc)], config.source) from None
    return [WeChatNotifier(engine, client, templates=templates, timezone=config.bridge.timezone)]
