"""The picture under a title, sampled before the render so the title's style can fit it.

A few grey frames at a quarter of the canvas size are enough to tell a white dashboard
from a dark scene; they are laid out exactly as the render lays the picture out (rotated,
tone-mapped, fitted and padded onto the canvas), so the pixels judged are the pixels the
title will sit on. Three moments per title (near its start, middle and end) bound the cost
to three one-frame decodes whatever the title's length, all in one ffmpeg (a process each
was a tenth of a 3 s render's wall time on a busy machine).

A look at an arbitrary moment decodes the GOP's run-up to it (up to a whole GOP per look: on a
1080p clip with 2 s GOPs, three looks cost 0.6 CPU s, a fifth of a smart title render's extra
work). When the caller knows where the keyframes are (the smart render reads them from the
file), a moment near one inside the title's span looks at that keyframe instead: a one-frame
decode, and still a frame the title sits on (encoders put a keyframe at each scene cut, so it
is of the same shot). Each look decodes on one thread: for one frame, more threads buy nothing and
each holds frames of its own (three 1080p looks: 110 → 78 MB).
"""
from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence

import numpy as np

from engine.export.canvas import TONE_MAP, fit_filter, is_hdr
from engine.export.mix import Source
from media.ffmpeg import FFmpegError, pathlike, run
from media.probe import MediaInfo

SCALE = 4
MOMENTS = (0.15, 0.5, 0.85)
SNAP_S = 1.0  # a moment looks at a keyframe inside the span at most this far from it


def picture_under(segments: Sequence[Mapping], sources: Mapping[str, Source], probe_of: Callable[[str], MediaInfo],
                  start_s: float, end_s: float, width: int, height: int,
                  keyframes: Sequence[float] = ()) -> list[np.ndarray]:
    """Grey frames (``height/4``×``width/4`` luma) of the picture between ``start_s`` and ``end_s``;
    frames that cannot be read are left out. ``keyframes``: timeline times (seconds) of frames
    that decode alone; a moment within :data:`SNAP_S` of one in [start_s, end_s) looks at it."""
    small_w, small_h = max(2, width // SCALE // 2 * 2), max(2, height // SCALE // 2 * 2)
    frames: list[np.ndarray] = []
    inputs: list[str] = []
    chains: list[str] = []
    for moment in MOMENTS:
        at_ms = _snap(start_s + (end_s - start_s) * moment, start_s, end_s, keyframes) * 1000
        seg = next((s for s in segments if int(s["st"]) <= at_ms < int(s["st"]) + int(s["d"])), None)
        if seg is None:  # a gap in the picture is black
            frames.append(np.full((small_h, small_w), 16, dtype=np.uint8))
            continue
        src = sources.get(str(seg.get("src", "")))
        if src is None:
            continue
        # rounded up to the microsecond: a seek a hair before a keyframe would start at the one before it
        seek = [] if src.kind == "image" else ["-ss", f"{math.ceil((int(seg.get('ss', 0)) + at_ms - int(seg['st'])) * 1000) / 1e6:.6f}"]
        video = probe_of(src.path).video
        chain = (TONE_MAP + "," if video is not None and is_hdr(video.color_transfer) else "")
        chain += fit_filter(small_w, small_h) + ",format=gray"
        chains.append(f"[{len(chains)}:v]trim=end_frame=1,{chain}[f{len(chains)}]")
        inputs += ["-threads", "1", *seek, "-i", pathlike(src.path)]  # one frame each: frame threads only hold memory
    if not chains:
        return frames
    graph = ";".join(chains) + ";" + "".join(f"[f{n}]" for n in range(len(chains))) + f"concat=n={len(chains)}[out]"
    try:
        raw = run([*inputs, "-filter_complex", graph, "-map", "[out]", "-fps_mode", "passthrough",
                   "-frames:v", str(len(chains)), "-f", "rawvideo", "-"],
                  timeout=30, what="look at the picture under a title").stdout
    except FFmpegError:
        return frames
    size = small_w * small_h
    frames += [np.frombuffer(raw[at:at + size], dtype=np.uint8).reshape(small_h, small_w)
               for at in range(0, len(raw) - size + 1, size)]
    return frames


def _snap(at: float, start: float, end: float, keyframes: Sequence[float]) -> float:
    """The keyframe in [start, end) nearest ``at`` when one is within SNAP_S, else ``at`` (the seek to it
    rounds up to the microsecond: on the keyframe, far from the frame after)."""
    near = min((k for k in keyframes if start <= k < end), key=lambda k: abs(k - at), default=None)
    if near is None or abs(near - at) > SNAP_S:
        return at
    return near
