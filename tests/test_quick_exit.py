"""The ``ai-music`` command leaves without the interpreter's teardown (``runtime.quick_exit``), yet
a user sees every effect a normal exit has: its exit code, its last unflushed output, atexit
clean-ups, and threads that were still finishing their work."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _leave(tmp_path: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={"PYTHONPATH": str(ROOT), "OUT": str(tmp_path)})


def test_exit_now_keeps_the_code_output_atexit_and_threads(tmp_path: Path) -> None:
    done = _leave(tmp_path, """
        import atexit, os, threading
        from pathlib import Path
        from runtime.quick_exit import exit_now
        out = Path(os.environ["OUT"])
        atexit.register(lambda: (out / "atexit").write_text("ran"))
        go = threading.Event()
        def finish():
            go.wait(30)
            (out / "thread").write_text("finished")
        threading.Thread(target=finish).start()
        print("last words", end="")
        go.set()
        exit_now(3)
    """)
    assert done.returncode == 3
    assert done.stdout == "last words"
    assert (tmp_path / "atexit").read_text() == "ran"
    assert (tmp_path / "thread").read_text() == "finished"


def test_the_command_exits_with_mains_code() -> None:
    done = subprocess.run([sys.executable, "-c", "import runtime.cli as cli; cli.entry()", "run", "/no/such.mp4"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "no such file" in done.stderr
