"""Walking the timeline in C.CHUNK steps: how full-length passes keep their scratch small.

Why: a 60 s stereo track is 23 MB of float32, and every full-length temporary costs as
much again. The memory budget of a piece (about three copies of its audio: the mix and
two stems in flight) leaves room for chunk-sized scratch only, so mastering, meters,
the sidechain pump and long notes all walk the timeline with :func:`chunks`.
"""
from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Iterator, TypeVar

import numpy as np

from media.paged import release

from .constants import CHUNK


def release_planar(buf: np.ndarray, a: int, b: int) -> None:
    """Drop samples [a, b) of every channel of a file-backed (C, n) buffer (no-op on other arrays)."""
    for row in buf:
        release(row, a, b)


def planar_chunks(buf: np.ndarray, n: int | None = None) -> Iterator[tuple[int, int]]:
    """:func:`chunks` over the first ``n`` samples of a channel-first buffer, released behind the pass."""
    for a, b in chunks(buf.shape[1] if n is None else n):
        yield a, b
        release_planar(buf, a, b)


def chunks(n: int, walked: np.ndarray | None = None) -> Iterator[tuple[int, int]]:
    """[a, b) steps of CHUNK samples over n samples (CHUNK is a multiple of every block size used).

    With ``walked`` (the buffer the pass walks), each step's rows are released once the
    step is done: a file-backed soundtrack then stays resident a chunk at a time (media.paged).
    """
    for a in range(0, n, CHUNK):
        b = min(a + CHUNK, n)
        yield a, b
        if walked is not None:
            release(walked, a, b)


A = TypeVar("A")
B = TypeVar("B")
_helper: ThreadPoolExecutor | None = None
_helper_lock = threading.Lock()


def _helper_pool() -> ThreadPoolExecutor:
    global _helper
    with _helper_lock:
        if _helper is None:
            _helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="music-helper")
        return _helper


def _claim(future: Future[B], work: Callable[[], B]) -> B:
    """The helper's result, or ``work()`` done here if the helper has not started it (it may be busy)."""
    return work() if future.cancel() else future.result()


def _abandon(future: Future[B]) -> None:
    """The helper's task cancelled, or waited for if it has started.

    Why: a caller that gives up (its own half raised) must not return while the helper
    still writes into its buffer (mastering's halves work in place on a file-backed one).
    """
    if not future.cancel():
        wait([future])


def pair(first: Callable[[], A], second: Callable[[], B]) -> tuple[A, B]:
    """``first()`` here while ``second()`` runs on a helper thread; both results.

    Why: mastering runs after the stems, on one core, while the other idles; its two
    channels' filters (scipy releases the GIL in them) are independent, so they run side
    by side. Each result is what it would be alone: the same bits, half the wall time.
    """
    future = _helper_pool().submit(second)
    try:
        done = first()
    except BaseException:
        _abandon(future)
        raise
    return done, _claim(future, second)


def halves(work: Callable[[int, int], A], n: int, walked: np.ndarray | None = None) -> list[A]:
    """``[work(a, b) for a, b in chunks(n, walked)]``: the first half of the chunks here, the second
    on the helper thread (``walked``: each chunk's rows released once its work is done, as in chunks).

    Why: mastering's passes after its filters (true-peak envelope, gain, clip) treat each
    chunk on its own and ran on one core after the stems, while the other idled. One
    hand-over per pass, not one per chunk: on a busy machine a hand-over costs more than
    a chunk's work saves. Each result is what it would be alone: the same bits.
    """
    steps = list(chunks(n))

    def run(part: list[tuple[int, int]]) -> list[A]:
        done = []
        for a, b in part:
            done.append(work(a, b))
            if walked is not None:
                release(walked, a, b)
        return done

    if len(steps) < 2:                      # nothing to share: a hand-over would cost more than it saves
        return run(steps)
    middle = (len(steps) + 1) // 2
    first, second = pair(functools.partial(run, steps[:middle]), functools.partial(run, steps[middle:]))
    return first + second


def ahead(make: Callable[[int], A], items: list[int], worth: Callable[[int], bool]) -> Iterator[A]:
    """``make(i)`` for each of ``items`` in order, the next one (if ``worth`` it) made on the
    helper thread while the caller uses the current one.

    Why: a stem with most of a piece's notes (an ambient pad) kept one core busy while the
    other had finished its stems. The results are those of ``make`` alone, in order.
    A caller that stops early (closes the iterator) leaves no note being made behind it.
    """
    future: Future[A] | None = None
    try:
        for j, i in enumerate(items):
            current = _claim(future, functools.partial(make, i)) if future is not None else make(i)
            future = None
            if j + 1 < len(items) and worth(items[j + 1]):
                future = _helper_pool().submit(make, items[j + 1])
            yield current
    finally:
        if future is not None:
            _abandon(future)
