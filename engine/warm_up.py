"""The engine's heavy imports (the analysis, the composer and scipy.signal), paid on a thread of their own.

An upload's analysis needs scipy.signal (its loudness filters) and the composer needs it too:
~0.7 CPU-s to import, on the fast path's critical path when the analysis waits for it. The
embedded engine starts this as the very first thing it does, before its own server's imports,
so the thread has the seconds the client spends getting a token and uploading; a served engine
starts it with its app. Nothing waits for the thread itself: an import that is still running
when a job needs the module is simply finished there (Python's module locks).
"""
from __future__ import annotations

import threading

_lock = threading.Lock()
_started = False


def start() -> None:
    """Start importing, once per process (a daemon thread: a command that ends first does not wait)."""
    global _started
    with _lock:
        if _started:
            return
        _started = True
    threading.Thread(target=_import, name="engine-warm-up", daemon=True).start()


def _import() -> None:
    """The analysis first (an upload's decode waits for it), then the composer and its scipy.

    On a thread of its own that nothing waits for: a command that stops the engine before it
    needed them (``say "status"``, a refused upload) does not sit out seconds of imports, and
    both analysis workers are free for uploads meanwhile. Imports write nothing to the data dir."""
    import engine.analysis.analyze  # noqa: F401
    import engine.music.make  # noqa: F401 - the composer (engine.music loads it lazily)
    from scipy.io import wavfile  # noqa: F401
