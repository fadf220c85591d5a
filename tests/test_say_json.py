"""`ai-music say --json` for agents: one schema-valid JSON object whatever happens.

Every failure mode an agent can meet prints exactly one JSON object on stdout, valid
against docs/say.schema.json, with a typed error, a code (the backend's, or a local one)
and the exit status the schema documents; a successful edit reports what changed, the
credits it spent and the timeline as data.
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import jsonschema
import pytest

from support import ROOT, Api, run_cli
from runtime import failures
from skill import errors

pytestmark = pytest.mark.slow  # renders video or runs whole commands: minutes (bin/test -m 'not slow' skips)

SCHEMA = json.loads((ROOT / "docs" / "say.schema.json").read_text())


def say(*args: str, env: dict[str, str] | None = None) -> tuple[dict, int, str]:
    result = run_cli("say", "--json", *args, env=env)
    lines = [ln for ln in result.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stdout + result.stderr  # one object, nothing else on stdout
    data = json.loads(lines[0])
    jsonschema.validate(data, SCHEMA)
    assert "Traceback" not in result.stderr
    return data, result.returncode, result.stderr


def _only_error(data: dict) -> dict:
    assert data["ok"] is False and len(data["errors"]) == 1, data
    assert data["errors"][0]["message"] in data["reply"]
    return data["errors"][0]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("case", ["missing", "folder", "empty", "unsupported", "too-large", "bad-url", "too-long"])
def test_input_refused_before_sending(cli_env, engine, tmp_path: Path, case: str) -> None:
    empty, notes, huge = tmp_path / "empty.mp4", tmp_path / "notes.txt", tmp_path / "huge.mp4"
    empty.touch()
    notes.write_text("not a video")
    with huge.open("wb") as fh:  # sparse: 501 MB on paper, nothing on disk
        fh.truncate(501 * 1024 * 1024)
    args, kind, code, words = {
        "missing": (["--attach", str(tmp_path / "nope.mp4"), "add music"], "BadInput", 9001, "no such file"),
        "folder": (["--attach", str(tmp_path), "add music"], "BadInput", 9001, "is a folder"),
        "empty": (["--attach", str(empty), "add music"], "BadInput", 9001, "is empty"),
        "unsupported": (["--attach", str(notes), "add music"], "BadInput", 4001, "accepted formats"),
        "too-large": (["--attach", str(huge), "add music"], "BadInput", 4002, "compress or trim"),
        "bad-url": (["--attach", "ftp://example.com/a.mp4", "add music"], "BadInput", 9001, "not a http"),
        "too-long": (["x" * 100_001], "MessageTooLong", 9002, "shorten it"),
    }[case]
    data, code_out, _ = say(*args, env=cli_env)
    error = _only_error(data)
    assert (error["type"], error["code"], code_out) == (kind, code, 2) and words in error["message"]


def test_a_refused_file_leaves_the_project_as_it_was(cli_env, engine, clip: Path, tmp_path: Path) -> None:
    first, _, _ = say("--attach", str(clip), "add lo-fi music", env=cli_env)
    refused, code, _ = say("--new", "--attach", str(tmp_path / "nope.mp4"), "add music", env=cli_env)
    assert code == 2 and refused["session_id"] is None
    after, _, _ = say("status", env=cli_env)
    assert after["session_id"] == first["session_id"] and after["timeline"] == first["timeline"]


def test_local_setup_failures(cli_env, engine, tmp_path: Path) -> None:
    data, code, _ = say("--skill", str(tmp_path / "none.md"), "hi", env=cli_env)
    assert (_only_error(data)["type"], code) == ("SkillError", 2)
    data, code, _ = say("hi", env={**cli_env, "NEMO_POLL_INTERVAL": "soon"})
    error = _only_error(data)
    assert (error["type"], error["code"], code) == ("BadSetting", 9004, 2) and "NEMO_POLL_INTERVAL" in error["message"]
    data, code, _ = say("export", env=cli_env)
    assert (_only_error(data)["type"], code) == ("NothingToExport", 2)


def test_backend_failures(cli_env, engine, clip: Path) -> None:
    data, code, _ = say("hi", env={**cli_env, "NEMO_API_URL": f"http://127.0.0.1:{_closed_port()}"})
    error = _only_error(data)
    assert (error["type"], error["code"], code) == ("TransportError", 9008, 1)
    api = Api(engine.url)
    say("--attach", str(clip), "add lo-fi music", env=cli_env)
    api.faults(endpoint=[{"endpoint": "chat", "code": 2001, "times": 1}])
    data, code, _ = say("make it louder", env=cli_env)
    error = _only_error(data)
    assert (error["type"], error["code"], code) == ("OutOfCredits", 2001, 1) and "register" in error["message"].lower()
    api.faults(render_failures=2)
    data, code, _ = say("export", env=cli_env)
    assert (_only_error(data)["type"], code) == ("RenderFailed", 1)


def test_a_result_that_cannot_be_written_here(cli_env, engine, clip: Path, tmp_path: Path) -> None:
    """The disk gives out while the video downloads (a file-size limit stands in for a full disk)."""
    import resource
    import subprocess
    import sys

    say("--attach", str(clip), "add lo-fi music", env=cli_env)

    def small_files() -> None:  # Python ignores SIGXFSZ, so an over-limit write fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    result = subprocess.run([sys.executable, "-m", "runtime.cli", "say", "--json", "-o", str(tmp_path / "out.mp4"),
                             "export"], capture_output=True, text=True, env={**os.environ, **cli_env}, cwd=ROOT,
                            timeout=300, preexec_fn=small_files)
    data = json.loads(result.stdout)
    jsonschema.validate(data, SCHEMA)
    error = _only_error(data)
    assert (error["type"], error["code"], result.returncode) == ("LocalWriteError", 9006, 3), data
    assert "the finished render is kept" in error["message"] and "Traceback" not in result.stderr


def test_an_edit_reports_changes_credits_and_timeline(cli_env, engine, clip: Path) -> None:
    first, code, _ = say("--new", "--attach", str(clip), "add lo-fi music at 35%", env=cli_env)
    assert code == 0 and first["ok"]
    data, code, _ = say("make the music louder", env=cli_env)
    assert code == 0 and data["credits"] is not None
    assert data["credits"]["available"] < first["credits"]["available"]  # the edit cost credits
    assert data["chat"]["changes"] and "BGM changed" in data["chat"]["changes"][0]
    music = next(t for t in data["timeline"] if t["type"] == "audio")
    before = next(t for t in first["timeline"] if t["type"] == "audio")
    assert music["volume"] > before["volume"] == pytest.approx(0.35)
    assert music["start_s"] == 0 and music["end_s"] == pytest.approx(6.0, abs=0.1)
    video = next(t for t in data["timeline"] if t["type"] == "video")
    assert video["label"] == "Video" and video["volume"] is None


def test_the_schema_enumerates_every_error_type() -> None:
    declared = set(SCHEMA["properties"]["errors"]["items"]["properties"]["type"]["enum"])
    assert declared == set(failures.TYPES)
    stack, raised = [errors.NemoError], set()
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls is not errors.NemoError:
            raised.add(failures.describe(cls.__new__(cls))["type"])
    assert raised <= declared and "InternalError" not in raised  # every exception has a type of its own
    described = SCHEMA["properties"]["errors"]["items"]["properties"]["code"]["description"]
    assert all(str(code) in described for code in failures.LOCAL_CODES.values())
    assert all(f" {status} " in f" {SCHEMA['description']} " or f"{status} " in SCHEMA["description"]
               for status in (0, 1, 2, 3, 130))
