"""scipy.signal without scipy.stats: a quarter of a second off every run's start (issue 16).

scipy.signal imports scipy.stats for one function, ``scoreatpercentile``, which only
``find_peaks_cwt`` calls and the engine never does; scipy.stats brings optimize, interpolate,
linalg, sparse and spatial with it: 0.25 s of CPU (scipy 1.16, this machine) in the warm-up
thread that the first analysis waits for. While scipy.signal loads, a placeholder stands in
for scipy.stats: it hands out ``scoreatpercentile`` as a function that imports the real one
when called, and any other name imports the real scipy.stats at once (right, only not
faster). The placeholder is gone once scipy.signal is loaded; ``import scipy.stats`` after
that is the real module. Why not hand-rolled filters instead: sosfilt/lfilter are scipy's
compiled loops, and numpy has no IIR filter.
"""
from __future__ import annotations

import importlib
import sys
import threading
import types
from typing import Any

_lock = threading.Lock()


def load() -> None:
    """Import scipy.signal (once, from any thread) without importing scipy.stats."""
    with _lock:
        if "scipy.signal" in sys.modules or "scipy.stats" in sys.modules:
            return
        placeholder = types.ModuleType("scipy.stats")
        placeholder.__getattr__ = _lazy_names(placeholder)  # type: ignore[method-assign]
        sys.modules["scipy.stats"] = placeholder
        try:
            import scipy.signal  # noqa: F401
        finally:
            _drop(placeholder)


def _lazy_names(placeholder: types.ModuleType) -> Any:  # noqa: ANN401 - a module's __getattr__
    def attribute(name: str) -> Any:  # noqa: ANN401
        if name == "scoreatpercentile":
            def scoreatpercentile(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
                return importlib.import_module("scipy.stats").scoreatpercentile(*args, **kwargs)
            return scoreatpercentile
        if name.startswith("__"):
            raise AttributeError(name)
        _drop(placeholder)  # a name scipy.signal did not take before: the real module, now
        return getattr(importlib.import_module("scipy.stats"), name)
    return attribute


def _drop(placeholder: types.ModuleType) -> None:
    if sys.modules.get("scipy.stats") is placeholder:
        del sys.modules["scipy.stats"]
    scipy = sys.modules.get("scipy")
    if scipy is not None and scipy.__dict__.get("stats") is placeholder:
        del scipy.__dict__["stats"]
