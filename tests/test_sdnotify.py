"""The service manager's notify protocol (O1), against a real AF_UNIX datagram socket as systemd
binds it: `run` says READY=1 once /readyz answers 200, pings WATCHDOG=1 every half of
$WATCHDOG_USEC, says STOPPING=1 at SIGTERM; `worker` the same through an abstract-namespace
socket; no pings while a sync loop is stuck."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from bridge.cli import app
from bridge.sdnotify import ServiceManager

runner = CliRunner()


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A folder made by `jht-bridge init`, the current directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JHT_CONFIG", raising=False)
    assert runner.invoke(app, ["init"], catch_exceptions=False).exit_code == 0
    return tmp_path / "var"


class NotifySocket:
    """The service manager's end: a bound AF_UNIX datagram socket, as systemd has."""

    def __init__(self, abstract: bool = False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = f"jht-test-{uuid.uuid4().hex}"
            self.sock.bind("\0" + name)
            self.env = "@" + name
        else:
            self.folder = tempfile.mkdtemp(prefix="sd")  # short: AF_UNIX paths have 108 bytes
            self.sock.bind(os.path.join(self.folder, "notify"))
            self.env = os.path.join(self.folder, "notify")
        self.messages: list[str] = []

    def wait_for(self, line: str, timeout: float = 30.0) -> list[str]:
        """Messages received until one holds ``line`` (that one last)."""
        got, end = [], time.monotonic() + timeout
        while time.monotonic() < end:
            self.sock.settimeout(max(0.01, end - time.monotonic()))
            try:
                message = self.sock.recv(4096).decode()
            except TimeoutError:
                break
            self.messages.append(message)
            got.append(message)
            if line in message.split("\n"):
                return got
        raise AssertionError(f"no {line} within {timeout} s; got {got}")

    def nothing_within(self, seconds: float) -> bool:
        self.sock.settimeout(seconds)
        try:
            self.messages.append(self.sock.recv(4096).decode())
        except TimeoutError:
            return True
        return False

    def close(self):
        self.sock.close()
        if hasattr(self, "folder"):
            shutil.rmtree(self.folder, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(site: Path, *args: str, env: dict) -> subprocess.Popen:
    full = {k: v for k, v in os.environ.items() if k not in ("WATCHDOG_PID", "NOTIFY_SOCKET", "WATCHDOG_USEC")}
    return subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "--config", str(site / "bridge.toml"), *args],
        env=full | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_o1_run_says_ready_once_readyz_answers_pings_the_watchdog_and_says_stopping(site):
    manager = NotifySocket()
    port = _free_port()
    log_file = site.parent / "logs" / "bridge.log"
    proc = _start(
        site,
        "run",
        "--port",
        str(port),
        env={"NOTIFY_SOCKET": manager.env, "WATCHDOG_USEC": "400000", "JHT_LOG__FILE": str(log_file)},
    )
    try:
        (ready,) = manager.wait_for("READY=1")  # nothing before it
        readyz = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert readyz.status_code == 200, readyz.text
        assert f"STATUS=API on http://127.0.0.1:{port}, sync loops running" in ready.split("\n")
        started = time.monotonic()
        for _ in range(3):  # every half of WATCHDOG_USEC
            manager.wait_for("WATCHDOG=1", timeout=5)
        assert time.monotonic() - started < 2.0
        proc.send_signal(signal.SIGTERM)
        manager.wait_for("STOPPING=1", timeout=10)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        manager.close()
    assert proc.returncode == 0, output
    assert "sync loops stopped" in output
    assert manager.messages.count("STOPPING=1\nSTATUS=stopping") == 1
    after = manager.messages[manager.messages.index("STOPPING=1\nSTATUS=stopping") :]
    assert not any("WATCHDOG=1" in m for m in after)
    # run wrote its log file too, JSON lines
    events = [json.loads(line)["event"] for line in log_file.read_text().splitlines()]
    assert "sync loops started" in events and "sync loops stopped" in events


def test_o1_worker_notifies_through_an_abstract_socket_and_stops_on_ctrl_c(site):
    """Ctrl+C (SIGINT) is how WinSW stops the bridge on Windows: the same graceful stop as SIGTERM."""
    manager = NotifySocket(abstract=True)
    proc = _start(site, "worker", env={"NOTIFY_SOCKET": manager.env, "WATCHDOG_USEC": "400000"})
    try:
        (ready,) = manager.wait_for("READY=1")
        assert "STATUS=sync loops running with connector filedrop" in ready.split("\n")
        manager.wait_for("WATCHDOG=1", timeout=5)
        proc.send_signal(signal.SIGINT)
        manager.wait_for("STOPPING=1", timeout=10)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        manager.close()
    assert proc.returncode == 0, output
    assert "sync loops stopped" in output


def test_o1_the_watchdog_is_not_pinged_while_a_sync_loop_is_stuck(site):
    """An inbox poll that hangs (an ERP call that never returns): no more WATCHDOG=1, so systemd
    restarts the bridge; once the poll returns, the pings resume."""
    from bridge.app import open_runtime
    from bridge.config import load_config
    from bridge.worker import wait_until

    rt = open_runtime(load_config(site / "bridge.toml", environ={}))
    release = threading.Event()
    real_pull = rt.connector.pull_events

    def hanging_pull(*args, **kw):
        release.wait(30)
        return real_pull(*args, **kw)

    rt.connector.pull_events = hanging_pull
    worker = rt.worker(dispatch=False)
    notify = NotifySocket()
    manager = ServiceManager({"NOTIFY_SOCKET": notify.env, "WATCHDOG_USEC": "200000"})
    worker.start()
    try:
        assert wait_until(lambda: worker.stuck(0.2) == ["inbox"], timeout=5)
        manager.watchdog(lambda: worker.stuck(manager.watchdog_s))
        assert notify.nothing_within(0.3)
        release.set()
        assert wait_until(lambda: worker.stuck(0.2) == [], timeout=5)
        manager.watchdog(lambda: worker.stuck(manager.watchdog_s))
        assert notify.wait_for("WATCHDOG=1", timeout=2) == ["WATCHDOG=1"]
    finally:
        release.set()
        worker.stop()
        worker.join(10)
        rt.close()
        notify.close()


def test_o1_without_a_service_manager_nothing_is_sent_and_a_foreign_watchdog_is_ignored():
    notify = NotifySocket()
    try:
        assert ServiceManager({}).notify("READY=1") is False
        other = ServiceManager({"NOTIFY_SOCKET": notify.env, "WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"})
        assert other.watchdog_s is None  # meant for another process
        other.watchdog()
        assert notify.nothing_within(0.1)
        assert ServiceManager({"NOTIFY_SOCKET": "vsock:2:1"}).address is None
    finally:
        notify.close()
