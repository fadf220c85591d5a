"""Returning memory to the system between heavy phases.

Analysis, composition and mixing each allocate and free tens of megabytes; glibc keeps
freed heap pages for reuse, so a long-lived engine would sit at its worst phase's size.
``malloc_trim`` hands them back (a no-op where the C library is not glibc).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _trim():  # noqa: ANN202 - a ctypes function or None
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None


def release_memory() -> None:
    trim = _trim()
    if trim is not None:
        trim(0)
