"""A fake WeChat server: real HTTP on 127.0.0.1, scripted answers, every call counted.

Implements what ``bridge.wechat`` uses: ``/sns/jscode2session``, ``/cgi-bin/stable_token``,
``/wxa/business/getuserphonenumber`` and ``/cgi-bin/message/subscribe/send``, with WeChat's
habit of answering HTTP 200 with an ``errcode``. Use the ``fake_wechat`` fixture (tests/conftest.py
registers this module as a pytest plugin, so every test can ask for it)::

    def test_login(fake_wechat):
        fake_wechat.codes["code-1"] = ("openid-1", "union-1")
        client = WeChatClient(fake_wechat.settings())
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bridge.config import WechatSection

ENDPOINTS = {
    ("GET", "/sns/jscode2session"): "code2session",
    ("POST", "/cgi-bin/stable_token"): "stable_token",
    ("POST", "/wxa/business/getuserphonenumber"): "phone_number",
    ("POST", "/cgi-bin/message/subscribe/send"): "subscribe_send",
}


class FakeWeChat:
    """The server's state and switches; change them from a test at any time."""

    appid = "wx-fake-app"
    secret = "fake-app-secret-8c1f"

    def __init__(self) -> None:
        self.codes: dict[str, tuple[str, str | None]] = {}
        """Login code → (openid, unionid). A code works once, like WeChat's (40163 after)."""
        self.phone_codes: dict[str, str] = {}
        """getPhoneNumber code → phone number."""
        self.expires_in = 7200
        """Lifetime of the access tokens handed out."""
        self.busy = False
        """Every endpoint answers errcode -1 (系统繁忙)."""
        self.token_busy = False
        """Only the token endpoint answers errcode -1."""
        self.http_500 = False
        """Every endpoint answers HTTP 500."""
        self.delay_s = 0.0
        """Every answer waits this long first (slow WeChat; or to make concurrent calls overlap)."""
        self.refused: set[str] = set()
        """Openids without a subscription: subscribe messages to them answer 43101."""
        self.templates: set[str] | None = None
        """Template ids that exist (None: any); another answers 40037."""
        self.reject_tokens = False
        """Every access token is refused (40001), even a fresh one."""
        self.calls: Counter[str] = Counter()
        """Requests per endpoint name (code2session, stable_token, phone_number, subscribe_send)."""
        self.requests: list[dict[str, Any]] = []
        """Every request: endpoint, query (dict of str), body (parsed JSON or None)."""
        self.sent: list[dict[str, Any]] = []
        """Bodies of the subscribe messages accepted."""
        self.base_url = ""
        self._used_codes: set[str] = set()
        self._valid_tokens: set[str] = set()
        self._current_token: str | None = None
        self._issued = 0
        self._lock = threading.Lock()

    def settings(self, **overrides: Any) -> WechatSection:
        """``[wechat]`` settings pointing at this server (live mode, the fake's credentials)."""
        values: dict[str, Any] = dict(
            mode="live",
            appid=self.appid,
            app_secret=self.secret,
            base_url=self.base_url,
            timeout_s=2.0,
            shipment_template_id="tmpl-shipment",
        )
        values.update(overrides)
        return WechatSection(**values)

    def expire_token(self) -> None:
        """The current access token stops working: the next call with it answers 40001."""
        with self._lock:
            self._valid_tokens.discard(self._current_token or "")
            self._current_token = None

    def reset(self) -> None:
        """Forget every code, token, switch and call (the address stays)."""
        base_url = self.base_url
        self.__init__()  # type: ignore[misc]
        self.base_url = base_url

    # -- answers ------------------------------------------------------------------------------

    def answer(self, endpoint: str, query: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.calls[endpoint] += 1
            self.requests.append({"endpoint": endpoint, "query": query, "body": body})
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.http_500:
            return 500, {"error": "internal"}
        if self.busy or (self.token_busy and endpoint == "stable_token"):
            return 200, {"errcode": -1, "errmsg": "system error rid: fake"}
        with self._lock:
            return 200, getattr(self, f"_{endpoint}")(query, body or {})

    def _credentials_ok(self, appid: str | None, secret: str | None) -> dict[str, Any] | None:
        if appid != self.appid:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        if secret != self.secret:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        return None

    def _token_ok(self, query: dict[str, str]) -> dict[str, Any] | None:
        if self.reject_tokens or query.get("access_token") not in self._valid_tokens:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
        return None

    def _code2session(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        if bad := self._credentials_ok(query.get("appid"), query.get("secret")):
            return bad
        code = query.get("js_code", "")
        if query.get("grant_type") != "authorization_code":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        if code in self._used_codes:
            return {"errcode": 40163, "errmsg": "code been used"}
        if code not in self.codes:
            return {"errcode": 40029, "errmsg": "invalid code"}
        self._used_codes.add(code)
        openid, unionid = self.codes[code]
        answer = {"openid": openid, "session_key": f"sk-{code}"}
        if unionid:
            answer["unionid"] = unionid
        return answer

    def _stable_token(self, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        if body.get("grant_type") != "client_credential":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        if bad := self._credentials_ok(body.get("appid"), body.get("secret")):
            return bad
        if self._current_token is None or body.get("force_refresh"):
            self._issued += 1
            self._current_token = f"token-{self._issued}"
            self._valid_tokens.add(self._current_token)
        return {"access_token": self._current_token, "expires_in": self.expires_in}

    def _phone_number(self, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        if bad := self._token_ok(query):
            return bad
        number = self.phone_codes.get(body.get("code", ""))
        if number is None:
            return {"errcode": 40029, "errmsg": "invalid code"}
        return {
            "errcode": 0,
            "errmsg": "ok",
            "phone_info": {
                "phoneNumber": number,
                "purePhoneNumber": number,
                "countryCode": "86",
                "watermark": {"timestamp": int(time.time()), "appid": self.appid},
            },
        }

    def _subscribe_send(self, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        if bad := self._token_ok(query):
            return bad
        if not body.get("touser") or not body.get("template_id") or not isinstance(body.get("data"), dict):
            return {"errcode": 47003, "errmsg": "argument invalid!"}
        if self.templates is not None and body["template_id"] not in self.templates:
            return {"errcode": 40037, "errmsg": "invalid template_id"}
        if body["touser"] in self.refused:
            return {"errcode": 43101, "errmsg": "user refuse to accept the msg"}
        self.sent.append(body)
        return {"errcode": 0, "errmsg": "ok", "msgid": len(self.sent)}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        endpoint = ENDPOINTS.get((method, url.path))
        if endpoint is None:
            self._reply(404, {"errcode": 404, "errmsg": "not found"})
            return
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._reply(200, {"errcode": 47001, "errmsg": "data format error"})
            return
        status, answer = self.server.fake.answer(endpoint, query, body)
        self._reply(status, answer)

    def _reply(self, status: int, answer: dict[str, Any]) -> None:
        data = json.dumps(answer).encode()
        try:
            self.send_response(status)
            # WeChat labels its JSON text/plain; the client must not rely on the type.
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeWeChat


def start(fake: FakeWeChat | None = None) -> tuple[FakeWeChat, _Server]:
    """Start a fake server on a free port; stop it with ``server.shutdown(); server.server_close()``."""
    fake = fake or FakeWeChat()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = fake
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, args=(0.05,), name="fake-wechat", daemon=True).start()
    return fake, server


@pytest.fixture
def fake_wechat():
    fake, server = start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
