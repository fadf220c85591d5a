"""Users, token hashes and claim links in SQLite: one change writes one row.

``users.json`` was rewritten and fsynced whole on every token issued (2000 users: 478 KB
per call, on the event loop). Here each user and each claim link is one row of a WAL-mode
SQLite file (stdlib ``sqlite3``), so issuing a token writes that user's row and nothing
else. The store keeps its users in memory as before; this is only where they persist. A
``users.json`` left by an older engine is imported on first start, then removed (it may
hold client ids in clear).
"""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any, Callable, Iterable

from engine.permissions import FILE_MODE
from engine.state_db import DBError

FILE = "state.sqlite3"
TABLES = {"users": "user_id", "claims": "digest"}  # table → its key column


def _kind(exc: sqlite3.Error) -> str:
    text = str(exc).lower()
    if "full" in text:
        return "full"
    if "readonly" in text or "read-only" in text or "unable to open" in text or "permission" in text:
        return "read-only"
    return "other"


class UserDB:
    def __init__(self, root: Path, full: Callable[[], bool] = lambda: False) -> None:
        self.path = root / FILE
        self.full = full
        self.lock = threading.Lock()
        try:
            self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
            for path in (self.path, self.path.with_name(FILE + "-wal"), self.path.with_name(FILE + "-shm")):
                with contextlib.suppress(OSError):
                    os.chmod(path, FILE_MODE)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoints, never corrupt
            self.conn.execute("CREATE TABLE IF NOT EXISTS users (user_id TEXT PRIMARY KEY, data TEXT NOT NULL)")
            self.conn.execute("CREATE TABLE IF NOT EXISTS claims (digest TEXT PRIMARY KEY, data TEXT NOT NULL)")
        except sqlite3.Error as exc:
            raise DBError(_kind(exc), str(exc)) from None

    def load(self, table: str) -> dict[str, dict[str, Any]]:
        """Every saved user (user_id → saved form) or claim link (digest → entry)."""
        with self.lock:
            return {key: json.loads(data) for key, data in self.conn.execute(f"SELECT {TABLES[table]}, data FROM {table}")}

    def put(self, table: str, rows: Iterable[tuple[str, dict[str, Any]]]) -> None:
        self._write(f"INSERT OR REPLACE INTO {table} ({TABLES[table]}, data) VALUES (?, ?)", rows)

    def _write(self, sql: str, rows: Iterable[tuple[str, dict[str, Any]]]) -> None:
        encoded = [(key, json.dumps(value, separators=(",", ":"))) for key, value in rows]
        if self.full():
            raise DBError("full", "No space left on device (simulated)")
        with self.lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                self.conn.executemany(sql, encoded)
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
                raise DBError(_kind(exc), str(exc)) from None

    def import_json(self, path: Path, convert: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        """Take in an older engine's ``users.json`` (users through ``convert``), then remove it."""
        try:
            with path.open(encoding="utf-8") as fh:
                raw = json.load(fh)
        except (OSError, ValueError):
            return
        users = raw.get("users", {}) if isinstance(raw, dict) else {}
        claims = raw.get("claims", {}) if isinstance(raw, dict) else {}
        self.put("users", ((uid, convert(u)) for uid, u in users.items() if isinstance(u, dict)))
        self.put("claims", ((d, c) for d, c in claims.items() if isinstance(c, dict)))
        with contextlib.suppress(OSError):
            path.unlink()

    def close(self) -> None:
        with self.lock:
            self.conn.close()
