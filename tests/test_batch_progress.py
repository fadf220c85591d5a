"""``ai-music batch``'s progress lines, fast: the batch loop with a stand-in job and a stand-in clock."""
from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from runtime import batch


def test_the_time_left_comes_from_finished_videos_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A video that fails at once used to make the next line say "about 0 s left": nothing is said until a
    video has finished, then the estimate is from finished ones alone."""
    now = [0.0]
    clock = SimpleNamespace(monotonic=lambda: now[0], strftime=time.strftime, gmtime=time.gmtime)
    monkeypatch.setattr(batch, "time", clock)  # the batch's own clock only
    videos = []
    for name in "abcd":
        videos.append(tmp_path / f"{name}.mp4")
        videos[-1].write_bytes(name.encode())

    def job(item: batch.Item, folder: Path, earlier: batch.Earlier) -> tuple[Path | None, str | None, dict]:
        if item.video.name in ("a.mp4", "c.mp4"):
            return None, "not a video the engine can read", {}  # refused at once: no time passes
        now[0] += 30.0
        output = folder / f"{item.video.stem}-music.mp4"
        output.write_bytes(b"made")
        return output, None, {}

    lines: list[str] = []
    batch.run_batch([batch.Item(v, "calm piano") for v in videos], tmp_path / "out", job, lines.append)
    working = [line for line in lines if line.endswith("…")]
    assert working == ["[1/4] a.mp4: working…", "[2/4] b.mp4: working…",
                       "[3/4] c.mp4: working (about 60 s left)…", "[4/4] d.mp4: working (about 30 s left)…"]


def test_no_time_left_is_said_while_it_would_round_to_nothing(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Videos made in a blink (a tiny clip, a fast machine): "about 0 s left" says nothing, so nothing is said."""
    now = [0.0]
    clock = SimpleNamespace(monotonic=lambda: now[0], strftime=time.strftime, gmtime=time.gmtime)
    monkeypatch.setattr(batch, "time", clock)  # the batch's own clock: a loaded machine cannot make it slow
    video = tmp_path / "a.mp4"
    video.write_bytes(b"a")
    items = [batch.Item(video, f"take {n}") for n in range(3)]

    def job(item: batch.Item, folder: Path, earlier: batch.Earlier) -> tuple[Path | None, str | None, dict]:
        now[0] += 0.2
        output = folder / f"{item.instruction}.mp4"
        output.write_bytes(b"made")
        return output, None, {}

    lines: list[str] = []
    batch.run_batch(items, tmp_path / "out", job, lines.append)
    assert [line for line in lines if "left)" in line] == [] and len(lines) == 7  # 3 × working, done; summary
