"""Killing things mid-flight: the engine mid-render, the client mid-download."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import ROOT, Api, run_cli, serve_engine
from media.probe import probe

pytestmark = pytest.mark.slow  # renders video or runs whole commands: minutes (bin/test -m 'not slow' skips)


def test_engine_killed_mid_render_resumes_it_and_keeps_finished_ones(tmp_path: Path, clip: Path) -> None:
    data = tmp_path / "engine"
    engine, url = serve_engine("--data", str(data), "--test-api")
    try:
        api = Api(url).login()
        api.upload(clip)
        api.chat('add a title "Survivor"')
        draft = api.state()["draft"]
        api.post("/api/render/proxy/lambda", json={"id": "render_done", "sessionId": api.session_id, "draft": draft})
        finished = api.wait("render_done", ("completed",))
        before = api.get(f"/api/render/proxy/{finished['id']}/download").content
        api.faults(render_delay_s=30)
        api.post("/api/render/proxy/lambda", json={"id": "render_cut", "sessionId": api.session_id, "draft": draft})
        api.wait("render_cut", ("pending", "processing"))
    finally:
        engine.send_signal(signal.SIGKILL)
        engine.wait()
    engine, url = serve_engine("--data", str(data), "--test-api")
    api = _same_client(api, url)  # a restarted engine may get another port; the token and session are kept
    try:
        assert api.state()["draft"] == draft                                   # session survived
        assert api.get("/api/render/proxy/render_done/download").content == before  # finished render survived
        resumed = api.wait("render_cut", ("completed", "failed"))
        assert resumed["status"] == "completed"                                 # unfinished one resumed, not lost
    finally:
        engine.terminate()
        engine.wait(10)


def _same_client(api: Api, url: str) -> Api:
    moved = Api(url)
    moved.token, moved.session_id = api.token, api.session_id
    return moved


def test_client_killed_mid_download_leaves_no_file_and_resumes(cli_env, engine, big_clip: Path,
                                                              tmp_path: Path) -> None:
    first = run_cli("say", "--attach", str(big_clip), "add a title 'Slow' for 2 seconds", env=cli_env)
    assert first.returncode == 0, first.stderr
    Api(engine.url).faults(download_bps=200_000)
    target = tmp_path / "video.mp4"
    part = target.with_name(target.name + ".part")
    proc = subprocess.Popen([sys.executable, "-m", "runtime.cli", "say", "export", "-o", str(target)], cwd=ROOT,
                            env={**os.environ, **cli_env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (part.exists() and part.stat().st_size > 100_000):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert not target.exists() and part.exists()
    kept = part.stat().st_size
    Api(engine.url).faults(download_bps=0)
    second = run_cli("say", "--json", "export", env=cli_env)
    data = json.loads(second.stdout)
    assert data["ok"], second.stderr
    assert Path(data["files"][0]) == target and not part.exists() and target.stat().st_size > kept
    assert probe(target).video.height == 1080
