"""A job with no request is the default request, not a video without music.

`ai-music run demo.mp4 ""` printed "✅ Video ready!" for the video as it came in. An empty or
blank prompt — or one that only says "export 1080p MP4" — now runs the same request an
omitted prompt runs (SKILL.md's Quick edit: Upload — "generate background music that matches
the mood and length of my video" — Download MP4).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from support import BUNDLED, run_cli
from media.probe import loudness
from runtime.job import DEFAULT_REQUEST, job_steps
from runtime.document.router import Router
from runtime.document import load_skill


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(load_skill(BUNDLED, cache=False))


@pytest.mark.parametrize("prompt", ["", "   ", "\t\n", "export 1080p MP4", "upload"])
def test_a_job_without_a_request_gets_the_default_one(router: Router, tmp_path: Path, prompt: str) -> None:
    video = tmp_path / "demo.mp4"
    video.write_bytes(b"\x00")
    steps = job_steps(router.route(prompt, [str(video)]).steps)
    assert [s.action.value for s in steps] == ["upload", "chat", "export"]
    assert steps[1].text == DEFAULT_REQUEST


def test_a_job_with_a_request_keeps_it(router: Router, tmp_path: Path) -> None:
    video = tmp_path / "demo.mp4"
    video.write_bytes(b"\x00")
    steps = job_steps(router.route("add lo-fi music, then export", [str(video)]).steps)
    assert [(s.action.value, s.text) for s in steps] == [("upload", "add lo-fi music, then export"),
                                                          ("chat", "add lo-fi music"), ("export", "export")]


def test_the_cli_default_is_the_jobs_default() -> None:
    from runtime.cli import DEFAULT_PROMPT

    assert DEFAULT_PROMPT == DEFAULT_REQUEST


@pytest.mark.parametrize("prompt", ["", "   "], ids=["empty", "spaces"])
def test_run_with_an_empty_prompt_puts_music_under_the_video(cli_env: dict[str, str], silent_clip: Path,
                                                             tmp_path: Path, prompt: str) -> None:
    out = tmp_path / "out.mp4"
    result = run_cli("run", str(silent_clip), prompt, "-o", str(out), "--json", env=cli_env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["files"] == [str(out)] and "BPM" in report["reply"]
    assert not loudness(out).silent  # the clip has no sound of its own: what is heard is the music
