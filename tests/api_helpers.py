"""Set-up for API tests: the real app on the real database and file-drop connector, with
WeChat in dev mode (a login code is the openid, a phone code is the phone number)."""

from __future__ import annotations

import uuid

from litestar.testing import TestClient

from tests.sync_helpers import filedrop_runtime


def make_client(engine, tmp_path, **env):
    rt = filedrop_runtime(engine, tmp_path, JHT_WECHAT__MODE="dev", JHT_SECURITY__TOKEN_SECRET="test-secret-" + "x" * 32, **env)
    from webapi.app import create_app

    app = create_app(rt)
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
