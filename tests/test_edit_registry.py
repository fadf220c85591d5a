"""Every edit the engine can plan is applied by one handler and worded in both languages."""
from __future__ import annotations

import pytest

from engine.chat.edit_names import EditName
from engine.chat.edits import COMPOSES_MUSIC, HANDLERS, Editor, Result
from engine.chat.replies import WORDING, describe


def test_every_edit_name_has_a_handler_and_wording_in_english_and_chinese() -> None:
    assert set(HANDLERS) == set(EditName), "an edit name without a handler (or a handler without a name)"
    assert set(WORDING) == set(EditName), "an edit name without wording"
    for name, words in WORDING.items():
        assert set(words) == {"en", "zh"}, f"{name} lacks a language"


def test_only_music_edits_compose() -> None:
    assert COMPOSES_MUSIC == {EditName.ADD_BACKGROUND_MUSIC, EditName.REGENERATE_MUSIC, EditName.UPDATE_MUSIC}


def test_handlers_are_the_editor_methods_they_name() -> None:
    for name, handler in HANDLERS.items():
        assert handler is getattr(Editor, f"_{name.value}")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_music_edit_without_a_composed_piece_still_gets_a_sentence(lang: str) -> None:
    text = describe(Result(EditName.REGENERATE_MUSIC, {"seed": 3}), lang, None)  # type: ignore[arg-type]
    assert text and ("music" in text or "音乐" in text)


def test_an_unknown_edit_is_refused_in_words_not_a_crash() -> None:
    from engine.chat.director import Edit
    from engine.chat.edits import EditError

    editor = Editor({"state": {}, "task_name": "p"})
    with pytest.raises(EditError, match="make_coffee"):
        editor.apply(Edit("make_coffee"))  # type: ignore[arg-type]
