"""``ai-music batch``: a folder (or a list) of videos, each its own project, resumable."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from media.fixtures import VideoSpec, make_video
from media.probe import probe
from support import ROOT, run_cli

pytestmark = pytest.mark.slow  # renders several videos


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("batch-in")
    for name in ("a-intro.mp4", "b-demo.mp4", "c-outro.mp4"):
        make_video(where / name, VideoSpec(seconds=2.5, width=320, height=180, scene_seconds=[1.5, 1.0]))
    (where / "notes.txt").write_text("not a video")
    return where


def _manifest(outdir: Path) -> dict:
    return json.loads((outdir / ".ai-music-batch.json").read_text())["items"]


def test_every_video_gets_its_own_music_video_and_a_second_run_redoes_nothing(folder: Path, tmp_path: Path) -> None:
    outdir = tmp_path / "out"
    first = run_cli("batch", str(folder), "calm piano music", "-o", str(outdir), timeout=600)
    assert first.returncode == 0, first.stdout + first.stderr
    made = sorted(p.name for p in outdir.glob("*.mp4"))
    assert made == ["a-intro-music.mp4", "b-demo-music.mp4", "c-outro-music.mp4"]
    for name in made:
        info = probe(outdir / name)
        assert info.has_audio and info.video is not None and abs(info.duration_s - 2.5) < 0.2
    assert "3 of 3 done" in first.stdout
    assert oct((outdir / ".ai-music-batch.json").stat().st_mode & 0o777) == "0o600"
    stamps = {p.name: p.stat().st_mtime_ns for p in outdir.glob("*.mp4")}

    # one input changes: only that one is redone
    make_video(folder / "b-demo.mp4", VideoSpec(seconds=3.0, width=320, height=180, scene_seconds=[2.0, 1.0]))
    again = run_cli("batch", str(folder), "calm piano music", "-o", str(outdir), timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("done earlier") == 2
    assert {p.name: p.stat().st_mtime_ns for p in outdir.glob("*.mp4") if p.name != "b-demo-music.mp4"} == \
        {k: v for k, v in stamps.items() if k != "b-demo-music.mp4"}
    assert abs(probe(outdir / "b-demo-music.mp4").duration_s - 3.0) < 0.2
    assert sorted(p.name for p in outdir.glob("*.mp4")) == made  # redone in place: no numbered copy


def test_an_interrupted_batch_finishes_the_rest_when_run_again(folder: Path, tmp_path: Path) -> None:
    outdir = tmp_path / "out"
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, "-m", "runtime.cli", "batch", str(folder), "-o", str(outdir)],
                            cwd=env["HOME"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # interrupt once the first video is finished
        try:
            if any(e.get("status") == "done" for e in _manifest(outdir).values()):
                break
        except (OSError, ValueError):
            pass
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert "Run the same command again" in out
    assert "Traceback" not in err
    finished = sorted(p.name for p in outdir.glob("*-music.mp4"))
    assert 1 <= len(finished) <= 2

    rest = run_cli("batch", str(folder), "-o", str(outdir), timeout=600)
    assert rest.returncode == 0, rest.stdout + rest.stderr
    assert rest.stdout.count("done earlier") == len(finished)
    assert sorted(p.name for p in outdir.glob("*-music.mp4")) == ["a-intro-music.mp4", "b-demo-music.mp4",
                                                                  "c-outro-music.mp4"]
    assert not list(outdir.glob("*.part"))


def test_a_list_gives_each_file_its_own_instruction(folder: Path, tmp_path: Path) -> None:
    listing = tmp_path / "jobs.jsonl"
    listing.write_text(json.dumps({"file": str(folder / "a-intro.mp4"), "instruction": "add lo-fi music at 35%"})
                       + "\n")
    outdir = tmp_path / "out"
    result = run_cli("batch", str(listing), "-o", str(outdir), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    entry = next(iter(_manifest(outdir).values()))
    assert entry["status"] == "done" and Path(entry["output"]).name == "a-intro-music.mp4"


@pytest.mark.parametrize("content, message", [
    ("name,instruction\nx.mp4,hi\n", "needs a header row with a 'file' column"),
    ("file,instruction\nmissing.mp4,hi\n", "missing.mp4: no such file"),
])
def test_a_bad_list_is_one_clear_line(tmp_path: Path, content: str, message: str) -> None:
    listing = tmp_path / "jobs.csv"
    listing.write_text(content)
    result = run_cli("batch", str(listing), "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_folder_without_videos_is_refused(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("hi")
    result = run_cli("batch", str(tmp_path), "-o", str(tmp_path / "out"))
    assert result.returncode == 2 and "no videos in this folder" in result.stderr


def test_batch_is_in_the_help() -> None:
    assert "batch" in run_cli("--help").stdout
    assert ROOT.is_dir()
