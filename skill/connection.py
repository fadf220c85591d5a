"""Being connected: a token, a session, and the skill's recovery rules around every call.

Token: ``NEMO_TOKEN`` if the user set one; else the cached anonymous token for this
backend (until its expiry); else a new one, requested with the persisted client id.
Session: created once per backend and remembered in the config dir, so the next process
(`ai-music say …`) continues the same project — with the message whose stream dropped
unconfirmed, so "retry" there resends it.

Recovery (SKILL.md "Error Codes", implemented by :meth:`Connection.call`):
1001 → fresh anonymous token, retry once — unless the token is the user's own
``NEMO_TOKEN``, which is never silently replaced (the user is told instead);
1002 → new session, retry once; 429 → wait ``Retry-After`` (else the skill's wait),
retry once; 400 "missing client id" (token call) → regenerate the id, retry once. Everything else is
raised with the skill's guidance attached (``user_message``).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, TypeVar

from runtime.document.model import Skill
from skill import errors
from skill.client import Client, SessionInfo
from skill.settings import Settings
from skill.shown import remember
from skill.store import ClientStore

T = TypeVar("T")


@dataclass
class Backend:
    """Where we talk to: its URL, a key for what we persist about it, and its kind."""

    url: str
    key: str          # "local:<data dir>" or the URL
    local: bool
    web_url: str
    # the in-process engine's grant of a local file (engine.local_files); None: upload it instead
    grant: Callable[[Path], str] | None = None


def _expired(expires_at: str | None, margin_s: float = 60.0) -> bool:
    if not expires_at:
        return False
    try:
        when = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp() - margin_s < time.time()


class Connection:
    def __init__(self, skill: Skill, backend: Backend, client: Client, settings: Settings,
                 store: ClientStore | None = None, notice: Callable[[str], None] | None = None) -> None:
        self.skill = skill
        self.backend = backend
        self.client = client
        self.settings = settings
        self.store = store or ClientStore()
        self.notice = notice or (lambda message: None)
        self.user_token = os.environ.get("NEMO_TOKEN", "").strip() or None
        self.session: SessionInfo | None = None
        self.user_id: str | None = None
        self.language: str | None = None  # the user's language, for a new session (SKILL.md: "<lang>")

    # ------------------------------------------------------------------ token

    @property
    def anonymous(self) -> bool:
        return self.user_token is None

    def ensure_token(self) -> None:
        if self.client.token:
            return
        if self.user_token:
            self.client.token = self.user_token
            remember(self.user_token)
            return
        cached = self.store.token(self.backend.key)
        if cached and not _expired(cached.get("expires_at")):
            self.client.token = cached["token"]
            remember(cached["token"])
            self.user_id = cached.get("user_id")
            return
        self._new_token()

    def _new_token(self, regenerate_client_id: bool = False) -> None:
        client_id = self.store.client_id(regenerate=regenerate_client_id)
        for attempt in range(2):
            try:
                info = self.client.anonymous_token(client_id)
                break
            except errors.MissingClientId:
                if attempt:
                    raise
                client_id = self.store.client_id(regenerate=True)
            except errors.RateLimited as exc:
                if attempt:
                    raise
                self._wait(exc)
        self.client.token = info.token
        remember(info.token)  # never shown, whatever echoes it (skill.shown)
        self.user_id = info.user_id
        self.store.save_token(self.backend.key, {"token": info.token, "user_id": info.user_id,
                                                 "expires_at": info.expires_at})

    # ------------------------------------------------------------------ session

    def ensure_session(self, *, fresh: bool = False) -> SessionInfo:
        self.ensure_token()
        if self.session is not None and not fresh:
            return self.session
        if not fresh:
            saved = self.store.session(self.backend.key)
            if saved and saved.get("skill") == self.skill.name:
                self.session = SessionInfo(saved["session_id"], saved.get("task_id"), saved.get("user_id"))
                self.user_id = self.user_id or saved.get("user_id")
                self.client.user_id = self.user_id
                return self.session
        language = (self.skill.conversation.language or self.language
                    or os.environ.get("AI_MUSIC_LANGUAGE", "en"))
        task_name = self.skill.conversation.task_name or "project"
        info = self.call(lambda: self.client.create_session(task_name, language))
        self.session = info
        self.user_id = info.user_id or self.user_id
        self.client.user_id = self.user_id
        self.store.save_session(self.backend.key, {"session_id": info.session_id, "task_id": info.task_id,
                                                   "user_id": self.user_id, "skill": self.skill.name,
                                                   "created": time.time()})
        return info

    def new_session(self) -> SessionInfo:
        """Start a fresh project (the REPL's /new, and the 1002 recovery)."""
        return self.ensure_session(fresh=True)

    def unsent_message(self) -> str | None:
        """The message whose stream dropped unconfirmed in *this* session ("retry" resends it)."""
        saved = self.store.session(self.backend.key)
        current = self.session.session_id if self.session is not None else None
        if not saved or saved.get("session_id") != current and (current or saved.get("skill") != self.skill.name):
            return None
        text = saved.get("unsent")
        return text if isinstance(text, str) and text else None

    def remember_unsent(self, text: str | None) -> None:
        """Kept with the session, so "retry" works from the next ``ai-music say`` or MCP call too."""
        if self.session is not None:
            self.store.update_session(self.backend.key, self.session.session_id, unsent=text)

    def inputs(self) -> tuple[str, ...]:
        """Local files sent to *this* project (absolute paths): never written over; the MCP export
        writes next to them."""
        saved = self.store.session(self.backend.key)
        if not saved or self.session is None or saved.get("session_id") != self.session.session_id:
            return ()
        items = saved.get("inputs")
        return tuple(str(i) for i in items if isinstance(i, str)) if isinstance(items, list) else ()

    def remember_inputs(self, paths: list[str]) -> None:
        if self.session is not None and paths:
            known = [p for p in self.inputs() if p not in paths]
            self.store.update_session(self.backend.key, self.session.session_id, inputs=(known + paths)[-20:])

    def release(self, restore: dict | None) -> bool:
        """The embedded engine may drop this finished project's files; the saved session goes back to
        ``restore`` (what ``say`` continued before). False if the engine kept them (``clean`` frees them)."""
        if self.session is None:
            return False
        session_id = self.session.session_id
        if not self.release_project(session_id):
            return False
        self.store.replace_session(self.backend.key, session_id, restore)
        self.session = None
        return True

    def release_project(self, session_id: str) -> bool:
        """The embedded engine may drop a finished project's files now; False if it kept them (or is
        not ours to ask: a cloud backend keeps its projects)."""
        if not self.backend.local:
            return False
        try:
            self.call(lambda: self.client.release_session(session_id))
        except errors.NemoError:
            return False
        return True

    # ------------------------------------------------------------------ policy

    def call(self, fn: Callable[[], T], *, needs_session: bool = False) -> T:
        """Run ``fn`` under the skill's recovery rules (module docstring)."""
        return self._guarded(lambda: fn(), needs_session=needs_session)

    def in_session(self, fn: Callable[[SessionInfo], T]) -> T:
        """Run ``fn(session)``; after a 1002 it runs again with the new session."""
        return self._guarded(lambda: fn(self.ensure_session()), needs_session=True)

    def _guarded(self, attempt: Callable[[], T], *, needs_session: bool) -> T:
        self.ensure_token()
        recovered: set[type] = set()
        while True:
            try:
                return attempt()
            except errors.AuthError as exc:
                if self.user_token:
                    raise self._user_token_rejected(exc) from exc
                if errors.AuthError in recovered:
                    raise
                recovered.add(errors.AuthError)
                self.store.save_token(self.backend.key, None)
                self.client.token = None
                self._new_token()
            except errors.SessionNotFound:
                if not needs_session or errors.SessionNotFound in recovered:
                    raise
                recovered.add(errors.SessionNotFound)
                self.notice("The previous project session had expired, so I started a new one.")
                self.store.save_session(self.backend.key, None)
                self.new_session()
            except errors.RateLimited as exc:
                if errors.RateLimited in recovered:
                    raise
                recovered.add(errors.RateLimited)
                self._wait(exc)

    def _user_token_rejected(self, exc: errors.AuthError) -> errors.AuthError:
        error = errors.AuthError(exc.code or 1001, str(exc), http_status=exc.http_status)
        error.user_message = ("The backend rejected your NEMO_TOKEN (expired or revoked). Create a new token, "
                              "or unset NEMO_TOKEN to use a free anonymous one.")
        return error

    def _wait(self, exc: errors.ApiError) -> None:
        delay = exc.retry_after if exc.retry_after is not None else self.settings.rate_limit_wait_s
        self.notice(f"The service is busy; retrying in {delay:g}s…")
        time.sleep(delay)

