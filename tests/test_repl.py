"""`ai-music chat` in a real pseudo-terminal, and with piped stdin."""
from __future__ import annotations

import io
import os
import shutil
import sys
from pathlib import Path

import pexpect
import pytest

from support import BUNDLED, Api, run_cli
from runtime.backend import connect
from runtime.conversation import Conversation
from runtime.repl import run_repl
from runtime.document import load_skill
from runtime.terminal import CollectingOutput


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


def test_a_typed_path_is_attached_or_refused_in_one_line_and_never_sent_as_text(
        cli_env, clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "My Videos"
    folder.mkdir()
    dropped = folder / "demo (1).mp4"
    shutil.copy(clip, dropped)
    shutil.copy(clip, tmp_path / "demo.mp4")
    monkeypatch.chdir(tmp_path)
    escaped = str(dropped).replace(" ", "\\ ").replace("(", "\\(").replace(")", "\\)")  # as a terminal pastes it
    script = f"dmeo.mp4 add lo-fi music\n{escaped} add a title 'Dropped' for 2 seconds\n{folder}/demo (1).mp4\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(script))
    calls: list[dict] = []
    out = CollectingOutput()
    with connect(load_skill(BUNDLED), hooks=(calls.append,)) as conn:
        run_repl(Conversation(conn, out), out, interactive=False, history_file=str(tmp_path / "history"))
    chat = [c["body"]["new_message"]["parts"][0]["text"] for c in calls if c["path"] == "/run_sse"]
    uploads = [c for c in calls if c["path"].startswith("/api/upload-video/")]
    assert chat == ["add a title 'Dropped' for 2 seconds"]  # the path is not sent as words
    assert out.errors == ["dmeo.mp4: no such file — did you mean demo.mp4?"]  # one line, not a capability list
    assert len(uploads) == 2 and out.text().count("📎 demo (1).mp4") == 2 and "Sorry" not in out.text()
