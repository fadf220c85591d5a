"""make_music(): compose, synthesize and master in one call; Music describes itself.

Memory is the constraint here (a 60 s stereo track is 23 MB of float32): the mix is
rendered and mastered in one buffer, and the stems, five times that much, are rendered
only when asked for. They are multiplied by the master's gain curve (loudness makeup and
limiter), so they stay level-matched to the mastered mix and can be rebalanced downstream.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import constants as C
from .brief import STEMS, Brief, Cues
from .composer import compose
from .loudness import measure_lufs, true_peak_dbtp
from .mastering import GainCurve, master_measured
from .score import Score
from .stream import chunks
from .synth import mixdown, render_stem


class Stems(Mapping[str, np.ndarray]):
    """The stems of a mastered piece by name, each an (N, 2) float32 array rendered on access.

    Every access renders that stem again (about a fifth of the synthesis time, and the
    same samples every time): keep the array if you need it twice.
    """

    def __init__(self, score: Score, sample_rate: int, gain: GainCurve) -> None:
        self._score, self._sample_rate, self._gain = score, sample_rate, gain

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in STEMS:
            raise KeyError(name)
        planar = render_stem(self._score, name, self._sample_rate)
        for a, b in chunks(planar.shape[1]):
            planar[:, a:b] *= self._gain.segment(a, b)
        return planar.T

    def __iter__(self) -> Iterator[str]:
        return iter(STEMS)

    def __len__(self) -> int:
        return len(STEMS)


@dataclass(frozen=True, eq=False)
class Music:
    """A finished track: mastered audio, its score, and gain-matched stems."""

    audio: np.ndarray                                 # (N, 2) float32, mastered
    score: Score
    sample_rate: int
    stems: Mapping[str, np.ndarray] = field(default_factory=dict)   # name -> (N, 2)
    measured: tuple[float, float] | None = None       # (LUFS, dBTP) of ``audio``, as the master left it

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary; loudness and true peak are the master's, or measured here on demand."""
        s = self.score
        lufs, true_peak = self.measured or (measure_lufs(self.audio, self.sample_rate),
                                            true_peak_dbtp(self.audio, self.sample_rate))
        return {
            "genre": s.genre, "mood": s.mood, "bpm": round(s.bpm, 2), "key": s.key_name(), "bars": s.bars,
            "sections": [(x.name, round(x.start_s, 3), round(x.end_s, 3)) for x in s.sections],
            "fills": [round(f, 3) for f in s.fills], "hits": [round(h, 3) for h in s.hits],
            "instruments": list(s.instruments), "seed": s.seed, "duration_s": s.duration_s,
            "loopable": s.loopable, "final_chord_s": round(s.final_chord_s, 3),
            "lufs": _finite(lufs),
            "true_peak_dbtp": _finite(true_peak),
            "key_changes": key_changes(s),
        }


def key_changes(score: Score) -> list[dict[str, Any]]:
    """Where the piece changes key, JSON-ready: when, to which key, by how many semitones up,
    and the section it opens (so a reply and the plan picture can say "up a whole step into
    the climax at 42s")."""
    out, tonic = [], score.tonic
    for change in score.key_changes:
        section = next((x.name for x in score.sections if abs(x.start_s - change.start_s) < 1e-6), "")
        out.append({"start_s": round(change.start_s, 3), "key": change.key,
                    "semitones": (change.tonic - tonic) % 12, "section": section})
        tonic = change.tonic
    return out


def _finite(x: float) -> float | None:
    return round(x, 2) if np.isfinite(x) else None


def make_music(brief: Brief, cues: Cues, sample_rate: int = C.SAMPLE_RATE, target_lufs: float = -16.0,
               stop: Callable[[], bool] | None = None) -> Music:
    """Music for the clip: exactly ``round(duration_s * sample_rate)`` samples at ``target_lufs``.

    ``stop`` is asked now and then while the piece is rendered: true raises ``synth.Stopped``."""
    score = compose(brief, cues)
    audio = mixdown(score, sample_rate, stop)
    mastered = master_measured(audio, sample_rate, target_lufs=target_lufs)
    return Music(audio=audio, score=score, sample_rate=sample_rate, stems=Stems(score, sample_rate, mastered.gain),
                 measured=(mastered.lufs, mastered.true_peak_dbtp))
