"""The store's rows in PostgreSQL, shared by every API process of one deployment (issue 18).

Same four tables as the embedded default (``engine.state_db``), each ``key → JSONB``, named
``ai_music_*`` so the database can be shared with other software. Two indexes answer the
lookups a request makes before it knows a user id: a token's hash (GIN over the token map)
and a client id's hash. One connection per engine process, used under a lock; a read-modify-
write runs in a transaction holding the row's lock (``SELECT … FOR UPDATE``), so two engines
changing one user's credits or one session never lose each other's change. A connection the
server dropped is replaced on the next call.

Only this module imports psycopg (``pip install 'ai-music[postgres]'``); nothing imports it
unless ``--database`` names a PostgreSQL URL.
"""
from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any, Callable, Iterable, Iterator, TypeVar

from engine.state_db import TABLES, DBError, Row

PREFIX = "ai_music_"
log = logging.getLogger(__name__)
T = TypeVar("T")
_SCHEMA_LOCK = 0x61695F6D75736963  # pg_advisory_xact_lock key: engines starting together create tables once

_SCHEMA = [f"CREATE TABLE IF NOT EXISTS {PREFIX}{t} (key TEXT PRIMARY KEY, data JSONB NOT NULL)" for t in TABLES] + [
    f"CREATE INDEX IF NOT EXISTS {PREFIX}users_tokens ON {PREFIX}users USING GIN ((data->'tokens'))",
    f"CREATE INDEX IF NOT EXISTS {PREFIX}users_client ON {PREFIX}users ((data->>'client_id_hash'))",
]


def _driver() -> Any:
    try:
        import psycopg
    except ImportError:
        raise DBError("missing", "PostgreSQL support is not installed: pip install 'ai-music[postgres]'") from None
    return psycopg


def _error(exc: Exception) -> DBError:
    """A psycopg error as the store's DBError, worded without the URL (it may hold a password)."""
    psycopg = _driver()
    if isinstance(exc, psycopg.OperationalError) and getattr(exc, "sqlstate", None) is None:
        return DBError("other", "the database did not answer")
    state = getattr(exc, "sqlstate", None) or ""
    if state.startswith("53"):  # insufficient resources: disk full, out of memory, too many connections
        return DBError("full", "the database is out of space or connections")
    if state == "25006":
        return DBError("read-only", "the database is read-only")
    diag = getattr(exc, "diag", None)
    return DBError("other", (diag.message_primary if diag is not None else None) or exc.__class__.__name__)


class PostgresState:
    shared = True

    def __init__(self, url: str) -> None:
        self.url = url
        self.lock = threading.RLock()
        self.conn: Any = None
        self.depth = 0  # transactions open on self.conn (a statement inside one is never retried)
        self.leases: set[str] = set()  # held by this engine: a new connection takes them again

        def create(conn: Any) -> None:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                for statement in _SCHEMA:
                    conn.execute(statement)
        self._call(create)

    def _call(self, work: Callable[[Any], T]) -> T:
        """``work(connection)`` under the lock; psycopg errors become DBError. A connection the server
        dropped (a restart, a failover, an idle timeout) is replaced and the work run again, once —
        unless a transaction was open on it: what it did is gone, so the caller is told."""
        psycopg = _driver()
        with self.lock:
            for attempt in (1, 2):
                fresh = self.conn is None or self.conn.closed or self.conn.broken
                try:
                    if fresh:
                        self.conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
                        self._retake_leases()
                    return work(self.conn)
                except psycopg.OperationalError as exc:
                    if attempt == 2 or fresh or self.depth or not self.conn.broken:
                        raise _error(exc) from None
                except psycopg.Error as exc:
                    raise _error(exc) from None
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside is one transaction (row locks taken by ``get(for_update=True)`` held to its end)."""
        with self.lock:
            if self.depth:
                yield
                return
            self._call(lambda conn: conn.execute("BEGIN"))
            self.depth = 1
            try:
                yield
            except BaseException:
                with contextlib.suppress(_driver().Error):
                    self.conn.execute("ROLLBACK")
                raise
            else:
                self._call(lambda conn: conn.execute("COMMIT"))
            finally:
                self.depth = 0

    def _one(self, sql: str, params: tuple[Any, ...]) -> Any:
        row = self._call(lambda conn: conn.execute(sql, params).fetchone())
        return row[0] if row else None

    def load(self, table: str) -> dict[str, Row]:
        return dict(self._call(lambda conn: conn.execute(f"SELECT key, data FROM {PREFIX}{_table(table)}").fetchall()))

    def get(self, table: str, key: str, *, for_update: bool = False) -> Row | None:
        lock = " FOR UPDATE" if for_update else ""
        return self._one(f"SELECT data FROM {PREFIX}{_table(table)} WHERE key = %s{lock}", (key,))

    def put(self, table: str, rows: Iterable[tuple[str, Row]]) -> None:
        from psycopg.types.json import Jsonb

        values = [(key, Jsonb(row)) for key, row in rows]
        sql = f"INSERT INTO {PREFIX}{_table(table)} (key, data) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data"

        def write(conn: Any) -> None:
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(sql, values)
        if values:
            self._call(write)

    def delete(self, table: str, keys: Iterable[str]) -> None:
        names = list(keys)
        self._call(lambda conn: conn.execute(f"DELETE FROM {PREFIX}{_table(table)} WHERE key = ANY(%s)", (names,)))

    def user_with_token(self, digest: str) -> Row | None:
        return self._one(f"SELECT data FROM {PREFIX}users WHERE data->'tokens' ? %s LIMIT 1", (digest,))

    def user_with_client(self, client_key: str) -> Row | None:
        return self._one(f"SELECT data FROM {PREFIX}users WHERE data->>'client_id_hash' = %s LIMIT 1", (client_key,))

    def hold(self, name: str) -> None:
        """Wait until no other engine's transaction holds ``name``, then hold it to this transaction's end
        (inside :meth:`transaction`): for a row that may not exist yet, so no row lock can guard it."""
        self._one("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (name,))

    def lease(self, name: str) -> bool:
        """Hold ``name`` for as long as this engine's connection lives (a session advisory lock);
        False if another engine holds it. A crashed engine's connection closes, and its leases with it."""
        held = bool(self._one("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (name,)))
        if held:
            self.leases.add(name)
        return held

    def release(self, name: str) -> None:
        self.leases.discard(name)
        self._one("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (name,))

    def _retake_leases(self) -> None:
        """On a new connection, hold again what the dropped one held: else another engine starting
        now would take this engine's running renders for a dead engine's and run them again."""
        for name in sorted(self.leases):
            if not self.conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (name,)).fetchone()[0]:
                self.leases.discard(name)  # another engine took it while we were away: it is theirs now
                log.warning("lost %s to another engine while the database connection was down", name)

    def close(self) -> None:
        with self.lock:
            if self.conn is not None:
                self.conn.close()
                self.conn = None


def _table(name: str) -> str:
    if name not in TABLES:
        raise ValueError(name)
    return name
