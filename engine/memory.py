"""Returning memory to the system between heavy phases, and not holding it in the first place.

Analysis, composition and mixing each allocate and free tens of megabytes; glibc keeps
freed heap pages for reuse, so a long-lived engine would sit at its worst phase's size.
``malloc_trim`` hands them back (a no-op where the C library is not glibc).

glibc also gives each new thread an arena of its own, up to eight per core, and what a
thread frees stays in its arena — the engine's dozen threads (analysis, composing, mixing,
renders) each kept their worst moment's heap: ~30 MB held after the soundtrack, beside the
render's ffmpeg. One arena per core (:func:`share_arenas`) keeps that for the same CPU
(a 60 s run with a title: the engine 200 → 170 MB while it renders, 2.9 → 2.8 CPU-s of its own).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
from typing import Any

from media.cores import usable_cpus

M_ARENA_MAX = -8  # glibc's mallopt parameter number


@functools.cache
def _libc() -> Any | None:
    """The C library when it is glibc (it has malloc_trim and mallopt), else None."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim, libc.mallopt  # noqa: B018 - glibc's own: musl and macOS lack them
    except (OSError, AttributeError):
        return None
    return libc


def release_memory() -> None:
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def share_arenas() -> None:
    """Let the threads started from now on share one malloc arena per core (glibc's default: eight per
    core, each keeping what its thread freed). They rarely wait for an arena's lock: Python and numpy
    allocate holding the GIL, and threads beyond the cores never all run at once anyway."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(M_ARENA_MAX, max(2, usable_cpus()))
