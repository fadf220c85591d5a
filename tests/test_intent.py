"""Keyword *and intent*: a table keyword that means something else in its clause is not the action.

SKILL.md routes "via keyword and intent classification". These sentences all carry a keyword
of the document's table; about half are edits where the keyword names a thing in the video,
is the subject of a remark, or is the verb of an edit — those go to the backend as chat, in
full — and the rest really ask for the action.
"""
from __future__ import annotations

import pytest

from support import BUNDLED, CORPUS
from runtime.document.router import Router
from runtime.document import load_skill

SKILL = load_skill(BUNDLED, cache=False)

# keyword-bearing edits: the whole sentence is one chat message
EDITS: list[str] = [
    "the credits roll at the end needs music",
    "status quo is boring, make it epic",
    "balance out the voice and the music",
    "upload speed was slow, anyway add piano music",
    "add soft piano over the end credits",
    "fade the music out before the credits",
    "the end credits need something calmer",
    "play a sad tune during the closing credits",
    "balance the music against the narration",
    "can you balance the levels between voice and music",
    "better balance between voice and music",
    "the export looked too dark last time, add warmer music",
    "my upload failed earlier, just add lo-fi music",
    "the download took forever, make the music louder",
    "make the status screen scene more tense",
    "add cinematic music to the download section of the demo",
    "mute the audio where the upload progress bar appears",
    "the status bar animation needs a whoosh",
    "export looks blurry so add a title \"Sharp\" at the start",
    "导出的视频开头加个标题“你好”",
    "上传速度很慢，不过帮我加点钢琴曲",
    "给上传的视频配上轻快的音乐",
    "人物状态很放松，配一段舒缓的音乐",
    "把状态栏那一段静音",
    "积分榜出现的时候音乐激昂一点",
    "上传的片段太长了，剪掉前5秒",
    "导出的版本声音太小，把音乐调大",
    "状态很好，再加点鼓",
    "视频状态不错，加一段史诗感的配乐",
]

# keyword-bearing requests for the action (and multi-action turns that must keep working)
REQUESTS: list[tuple[str, list[str]]] = [
    ("export the video in 1080p", ["export"]),
    ("please export it now", ["export"]),
    ("can you download the final cut", ["export"]),
    ("send me the video when it's ready", ["export"]),
    ("start the export", ["export"]),
    ("make sure to export in 1080p", ["export"]),
    ("let's download it", ["export"]),
    ("go ahead and export", ["export"]),
    ("what's my balance", ["credits"]),
    ("how many credits are left", ["credits"]),
    ("how many credits do I have", ["credits"]),
    ("check my credits", ["credits"]),
    ("give me my balance", ["credits"]),
    ("balance?", ["credits"]),
    ("show me the status", ["state"]),
    ("status of my project", ["state"]),
    ("status please", ["state"]),
    ("upload a new clip", ["upload"]),
    ("I'd like to upload another video", ["upload"]),
    ("status and then export", ["state", "export"]),
    ("add music and export", ["chat", "export"]),
    ("帮我导出视频", ["export"]),
    ("把视频导出成1080p", ["export"]),
    ("现在导出吧", ["export"]),
    ("我还有多少积分", ["credits"]),
    ("查一下余额", ["credits"]),
    ("余额多少", ["credits"]),
    ("看看项目状态", ["state"]),
    ("状态怎么样", ["state"]),
    ("我要上传视频", ["upload"]),
    ("加点钢琴，然后导出", ["chat", "export"]),
]


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(SKILL)


def _has_table_keyword(text: str) -> bool:
    lower = text.lower()
    return any(k.lower() in lower for rule in SKILL.routes if not rule.fallback for k in rule.keywords)


@pytest.mark.parametrize("text", EDITS)
def test_keyword_inside_an_edit_is_chat_and_keeps_the_whole_request(router: Router, text: str) -> None:
    assert _has_table_keyword(text)
    route = router.route(text)
    assert [s.action.value for s in route.steps] == ["chat"], route.reason
    assert route.text == text  # nothing of the edit is lost
    assert "not a request" in route.reason or "asked about" in route.reason


@pytest.mark.parametrize("text, expected", REQUESTS, ids=[t for t, _ in REQUESTS])
def test_keyword_that_asks_for_the_action_still_routes(router: Router, text: str, expected: list[str]) -> None:
    assert _has_table_keyword(text)
    assert [s.action.value for s in router.route(text).steps] == expected


def test_the_set_is_large_and_balanced() -> None:
    sentences = EDITS + [t for t, _ in REQUESTS]
    chinese = [t for t in sentences if any("\u4e00" <= ch <= "\u9fff" for ch in t)]
    assert len(sentences) >= 40 and len(chinese) >= 15 and len(sentences) - len(chinese) >= 15
    assert len(EDITS) >= len(sentences) // 2 - 1


def test_the_reason_says_what_the_keyword_is(router: Router) -> None:
    assert "used as a verb" in router.route("balance out the voice and the music").reason
    assert "subject of a statement" in router.route("upload speed was slow").reason
    assert "part of an edit" in router.route("add soft piano over the end credits").reason


@pytest.mark.parametrize("text, expected", [
    ("is the export done?", "chat"), ("did my upload work?", "chat"), ("has the download finished", "chat"),
    ("are you able to export?", "export"),
])
def test_a_question_about_a_finished_export_does_not_start_another(router: Router, text: str, expected: str) -> None:
    assert router.route(text).action.value == expected


def test_the_rule_follows_another_documents_table() -> None:
    """The hotel document's table has its own keywords; the same grammar applies to them."""
    router = Router(load_skill(CORPUS / "hotel-video-maker.md", cache=False))
    assert router.route("balance out the voice and the music").action.value == "chat"
    assert router.route("the credits roll at the end needs music").action.value == "chat"
    assert router.route("check my balance").action.value == "credits"
    assert router.route("show me what we have").action.value == "state"
