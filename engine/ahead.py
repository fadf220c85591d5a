"""Pieces composed ahead of the turn that will ask for them (``engine.chat.ahead`` says which).

One piece per session at most, started once the session's uploads are analysed; the turn
whose music has the same cache key takes it instead of composing (``take``), any other turn
composes as before. A session that ends drops its piece: a queued one is cancelled, a running
one is waited for, and its file is removed unless a turn took it (``drop``). ``composed`` and
``taken`` count what happened, for the log and the tests.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger(__name__)

Submit = Callable[..., "Future[dict[str, Any]]"]


class ComposedAhead:
    def __init__(self, submit: Submit) -> None:
        self.submit = submit  # (fn, *args) → future: the engine's composing thread or worker process
        self.lock = threading.Lock()
        self.by_key: dict[str, Future[dict[str, Any]]] = {}
        self.by_session: dict[str, tuple[str, Path]] = {}  # session → (key, file) of its piece
        self.tried: set[str] = set()  # sessions that had their one piece (or were found not to need one)
        self.composed = 0
        self.taken = 0

    def start(self, session_id: str, key: str, path: Path, compose: Callable[..., dict[str, Any]], *args: Any) -> bool:
        """Compose ``key`` into ``path`` with ``compose(*args)``, once per session; False if not started."""
        with self.lock:
            if session_id in self.tried or key in self.by_key or path.exists():
                self.tried.add(session_id)
                return False
            self.tried.add(session_id)
            try:
                future = self.submit(compose, *args)
            except RuntimeError:  # the pool is shut down: the engine is stopping
                return False
            self.by_key[key] = future
            self.by_session[session_id] = (key, path)
            self.composed += 1
        log.info("composing ahead: piece %s for session %s", key, session_id)
        return True

    def take(self, key: str) -> dict[str, Any] | None:
        """The facts of piece ``key`` if it was composed ahead (waiting for it if still running), else None."""
        with self.lock:
            future = self.by_key.pop(key, None)
            for session_id, (ahead, _) in list(self.by_session.items()):
                if ahead == key:
                    del self.by_session[session_id]  # a turn owns it now: the draft refers to it
        if future is None or future.cancel():  # still queued behind another session's piece: composing now is sooner
            return None
        try:
            facts = future.result()
        except Exception as exc:  # noqa: BLE001 - composing again reports the failure, if it is real
            log.warning("the piece composed ahead failed (%s); composing it again", exc)
            return None
        with self.lock:
            self.taken += 1
        log.info("piece %s was composed ahead: the turn takes it", key)
        return facts

    def drop(self, session_id: str) -> None:
        """The session ended: stop its piece (or wait for it) and remove its file if no turn took it."""
        with self.lock:
            entry = self.by_session.pop(session_id, None)
            self.tried.discard(session_id)
            future = self.by_key.pop(entry[0], None) if entry else None
        if entry is None or future is None:
            return
        if not future.cancel():
            try:
                future.result()
            except Exception:  # noqa: BLE001 - nobody wants this piece any more
                pass
        entry[1].unlink(missing_ok=True)

    def drop_all(self) -> None:
        for session_id in list(self.by_session):
            self.drop(session_id)
