"""Cached sample arrays are shared by many notes and two render threads.

Every module that caches an array returns it through :func:`read_only`, so an accidental
in-place edit raises instead of silently changing every later note.
"""
from __future__ import annotations

import numpy as np


def read_only(x: np.ndarray) -> np.ndarray:
    x.setflags(write=False)
    return x
