"""What the user sees of one chat turn when the backend's stream is odd — scripted streams."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from support import ROOT
from runtime.backend import Backend
from runtime.conversation import Conversation
from runtime.document import load_skill
from runtime.terminal import CollectingOutput
from skill.client import Client
from skill.connection import Connection
from skill.settings import Settings
from skill.store import ClientStore


CORPUS_SKILL = ROOT / "tests" / "corpus" / "nemo-video.md"  # says to ignore a trailing "temporary issue"


def _sse(events: list[dict[str, Any]]) -> bytes:
    return "".join(f"data: {json.dumps(e)}\n\n" for e in events).encode()


def _text(text: str, *, partial: bool = False) -> dict[str, Any]:
    return {"content": {"parts": [{"text": text}], "role": "model"}, "partial": partial}


def _turn(events: list[dict[str, Any]], tmp_path: Path, message: str = "add music") -> tuple[Any, CollectingOutput]:
    """One conversation turn against a backend that answers chat with ``events``."""
    def backend(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/run_sse":
            return httpx.Response(200, content=_sse(events), headers={"content-type": "text/event-stream"})
        if "/api/state/" in request.url.path:
            return httpx.Response(200, json={"code": 0, "data": {"state": {"draft": {"t": [], "u": 30000}}}})
        return httpx.Response(404, json={"code": 404, "message": "not here"})

    skill = load_skill(CORPUS_SKILL)
    client = Client("http://backend.test", skill, {}, transport=httpx.MockTransport(backend))
    client.token = "tok"
    conn = Connection(skill, Backend(url="http://backend.test", key="test", local=False, web_url="http://web.test"),
                      client, Settings.resolve(skill, local=True), store=ClientStore(tmp_path / "cfg"))
    conn.user_token = "tok"
    conn.store.save_session("test", {"session_id": "s1", "skill": skill.name})
    out = CollectingOutput()
    try:
        return Conversation(conn, out).turn(message), out
    finally:
        client.close()


def test_a_trailing_apology_after_a_reply_is_not_shown(isolated_home: Path, tmp_path: Path) -> None:
    report, _ = _turn([_text("Music added under the whole video."),
                       _text("I encountered a temporary issue. Please try again.")], tmp_path)
    assert report.replies == ["Music added under the whole video."]


def test_a_trailing_apology_streamed_in_chunks_is_not_shown_either(isolated_home: Path, tmp_path: Path) -> None:
    report, out = _turn([_text("Music added.", partial=True), _text("Music added."),
                         _text("I encountered ", partial=True), _text("a temporary issue.", partial=True),
                         _text("I encountered a temporary issue.")], tmp_path)
    assert report.replies == ["Music added."]
    assert "temporary" not in out.text()


def test_chunks_after_a_reply_still_show_when_they_are_real_text(isolated_home: Path, tmp_path: Path) -> None:
    report, _ = _turn([_text("Music added."), _text("It fades ", partial=True), _text("out at the end.", partial=True)],
                      tmp_path)
    assert report.replies == ["Music added. It fades out at the end."]


def test_an_in_stream_error_code_gets_the_documents_guidance(isolated_home: Path, tmp_path: Path) -> None:
    report, _ = _turn([{"error": {"message": "no credits left"}, "errorCode": 2001}], tmp_path)
    assert report.errors and report.errors[0]["code"] == 2001
    assert "Top up at nemovideo.ai" in report.errors[0]["message"]  # the corpus document's action for 2001
    assert report.exit_code == 1


@pytest.mark.parametrize("body,status,expected", [
    ({"code": "2001", "message": "no credits"}, 200, "OutOfCredits"),
    ({"code": 2001, "msg": "no credits"}, 200, "OutOfCredits"),
    ({"code": "1002", "message": "gone"}, 404, "SessionNotFound"),
    ({"code": "E_WEIRD", "success": False, "error": "boom"}, 200, "ApiError"),
])
def test_envelope_variants_with_odd_codes_are_read_not_crashed_on(body: dict, status: int, expected: str) -> None:
    from skill import errors
    from skill.client import Client

    response = httpx.Response(status, json=body, request=httpx.Request("GET", "http://backend.test/x"))
    with pytest.raises(getattr(errors, expected)) as caught:
        Client.unwrap(response)
    assert str(body.get("message") or body.get("msg") or body.get("error")) in str(caught.value)


def test_a_string_zero_code_is_success() -> None:
    from skill.client import Client

    response = httpx.Response(200, json={"code": "0", "data": {"ok": 1}}, request=httpx.Request("GET", "http://b/x"))
    assert Client.unwrap(response) == {"ok": 1}
