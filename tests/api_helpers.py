"""Set-up for API tests: the real app on the real database and file-drop connector, with
WeChat in dev mode (a login code is the openid, a phone code is the phone number)."""

from __future__ import annotations

import uuid

from litestar.testing import TestClient

from tests.sync_helpers import filedrop_runtime


def make_client(engine, tmp_path, **env):
    rt = filedrop_runtime(
        engine, tmp_path, JHT_WECHAT__MODE="dev", JHT_SECURITY__TOKEN_SECRET="test-secret-" + "x" * 32, **env
    )
    from bridge.app import build_api

    app = build_api(rt)
    return TestClient(app=app, raise_server_exceptions=False), rt


def login(client, code: str, invite: str | None = None) -> dict:
    body = {"code": code} | ({"invite": invite} if invite else {})
    answer = client.post("/api/mp/v1/auth/login", json=body)
    assert answer.status_code == 201, answer.text
    data = answer.json()
    data["headers"] = {"Authorization": f"Bearer {data['access_token']}"}
    return data


def key() -> dict:
    return {"Idempotency-Key": uuid.uuid4().hex}


class LiveServer:
    """The app served by uvicorn on a free 127.0.0.1 port in a thread: real HTTP, real
    concurrency (for races the in-process test client cannot show)."""

    def __init__(self, app):
        import socket
        import threading

        import uvicorn

        from bridge.app import server_config

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = server_config(app, app.state.runtime.config, "127.0.0.1", self.port, access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        import time

        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)
