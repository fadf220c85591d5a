"""An unreachable backend is one line that says what to do, never a traceback.

Every command that talks to the backend (``run``, ``say``, ``batch``, ``chat``) meets the
same failure when the cloud cannot be reached: the user sees the request that failed, is
told to check the network or ``NEMO_API_URL`` or use the embedded engine, and the exit
status is the backend's (1), as ``say --json`` documents (``chat`` says it for the turn and
goes on)."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

from support import run_cli

pytestmark = pytest.mark.slow  # runs whole commands in fresh interpreters


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("command", ["run", "say", "batch", "chat"])
def test_unreachable_backend_is_one_line(clip: Path, tmp_path: Path, command: str) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    folder = tmp_path / "videos"
    folder.mkdir()
    (folder / "clip.mp4").write_bytes(clip.read_bytes())
    args = {"run": ["run", str(clip), "--backend", "cloud", "-o", str(tmp_path / "out.mp4")],
            "say": ["say", "--backend", "cloud", "--attach", str(clip), "add lo-fi music"],
            "batch": ["batch", str(folder), "calm music", "--backend", "cloud", "-o", str(tmp_path / "out")],
            "chat": ["chat", "--backend", "cloud"]}[command]
    result = run_cli(*args, env={"NEMO_API_URL": url, "AI_MUSIC_RECOVERY_WAIT": "0.1"},
                     input="add music\n/quit\n" if command == "chat" else None)
    assert "Traceback" not in result.stderr, result.stderr
    if command != "chat":  # the REPL says it per turn and goes on until the user quits
        assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    said = result.stdout + result.stderr
    assert "could not reach the backend" in said and "NEMO_API_URL" in said and "--backend local" in said, said
    problem = [ln for ln in result.stderr.splitlines() if "could not reach" in ln]
    assert len(problem) == 1, result.stderr
