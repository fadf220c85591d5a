"""Which language a message is in, for the engine's replies and the client's session — one rule.

Only Han characters make a message Chinese. Kana and Hangul are unspaced scripts too (the
router matches keywords in them as substrings, ``protocol.scripts.UNSPACED``), but a Korean
or Japanese message in an English session must not get a Chinese reply; the skill has
English and Chinese wording only, so anything that is not Chinese is answered in English.
"""
from __future__ import annotations

from typing import Literal

from protocol.scripts import HAN

Language = Literal["en", "zh"]


def language_of(text: str) -> Language:
    """``"zh"`` when the text has Han characters, else ``"en"``."""
    return "zh" if HAN.search(text) else "en"
