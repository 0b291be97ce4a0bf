"""Named-statement files (aiosql style): each statement starts with a ``-- name: <name>``
comment and runs up to the next one. Other ``--`` comment lines are dropped; the text is kept
as written otherwise (a T-SQL MERGE needs its ``;``). Parameters are ``?`` placeholders; a
statement may hold ``{skus}``-style markers that the connector replaces with a list of ``?``
(never with values). ``docs/sql-connector.md`` describes every statement for integrators."""

from __future__ import annotations

import re
from pathlib import Path

NAME_RE = re.compile(r"^\s*--\s*name:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")

REQUIRED = (
    "insert_order",
    "insert_order_line",
    "select_erp_order_no",
    "upsert_customer",
    "insert_command",
    "select_events",
    "select_event_lines",
    "select_stock",
    "check_tables",
)
"""Every statement the connector runs; ``jht-bridge check`` fails while one is missing."""

OPTIONAL = ("on_connect",)
"""Run once per new connection where the file has it (psqlODBC's query timeout)."""


class StatementFileError(ValueError):
    """The file cannot be read or a name is defined twice."""


def parse_statements(text: str, source: str = "<text>") -> dict[str, str]:
    """{name: sql} from the text of a named-statement file."""
    statements: dict[str, list[str]] = {}
    current: list[str] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        match = NAME_RE.match(line)
        if match:
            name = match.group(1)
            if name in statements:
                raise StatementFileError(f"{source}:{number}: statement {name!r} defined twice")
            current = statements[name] = []
            continue
        if current is None or line.strip().startswith("--"):
            continue
        current.append(line.rstrip())
    return {name: "\n".join(lines).strip() for name, lines in statements.items()}


def load_statements(path: str | Path) -> dict[str, str]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StatementFileError(f"{path}: {exc.strerror or exc}") from None
    return parse_statements(text, str(path))


def split_queries(sql: str) -> list[str]:
    """The queries of a multi-query statement (``check_tables``), split on ``;``."""
    return [part.strip() for part in sql.split(";") if part.strip()]


def placeholders(count: int) -> str:
    """``?, ?, ?`` for an IN list of ``count`` bound values."""
    if count < 1:
        raise ValueError("an IN list needs at least one value")
    return ", ".join("?" * count)
