"""What the client keeps between runs, in ``$XDG_CONFIG_HOME/nemovideo`` (0700).

- ``client_id``: the UUID sent as ``X-Client-Id`` (only the UUID, as the skill promises);
  reused because anonymous tokens are rate-limited per client.
- ``tokens.json`` (0600): the anonymous token per backend, with its expiry.
- ``sessions.json`` (0600): the current session per backend, so the next ``ai-music
  say`` — another process — continues the same project.
- ``renders.json`` (0600): renders submitted but not yet downloaded, so an interrupted
  run resumes polling the same job next time instead of orphaning it.

Files are replaced atomically and created with their final permissions, so a secret is
never readable by others even for a moment; read-modify-write cycles hold an exclusive
lock on ``.lock``, so two ``ai-music`` processes never drop each other's entries.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import stat
import tempfile
import uuid
from pathlib import Path
from typing import Any, Iterator

_UUID = re.compile(r"^[0-9a-fA-F-]{8,64}$")


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "nemovideo"


class ClientStore:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root or config_dir()

    def ensure(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        if stat.S_IMODE(self.root.stat().st_mode) != 0o700:
            os.chmod(self.root, 0o700)
        return self.root

    # ------------------------------------------------------------------ files

    def _write(self, name: str, text: str) -> None:
        root = self.ensure()
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=root)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, root / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _read_json(self, name: str) -> dict[str, Any]:
        path = self.root / name
        with contextlib.suppress(OSError):  # a file loosened by hand (or a copy) is made private again
            if path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise read-modify-write across processes (``ai-music say`` runs in parallel)."""
        fd = os.open(self.ensure() / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _update(self, name: str, key: str, value: Any) -> None:
        with self._locked():
            data = self._read_json(name)
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
            self._write(name, json.dumps(data, indent=1, sort_keys=True))

    # ------------------------------------------------------------------ client id

    def client_id(self, regenerate: bool = False) -> str:
        """``NEMO_CLIENT_ID``, else the persisted UUID, else a new one (persisted)."""
        env = os.environ.get("NEMO_CLIENT_ID", "").strip()
        if env and not regenerate:
            return env
        path = self.root / "client_id"
        if not regenerate:
            try:
                existing = path.read_text(encoding="utf-8").strip()
                if _UUID.match(existing):
                    return existing
            except OSError:
                pass
        fresh = str(uuid.uuid4())
        self._write("client_id", fresh + "\n")
        return fresh

    # ------------------------------------------------------------------ tokens, sessions, renders

    def token(self, backend: str) -> dict[str, Any] | None:
        entry = self._read_json("tokens.json").get(backend)
        return entry if isinstance(entry, dict) and entry.get("token") else None

    def save_token(self, backend: str, entry: dict[str, Any] | None) -> None:
        self._update("tokens.json", backend, entry)

    def session(self, backend: str) -> dict[str, Any] | None:
        entry = self._read_json("sessions.json").get(backend)
        return entry if isinstance(entry, dict) and entry.get("session_id") else None

    def save_session(self, backend: str, entry: dict[str, Any] | None) -> None:
        self._update("sessions.json", backend, entry)

    def replace_session(self, backend: str, session_id: str, entry: dict[str, Any] | None) -> None:
        """Set the saved session to ``entry`` — only if it is still ``session_id`` (no one moved on)."""
        with self._locked():
            data = self._read_json("sessions.json")
            current = data.get(backend)
            if not isinstance(current, dict) or current.get("session_id") != session_id:
                return
            if entry is None:
                data.pop(backend, None)
            else:
                data[backend] = entry
            self._write("sessions.json", json.dumps(data, indent=1, sort_keys=True))

    def update_session(self, backend: str, session_id: str, **fields: Any) -> None:
        """Set (or, with None, drop) fields of the saved session — only if it is still ``session_id``."""
        with self._locked():
            data = self._read_json("sessions.json")
            entry = data.get(backend)
            if not isinstance(entry, dict) or entry.get("session_id") != session_id:
                return
            before = dict(entry)
            for key, value in fields.items():
                if value is None:
                    entry.pop(key, None)
                else:
                    entry[key] = value
            if entry != before:  # most turns clear what was never set: no write then
                self._write("sessions.json", json.dumps(data, indent=1, sort_keys=True))

    def pending_renders(self, backend: str) -> dict[str, dict[str, Any]]:
        entry = self._read_json("renders.json").get(backend)
        return entry if isinstance(entry, dict) else {}

    def save_render(self, backend: str, render_id: str, entry: dict[str, Any] | None) -> None:
        with self._locked():
            data = self._read_json("renders.json")
            renders = data.get(backend) if isinstance(data.get(backend), dict) else {}
            if entry is None:
                renders.pop(render_id, None)
            else:
                renders[render_id] = entry
            data[backend] = renders
            self._write("renders.json", json.dumps(data, indent=1, sort_keys=True))

    def history_file(self) -> Path:
        self.ensure()
        return self.root / "chat_history"
