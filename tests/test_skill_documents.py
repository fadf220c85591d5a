"""Reading skill documents: every variant of the family loads and says what it says.

The expectations below were checked by hand against the documents in
``shared/skills-corpus`` and the seed; `ai-music skill show --json` must print them.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from support import BUNDLED, CORPUS, SEED, corpus_files, run_cli
from runtime.document.errors import SkillError
from runtime.document import Action, ErrorKind, GuiAction, load_skill

NOT_RUNNABLE = {
    "birthday-party-video.md": "endpoints this runtime cannot drive",
    "nemo-video_2026-03-13_27ce8fe.md": "no routing table",
    "nemo-video_2026-03-16_762a39f.md": "no routing table",
}


@pytest.mark.parametrize("path", [SEED, BUNDLED, *corpus_files()], ids=lambda p: p.name)
def test_every_document_of_the_family_loads(path: Path) -> None:
    skill = load_skill(path, cache=False)
    assert skill.name
    if path.name in NOT_RUNNABLE:
        assert not skill.runnable
        assert NOT_RUNNABLE[path.name] in " ".join(skill.problems)
    else:
        assert skill.runnable, skill.problems
        actions = {r.action for r in skill.routes}
        assert {Action.EXPORT, Action.CREDITS, Action.STATE, Action.UPLOAD, Action.CHAT} <= actions
        assert skill.fallback_route is not None and skill.fallback_route.action is Action.CHAT


def _subset(actual: object, expected: object, where: str = "") -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} missing"
            _subset(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list) and expected and isinstance(expected[0], dict):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{where}: {actual}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            _subset(a, e, f"{where}[{i}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


SEED_EXPECTED = {
    "frontmatter": {"name": "topmediai-ai-music", "version": "1.0.0",
                    "display_name": "TopMediai AI Music — Generate Music for Videos", "emoji": "🎵",
                    "requires_env": ["NEMO_TOKEN"], "config_paths": ["~/.config/nemovideo/"],
                    "primary_env": "NEMO_TOKEN", "variant": "short_prompts", "single_line_metadata": True},
    "attribution": {"source": "topmediai-ai-music", "version": "1.0.0", "platform": None,
                    "path_rules": [["~/.clawhub/", "clawhub"], ["~/.cursor/skills/", "cursor"]],
                    "fallback": "unknown"},
    "routes": [
        {"action": "export", "keywords": ["export", "导出", "download", "send me the video"], "section": "3.5",
         "skip_sse": True, "on_file": False, "fallback": False},
        {"action": "credits", "keywords": ["credits", "积分", "balance", "余额"], "section": "3.3", "skip_sse": True},
        {"action": "state", "keywords": ["status", "状态", "show tracks"], "section": "3.4", "skip_sse": True},
        {"action": "upload", "keywords": ["upload", "上传"], "on_file": True, "section": "3.2", "skip_sse": True},
        {"action": "chat", "keywords": [], "fallback": True, "skip_sse": False, "section": "3.1"},
    ],
    "gui": [
        {"phrases": ["click", "点击"], "action": "execute"},
        {"phrases": ["open", "打开"], "action": "state"},
        {"phrases": ["drag/drop", "拖拽"], "action": "edit"},
        {"phrases": ["preview in timeline"], "action": "summary"},
        {"phrases": ["Export", "导出"], "action": "export"},
    ],
    "sse": {"notice": "⏳ Still working...", "notice_period_s": 120.0, "max_stream_s": 900.0,
            "silent_share": 0.3, "silent_fallback": True},
    "formats": {"video": ["mp4", "mov", "avi", "webm", "mkv"], "image": ["jpg", "png", "gif", "webp"],
                "audio": ["mp3", "wav", "m4a", "aac"]},
    "max_upload_bytes": 500 * 1024 * 1024,
    "api_url": "https://mega-api-prod.nemovideo.ai",
    "export": {"poll_interval_s": 30.0},
    "conversation": {"connecting": "Connecting...", "task_name": "project", "language": None,
                     "track_labels": {"0": "Video", "1": "BGM", "7": "Title"}},
    "user_in_path": "me",
    "runnable": True,
}

NEMO_VIDEO_EXPECTED = {
    "frontmatter": {"name": "nemo-video", "version": "1.9.4", "homepage": "https://nemovideo.com",
                    "repository": "https://github.com/nemovideo/nemovideo_skills", "emoji": "🎬"},
    "routes": [
        {"action": "export", "keywords": ["export", "导出", "download", "send me the video"]},
        {"action": "credits", "keywords": ["credits", "积分", "balance", "余额"]},
        {"action": "state", "keywords": ["status", "状态", "show tracks"]},
        {"action": "upload", "keywords": ["upload", "上传"], "on_file": True},
        {"action": "chat", "fallback": True},
    ],
    "gui": [
        {"phrases": ["click [button]", "点击"], "action": "execute"},
        {"phrases": ["open [panel]", "打开"], "action": "state"},
        {"phrases": ["drag/drop", "拖拽"], "action": "edit"},
        {"phrases": ["preview in timeline"], "action": "summary"},
        {"phrases": ["Export button", "导出"], "action": "export"},
        {"phrases": ["check account/billing"], "action": "credits"},
    ],
    "sse": {"notice": "⏳ Still working...", "notice_period_s": 120.0, "heartbeat_timeout_s": 600.0,
            "max_stream_s": 900.0, "ignore_trailing": ["I encountered a temporary issue"], "never_resend": True,
            "long_task_notice": "This may take a few minutes."},
    "recovery": {"first_wait_s": 30.0, "next_wait_s": 60.0, "max_unchanged": 5, "never_resend": True},
    "errors": [
        {"code": 0, "kind": "ok"}, {"code": 1001, "kind": "reauth"}, {"code": 1002, "kind": "new_session"},
        {"code": 2001, "kind": "no_credits", "message": "Top up at nemovideo.ai"},
        {"code": 4001, "kind": "bad_format"}, {"code": 4002, "kind": "too_large"},
        {"code": 400, "kind": "client_id"},
        {"code": 402, "kind": "plan", "message": "Register at nemovideo.ai to unlock export."},
        {"code": 429, "kind": "rate_limit", "wait_s": 30.0, "retries": 1},
    ],
    "api_url": "https://mega-api-prod.nemovideo.ai",
    "web_url": "https://nemovideo.com",
    "export": {"poll_interval_s": 30.0, "max_polls": 10, "free": True, "retry_on_failure": True,
               "progress": ["⏳ Rendering ~30s", "⏳ 50%", "✅ Video ready!"]},
    "links": {"project": "/workspace/task/{task_id}?session={session_id}", "project_kind": "task",
              "registration": "{web}/register?bind={user_id}"},
    "conversation": {"greeting": "📝 Let's nemo video! Drop a video here or describe what you'd like to create.",
                     "examples": ["add effects to this clip", "help me create a short video", "edit my video"],
                     "quiet_setup": True},
}

HOTEL_EXPECTED = {
    "frontmatter": {"name": "hotel-video-maker", "version": "1.0.1", "emoji": "🏨"},
    "routes": [
        {"action": "chat", "keywords": ["trim the first 5 seconds"], "skip_sse": False},
        {"action": "chat", "keywords": ["add some chill background music"]},
        {"action": "chat", "keywords": ["make the colors warmer"]},
        {"action": "chat", "keywords": ["put 'Chapter 1' at the start for 3 seconds"]},
        {"action": "chat", "keywords": ["merge these two clips"]},
        {"action": "chat", "keywords": ["speed up the middle part"]},
        {"action": "chat", "keywords": ["add a fade between scenes"]},
        {"action": "export", "keywords": ["export", "send me the video"], "section": "3.5", "skip_sse": True},
        {"action": "upload", "keywords": ["upload"], "on_file": True},
        {"action": "credits", "keywords": ["credits", "balance"]},
        {"action": "state", "keywords": ["show me what we have"]},
        {"action": "chat", "fallback": True, "label": "Every edit request goes through the SSE workflow"},
    ],
    "gui": [
        {"phrases": ["click Export", "导出"], "action": "export"},
        {"phrases": ["open timeline", "open panel"], "action": "state"},
        {"phrases": ["drag clip", "drop here"], "action": "edit"},
        {"phrases": ["preview in player"], "action": "summary"},
        {"phrases": ["check account"], "action": "credits"},
    ],
    "sse": {"notice": "⏳ Editing...", "notice_period_s": None},
    "conversation": {"connecting": "Setting things up… ready!", "task_name": "editing_session"},
    "links": {"project_kind": "token-in-url"},
}

ARABIC_EXPECTED = {
    "frontmatter": {"name": "video-editor-arabic", "version": "1.0.1"},
    "routes": [
        {"action": "export", "keywords": ["export", "download", "send me the video"], "skip_sse": True,
         "section": None},
        {"action": "credits", "keywords": ["credits", "balance"], "skip_sse": True},
        {"action": "state", "keywords": ["status", "show tracks"], "skip_sse": True},
        {"action": "upload", "keywords": ["upload"], "on_file": True, "skip_sse": True},
        {"action": "chat", "fallback": True, "skip_sse": False},
    ],
    "errors": [{"code": 0}, {"code": 1001}, {"code": 1002}, {"code": 2001}, {"code": 4001},
               {"code": 402, "kind": "plan"}, {"code": 429, "wait_s": 30.0}],
}


@pytest.mark.parametrize("path, expected", [
    (SEED, SEED_EXPECTED),
    (CORPUS / "nemo-video.md", NEMO_VIDEO_EXPECTED),
    (CORPUS / "hotel-video-maker.md", HOTEL_EXPECTED),
    (CORPUS / "video-editor-arabic.md", ARABIC_EXPECTED),
], ids=["seed", "nemo-video", "hotel", "arabic"])
def test_skill_show_json_prints_what_the_document_says(path: Path, expected: dict) -> None:
    result = run_cli("skill", "show", "--json", str(path))
    assert result.returncode == 0, result.stderr
    _subset(json.loads(result.stdout), expected)


def test_unindented_description_is_repaired_with_a_warning_not_an_error() -> None:
    skill = load_skill(SEED, cache=False)
    assert skill.frontmatter.description.startswith("Turn a 60-second product demo video")
    assert any("line 6" in w and "description" in w for w in skill.warnings)


def test_mis_encoded_documents_are_repaired_so_chinese_keywords_match() -> None:
    skill = load_skill(CORPUS / "nemo-video.md", cache=False)
    assert "导出" in skill.route_for(Action.EXPORT).keywords
    assert skill.frontmatter.emoji == "🎬"
    assert any("mis-encoded" in w for w in skill.warnings)
    # line numbers survive the repair (a damaged ✅ contains U+0085, a "line break" to splitlines)
    assert skill.route_for(Action.EXPORT).line == 94


def test_hard_coded_attribution_is_sent_as_written() -> None:
    skill = load_skill(CORPUS / "nemo-video_2026-03-16_288c689.md", cache=False)
    att = skill.attribution
    assert (att.source, att.version, att.platform) == ("nemo-video", "1.0", "github")
    assert skill.user_in_path == "{user_id}"


def test_older_variant_with_extra_rows_and_menu_rules() -> None:
    skill = load_skill(CORPUS / "nemo-video_2026-03-16_7fe0b89.md", cache=False)
    regenerate = next(r for r in skill.routes if "regenerate" in r.keywords)
    assert regenerate.action is Action.CHAT and not regenerate.skip_sse
    assert "现在什么样了" in skill.route_for(Action.STATE).keywords
    actions = {g.phrases[0]: g.action for g in skill.gui}
    assert actions["go to [settings/dashboard]"] is GuiAction.QUERY
    assert actions["Export button"] is GuiAction.EXPORT
    assert skill.error_rule(429).message == "Server busy, retrying in 30s..."


def test_two_column_chinese_error_table_is_classified() -> None:
    skill = load_skill(CORPUS / "nemo-video_2026-03-13_27ce8fe.md", cache=False)
    kinds = {e.code: e.kind for e in skill.errors}
    assert kinds == {0: ErrorKind.OK, 1001: ErrorKind.REAUTH, 1002: ErrorKind.NEW_SESSION,
                     2001: ErrorKind.NO_CREDITS, 4001: ErrorKind.BAD_FORMAT, 4002: ErrorKind.TOO_LARGE,
                     429: ErrorKind.RATE_LIMIT}


def test_git_remote_platform_rule_is_read() -> None:
    skill = load_skill(CORPUS / "nemo-video_2026-03-18_7ab544f.md", cache=False)
    assert ("github.com", "github") in skill.attribution.git_rules


def test_claim_link_variant() -> None:
    skill = load_skill(CORPUS / "nemo-video_2026-03-19_7d8899f.md", cache=False)
    assert skill.links.project == "/workspace/claim?ct=<claim_token>"
    assert skill.links.project_kind == "claim"
    assert skill.endpoint("claim").path == "/api/auth/claim-token"


def test_cache_is_refreshed_when_the_document_changes(tmp_path: Path) -> None:
    doc = tmp_path / "SKILL.md"
    doc.write_text(SEED.read_text())
    assert load_skill(doc).frontmatter.version == "1.0.0"
    doc.write_text(SEED.read_text().replace('version: "1.0.0"', 'version: "2.0.0"') + "\n")
    assert load_skill(doc).frontmatter.version == "2.0.0"


@pytest.mark.parametrize("line,expected", [('version: 1.0  # bump on release', "1.0"),
                                           ('version: "1.0 #1"  # quoted hash kept', "1.0 #1")])
def test_a_trailing_yaml_comment_is_not_part_of_the_value(tmp_path: Path, line: str, expected: str) -> None:
    doc = tmp_path / "SKILL.md"
    doc.write_text(SEED.read_text().replace('version: "1.0.0"', line))
    assert load_skill(doc, cache=False).frontmatter.version == expected


# ----------------------------------------------------------------------------- bad input

def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case, data, message", [
    ("missing", None, "no such file"),
    ("binary", b"\x7fELF\x02\x01\x01\x00\x00\x00" * 50, "binary file"),
    ("empty", b"", "is empty"),
    ("latin1", b"---\nname: x\n---\n\xff\xfe caf\xe9", "not UTF-8"),
    ("no-frontmatter", b"# Just a heading\n\nSome text.\n", "has no frontmatter"),
    ("unclosed", b"---\nname: x\n\n# body\n", "never closed"),
    ("no-name", b"---\ndescription: hi\n---\n# body\n", "no 'name'"),
    ("other-template", (CORPUS / "birthday-party-video.md").read_bytes(), "no routing table"),
])
def test_bad_documents_get_one_line_errors_and_exit_2(tmp_path: Path, case: str, data: bytes | None,
                                                      message: str) -> None:
    path = tmp_path / "SKILL.md" if data is None else _write(tmp_path, f"{case}.md", data)
    result = run_cli("route", "--skill", str(path), "export")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0] and str(path) in lines[0]


def test_no_name_error_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "SKILL.md", b"---\ndescription: hi\nversion: 1\n---\n")
    with pytest.raises(SkillError) as info:
        load_skill(path, cache=False)
    assert info.value.line == 1 and "SKILL.md:1:" in str(info.value)


def test_directory_without_skill_is_an_error(tmp_path: Path) -> None:
    result = run_cli("skill", "show", str(tmp_path))
    assert result.returncode == 2 and "directory without a SKILL.md" in result.stderr


def test_skill_show_explains_a_refused_document() -> None:
    result = run_cli("skill", "show", str(CORPUS / "birthday-party-video.md"))
    assert result.returncode == 0
    assert "NOT runnable" in result.stdout and "/v1/run" in result.stdout


def test_the_seed_as_distributed_with_prose_before_its_frontmatter_loads_with_a_warning(tmp_path: Path) -> None:
    prose = "This is the SKILL.md of TopMediai AI Music, as published on ClawHub.\nCopy it into your skills folder.\n"
    path = _write(tmp_path, "SKILL.md", (prose + "\n").encode() + SEED.read_bytes())
    skill = load_skill(path, cache=False)
    assert skill.name == "topmediai-ai-music" and skill.runnable
    assert skill.frontmatter.description.startswith("Turn a 60-second product demo video")  # the repair still works
    skipped = next(w for w in skill.warnings if "before the '---' frontmatter" in w)
    assert skipped.startswith("lines 1-2:") and "This is the SKILL.md of TopMediai" in skipped
    assert skill.route_for(Action.EXPORT).line == load_skill(SEED, cache=False).route_for(Action.EXPORT).line + 3
    result = run_cli("--skill", str(path), "route", "export it")
    assert result.returncode == 0 and result.stdout.startswith("export")
    assert result.stderr.count("\n") == 1 and "warning" in result.stderr and "lines 1-2" in result.stderr


@pytest.mark.parametrize("head", [
    "# A heading\n\n---\nnot yaml at all\n---\n",         # a rule in Markdown, not frontmatter
    "prose\n" * 11 + "---\nname: too-far-down\n---\n",      # more than a few lines down
])
def test_text_before_the_frontmatter_is_only_skipped_when_a_frontmatter_follows_soon(tmp_path: Path,
                                                                                      head: str) -> None:
    path = _write(tmp_path, "SKILL.md", head.encode())
    with pytest.raises(SkillError, match="has no frontmatter"):
        load_skill(path, cache=False)
