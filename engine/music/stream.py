"""Walking the timeline in C.CHUNK steps: how full-length passes keep their scratch small.

Why: a 60 s stereo track is 23 MB of float32, and every full-length temporary costs as
much again. The memory budget of a piece (about three copies of its audio: the mix and
two stems in flight) leaves room for chunk-sized scratch only, so mastering, meters,
the sidechain pump and long notes all walk the timeline with :func:`chunks`.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from media.paged import release

from .constants import CHUNK


def chunks(n: int, walked: np.ndarray | None = None) -> Iterator[tuple[int, int]]:
    """[a, b) steps of CHUNK samples over n samples (CHUNK is a multiple of every block size used).

    With ``walked`` (the buffer the pass walks), each step's rows are released once the
    step is done: a file-backed soundtrack then stays resident a chunk at a time (media.paged).
    """
    for a in range(0, n, CHUNK):
        b = min(a + CHUNK, n)
        yield a, b
        if walked is not None:
            release(walked, a, b)
