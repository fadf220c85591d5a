"""The embedded default: the store's rows in the data dir, for the one engine that uses it.

Users and claim links are rows of ``state.sqlite3`` (``engine.user_db``); each session and
render record is a JSON file (``sessions/<sid>/session.json``, ``renders/<id>.json``) written
atomically (temp file + ``os.replace``), so a crash or a full disk leaves the previous
version, never half a file. A failed file write raises the ``OSError`` (the store words it).
Every row is also kept in memory, loaded at start: this engine is the only writer, so reads
never touch the disk. One lock serialises the changes (a transaction is that lock held);
leases are this process's own (nobody else runs its renders).
"""

from __future__ import annotations

import contextlib
import copy
import errno
import json
import os
import threading
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from engine.permissions import private_opener
from engine.state_db import TABLES, Row
from engine.user_db import UserDB


class LocalState:
    shared = False

    def __init__(self, root: Path, full: Callable[[], bool], legacy_user: Callable[[Row], Row]) -> None:
        self.root = root
        self.full = full
        self.lock = threading.RLock()
        self.users = UserDB(root, full)
        if (root / "users.json").exists():  # an older engine's file: one import, then SQLite only
            self.users.import_json(root / "users.json", legacy_user)
        self.rows = {table: self._read(table) for table in TABLES}
        self.rows["users"] = {key: legacy_user(row) for key, row in self.rows["users"].items()}  # client ids hashed

    def _path(self, table: str, key: str) -> Path:
        if table == "sessions":
            return self.root / "sessions" / key / "session.json"
        if table == "renders":
            return self.root / "renders" / f"{key}.json"
        raise ValueError(f"no files for table {table!r}")  # never a render's file in another table's name

    def _read(self, table: str) -> dict[str, Row]:
        if table in ("users", "claims"):
            return self.users.load(table)
        pattern, key = ("*/session.json", "session_id") if table == "sessions" else ("*.json", "id")
        rows = (_read_json(path) for path in (self.root / table).glob(pattern))
        return {row[key]: row for row in rows if isinstance(row, dict) and key in row}

    def load(self, table: str) -> dict[str, Row]:
        with self.lock:
            return dict(self.rows[table])

    def view(self, table: str) -> dict[str, Row]:
        return dict(self.rows[table])  # without the lock: a health check never waits for a write's fsync

    def get(self, table: str, key: str, *, for_update: bool = False) -> Row | None:
        with self.lock:
            return self.rows[table].get(key)

    def put(self, table: str, rows: Iterable[tuple[str, Row]]) -> None:
        """Write ``rows``; memory changes only once they are on disk."""
        rows = list(rows)
        with self.lock:
            if table in ("users", "claims"):
                self.users.put(table, rows)
            else:
                for key, row in rows:
                    write_json_atomic(self._path(table, key), row, self.full)
            self.remember(table, rows)

    def remember(self, table: str, rows: Iterable[tuple[str, Row]]) -> None:
        with self.lock:  # a copy: the caller may go on changing its own
            self.rows[table].update((key, copy.deepcopy(row)) for key, row in rows)

    def delete(self, table: str, keys: Iterable[str]) -> None:
        """Remove session or render records (users and claim links are never deleted)."""
        if table not in ("sessions", "renders"):
            raise ValueError(f"records of {table!r} are never deleted")
        with self.lock:
            for key in keys:
                self._path(table, key).unlink(missing_ok=True)
                self.rows[table].pop(key, None)

    def user_with_token(self, digest: str) -> Row | None:
        with self.lock:
            return next((row for row in self.rows["users"].values() if digest in row.get("tokens", {})), None)

    def user_with_client(self, client_key: str) -> Row | None:
        with self.lock:
            return next((row for row in self.rows["users"].values() if row.get("client_id_hash") == client_key), None)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self.lock:
            yield

    def hold(self, name: str) -> None:
        """Nothing to wait for: the transaction's lock already keeps every other change out."""

    def lease(self, name: str) -> bool:
        return True

    def release(self, name: str) -> None:
        """Nothing held: no other engine reads this data dir."""

    def watch(self, lapsed: Callable[[list[str]], Any]) -> None:
        """Nothing lapses: no database to lose."""

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
