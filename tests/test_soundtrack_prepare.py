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
