"""The default request's piece is composed once the upload is analysed, before the turn asks for it.

The turn that sends that request takes the piece instead of composing again; any other request
composes its own; the piece is the same audio a turn would compose; a session that ends leaves
no piece behind.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from protocol.requests import DEFAULT_REQUEST
from support import Api


def _engine(server):  # noqa: ANN001, ANN202 - the Engine behind an embedded server
    return server.server.config.app.state.engine


def _until(condition, what: str, timeout: float = 120.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.fixture
def composed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every piece the engine composes (its WAV's name), whoever asked for it."""
    import engine.composing

    calls: list[str] = []
    original = engine.composing.compose_to_wav

    def counting(brief, cues, path: Path, write_wav, stop=None):  # noqa: ANN001, ANN202
        calls.append(path.name)
        return original(brief, cues, path, write_wav, stop)

    monkeypatch.setattr(engine.composing, "compose_to_wav", counting)
    return calls


def _music_src(api: Api) -> str:
    music = next(t for t in api.state()["draft"]["t"] if t.get("id") == "bgm")
    return music["sg"][0]["src"]


def test_the_default_request_takes_the_piece_composed_ahead(engine, api: Api, clip: Path, composed) -> None:
    ahead = _engine(engine).ahead
    api.upload(clip).raise_for_status()
    _until(lambda: ahead.composed == 1, "no piece was composed ahead after the upload's analysis")
    api.chat(DEFAULT_REQUEST)
    assert ahead.taken == 1
    assert len(composed) == 1, f"the turn composed again: {composed}"
    assert _music_src(api) == f"music:{composed[0].removesuffix('.wav')}"


def test_another_request_composes_its_own_piece(engine, api: Api, clip: Path, composed) -> None:
    ahead = _engine(engine).ahead
    api.upload(clip).raise_for_status()
    _until(lambda: ahead.composed == 1, "no piece was composed ahead after the upload's analysis")
    api.chat("add upbeat pop music")
    assert ahead.taken == 0
    assert len(composed) == 2 and composed[0] != composed[1]
    assert _music_src(api) == f"music:{composed[1].removesuffix('.wav')}"


def test_the_piece_composed_ahead_is_what_the_turn_would_compose(engine, api: Api, clip: Path, tmp_path: Path) -> None:
    from engine.chat.ahead import likely_piece
    from engine.composing import compose_file

    served = _engine(engine)
    api.upload(clip).raise_for_status()
    _until(lambda: served.ahead.composed == 1, "no piece was composed ahead after the upload's analysis")
    piece = likely_piece(served.store.session(api.session_id))
    api.chat(DEFAULT_REQUEST)
    again = tmp_path / "again.wav"
    compose_file(piece.brief, piece.cues, again)
    assert served.music_path(piece.key).read_bytes() == again.read_bytes()


def test_a_session_that_ends_leaves_no_piece_behind(engine, api: Api, clip: Path) -> None:
    served = _engine(engine)
    api.upload(clip).raise_for_status()
    _until(lambda: served.ahead.composed == 1, "no piece was composed ahead after the upload's analysis")
    api.http.delete(f"/api/session/nemo_agent/me/{api.session_id}", headers=api.headers()).raise_for_status()
    assert not served.ahead.by_key
    assert not list((served.store.root / "music").glob("*.wav"))


def test_an_engine_that_stops_stops_composing_the_piece_nobody_took(engine, api: Api, clip: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C on ``ai-music open`` right after the upload waited for the guessed piece to be composed
    to the end (10-25 s on a loaded machine; a CI run gave up after 60 s): the engine now cancels it,
    and composing stops at its next part, writing nothing."""
    import threading

    from engine.music import synth

    served = _engine(engine)
    original = synth._Job._render_part
    first = threading.Event()
    holder = threading.Lock()  # taken by the first part only
    asked: list[bool] = []     # whether the held part was asked to stop
    parts: list[str] = []      # parts that began after the engine asked to stop, and rendered

    def held(job, buf, part):  # noqa: ANN001, ANN202 - the first part waits until the engine asks to stop
        if holder.acquire(blocking=False):
            first.set()
            deadline = time.monotonic() + 60
            while not job.stop() and time.monotonic() < deadline:
                time.sleep(0.01)
            asked.append(job.stop())
        stopping = job.stop()
        original(job, buf, part)
        if stopping:
            parts.append(part.name)

    monkeypatch.setattr(synth._Job, "_render_part", held)
    api.upload(clip).raise_for_status()
    _until(first.is_set, "nothing was composed ahead after the upload's analysis")
    engine.stop()
    assert asked == [True], "composing was never asked to stop"
    assert not served.ahead.by_key
    assert not list((served.store.root / "music").glob("*.wav"))
    assert not parts, f"composing went on after the engine stopped: {parts}"


def test_the_mix_reuses_the_first_frame_time_the_analysis_read(engine, api: Api, clip: Path, monkeypatch) -> None:
    """The soundtrack's mix starts the original sound at the first picture: the analysis, off the
    export's path, already read when that is (its sound decode does), so the mix does not run ffmpeg again."""
    import threading

    import media.probe

    asked_in: list[str] = []  # the thread of each first-frame read
    real_run = media.probe.run

    def counting(args, **kwargs):  # noqa: ANN001, ANN202
        if str(kwargs.get("what", "")).startswith("read the first frame"):
            asked_in.append(threading.current_thread().name)
        return real_run(args, **kwargs)

    monkeypatch.setattr(media.probe, "run", counting)
    media.probe._first_frame_at.cache_clear()
    api.upload(clip).raise_for_status()
    api.chat(DEFAULT_REQUEST)
    assert api.render("r-first-frame")["status"] == "completed"
    assert len(asked_in) == 1 and not asked_in[0].startswith("soundtrack"), asked_in


def test_a_piece_whose_file_was_tidied_away_is_composed_again(tmp_path: Path) -> None:
    """Housekeeping removes cache files nobody refers to: a turn coming back later composes anew
    instead of pointing its draft at music that is gone."""
    from concurrent.futures import ThreadPoolExecutor

    from engine.ahead import ComposedAhead

    path = tmp_path / "piece.wav"
    with ThreadPoolExecutor(1) as pool:
        ahead = ComposedAhead(pool.submit)
        assert ahead.start("s1", "k1", path, lambda p: p.write_bytes(b"RIFF") and {"name": "piece"}, path)
        ahead.by_key["k1"].future.result(10)
        path.unlink()  # housekeeping.tidy after someone's render
        assert ahead.take("k1") is None


def test_guesses_never_queue_behind_each_other(tmp_path: Path) -> None:
    """One piece composed ahead at a time: a second session's guess is not queued (its turn would
    wait behind someone else's guess), and a guess its turn finds still queued is not waited for."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from engine.ahead import ComposedAhead

    gate = threading.Event()

    def slow(p: Path) -> dict[str, str]:
        assert gate.wait(10)
        p.write_bytes(b"RIFF")
        return {"name": "piece"}

    with ThreadPoolExecutor(1) as pool:
        ahead = ComposedAhead(pool.submit)
        assert ahead.start("s1", "k1", tmp_path / "1.wav", slow, tmp_path / "1.wav")
        assert not ahead.start("s2", "k2", tmp_path / "2.wav", slow, tmp_path / "2.wav")
        assert ahead.take("k2") is None  # s2's turn composes its own at once
        gate.set()
        assert ahead.take("k1") == {"name": "piece"}


def test_a_stopping_engine_cancels_every_job_and_starts_none(tmp_path: Path) -> None:
    """A turn already waiting on the piece composed ahead took it out of the guesses, so cancelling the
    guesses' sessions missed it (review): the executor itself is closed — a running job is told to stop,
    a new one never runs, and a turn does not compose the cancelled guess again for nobody."""
    import threading
    from concurrent.futures import Future

    from engine.ahead import ComposedAhead
    from engine.export.executor import InProcess
    from engine.export.job import Job, JobCancelled

    executor = InProcess()
    running, told = threading.Event(), threading.Event()

    def composing(stop):  # noqa: ANN001, ANN202
        running.set()
        deadline = time.monotonic() + 60
        while not stop() and time.monotonic() < deadline:
            time.sleep(0.01)
        told.set()
        raise RuntimeError("stopped")

    outcome: list[BaseException] = []

    def turn() -> None:
        try:
            executor.run(Job("s1", composing, (), stoppable=True))
        except BaseException as exc:  # noqa: BLE001
            outcome.append(exc)

    worker = threading.Thread(target=turn)
    worker.start()
    assert running.wait(30)
    executor.close()
    worker.join(60)
    assert told.is_set() and isinstance(outcome[0], JobCancelled)
    ran: list[str] = []
    with pytest.raises(JobCancelled):
        executor.run(Job("s2", lambda: ran.append("ran"), ()))
    assert not ran

    gone: Future = Future()
    gone.set_running_or_notify_cancel()
    gone.set_exception(JobCancelled("s1"))
    ahead = ComposedAhead(lambda fn, *args: gone)
    assert ahead.start("s1", "k1", tmp_path / "1.wav", lambda p: {}, tmp_path / "1.wav")
    with pytest.raises(JobCancelled):
        ahead.take("k1")
