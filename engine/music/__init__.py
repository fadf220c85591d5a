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
from typing import Any

#: Public name → the submodule defining it. Imported on first use (PEP 562): the chat reads
#: the style tables and constants at engine start, and must not pay for scipy (over a second
#: of CPU) before the engine even answers; the engine warms the rest up in a worker thread.
_HOME = {
    **dict.fromkeys(("GENRES", "MOODS", "INTENSITIES", "INSTRUMENT_GROUPS", "STEMS", "Brief", "Cues"), ".brief"),
    "compose": ".composer", "integrated_lufs": ".loudness", "true_peak_dbtp": ".loudness", "master": ".mastering",
    "Music": ".make", "make_music": ".make", "resolve": ".resolver",
    **dict.fromkeys(("ChordEvent", "Note", "Part", "Score", "Section"), ".score"),
    "Rendered": ".synth", "synthesize": ".synth",
}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value
