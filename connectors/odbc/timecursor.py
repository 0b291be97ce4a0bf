"""Polling an ERP's own rows by their modification time (``event_cursor = "modified_time"``).

Many ERPs have no events table: a sales order header carries a status code and a
``modifieddate`` column set at every change. The connector reads those rows as events, the way
Singer SDK's SQL streams replicate by a timestamp column, with one more step for late commits:

- each poll asks for the rows modified at or after ``newest − look_back`` (inclusive), where
  ``newest`` is the newest modification time read so far. A row is written with its time before
  its transaction commits, so a row committed late carries an *older* time than rows read
  meanwhile; as long as its transaction took less than ``look_back``, its time is inside the
  window of the next poll and it is read then. Everything older than ``newest − look_back`` is
  settled: nothing can appear there any more;
- a row is one event per (kind, row key, modification time, status): ``change_id``. Reading the
  window again gives the same ids, so a row is handed over once per change. The bridge's inbox
  dedupes by event id for good; the connector also remembers what it handed over in the window
  (``Window``), so a poll that finds nothing new hands over nothing;
- the cursor stored with each event is ``newest`` plus a count of events handed over, so it is
  different after every event: when the bridge comes back with a cursor that is not the last one
  the connector gave (a crash, an error in the middle of a batch), the memory is not trusted and
  the window is handed over again (the inbox recognises what it already applied).

The cursor is text: a small JSON object ``{"newest": "2026-12-03T15:40:00", "n": 17}``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

FROM_THE_START = datetime(1900, 1, 1)
"""What ``since`` is bound to before anything was read (every SQL Server DATETIME is later)."""

MAX_ID = 128
"""The inbox keeps event ids up to this many characters."""


def as_time(value: Any) -> datetime:
    """A modification time as the driver returns it (a datetime, a date, ISO text); ValueError
    when it is none of these."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str) and value.strip():
        return datetime.fromisoformat(value.strip())
    raise ValueError(f"modified_at {value!r} is not a time")


def change_id(kind: str, row_key: Any, modified_at: datetime, status: Any) -> str:
    """The event id of one change of one row: (kind, row key, modification time, status)."""
    text = f"{kind}:{row_key}@{modified_at.isoformat()}"
    if status is not None and status != "":
        text += f"#{status}"
    if len(text) > MAX_ID:
        text = text[: MAX_ID - 17] + "~" + hashlib.sha256(text.encode()).hexdigest()[:16]
    return text


@dataclass
class TimeCursor:
    newest: datetime | None = None
    """The newest modification time read."""
    count: int = 0
    """Events handed over so far: makes the cursor after each event a different text."""

    @classmethod
    def parse(cls, text: str | None) -> TimeCursor:
        """A cursor from its text; ValueError (or KeyError, TypeError) when it is not one."""
        if not text:
            return cls()
        data = json.loads(text)
        newest = data["newest"]
        return cls(None if newest is None else datetime.fromisoformat(newest), int(data.get("n", 0)))

    def text(self) -> str:
        newest = None if self.newest is None else self.newest.isoformat()
        return json.dumps({"newest": newest, "n": self.count}, separators=(",", ":"))

    def since(self, look_back: timedelta) -> datetime:
        """Where the next poll reads from (inclusive)."""
        return FROM_THE_START if self.newest is None else self.newest - look_back

    def advance(self, modified_at: datetime) -> str:
        """Note one event handed over; the cursor text after it."""
        if self.newest is None or modified_at > self.newest:
            self.newest = modified_at
        self.count += 1
        return self.text()


@dataclass
class Window:
    """What the connector handed over among the rows not yet settled, valid for one cursor."""

    cursor: str | None = None
    """The cursor text the connector gave last; the memory holds only when it comes back."""
    seen: dict[str, datetime] = field(default_factory=dict)

    def for_cursor(self, cursor: str | None) -> dict[str, datetime]:
        """The ids handed over, if ``cursor`` is the one given last, else none (hand over again)."""
        if cursor != self.cursor:
            self.seen = {}
        return self.seen

    def keep(self, cursor: TimeCursor, look_back: timedelta) -> None:
        """Remember the window after a poll: drop what is settled, note the cursor given."""
        settled = cursor.since(look_back)
        self.seen = {k: t for k, t in self.seen.items() if t >= settled}
        self.cursor = cursor.text()
