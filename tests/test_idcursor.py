"""Polling by id while ids become visible out of order (bridge.idcursor)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.idcursor import IdCursor, select_new


def poll(cursor_text: str | None, visible: set[int], limit: int, now: float, *, wait: float = 300, max_gap: int = 100):
    """One poll as a connector does it: read the ids above read_from(), hand over the new ones."""
    cursor = IdCursor.parse(cursor_text)
    cursor.expire(now, wait)
    low = cursor.read_from()
    ids = sorted(i for i in visible if i > low)[: limit + (cursor.after - low)]
    taken = select_new(cursor, ids, limit, gap_wait_s=wait, max_gap=max_gap, clock=lambda: now)
    return [i for i, _ in taken], cursor.text(), taken


def test_a_late_commit_below_the_cursor_is_still_handed_over_once():
    got, cursor, _ = poll(None, {1, 2, 4}, 10, now=0)  # 3's transaction is still open
    assert got == [1, 2, 4] and IdCursor.parse(cursor).gaps == {3: 0}
    got, cursor, _ = poll(cursor, {1, 2, 4}, 10, now=1)
    assert got == []
    got, cursor, _ = poll(cursor, {1, 2, 3, 4, 5}, 10, now=2)
    assert got == [3, 5] and cursor == "5"  # no gap left: the plain id, as before gaps existed
    assert poll(cursor, {1, 2, 3, 4, 5}, 10, now=3)[0] == []


def test_a_rolled_back_id_is_given_up_after_the_wait():
    _, cursor, _ = poll(None, {1, 3}, 10, now=0)
    assert IdCursor.parse(cursor).gaps == {2: 0}
    _, cursor, _ = poll(cursor, {1, 3, 4}, 10, now=299)
    assert IdCursor.parse(cursor).gaps == {2: 0}
    got, cursor, _ = poll(cursor, {1, 3, 4, 5}, 10, now=301)
    assert got == [5] and cursor == "5"


def test_a_sequence_jump_is_not_taken_for_a_thousand_open_transactions():
    got, cursor, _ = poll(None, {1, 2, 1002}, 10, now=0)
    assert got == [1, 2, 1002] and cursor == "1002"


def test_each_event_carries_the_cursor_after_itself():
    _, _, taken = poll(None, {1, 3}, 10, now=0)
    assert [(i, IdCursor.parse(text).after, IdCursor.parse(text).gaps) for i, text in taken] == [
        (1, 1, {}),
        (3, 3, {2: 0}),
    ]


def test_the_limit_counts_new_events_only_even_behind_a_long_window():
    visible = set(range(1, 301)) - {5}
    got, cursor, _ = poll(None, visible, 100, now=0)
    assert got == list(range(1, 5)) + list(range(6, 102))
    got, cursor, _ = poll(cursor, visible, 100, now=1)  # re-reads from 4 up, still hands over 100 new ones
    assert got == list(range(102, 202))


def test_an_old_plain_cursor_still_reads():
    assert IdCursor.parse("42") == IdCursor(42, {})
    assert IdCursor.parse(None) == IdCursor(0, {})


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 60),
    seed=st.integers(0, 10_000),
    limit=st.integers(1, 10),
    lost=st.sets(st.integers(1, 60), max_size=5),
)
def test_every_committed_id_is_handed_over_exactly_once(n, seed, limit, lost):
    """Ids committed in a shuffled order (each within a few places of its turn), some never
    (rolled back), polled at random moments: each committed id is handed over once."""
    rng = random.Random(seed)
    order = sorted(range(1, n + 1), key=lambda i: i + rng.uniform(0, 6))
    committed = [i for i in order if i not in lost]
    visible: set[int] = set()
    cursor, handed, now = None, [], 0.0
    for event_id in committed:
        visible.add(event_id)
        now += 1
        if rng.random() < 0.5:
            got, cursor, _ = poll(cursor, visible, limit, now)
            handed += got
    for _ in range(n + 2):  # then poll until nothing is left
        now += 1
        got, cursor, _ = poll(cursor, visible, limit, now)
        handed += got
    assert sorted(handed) == sorted(committed)
    assert len(handed) == len(set(handed))
