"""Form: sections, per-bar energy, fills and hits, placed against the picture.

Why bars and beats: the video's cuts are instants, the music's joints are bar lines. A
cut becomes a section boundary when a section may end there (phrase lengths 2..8 bars,
chosen by dynamic programming), and always becomes a fill or swell on the nearest beat,
so every significant cut is marked within half a beat even when it falls mid-phrase.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import constants as C
from .brief import Brief, Cues
from .grid import Grid

_TEMPLATES: dict[int, tuple[str, ...]] = {
    1: ("main",),
    2: ("intro", "main"),
    3: ("intro", "main", "outro"),
    4: ("intro", "build", "main", "outro"),
    5: ("intro", "build", "main", "variation", "outro"),
    6: ("intro", "build", "main", "breakdown", "climax", "outro"),
    7: ("intro", "build", "main", "variation", "breakdown", "climax", "outro"),
}
_SECTION_ENERGY = {"intro": 0.3, "build": 0.5, "main": 0.64, "variation": 0.7, "breakdown": 0.35,
                   "climax": 0.92, "outro": 0.4}
LEVELS = (0.3, 0.5, 0.72)   # energy thresholds of arrangement levels 1, 2, 3


def level_of(energy: float) -> int:
    """Arrangement level 0 (sparse) .. 3 (full) of an energy value."""
    return sum(energy >= t for t in LEVELS)


@dataclass(frozen=True)
class SectionPlan:
    name: str
    start_bar: int
    end_bar: int
    energy: float


@dataclass(frozen=True)
class Form:
    sections: tuple[SectionPlan, ...]
    bar_energy: tuple[float, ...]
    fills: tuple[float, ...]      # beats where a transition lands
    hits: tuple[float, ...]       # beats of requested accents

    def section_at(self, bar: int) -> SectionPlan:
        for s in self.sections:
            if s.start_bar <= bar < s.end_bar:
                return s
        return self.sections[-1]

    def level(self, bar: int) -> int:
        return level_of(self.bar_energy[min(max(bar, 0), len(self.bar_energy) - 1)])


def significant_cuts(cuts: tuple[float, ...], start_s: float, end_s: float) -> list[float]:
    """Cuts worth marking: inside the piece and at least MIN_FILL_GAP_S after the last kept one."""
    kept: list[float] = []
    for t in sorted(cuts):
        if start_s <= t <= end_s and (not kept or t - kept[-1] >= C.MIN_FILL_GAP_S):
            kept.append(t)
    return kept


def _names(count: int, loopable: bool) -> list[str]:
    if count in _TEMPLATES:
        names = list(_TEMPLATES[count])
    else:   # long pieces: cycles that each end in a climax, the last one right before the outro
        cycle = ("climax", "build", "breakdown", "variation", "main")
        names = ["intro", *reversed([cycle[i % len(cycle)] for i in range(count - 2)]), "outro"]
        if names[1] == "climax":
            names[1] = "build"
    if loopable and count > 1:
        names[-1] = "main"
    return names


def section_bars(duration_s: float, bar_s: float) -> float:
    """Ideal section length in bars: about 10 s in a 30 s clip, 20 s in 3 minutes, 50 s in 10."""
    return min(max((8.0 + 0.07 * duration_s) / bar_s, 2.0), 16.0)


def _boundaries(bars: int, cut_bars: dict[int, float], ideal: float) -> list[int]:
    """Section starts by dynamic programming: phrase-like lengths, rewarded for meeting cuts."""
    if bars <= 3:
        return [0] if bars <= 1 else [0, 1]

    def length_cost(n: int) -> float:
        if n < 2:
            return 1e9
        phrase = 0.0 if n % 4 == 0 else (0.25 if n % 2 == 0 else 0.6)
        return 1.5 * (n - ideal) ** 2 / ideal + phrase

    longest = int(3 * ideal) + 4
    best = [0.0] + [float("inf")] * bars
    back = [0] * (bars + 1)
    for end in range(2, bars + 1):
        reward = cut_bars.get(end, 0.0) if end < bars else 0.0
        for start in range(max(0, end - longest), end - 1):
            cost = best[start] + length_cost(end - start) - reward
            if cost < best[end]:
                best[end], back[end] = cost, start
    starts, at = [], bars
    while at > 0:
        at = back[at]
        starts.append(at)
    return sorted(starts)


def _video_energy(cues: Cues, grid: Grid) -> np.ndarray | None:
    """The picture's energy per bar (None without a curve)."""
    if not cues.energy:
        return None
    e = np.clip(np.asarray(cues.energy, dtype=float), 0.0, 1.0)
    t = np.arange(len(e)) / cues.energy_rate
    centres = (np.arange(grid.bars) + 0.5) * grid.bar_s
    per_bar = np.interp(centres, t, e)
    span = per_bar.max() - per_bar.min()
    if span > 0.1:   # stretch a flat-ish curve half way to the full range, keep its level
        per_bar = 0.5 * per_bar + 0.5 * (per_bar - per_bar.min()) / span
    return per_bar


def _speech_bars(cues: Cues, grid: Grid) -> np.ndarray:
    """Bars more than half covered by speech."""
    covered = np.zeros(grid.bars)
    for start, end in cues.speech:
        for bar in range(grid.bars):
            a, b = bar * grid.bar_s, (bar + 1) * grid.bar_s
            covered[bar] += max(0.0, min(b, end) - max(a, start)) / grid.bar_s
    return covered > 0.5


def plan(grid: Grid, cues: Cues, brief: Brief, energy_offset: float) -> Form:
    """Sections, energy per bar, fills and hits for a metred piece."""
    beat, bar_s = grid.beat_s, grid.bar_s
    final_s = grid.body_s
    cuts = significant_cuts(cues.cuts, 0.5 * beat, final_s + 0.5 * beat)
    cut_bars: dict[int, float] = {}
    for t in cuts:
        b = int(round(t / bar_s))
        if 0 < b < grid.bars:
            near = abs(t - b * bar_s) <= beat
            cut_bars[b] = max(cut_bars.get(b, 0.0), 1.0 if near else 0.4)
    starts = _boundaries(grid.bars, cut_bars, section_bars(grid.duration_s, bar_s))
    ends = starts[1:] + [grid.bars]
    names = _names(len(starts), grid.loopable)

    template = np.zeros(grid.bars)
    for name, a, b in zip(names, starts, ends):
        template[a:b] = _SECTION_ENERGY[name]
    energy = _shape(template, brief.intensity, _video_energy(cues, grid), energy_offset, grid.bars)
    speech = _speech_bars(cues, grid)
    energy[speech] = np.minimum(energy[speech], 0.6)         # thinner under a voice
    if "drums" in brief.add:
        energy = np.maximum(energy, LEVELS[0])
    energy = np.clip(energy, 0.05, 1.0)

    sections = tuple(SectionPlan(n, a, b, float(energy[a:b].mean())) for n, a, b in zip(names, starts, ends))
    fills = _fills(cuts, grid, starts)
    last = grid.beats - 1 if grid.loopable else grid.beats      # a loop's end is its start
    hits = tuple(sorted({float(min(round(t / beat), last)) for t in brief.hits if 0.0 <= t <= grid.duration_s}))
    return Form(sections=sections, bar_energy=tuple(float(e) for e in energy), fills=fills, hits=hits)


def _shape(template: np.ndarray, intensity: str, video: np.ndarray | None, offset: float, bars: int) -> np.ndarray:
    """Energy per bar for the requested intensity; "follow" leans 65% on the picture."""
    if intensity == "build":
        return np.linspace(0.12, 1.0, bars) if bars > 1 else np.array([0.6])
    if intensity == "calm":
        return 0.16 + 0.12 * template
    if intensity == "high":
        return 0.8 + 0.2 * template + max(offset, 0.0)
    if intensity == "steady":
        return 0.55 + 0.15 * (template - 0.6) + offset
    if video is not None:
        return 0.35 * template + 0.65 * video + offset
    return template + offset


def _fills(cuts: list[float], grid: Grid, starts: list[int]) -> tuple[float, ...]:
    """Beats where transitions land: one per significant cut, plus each section start."""
    beat = grid.beat_s
    final_beat = float(grid.beats)
    out: list[float] = []
    for t in cuts:
        b = t / beat
        down = round(b / 4) * 4.0
        land = down if abs(down - b) <= C.DOWNBEAT_SNAP_BEATS else float(round(b))
        land = min(max(land, 1.0), final_beat)
        out.append(land)
    for s in starts[1:]:
        if all(abs(s * 4.0 - f) >= 4.0 for f in out):
            out.append(s * 4.0)
    if not grid.loopable and grid.beats >= 4 and all(abs(final_beat - f) >= 2.0 for f in out):
        out.append(final_beat)
    out = sorted(set(out))
    dedup: list[float] = []
    for f in out:
        if not dedup or f - dedup[-1] >= 2.0:
            dedup.append(f)
    return tuple(dedup)
