"""A shared PostgreSQL that is slow or gone (``ai-music serve --database``, issue 18).

A request waiting on the database stalls only itself: ``/healthz`` and other users are
answered meanwhile. A render the database cannot lease (it does not answer) is not started:
it stays pending and runs once the database is back — never without a lease another engine
could take too. The outage is real: the engine reaches its database through a proxy the test
cuts (every connection drops, new ones are refused) and restores.
"""

from __future__ import annotations

import logging
import socket
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from support import Api


class Outage:
    """A unix-socket proxy in front of the test's PostgreSQL that can be cut and restored."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        target = next(p for p in Path(query["host"]).glob(".s.PGSQL.*") if p.suffix != ".lock")
        self.target = str(target)
        self.dir = tempfile.mkdtemp(prefix="ai-music-pg-proxy-")
        self.path = str(Path(self.dir) / target.name)
        self.url = urlunsplit(parts._replace(query=urlencode({**query, "host": self.dir})))
        self.lock = threading.Lock()
        self.open: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket(socket.AF_UNIX)
        Path(self.path).unlink(missing_ok=True)
        listener.bind(self.path)
        listener.listen()
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """As when the server stops: every connection drops, new ones are refused."""
        assert self.listener is not None
        self.listener.close()
        Path(self.path).unlink(missing_ok=True)
        with self.lock:
            for sock in self.open:
                _close(sock)
            self.open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.socket(socket.AF_UNIX)
            server.connect(self.target)
            with self.lock:
                self.open += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    _close(sink)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def _until(condition, what: str, timeout: float = 60.0):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
    return result


def test_a_request_waiting_on_the_database_stalls_nobody_else(tmp_path, postgres_url) -> None:
    """Another engine holds this user's row locked: their request waits; health and others are answered."""
    import psycopg

    from engine.config import EngineConfig
    from engine.embedded import start

    server = start(EngineConfig(data_dir=tmp_path / "engine", database=postgres_url, starting_credits=100))
    waiting = ThreadPoolExecutor(1)
    try:
        other = Api(server.url).login("other-client")
        answer = httpx.post(f"{server.url}/api/auth/anonymous-token", headers={"X-Client-Id": "stuck-client"})
        user_id = answer.json()["data"]["user_id"]
        with (
            psycopg.connect(postgres_url, autocommit=True) as holder,
            psycopg.connect(postgres_url, autocommit=True) as watcher,
        ):
            with holder.transaction():
                holder.execute("SELECT 1 FROM ai_music_users WHERE key = %s FOR UPDATE", (user_id,))
                blocked = waiting.submit(
                    httpx.post,
                    f"{server.url}/api/auth/anonymous-token",
                    headers={"X-Client-Id": "stuck-client"},
                    timeout=120,
                )
                _until(
                    lambda: watcher.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                        "'Lock' AND query LIKE '%FOR UPDATE%'"
                    ).fetchone()[0],
                    "the engine never waited on the locked row",
                )
                health = httpx.get(f"{server.url}/healthz", timeout=30)
                assert health.status_code == 200 and health.json()["ok"] is True
                assert other.state()["draft"] is None  # another user's project answers
                again = other.post("/api/auth/anonymous-token", headers={"X-Client-Id": "other-client"})
                assert again.json()["data"]["token"]
                assert not blocked.done()  # …while the first still waits for the row
            assert blocked.result(timeout=120).json()["data"]["user_id"] == user_id  # then it is answered
    finally:
        waiting.shutdown()
        server.stop()


def test_a_render_the_database_cannot_lease_stays_pending_and_runs_once_it_is_back(
    tmp_path, postgres_url, monkeypatch, caplog
) -> None:
    import psycopg

    from engine.export import jobs
    from engine.faults import Faults
    from engine.store import Store

    monkeypatch.setattr(jobs, "LEASE_RETRY_S", 0.1, raising=False)  # (raising: main had none, to compare)
    outage = Outage(postgres_url)
    store, other = Store(tmp_path / "engine", database=outage.url), Store(tmp_path / "engine", database=postgres_url)
    manager = jobs.RenderManager(store, Faults())
    ran: dict[str, bool] = {}  # render → whether another engine could have taken it as it ran
    first_runs, first_may_end = threading.Event(), threading.Event()

    def stand_in(render_id: str) -> None:  # the render itself (its media work is tested elsewhere)
        ran[render_id] = other.lease_render(render_id)
        if not first_runs.is_set():
            first_runs.set()
            first_may_end.wait(60)

    monkeypatch.setattr(manager, "_run_leased", stand_in)
    session = {"session_id": "s1", "user_id": "u1"}
    try:
        first = manager.submit("first", session, {"t": []}, {"format": "mp4"})
        _until(first_runs.is_set, "the first render never started")
        second = manager.submit("second", session, {"t": []}, {"format": "mp4"})  # queued behind the first
        outage.cut()
        with caplog.at_level(logging.WARNING, logger="engine.export.jobs"):
            first_may_end.set()  # the worker turns to the second render: the database does not answer
            _until(
                lambda: any(f"render {second['id']} waits for the database" in r.getMessage() for r in caplog.records),
                "the second render's lease was never asked for",
            )
        assert list(ran) == [first["id"]]  # not started without its lease
        with psycopg.connect(postgres_url, autocommit=True) as admin:  # what a poll finds (any engine)
            saved = admin.execute("SELECT data->>'status' FROM ai_music_renders WHERE key = %s", (second["id"],))
            assert saved.fetchone()[0] == "pending"
        outage.restore()
        _until(lambda: second["id"] in ran, "the render never ran once the database was back")
        assert ran == {first["id"]: False, second["id"]: False}  # each held by this engine as it ran
    finally:
        first_may_end.set()
        manager.shutdown()
        store.close()
        other.close()
        outage.cut()


def test_a_render_whose_lease_another_engine_took_stops_here_and_leaves_the_record_to_it(
    tmp_path, postgres_url
) -> None:
    """The engine's lease connection dropped mid-render and another engine took the render: at its next
    progress this engine stops its encoder and writes nothing more (the new owner runs and records it)."""
    import psycopg

    from engine.export.jobs import RenderManager
    from engine.faults import Faults
    from engine.store import Store

    progressed, may_go_on, stopped = threading.Event(), threading.Event(), []

    class StandIn:  # renders nothing: reports progress as an encoder would, until it is told to go on
        def soundtrack(self, prepared, order):  # noqa: ANN001, ANN202
            return prepared

        def render(self, job, progress) -> None:  # noqa: ANN001
            progress(0.1, "encoding")
            progressed.set()
            may_go_on.wait(60)
            progress(0.5, "mixing")  # a new phase: saved (and the lease checked) at once

        def stop(self, job) -> None:  # noqa: ANN001
            stopped.append(job)

        def shutdown(self) -> None:
            pass

    store, other = Store(tmp_path / "engine", database=postgres_url), Store(tmp_path / "engine", database=postgres_url)
    manager = RenderManager(store, Faults(), executor=StandIn())
    try:
        _, user, _ = store.issue_token("laptop")
        session = store.create_session(user, "holiday", "en")
        record = manager.submit("r1", session, {"d": 3000, "t": []}, {"format": "mp4"})
        _until(progressed.is_set, "the render never started")
        assert not other.lease_render(record["id"])
        with psycopg.connect(postgres_url, autocommit=True) as admin:  # the running engine's lease connection drops
            admin.execute(
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            )
        _until(lambda: other.lease_render(record["id"]), "the other engine never got the lease")
        may_go_on.set()
        _until(lambda: not manager.jobs and stopped, "the render here was never stopped")
        assert other.render(record["id"])["status"] == "processing"  # nothing written over the new owner's record
    finally:
        may_go_on.set()
        manager.shutdown()
        store.close()
        other.close()


def test_a_render_whose_lease_cannot_be_renewed_stops_here_before_another_engine_may_take_it(
    tmp_path, postgres_url, monkeypatch
) -> None:
    """The database goes away mid-render while the render reports nothing (a long phase, no progress to
    check the lease at): the heartbeat cannot renew the lease, and once it went unconfirmed for LEASE_S the
    render stops here and writes nothing more — so it never runs to the end beside another engine that
    takes it once the database frees this engine's lock."""
    from engine import state_pg
    from engine.export.jobs import RenderManager
    from engine.faults import Faults
    from engine.store import Store

    monkeypatch.setattr(state_pg, "LEASE_S", 1.5)
    monkeypatch.setattr(state_pg, "LEASE_RENEW_S", 0.1)
    progressed, stopped_event, stopped = threading.Event(), threading.Event(), []

    class Silent:  # reports progress once, then works on without a word until it is stopped
        def soundtrack(self, prepared, order):  # noqa: ANN001, ANN202
            return prepared

        def render(self, job, progress) -> None:  # noqa: ANN001
            progress(0.1, "encoding")
            progressed.set()
            stopped_event.wait(60)

        def stop(self, job) -> None:  # noqa: ANN001
            stopped.append(time.monotonic())
            stopped_event.set()

        def shutdown(self) -> None:
            pass

    outage = Outage(postgres_url)
    store = Store(tmp_path / "engine", database=outage.url)
    manager = RenderManager(store, Faults(), executor=Silent())
    try:
        _, user, _ = store.issue_token("laptop")
        session = store.create_session(user, "holiday", "en")
        record = manager.submit("r1", session, {"d": 3000, "t": []}, {"format": "mp4"})
        _until(progressed.is_set, "the render never started")
        cut_at = time.monotonic()
        outage.cut()
        _until(lambda: stopped, "the render went on though its lease could not be renewed", timeout=30)
        assert stopped[0] - cut_at >= state_pg.LEASE_S - 2 * state_pg.LEASE_RENEW_S  # not before it lapsed
        _until(lambda: not manager.jobs, "the render never ended here")
        outage.restore()
        other = Store(tmp_path / "engine", database=postgres_url)
        try:
            _until(lambda: other.lease_render(record["id"]), "the lapsed lease was never freed for another engine")
            assert other.render(record["id"])["status"] == "processing"  # nothing written by the engine that gave up
        finally:
            other.close()
    finally:
        stopped_event.set()
        manager.shutdown()
        store.close()
        outage.cut()


def test_after_a_blip_the_engine_takes_its_own_leases_back_from_the_connection_it_gave_up(postgres_url) -> None:
    """The client gives up a silent lease connection sooner than the server does: the server's process of
    the old connection still holds this engine's locks when a new connection asks for them again. They are
    this engine's own — the lease must survive the reconnect, not be taken for another engine's."""
    import psycopg

    from engine import state_pg

    state = state_pg.PostgresState(postgres_url)
    try:
        assert state.lease("render:blip")
        given_up = state.lease_conn
        state.lease_conn = None  # what the client does when its keepalives give up; the server has not yet
        assert state.lease("render:blip"), "the engine lost its own render to the connection it gave up"
        assert state.leases == {"render:blip"}
        assert given_up.closed or given_up.broken or _server_ended(given_up, psycopg)
    finally:
        state.close()


def _server_ended(conn, psycopg) -> bool:  # noqa: ANN001 - a psycopg connection and the module
    try:
        conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return True
    return False
