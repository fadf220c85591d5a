"""``ai-music run`` starts without paying for what it does not need yet (issue 16, item 3).

A short job's start-up is mostly imports: every module kept off the path to the engine's
start, and off the path to the first analysis decode, is time the user does not wait. Checked
by which modules a fresh process has loaded at those points, not by a clock (the machine is
shared; a timed test would be flaky).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# `ai-music run` in a fresh interpreter, stopped where the embedded engine would start
UP_TO_THE_ENGINE = """
import json, sys
import engine.embedded

def stop_here(config=None):
    print(json.dumps(sorted(name for name, module in sys.modules.items() if module is not None)))
    raise SystemExit(0)

engine.embedded.start = stop_here
from runtime.cli import main
main(sys.argv[1:])
"""

#: what the client side of a run never needs before the engine does (or at all, without its option)
NOT_BEFORE_THE_ENGINE = (
    "numpy", "scipy", "PIL", "pyloudnorm",  # the engine's analysis and music, loaded by the engine itself
    "rich", "pygments",  # the live progress bar: only on a terminal (httpx's own CLI used to pull them in)
    "httpx._main",
    "ray", "psycopg", "boto3", "botocore",  # serve --ray / --database / --object-store only
    "mcp", "pydantic",  # the MCP server only
    "engine.app", "engine.music", "engine.analysis", "engine.export", "engine.chat", "media",
)


def _modules(code: str, *args: str, cwd: Path) -> set[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("NEMO_TOKEN", "NEMO_API_URL", "FORCE_COLOR", "TTY_COMPATIBLE")}
    for name in ("CONFIG", "DATA", "CACHE"):
        env[f"XDG_{name}_HOME"] = str(cwd / name.lower())
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(name for name in names if any(m == name or m.startswith(name + ".") for m in modules))


def test_run_reaches_the_engine_without_the_engine_s_libraries(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\x00" * 64)  # never read: the process stops before the upload
    modules = _modules(UP_TO_THE_ENGINE, "run", str(video), "-o", str(tmp_path / "out.mp4"), cwd=tmp_path)
    assert "runtime.backend" in modules  # it did get as far as connecting
    assert _loaded(modules, NOT_BEFORE_THE_ENGINE) == []


def test_the_first_analysis_decode_does_not_wait_for_scipy_signal(tmp_path: Path) -> None:
    """The sound's loudness meter (pyloudnorm, scipy.signal: ~1 s) is imported by the sound thread
    while the picture decodes, not before the analysis can start at all."""
    code = ("import json, sys; import engine.analysis.analyze; "
            "print(json.dumps(sorted(n for n, m in sys.modules.items() if m is not None)))")
    modules = _modules(code, cwd=tmp_path)
    assert _loaded(modules, ("scipy.signal", "pyloudnorm", "scipy.stats", "engine.music")) == []

