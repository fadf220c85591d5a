"""The store's rows in PostgreSQL, shared by every API process of one deployment (issue 18).

Same four tables as the embedded default (``engine.state_db``), each ``key → JSONB``, named
``ai_music_*`` so the database can be shared with other software. Two indexes answer the
lookups a request makes before it knows a user id: a token's hash (GIN over the token map)
and a client id's hash. Calls take a connection from a bounded pool (``psycopg_pool``), so a
slow statement or a row lock another engine holds stalls only the call waiting on it; a
read-modify-write runs in a transaction holding the row's lock (``SELECT … FOR UPDATE``) on
one connection, bound to the calling thread, so two engines changing one user's credits or
one session never lose each other's change. Render leases are session advisory locks, so
they live on a connection of their own, kept open for the engine's life. A connection the
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
POOL_SIZE = 16  # per engine: the 8 store threads, plus render, analysis and composing threads that call the store
# directly; a call beyond them waits for one (POOL_WAIT_S)
POOL_WAIT_S = 10.0
_SCHEMA_LOCK = 0x61695F6D75736963  # pg_advisory_xact_lock key: engines starting together create tables once

_SCHEMA = [f"CREATE TABLE IF NOT EXISTS {PREFIX}{t} (key TEXT PRIMARY KEY, data JSONB NOT NULL)" for t in TABLES] + [
    f"CREATE INDEX IF NOT EXISTS {PREFIX}users_tokens ON {PREFIX}users USING GIN ((data->'tokens'))",
    f"CREATE INDEX IF NOT EXISTS {PREFIX}users_client ON {PREFIX}users ((data->>'client_id_hash'))",
]


def _driver() -> Any:
    try:
        import psycopg
        import psycopg_pool  # noqa: F401 - the pool the engine's calls share
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
        psycopg = _driver()
        from psycopg_pool import ConnectionPool

        self.url = url
        self.local = threading.local()  # .conn: this thread's open transaction, if any
        self.seen: dict[str, dict[str, Row]] = {table: {} for table in TABLES}
        self.lease_lock = threading.RLock()  # lease() checks and locks under it; _on_lease_conn takes it again
        self.lease_conn: Any = None
        self.leases: set[str] = set()  # held by this engine: a new lease connection takes them again
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                for statement in _SCHEMA:
                    conn.execute(statement)
        except psycopg.Error as exc:
            raise _error(exc) from None
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=POOL_SIZE,
            kwargs={"autocommit": True},
            check=self._check,
            timeout=POOL_WAIT_S,
            num_workers=1,
            name="ai-music-state",
            open=True,
        )

    def _check(self, conn: Any) -> None:
        """Whether a pooled connection still answers, as it is taken. One that does not means the server
        dropped its connections (a restart, a failover): then the lease connection is checked too, so
        this engine holds its leases again before anything it does now is seen by others."""
        from psycopg_pool import ConnectionPool

        try:
            ConnectionPool.check_connection(conn)
        except Exception:
            if self.leases:
                with contextlib.suppress(DBError):
                    self._on_lease_conn(lambda lease_conn: lease_conn.execute("SELECT 1"))
            raise

    def _call(self, work: Callable[[Any], T]) -> T:
        """``work(connection)``: this thread's transaction's connection, else one from the pool (checked
        alive as it is taken: the server may have dropped it). psycopg errors become DBError."""
        psycopg = _driver()
        try:
            conn = getattr(self.local, "conn", None)
            if conn is not None:
                return work(conn)
            with self.pool.connection() as conn:
                return work(conn)
        except psycopg.Error as exc:
            raise _error(exc) from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside, on this thread, is one transaction on one pooled connection."""
        if getattr(self.local, "conn", None) is not None:
            yield
            return
        psycopg = _driver()
        try:
            with self.pool.connection() as conn, conn.transaction():
                self.local.conn = conn
                try:
                    yield
                finally:
                    self.local.conn = None
        except psycopg.Error as exc:
            raise _error(exc) from None

    def _one(self, sql: str, params: tuple[Any, ...]) -> Any:
        row = self._call(lambda conn: conn.execute(sql, params).fetchone())
        return row[0] if row else None

    def load(self, table: str) -> dict[str, Row]:
        rows = dict(self._call(lambda conn: conn.execute(f"SELECT key, data FROM {PREFIX}{_table(table)}").fetchall()))
        self.seen[table] = dict(rows)
        return rows

    def view(self, table: str) -> dict[str, Row]:
        return dict(self.seen[table])

    def get(self, table: str, key: str, *, for_update: bool = False) -> Row | None:
        lock = " FOR UPDATE" if for_update else ""
        row = self._one(f"SELECT data FROM {PREFIX}{_table(table)} WHERE key = %s{lock}", (key,))
        if row is not None:
            self.seen[table][key] = row
        return row

    def put(self, table: str, rows: Iterable[tuple[str, Row]]) -> None:
        from psycopg.types.json import Jsonb

        rows = list(rows)
        values = [(key, Jsonb(row)) for key, row in rows]
        sql = f"INSERT INTO {PREFIX}{_table(table)} (key, data) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data"

        def write(conn: Any) -> None:
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(sql, values)

        if values:
            self._call(write)
            self.seen[table].update(rows)

    def remember(self, table: str, rows: Iterable[tuple[str, Row]]) -> None:
        """Nothing: another engine reads the database, not this process's memory."""

    def delete(self, table: str, keys: Iterable[str]) -> None:
        names = list(keys)
        self._call(lambda conn: conn.execute(f"DELETE FROM {PREFIX}{_table(table)} WHERE key = ANY(%s)", (names,)))
        for name in names:
            self.seen[table].pop(name, None)

    def user_with_token(self, digest: str) -> Row | None:
        return self._one(f"SELECT data FROM {PREFIX}users WHERE data->'tokens' ? %s LIMIT 1", (digest,))

    def user_with_client(self, client_key: str) -> Row | None:
        return self._one(f"SELECT data FROM {PREFIX}users WHERE data->>'client_id_hash' = %s LIMIT 1", (client_key,))

    def hold(self, name: str) -> None:
        self._one("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (name,))

    def lease(self, name: str) -> bool:
        """A session advisory lock on the lease connection: a crashed engine's connection closes, and
        its leases with it. Held already: not locked again (PostgreSQL stacks advisory locks, and one
        release would leave the rest held for the connection's life), only checked still held."""
        with self.lease_lock:
            if name in self.leases:
                self._on_lease_conn(lambda conn: conn.execute("SELECT 1"))  # a dropped connection: retaken or lost
                return name in self.leases
            held = bool(self._on_lease_conn(
                lambda conn: conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (name,)).fetchone()[0]))
            if held:
                self.leases.add(name)
            return held

    def release(self, name: str) -> None:
        self.leases.discard(name)
        self._on_lease_conn(lambda conn: conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (name,)))

    def _on_lease_conn(self, work: Callable[[Any], T]) -> T:
        """``work`` on the lease connection, under its lock. One the server dropped (a restart, a failover)
        is replaced, its leases taken again, and the work run again, once."""
        psycopg = _driver()
        with self.lease_lock:
            for attempt in (1, 2):
                fresh = self.lease_conn is None or self.lease_conn.closed or self.lease_conn.broken
                try:
                    if fresh:
                        self.lease_conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
                        self._retake_leases()
                    return work(self.lease_conn)
                except psycopg.OperationalError as exc:
                    if attempt == 2 or fresh or not self.lease_conn.broken:
                        raise _error(exc) from None
                except psycopg.Error as exc:
                    raise _error(exc) from None
        raise AssertionError("unreachable")

    def _retake_leases(self) -> None:
        """On a new lease connection, hold again what the dropped one held: else another engine starting
        now would take this engine's running renders for a dead engine's and run them again."""
        for name in sorted(self.leases):
            if not self.lease_conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (name,)).fetchone()[
                0
            ]:
                self.leases.discard(name)  # another engine took it while we were away: it is theirs now
                log.warning("lost %s to another engine while the database connection was down", name)

    def close(self) -> None:
        self.pool.close()
        with self.lease_lock:
            if self.lease_conn is not None:
                self.lease_conn.close()
                self.lease_conn = None


def _table(name: str) -> str:
    if name not in TABLES:
        raise ValueError(name)
    return name
