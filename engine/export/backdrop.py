"""The picture under a title, sampled before the render so the title's style can fit it.

A few grey frames at a quarter of the canvas size are enough to tell a white dashboard
from a dark scene; they are laid out exactly as the render lays the picture out (rotated,
tone-mapped, fitted and padded onto the canvas), so the pixels judged are the pixels the
title will sit on. Three moments per title (near its start, middle and end) bound the cost
to three one-frame decodes whatever the title's length, one after the other, each in an ffmpeg
of its own. They used to share one ffmpeg (a process each costs ~30 ms more), but its inputs decode
at once, each holding 1080p frames: 103 MB against 59 MB for one, and the look runs beside the
soundtrack's AAC encoders — the title render's memory peak (bench/tree_peaks.py --title). A smart
render's looks mostly land on keyframes, and two moments on one keyframe share its decode.

A look at an arbitrary moment decodes the GOP's run-up to it (up to a whole GOP per look: on a
1080p clip with 2 s GOPs, three looks cost 0.6 CPU s, a fifth of a smart title render's extra
work). When the caller knows where the keyframes are (the smart render reads them from the
file), a moment near one inside the title's span looks at that keyframe instead: a one-frame
decode, and still a frame the title sits on (encoders put a keyframe at each scene cut, so it
is of the same shot). Each look decodes on one thread: for one frame, more threads buy nothing and
each holds frames of its own.
"""
from __future__ import annotations

import math
import time
from typing import Callable, Mapping, Sequence

import numpy as np

from engine.export.canvas import TONE_MAP, fit_filter, is_hdr
from engine.export.mix import Source
from media.ffmpeg import FFmpegError, pathlike, run
from media.probe import MediaInfo

SCALE = 4
MOMENTS = (0.15, 0.5, 0.85)
SNAP_S = 1.0  # a moment looks at a keyframe inside the span at most this far from it
LOOK_TIMEOUT_S = 30.0  # a title's looks together: the title is then styled on what was read


def picture_under(segments: Sequence[Mapping], sources: Mapping[str, Source], probe_of: Callable[[str], MediaInfo],
                  start_s: float, end_s: float, width: int, height: int,
                  keyframes: Sequence[float] = ()) -> list[np.ndarray]:
    """Grey frames (``height/4``×``width/4`` luma) of the picture between ``start_s`` and ``end_s``,
    in the moments' order; frames that cannot be read are left out. ``keyframes``: timeline times
    (seconds) of frames that decode alone; a moment within :data:`SNAP_S` of one in [start_s, end_s)
    looks at it (two moments snapped to one keyframe share its decode)."""
    small_w, small_h = max(2, width // SCALE // 2 * 2), max(2, height // SCALE // 2 * 2)
    looks: list[tuple[str, ...] | np.ndarray | None] = []
    for moment in MOMENTS:
        at_ms = _snap(start_s + (end_s - start_s) * moment, start_s, end_s, keyframes) * 1000
        seg = next((s for s in segments if int(s["st"]) <= at_ms < int(s["st"]) + int(s["d"])), None)
        if seg is None:  # a gap in the picture is black
            looks.append(np.full((small_h, small_w), 16, dtype=np.uint8))
            continue
        src = sources.get(str(seg.get("src", "")))
        if src is None:
            looks.append(None)
            continue
        # rounded up to the microsecond: a seek a hair before a keyframe would start at the one before it
        seek = () if src.kind == "image" else ("-ss", f"{math.ceil((int(seg.get('ss', 0)) + at_ms - int(seg['st'])) * 1000) / 1e6:.6f}")
        video = probe_of(src.path).video
        chain = (TONE_MAP + "," if video is not None and is_hdr(video.color_transfer) else "")
        looks.append((*seek, pathlike(src.path), chain + fit_filter(small_w, small_h) + ",format=gray"))
    seen: dict[tuple[str, ...], np.ndarray | None] = {}
    deadline = time.monotonic() + LOOK_TIMEOUT_S  # for all of a title's looks together
    for look in looks:
        if isinstance(look, tuple) and look not in seen:
            seen[look] = _look(look, small_w, small_h, deadline - time.monotonic())
    frames = [seen[look] if isinstance(look, tuple) else look for look in looks]
    return [frame for frame in frames if frame is not None]


def _look(look: tuple[str, ...], width: int, height: int, timeout: float) -> np.ndarray | None:
    """One frame of the first video stream (the render's), decoded on one thread by an ffmpeg of its own
    (``look``: seek options, input, filters); None if it cannot be read within ``timeout``."""
    *seek, path, chain = look
    if timeout <= 0:
        return None
    try:
        raw = run(["-threads", "1", *seek, "-i", path, "-map", "0:v:0", "-vf", chain, "-frames:v", "1",
                   "-f", "rawvideo", "-"], timeout=timeout, what="look at the picture under a title").stdout
    except FFmpegError:
        return None
    if len(raw) < width * height:
        return None
    return np.frombuffer(raw[:width * height], dtype=np.uint8).reshape(height, width)


def _snap(at: float, start: float, end: float, keyframes: Sequence[float]) -> float:
    """The keyframe in [start, end) nearest ``at`` when one is within SNAP_S, else ``at`` (the seek to it
    rounds up to the microsecond: on the keyframe, far from the frame after)."""
    near = min((k for k in keyframes if start <= k < end), key=lambda k: abs(k - at), default=None)
    if near is None or abs(near - at) > SNAP_S:
        return at
    return near
