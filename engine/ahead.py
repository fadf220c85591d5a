"""Pieces composed ahead of the turn that will ask for them (``engine.chat.ahead`` says which).

One piece per session at most, started once the session's uploads are analysed, and only when
no other piece is being composed ahead: it is a guess, so it never queues up work for later nor
takes more than one composing slot. The turn whose music has the same cache key takes it instead
of composing (``take``), if its file is still there; any other turn composes as before. A session
that ends drops its piece: a queued one is cancelled, a running one is waited for (the caller
cancels its session's jobs first, or the stopping engine closes its executor, so it stops at its
next part), and its file
is removed unless a turn took it (``drop``). Pieces nobody took within ``KEEP_S`` are forgotten
(their file is a cache file like any other: housekeeping removes it). ``composed`` and ``taken``
count what happened, for the log and the tests.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from engine.export.job import JobCancelled

log = logging.getLogger(__name__)

Submit = Callable[..., "Future[dict[str, Any]]"]
KEEP_S = 15 * 60          # as long as housekeeping keeps a cache file nobody refers to
TRIED_MAX = 10_000        # sessions remembered as having had their guess (oldest forgotten first)


@dataclass
class _Piece:
    session_id: str
    path: Path
    future: Future[dict[str, Any]]
    started: float = field(default_factory=time.monotonic)


class ComposedAhead:
    def __init__(self, submit: Submit) -> None:
        self.submit = submit  # (fn, *args) → future: the engine's composing thread
        self.lock = threading.Lock()
        self.by_key: dict[str, _Piece] = {}
        self.tried: OrderedDict[str, None] = OrderedDict()  # sessions that had their one guess
        self.composed = 0
        self.taken = 0

    def wanted(self, session_id: str) -> bool:
        """Whether ``session_id`` may still have a piece composed ahead."""
        with self.lock:
            return session_id not in self.tried

    def start(self, session_id: str, key: str, path: Path, compose: Callable[..., dict[str, Any]], *args: Any) -> bool:
        """Compose ``key`` into ``path`` with ``compose(*args)``, once per session; False if not started
        (tried before, composed already, or another guess is still being composed)."""
        with self.lock:
            self._forget_old()
            busy = any(not piece.future.done() for piece in self.by_key.values())
            if session_id in self.tried or busy or key in self.by_key or path.exists():
                self._tried(session_id)
                return False
            self._tried(session_id)
            try:
                future = self.submit(compose, *args)
            except RuntimeError:  # the pool is shut down: the engine is stopping
                return False
            self.by_key[key] = _Piece(session_id, path, future)
            self.composed += 1
        log.info("composing ahead: piece %s for session %s", key, session_id)
        return True

    def give_up(self, session_id: str) -> None:
        """``session_id`` will have no piece composed ahead (its turn would compose nothing)."""
        with self.lock:
            self._tried(session_id)

    def take(self, key: str) -> dict[str, Any] | None:
        """The facts of piece ``key`` if it was composed ahead (waiting for it if it is being
        composed) and its file is still there; else None: the caller composes it."""
        with self.lock:
            piece = self.by_key.pop(key, None)
        if piece is None or piece.future.cancel():  # never started: composing it now is as soon
            return None
        try:
            facts = piece.future.result()
        except JobCancelled:  # the engine is stopping (or the session went): composing again would be for nobody
            raise
        except Exception as exc:  # noqa: BLE001 - composing again reports the failure, if it is real
            log.warning("the piece composed ahead failed (%s); composing it again", exc)
            return None
        if not piece.path.is_file():  # housekeeping removed it meanwhile
            return None
        with self.lock:
            self.taken += 1
        log.info("piece %s was composed ahead: the turn takes it", key)
        return facts

    def drop(self, session_id: str) -> None:
        """The session ended: stop its piece (or wait for it) and remove its file if no turn took it."""
        with self.lock:
            self.tried.pop(session_id, None)
            keys = [key for key, piece in self.by_key.items() if piece.session_id == session_id]
            pieces = [self.by_key.pop(key) for key in keys]
        for piece in pieces:
            if not piece.future.cancel():
                try:
                    piece.future.result()
                except Exception:  # noqa: BLE001 - nobody wants this piece any more
                    pass
            piece.path.unlink(missing_ok=True)

    def sessions(self) -> set[str]:
        """The sessions whose piece is still held here (composing, or composed and not taken)."""
        with self.lock:
            return {piece.session_id for piece in self.by_key.values()}

    def drop_all(self) -> None:
        for session_id in self.sessions():
            self.drop(session_id)

    def _tried(self, session_id: str) -> None:
        self.tried[session_id] = None
        self.tried.move_to_end(session_id)
        while len(self.tried) > TRIED_MAX:
            self.tried.popitem(last=False)

    def _forget_old(self) -> None:
        """Finished pieces nobody took within ``KEEP_S``: their file stays a plain cache file."""
        now = time.monotonic()
        for key in [k for k, p in self.by_key.items() if p.future.done() and now - p.started > KEEP_S]:
            del self.by_key[key]
