"""Putting the skill where agents look for it, and linting skills for every consumer."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support import BUNDLED, CORPUS, corpus_files, run_cli
from runtime.lint import lint

VENV_BIN = Path(sys.executable).parent  # holds this installation's `ai-music` script
ON_PATH = {"PATH": f"{VENV_BIN}{os.pathsep}/usr/bin{os.pathsep}/bin"}
OFF_PATH = {"PATH": f"/usr/bin{os.pathsep}/bin"}


@pytest.mark.parametrize("target, folder, platform", [
    ("openclaw", ".openclaw/skills", "openclaw"),
    ("claude", ".claude/skills", "unknown"),
    ("cursor", ".cursor/skills", "cursor"),
    ("codex", ".agents/skills", "unknown"),
    ("agents", ".agents/skills", "unknown"),
])
def test_install_for_each_agent(isolated_home: Path, target: str, folder: str, platform: str) -> None:
    result = run_cli("skill", "install", "--target", target, env={"HOME": str(isolated_home), **ON_PATH})
    assert result.returncode == 0, result.stderr
    installed = isolated_home / folder / "topmediai-ai-music" / "SKILL.md"
    assert installed.read_text() == BUNDLED.read_text()
    assert f"X-Skill-Platform there: {platform}" in result.stdout
    assert f"ai-music on PATH: {VENV_BIN / 'ai-music'}" in result.stdout
    shown = json.loads(run_cli("skill", "show", "--json", str(installed), env={"HOME": str(isolated_home)}).stdout)
    assert shown["platform"] == platform
    assert shown["install_location"] == folder.split("/")[0].lstrip(".")


def test_workspace_install_and_clawhub_marker(tmp_path: Path) -> None:
    result = run_cli("skill", "install", "--target", "openclaw-workspace", "--dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "X-Skill-Platform there: openclaw" in result.stdout  # a workspace can be anywhere
    installed = tmp_path / "skills" / "topmediai-ai-music"
    (installed / ".clawhub").mkdir()
    (installed / ".clawhub" / "origin.json").write_text('{"slug": "topmediai-ai-music"}')
    shown = json.loads(run_cli("skill", "show", "--json", str(installed / "SKILL.md")).stdout)
    assert shown["platform"] == "clawhub" and shown["install_location"] == "clawhub"


def test_skill_source_env_still_wins(isolated_home: Path) -> None:
    run_cli("skill", "install", "--target", "cursor", env={"HOME": str(isolated_home)})
    installed = isolated_home / ".cursor" / "skills" / "topmediai-ai-music" / "SKILL.md"
    shown = json.loads(run_cli("skill", "show", "--json", str(installed),
                               env={"HOME": str(isolated_home), "SKILL_SOURCE": "github"}).stdout)
    assert shown["platform"] == "github"


def test_a_changed_copy_is_not_overwritten_without_force(isolated_home: Path) -> None:
    env = {"HOME": str(isolated_home), **ON_PATH}
    assert run_cli("skill", "install", "--target", "claude", env=env).returncode == 0
    installed = isolated_home / ".claude" / "skills" / "topmediai-ai-music" / "SKILL.md"
    assert "updated" in run_cli("skill", "install", "--target", "claude", env=env).stdout  # unchanged: fine
    installed.write_text(installed.read_text() + "\nmy local note\n")
    refused = run_cli("skill", "install", "--target", "claude", env=env)
    assert refused.returncode == 2 and "was changed since it was installed" in refused.stderr
    assert "my local note" in installed.read_text()
    forced = run_cli("skill", "install", "--target", "claude", "--force", env=env)
    assert forced.returncode == 0 and installed.read_text() == BUNDLED.read_text()


def test_install_copies_linked_references(tmp_path: Path) -> None:
    folder = tmp_path / "src" / "my-skill"
    (folder / "references").mkdir(parents=True)
    (folder / "SKILL.md").write_text(BUNDLED.read_text().replace("topmediai-ai-music", "my-skill", 1)
                                     + "\nSee [the guide](guide.md).\n")
    (folder / "guide.md").write_text("guide")
    (folder / "references" / "api.md").write_text("api")
    (folder / "unrelated.txt").write_text("no")
    result = run_cli("skill", "install", "--skill", str(folder / "SKILL.md"), "--target", "agents",
                     "--dir", str(tmp_path / "home"))
    assert result.returncode == 0, result.stderr
    dest = tmp_path / "home" / ".agents" / "skills" / "my-skill"
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) == [
        ".ai-music-install.json", "SKILL.md", "guide.md", "references/api.md"]


def test_install_without_ai_music_on_path_writes_the_absolute_command(isolated_home: Path) -> None:
    result = run_cli("skill", "install", "--target", "claude", env={"HOME": str(isolated_home), **OFF_PATH})
    assert result.returncode == 0, result.stderr
    command = VENV_BIN / "ai-music"
    assert f"ai-music is not on PATH; the installed SKILL.md runs {command}" in result.stdout
    assert f"'{command} install'" in result.stdout
    text = (isolated_home / ".claude" / "skills" / "topmediai-ai-music" / "SKILL.md").read_text()
    assert f"`{command} say --json" in text and "`ai-music say" not in text
    assert "ai-music say --json" in BUNDLED.read_text()  # the source is left as it was
    # the command the agent will copy runs from anywhere
    answer = subprocess.run([str(command), "--help"], capture_output=True, text=True, cwd=isolated_home,
                            env={**os.environ, **OFF_PATH}, timeout=60)
    assert answer.returncode == 0 and "say" in answer.stdout


def test_ai_music_install_links_the_command_onto_path(isolated_home: Path, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    first = run_cli("install", "--bin-dir", str(bin_dir), env=OFF_PATH)
    assert first.returncode == 0, first.stderr
    link = bin_dir / "ai-music"
    assert link.is_symlink() and link.resolve() == (VENV_BIN / "ai-music").resolve()
    assert f"{bin_dir} is not on your PATH" in first.stdout
    path = {"PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin", "HOME": str(isolated_home)}
    again = run_cli("install", "--bin-dir", str(bin_dir), env=path)
    assert "already linked" in again.stdout and "on your PATH now" in again.stdout
    installed = run_cli("skill", "install", "--target", "openclaw", env=path)
    assert f"ai-music on PATH: {link}" in installed.stdout
    (bin_dir / "ai-music").unlink()
    (bin_dir / "ai-music").write_text("#!/bin/sh\necho another\n")
    refused = run_cli("install", "--bin-dir", str(bin_dir), env=OFF_PATH)
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert (bin_dir / "ai-music").read_text().endswith("another\n")


def test_lint_the_bundled_skill_has_no_findings() -> None:
    assert lint(BUNDLED) == []


def test_lint_expected_findings() -> None:
    seed = lint(CORPUS / "seed-SKILL.md")
    assert any(f.line == 6 and f.level == "error" and f.consumer == "spec" and "not strict YAML" in f.message
               for f in seed)
    assert any(f.consumer == "openclaw" and "requires.env NEMO_TOKEN" in f.message and "Needs setup" in f.message
               for f in seed)
    birthday = lint(CORPUS / "birthday-party-video.md")
    assert any("cannot drive (POST /v1/run" in f.message and f.consumer == "runtime" for f in birthday)
    assert any(f.consumer == "openclaw" and "no 'openclaw' object" in f.message and f.line == 14 for f in birthday)
    assert any(f.consumer == "spec" and "JSON-style" in f.message and f.line == 16 for f in birthday)
    hotel = lint(CORPUS / "hotel-video-maker.md")
    assert any("U+0080" in f.message and f.line == 4 and f.consumer == "spec" for f in hotel)
    assert any("API token" in f.message for f in hotel)
    old = lint(CORPUS / "nemo-video_2026-03-13_27ce8fe.md")
    assert any("no routing table" in f.message for f in old)


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_lint_reads_every_corpus_file(path: Path) -> None:
    result = run_cli("skill", "lint", str(path))
    assert result.returncode in (0, 1), result.stderr
    assert "error(s)" in result.stdout and "Traceback" not in result.stderr
    for line in result.stdout.splitlines()[:-1]:
        assert line.startswith(f"{path}:") and "[" in line


def test_bundled_skill_tells_agents_about_the_runtime() -> None:
    text = BUNDLED.read_text()
    assert "ai-music say --json" in text and "--attach" in text and "--new" in text and "-o <out.mp4>" in text
    assert "| User says... | Action | Skip SSE? |" in text  # the routing table is intact
    claw = yaml.safe_load(text.split("---")[1])["metadata"]["openclaw"]
    assert claw["requires"] == {"bins": ["ai-music"]} and claw["primaryEnv"] == "NEMO_TOKEN"
    # an agent reading top to bottom meets the runtime before the cloud connection
    assert text.index("ai-music say --json") < text.index("### Getting Connected")
    assert "§" not in text
