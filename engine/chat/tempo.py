"""A tempo word ("fast-paced", "轻快", "slow") → a tempo the composer can play.

"Fast" means fast *for the style*: fast lo-fi is 86 BPM, fast electronic 126. So the word
becomes a BPM inside the genre's own range (``engine.music.styles``): "fast" half way from
the preferred tempo to the top, "slow" half way down to the bottom, "medium" the preferred
tempo. When the user named no genre, the genre is chosen among the ones that suit the mood
(the mood's own list, or energetic/calm for fast/slow) — the quickest for "fast", the
slowest for "slow" — so the tempo and the sound agree; the reply names what was chosen.
"""
from __future__ import annotations

from typing import Any

from engine.music.styles import MOODS_TABLE, STYLES

_MOOD_FOR = {"fast": "energetic", "slow": "calm"}


def tempo_bpm(genre: str, pace: str) -> float:
    """The BPM a pace word means in ``genre``."""
    low, preferred, high = STYLES[genre].tempo
    if pace == "fast":
        return float(round((preferred + high) / 2))
    if pace == "slow":
        return float(round((low + preferred) / 2))
    return float(preferred)


def apply_tempo(brief: dict[str, Any], pace: str, genre: str | None = None) -> None:
    """Set ``brief``'s bpm for ``pace`` (and its genre/mood when they were left to chance).

    ``genre`` is the genre already playing (for "make it slower-paced" on a composed piece).
    An explicit bpm in the brief wins over a word.
    """
    if pace not in ("fast", "slow", "medium") or brief.get("bpm") is not None:
        return
    chosen = brief.get("genre") if brief.get("genre") not in (None, "auto") else genre
    if chosen not in STYLES:
        if pace == "medium":
            return  # the resolver's tempo is the style's preferred one: medium already
        if brief.get("mood") in (None, "auto"):
            brief["mood"] = _MOOD_FOR[pace]
        choices = MOODS_TABLE[brief["mood"]].genres
        pick = max if pace == "fast" else min
        chosen = pick(choices, key=lambda g: STYLES[g].tempo[1])
        brief["genre"] = chosen
    brief["bpm"] = tempo_bpm(chosen, pace)
