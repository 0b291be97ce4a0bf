"""A fake WeCom (企业微信) server: real HTTP on 127.0.0.1, WeCom's answers, every call kept.

Implements the group robot webhook (``POST /cgi-bin/webhook/send?key=…``) and a self-built app's
``GET /cgi-bin/gettoken`` and ``POST /cgi-bin/message/send`` (users in ``users``; an unknown one
comes back in ``invaliduser``; tokens expire on ``expire_tokens()`` with 42001). The robot as WeCom
documents it:
``msgtype`` text (``content`` ≤ 2048 bytes, ``mentioned_mobile_list``) or markdown (≤ 4096
bytes); an unknown key answers 93000; more than ``per_minute`` messages in a sliding minute per
key answer 130101 ("send too fast"), as the robot does past 20 a minute. The fixture
``fake_wecom`` (registered in tests/conftest.py) starts one per test::

    def test_robot(fake_wecom):
        url = fake_wecom.webhook_url()          # a valid key
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

LIMITS = {"text": 2048, "markdown": 4096}


class FakeWeCom:
    def __init__(self) -> None:
        self.keys: set[str] = {"robot-key-1"}
        """Webhook keys that exist; another answers 93000."""
        self.per_minute = 20
        self.clock = time.monotonic
        self.busy = False
        """Every call answers errcode -1 (系统繁忙)."""
        self.received: list[dict[str, Any]] = []
        """Every accepted robot message: key, msgtype, content, mentions."""
        self.refused: list[dict[str, Any]] = []
        """Every refused call: key, errcode."""
        self.corp_id, self.secret, self.agent_id = "ww-fake-corp", "fake-app-secret", 1000002
        self.users: set[str] = {"zhangwei"}
        self.app_messages: list[dict[str, Any]] = []
        """Every app message accepted: touser, content, and whether WeCom's duplicate check dropped it."""
        self.token_calls = 0
        self._tokens: set[str] = set()
        self.base_url = ""
        self._sent_at: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def webhook_url(self, key: str = "robot-key-1") -> str:
        return f"{self.base_url}/cgi-bin/webhook/send?key={key}"

    def expire_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def answer(self, path: str, query: dict[str, str], body: Any) -> dict[str, Any]:
        if path == "/cgi-bin/gettoken":
            return self._gettoken(query)
        if path == "/cgi-bin/message/send":
            return self._app_send(query, body)
        if path != "/cgi-bin/webhook/send":
            return {"errcode": 404, "errmsg": "not found"}
        key = query.get("key", "")
        with self._lock:
            if self.busy:
                return self._refuse(key, -1, "system busy")
            if key not in self.keys:
                return self._refuse(key, 93000, "invalid webhook url")
            if not isinstance(body, dict) or body.get("msgtype") not in LIMITS:
                return self._refuse(key, 40008, "invalid message type")
            msgtype = body["msgtype"]
            part = body.get(msgtype) or {}
            content = part.get("content")
            if not isinstance(content, str) or not content:
                return self._refuse(key, 44004, "empty content")
            if len(content.encode()) > LIMITS[msgtype]:
                return self._refuse(key, 40058, "content exceed max length")
            now = self.clock()
            window = self._sent_at.setdefault(key, deque())
            while window and now - window[0] >= 60:
                window.popleft()
            if len(window) >= self.per_minute:
                return self._refuse(key, 130101, "send too fast")
            window.append(now)
            self.received.append(
                {
                    "key": key,
                    "msgtype": msgtype,
                    "content": content,
                    "mentions": part.get("mentioned_mobile_list") or [],
                }
            )
            return {"errcode": 0, "errmsg": "ok"}

    def _gettoken(self, query: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            self.token_calls += 1
            if self.busy:
                return {"errcode": -1, "errmsg": "system busy"}
            if query.get("corpid") != self.corp_id:
                return {"errcode": 40013, "errmsg": "invalid corpid"}
            if query.get("corpsecret") != self.secret:
                return {"errcode": 40001, "errmsg": "invalid credential"}
            token = f"wecom-token-{self.token_calls}"
            self._tokens.add(token)
            return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}

    def _app_send(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        with self._lock:
            if self.busy:
                return {"errcode": -1, "errmsg": "system busy"}
            if query.get("access_token") not in self._tokens:
                return {"errcode": 42001, "errmsg": "access_token expired"}
            if not isinstance(body, dict) or body.get("agentid") != self.agent_id:
                return {"errcode": 40056, "errmsg": "invalid agentid"}
            content = (body.get("text") or {}).get("content")
            if body.get("msgtype") != "text" or not content:
                return {"errcode": 44004, "errmsg": "empty content"}
            touser = body.get("touser", "")
            if touser not in self.users:
                return {"errcode": 0, "errmsg": "ok", "invaliduser": touser}
            duplicate = bool(body.get("enable_duplicate_check")) and any(
                m["touser"] == touser and m["content"] == content for m in self.app_messages
            )
            self.app_messages.append({"touser": touser, "content": content, "duplicate": duplicate})
            return {"errcode": 0, "errmsg": "ok", "msgid": f"msg-{len(self.app_messages)}"}

    def _refuse(self, key: str, code: int, words: str) -> dict[str, Any]:
        self.refused.append({"key": key, "errcode": code})
        return {"errcode": code, "errmsg": words}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.do_POST()

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        data = json.dumps(self.server.fake.answer(url.path, query, body)).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeWeCom


def start(fake: FakeWeCom | None = None) -> tuple[FakeWeCom, _Server]:
    fake = fake or FakeWeCom()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = fake
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, args=(0.05,), name="fake-wecom", daemon=True).start()
    return fake, server


@pytest.fixture
def fake_wecom():
    fake, server = start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
