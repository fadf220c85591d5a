"""The engine's disk does not only grow: run frees its project, say keeps one render, clean frees the rest."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from support import run_cli

pytestmark = pytest.mark.slow  # renders video or runs whole commands: minutes (bin/test -m 'not slow' skips)


def engine_dir(home: Path) -> Path:
    return home / ".local" / "share" / "ai-music" / "engine"


def files_under(root: Path, *folders: str) -> list[str]:
    return sorted(str(p.relative_to(root)) for folder in folders for p in (root / folder).rglob("*")
                  if p.is_file()) if root.exists() else []


@pytest.fixture
def demo(clip: Path, tmp_path: Path) -> Path:
    video = tmp_path / "demo.mp4"
    shutil.copy(clip, video)
    return video


def test_run_leaves_no_media_behind_once_its_video_is_written(demo: Path, tmp_path: Path,
                                                             isolated_home: Path) -> None:
    result = run_cli("run", str(demo), "add calm music", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "demo-music.mp4").stat().st_size > 0
    root = engine_dir(isolated_home)
    assert files_under(root, "sessions", "renders", "music", "mixes") == []


def test_run_gives_say_its_project_back(demo: Path, tmp_path: Path) -> None:
    assert run_cli("say", "--attach", str(demo), "add a title 'Mine' for 2 seconds").returncode == 0
    assert run_cli("run", str(demo), "add calm music", cwd=tmp_path).returncode == 0
    status = run_cli("say", "status")
    assert '"Mine"' in status.stdout, status.stdout + status.stderr


def test_the_say_project_keeps_only_its_latest_render(demo: Path, tmp_path: Path, isolated_home: Path) -> None:
    assert run_cli("say", "--attach", str(demo), "add lo-fi music").returncode == 0
    assert run_cli("say", "export", cwd=tmp_path).returncode == 0
    assert run_cli("say", "add a title 'Later' for 2 seconds").returncode == 0
    assert run_cli("say", "export", cwd=tmp_path).returncode == 0
    root = engine_dir(isolated_home)
    assert len(list((root / "renders").glob("*.mp4"))) == 1
    records = [json.loads(p.read_text()) for p in (root / "renders").glob("*.json")]
    assert sorted(bool(r.get("expired")) for r in records) == [False, True]
    assert len(files_under(root, "sessions")) == 2  # session.json and the one upload


def test_clean_shows_then_frees_what_no_project_needs(demo: Path, tmp_path: Path, isolated_home: Path) -> None:
    assert run_cli("say", "--attach", str(demo), "add lo-fi music").returncode == 0
    assert run_cli("say", "export", cwd=tmp_path).returncode == 0
    assert run_cli("say", "--new", "--attach", str(demo), "add a title 'Current' for 2 seconds").returncode == 0
    root = engine_dir(isolated_home)
    before = files_under(root, "sessions", "renders", "music", "mixes")
    shown = run_cli("clean", "--dry-run")
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"old projects \(uploads, music, renders\) +1 ", shown.stdout), shown.stdout
    assert "Would free" in shown.stdout and "Run `ai-music clean`" in shown.stdout
    assert files_under(root, "sessions", "renders", "music", "mixes") == before
    freed = run_cli("clean")
    assert freed.returncode == 0 and "Freed" in freed.stdout
    assert len(list((root / "sessions").iterdir())) == 1 and not list((root / "renders").glob("*.mp4"))
    assert not list((root / "music").glob("*.wav"))  # the old project's piece; the current one has none
    status = run_cli("say", "status")  # the current project is intact
    assert '"Current"' in status.stdout and "demo" in status.stdout
    again = run_cli("clean")
    assert "nothing to free" in again.stdout


def test_clean_waits_for_no_engine(isolated_home: Path) -> None:
    from engine.config import EngineConfig
    from engine.embedded import start

    with start(EngineConfig(data_dir=engine_dir(isolated_home))):
        busy = run_cli("clean")
        shown = run_cli("clean", "--dry-run")
    assert busy.returncode == 1 and "an engine is using" in busy.stderr
    assert shown.returncode == 0  # looking is always fine
