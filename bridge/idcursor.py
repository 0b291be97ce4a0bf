"""Polling events by an increasing id without missing the ones committed late.

An ERP writes events into a table whose id comes from an IDENTITY / sequence. Ids are handed
out when a row is *inserted*, but the row becomes visible when its transaction *commits*: a
transaction holding id 41 can commit after another one holding id 42. A reader that saw 42 and
then asks only for "ids after 42" never sees 41. Ids are also lost for good (a rolled-back
insert, SQL Server's identity cache jumping by 1000 after a restart), so a missing id cannot be
waited for forever.

``IdCursor`` keeps, next to the highest id read, the ids skipped below it (the *gaps*) with the
time each was first noticed. Each poll reads again from just below the oldest gap; an event that
fills a gap is handed over (the bridge dedupes events by id, so reading again is harmless) and
the gap closes; a gap older than ``gap_wait_s`` is taken as an id that will never come. A jump of
more than ``max_gap`` ids at once is taken as a jump of the sequence, not as that many open
transactions.

The cursor is text, stored by the bridge with each applied event: the plain id (``"42"``) when
there is no gap — as before gaps were tracked — else a small JSON object.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class IdCursor:
    after: int = 0
    """The highest id read."""
    gaps: dict[int, float] = field(default_factory=dict)
    """Ids below ``after`` not read yet → when the gap was first seen (epoch seconds)."""

    @classmethod
    def parse(cls, text: str | None) -> IdCursor:
        """A cursor from its text; ValueError when it is not one."""
        if not text:
            return cls()
        text = text.strip()
        if text.startswith("{"):
            data = json.loads(text)
            return cls(int(data["after"]), {int(k): float(v) for k, v in data.get("gaps", {}).items()})
        return cls(int(text))

    def text(self) -> str:
        if not self.gaps:
            return str(self.after)
        return json.dumps(
            {"after": self.after, "gaps": {str(k): round(v, 3) for k, v in sorted(self.gaps.items())}},
            separators=(",", ":"),
        )

    def expire(self, now: float, gap_wait_s: float) -> None:
        self.gaps = {k: t for k, t in self.gaps.items() if now - t < gap_wait_s}

    def read_from(self) -> int:
        """Ask for ids above this: just below the oldest open gap, else ``after``."""
        return min(self.gaps) - 1 if self.gaps else self.after

    def take(self, event_id: int, now: float, max_gap: int) -> bool:
        """Note that ``event_id`` was read; True when it is new (to be handed over)."""
        if event_id <= self.after:
            return self.gaps.pop(event_id, None) is not None
        if 1 < event_id - self.after <= max_gap + 1:
            for missing in range(self.after + 1, event_id):
                self.gaps.setdefault(missing, now)
        self.after = event_id
        return True

    def copy(self) -> IdCursor:
        return IdCursor(self.after, dict(self.gaps))


def select_new(
    cursor: IdCursor,
    ids: list[int],
    limit: int,
    *,
    gap_wait_s: float,
    max_gap: int,
    clock: Callable[[], float] = time.time,
) -> list[tuple[int, str]]:
    """From the ids a poll read (ascending, from ``cursor.read_from()``), the ones to hand over,
    each with the cursor text *after* it, at most ``limit``. ``cursor`` is advanced."""
    now = clock()
    taken: list[tuple[int, str]] = []
    for event_id in ids:
        if len(taken) >= limit:
            break
        if cursor.take(event_id, now, max_gap):
            taken.append((event_id, cursor.text()))
    return taken
