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
