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


def _plan_line(stdout: str, name: str) -> str:
    """The item's last line: how it ended (the first one says it is working)."""
    return [line for line in stdout.splitlines() if f"] {name}:" in line][-1]


def test_plan_saves_each_videos_picture_beside_the_file_it_was_drawn_for(tmp_path: Path) -> None:
    """Named after where the video really went (a taken name numbers both); recorded only when this run drew
    it: a video redone without --plan loses the picture of the video it replaced, and a later --plan run says
    it has none rather than making the finished video again."""
    from PIL import Image

    from engine.workspace.plan import SIZE

    where = tmp_path / "in"
    where.mkdir()
    make_video(where / "a.mp4", VideoSpec(seconds=2.0, width=320, height=180, scene_seconds=[1.0, 1.0]))
    outdir = tmp_path / "out"
    outdir.mkdir()
    (outdir / "a-music.mp4").write_bytes(b"the user's own file")  # taken: the batch writes a-music-2.mp4

    first = run_cli("batch", str(where), "calm piano music", "-o", str(outdir), "--plan", timeout=600)
    assert first.returncode == 0, first.stdout + first.stderr
    picture = outdir / "a-music-2-plan.png"
    assert "✓ a-music-2.mp4 + a-music-2-plan.png" in first.stdout
    assert Image.open(picture).size == SIZE and (outdir / "a-music.mp4").read_bytes() == b"the user's own file"
    entry = next(iter(_manifest(outdir).values()))
    assert entry["plan"] == {"path": str(picture), "output": str(outdir / "a-music-2.mp4")}

    again = run_cli("batch", str(where), "calm piano music", "-o", str(outdir), "--plan", timeout=600)
    assert again.returncode == 0 and "done earlier" in again.stdout, again.stdout + again.stderr

    # the input changes: video and picture are made again in place (its own picture is replaced, not numbered)
    make_video(where / "a.mp4", VideoSpec(seconds=3.0, width=320, height=180, scene_seconds=[2.0, 1.0]))
    drawn = picture.stat().st_ino
    changed = run_cli("batch", str(where), "calm piano music", "-o", str(outdir), "--plan", timeout=600)
    assert "✓ a-music-2.mp4 + a-music-2-plan.png" in changed.stdout, changed.stdout + changed.stderr
    assert picture.stat().st_ino != drawn and sorted(p.name for p in outdir.glob("*.png")) == ["a-music-2-plan.png"]

    # it changes again and the batch runs without --plan: its record goes, and so does the picture of the old video
    make_video(where / "a.mp4", VideoSpec(seconds=2.5, width=320, height=180, scene_seconds=[1.5, 1.0]))
    plain = run_cli("batch", str(where), "calm piano music", "-o", str(outdir), timeout=600)
    assert plain.returncode == 0 and "✓ a-music-2.mp4 (" in plain.stdout, plain.stdout + plain.stderr
    assert "plan" not in next(iter(_manifest(outdir).values())) and not picture.exists()

    # a --plan run now: the finished video is not made again for its picture (its project is gone)
    made = (outdir / "a-music-2.mp4").stat().st_mtime_ns
    redo = run_cli("batch", str(where), "calm piano music", "-o", str(outdir), "--plan", timeout=600)
    assert redo.returncode == 0, redo.stdout + redo.stderr
    line = _plan_line(redo.stdout, "a.mp4")
    assert "done earlier → a-music-2.mp4; no fit picture: " in line and "made without --plan" in line
    assert "ai-music run" not in line and "working" not in redo.stdout
    assert f"`ai-music run {where / 'a.mp4'} 'calm piano music' --plan PLAN.png`" in redo.stdout.splitlines()[-1]
    assert "1 of 1 done, 1 from an earlier run, 1 without a fit picture" in redo.stdout
    assert (outdir / "a-music-2.mp4").stat().st_mtime_ns == made and not picture.exists()
    assert next(iter(_manifest(outdir).values()))["status"] == "done"


def test_plan_leaves_a_picture_it_did_not_write_and_does_not_retry_what_cannot_be_drawn(tmp_path: Path) -> None:
    """A title-only instruction has no music to draw: said once in plain words, recorded, not redone by every
    later --plan run. A file already named like the picture belongs to someone else: left as it is, and the
    picture is numbered beside it."""
    where = tmp_path / "in"
    where.mkdir()
    for name in ("t.mp4", "u.mp4"):
        make_video(where / name, VideoSpec(seconds=2.0, width=320, height=180, scene_seconds=[1.0, 1.0]))
    listing = tmp_path / "jobs.jsonl"
    listing.write_text(json.dumps({"file": str(where / "t.mp4"), "instruction": "add a title 'Hello' for 1 second"})
                       + "\n" + json.dumps({"file": str(where / "u.mp4"), "instruction": "calm piano music"}) + "\n")
    outdir = tmp_path / "out"
    outdir.mkdir()
    (outdir / "u-music-plan.png").write_bytes(b"someone else's picture")

    first = run_cli("batch", str(listing), "-o", str(outdir), "--plan", timeout=600)
    assert first.returncode == 0, first.stdout + first.stderr  # the videos are made: a picture is extra
    title_only = _plan_line(first.stdout, "t.mp4")
    assert "✓ t-music.mp4 (" in title_only and "s); no fit picture: there is no generated music" in title_only
    assert title_only.count("no fit picture") == 1 and "Traceback" not in first.stderr
    assert "✓ u-music.mp4 + u-music-plan-2.png (" in _plan_line(first.stdout, "u.mp4")
    assert (outdir / "u-music-plan.png").read_bytes() == b"someone else's picture"
    assert (outdir / "u-music-plan-2.png").stat().st_size > 10_000
    entries = {Path(e["video"]).name: e for e in _manifest(outdir).values()}
    assert entries["t.mp4"]["plan_error"]["lasting"] is True and "plan" not in entries["t.mp4"]
    assert entries["u.mp4"]["plan"]["path"] == str(outdir / "u-music-plan-2.png") and "plan_error" not in entries["u.mp4"]
    assert not (outdir / "t-music-plan.png").exists()

    again = run_cli("batch", str(listing), "-o", str(outdir), "--plan", timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "done earlier" in _plan_line(again.stdout, "t.mp4")  # not redone: it still has no music
    assert "done earlier" in _plan_line(again.stdout, "u.mp4") and "working" not in again.stdout
    assert (outdir / "u-music-plan.png").read_bytes() == b"someone else's picture"


def test_plan_on_a_backend_without_pictures_is_refused_before_anything_is_made(engine, cli_env, folder: Path,
                                                                               tmp_path: Path) -> None:
    from support import Api

    Api(engine.url).faults(endpoint=[{"endpoint": "fit_picture", "status": 404, "times": 5, "message": "Not Found"}])
    outdir = tmp_path / "out"
    refused = run_cli("batch", str(folder), "-o", str(outdir), "--plan", env=cli_env)
    assert refused.returncode == 2 and "does not draw fit pictures" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
    assert not outdir.exists()  # refused before the folder is made and the first video uploaded


def test_batch_is_in_the_help() -> None:
    assert "batch" in run_cli("--help").stdout
    assert ROOT.is_dir()
