"""Offline music engine: a procedural composer, synthesizer and mastering chain.

    make_music(Brief, Cues) -> Music        # the one call most callers need
      = master(synthesize(compose(Brief, Cues)))

Everything is numpy/scipy, deterministic per (Brief, Cues, seed), and runs far faster
than real time; no model weights. Band and orchestra instruments are recordings from the
shipped sample set (samples/, see its COPYRIGHT and tools/build_samples.py) played by
sampler.py; synthesizers by nature (808, saw leads, supersaw, sub bass) by voices.py.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .brief import GENRES, INSTRUMENT_GROUPS, INTENSITIES, MOODS, STEMS, Brief, Cues
    from .composer import compose
    from .loudness import integrated_lufs, true_peak_dbtp
    from .make import Music, make_music
    from .mastering import master
    from .resolver import resolve
    from .score import ChordEvent, Note, Part, Score, Section
    from .synth import Rendered, synthesize

#: Name → the module that defines it. Imported on first use: the chat and the engine's routes need
#: only the light modules (constants, styles, score), and the composer with numpy and scipy is
#: half a second of the CLI's start-up — it loads in the engine's warm-up thread instead.
_HOMES = {
    **dict.fromkeys(("GENRES", "INSTRUMENT_GROUPS", "INTENSITIES", "MOODS", "STEMS", "Brief", "Cues"), "brief"),
    "compose": "composer", "integrated_lufs": "loudness", "true_peak_dbtp": "loudness", "master": "mastering",
    "Music": "make", "make_music": "make", "resolve": "resolver", "Rendered": "synth", "synthesize": "synth",
    **dict.fromkeys(("ChordEvent", "Note", "Part", "Score", "Section"), "score"),
}

__all__ = [
    "GENRES", "MOODS", "INTENSITIES", "INSTRUMENT_GROUPS", "STEMS", "Brief", "Cues", "ChordEvent", "Music", "Note",
    "Part", "Rendered", "Score", "Section", "compose", "integrated_lufs", "make_music", "master", "resolve",
    "synthesize", "true_peak_dbtp",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value
