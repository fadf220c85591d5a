"""The client against the engine with faults on: every recovery rule of the skill."""
from __future__ import annotations

import json
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from support import BUNDLED, Api, run_cli
from media.fixtures import make_truncated
from runtime.backend import connect
from runtime.conversation import Conversation
from runtime.document import load_skill
from runtime.terminal import CollectingOutput


@contextmanager
def conversation(cli_env: dict[str, str]) -> Iterator[tuple[Conversation, CollectingOutput, list[dict]]]:
    calls: list[dict] = []
    out = CollectingOutput()
    with connect(load_skill(BUNDLED), hooks=(calls.append,), notice=out.notice) as conn:
        yield Conversation(conn, out), out, calls


def paths(calls: list[dict], method: str | None = None) -> list[str]:
    return [c["path"] for c in calls if method is None or c["method"] == method]


def engine_api(engine) -> Api:
    return Api(engine.url)


# ----------------------------------------------------------------------------- connection

def test_config_dir_and_secrets_permissions(cli_env, engine, clip: Path, isolated_home: Path) -> None:
    with conversation(cli_env) as (convo, out, calls):
        convo.turn("status")
    root = isolated_home / ".config" / "nemovideo"
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    for name in ("tokens.json", "sessions.json", "client_id"):
        assert stat.S_IMODE((root / name).stat().st_mode) == 0o600, name
    client_id = (root / "client_id").read_text().strip()
    assert len(client_id) == 36 and client_id.count("-") == 4  # only the UUID


def test_every_request_carries_attribution_and_bearer(cli_env, engine) -> None:
    with conversation(cli_env) as (convo, out, calls):
        convo.turn("status")
    for call in calls:
        headers = {k.lower(): v for k, v in call["headers"].items()}
        assert headers["x-skill-source"] == "topmediai-ai-music" and headers["x-skill-version"] == "1.0.0"
        assert headers["x-skill-platform"] == "unknown"
        if call["path"].endswith("anonymous-token"):
            assert "x-client-id" in headers and "authorization" not in headers
        else:
            assert headers["authorization"].startswith("Bearer nmv_usr_")


def test_skill_source_env_sets_the_platform(cli_env, engine, monkeypatch) -> None:
    monkeypatch.setenv("SKILL_SOURCE", "clawhub")
    with conversation(cli_env) as (convo, out, calls):
        convo.turn("credits")
    assert {c["headers"].get("x-skill-platform") for c in calls} == {"clawhub"}


def test_expired_token_is_replaced_and_the_call_retried_once(cli_env, engine) -> None:
    with conversation(cli_env) as (convo, out, calls):
        convo.turn("credits")
        engine_api(engine).http.post("/_engine/expire-tokens", json={})
        report = convo.turn("credits")
    assert report.ok and report.credits["available"] == 100
    assert paths(calls).count("/api/auth/anonymous-token") == 2


def test_a_users_own_token_is_not_silently_replaced(cli_env, engine, monkeypatch) -> None:
    api = Api(engine.url).login("users-own")
    monkeypatch.setenv("NEMO_TOKEN", api.token)
    with conversation(cli_env) as (convo, out, calls):
        assert convo.turn("credits").ok
        engine_api(engine).http.post("/_engine/expire-tokens", json={})
        report = convo.turn("credits")
    assert not report.ok and "NEMO_TOKEN" in report.errors[0]["message"]
    assert "/api/auth/anonymous-token" not in paths(calls)
    assert api.token not in json.dumps(report.to_json())


def test_lost_session_is_replaced_and_the_call_retried(cli_env, engine) -> None:
    with conversation(cli_env) as (convo, out, calls):
        convo.turn("status")
        old = convo.conn.session.session_id
        engine_api(engine).http.post("/_engine/forget-session", json={"session_id": old})
        report = convo.turn("status")
    assert report.ok and convo.conn.session.session_id != old
    assert any("started a new one" in n for n in out.notices)


def test_rate_limit_waits_retry_after_then_retries_once(cli_env, engine) -> None:
    import time

    api = engine_api(engine)
    with conversation(cli_env) as (convo, out, calls):
        convo.turn("status")
        api.faults(endpoint=[{"endpoint": "credits", "status": 429, "times": 1, "retry_after": 1}])
        started = time.monotonic()
        report = convo.turn("credits")
        waited = time.monotonic() - started
    assert report.ok and waited >= 1.0
    assert paths(calls, "GET").count("/api/credits/balance/simple") == 2


def test_rate_limit_twice_gives_up_with_the_skills_words(cli_env, engine) -> None:
    api = engine_api(engine)
    with conversation(cli_env) as (convo, out, calls):
        convo.turn("status")
        api.faults(endpoint=[{"endpoint": "credits", "status": 429, "times": 2, "retry_after": 0.1}])
        report = convo.turn("credits")
    assert not report.ok and report.errors[0]["code"] == 429
    assert paths(calls, "GET").count("/api/credits/balance/simple") == 2


def test_server_errors_on_reads_are_retried_with_backoff(cli_env, engine) -> None:
    api = engine_api(engine)
    with conversation(cli_env) as (convo, out, calls):
        convo.turn("status")
        api.faults(endpoint=[{"endpoint": "state", "status": 503, "times": 2}])
        report = convo.turn("status")
    assert report.ok


def test_missing_client_id_is_regenerated(cli_env, engine, isolated_home: Path) -> None:
    api = engine_api(engine)
    api.faults(endpoint=[{"endpoint": "auth", "code": 400, "times": 1, "message": "missing X-Client-Id"}])
    with conversation(cli_env) as (convo, out, calls):
        report = convo.turn("credits")
    assert report.ok
    ids = [c["headers"].get("x-client-id") for c in calls if c["path"].endswith("anonymous-token")]
    assert len(ids) == 2 and ids[0] != ids[1]


def test_out_of_credits_gives_the_registration_link(cli_env, engine, clip: Path) -> None:
    api = engine_api(engine)
    api.faults(endpoint=[{"endpoint": "chat", "code": 2001, "times": 1}])
    with conversation(cli_env) as (convo, out, calls):
        report = convo.turn("add a title 'Hi'", [str(clip)])
        user_id = convo.conn.user_id
    message = report.errors[0]["message"]
    assert report.errors[0]["code"] == 2001 and f"/register?bind={user_id}" in message
    assert message.startswith("Your free credits are used up")


def test_plan_gate_is_explained_as_the_plan_not_credits(cli_env, engine, clip: Path) -> None:
    api = engine_api(engine)
    with conversation(cli_env) as (convo, out, calls):
        convo.turn("add a title 'Hi'", [str(clip)])
        api.faults(endpoint=[{"endpoint": "render", "status": 402, "times": 1}])
        report = convo.turn("export")
    assert report.errors[0]["code"] == 402
    assert "plan, not by credits" in report.errors[0]["message"]


# ----------------------------------------------------------------------------- upload checks

@pytest.mark.parametrize("case, expect", [
    ("missing", "no such file"),
    ("folder", "is a folder"),
    ("unsupported", "not supported — accepted formats: mp4"),
    ("empty", "is empty"),
    ("too-large", "the limit is 500 MB"),
])
def test_bad_files_are_refused_before_sending(cli_env, engine, tmp_path: Path, case: str, expect: str) -> None:
    target = {"missing": tmp_path / "nope.mp4", "folder": tmp_path, "unsupported": tmp_path / "notes.docx",
              "empty": tmp_path / "empty.mp4", "too-large": tmp_path / "huge.mp4"}[case]
    if case == "unsupported":
        target.write_text("x")
    elif case == "empty":
        target.write_bytes(b"")
    elif case == "too-large":
        with target.open("wb") as fh:  # sparse: 600 MB on paper, nothing on disk
            fh.truncate(600 * 1024 * 1024)
    with conversation(cli_env) as (convo, out, calls):
        report = convo.turn("upload", [str(target)])
    assert not report.ok and expect in report.errors[0]["message"]
    assert not any("upload-video" in p for p in paths(calls))


@pytest.mark.parametrize("name", ["broken.mp4", "broken.mp3"])
def test_a_damaged_file_is_called_damaged_without_the_format_list(cli_env, engine, tmp_path: Path, name: str) -> None:
    """Its format is accepted; the file is the problem: say so and what to do, not which formats exist."""
    broken = tmp_path / name
    broken.write_bytes(bytes(range(256)) * 400)
    with conversation(cli_env) as (convo, out, calls):
        report = convo.turn("upload", [str(broken)])
    message = report.errors[0]["message"]
    assert report.errors[0]["code"] == 4001 and message.startswith(f"{name} cannot be read: it looks damaged")
    assert "export or download it again" in message and "accepted formats" not in message, message


def test_url_the_engine_refuses_is_explained(cli_env, engine) -> None:
    with conversation(cli_env) as (convo, out, calls):
        report = convo.turn("https://example.com/demo.mp4 add music")
    assert report.errors[0]["code"] == 4001 and "accepted formats" in report.errors[0]["message"]


def test_upload_with_instruction(cli_env, engine, clip: Path) -> None:
    with conversation(cli_env) as (convo, out, calls):
        report = convo.turn("add a title 'Demo Day' for 2 seconds", [str(clip)])
    assert report.ok
    assert "📎 clip.mp4 (video, 6.0s, 640×360)" in report.replies[0]
    assert 'Added the title "Demo Day"' in report.replies[1]


def test_an_upload_that_ends_early_says_so(cli_env, engine, tmp_path: Path) -> None:
    cut = make_truncated(tmp_path / "demo.mp4", seconds=10, keep_seconds=7)
    with conversation(cli_env) as (convo, out, calls):
        report = convo.turn("upload", [str(cut)])
    assert report.ok
    assert "demo.mp4 ends early" in report.replies[0] and "the video will be" in report.replies[0], report.replies


# ----------------------------------------------------------------------------- the stream

def test_silent_edit_is_reported_from_a_state_diff(cli_env, engine, clip: Path) -> None:
    engine_api(engine).faults(silent_rate=1.0)
    with conversation(cli_env) as (convo, out, calls):
        convo.turn("upload", [str(clip)])
        report = convo.turn("add a title 'Quiet' for 2 seconds")
    assert report.chat.silent
    assert report.replies == ['✅ Title added: "Quiet" (0-2s)']


def test_heartbeats_only_shows_the_notice_then_times_out_and_recovers(cli_env, engine, clip: Path,
                                                                       monkeypatch) -> None:
    monkeypatch.setenv("AI_MUSIC_NOTICE_PERIOD", "0.3")
    monkeypatch.setenv("AI_MUSIC_HEARTBEAT_TIMEOUT", "1.0")
    monkeypatch.setenv("AI_MUSIC_RECOVERY_WAIT", "0.6")
    engine_api(engine).faults(heartbeats_only_s=2.0)
    with conversation(cli_env) as (convo, out, calls):
        convo.turn("upload", [str(clip)])
        report = convo.turn("add a title 'Late' for 2 seconds")
    assert report.chat.notices >= 2 and out.notices.count("⏳ Still working...") >= 2
    assert report.chat.timed_out and report.chat.recovered
    assert '✅ Title added: "Late" (0-2s)' in report.replies[-1]
    assert paths(calls).count("/run_sse") == 1  # never re-sent


def test_dropped_stream_is_recovered_through_state_without_resending(cli_env, engine, clip: Path) -> None:
    engine_api(engine).faults(sse_drop_after=1)
    with conversation(cli_env) as (convo, out, calls):
        convo.turn("upload", [str(clip)])
        report = convo.turn("add a title 'Dropped' for 2 seconds")
    assert report.chat.dropped and report.chat.recovered
    assert paths(calls).count("/run_sse") == 1
    assert "your edit went through" in report.replies[-1] and "Dropped" in report.replies[-1]


def test_reply_is_gui_translated(cli_env, engine, clip: Path) -> None:
    with conversation(cli_env) as (convo, out, calls):
        report = convo.turn("add a title 'Hi' for 2 seconds", [str(clip)])
    text = "\n".join(report.replies)
    assert "Click" not in text and "click" not in text and "Preview in timeline" not in text
    assert "Timeline (2 tracks)" in text  # "preview in timeline" became the summary
    assert "say “export”" in text         # "click Export" became an offer


# ----------------------------------------------------------------------------- processes

def test_two_say_processes_share_one_session(cli_env, engine, clip: Path) -> None:
    first = run_cli("say", "--json", "--attach", str(clip), "add a title 'One' for 2 seconds", env=cli_env)
    second = run_cli("say", "--json", "status", env=cli_env)
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert a["session_id"] == b["session_id"]
    assert '"One"' in b["reply"]


def test_say_json_schema_is_stable(cli_env, engine, clip: Path) -> None:
    import jsonschema

    from support import ROOT

    schema = json.loads((ROOT / "docs" / "say.schema.json").read_text())
    for args in (["--attach", str(clip), "add a title 'x'"], ["status"], ["export"]):
        jsonschema.validate(json.loads(run_cli("say", "--json", *args, env=cli_env).stdout), schema)
    result = run_cli("say", "--json", "credits", env=cli_env)
    data = json.loads(result.stdout)
    jsonschema.validate(data, schema)
    assert set(data) == set(schema["required"])
    assert data["ok"] is True and data["route"]["action"] == "credits"
    assert data["credits"] == {"available": 95, "frozen": 0, "total": 95, "unlimited": False}


def test_say_json_never_contains_the_token(cli_env, engine, isolated_home: Path) -> None:
    result = run_cli("say", "--json", "credits", env=cli_env)
    token = json.loads((isolated_home / ".config" / "nemovideo" / "tokens.json").read_text())
    secret = next(iter(token.values()))["token"]
    assert secret not in result.stdout and secret not in result.stderr


@pytest.mark.parametrize("args, expect", [
    (["say", "--attach", "/nonexistent.mp4", "go"], "no such file"),
    (["say", "x" * 100_001], "longer than 100,000"),
])
def test_say_bad_input(cli_env, engine, args: list[str], expect: str) -> None:
    result = run_cli(*args, env=cli_env)
    assert result.returncode == 2 and expect in result.stderr and "Traceback" not in result.stderr


def test_empty_message_asks_what_to_do(cli_env, engine) -> None:
    with conversation(cli_env) as (convo, out, calls):
        report = convo.turn("")
    assert "What would you like" in report.replies[0] and "/run_sse" not in paths(calls)


def test_long_message_is_sent_whole(cli_env, engine, clip: Path) -> None:
    text = "please " + "make it nicer " * 7000  # ~100 kB
    with conversation(cli_env) as (convo, out, calls):
        report = convo.turn(text)
    chat = next(c for c in calls if c["path"] == "/run_sse")
    assert chat["body"]["new_message"]["parts"][0]["text"] == text.strip()
    assert report.ok


def test_environment_setting_that_is_not_a_number(cli_env, engine, monkeypatch) -> None:
    result = run_cli("say", "credits", env={**cli_env, "NEMO_POLL_INTERVAL": "soon"})
    assert result.returncode == 2 and "NEMO_POLL_INTERVAL" in result.stderr



def test_retry_resends_an_unconfirmed_message_even_from_the_next_process(cli_env, engine, clip: Path) -> None:
    engine_api(engine).faults(sse_drop_after=1)
    with conversation(cli_env) as (convo, out, calls):
        convo.turn("upload", [str(clip)])
        dropped = convo.turn("what would suit this video?")
    assert dropped.chat.dropped and not dropped.chat.recovered
    assert "retry" in dropped.replies[-1]
    with conversation(cli_env) as (convo, out, calls):  # a new connection, as the next `ai-music say` is
        again = convo.turn("retry")
        sent = [json.dumps(c["body"], ensure_ascii=False) for c in calls if c["path"] == "/run_sse"]
        assert len(sent) == 1 and "what would suit this video?" in sent[0]
        assert again.ok and not again.chat.dropped
        assert convo.conn.unsent_message() is None  # sent once: a second "retry" will not repeat it


def test_a_new_project_forgets_the_unsent_message(cli_env, engine, clip: Path) -> None:
    engine_api(engine).faults(sse_drop_after=1)
    with conversation(cli_env) as (convo, out, calls):
        convo.turn("upload", [str(clip)])
        convo.turn("what would suit this video?")
        assert convo.conn.unsent_message() == "what would suit this video?"
        convo.new_project("hello")
        assert convo.conn.unsent_message() is None
