"""Analysis, composing and music-only exports on either executor (issue 18): the same results on
the in-process one and on Ray; a released session's jobs are stopped and keep nothing; a Ray worker
killed mid-analysis or mid-compose is retried elsewhere and the result still arrives, whole."""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from support import Api
from engine.export.remote_job import read_note
from protocol.draft import track


@pytest.fixture(scope="module")
def long_take(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """90 s of small picture with voice: its music takes the composer seconds, long enough to stop mid-way."""
    from media.fixtures import VideoSpec, make_video

    return make_video(tmp_path_factory.mktemp("take") / "take.mp4", VideoSpec(seconds=90, width=160, height=90, fps=10))


class Notes:
    """Which processes ran the engine's jobs, read from the notes Ray's tasks leave while they run
    (engine.export.remote_job; the in-process executor leaves none), polled in a thread."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / "jobs"
        self.seen: dict[str, set[int]] = {}  # function → pids
        self.runs: dict[tuple[str, str], set[int]] = {}  # (note, function) → pids; retries write the same note
        self.running = True
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while self.running:
            for path in self.folder.glob("*.json"):
                if (note := read_note(path)) is not None:
                    self.seen.setdefault(note["fn"].rsplit(".", 1)[-1], set()).add(int(note["pid"]))
                    self.runs.setdefault((path.name, note["fn"]), set()).add(int(note["pid"]))
            time.sleep(0.01)

    def wait_for(self, fn: str, timeout: float = 120) -> int:
        deadline = time.monotonic() + timeout
        while not self.seen.get(fn):
            assert time.monotonic() < deadline, f"no {fn} job started"
            time.sleep(0.01)
        return next(iter(self.seen[fn]))

    def job_of(self, pid: int, fn: str) -> tuple[str, str]:
        """The job running ``fn`` in ``pid`` (a worker runs one job after another)."""
        return next(job for job, pids in self.runs.items() if job[1].endswith(f".{fn}") and pid in pids)

    def wait_until_gone(self, timeout: float = 120) -> None:
        """Every job ended and took its note with it; a piece composed ahead may end after the turn that
        did not need it, so this waits rather than looks once."""
        deadline = time.monotonic() + timeout
        while left := list(self.folder.glob("*.json")):
            assert time.monotonic() < deadline, f"notes left behind: {[read_note(p) for p in left]}"
            time.sleep(0.05)

    def stop(self) -> dict[str, set[int]]:
        self.running = False
        self.thread.join()
        return self.seen


def _music(api: Api, data_dir: Path) -> list[Path]:
    """The composed pieces, once the draft has a music track: their WAVs in the engine's music cache."""
    bgm = track(api.state()["draft"], 1)
    assert bgm and bgm["sg"] and bgm["sg"][0]["src"].startswith("music:"), bgm
    return list((data_dir / "music").glob("*.wav"))


def _analysis(api: Api, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while not (analyses := api.state().get("video_analyses") or {}):
        assert time.monotonic() < deadline, "the upload was never analysed"
        time.sleep(0.05)
    return next(iter(analyses.values()))


@pytest.mark.slow
def test_an_upload_is_analysed_and_its_music_composed_on_either_executor(executor_engine, executor_config,
                                                                        clip: Path) -> None:
    notes = Notes(executor_config.data_dir)
    api = Api(executor_engine.url).login()
    api.upload(clip)
    analysis = _analysis(api)
    api.chat("add lo-fi music")
    notes.wait_until_gone()  # notes go with their jobs
    seen = notes.stop()
    assert "error" not in analysis, analysis
    assert analysis["scene_cuts"] == [4.0], analysis["scene_cuts"]  # the clip's one cut, in seconds
    assert _music(api, executor_config.data_dir)
    ray = executor_config.ray_address is not None
    elsewhere = set().union(*seen.values()) - {os.getpid()} if seen else set()
    assert bool(elsewhere) == ray  # on Ray, the jobs ran in its worker processes
    if ray:
        assert {"analyze_to_json", "compose_file"} <= set(seen), seen


@pytest.mark.slow
def test_a_released_session_stops_its_analysis_and_keeps_nothing_on_either_executor(
        executor_engine, executor_config, long_take: Path) -> None:
    ray = executor_config.ray_address is not None
    notes = Notes(executor_config.data_dir)
    api = Api(executor_engine.url).login()
    api.upload(long_take)
    worker = notes.wait_for("analyze_to_json") if ray else None  # released while the task runs
    r = api.http.delete(f"/api/session/nemo_agent/me/{api.session_id}", headers=api.headers())
    assert r.json()["data"]["released"], r.text
    engine = executor_engine.server.config.app.state.engine  # type: ignore[attr-defined]
    deadline = time.monotonic() + 120
    while not all(f.done() for f in engine.analyses.values()):
        assert time.monotonic() < deadline, "the released session's analysis kept running"
        time.sleep(0.05)
    notes.stop()
    assert engine.store.session(api.session_id) is None
    assert not (executor_config.data_dir / "sessions" / api.session_id).exists()  # nothing written back
    assert not list((executor_config.data_dir / "jobs").glob("*.json"))
    if worker is not None:  # Ray: the task was cancelled, not left to finish — its worker process is gone
        deadline = time.monotonic() + 30
        while _alive(worker):
            assert time.monotonic() < deadline, "the cancelled analysis' worker still runs"
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_a_ray_worker_killed_mid_compose_is_retried_and_the_music_arrives(ray_cluster, engine_config,
                                                                         long_take: Path) -> None:
    from engine.embedded import start

    engine_config.ray_address = ray_cluster
    server = start(engine_config)
    notes = Notes(engine_config.data_dir)
    try:
        api = Api(server.url).login()
        api.upload(long_take)
        _analysis(api)
        turn = threading.Thread(target=api.chat, args=("add cinematic music",))
        turn.start()
        killed = notes.wait_for("compose_file")
        job = notes.job_of(killed, "compose_file")  # the turn's piece, or one composed ahead of it
        os.kill(killed, signal.SIGKILL)  # the Ray worker composing the piece
        turn.join(300)
        assert not turn.is_alive(), "the chat turn never ended"
        assert _music(api, engine_config.data_dir)
        notes.wait_until_gone(300)  # the killed job ended too, retried, and took its note with it
        notes.stop()
        assert notes.runs[job] - {killed}, "no other worker took the killed job up"
    finally:
        notes.stop()
        server.stop()


@pytest.mark.slow
def test_a_ray_worker_killed_mid_analysis_is_retried_and_the_analysis_is_whole(ray_cluster, engine_config,
                                                                               long_take: Path) -> None:
    from engine.analysis.analyze import analyze_to_json
    from engine.embedded import start

    engine_config.ray_address = ray_cluster
    server = start(engine_config)
    notes = Notes(engine_config.data_dir)
    try:
        api = Api(server.url).login()
        api.upload(long_take)
        killed = notes.wait_for("analyze_to_json")
        os.kill(killed, signal.SIGKILL)  # the Ray worker analysing the upload
        analysis = _analysis(api, timeout=300)
        seen = notes.stop()
        assert seen["analyze_to_json"] - {killed}, "no other worker took the analysis up"
        assert "error" not in analysis, analysis
        assert analysis == json.loads(json.dumps(analyze_to_json(long_take)))  # as if no worker had died
        left = [read_note(path) for path in (engine_config.data_dir / "jobs").glob("*.json")]
        assert not [n for n in left if n and n["fn"].endswith("analyze_to_json")]  # (composing ahead may have begun)
    finally:
        notes.stop()
        server.stop()


# ----------------------------------------------------------------------------- music-only exports

@pytest.fixture(params=["in-process", "ray"])
def executor(request: pytest.FixtureRequest, tmp_path: Path):  # noqa: ANN201
    """Either executor on its own, its Ray jobs noting their worker in ``tmp_path/jobs``."""
    from engine.export.executor import executor_for

    chosen = executor_for(request.getfixturevalue("ray_cluster") if request.param == "ray" else None,
                          jobs_dir=tmp_path / "jobs")
    yield chosen
    chosen.shutdown()


def _with_music(key: str, ms: int) -> dict:
    return {"d": ms, "t": [{"tt": 1, "sg": [{"src": f"music:{key}", "st": 0, "d": ms}]}]}


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["mp3", "wav"])
def test_the_music_exports_alone_on_either_executor(executor, tmp_path: Path, fmt: str) -> None:
    from engine.export.executor import InProcess
    from engine.export.music_only import music_job
    from media.fixtures import make_audio
    from media.verify import check_playable

    music = tmp_path / "music"
    make_audio(music / "piece.wav", seconds=4, kind="tone")
    notes = Notes(tmp_path)
    out = tmp_path / "renders" / f"export.{fmt}"
    out.parent.mkdir()
    job = music_job("render-export", _with_music("piece", 4000), fmt, out, tmp_path / "work",
                    lambda key: music / f"{key}.wav", None)
    assert executor.run(job) == out.resolve()
    seen = notes.stop()
    check_playable(out, 4.0)
    assert bool(seen.get("write_music", set()) - {os.getpid()}) != isinstance(executor, InProcess)  # Ray: a worker
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == []  # no part file left behind
    assert not list((tmp_path / "jobs").glob("*.json"))


@pytest.mark.slow
def test_a_music_export_that_cannot_be_made_says_why_on_either_executor(executor, tmp_path: Path) -> None:
    from engine.export.music_only import MusicExportError, music_job

    out = tmp_path / "renders" / "export.mp3"
    job = music_job("render-export", _with_music("never-composed", 4000), "mp3", out, tmp_path / "work",
                    lambda key: tmp_path / "music" / f"{key}.wav", None)
    with pytest.raises(MusicExportError, match="^the music has not been composed yet$"):
        executor.run(job)
    assert not out.exists()


@pytest.mark.slow
def test_an_engine_exports_the_music_as_mp3_on_either_executor(executor_config, clip: Path,
                                                               tmp_path: Path) -> None:
    from engine.embedded import start
    from media.verify import check_playable

    server = start(executor_config)
    notes = Notes(executor_config.data_dir)
    try:
        api = Api(server.url).login()
        api.upload(clip)
        api.chat("add lo-fi music")
        draft = api.state()["draft"]
        r = api.post("/api/render/proxy/lambda", json={"id": "render_mp3", "sessionId": api.session_id,
                                                       "draft": draft, "output": {"format": "mp3"}})
        assert r.json()["success"], r.text
        done = api.wait("render_mp3", ("completed", "failed", "cancelled"), 180)
        seen = notes.stop()
        assert done["status"] == "completed", done
        out = tmp_path / "music.mp3"
        out.write_bytes(api.get("/api/render/proxy/render_mp3/download").content)
        check_playable(out, int(track(draft, 1)["sg"][0]["d"]) / 1000)
        ray = executor_config.ray_address is not None
        assert bool(seen.get("write_music", set()) - {os.getpid()}) == ray  # on Ray, a worker wrote it
    finally:
        notes.stop()
        server.stop()
