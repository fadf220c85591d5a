"""The embedded default: the store's rows in the data dir, for the one engine that uses it.

Users and claim links are rows of ``state.sqlite3`` (``engine.user_db``); each session and
render record is a JSON file (``sessions/<sid>/session.json``, ``renders/<id>.json``) written
atomically (temp file + ``os.replace``), so a crash or a full disk leaves the previous
version, never half a file. A failed file write raises the ``OSError`` (the store words it).
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import threading
from pathlib import Path
from typing import Any, Callable, Iterable

from engine.permissions import private_opener
from engine.state_db import Row
from engine.user_db import UserDB


class LocalState:
    shared = False

    def __init__(self, root: Path, full: Callable[[], bool], legacy_user: Callable[[Row], Row]) -> None:
        self.root = root
        self.full = full
        self.users = UserDB(root, full)
        if (root / "users.json").exists():  # an older engine's file: one import, then SQLite only
            self.users.import_json(root / "users.json", legacy_user)

    def _path(self, table: str, key: str) -> Path:
        if table == "sessions":
            return self.root / "sessions" / key / "session.json"
        if table == "renders":
            return self.root / "renders" / f"{key}.json"
        raise ValueError(f"no files for table {table!r}")  # never a render's file in another table's name

    def load(self, table: str) -> dict[str, Row]:
        if table in ("users", "claims"):
            return self.users.load(table)
        if table not in ("sessions", "renders"):
            raise ValueError(f"no table {table!r}")
        pattern, key = ("*/session.json", "session_id") if table == "sessions" else ("*.json", "id")
        rows = (_read_json(path) for path in (self.root / table).glob(pattern))
        return {row[key]: row for row in rows if isinstance(row, dict) and key in row}

    def put(self, table: str, rows: Iterable[tuple[str, Row]]) -> None:
        if table in ("users", "claims"):
            self.users.put(table, rows)
            return
        for key, row in rows:
            write_json_atomic(self._path(table, key), row, self.full)

    def delete(self, table: str, keys: Iterable[str]) -> None:
        """Remove session or render records (users and claim links are never deleted)."""
        if table not in ("sessions", "renders"):
            raise ValueError(f"records of {table!r} are never deleted")
        for key in keys:
            self._path(table, key).unlink(missing_ok=True)

    def close(self) -> None:
        self.users.close()


def write_json_atomic(path: Path, data: Any, full: Callable[[], bool] = lambda: False) -> None:
    """Write ``data`` to ``path`` so readers see the old or the new file, never a mix.

    ``full`` simulates a full disk (fault injection): the write fails as ENOSPC would. The
    clean-up of the temp file never raises: on a read-only file system unlinking it fails
    again, and that second error was a traceback."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if full():
            raise OSError(errno.ENOSPC, "No space left on device (simulated)")
        with open(tmp, "w", encoding="utf-8", opener=private_opener) as fh:
            json.dump(data, fh, ensure_ascii=False, separators=(",", ":"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def _read_json(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None
