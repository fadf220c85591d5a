"""What the compressed video stream tells about cuts and motion without decoding it.

Demuxing costs milliseconds where decoding 1080p costs seconds. Two facts survive in
the packets: encoders with scene detection (x264's default, editors' exports) start a
new GOP with a keyframe at a cut, off the regular keyframe grid; and the first frame of
a new shot cannot be predicted from the old one, so an inter frame at a cut is far
larger than its neighbours on at least one side. Between cuts, the size of inter frames
follows how much the picture changes. There is no ffprobe in the bundled ffmpeg, so the
packets come from ffmpeg's ``framecrc`` muxer over a stream copy: one line per packet
with its pts, size and, for non-keyframes, ``F=0x0``.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from media.ffmpeg import pathlike, run

#: An inter frame this many times the largest of its neighbours on one side may be a cut...
SPIKE_RATIO = 2.0
#: ...if it is also this many bytes per pixel above it (a still frame is ~20 bytes; a cut between flat slides may be 250).
SPIKE_MIN_BYTES_PER_PIXEL = 0.0003


@dataclass(frozen=True)
class Packets:
    """The video packets in display order: start time (s from the first frame), bytes, keyframe, and
    each one's place in decode (file) order."""

    times: np.ndarray
    sizes: np.ndarray
    key: np.ndarray
    order: np.ndarray


def read_packets(path: str | os.PathLike[str], timeout: float) -> Packets:
    """Demux the first video stream (no decode) and list its packets in display order."""
    text = run(["-i", pathlike(path), "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-"],
               timeout=timeout, what=f"read packets of {os.path.basename(path)}").stdout.decode("ascii", "replace")
    base = Fraction(1, 1)
    rows: list[tuple[int, int, bool, int]] = []
    for line in text.splitlines():
        if line.startswith("#tb 0:"):
            base = Fraction(line.split(":", 1)[1].strip())
        elif line and not line.startswith("#"):
            cols = [c.strip() for c in line.split(",")]
            if len(cols) >= 6 and cols[0] == "0":
                dts, pts = int(cols[1]), int(cols[2])
                rows.append((pts if pts > -(1 << 62) else dts, int(cols[4]), len(cols) == 6 or "F=0x1" in cols[6],
                             len(rows)))
    rows.sort()
    pts = np.array([r[0] for r in rows], np.int64)
    times = (pts - (pts[0] if len(pts) else 0)) * float(base)
    return Packets(times, np.array([r[1] for r in rows], np.float64), np.array([r[2] for r in rows], bool),
                   np.array([r[3] for r in rows], np.int64))


def candidate_cuts(p: Packets, fps: float, pixels: int) -> tuple[list[int], list[int]]:
    """Frames (display-order indices) where a shot may start: ``(keyframes off the grid, size spikes)``.

    The grid is the most common keyframe interval; a keyframe closer than that to the one
    before was placed by the encoder's scene detection. A size spike is an inter frame
    ``SPIKE_RATIO`` times the median of the half second before it or after it, whichever
    is smaller (a cut from a busy shot to a still one is small beside the busy frames but
    huge beside the still ones).
    """
    keys = np.flatnonzero(p.key)
    gaps = np.diff(keys)
    grid = int(np.bincount(gaps).argmax()) if len(gaps) else 0
    off_grid = [int(k) for k, gap in zip(keys[1:], gaps) if gap < grid]
    sizes = np.where(p.key, np.nan, p.sizes)
    if np.isnan(sizes).all():
        return off_grid, []
    half = max(3, round(fps * 0.25))
    padded = np.pad(sizes, half, constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, half)
    with warnings.catch_warnings():  # all-NaN windows (only keyframes around) warn
        warnings.simplefilter("ignore", RuntimeWarning)
        before = np.nanmax(windows[:len(sizes)], axis=1)
        after = np.nanmax(windows[half + 1:half + 1 + len(sizes)], axis=1)
    ref = np.fmin(before, after)
    ref = np.where(np.isnan(ref), 0.0, ref)
    big = (sizes > SPIKE_RATIO * ref) & (sizes > ref + SPIKE_MIN_BYTES_PER_PIXEL * pixels)
    # the first inter frames decoded after a keyframe are large by habit of rate control, not by content
    # (with B-frames the first P comes after them in decode order but several frames later on screen)
    after_key = np.isin(p.order, np.concatenate([p.order[keys] + 1, p.order[keys] + 2]))
    spikes = [int(i) for i in np.flatnonzero(big & ~after_key) if i > 0]
    return off_grid, spikes

