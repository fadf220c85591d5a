"""The greeting's "Try saying" examples are whole sentences, as the document words them.

The seed SKILL.md lists "generate background music that matches the" — cut mid-sentence in
the document itself. The document says the whole request elsewhere (its Tips and Quick edit
workflow), so the greeting shows that; a cut-off example the document never finishes is
left out rather than shown broken.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from support import BUNDLED, CORPUS, run_cli
from runtime.conversation import Conversation
from runtime.document import load_skill

SEED = CORPUS / "seed-SKILL.md"
WHOLE = "generate background music that matches the mood and length of my video"


def test_a_cut_off_example_is_completed_from_the_document() -> None:
    examples = load_skill(SEED, cache=False).conversation.examples
    assert examples == ("generate my video or text", "export 1080p MP4", WHOLE)


def test_the_bundled_examples_are_whole_requests() -> None:
    examples = load_skill(BUNDLED, cache=False).conversation.examples
    assert examples == ("add upbeat background music to my product demo", "export 1080p MP4", WHOLE)


def test_greeting_shows_the_examples_whole() -> None:
    skill = load_skill(BUNDLED, cache=False)
    greeting = Conversation(SimpleNamespace(skill=skill), SimpleNamespace()).greeting()  # type: ignore[arg-type]
    assert f"“{WHOLE}”" in greeting and "matches the”" not in greeting


def test_skill_show_prints_the_examples_whole() -> None:
    result = run_cli("skill", "show", str(SEED))
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("Try saying"))
    assert line.endswith(WHOLE) and "matches the ·" not in line


def test_a_cut_off_example_the_document_never_finishes_is_left_out(tmp_path: Path) -> None:
    text = SEED.read_text(encoding="utf-8").replace(WHOLE, "generate background music for my clip")
    doc = tmp_path / "SKILL.md"
    doc.write_text(text, encoding="utf-8")
    assert load_skill(doc, cache=False).conversation.examples == ("generate my video or text", "export 1080p MP4")


def test_a_chinese_example_cut_after_a_particle_is_left_out(tmp_path: Path) -> None:
    text = SEED.read_text(encoding="utf-8").replace('- "export 1080p MP4"', '- "给视频配上轻快的"')
    doc = tmp_path / "SKILL.md"
    doc.write_text(text, encoding="utf-8")
    assert "给视频配上轻快的" not in load_skill(doc, cache=False).conversation.examples


@pytest.mark.parametrize("name", ["how-to-add-music-to-video.md", "hotel-video-maker.md", "video-editor-arabic.md"])
def test_whole_examples_are_kept_as_written(name: str) -> None:
    examples = load_skill(CORPUS / name, cache=False).conversation.examples
    assert len(examples) == 3
