"""The scenario harness itself: validation with lines, runner output, JUnit, record mode."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from support import run_cli
from runtime.harness.scenario import ScenarioError, load

pytestmark = pytest.mark.slow  # renders video or runs whole commands: minutes (bin/test -m 'not slow' skips)

GOOD = """name: credits
turns:
  - say: credits
    expect:
      route: credits
      reply_contains: "100 available"
"""


def write(tmp_path: Path, text: str, name: str = "x.scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, line, expected", [
    ("name: x\nturns:\n  - say: hi\n    expect: {route: [chat\n", 5, "not valid YAML"),
    ("name: x\nturns:\n  - say: hi\n    exepct: {route: chat}\n", 4, "unknown key 'exepct'"),
    ("name: x\nturns:\n  - say: hi\n    expect:\n      exit_code: zero\n", 5, "'zero' is not of type 'integer'"),
    ("name: x\nturns: []\n", 2, "should be non-empty"),
    ("turns:\n  - say: hi\n", 1, "'name' is a required property"),
    ("name: x\nfixtures:\n  v: {seconds: 3, size: big}\nturns:\n  - say: hi\n", 3, "does not match"),
])
def test_malformed_scenarios_point_at_the_line(tmp_path: Path, text: str, line: int, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}:"), message
    assert expected in message


def test_unknown_key_lists_what_is_expected(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load(write(tmp_path, "name: x\nturns:\n  - sya: hi\n"))
    assert "unknown key 'sya'" in str(info.value)
    assert "expected one of: attach, command, expect, expire_token, fault, forget_session, say" in str(info.value)


def test_runner_passes_fails_and_writes_junit(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "good.scenario.yaml")
    write(tmp_path, GOOD.replace("100 available", "999 available"), "bad.scenario.yaml")
    junit = tmp_path / "junit.xml"
    result = run_cli("test", str(tmp_path), "--junit", str(junit), "--workers", "2")
    assert result.returncode == 1
    assert "PASS  credits" in result.stdout and "FAIL  credits" in result.stdout
    assert "1 passed, 1 failed" in result.stdout
    assert "reply_contains: '999 available' not in the reply" in result.stdout
    assert "--- transcript of 'credits' ---" in result.stdout and "GET /api/credits/balance/simple" in result.stdout
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    failure = suite.find("testcase/failure")
    assert failure is not None and "999 available" in failure.get("message")


def test_transcripts_redact_tokens(tmp_path: Path) -> None:
    from runtime.harness.runner import run_path

    result = run_path(write(tmp_path, GOOD))
    text = json.dumps(result.transcript)
    assert result.passed and "nmv_usr_" not in text and "Bearer ***" in text


def test_exit_code_zero_only_when_all_pass(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "good.scenario.yaml")
    result = run_cli("test", str(tmp_path))
    assert result.returncode == 0 and "1 passed, 0 failed" in result.stdout


def test_broken_file_is_a_failed_scenario_not_a_crash(tmp_path: Path) -> None:
    write(tmp_path, "name: x\nturns:\n  - say: hi\n    oops: 1\n")
    result = run_cli("test", str(tmp_path))
    assert result.returncode == 1 and ":4: unknown key 'oops'" in result.stdout


def test_record_mode_writes_a_replayable_skeleton(tmp_path: Path, clip: Path) -> None:
    out = tmp_path / "recorded.scenario.yaml"
    turns = f"{clip} add a title 'Recorded' for 2 seconds\nstatus\ncredits\n"
    result = run_cli("test", "--record", str(out), input=turns)
    assert result.returncode == 0, result.stderr
    scenario = load(out)
    assert [t["expect"]["route"] for t in scenario.turns] == [["upload", "chat"], ["state"], ["credits"]]
    assert scenario.fixtures["file1"] == {"kind": "video", "seconds": 6.0, "size": "640x360", "audio": "voice"}
    assert scenario.turns[0]["attach"] == ["file1"]
    assert "nmv_usr_" not in out.read_text()
    replay = run_cli("test", str(out))
    assert replay.returncode == 0, replay.stdout


def test_an_injected_drop_is_reported_by_the_scenario_not_by_a_traceback(tmp_path: Path) -> None:
    scenario = write(tmp_path, """name: dropped twice
turns:
  - say: add a title "One" for 2 seconds
  - fault: {sse_drop_after: 1, sse_drop_times: 2}
    say: add a title "Two" for 2 seconds
    expect: {reply_contains: "went through"}
  - say: add a title "Three" for 2 seconds
""")
    result = run_cli("test", str(scenario), "--workers", "1")
    assert result.returncode == 0, result.stdout
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "Exception in ASGI application" not in output, output
    assert output.strip().splitlines()[-1] == "1 passed, 0 failed"
