"""Threads asking for the same answer at once wait for one read of it.

Why: an engine asks about a file from several threads as it lands (the analysis, the mix's decode,
a render's check) and each read is an ffmpeg of its own — two 70 MB ffmpegs reading the first frame
of one camera file at once were a run's memory peak. The first asker reads; the others wait on its
key's lock and then find the answer the first one remembered (the caller keeps it: an ``lru_cache``
or a dict). The lock of a key nobody holds is forgotten, so the table holds only reads in progress.
"""
from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager


class OneRead:
    """Per key, one thread at a time inside :meth:`of`."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, threading.Lock] = {}  # a key being read → the lock its askers wait on
        self._guard = threading.Lock()

    @contextmanager
    def of(self, key: Hashable) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        try:
            with lock:
                yield
        finally:
            with self._guard:
                if self._locks.get(key) is lock and not lock.locked():  # the answer is remembered now
                    del self._locks[key]
