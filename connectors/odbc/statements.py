"""Named-statement files (aiosql style): each statement starts with a ``-- name: <name>``
comment and runs up to the next one. Other ``--`` comment lines are dropped; the text is kept
as written otherwise (a T-SQL MERGE needs its ``;``). Parameters are ``?`` placeholders, bound
in the order of ``PARAMETERS``; a statement may hold ``{skus}``-style markers (``LIST_MARKERS``)
that the connector replaces with a list of ``?`` (never with values), bound in the order the
markers appear. ``docs/sql-connector.md`` describes every statement for integrators."""

from __future__ import annotations

import re
from pathlib import Path

NAME_RE = re.compile(r"^\s*--\s*name:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")

WRITING = ("insert_order", "insert_order_line", "upsert_customer", "insert_command")
"""The statements that write; ``jht-bridge check`` runs each in a transaction it rolls back."""

EVENT_STATEMENTS = {
    "id": ("select_events", "select_event_lines"),
    "modified_time": ("select_changes", "select_change_lines"),
}
"""How events are read, by ``event_cursor`` setting: from an events table by growing id, or
from the ERP's own rows by their modification time (``connectors.odbc.timecursor``)."""

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
"""Every statement the connector runs in the default ``event_cursor = "id"``;
``jht-bridge check`` fails while one is missing (``required``)."""

OPTIONAL = ("on_connect", "merge_customer")
"""``on_connect``: run once per new connection where the file has it (psqlODBC's query
timeout). ``merge_customer``: a customer merge; without it a merge is a dead letter unless the
settings' ``skip`` lists ``customer.merge``."""

PARAMETERS: dict[str, tuple[str, ...]] = {
    "insert_order": (
        "order_no",
        "customer_id",
        "customer_erp_code",
        "customer_name",
        "customer_type",
        "released",
        "placed_at",
        "ship_recipient",
        "ship_phone",
        "ship_province",
        "ship_city",
        "ship_district",
        "ship_detail",
        "remark",
        "total_amount",
    ),
    "insert_order_line": (
        "order_no",
        "line_no",
        "sku",
        "erp_item_code",
        "name",
        "spec",
        "marking",
        "quantity",
        "unit",
        "unit_price",
        "amount",
    ),
    "select_erp_order_no": ("order_no",),
    "upsert_customer": ("customer_id", "name", "type", "phone", "contact", "erp_code", "updated_at"),
    "insert_command": ("order_no", "command", "at"),
    "merge_customer": ("survivor_id", "survivor_erp_code", "absorbed_id", "absorbed_erp_code", "at"),
    "select_events": ("after_event_id", "limit"),
    "select_event_lines": ("first_event_id", "last_event_id"),
    "select_changes": ("since", "limit"),
    "on_connect": ("timeout_ms",),
}
"""The ``?`` parameters of each statement, in the order they are bound (the names are the
documentation's and the error messages'). ``select_stock`` and ``select_change_lines`` take
list markers instead."""

EVENT_FIELDS = (
    "order_no",
    "status",
    "erp_ref",
    "note",
    "shipment_id",
    "courier",
    "tracking_no",
    "shipped_at",
    "order_status",
    "customer_id",
    "erp_code",
)
"""The columns of ``select_events`` / ``select_changes`` the connector reads by name, besides
``event_id`` and ``kind`` (which of them each kind of event uses: docs/sql-connector.md §4.4)."""

CHANGE_FIELDS = ("row_key", "modified_at")
"""``select_changes``: the row's key and its modification time (``connectors.odbc.timecursor``)."""

LIST_MARKERS = ("{skus}", "{erp_item_codes}", "{row_keys}")
"""Markers a statement may hold, each replaced by one ``?`` per value."""

MARKER_RE = re.compile("|".join(re.escape(m) for m in LIST_MARKERS))


def required(event_cursor: str = "id") -> tuple[str, ...]:
    """The statements the connector needs with this ``event_cursor`` setting."""
    replace = dict(zip(EVENT_STATEMENTS["id"], EVENT_STATEMENTS[event_cursor]))
    return tuple(replace.get(name, name) for name in REQUIRED)


def expand_lists(sql: str, values: dict[str, list]) -> tuple[str, list]:
    """``sql`` with each list marker replaced by its ``?`` list, and the values to bind, in the
    order the markers appear. An empty list binds one NULL (``IN (NULL)`` matches nothing)."""
    bound: list = []

    def replace(match: re.Match) -> str:
        items = list(values.get(match.group(0)[1:-1], ()))
        bound.extend(items or [None])
        return placeholders(max(1, len(items)))

    return MARKER_RE.sub(replace, sql), bound


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
