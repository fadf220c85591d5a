"""Which of the video's scene cuts the music marks: the only count a reply may claim.

The composer places section changes and fills against the cuts (``engine.music.form``), but
not on every cut: cuts closer than a few seconds share one transition, and a section can only
change on a phrase boundary. "20 s in 3 sections, with its section changes on 23 of your scene
cuts" was counted by asking, for each cut, whether *any* mark lay near it — so one fill could
be counted for several cuts, and fills were called section changes.

Here each mark answers for at most one cut (the nearest, matched greedily by distance), a
mark counts only within ``DOWNBEAT_SNAP_BEATS`` beats of its cut — the furthest the composer
moves a transition off a cut to land it on a bar line — and a section change is named as such
only when a section really starts there. Times are on the video's timeline (the music may
start late), so a reply can say which cuts they are.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any, Sequence

from engine.music.constants import DOWNBEAT_SNAP_BEATS

_SAME_MARK_S = 0.05  # a fill landing on a section start is one transition, not two


def marked_cuts(facts: dict[str, Any], cuts: Sequence[float], offset_s: float = 0.0) -> dict[str, Any]:
    """{"cuts": how many cuts the music spans, "sections": [t…], "fills": [t…]} for ``facts``.

    ``facts`` is the composer's description (``sections`` as (name, start, end), ``fills``
    and ``bpm``, times in the music's seconds); ``cuts`` are in the same time; ``offset_s``
    (where the music starts on the timeline) turns the reported times into video times.
    """
    beat = 60.0 / float(facts.get("bpm") or 120.0)
    starts = sorted(float(s[1]) for s in (facts.get("sections") or [])[1:])
    marks: list[tuple[float, str]] = [(t, "section") for t in starts]
    for fill in map(float, facts.get("fills") or []):
        near = starts[bisect_left(starts, fill - _SAME_MARK_S):bisect_right(starts, fill + _SAME_MARK_S)]
        if not near:
            marks.append((fill, "fill"))
    marks.sort()
    mark_times = [t for t, _ in marks]
    cut_times = sorted(float(c) for c in cuts)
    tolerance = DOWNBEAT_SNAP_BEATS * beat
    pairs = sorted((abs(cut - mark_times[j]), i, j) for i, cut in enumerate(cut_times)
                   for j in range(bisect_left(mark_times, cut - tolerance), bisect_right(mark_times, cut + tolerance)))
    used_cuts: set[int] = set()
    used_marks: set[int] = set()
    kinds: dict[int, str] = {}
    for _, i, j in pairs:
        if i not in used_cuts and j not in used_marks:
            used_cuts.add(i)
            used_marks.add(j)
            kinds[i] = marks[j][1]
    on = {kind: [round(cut_times[i] + offset_s, 2) for i in sorted(kinds) if kinds[i] == kind]
          for kind in ("section", "fill")}
    return {"cuts": len(cut_times), "sections": on["section"], "fills": on["fill"]}
