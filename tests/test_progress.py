"""Progress: one display per surface — a live bar by phase on a terminal, plain lines in a pipe, none in JSON."""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
import pexpect

from support import Api, run_cli

pytestmark = pytest.mark.slow  # renders video or runs whole commands: minutes (bin/test -m 'not slow' skips)

OLD_STYLE_PERCENT = re.compile(r"^⏳ \d+%$", re.M)  # bare "⏳ 30%" lines, printed into the bar


def test_a_pipe_gets_plain_lines_naming_each_phase(cli_env, engine, clip: Path) -> None:
    chat = run_cli("say", "--attach", str(clip), "add calm piano music", env=cli_env)
    assert chat.returncode == 0, chat.stderr
    assert "⏳ Uploading…" in chat.stderr and "⏳ Composing…" in chat.stderr
    Api(engine.url).faults(render_delay_s=0.5)
    export = run_cli("say", "export", env=cli_env)
    assert export.returncode == 0, export.stderr
    lines = export.stderr.splitlines()
    assert "⏳ Encoding video…" in lines and "⏳ Downloading…" in lines, export.stderr
    assert lines.index("⏳ Encoding video…") < lines.index("⏳ Downloading…")
    assert "\x1b[" not in export.stderr + export.stdout and "bytes" not in export.stderr
    assert not OLD_STYLE_PERCENT.search(export.stderr)
    assert "⏳" not in export.stdout  # progress never mixes with the reply


def test_json_gets_no_progress(cli_env, clip: Path) -> None:
    run_cli("say", "--attach", str(clip), "add a title 'x' for 2 seconds", env=cli_env)
    result = run_cli("say", "--json", "export", env=cli_env)
    data = json.loads(result.stdout)  # exactly one object
    assert data["ok"] and result.stderr == ""
    assert not any("%" in n or "Encoding" in n for n in data["notices"]), data["notices"]


def test_a_terminal_gets_one_live_bar_with_the_phase_and_no_lines_inside_it(cli_env, engine, clip: Path) -> None:
    run_cli("say", "--attach", str(clip), "add a title 'x' for 2 seconds", env=cli_env)
    Api(engine.url).faults(render_delay_s=1.0, download_bps=2_000_000)
    env = {**os.environ, **cli_env, "TERM": "xterm-256color", "COLUMNS": "100"}
    child = pexpect.spawn(sys.executable, ["-m", "runtime.cli", "say", "export"], cwd=env["HOME"], env=env,
                          encoding="utf-8", timeout=120, dimensions=(30, 100))
    child.expect(pexpect.EOF)
    child.close()
    screen = child.before
    assert child.exitstatus == 0, screen
    assert "Encoding video" in screen and "Downloading" in screen and "ETA" in screen
    assert "bytes" not in screen and not OLD_STYLE_PERCENT.search(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "\n", screen))
    assert "✅ Video ready!" in screen
