"""Logging (O3): JSON lines for services, readable lines in a terminal, context on every line."""

from __future__ import annotations

import io
import json
import logging

import structlog

from bridge.logs import get_logger, setup_logging


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_o3_json_lines_when_not_a_terminal_with_bound_context():
    stream = io.StringIO()
    setup_logging("info", "auto", stream=stream)
    with structlog.contextvars.bound_contextvars(order_no="JHT-20261125-0001", outbox_id=7):
        get_logger("test").info("order delivered", attempt=2)
    logging.getLogger("some.library").warning("from the standard library")
    get_logger("test").debug("not shown at info")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["event"] == "order delivered"
    assert (lines[0]["order_no"], lines[0]["outbox_id"], lines[0]["attempt"]) == ("JHT-20261125-0001", 7, 2)
    assert lines[0]["level"] == "info" and lines[0]["timestamp"].endswith("Z")
    assert lines[1]["event"] == "from the standard library" and lines[1]["level"] == "warning"
    assert len(lines) == 2


def test_o3_readable_lines_in_a_terminal():
    stream = FakeTerminal()
    setup_logging("debug", "auto", stream=stream)
    get_logger("test").info("客户已合并", customer_id=3)
    text = stream.getvalue()
    assert "客户已合并" in text and "customer_id" in text
    assert not text.lstrip().startswith("{")


def test_o3_a_log_file_gets_json_lines_next_to_the_console_rotated_by_size(tmp_path):
    stream = FakeTerminal()
    file = tmp_path / "logs" / "bridge.log"  # its folder is made
    setup_logging("info", "auto", stream=stream, file=file, file_max_bytes=2_000, file_backups=2)
    for n in range(100):
        get_logger("test").info("order delivered", order_no=f"JHT-20261125-{n:04d}")
    assert sorted(p.name for p in file.parent.iterdir()) == ["bridge.log", "bridge.log.1", "bridge.log.2"]
    for path in file.parent.iterdir():
        assert path.stat().st_size <= 2_000
        assert all(json.loads(line)["event"] == "order delivered" for line in path.read_text().splitlines())
    newest = [json.loads(line) for line in file.read_text().splitlines()]
    assert newest[-1]["order_no"] == "JHT-20261125-0099" and newest[-1]["timestamp"].endswith("Z")
    assert "JHT-20261125-0099" in stream.getvalue() and not stream.getvalue().lstrip().startswith("{")

    setup_logging("info", "auto", stream=stream)  # again without a file: it is let go of
    get_logger("test").info("after")
    assert "after" not in file.read_text()


def test_o3_only_the_long_running_commands_write_the_log_file(tmp_path, monkeypatch):
    """One-off commands (an admin's `check`, `outbox list`) never write log.file: two processes
    rotating one file lose lines, and root's command would leave files the service cannot rotate.
    (`run` writing it: tests/test_sdnotify.py.)"""
    from typer.testing import CliRunner

    from bridge.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JHT_CONFIG", raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    log_file = tmp_path / "logs" / "bridge.log"
    result = runner.invoke(app, ["check"], env={"JHT_LOG__FILE": str(log_file)})
    assert result.exit_code == 0, result.output
    assert not log_file.exists()
