"""O3: `jht-bridge check` says whether WeChat login can work: in live mode it reaches WeChat's API
at wechat.base_url (here the local fake WeChat server) and has the AppID and AppSecret accepted by
fetching an access token, sending nothing; dev mode is named as such."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from bridge.cli import app

runner = CliRunner()


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JHT_CONFIG", raising=False)
    assert runner.invoke(app, ["init", "site"]).exit_code == 0
    return tmp_path / "site" / "bridge.toml"


def check(config, **env) -> tuple[int, str]:
    result = runner.invoke(app, ["-c", str(config), "check"], env=env, catch_exceptions=False)
    (line,) = [line for line in result.output.splitlines() if "] wechat:" in line]
    return result.exit_code, line


def live(fake_wechat, **overrides) -> dict[str, str]:
    return {
        "JHT_WECHAT__MODE": "live",
        "JHT_WECHAT__APPID": fake_wechat.appid,
        "JHT_WECHAT__APP_SECRET": fake_wechat.secret,
        "JHT_WECHAT__BASE_URL": fake_wechat.base_url,
        **overrides,
    }


def test_o3_check_reaches_wechat_in_live_mode_and_sends_nothing(site, fake_wechat):
    code, line = check(site, **live(fake_wechat))
    assert code == 0, line
    assert line == (
        f"[ok  ] wechat: live: {fake_wechat.base_url} reached, AppID {fake_wechat.appid} accepted (access token fetched)"
    )
    assert fake_wechat.calls["stable_token"] == 1
    assert sum(fake_wechat.calls.values()) == 1  # no login, no message


def test_o3_check_fails_naming_wechats_refusal_of_a_wrong_secret(site, fake_wechat):
    code, line = check(site, **live(fake_wechat, JHT_WECHAT__APP_SECRET="not-the-secret"))
    assert code == 1
    assert line.startswith(f"[FAIL] wechat: {fake_wechat.base_url} refused AppID {fake_wechat.appid}")
    assert "errcode 40125" in line and "check wechat.appid and the AppSecret" in line
    assert "not-the-secret" not in line


def test_o3_check_fails_when_wechat_cannot_be_reached_or_is_busy(site, fake_wechat):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    code, line = check(site, **live(fake_wechat, JHT_WECHAT__BASE_URL=closed))
    assert code == 1 and line.startswith(f"[FAIL] wechat: {closed} cannot be reached or is busy: "), line
    fake_wechat.busy = True
    code, line = check(site, **live(fake_wechat))
    assert code == 1 and "cannot be reached or is busy" in line and "errcode -1" in line, line


def test_o3_check_names_what_live_mode_lacks_and_says_dev_mode_is_for_local_use(site, fake_wechat):
    code, line = check(site, JHT_WECHAT__MODE="live")
    assert code == 1 and "wechat.appid and JHT_WECHAT__APP_SECRET are needed in live mode" in line
    code, line = check(site)  # init's config: dev mode
    assert code == 0 and line.startswith("[ok  ] wechat: dev mode: any login code is accepted")
    assert "JHT_WECHAT__MODE=live" in line
    assert sum(fake_wechat.calls.values()) == 0
