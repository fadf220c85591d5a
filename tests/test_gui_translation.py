"""The backend talks as if there were a GUI; the user must never read "click" or "drag"."""
from __future__ import annotations

import pytest

from support import BUNDLED, CORPUS
from runtime.document.gui import GuiTranslator, leftover_gui_words
from runtime.document import GuiAction, load_skill


@pytest.fixture(scope="module", params=[BUNDLED, CORPUS / "nemo-video.md", CORPUS / "hotel-video-maker.md"],
                ids=["bundled", "nemo-video", "hotel"])
def gui(request: pytest.FixtureRequest) -> GuiTranslator:
    return GuiTranslator(load_skill(request.param, cache=False))


# backend text, action expected, text that must survive (content), words that must go
CASES = [
    ("Done! I added a calm lo-fi track at 35% volume. Click **Export** to render your video.",
     GuiAction.EXPORT, "I added a calm lo-fi track at 35% volume", "Click"),
    ("Your video is ready. Click the Export button in the top right corner.",
     GuiAction.EXPORT, "Your video is ready", "Export button"),
    ("I've added lo-fi music at 35% volume — drag it on the timeline to adjust when it starts.",
     GuiAction.EDIT, "I've added lo-fi music at 35% volume", "drag"),
    ("I added the music and you can drag it to change the timing. Anything else?",
     GuiAction.EDIT, "I added the music", "drag"),
    ("Simply drag and drop the title where you want it.", GuiAction.EDIT, "", "drop"),
    ("Open the timeline panel to review your tracks.", GuiAction.STATE, "", "Open"),
    ("Great choice! You can simply click Apply to confirm the changes.", GuiAction.EXECUTE, "Great choice!", "click"),
    ("已添加背景音乐。点击导出按钮即可生成视频。", GuiAction.EXPORT, "已添加背景音乐", "点击"),
    ("你可以拖拽音乐到合适的位置。", GuiAction.EDIT, "", "拖拽"),
]


@pytest.mark.parametrize("text, action, kept, gone", CASES, ids=[c[0][:30] for c in CASES])
def test_gui_instructions_become_actions(gui: GuiTranslator, text: str, action: GuiAction, kept: str,
                                         gone: str) -> None:
    result = gui.translate(text)
    assert result.wants(action), (result.followups, result.text)
    if kept:
        assert kept in result.text
    assert gone not in result.text
    assert leftover_gui_words(result.text) == []


def test_content_descriptions_are_kept(gui: GuiTranslator) -> None:
    text = "The track opens with a soft piano intro and builds to a full band at 0:42."
    result = gui.translate(text)
    assert result.text == text and not result.followups


def test_preview_in_timeline_means_show_the_summary() -> None:
    gui = GuiTranslator(load_skill(BUNDLED, cache=False))
    result = gui.translate("Music added. Preview in timeline to check the sync.")
    assert result.text == "Music added." and result.wants(GuiAction.SUMMARY)


def test_check_account_means_credits() -> None:
    gui = GuiTranslator(load_skill(CORPUS / "nemo-video.md", cache=False))
    result = gui.translate("You're out of credits. Please check account billing to continue.")
    assert result.wants(GuiAction.CREDITS) and result.text == "You're out of credits."


def test_chinese_open_means_show_state() -> None:
    gui = GuiTranslator(load_skill(BUNDLED, cache=False))
    result = gui.translate("音乐已添加。打开时间线面板查看。")
    assert result.wants(GuiAction.STATE) and result.text == "音乐已添加。"


def test_export_as_a_command_word() -> None:
    gui = GuiTranslator(load_skill(BUNDLED, cache=False))  # the bundled skill lists bare "Export"
    assert gui.translate("Export when you're happy with it.").wants(GuiAction.EXPORT)
    assert not gui.translate("I can't export GIFs, only MP4.").followups


def test_multi_paragraph_reply_keeps_its_shape() -> None:
    gui = GuiTranslator(load_skill(BUNDLED, cache=False))
    text = "Here is your track:\n- Genre: lo-fi\n- Volume: 35%\n\nClick Export to render."
    result = gui.translate(text)
    assert result.text == "Here is your track:\n- Genre: lo-fi\n- Volume: 35%"
    assert result.wants(GuiAction.EXPORT)


def test_a_document_without_chinese_rules_still_strips_click() -> None:
    gui = GuiTranslator(load_skill(CORPUS / "video-editor-arabic.md", cache=False))
    result = gui.translate("点击应用按钮。Music added.")
    assert "点击" not in result.text and "Music added." in result.text
