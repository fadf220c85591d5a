"""A regular (non-editable) install works exactly like the clone.

The wheel is built from the tracked files only (a copy of ``git ls-files``, so nothing
untracked in the work tree can help), offline (``--no-build-isolation`` with the test
environment's setuptools), and installed with ``--no-deps`` into a fresh venv. The
dependencies come from the test environment through a path line in a ``.pth`` file: a
plain path line does not run that environment's own ``.pth`` files, so the editable
install of the source tree stays out of reach — the test asserts the modules load from
the new venv. Then the installed ``ai-music`` runs the main job from an unrelated folder.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from support import ROOT
from media.probe import probe

pytestmark = pytest.mark.slow


def _tracked_copy(dest: Path) -> Path:
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        src, target = ROOT / name, dest / name
        if not src.exists() and not src.is_symlink():
            continue  # deleted in the work tree, not yet committed
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            target.symlink_to(os.readlink(src))
        else:
            shutil.copy2(src, target)
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = _tracked_copy(work / "src")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "-q", "-w", str(work / "dist"), str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next((work / "dist").glob("ai_music-*.whl"))
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                           "--no-index", "-q", str(wheel)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return env_dir


def _run(env_dir: Path, *args: str, cwd: Path, home: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"),
               XDG_DATA_HOME=str(home / ".local" / "share"), PATH=f"{env_dir / 'bin'}{os.pathsep}/usr/bin:/bin")
    return subprocess.run([str(env_dir / "bin" / "ai-music"), *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=timeout)


def test_the_installed_wheel_runs_the_main_job_from_anywhere(installed: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    where = subprocess.run([str(installed / "bin" / "python"), "-c",
                            "import runtime, engine, skill; print(runtime.__file__, engine.__file__, skill.__file__)"],
                           capture_output=True, text=True, cwd=elsewhere, check=True).stdout.split()
    assert all(str(installed) in path for path in where), where  # not the source tree
    shown = _run(installed, "skill", "show", cwd=elsewhere, home=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "runnable" in shown.stdout and str(installed) in shown.stdout  # the packaged SKILL.md
    result = _run(installed, "run", "--sample", "--json", cwd=elsewhere, home=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    import json

    report = json.loads(result.stdout)
    output = Path(report["files"][0])
    assert output.parent == elsewhere and output.is_file()
    info = probe(output)
    assert (info.video.width, info.video.height) == (1920, 1080) and info.audio.codec == "aac"
    assert info.duration_s is not None and abs(info.duration_s - 60.0) < 0.2


def test_the_installed_wheel_installs_the_skill_with_its_own_command(installed: Path, tmp_path: Path) -> None:
    result = _run(installed, "skill", "install", "--target", "claude", cwd=tmp_path, home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"ai-music on PATH: {installed / 'bin' / 'ai-music'}" in result.stdout
    copy = tmp_path / ".claude" / "skills" / "topmediai-ai-music" / "SKILL.md"
    assert "ai-music say --json" in copy.read_text()
