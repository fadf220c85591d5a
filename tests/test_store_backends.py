"""The engine's store behaves the same on both backends: the data dir's files (the embedded
default) and PostgreSQL (``ai-music serve --database``, issue 18). Every test here runs on both;
the ones about several engines sharing one database run on PostgreSQL only."""
from __future__ import annotations

import os
import threading
import time

import pytest

from engine.store import Store, StoreError


@pytest.fixture(params=["files", "postgresql"])
def database(request: pytest.FixtureRequest) -> str | None:
    """None: the data dir's own files; else the URL of a fresh PostgreSQL database."""
    return None if request.param == "files" else request.getfixturevalue("postgres_url")


@pytest.fixture
def open_store(tmp_path, database):
    """Opens a store on this test's data dir and database; closes them all after."""
    opened: list[Store] = []

    def make(**options) -> Store:
        store = Store(tmp_path / "engine", database=database, **options)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def test_a_token_names_its_user_after_a_restart(open_store):
    store = open_store(starting_credits=100)
    token, user, _ = store.issue_token("laptop")
    again, same, _ = store.issue_token("laptop")
    assert same.user_id == user.user_id and again != token
    restarted = open_store(starting_credits=100)
    assert restarted.user_for_token(token).user_id == user.user_id
    assert restarted.user_for_token(again).user_id == user.user_id
    assert restarted.user_for_token("nmv_usr_made_up") is None
    assert restarted.expire_tokens(token) == 1
    assert restarted.user_for_token(token) is None and restarted.user_for_token(again) is not None


def test_credits_spent_stay_spent_after_a_restart(open_store):
    store = open_store(starting_credits=12)
    _, user, _ = store.issue_token("laptop")
    assert store.reserve(user, 10)
    assert not store.reserve(user, 5)  # 2 left
    store.settle(user, 10, 4)
    restarted = open_store(starting_credits=12)
    saved = restarted.user_by_id(user.user_id)
    assert (saved.credits_available, saved.credits_frozen, saved.credits_total) == (8, 0, 8)


def test_a_session_and_its_edits_survive_a_restart(open_store):
    store = open_store()
    _, user, _ = store.issue_token("laptop")
    session = store.create_session(user, "holiday", "en")
    sid = session["session_id"]

    def edit(working: dict) -> str:
        working["messages"].append({"role": "user", "text": "upbeat music"})
        return "done"

    assert store.update_session(sid, edit) == "done"
    restarted = open_store()
    saved = restarted.session(sid)
    assert saved["user_id"] == user.user_id and saved["task_name"] == "holiday"
    assert saved["messages"] == [{"role": "user", "text": "upbeat music"}] and saved["version"] == 1
    assert sid in restarted.all_sessions()
    with pytest.raises(KeyError):
        restarted.update_session("404", edit)
    restarted.forget_session(sid)
    assert restarted.session(sid) is None and open_store().session(sid) is None


def test_a_claim_link_still_opens_its_project_after_a_restart(open_store):
    store = open_store()
    _, user, _ = store.issue_token("laptop")
    session = store.create_session(user, "holiday", "en")
    link = store.issue_claim(user, session["task_id"], session["session_id"])
    entry = open_store().claim(link)
    assert entry["session_id"] == session["session_id"] and entry["user_id"] == user.user_id
    assert open_store().claim("clm_made_up") is None


def test_renders_are_kept_expired_and_deleted_with_their_project(open_store):
    store = open_store()
    _, user, _ = store.issue_token("laptop")
    sid = store.create_session(user, "holiday", "en")["session_id"]
    (store.root / "renders" / "r1.mp4").write_bytes(b"video")
    store.save_render({"id": "r1", "session_id": sid, "status": "completed", "file": "r1.mp4"})
    store.save_render({"id": "r2", "session_id": sid, "status": "processing", "progress": 0.5})
    restarted = open_store()
    assert restarted.render("r2")["progress"] == 0.5
    assert sorted(r["id"] for r in restarted.iter_renders()) == ["r1", "r2"]
    restarted.expire_render("r1")
    assert restarted.render("r1")["expired"] is True and not (store.root / "renders" / "r1.mp4").exists()
    restarted.delete_session(sid)
    assert restarted.session(sid) is None and list(open_store().iter_renders()) == []


def test_a_full_data_dir_is_one_line_for_the_user_and_changes_nothing(tmp_path):
    full = False
    store = Store(tmp_path / "engine", starting_credits=10, full=lambda: full)
    _, user, _ = store.issue_token("laptop")
    full = True
    with pytest.raises(StoreError, match="disk is full"):
        store.reserve(user, 5)
    assert user.credits_available == 10


# ----------------------------------------------------------------------------- several engines, one database


@pytest.fixture
def two_engines(tmp_path, postgres_url):
    """Two stores as two engines have them: one database, one data dir (the data dir's own files
    serve one engine at a time, so this is PostgreSQL's alone)."""
    pair = [Store(tmp_path / "engine", starting_credits=100, database=postgres_url) for _ in range(2)]
    yield pair
    for store in pair:
        store.close()


def test_what_one_engine_writes_the_other_reads_at_once(two_engines):
    one, other = two_engines
    token, user, _ = one.issue_token("laptop")
    assert other.user_for_token(token).user_id == user.user_id  # issued after `other` started
    sid = one.create_session(user, "holiday", "en")["session_id"]
    other.update_session(sid, lambda working: working["messages"].append("from the other engine"))
    assert one.session(sid)["messages"] == ["from the other engine"]
    one.save_render({"id": "r1", "session_id": sid, "status": "cancelled"})
    assert other.render("r1")["status"] == "cancelled"
    assert other.issue_token("laptop")[1].user_id == user.user_id  # the same client is the same user there
    other.expire_tokens(token)
    assert one.user_for_token(token) is None


def test_two_engines_never_spend_the_same_credits_twice(two_engines):
    one, other = two_engines
    _, user, _ = one.issue_token("laptop")
    mirror = other.user_by_id(user.user_id)
    won: list[bool] = []

    def spend(store: Store, who) -> None:
        for _ in range(10):
            won.append(store.reserve(who, 10))

    threads = [threading.Thread(target=spend, args=(one, user)), threading.Thread(target=spend, args=(other, mirror))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert won.count(True) == 10  # 100 credits: ten edits, whichever engine took them
    assert one.user_by_id(user.user_id).credits_available == 0


def test_two_engines_editing_one_session_keep_both_edits(two_engines):
    one, other = two_engines
    _, user, _ = one.issue_token("laptop")
    sid = one.create_session(user, "holiday", "en")["session_id"]

    def edits(store: Store, name: str) -> None:
        for n in range(15):
            store.update_session(sid, lambda working, n=n: working["messages"].append(f"{name}{n}"))

    threads = [threading.Thread(target=edits, args=(one, "a")), threading.Thread(target=edits, args=(other, "b"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    saved = one.session(sid)
    assert len(saved["messages"]) == 30 and saved["version"] == 30


def test_an_unreachable_database_is_one_line_without_the_password(tmp_path):
    with pytest.raises(StoreError) as caught:
        Store(tmp_path / "engine", database="postgresql://admin:s3cret@127.0.0.1:9/nope?connect_timeout=2")
    assert "s3cret" not in str(caught.value) and "\n" not in str(caught.value)
    assert "database did not answer" in str(caught.value)


def test_an_engine_starting_leaves_the_renders_another_live_engine_runs(tmp_path, postgres_url):
    """Only renders whose engine died are run again; one still running is not rendered twice."""
    from engine.export.jobs import RenderManager
    from engine.faults import Faults

    running = Store(tmp_path / "engine", database=postgres_url)
    running.save_render({"id": "r1", "session_id": "gone", "user_id": "u", "status": "processing"})
    assert running.lease_render("r1")  # as the engine running it holds it
    starting = Store(tmp_path / "engine", database=postgres_url)
    manager = RenderManager(starting, Faults())
    try:
        assert manager.resume() == 0 and starting.render("r1")["status"] == "processing"
        running.close()  # that engine dies: its connection, and its lease, go (once the server notices)
        deadline = time.monotonic() + 30
        while manager.resume() == 0:
            assert time.monotonic() < deadline, "the dead engine's render was never resumed"
            time.sleep(0.05)
    finally:
        manager.shutdown()
        starting.close()


def test_a_new_client_reaching_two_engines_at_once_is_one_user(two_engines):
    one, other = two_engines
    for n in range(15):
        start = threading.Barrier(2)
        users: list[str] = []

        def first_token(store: Store, n: int = n, start: threading.Barrier = start, users: list = users) -> None:
            start.wait()
            users.append(store.issue_token(f"new-laptop-{n}")[1].user_id)

        threads = [threading.Thread(target=first_token, args=(store,)) for store in (one, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert users[0] == users[1]


def test_an_engine_carries_on_when_the_database_drops_its_connection(tmp_path, postgres_url):
    """A database restart or failover closes every connection; the next call reconnects."""
    import psycopg

    store = Store(tmp_path / "engine", database=postgres_url)
    try:
        token, user, _ = store.issue_token("laptop")
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                          "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'")
        assert store.user_for_token(token).user_id == user.user_id
        assert store.create_session(user, "after the restart", "en")["task_name"] == "after the restart"
    finally:
        store.close()


def test_a_database_engine_refuses_a_data_dir_with_local_projects(tmp_path, postgres_url):
    local = Store(tmp_path / "engine")
    _, user, _ = local.issue_token("laptop")
    sid = local.create_session(user, "holiday", "en")["session_id"]
    local.close()
    with pytest.raises(StoreError, match="without a database.*--data dir of their own"):
        Store(tmp_path / "engine", database=postgres_url)
    assert (tmp_path / "engine" / "sessions" / sid / "session.json").exists()  # nothing was touched


def test_an_engine_without_a_database_refuses_a_dir_whose_projects_are_in_one(tmp_path, postgres_url):
    Store(tmp_path / "engine", database=postgres_url).close()
    with pytest.raises(StoreError, match="PostgreSQL database: start the engine with --database"):
        Store(tmp_path / "engine")


def test_tidy_in_a_shared_dir_leaves_projects_it_cannot_see(tmp_path, postgres_url):
    from engine import housekeeping

    store = Store(tmp_path / "engine", database=postgres_url)
    try:
        media = store.session_dir("123456789") / "media"
        media.mkdir(parents=True)
        (media / "clip.mp4").write_bytes(b"x" * 100)
        long_ago = time.time() - 2 * housekeeping.GRACE_S
        os.utime(store.session_dir("123456789"), (long_ago, long_ago))
        garbage = housekeeping.find(store, lambda session: None)
        assert all(g.session_id != "123456789" for g in garbage)
    finally:
        store.close()


def test_the_data_dir_backend_never_deletes_a_render_for_another_table(tmp_path):
    from engine.state_local import LocalState

    state = LocalState(tmp_path, lambda: False, lambda user: user)
    try:
        state.put("renders", [("r1", {"id": "r1"})])
        with pytest.raises(ValueError):
            state.delete("users", ["r1"])
        assert state.load("renders") == {"r1": {"id": "r1"}}
    finally:
        state.close()


def test_an_engine_keeps_its_render_leases_across_a_dropped_connection(tmp_path, postgres_url):
    """After a reconnect the running engine still holds its render: one starting then leaves it alone."""
    import psycopg

    from engine.export.jobs import RenderManager
    from engine.faults import Faults

    running = Store(tmp_path / "engine", database=postgres_url)
    running.save_render({"id": "r1", "session_id": "gone", "user_id": "u", "status": "processing"})
    assert running.lease_render("r1")
    with psycopg.connect(postgres_url, autocommit=True) as admin:  # a database restart or failover
        admin.execute("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                      "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'")
    assert running.render("r1")["status"] == "processing"  # the engine's next call reconnects
    starting = Store(tmp_path / "engine", database=postgres_url)
    manager = RenderManager(starting, Faults())
    try:
        assert manager.resume() == 0 and starting.render("r1")["status"] == "processing"
    finally:
        manager.shutdown()
        starting.close()
        running.close()


def test_an_engine_that_lost_a_render_lease_while_disconnected_is_told(tmp_path, postgres_url):
    """Its lease connection dropped and another engine took the render meanwhile: asking again says
    so (the render is theirs now), instead of both engines running it."""
    import psycopg

    running = Store(tmp_path / "engine", database=postgres_url)
    other = Store(tmp_path / "engine", database=postgres_url)
    try:
        assert running.lease_render("r1") and running.lease_render("r1")  # asking again while held: still ours
        assert not other.lease_render("r1")
        with psycopg.connect(postgres_url, autocommit=True) as admin:  # only the running engine's lease connection
            admin.execute("SELECT pg_terminate_backend(pid, 10000) FROM pg_locks WHERE locktype = 'advisory' "
                          "AND granted")
        _until_true(lambda: other.lease_render("r1"))  # the server noticed: the other engine takes it
        assert not running.lease_render("r1")
    finally:
        running.close()
        other.close()


def _until_true(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_render_leased_again_and_again_is_free_once_released(two_engines, postgres_url):
    """One render asks for its lease at submit, at start and at every progress save, and gives it
    back once: after that another engine can take it, and the database holds no lock for it."""
    import psycopg

    one, other = two_engines
    assert all(one.lease_render("r1") for _ in range(5))
    one.release_render("r1")
    assert other.lease_render("r1")
    other.release_render("r1")
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        assert admin.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone()[0] == 0


def test_a_lookup_that_read_a_user_before_a_change_does_not_undo_it(tmp_path, monkeypatch):
    """The store's threads look tokens up while others issue them: a lookup holding the row as it
    was before a second tab's token must not carry that old row into a third token's write."""
    import threading

    from engine.state_local import LocalState

    store = Store(tmp_path / "engine")
    first, _, _ = store.issue_token("laptop")
    read, go_on, reloaded, write = (threading.Event() for _ in range(4))
    plain_lookup, plain_reload = LocalState.user_with_token, Store._reload

    def slow_lookup(self, digest):  # a request's auth, descheduled right after reading the row
        row = plain_lookup(self, digest)
        read.set()
        assert go_on.wait(10)
        return row

    def held_reload(self, user):  # the third token's write, paused between its re-read and its save
        plain_reload(self, user)
        reloaded.set()
        assert write.wait(10)

    monkeypatch.setattr(LocalState, "user_with_token", slow_lookup)
    lookup = threading.Thread(target=store.user_for_token, args=(first,))
    lookup.start()
    assert read.wait(10)
    monkeypatch.setattr(LocalState, "user_with_token", plain_lookup)
    second, _, _ = store.issue_token("laptop")  # a second tab
    monkeypatch.setattr(Store, "_reload", held_reload)
    third = threading.Thread(target=store.issue_token, args=("laptop",))
    third.start()
    assert reloaded.wait(10)
    go_on.set()
    lookup.join(10)
    write.set()
    third.join(10)
    monkeypatch.setattr(Store, "_reload", plain_reload)
    assert store.user_for_token(second) is not None, "the second tab's token was lost"
    store.close()
