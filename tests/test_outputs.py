"""Where results land: named after the input, into folders as asked, never over anything silently."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from support import run_cli
from media.probe import probe

pytestmark = pytest.mark.slow  # renders video or runs whole commands: minutes (bin/test -m 'not slow' skips)


@pytest.fixture
def demo(clip: Path, tmp_path: Path) -> Path:
    video = tmp_path / "demo.mp4"
    shutil.copy(clip, video)
    return video


def test_say_export_is_named_after_the_input_and_never_replaces_the_last_one(cli_env, demo: Path,
                                                                             tmp_path: Path) -> None:
    work = tmp_path / "here"
    work.mkdir()
    assert run_cli("say", "--attach", str(demo), "add a title 'One' for 2 seconds", env=cli_env, cwd=work).returncode == 0
    first = run_cli("say", "export", env=cli_env, cwd=work)
    assert first.returncode == 0, first.stderr
    assert sorted(p.name for p in work.iterdir()) == ["demo-music.mp4"]
    before = (work / "demo-music.mp4").read_bytes()
    run_cli("say", "add a title 'Two' for 2 seconds", env=cli_env, cwd=work)
    second = run_cli("say", "export", env=cli_env, cwd=work)
    assert second.returncode == 0, second.stderr
    assert sorted(p.name for p in work.iterdir()) == ["demo-music-2.mp4", "demo-music.mp4"]
    assert (work / "demo-music.mp4").read_bytes() == before and "demo-music-2.mp4" in second.stdout


def test_output_folders_existing_new_and_unwritable(cli_env, demo: Path, tmp_path: Path) -> None:
    assert run_cli("say", "--attach", str(demo), "add a title 'x' for 2 seconds", env=cli_env).returncode == 0
    existing = tmp_path / "existing"
    existing.mkdir()
    assert run_cli("say", "export", "-o", str(existing), env=cli_env).returncode == 0
    assert [p.name for p in existing.iterdir()] == ["demo-music.mp4"]
    fresh = tmp_path / "newdir"
    result = run_cli("say", "export", "-o", f"{fresh}/", env=cli_env)
    assert result.returncode == 0, result.stderr
    assert fresh.is_dir() and [p.name for p in fresh.iterdir()] == ["demo-music.mp4"]  # a folder, not a file
    assert probe(fresh / "demo-music.mp4").video.height == 1080


def test_run_never_overwrites_the_input_or_an_earlier_result(cli_env, demo: Path, tmp_path: Path) -> None:
    original = demo.read_bytes()
    refused = run_cli("run", str(demo), "-o", str(demo), env=cli_env, cwd=tmp_path)
    assert refused.returncode == 2 and "is the input file" in refused.stderr and refused.stdout == ""
    refused = run_cli("run", str(demo), "-o", str(demo), "--overwrite", env=cli_env, cwd=tmp_path)
    assert refused.returncode == 2 and demo.read_bytes() == original  # not even when told to overwrite
    first = run_cli("run", str(demo), "add calm music", env=cli_env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    kept = (tmp_path / "demo-music.mp4").read_bytes()
    second = run_cli("run", str(demo), "add upbeat music", env=cli_env, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "demo-music.mp4 already exists; writing demo-music-2.mp4" in second.stderr
    assert (tmp_path / "demo-music.mp4").read_bytes() == kept and (tmp_path / "demo-music-2.mp4").exists()
    named = run_cli("run", str(demo), "-o", str(tmp_path / "demo-music.mp4"), env=cli_env, cwd=tmp_path)
    assert named.returncode == 2 and "already exists" in named.stderr and "--overwrite" in named.stderr
    replaced = run_cli("run", str(demo), "-o", str(tmp_path / "demo-music.mp4"), "--overwrite", env=cli_env,
                       cwd=tmp_path)
    assert replaced.returncode == 0, replaced.stderr
    assert (tmp_path / "demo-music.mp4").read_bytes() != kept


def test_errors_go_to_stderr_and_json_keeps_them_in_the_object(cli_env) -> None:
    import json

    plain = run_cli("say", "export", env=cli_env)
    assert plain.returncode == 2 and plain.stdout == "" and "nothing to export yet" in plain.stderr  # refused before sending
    as_json = run_cli("say", "--json", "export", env=cli_env)
    data = json.loads(as_json.stdout)
    assert data["ok"] is False and "nothing to export yet" in data["errors"][0]["message"]
    assert as_json.stderr == ""


def test_a_file_that_appears_while_rendering_is_not_replaced(tmp_path: Path) -> None:
    from skill import errors
    from skill.download import PartFile

    dest = tmp_path / "demo-music.mp4"
    part = PartFile(dest, "render_1")
    part.path.write_bytes(b"new")
    dest.write_bytes(b"someone else's")
    assert part.finish(overwrite=False, renumber=True) == tmp_path / "demo-music-2.mp4"
    assert dest.read_bytes() == b"someone else's"
    again = PartFile(dest, "render_2")
    again.path.write_bytes(b"new")
    with pytest.raises(errors.LocalWriteError):
        again.finish(overwrite=False, renumber=False)
    assert dest.read_bytes() == b"someone else's" and again.path.exists()
