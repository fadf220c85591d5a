"""The music engine's second core (engine.music.stream): the same results as one thread, and
no work left running on the helper once the caller has given up.

Why the last: mastering's halves write in place into a file-backed buffer; a helper still
writing after the caller raised would change a buffer the caller no longer owns.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from engine.music import stream
from engine.music.constants import CHUNK

DEADLINE_S = 10.0


@pytest.mark.parametrize("n", [1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 1])
def test_halves_is_the_serial_walk_in_order(n: int) -> None:
    """Every chunk exactly once, in order, whatever the count (one chunk, an odd count, a short last one)."""
    def work(a: int, b: int) -> tuple[int, int]:
        return a, b

    assert stream.halves(work, n) == [work(a, b) for a, b in stream.chunks(n)]


@pytest.fixture
def busy_helper() -> Iterator[threading.Event]:
    """The helper thread held busy until the test sets the event (it is then drained)."""
    free = threading.Event()
    started = threading.Event()

    def hold() -> None:
        started.set()
        free.wait(DEADLINE_S)

    stream._helper_pool().submit(hold)
    assert started.wait(DEADLINE_S)
    yield free
    free.set()
    stream._helper_pool().submit(lambda: None).result(DEADLINE_S)


def _drain() -> None:
    """Wait until everything queued on the (one-thread) helper before now has run."""
    stream._helper_pool().submit(lambda: None).result(DEADLINE_S)


def test_a_pair_whose_own_half_fails_leaves_no_queued_half_behind(busy_helper: threading.Event) -> None:
    """The helper was busy: its half is cancelled, it never runs later."""
    ran: list[str] = []

    def first() -> None:
        raise ValueError("first half failed")

    with pytest.raises(ValueError, match="first half failed"):
        stream.pair(first, lambda: ran.append("second"))
    busy_helper.set()
    _drain()
    assert ran == []


def test_a_pair_whose_own_half_fails_returns_only_once_the_started_half_is_done() -> None:
    """The helper had started its half: the caller waits for it before raising."""
    running, go = threading.Event(), threading.Event()
    ran: list[str] = []

    def first() -> None:
        assert running.wait(DEADLINE_S)
        go.set()
        raise ValueError("first half failed")

    def second() -> None:
        running.set()
        go.wait(DEADLINE_S)
        ran.append("second")

    with pytest.raises(ValueError):
        stream.pair(first, second)
    assert ran == ["second"]


def test_an_ahead_closed_early_leaves_no_note_being_made(busy_helper: threading.Event) -> None:
    """A stem's loop that stops early (an error between notes) leaves no note queued on the helper."""
    made: list[int] = []

    def make(i: int) -> int:
        made.append(i)
        return i

    notes = stream.ahead(make, [0, 1, 2], lambda i: True)
    assert next(notes) == 0                 # note 1 is now queued on the (busy) helper
    notes.close()
    busy_helper.set()
    _drain()
    assert made == [0]
