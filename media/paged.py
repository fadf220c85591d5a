"""Long audio buffers backed by a file, whose pages are handed back as a pass moves on.

Why: a 10-minute stereo soundtrack is 230 MB of float32, held while the render's x264
encodes the picture beside it (issue 13 item 6). Every pass over it (mix, master, WAV
write) walks it a chunk at a time, so only the chunk needs to be resident: on a
file-backed buffer :func:`release` drops the pages behind the pass from the process
(the data stays in the file's page cache, which the kernel can write back and reclaim).
On an ordinary array it does nothing, so the same passes serve both.
"""
from __future__ import annotations

import mmap
import os
from pathlib import Path

import numpy as np

_PAGE = mmap.PAGESIZE


def file_buffer(path: str | os.PathLike[str], frames: int, channels: int) -> np.ndarray:
    """A zeroed float32 ``(frames, channels)`` array stored in ``path`` (created or truncated)."""
    if frames * channels == 0:
        return np.zeros((frames, channels), dtype=np.float32)
    return np.memmap(Path(path), dtype=np.float32, mode="w+", shape=(frames, channels))


def _mapping(buf: np.ndarray) -> tuple[mmap.mmap, int] | None:
    """The mmap under ``buf`` and the address it starts at, if ``buf`` is (a view of) a file buffer."""
    top, base = buf, buf.base
    while isinstance(base, np.ndarray):
        top, base = base, base.base
    if not isinstance(base, mmap.mmap) or getattr(top, "offset", 0):
        return None
    return base, top.ctypes.data


def release(buf: np.ndarray, a: int = 0, b: int | None = None) -> None:
    """Drop the whole pages of rows [a, b) of a file buffer from the process (no-op on other arrays)."""
    found = _mapping(buf)
    if found is None or not hasattr(mmap, "MADV_DONTNEED") or buf.size == 0:
        return
    mm, start = found
    b = buf.shape[0] if b is None else min(b, buf.shape[0])
    if b <= a:
        return
    lo = buf.ctypes.data - start + a * buf.strides[0]
    hi = buf.ctypes.data - start + b * buf.strides[0]
    lo = -(-lo // _PAGE) * _PAGE
    hi = min(hi // _PAGE * _PAGE, len(mm))
    if hi > lo:
        mm.madvise(mmap.MADV_DONTNEED, lo, hi - lo)
