"""Renders on either executor (issue 18): the same render, progress and cancel on the in-process
one and on Ray; a Ray worker killed mid-render is retried and the output still plays; and an
engine not asked for Ray never loads it."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from support import ROOT, Api
from media.cores import quota_bound, usable_cpus
from media.verify import check_playable


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 s of 640x360: upscaled to 1080p with a title it encodes for seconds, long enough to stop mid-way."""
    from media.fixtures import VideoSpec, make_video

    return make_video(tmp_path_factory.mktemp("long") / "long.mp4", VideoSpec(seconds=20, width=640, height=360))


def _submit(api: Api, render_id: str) -> dict:
    draft = api.state()["draft"]
    r = api.post("/api/render/proxy/lambda", json={"id": render_id, "sessionId": api.session_id, "draft": draft})
    assert r.json()["success"], r.text
    return draft


def _ffmpeg_threads(parent: int) -> set[str]:
    """The ``-threads`` of the x264 encodes ``parent`` runs now ("auto" where not given)."""
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            args = (stat.parent / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent and "ffmpeg" in Path(args[0]).name and "libx264" in args:
            out.add(args[args.index("-threads") + 1] if "-threads" in args else "auto")
    return out


def _progress_file(data: Path, render_id: str) -> dict | None:
    """What the Ray task last wrote (engine.export.remote_render), or None before it started."""
    for path in (data / "renders").glob(f"{render_id}~*.work/*/progress.json"):  # kept per user (store.render_key)
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None
    return None


@pytest.mark.slow
def test_a_render_reports_progress_and_its_output_plays_on_either_executor(executor_engine, executor_config,
                                                                            long_clip: Path, tmp_path: Path) -> None:
    api = Api(executor_engine.url).login()
    api.upload(long_clip)
    api.chat('add a title "Both ways"')
    draft = _submit(api, "render_both")
    seen: set[int] = set()
    workers: set[int] = set()  # processes that reported from a Ray task
    threads: set[str] = set()  # the -threads of the encoders seen
    deadline = time.monotonic() + 300
    while (data := api.get("/api/render/proxy/lambda/render_both").json()["data"])["status"] not in (
            "completed", "failed"):
        assert time.monotonic() < deadline, "the render never ended"
        if data["status"] == "processing":
            seen.add(int(data["progress"]))
        worker = int((_progress_file(executor_config.data_dir, "render_both") or {}).get("pid") or 0)
        workers.add(worker)
        threads.update(_ffmpeg_threads(worker or os.getpid()))
        time.sleep(0.1)
    assert data["status"] == "completed", data
    assert [p for p in seen if 0 < p < 100], f"no progress between start and end: {sorted(seen)}"
    ran_elsewhere = bool(workers - {0, os.getpid()})
    assert ran_elsewhere == (executor_config.ray_address is not None)  # Ray's task ran in a worker process
    # a Ray task holds one CPU and its encoder keeps to one thread; here ffmpeg takes every core, as always
    assert threads == ({"1"} if ran_elsewhere else {"auto"}), threads
    out = tmp_path / "out.mp4"
    out.write_bytes(api.get("/api/render/proxy/render_both/download").content)
    check_playable(out, int(draft["d"]) / 1000)
    assert not list((executor_config.data_dir / "renders").glob("*.work"))


@pytest.mark.slow
def test_a_cancelled_render_stops_and_leaves_no_output_on_either_executor(executor_engine, executor_config,
                                                                          long_clip: Path) -> None:
    api = Api(executor_engine.url).login()
    api.upload(long_clip)
    api.chat('add a title "Stop me"')
    _submit(api, "render_stop")
    deadline = time.monotonic() + 120
    while api.get("/api/render/proxy/lambda/render_stop").json()["data"].get("stage") != "encoding video":
        assert time.monotonic() < deadline, "the render never started encoding"
        time.sleep(0.05)
    api.post("/api/render/proxy/lambda/render_stop/cancel")
    renders = executor_config.data_dir / "renders"
    deadline = time.monotonic() + 30
    while list(renders.glob("render_stop~*.work")):  # the work ends (its folder goes) soon after the cancel
        assert time.monotonic() < deadline, "the cancelled render kept working"
        time.sleep(0.05)
    assert api.get("/api/render/proxy/lambda/render_stop").json()["data"]["status"] == "cancelled"
    assert not list(renders.glob("render_stop~*.mp4"))


@pytest.mark.slow
def test_a_failed_render_says_why_in_the_users_words_on_either_executor(executor_engine, executor_config,
                                                                        clip: Path) -> None:
    api = Api(executor_engine.url).login()
    api.upload(clip)
    api.chat('add a title "Gone"')
    for media in (executor_config.data_dir / "sessions" / api.session_id / "media").iterdir():
        media.unlink(missing_ok=True)  # the upload vanished from the disk before the render (a sound decoded
        # ahead for the mix may be renaming its part file meanwhile)
    result = api.render("render_gone")
    assert result["status"] == "failed", result
    assert clip.name in result["error"], result["error"]
    for internal in (str(executor_config.data_dir), "Traceback", "Ray", "ray."):
        assert internal not in result["error"], result["error"]


@pytest.mark.slow
def test_a_ray_worker_killed_mid_render_is_retried_and_the_output_plays(ray_cluster, engine_config,
                                                                       long_clip: Path, tmp_path: Path) -> None:
    from engine.embedded import start

    engine_config.ray_address = ray_cluster
    server = start(engine_config)
    try:
        api = Api(server.url).login()
        api.upload(long_clip)
        api.chat('add a title "Survivor"')
        draft = _submit(api, "render_kill")
        deadline = time.monotonic() + 120
        while (report := _progress_file(engine_config.data_dir, "render_kill") or {}).get("stage") != "encoding video":
            assert time.monotonic() < deadline, "the render never started encoding"
            time.sleep(0.02)
        killed = int(report["pid"])
        assert killed != os.getpid()
        os.kill(killed, signal.SIGKILL)  # the Ray worker running the task, mid-encode
        retried_in: set[int] = set()
        deadline = time.monotonic() + 300
        while (done := api.get("/api/render/proxy/lambda/render_kill").json()["data"])["status"] not in (
                "completed", "failed", "cancelled"):
            assert time.monotonic() < deadline, "the render never ended"
            retried_in.add(int((_progress_file(engine_config.data_dir, "render_kill") or {}).get("pid") or killed))
            time.sleep(0.05)
        assert done["status"] == "completed", done
        assert retried_in - {killed}, "no other worker took the render up"
        out = tmp_path / "out.mp4"
        out.write_bytes(api.get("/api/render/proxy/render_kill/download").content)
        check_playable(out, int(draft["d"]) / 1000)  # whole, to its last packet
        assert not list((engine_config.data_dir / "renders").glob("*.work"))
    finally:
        server.stop()


def test_the_in_process_executor_alone_shares_the_cores_between_the_renders_it_runs(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # one place decides a render's threads: the executor that knows what else runs on its cores
    import engine.export.executor as executor
    from engine.export.graph import RenderJob

    given: dict[str, int] = {}
    inside, release = threading.Event(), threading.Event()

    def stand_in(job: RenderJob, progress) -> None:  # noqa: ANN001 - records what the encoder would be given
        given[job.out.name] = job.threads
        if job.out.name == "first.mp4":
            inside.set()
            assert release.wait(30)

    def job(name: str, threads: int) -> RenderJob:  # a stale share set by someone else must not count
        return RenderJob(draft={"d": 3000}, sources={}, soundtrack=lambda: tmp_path / "a.m4a", out=tmp_path / name,
                         work_dir=tmp_path, threads=threads)

    monkeypatch.setattr(executor, "render", stand_in)
    in_process = executor.InProcess()
    first = threading.Thread(target=in_process.render, args=(job("first.mp4", 7), lambda *_: None))
    first.start()
    assert inside.wait(30)
    in_process.render(job("beside.mp4", 7), lambda *_: None)
    release.set()
    first.join(30)
    in_process.render(job("after.mp4", 7), lambda *_: None)
    alone = usable_cpus() if quota_bound() else 0  # x264's own choice, or told a CPU quota's cores
    assert given == {"first.mp4": alone, "beside.mp4": max(1, usable_cpus() // 2), "after.mp4": alone}


# ----------------------------------------------------------------------------- `serve` without Ray

SERVE_AND_REPORT = """
import sys
import uvicorn
def run(self, sockets=None):
    print("ray loaded" if any(m == "ray" or m.startswith("ray.") for m in sys.modules) else "ray not loaded")
uvicorn.Server.run = run
from runtime.cli import main
sys.exit(main(["serve", "--port", "0", "--data", sys.argv[1], *sys.argv[2:]]))
"""


def _serve_once(data: Path, *options: str, block_ray: bool = False,
                ray_address: str | None = None) -> subprocess.CompletedProcess[str]:
    """`ai-music serve` up to the point it would start serving, then report whether Ray was imported."""
    code = ("import sys; sys.modules['ray'] = None\n" if block_ray else "") + SERVE_AND_REPORT
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    if ray_address:
        env["RAY_ADDRESS"] = ray_address
    return subprocess.run([sys.executable, "-c", code, str(data), *options], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_serve_without_options_never_imports_ray(tmp_path: Path) -> None:
    result = _serve_once(tmp_path / "engine")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "ray not loaded"
    assert "Ray" not in result.stdout


def test_serve_with_a_ray_address_where_nothing_listens_says_so_in_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"
    result = _serve_once(tmp_path / "engine", "--ray", address)
    assert result.returncode != 0
    assert result.stderr.strip() == f"ai-music: cannot reach the Ray cluster at {address} (Connection refused)"


def test_serve_with_ray_but_without_the_extra_says_how_to_get_it(tmp_path: Path) -> None:
    result = _serve_once(tmp_path / "engine", "--ray", "127.0.0.1:6379", block_ray=True)
    assert result.returncode != 0
    assert result.stderr.strip() == "ai-music: --ray needs Ray: pip install 'ai-music[ray]'"
    assert "ai-music engine on" not in result.stdout


def test_ray_address_in_the_environment_without_the_extra_still_serves_in_process(tmp_path: Path) -> None:
    # Ray's own nodes set RAY_ADDRESS for Ray's tools: a plain serve there must still start
    result = _serve_once(tmp_path / "engine", block_ray=True, ray_address="127.0.0.1:6379")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ("ai-music: RAY_ADDRESS is set but ai-music[ray] is not installed: renders run "
                                     "in this process (pip install 'ai-music[ray]' to run them on 127.0.0.1:6379)")
    assert "Ray" not in result.stdout
