"""Drum parts: per-genre grooves by arrangement level, fills into transitions, accents.

Patterns are 16-step strings per kit piece ("X" accent, "x" normal, "o" soft, "g" ghost);
swing is applied later by the grid, so the tables stay readable.
"""
from __future__ import annotations

from .context import Context, Event
from .orchestration import rests
from .score import Part

PIECES = {"kick": 36, "boom": 35, "snare": 38, "rim": 37, "clap": 39, "hat": 42, "ohat": 46, "crash": 49,
          "ride": 51, "tom_low": 41, "tom_mid": 45, "tom_high": 50, "shaker": 70, "tamb": 54, "taiko": 48}
_VEL = {"X": 1.0, "x": 0.8, "o": 0.55, "g": 0.3}

PATTERNS: dict[str, dict[int, dict[str, str]]] = {
    "lofi": {
        1: {"kick": "x.........x.....", "rim": "....o.......o...", "hat": "o...o...o...o..."},
        2: {"kick": "x......x..x.....", "snare": "....x.......x...", "hat": "x.o.x.o.x.o.x.o."},
        3: {"kick": "x......x..x..x..", "snare": "....x..g....x.g.", "hat": "x.oox.o.x.oox.o.", "ohat": "..............o."},
    },
    "boombap": {
        1: {"kick": "x.........x.....", "snare": "....o.......o...", "hat": "o.o.o.o.o.o.o.o."},
        2: {"kick": "x.....x...x.....", "snare": "....X.......X...", "hat": "x.o.x.o.x.o.x.o."},
        3: {"kick": "x.....x..xx.....", "snare": "....X..g....X...", "hat": "xoxox.xoxoxox.xo", "ohat": ".....o.......o.."},
    },
    "corporate": {
        1: {"kick": "x.......x.......", "clap": "....o.......o...", "hat": "..o...o...o...o."},
        2: {"kick": "x.......x.x.....", "clap": "....x.......x...", "hat": "x.o.x.o.x.o.x.o.", "shaker": "gogogogogogogogo"},
        3: {"kick": "x...x...x...x...", "clap": "....x.......x...", "snare": "....o.......o...",
            "hat": "xoxoxoxoxoxoxoxo", "ohat": "..o...o...o...o."},
    },
    "upbeat": {
        1: {"kick": "x...x...x...x...", "hat": "..o...o...o...o."},
        2: {"kick": "x...x...x...x...", "clap": "....x.......x...", "hat": "x.x.x.x.x.x.x.x.", "ohat": "..o...o...o...o."},
        3: {"kick": "x...x...x...x...", "clap": "....X.......X...", "snare": "....x.......x..g",
            "hat": "xoxoxoxoxoxoxoxo", "ohat": "..x...x...x...x.", "tamb": "....x.......x..."},
    },
    "electronic": {
        1: {"kick": "x...x...x...x...", "hat": "..o...o...o...o."},
        2: {"kick": "x...x...x...x...", "clap": "....x.......x...", "ohat": "..x...x...x...x.", "hat": "x.o.x.o.x.o.x.o."},
        3: {"kick": "X...X...X...X...", "clap": "....X.......X...", "ohat": "..x...x...x...x.",
            "hat": "xoxxxoxxxoxxxoxx", "ride": "x.x.x.x.x.x.x.x."},
    },
    "cinematic": {
        1: {"taiko": "x...............", "tom_low": "........o......."},
        2: {"taiko": "x.....x.x.......", "tom_low": "....o.......o.o.", "snare": "............g.g."},
        3: {"taiko": "X..x..x.X..x..x.", "tom_low": "....x.......x.x.", "tom_mid": "x.g.x.g.x.g.x.g.", "snare": "....o.......o..."},
    },
    "folk": {
        1: {"shaker": "o.x.o.x.o.x.o.x."},
        2: {"kick": "x.......x.......", "rim": "....x.......x...", "shaker": "o.x.o.x.o.x.o.x."},
        3: {"kick": "x.....x.x.......", "snare": "....x.......x...", "shaker": "oxxxoxxxoxxxoxxx", "tamb": "....o.......o..."},
    },
    "soft": {
        1: {"kick": "x.......x.......", "shaker": "..o...o...o...o."},
        2: {"kick": "x.......x.......", "rim": "....o.......o...", "shaker": "o.o.o.o.o.o.o.o."},
        3: {"kick": "x.....x.x.......", "snare": "....o.......o...", "hat": "x.o.x.o.x.o.x.o."},
    },
}
# seeded alternatives for the main groove's low drum (levels 2-3)
GROOVE_ALTS: dict[str, tuple[str, ...]] = {
    "lofi": ("x......x..x.....", "x.....x...x.....", "x..x......x.....", "x......x.x......"),
    "boombap": ("x.....x...x.....", "x......xx.x.....", "x.x.......x....x", "x.....x..x......"),
    "corporate": ("x.......x.x.....", "x.......x.....x.", "x.....x.x......."),
    "folk": ("x.......x.......", "x.....x.x.......", "x.......x..x...."),
    "cinematic": ("x.....x.x.......", "x..x....x.......", "x.....x...x.x..."),
    "soft": ("x.......x.......", "x.....x.x......."),
}
_LOW = {"cinematic": "taiko"}
FILL_KIND = {"lofi": "snare", "boombap": "snare", "corporate": "toms", "upbeat": "toms", "electronic": "roll",
             "cinematic": "taiko", "folk": "snare", "soft": "snare"}
CRASH = {"cinematic": ("crash", "boom"), "lofi": ("crash",), "boombap": ("crash",)}


def _fill(kind: str, steps: int, energy: float) -> list[tuple[int, str, float]]:
    """(step offset from the fill start, piece, velocity) for a fill of ``steps`` 16ths."""
    out = []
    for i in range(steps):
        ramp = 0.45 + 0.5 * (i + 1) / steps
        if kind == "toms":
            piece = ("tom_high", "tom_mid", "tom_low", "snare")[min(3, i * 4 // steps)]
        elif kind == "taiko":
            piece = "taiko" if i % 2 == 0 else "tom_low"
        elif kind == "roll":
            piece = "clap" if i % 4 == 3 else "snare"
        else:
            piece = "snare" if i % 2 == 1 or i >= steps - 2 else "rim"
        out.append((i, piece, min(1.0, ramp * (0.7 + 0.3 * energy))))
    return out


def write(part: Part, ctx: Context) -> list[Event]:
    style = part.style
    table = PATTERNS.get(style, PATTERNS["soft"])
    rng = ctx.rng("drums", style)
    alts = GROOVE_ALTS.get(style)
    low = _LOW.get(style, "kick")
    groove = alts[int(rng.integers(len(alts)))] if alts else None
    variation = int(rng.integers(3))
    grid, form = ctx.grid, ctx.form
    fill_windows: list[tuple[float, float]] = []
    events: list[Event] = []
    for land in form.fills:
        bar = max(0, min(int((land - 0.01) // 4), grid.bars - 1))
        level = form.level(bar)
        if rests("drums", form.section_at(bar).name):
            level = max(level, 1)              # drums that sat out come back with a fill
        if level == 0:
            continue
        next_is_peak = any(s.start_bar * 4 == land and s.name == "climax" for s in form.sections)
        steps = 16 if next_is_peak and style == "electronic" else (8 if level == 3 else 4)
        start = land - steps / 4.0
        if start < 0:
            continue
        fill_windows.append((start, land))
        for i, piece, vel in _fill(FILL_KIND.get(style, "snare"), steps, form.bar_energy[bar]):
            events.append(Event(start + i / 4.0, 0.25, PIECES[piece], vel))
        events.extend(_crash(style, land, form.bar_energy[min(int(land // 4), grid.bars - 1)]))
    for bar in range(grid.bars):
        level = form.level(bar)
        if level == 0 or rests("drums", form.section_at(bar).name):
            continue
        pattern = dict(table[level])
        if groove and level >= 2 and low in pattern:
            pattern[low] = groove
        section = form.section_at(bar)
        if (bar - section.start_bar) % 4 == 3:
            pattern = _vary(pattern, variation, low)
        energy = form.bar_energy[bar]
        for piece, steps in pattern.items():
            for k, ch in enumerate(steps):
                if ch == ".":
                    continue
                beat = 4.0 * bar + k / 4.0
                if beat >= grid.beats or any(a <= beat < b for a, b in fill_windows):
                    continue
                vel = _VEL[ch] * (0.72 + 0.28 * energy)
                events.append(Event(beat, 0.25, PIECES[piece], vel))
    for hit in form.hits:
        events.extend(_crash(style, hit, 1.0))
    final = ctx.final
    if final is not None and form.level(grid.bars - 1) >= 1 and all(abs(f - final.start) > 1e-6 for f in form.fills):
        events.extend(_crash(style, final.start, form.bar_energy[-1]))
    return events


def _crash(style: str, beat: float, energy: float) -> list[Event]:
    pieces = CRASH.get(style, ("crash", "kick"))
    vel = 0.6 + 0.4 * energy
    return [Event(beat, 0.25, PIECES[p], vel) for p in pieces]


def _vary(pattern: dict[str, str], variation: int, low: str) -> dict[str, str]:
    """End-of-phrase variation: a pushed low drum, an open hat, or a ghost snare pickup."""
    out = dict(pattern)
    if variation == 0 and low in out:
        s = out[low]
        out[low] = s[:14] + "o" + s[15]
    elif variation == 1:
        out["ohat"] = (out.get("ohat") or "." * 16)[:14] + "x."
    elif "snare" in out:
        s = out["snare"]
        out["snare"] = s[:15] + "g" if s[15] == "." else s
    return out
