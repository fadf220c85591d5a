"""News of render records, for polls that wait for it instead of answering "still running" at once.

The protocol's poll is a plain GET a client repeats at an interval; the embedded engine's
client polls every 0.25 s. A render that finishes just after a poll was answered then sat
there for up to an interval before its download started — a tenth of the fast path. A poll
of a running render now waits (``engine.api.renders``, at most ``HOLD_S``) until this engine
changes the record, and is answered then: the answer has the same shape, only sooner news.
A change made by another engine sharing the database is not seen here; such a poll is
answered when its wait runs out, with the record as it is then.
"""
from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict

#: The longest a poll of a running render waits for news (well inside any client's read timeout).
HOLD_S = 1.0
#: Renders whose last change is remembered (a poll of an older one waits out its hold: no harm).
REMEMBERED = 4096


class RenderChanges:
    """A clock that ticks at every saved change of a render record, and polls waiting for the next tick."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tick = 0
        self._last: OrderedDict[str, int] = OrderedDict()   # render id → tick of its last change
        self._waiters: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]]] = {}

    def now(self) -> int:
        """The clock, read *before* reading a record: a change after the read is then news to ``wait``."""
        with self._lock:
            return self._tick

    def changed(self, render_id: str) -> None:
        """Record ``render_id`` was saved (any thread): wake the polls waiting on it."""
        with self._lock:
            self._tick += 1
            self._last[render_id] = self._tick
            self._last.move_to_end(render_id)
            while len(self._last) > REMEMBERED:
                self._last.popitem(last=False)
            waiters = self._waiters.pop(render_id, [])
        for loop, future in waiters:
            try:
                loop.call_soon_threadsafe(_wake, future)
            except RuntimeError:  # that poll's event loop is closed: nobody is waiting there any more
                pass

    async def wait(self, render_id: str, since: int, timeout: float) -> bool:
        """Wait until ``render_id`` changes after tick ``since`` (True) or ``timeout`` s pass (False)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        entry = (loop, future)
        with self._lock:
            if self._last.get(render_id, 0) > since:
                return True
            self._waiters.setdefault(render_id, []).append(entry)
        try:
            await asyncio.wait_for(future, timeout)
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            with self._lock:
                waiting = self._waiters.get(render_id)
                if waiting is not None and entry in waiting:
                    waiting.remove(entry)
                    if not waiting:
                        del self._waiters[render_id]


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
