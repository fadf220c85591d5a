"""The key change into the climax: which section boundary it lands on, and each bar's key.

Why: produced pop, corporate and film cues lift the last big section up a step (the
"last chorus" lift); a listener hears the new key as the arrangement opening up, and a
piece that stays in one key for a minute and a half reads as a loop. The lift lands on
a section start, the bar before it is the new key's dominant (the pivot the ear follows),
and everything after — outro and final cadence included — stays in the new key.
"""

from __future__ import annotations

from .form import Form

TARGETS = ("climax", "variation", "main")  # the section that lifts, first found from the end
MIN_SECTIONS = 4  # intro, build, the lifted section, and an ending
MIN_BARS_BEFORE = 4  # the home key is heard for at least this long


def lift_bar(form: Form, lift: int, loopable: bool) -> int | None:
    """First bar in the new key, or None when the piece stays home.

    A loop never modulates (its end must flow into its start); short pieces neither, the
    home key would not have been established. Only sections after the first two and
    before the last may lift, so the piece opens in its key and ends on a full section.
    """
    if not lift or loopable or len(form.sections) < MIN_SECTIONS:
        return None
    candidates = form.sections[2:-1]
    for name in TARGETS:
        found = [s for s in candidates if s.name == name]
        if found:
            start = found[-1].start_bar
            return start if start >= MIN_BARS_BEFORE else None
    return None


def bar_keys(bars: int, tonic: int, lift: int, at: int | None) -> list[int]:
    """Tonic pitch class of every bar: home before ``at``, lifted from it on."""
    return [(tonic + lift) % 12 if at is not None and bar >= at else tonic for bar in range(bars)]
