"""Routing what a user types to the skill's actions, as the document's table says."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from support import BUNDLED, CORPUS, run_cli
from runtime.document.router import Router
from runtime.document import load_skill


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(load_skill(BUNDLED, cache=False))


# (utterance, expected actions in order)
CASES: list[tuple[str, list[str]]] = [
    # export row, English
    ("export", ["export"]),
    ("export 1080p MP4", ["export"]),
    ("Export!!!", ["export"]),
    ("EXPORT the video please", ["export"]),
    ("please export it now.", ["export"]),
    ("ok, export", ["export"]),
    ("🚀 export", ["export"]),
    ("export 🎬", ["export"]),
    ("download", ["export"]),
    ("Download the final cut", ["export"]),
    ("send me the video", ["export"]),
    ("Send me the video when it's done", ["export"]),
    ("send   me   the   video", ["export"]),
    ("can you export it?", ["export"]),
    ("could you please download it for me?", ["export"]),
    ("export?", ["export"]),
    ("(export)", ["export"]),
    ("\"export\"", ["chat"]),  # quoted: the user is talking about the word
    ("exporter", ["chat"]),
    ("reexported", ["chat"]),
    ("exports folder", ["chat"]),
    ("pre-export checks", ["chat"]),
    ("downloading", ["chat"]),
    # export row, Chinese
    ("导出", ["export"]),
    ("帮我导出视频", ["export"]),
    ("导出1080p", ["export"]),
    ("请导出！", ["export"]),
    ("现在导出吧", ["export"]),
    # negations and questions
    ("don't export yet", ["chat"]),
    ("do not export until the music is right", ["chat"]),
    ("Don't download anything", ["chat"]),
    ("never export without asking", ["chat"]),
    ("how do I export?", ["chat"]),
    ("How can I download the video?", ["chat"]),
    ("why does export take so long", ["chat"]),
    ("不要导出", ["chat"]),
    ("先不导出", ["chat"]),
    ("别导出", ["chat"]),
    ("如何导出", ["chat"]),
    ("怎么导出视频", ["chat"]),
    # credits row
    ("credits", ["credits"]),
    ("how many credits do I have", ["credits"]),
    ("Credits?", ["credits"]),
    ("balance", ["credits"]),
    ("what's my balance", ["credits"]),
    ("check my balance", ["credits"]),
    ("积分", ["credits"]),
    ("我还有多少积分", ["credits"]),
    ("余额", ["credits"]),
    ("查一下余额", ["credits"]),
    ("credit card", ["chat"]),
    # state row
    ("status", ["state"]),
    ("STATUS?", ["state"]),
    ("show tracks", ["state"]),
    ("Show Tracks", ["state"]),
    ("show   tracks please", ["state"]),
    ("状态", ["state"]),
    ("项目状态", ["state"]),
    ("statuses", ["chat"]),
    # upload row
    ("upload", ["upload"]),
    ("I want to upload a clip", ["upload"]),
    ("上传", ["upload"]),
    ("我要上传视频", ["upload"]),
    ("uploaded", ["chat"]),
    # chat / fallback
    ("generate background music that matches the mood and length of my video", ["chat"]),
    ("add lo-fi music at 35%", ["chat"]),
    ("make it louder", ["chat"]),
    ("add a title 'Export Ready' at the start", ["chat"]),
    ("add a title \"Download now\" for 3 seconds", ["chat"]),
    ("添加背景音乐", ["chat"]),
    ("把音乐调小一点", ["chat"]),
    ("", ["chat"]),
    ("   ", ["chat"]),
    ("🎵🎵🎵", ["chat"]),
    ("make a 30 second upbeat track for a product launch", ["chat"]),
    ("regenerate", ["chat"]),
    # several actions in one turn
    ("add lo-fi music and then export", ["chat", "export"]),
    ("add music, then export", ["chat", "export"]),
    ("show tracks and credits", ["state", "credits"]),
    ("export and then show my balance", ["export", "credits"]),
    ("add lo-fi, then show tracks, then export", ["chat", "state", "export"]),
    ("添加背景音乐，然后导出", ["chat", "export"]),
    ("don't export yet, add piano first", ["chat"]),
    ("upload and add music", ["upload", "chat"]),
]


@pytest.mark.parametrize("text, expected", CASES, ids=[c[0][:40] or "empty" for c in CASES])
def test_routing_table(router: Router, text: str, expected: list[str]) -> None:
    route = router.route(text)
    assert [s.action.value for s in route.steps] == expected, route.reason


def test_at_least_80_utterances() -> None:
    assert len(CASES) >= 80


def test_chat_message_excludes_the_clauses_handled_locally(router: Router) -> None:
    route = router.route("add lo-fi music and make it quieter, then export")
    assert route.text == "add lo-fi music and make it quieter"
    assert "export" not in route.text  # §3.5: never send "export" to the backend


def test_attached_file_routes_to_upload_and_keeps_the_instruction(router: Router, tmp_path: Path) -> None:
    video = tmp_path / "demo.mp4"
    video.write_bytes(b"\x00")
    route = router.route("generate background music that matches the mood", [str(video)])
    assert [s.action.value for s in route.steps] == ["upload", "chat"]
    assert route.attachments == (str(video),)
    assert route.then[0].text == "generate background music that matches the mood"


@pytest.mark.parametrize("template", [
    "{path} add lo-fi music",
    "add lo-fi music to {path}",
    "use '{path}' and add lo-fi music",
    "\"{path}\" add lo-fi music",
])
def test_path_in_the_text_routes_to_upload(router: Router, tmp_path: Path, template: str) -> None:
    video = tmp_path / "my demo.mp4" if "'" in template or '"' in template else tmp_path / "demo.mov"
    video.write_bytes(b"\x00")
    route = router.route(template.format(path=video))
    assert route.action.value == "upload"
    assert route.attachments == (str(video),)
    assert "lo-fi" in route.then[0].text and str(video) not in route.then[0].text


def test_path_that_does_not_exist_is_just_text(router: Router) -> None:
    route = router.route("/nowhere/demo.mp4 add music")
    assert route.action.value == "chat"


def test_media_url_routes_to_upload(router: Router) -> None:
    route = router.route("https://example.com/clips/demo.mp4 and add cinematic music")
    assert route.action.value == "upload" and route.attachments == ("https://example.com/clips/demo.mp4",)
    assert route.then[0].action.value == "chat"


def test_non_media_url_is_not_uploaded(router: Router) -> None:
    route = router.route("use music like https://www.youtube.com/watch?v=abc")
    assert route.action.value == "chat"


def test_negation_reason_is_explained(router: Router) -> None:
    route = router.route("don't export yet")
    assert "negated" in route.reason


def test_two_column_example_table(tmp_path: Path) -> None:
    router = Router(load_skill(CORPUS / "hotel-video-maker.md", cache=False))
    assert router.route("show me what we have").action.value == "state"
    assert router.route("send me the video").action.value == "export"
    assert router.route("make the colors warmer").action.value == "chat"
    assert router.route("balance").action.value == "credits"
    assert router.route("导出").action.value == "chat"  # this document has no Chinese export keyword


def test_yes_no_table_without_sections() -> None:
    router = Router(load_skill(CORPUS / "video-editor-arabic.md", cache=False))
    route = router.route("export")
    assert route.action.value == "export" and route.skip_sse


def test_huge_input_routes_quickly(router: Router) -> None:
    import time

    text = "make the music warmer " * 50_000 + " export"
    started = time.perf_counter()
    route = router.route(text)
    assert time.perf_counter() - started < 0.5
    assert route.action.value == "chat" and route.text.endswith("export")


def test_route_command_json() -> None:
    result = run_cli("route", "--json", "add music and then export")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["action"] == "chat" and data["text"] == "add music"
    assert data["then"][0]["action"] == "export" and data["then"][0]["section"] is None  # no numbered sections


def test_route_command_with_attachment(tmp_path: Path) -> None:
    video = tmp_path / "clip.webm"
    video.write_bytes(b"\x00")
    result = run_cli("route", "--json", "--attach", str(video), "make it cinematic")
    data = json.loads(result.stdout)
    assert data["action"] == "upload" and data["attachments"] == [str(video)]


def test_route_command_missing_attachment_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_cli("route", "--attach", str(tmp_path / "nope.mp4"), "hi")
    assert result.returncode == 2 and "no such file" in result.stderr and "Traceback" not in result.stderr


def test_route_does_not_import_the_engine_or_numpy() -> None:
    code = ("import sys; from runtime.cli import main; main(['route', 'export']); "
            "bad = [m for m in ('numpy', 'httpx', 'engine', 'starlette', 'scipy') if m in sys.modules]; "
            "print('LOADED', bad)")
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=BUNDLED.parent)
    assert "LOADED []" in out.stdout, out.stdout + out.stderr
