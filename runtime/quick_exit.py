"""Leave the process as ``sys.exit(code)`` would, without the interpreter's teardown.

After ``ai-music run`` has written its MP4 and stopped its engine, Python's finalization
still frees every module, array and object the job created one by one: 0.15–0.5 s of the
whole process on a 2-core machine (measured after the last atexit handler to the process's
end), a tenth of the fast path, spent on memory the kernel takes back at once anyway.
Everything that finalization does and a user could notice is done here first, in the same
order: non-daemon threads are joined (with the thread pools' own exit hooks), atexit
handlers run (logging's flush and close, ``weakref.finalize`` clean-ups, multiprocessing's
children), and the standard streams are flushed. Only then does ``os._exit`` end it.
"""
from __future__ import annotations

import atexit
import os
import sys
import threading

#: what Python exits with when flushing stdout fails at exit (``ai-music … | head``)
FLUSH_FAILED = 120


def exit_now(code: int) -> None:
    """End the process with ``code`` (main thread only), after the clean-ups ``sys.exit`` would run."""
    shutdown = getattr(threading, "_shutdown", None)  # what Py_Finalize runs first: join non-daemon threads
    if shutdown is not None:
        shutdown()
    atexit._run_exitfuncs()
    code = code if _flushed() else FLUSH_FAILED
    os._exit(code)


def _flushed() -> bool:
    """Flush stdout and stderr; False when stdout could not take its last bytes (a closed pipe)."""
    ok = True
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            ok = ok and stream is not sys.stdout
    return ok
