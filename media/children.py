"""ffmpeg children die with the engine: ``PR_SET_PDEATHSIG`` on Linux.

An ffmpeg outlives a ``kill -9`` of the engine that started it (it is re-parented and
keeps writing), and a restarted engine then renders beside it into the same files. On
Linux the kernel can send a child SIGKILL when its parent dies; :func:`options` returns
the ``subprocess`` arguments that ask for it (nothing elsewhere). The death signal fires
when the *thread* that started the child ends — every caller here waits for its ffmpeg
on that thread, so it lives exactly as long as the job.
"""
from __future__ import annotations

import ctypes
import functools
import os
import signal
import sys
from typing import Any, Callable

PR_SET_PDEATHSIG = 1


@functools.cache
def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


def _in_child(prctl: Callable[..., int] | None, parent: int, nice: int) -> None:
    """Runs in the forked child before exec: no allocation beyond a foreign call and a few syscalls."""
    if nice:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, nice)
        except OSError:
            pass  # a child that yields less is still a child
    if prctl is None:
        return
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the engine died between fork and prctl: nobody will kill us later
        os._exit(1)


def options(nice: int = 0) -> dict[str, Any]:
    """Keyword arguments for :class:`subprocess.Popen`/``run`` that tie the child's life to ours; ``nice``: the
    child's CPU niceness, set before it runs its first instruction (set afterwards, an encoder ran its first
    milliseconds at the engine's own priority)."""
    prctl = _prctl()
    if prctl is None and not nice:
        return {}
    return {"preexec_fn": functools.partial(_in_child, prctl, os.getpid(), nice)}
