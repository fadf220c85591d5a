"""Tempo and bar grid fitted to the clip, so the music ends on a downbeat, on time.

A metred piece is ``bars`` whole bars of body followed by the final chord, which lands on
the next downbeat and rings through a short tail::

    |bar 1|bar 2| ... |bar N|final chord ~~~ fade|
    0                      final_chord_s      duration_s

We search bar counts and, for each, the tempo interval that keeps the tail inside its
allowed range; the winner is the tempo nearest the wanted one. Loopable pieces have no
tail: the body is a whole number of beats (bars preferred) so the end flows into the start.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from . import constants as C


@dataclass(frozen=True)
class Grid:
    bpm: float
    beats: int              # beats of the body
    duration_s: float
    tail_s: float
    loopable: bool
    swing: float = 0.5      # position of the off-beat inside a swung pair (0.5 = straight)
    swing_unit: float = 0.5  # beats per swung pair

    @property
    def beat_s(self) -> float:
        return 60.0 / self.bpm

    @property
    def bar_s(self) -> float:
        return 4.0 * self.beat_s

    @property
    def bars(self) -> int:
        return math.ceil(self.beats / 4)

    @property
    def body_s(self) -> float:
        return self.beats * self.beat_s

    def time(self, beat: float) -> float:
        """Seconds of a (possibly fractional) beat position, with swing applied."""
        unit = self.swing_unit
        pair, pos = divmod(beat, unit)
        half = unit / 2.0
        if self.swing != 0.5 and pos > 1e-9:
            if pos < half:
                pos = pos / half * self.swing * unit
            else:
                pos = self.swing * unit + (pos - half) / half * (1.0 - self.swing) * unit
        return (pair * unit + pos) * self.beat_s


def tail_target(duration_s: float) -> float:
    """How long the final chord rings: proportional, 0.6..2.2 s, never over a third of the clip."""
    return min(C.TAIL_BASE_S + C.TAIL_PER_S * duration_s, C.TAIL_MAX_S, duration_s / 3.0)


def tempo_window(target: float, lo: float, hi: float, requested: bool, duration_s: float) -> tuple[float, float]:
    """Tempos we accept: ±3% of a requested bpm, else the genre range around the target."""
    if requested:
        return target * (1 - C.REQUESTED_BPM_TOLERANCE), target * (1 + C.REQUESTED_BPM_TOLERANCE)
    if duration_s < C.SHORT_CLIP_S:
        return target * 0.75, target * (2.0 if duration_s < 3.0 else 1.8 if duration_s < 4.0 else 1.5)
    flex = C.AUTO_BPM_FLEX
    return max(lo * 0.95, target * (1 - flex)), min(hi * 1.05, target * (1 + flex))


def _cost(bpm: float, target: float, tail: float, tail_want: float, tempo_weight: float) -> float:
    return tempo_weight * abs(math.log(bpm / target)) + abs(math.log(tail / tail_want))


def fit(duration_s: float, target: float, window: tuple[float, float], loopable: bool,
        requested: bool = False) -> Grid | None:
    """Best grid for the clip, or None when not even one bar fits (the caller then swells).

    A requested tempo weighs three times more against the tail length than a chosen one.
    """
    weight = 12.0 if requested else 4.0
    if loopable:
        return _fit_loop(duration_s, target, window)
    want = tail_target(duration_s)
    t_min = max(C.TAIL_MIN_S, want * C.TAIL_RANGE[0])
    t_max = max(t_min, min(want * C.TAIL_RANGE[1], duration_s * 0.5))
    # a requested tempo may not fit whole bars plus a normal tail: let the tail grow first
    return (_fit_bars(duration_s, target, window, want, t_min, t_max, weight)
            or _fit_bars(duration_s, target, window, want, 0.25, duration_s * 0.45, weight))


def _fit_bars(duration_s: float, target: float, window: tuple[float, float],
              want: float, t_min: float, t_max: float, weight: float) -> Grid | None:
    lo, hi = window
    best: tuple[float, Grid] | None = None
    n_max = int((duration_s - t_min) * hi / 240.0) + 1
    for bars in range(1, n_max + 1):
        b_lo = max(lo, bars * 240.0 / (duration_s - t_min))
        b_hi = min(hi, bars * 240.0 / (duration_s - t_max)) if duration_s > t_max else hi
        if b_lo > b_hi:
            continue
        ideal_tail_bpm = bars * 240.0 / (duration_s - want)
        for bpm in {min(max(target, b_lo), b_hi), min(max(ideal_tail_bpm, b_lo), b_hi)}:
            tail = duration_s - bars * 240.0 / bpm
            cost = _cost(bpm, target, tail, want, weight)
            if best is None or cost < best[0] - 1e-12:
                best = (cost, Grid(bpm=bpm, beats=4 * bars, duration_s=duration_s, tail_s=tail, loopable=False))
    return best[1] if best else None


def _fit_loop(duration_s: float, target: float, window: tuple[float, float]) -> Grid | None:
    lo, hi = window
    best: tuple[float, Grid] | None = None
    for beats in range(1, int(duration_s * hi / 60.0) + 2):
        bpm = beats * 60.0 / duration_s
        outside = 0.0 if lo <= bpm <= hi else 10.0 + abs(math.log(bpm / target))
        penalty = 0.0 if beats % 4 == 0 else (0.3 if beats % 2 == 0 else 0.6)
        cost = 4.0 * abs(math.log(bpm / target)) + penalty + outside
        if best is None or cost < best[0]:
            best = (cost, Grid(bpm=bpm, beats=beats, duration_s=duration_s, tail_s=0.0, loopable=True))
    if best is None or best[1].beats < 2:
        return None
    return best[1]
