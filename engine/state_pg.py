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

Leases are renewed on a heartbeat: every LEASE_RENEW_S a round trip on the lease connection
confirms them (a dropped connection is replaced and its leases taken again, or found taken). A
lease not confirmed for LEASE_S — the database away, a network partition — lapses: this engine
gives up its renders (``watch``: the store stops them) and gives their locks back once the
database answers. The server is told to probe the lease connection's TCP peer (keepalives)
so it frees a partitioned engine's locks only after that engine's leases lapsed: two engines
never run the same render to the end.

Only this module imports psycopg (``pip install 'ai-music[postgres]'``); nothing imports it
unless ``--database`` names a PostgreSQL URL.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterable, Iterator, TypeVar

from engine.state_db import TABLES, DBError, Row

PREFIX = "ai_music_"
log = logging.getLogger(__name__)
T = TypeVar("T")
POOL_SIZE = 16  # per engine: the 8 store threads, plus render, analysis and composing threads that call the store
# directly; a call beyond them waits for one (POOL_WAIT_S)
POOL_WAIT_S = 10.0
LEASE_S = 30.0        # a lease not confirmed for this long lapses: the render holding it stops here
LEASE_RENEW_S = 5.0   # the heartbeat: how often the lease connection is asked whether it still holds them
# the server drops a silent lease connection (freeing its locks) only after idle + interval × count > LEASE_S
_KEEPALIVE = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3}
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
        #: (pid, backend start) of the lease connection's server process: after a blip the server may keep
        #: it — and its locks — alive for a while; a new connection ends it before taking the leases again
        self.lease_backend: tuple[int, Any] | None = None
        self.leases: set[str] = set()  # held by this engine: a new lease connection takes them again
        self.lapsed: set[str] = set()  # leases not confirmed in time: given up until the database answers again
        self.leases_lock = threading.Lock()  # guards both sets (the heartbeat reads them beside lease_lock)
        self.confirmed = 0.0           # time.monotonic() of the last round trip on the lease connection
        self.on_lapse: Callable[[list[str]], Any] | None = None
        self.closing = threading.Event()
        self.renewer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lease-renew")
        self.heartbeat: threading.Thread | None = None
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
        if name in self.lapsed:  # given up: not granted again until the heartbeat gave its lock back
            raise DBError("other", "the database did not confirm this engine's leases in time")
        with self.lease_lock:
            if name in self.leases:
                try:
                    self._on_lease_conn(lambda conn: conn.execute("SELECT 1"))  # a dropped connection: retaken or lost
                except DBError:
                    self._lapse()
                    raise
                return name in self.leases
            held = bool(self._on_lease_conn(
                lambda conn: conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (name,)).fetchone()[0]))
            if held:
                with self.leases_lock:
                    self.leases.add(name)
                self._start_heartbeat()
            return held

    def release(self, name: str) -> None:
        with self.leases_lock:
            self.leases.discard(name)
            if name in self.lapsed:  # given back by the heartbeat once the database answers
                return
        self._on_lease_conn(lambda conn: conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (name,)))

    def watch(self, lapsed: Callable[[list[str]], Any]) -> None:
        self.on_lapse = lapsed

    def _start_heartbeat(self) -> None:
        with self.leases_lock:
            if self.heartbeat is not None:
                return
            self.heartbeat = threading.Thread(target=self._beat, name="lease-heartbeat", daemon=True)
        self.heartbeat.start()

    def _beat(self) -> None:
        """Renew the leases every LEASE_RENEW_S, in a thread of its own (a round trip to a database gone
        silent may block), and lapse them here once they went unconfirmed for LEASE_S."""
        renewing: Future[None] | None = None
        while not self.closing.wait(LEASE_RENEW_S):
            if (self.leases or self.lapsed) and (renewing is None or renewing.done()):
                try:
                    renewing = self.renewer.submit(self._renew)
                except RuntimeError:  # closing
                    return
            self._lapse()

    def _renew(self) -> None:
        """Confirm the leases, and give back those that lapsed (on a connection that survived the outage they
        are still locked; on a new one they are gone): then they may be asked for again, by anyone."""
        with self.lease_lock:
            with self.leases_lock:
                lapsed = sorted(self.lapsed)

            def confirm(conn: Any) -> None:  # a new connection holds none of them: unlocking there is a no-op
                conn.execute("SELECT 1")
                for name in lapsed:
                    conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (name,))

            try:
                self._on_lease_conn(confirm)
            except DBError:
                return
            with self.leases_lock:
                self.lapsed.difference_update(lapsed)

    def _lapse(self) -> None:
        """Give up every lease unconfirmed for LEASE_S; the store is told, to stop their renders."""
        with self.leases_lock:
            if not self.leases or time.monotonic() - self.confirmed <= LEASE_S:
                return
            names = sorted(self.leases)
            self.lapsed.update(names)
            self.leases.clear()
        log.warning("the database did not confirm this engine's leases for %.0f s: giving up %d", LEASE_S, len(names))
        if self.on_lapse is not None:
            try:
                self.on_lapse(names)
            except Exception:  # noqa: BLE001 - stopping a render may fail too (Ray away): the heartbeat must go on
                log.exception("stopping the renders of lapsed leases failed")

    def _on_lease_conn(self, work: Callable[[Any], T]) -> T:
        """``work`` on the lease connection, under its lock. One the server dropped (a restart, a failover)
        is replaced, its leases taken again, and the work run again, once."""
        psycopg = _driver()
        with self.lease_lock:
            for attempt in (1, 2):
                fresh = self.lease_conn is None or self.lease_conn.closed or self.lease_conn.broken
                try:
                    if fresh:
                        self.lease_conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10, **_KEEPALIVE,
                                                          tcp_user_timeout=int(LEASE_S * 500),
                                                          options=_server_probes(self.url),
                                                          application_name=f"ai-music-lease-{secrets.token_hex(8)}")
                        self._end_old_backend(psycopg)
                        self._retake_leases()
                    result = work(self.lease_conn)
                    self.confirmed = time.monotonic()
                    return result
                except psycopg.OperationalError as exc:
                    if attempt == 2 or fresh or not self.lease_conn.broken:
                        raise _error(exc) from None
                except psycopg.Error as exc:
                    raise _error(exc) from None
        raise AssertionError("unreachable")

    def _end_old_backend(self, psycopg: Any) -> None:  # noqa: ANN401 - the psycopg module
        """End the server process of the dropped lease connection if it still lives (the client gave up on a
        silent connection sooner than the server does): it holds this engine's locks, and retaking them would
        fail as if another engine had them. Matched on pid, start time and the connection's own random
        application name: a pid the server (or a pooler) gave to someone else is left alone. Best effort: if
        it fails, retaking finds the locks held and says so, as before."""
        try:
            old, self.lease_backend = self.lease_backend, self.lease_conn.execute(
                "SELECT pid, backend_start, application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()"
            ).fetchone()
            if old is None:
                return
            match = "FROM pg_stat_activity WHERE pid = %s AND backend_start = %s AND application_name = %s"
            self.lease_conn.execute(f"SELECT pg_terminate_backend(pid) {match}", old)
            deadline = time.monotonic() + 5.0
            while self.lease_conn.execute(f"SELECT 1 {match}", old).fetchone() and time.monotonic() < deadline:
                time.sleep(0.05)
        except psycopg.Error as exc:
            log.warning("could not end the dropped lease connection's server process: %s", exc)

    def _retake_leases(self) -> None:
        """On a new lease connection, hold again what the dropped one held: else another engine starting
        now would take this engine's running renders for a dead engine's and run them again."""
        with self.leases_lock:
            names = sorted(self.leases)
        for name in names:
            if not self.lease_conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (name,)).fetchone()[
                0
            ]:
                with self.leases_lock:
                    self.leases.discard(name)  # another engine took it while we were away: it is theirs now
                log.warning("lost %s to another engine while the database connection was down", name)

    def close(self) -> None:
        self.closing.set()
        self.renewer.shutdown(wait=False)
        self.pool.close()
        with self.lease_lock:
            if self.lease_conn is not None:
                self.lease_conn.close()
                self.lease_conn = None


def _server_probes(url: str) -> str:
    """The URL's own ``options``, plus the server's keepalives on the lease connection: it frees a silent
    engine's locks no sooner than LEASE_S + a margin after that engine last renewed them (by then that
    engine has given them up)."""
    from psycopg.conninfo import conninfo_to_dict

    own = str(conninfo_to_dict(url).get("options") or "")
    idle = int(LEASE_S) + 5
    return f"{own} -c tcp_keepalives_idle={idle} -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3".strip()


def _table(name: str) -> str:
    if name not in TABLES:
        raise ValueError(name)
    return name
