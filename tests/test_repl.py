"""`ai-music chat` in a real pseudo-terminal, and with piped stdin."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect

from conftest import Api, run_cli


def spawn(cli_env: dict[str, str], *args: str) -> pexpect.spawn:
    env = {**os.environ, **cli_env, "TERM": "dumb", "COLUMNS": "120"}
    child = pexpect.spawn(sys.executable, ["-m", "runtime.cli", "chat", *args], cwd=env["HOME"], env=env,
                          encoding="utf-8", timeout=60, dimensions=(40, 120))
    return child


def test_repl_session(cli_env, engine, clip: Path, tmp_path: Path) -> None:
    child = spawn(cli_env, "--output-dir", str(tmp_path))
    child.expect("Share your video or text")     # the document's greeting
    child.expect("/help")
    child.sendline(str(clip))                    # a typed path is an upload
    child.expect(r"📎 clip\.mp4 \(video, 6\.0s, 640×360\)")
    child.sendline("add lo-fi music and a title 'Hello REPL' for 2 seconds")  # a music request
    child.expect("BPM")
    child.expect('Added the title "Hello REPL"')
    child.sendline("/status")
    child.expect(r"Timeline \(3 tracks\)")
    Api(engine.url).faults(render_delay_s=4.0)
    child.sendline("/export")
    child.expect("Rendering")
    child.sendintr()                             # Ctrl-C stops the wait, not the program
    child.expect("Stopped waiting")
    child.sendline("/credits")
    child.expect(r"Credits: \d+ available")
    child.sendline("/exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_repl_help_and_unknown_command(cli_env, engine) -> None:
    child = spawn(cli_env)
    child.expect("/help")
    child.sendline("/help")
    child.expect("/new")
    child.sendline("/frobnicate")
    child.expect("Unknown command /frobnicate")
    child.expect("› ")
    child.send("\x04")  # Ctrl-D at an empty prompt leaves
    child.expect(pexpect.EOF)


def test_piped_stdin_is_read_line_by_line_without_prompts(cli_env, engine, clip: Path) -> None:
    script = f"{clip}\nadd a title 'Piped' for 2 seconds\n\n/status\n"
    result = run_cli("chat", env=cli_env, input=script)
    assert result.returncode == 0, result.stderr
    assert "›" not in result.stdout and "\x1b[" not in result.stdout
    assert "📎 clip.mp4" in result.stdout and '"Piped"' in result.stdout and "Timeline (2 tracks)" in result.stdout
