"""A soundtrack build that is already finished when ``prepare`` registers its callback must not hang.

Seen in the full suite under load: the build finished before ``add_done_callback``, which then ran
``_forget`` at once on the same thread while ``prepare`` held the (then non-reentrant) lock — the
render waited for ever and the engine could not stop.
"""
from __future__ import annotations

import threading
from pathlib import Path

from engine.export import soundtrack


def test_prepare_returns_when_the_build_is_already_done(tmp_path: Path, monkeypatch) -> None:
    tracks = soundtrack.Soundtracks(tmp_path, master=None)
    monkeypatch.setattr(tracks, "_build", lambda *args: tmp_path / "built.m4a")
    submit = tracks.pool.submit

    def finished_at_once(fn, *args):  # noqa: ANN001, ANN202
        future = submit(fn, *args)
        future.result()
        return future

    monkeypatch.setattr(tracks.pool, "submit", finished_at_once)
    monkeypatch.setattr(soundtrack, "soundtrack_key", lambda *args: "key")
    result: list = []
    worker = threading.Thread(target=lambda: result.append(
        tracks.prepare({"d": 1000}, {}, lambda key: tmp_path / "music.wav", [])), daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "prepare() deadlocked on its own lock"
    assert result[0].result() == tmp_path / "built.m4a" and not tracks.pending
    tracks.pool.shutdown()


def test_a_turn_starts_its_soundtrack_before_it_writes_the_session(engine, clip: Path, monkeypatch) -> None:
    """Issue 16: the soundtrack (mix, master, AAC) is the longest step after composing; it starts from the
    turn's edited draft, not after that draft was written (a synced file) and read back."""
    from support import Api

    core = engine.server.config.app.state.engine
    order: list[str] = []
    prepare, update = core.renders.soundtracks.prepare, core.store.update_session

    def preparing(draft, *args):  # noqa: ANN001, ANN202
        order.append(f"soundtrack {len(draft.get('t', []))} tracks")
        return prepare(draft, *args)

    def writing(session_id, change):  # noqa: ANN001, ANN202 - notes the write that changes the draft
        before = (core.store.session(session_id) or {"state": {}})["state"].get("draft")
        result = update(session_id, change)
        if core.store.session(session_id)["state"].get("draft") != before:
            order.append("draft written")
        return result

    monkeypatch.setattr(core.renders.soundtracks, "prepare", preparing)
    api = Api(engine.url).login()
    api.upload(clip).raise_for_status()
    monkeypatch.setattr(core.store, "update_session", writing)
    order.clear()
    api.chat("add calm piano music")
    tracks = len(api.state()["draft"]["t"])
    assert order[:2] == [f"soundtrack {tracks} tracks", "draft written"], order
