"""Offline music engine: a procedural composer, synthesizer and mastering chain.

    make_music(Brief, Cues) -> Music        # the one call most callers need
      = master(synthesize(compose(Brief, Cues)))

Everything is numpy/scipy, deterministic per (Brief, Cues, seed), and runs far faster
than real time; no model weights. Band and orchestra instruments are recordings from the
shipped sample set (samples/, see its COPYRIGHT and tools/build_samples.py) played by
sampler.py; synthesizers by nature (808, saw leads, supersaw, sub bass) by voices.py.
"""
from __future__ import annotations

from .brief import GENRES, INSTRUMENT_GROUPS, INTENSITIES, MOODS, STEMS, Brief, Cues
from .composer import compose
from .loudness import integrated_lufs, true_peak_dbtp
from .mastering import master
from .make import Music, make_music
from .resolver import resolve
from .score import ChordEvent, Note, Part, Score, Section
from .synth import Rendered, synthesize

__all__ = [
    "GENRES", "MOODS", "INTENSITIES", "INSTRUMENT_GROUPS", "STEMS", "Brief", "Cues", "ChordEvent", "Music", "Note",
    "Part", "Rendered", "Score", "Section", "compose", "integrated_lufs", "make_music", "master", "resolve",
    "synthesize", "true_peak_dbtp",
]
