"""make_music(): compose, synthesize and master in one call; Music describes itself.

The stems are multiplied by the master's gain curve (loudness makeup and limiter), so
they stay level-matched to the mastered mix and can be rebalanced downstream.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import constants as C
from .brief import Brief, Cues
from .composer import compose
from .loudness import integrated_lufs, true_peak_dbtp
from .mastering import master_planar
from .score import Score
from .synth import synthesize


@dataclass(frozen=True, eq=False)
class Music:
    """A finished track: mastered audio, its score, and gain-matched stems."""

    audio: np.ndarray                                 # (N, 2) float32, mastered
    score: Score
    sample_rate: int
    stems: dict[str, np.ndarray] = field(default_factory=dict)   # (N, 2) views of channel-first buffers

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary; loudness and true peak are measured here, on demand."""
        s = self.score
        return {
            "genre": s.genre, "mood": s.mood, "bpm": round(s.bpm, 2), "key": s.key_name(), "bars": s.bars,
            "sections": [(x.name, round(x.start_s, 3), round(x.end_s, 3)) for x in s.sections],
            "fills": [round(f, 3) for f in s.fills], "hits": [round(h, 3) for h in s.hits],
            "instruments": list(s.instruments), "seed": s.seed, "duration_s": s.duration_s,
            "loopable": s.loopable, "final_chord_s": round(s.final_chord_s, 3),
            "lufs": _finite(integrated_lufs(self.audio, self.sample_rate)),
            "true_peak_dbtp": _finite(true_peak_dbtp(self.audio, self.sample_rate)),
        }


def _finite(x: float) -> float | None:
    return round(x, 2) if np.isfinite(x) else None


def make_music(brief: Brief, cues: Cues, sample_rate: int = C.SAMPLE_RATE, target_lufs: float = -16.0) -> Music:
    """Music for the clip: exactly ``round(duration_s * sample_rate)`` samples at ``target_lufs``."""
    score = compose(brief, cues)
    rendered = synthesize(score, sample_rate)
    mastered = master_planar(rendered.mix, sample_rate, target_lufs=target_lufs)
    stems = {}
    for name, planar in rendered.planar_stems.items():
        planar *= mastered.gain            # in place: the rendered buffers are ours
        stems[name] = planar.T
    return Music(audio=mastered.audio, score=score, sample_rate=sample_rate, stems=stems)
