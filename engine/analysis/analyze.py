"""What the engine needs to know about an uploaded video to fit music to it.

Cuts are where the music may change or hit an accent, the energy curve is what it should
follow, speech regions are where it must duck, and the original loudness sets how loud it
may sit. The picture facts come from tiny grayscale frames (a 64x36 thumbnail keeps
every cut and all the coarse motion while costing nothing to process, so decode time is
the whole budget): for big inputs first from the packets, the keyframes and a few frames
around candidate cuts (``_look_quickly``), else, or when the stream gives no usable
signal, from a decode of every frame (``_look``); the path taken is logged. Alongside,
one audio decode, streamed (``engine.analysis.sound``). Everything is rounded to the
millisecond so the JSON round trip is exact.
"""
from __future__ import annotations

import logging
import math
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import Callable, Literal

import numpy as np
from scipy import ndimage

from engine.analysis.packets import Packets, candidate_cuts, read_packets
from engine.analysis.sound import detect_speech as detect_speech  # re-exported: the speech detector's home for callers
from engine.analysis.sound import listen
from media.cores import usable_cpus
from media.ffmpeg import FFmpegError, pathlike, run
from media.probe import MediaInfo, probe

ENERGY_RATE_HZ = 2.0
THUMB_LONG_SIDE = 64
MAX_FRAME_RATE = 60.0
#: Above this length frames are sampled more sparsely (cut times then snap to that grid).
LONG_VIDEO_S = 600.0
MAX_FRAMES = 18000
#: From this length the picture is decoded in parallel time spans, one per core.
SPLIT_DECODE_S = 20.0
THUMB_INPUTS = 4  # spans decoded by one ffmpeg (_thumbs)
KEY_SPLIT_MIN = 8  # keyframes (and bytes of them) from which two ffmpegs decode them, half each (_key_halves)
KEY_SPLIT_BYTES = 3_000_000
_BLOCK = 1024  # frames processed at once
#: Below this many source pixels to decode (10 s of 720p30) a full decode is cheap: keep it.
FAST_MIN_PIXELS = 1280 * 720 * 30 * 10
#: The fast path gives up (full decode) when its windows would decode more than this share.
FAST_MAX_SHARE = 0.5
#: Keyframes this different from the one before (detect_cuts' smallest cut) are checked for a cut on them.
KEY_JUMP = 0.03
#: ...and whose size differs from the keyframe before's by this factor, either way, or...
KEY_SIZE_RATIO = 1.5
#: ...that differ this much: another shot, not drift within one (busy shots drift ~0.1-0.2 in 2 s).
SHOT_JUMP = 0.25
#: An inter frame at most this big (bytes per pixel, or bytes for small pictures) changes next to nothing:
#: a 1080p copy of the frame before is ~12 bytes; a pan costs its motion vectors, a cut a whole picture.
STILL_BYTES_PER_PIXEL = 0.0002
STILL_MIN_BYTES = 24
#: A keyframe within this mean luma (0..1) of a brightness/contrast change of the one before is a relighting.
RELIT_RESIDUAL = 0.02

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Analysis:
    """The facts about one video the music is fitted to (times in seconds, curves 0..1).

    Curves hold one value per ``1 / energy_rate`` s. ``speech`` regions are tight (no
    hangover): the ducker adds its own attack and release. An audio-only file has size
    and fps 0, no cuts, zero motion and brightness, and an energy curve from its level.
    """

    duration_s: float
    width: int  # as displayed, rotation applied
    height: int
    fps: float
    has_audio: bool
    scene_cuts: tuple[float, ...]
    cut_strength: tuple[float, ...]
    energy_rate: float
    motion: tuple[float, ...]
    brightness: tuple[float, ...]
    energy: tuple[float, ...]
    pace: float
    loudness_lufs: float | None
    speech: tuple[tuple[float, float], ...]

    def to_json(self) -> dict:
        """Plain lists and numbers; ``from_json`` gives back an equal object."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        for key in ("scene_cuts", "cut_strength", "motion", "brightness", "energy"):
            out[key] = list(out[key])
        out["speech"] = [list(region) for region in self.speech]
        return out

    @classmethod
    def from_json(cls, data: dict) -> Analysis:
        def floats(key: str) -> tuple[float, ...]:
            return tuple(float(v) for v in data[key])

        loudness = data.get("loudness_lufs")
        return cls(
            duration_s=float(data["duration_s"]),
            width=int(data["width"]),
            height=int(data["height"]),
            fps=float(data["fps"]),
            has_audio=bool(data["has_audio"]),
            scene_cuts=floats("scene_cuts"),
            cut_strength=floats("cut_strength"),
            energy_rate=float(data["energy_rate"]),
            motion=floats("motion"),
            brightness=floats("brightness"),
            energy=floats("energy"),
            pace=float(data["pace"]),
            loudness_lufs=None if loudness is None else float(loudness),
            speech=tuple((float(a), float(b)) for a, b in data["speech"]),
        )


@dataclass(frozen=True)
class _Picture:
    frames: np.ndarray  # (T, h, w) uint8 luma thumbnails
    rate: float  # frames per second of ``frames`` (constant: ffmpeg resamples VFR)


def analyze(
    path: str | os.PathLike[str], info: MediaInfo | None = None, *, timeout: float = 120.0,
    picture: Literal["auto", "fast", "full"] = "auto",
) -> Analysis:
    """Analyse ``path`` (video or audio-only); ffmpeg failures raise :class:`FFmpegError`.

    ``picture`` picks how cuts and motion are found: ``full`` decodes every frame, ``fast``
    reads the packets and decodes only keyframes and a few frames around candidate cuts
    (falling back to ``full`` when the stream gives no usable signal), ``auto`` takes
    ``fast`` when a full decode would be expensive. The path taken is logged.
    """
    info = info or probe(path)
    if not info.has_video and not info.has_audio:
        raise FFmpegError(f"analyze {os.path.basename(path)}: no video or audio stream")
    quick = None
    with ThreadPoolExecutor(max_workers=1) as pool:
        sound = pool.submit(listen, path, ENERGY_RATE_HZ, timeout) if info.has_audio else None
        if info.has_video and _fast_worth_it(info, picture):
            quick = _look_quickly(path, info, timeout)
        frames = _look(path, info, timeout) if info.has_video and quick is None else None
        heard = sound.result() if sound else None

    duration = info.duration_s or max(
        len(frames.frames) / frames.rate if frames else 0.0, heard.duration_s if heard else 0.0
    )
    n = max(1, math.ceil(duration * ENERGY_RATE_HZ - 1e-6))
    if frames is not None or quick is not None:
        if quick is not None:
            cuts, strengths = quick.cuts, quick.strengths
            motion, brightness = _quick_curves(quick, n)
        else:
            assert frames is not None
            cuts, strengths = detect_cuts(frames.frames, frames.rate)
            motion, brightness = _picture_curves(frames, cuts, n)
        cut_rate = _cuts_per_minute(cuts, strengths, n)
        energy = _smooth(0.5 * _saturate(cut_rate, 20.0) + 0.35 * motion + 0.15 * brightness, 1.0)
        total_cpm = sum(strengths) / max(duration, 1e-3) * 60.0
        pace = 0.65 * float(_saturate(np.array(total_cpm), 20.0)) + 0.35 * float(motion.mean())
    else:  # audio only: no picture, so the music follows the sound's own level
        cuts, strengths = (), ()
        motion = brightness = np.zeros(n)
        energy = _smooth(_fit(heard.level, n), 1.0)
        pace = float(energy.mean())

    video = info.video
    width, height = video.display_size if video else (0, 0)
    return Analysis(
        duration_s=_r(duration),
        width=width,
        height=height,
        fps=_r(video.fps) if video else 0.0,
        has_audio=info.has_audio,
        scene_cuts=tuple(_r(c) for c in cuts),
        cut_strength=tuple(_r(s) for s in strengths),
        energy_rate=ENERGY_RATE_HZ,
        motion=_rs(motion),
        brightness=_rs(brightness),
        energy=_rs(np.clip(energy, 0.0, 1.0)),
        pace=_r(min(max(pace, 0.0), 1.0)),
        loudness_lufs=heard.loudness_lufs if heard else None,
        speech=tuple((_r(a), _r(min(b, duration))) for a, b in heard.speech if a < duration)
        if heard else (),
    )


# --- picture ---------------------------------------------------------------------------


def analyze_to_json(path: str | os.PathLike[str]) -> dict:
    """:func:`analyze` as a job runs it (``engine.export.executor.Job``, maybe on a Ray worker): a path in,
    the small JSON the session keeps out — never the frames or samples."""
    return analyze(path).to_json()


def _look(path: str | os.PathLike[str], info: MediaInfo, timeout: float) -> _Picture:
    """Decode every frame once, shrunk by ffmpeg to a gray thumbnail.

    Decoding 1080p is nearly all the cost, and ffmpeg's frame threads keep only ~1.5
    cores busy, so longer videos are cut into one time span per core, each decoded by a
    single-threaded ffmpeg; span edges sit a quarter frame before a frame so each frame
    lands in exactly one span. Rotation is not applied (``-noautorotate``): every measure
    here is rotation invariant and rotating full-size frames costs more than the rest
    of the analysis. ``-skip_loop_filter`` skips deblocking, invisible at thumbnail size
    but a fifth of the decode time for camera footage.
    """
    w, h, rate = _geometry(info)
    duration = info.duration_s or 0.0
    if duration > LONG_VIDEO_S:
        rate = max(1.0, min(rate, MAX_FRAMES / duration))
    parts = min(usable_cpus(), 4) if duration >= SPLIT_DECODE_S else 1
    edges = [None, *((round(k * duration / parts * rate) - 0.25) / rate for k in range(1, parts)), None]

    def decode(start: float | None, stop: float | None) -> bytes:
        span = ["-ss", f"{start:.6f}"] if start is not None else []
        span += ["-t", f"{stop - (start or 0.0):.6f}"] if stop is not None else []
        threads = ["-threads", "1"] if parts > 1 else []
        return run(
            [*threads, "-skip_loop_filter", "all", "-noautorotate", *span, "-i", pathlike(path),
             "-map", "0:v:0", "-an", "-sn", "-dn",
             "-vf", f"fps={rate:.6f},scale={w}:{h}:flags=area,format=gray",
             "-fps_mode", "passthrough", "-f", "rawvideo", "-"],
            timeout=timeout, what=f"analyze picture of {os.path.basename(path)}",
        ).stdout

    with ThreadPoolExecutor(max_workers=parts) as pool:
        data = b"".join(pool.map(decode, edges[:-1], edges[1:]))
    count = len(data) // (w * h)
    frames = np.frombuffer(data, np.uint8, count * w * h).reshape(count, h, w)
    return _Picture(frames, rate)


def _geometry(info: MediaInfo) -> tuple[int, int, float]:
    """Thumbnail width and height, and the frame rate frames are sampled at."""
    assert info.video is not None
    src_w, src_h = info.video.width or 16, info.video.height or 9
    scale = THUMB_LONG_SIDE / max(src_w, src_h)
    w, h = (max(8, 2 * round(src_w * scale / 2)), max(8, 2 * round(src_h * scale / 2)))
    return w, h, min(info.video.fps, MAX_FRAME_RATE) if info.video.fps >= 1 else 30.0


# --- picture, fast path: packets, keyframes, and a few frames around candidate cuts -----


@dataclass(frozen=True)
class _Quick:
    cuts: tuple[float, ...]
    strengths: tuple[float, ...]
    bright_t: np.ndarray  # times (s) of decoded thumbnails and their mean luma 0..1
    bright_v: np.ndarray
    motion_t: np.ndarray  # times of inter frames and their estimated change per 1/30 s
    motion_v: np.ndarray


def _fast_worth_it(info: MediaInfo, picture: str) -> bool:
    if picture == "full" or not info.duration_s or info.video is None:
        return False
    cost = (info.video.width or 0) * (info.video.height or 0) * max(info.video.fps, 1.0) * info.duration_s
    return picture == "fast" or cost >= FAST_MIN_PIXELS


def _look_quickly(path: str | os.PathLike[str], info: MediaInfo, timeout: float) -> _Quick | None:
    """Cuts, brightness and motion samples without a full decode; ``None`` when unsafe.

    Candidates come from the packets (:mod:`engine.analysis.packets`). A keyframe off
    the grid is checked against the keyframe before it (already decoded, the keyframes
    only pass costs a few frames) and the frames just after it (decoded from the
    keyframe itself, so no run-up): a cut if it differs from the old shot far more than
    the new shot moves, and the picture does not go back (a flash). So is a grid keyframe
    unlike the one before whose GOP stood still (:func:`_stood_still`: the keyframe before
    is then the picture just before it). A size spike, and any other grid keyframe that
    looks unlike the keyframe before it (and no decoded window saw it already), are
    checked by decoding a short window around it and running :func:`detect_cuts` on it,
    which also puts the cut on its frame. Each step's decodes share an ffmpeg process (keyframes —
    two at once for a camera file's, :func:`_key_halves`; then every window the keyframes left to check;
    then the GOPs still unexplained); the few calibration spans of a clip with no candidate get one each. Motion is the inter frames' sizes scaled
    by how much the decoded frames actually changed per byte. The full decode is kept
    for streams that give no signal (intra-only), for a blank keyframe with no cut
    near it (maybe a fade: only pixels place those), and when the windows would cost
    too much anyway. A fade whose blank frames hold no keyframe goes unseen.
    """
    name = os.path.basename(path)
    w, h, rate = _geometry(info)
    assert info.video is not None and info.duration_s
    packets = read_packets(path, timeout)
    n_frames = len(packets.sizes)
    keys = np.flatnonzero(packets.key)
    if n_frames < 2 or len(keys) == n_frames or not len(keys):
        log.info("analyze %s: full decode (every frame is a keyframe: the packets say nothing)", name)
        return None
    off_grid, spikes = candidate_cuts(packets, rate, (info.video.width or 1) * (info.video.height or 1))
    reach = max(1, min(3, round(0.1 * rate)))
    pad = max(8, round(0.3 * rate))
    budget = FAST_MAX_SHARE * n_frames - len(keys)
    # the size spikes alone may already cost too much: then do not even decode the keyframes
    spike_cost = sum(b - _prev_key(keys, a + 1) for a, b in
                     _merge([(max(0, c - pad), min(n_frames, c + pad + 1)) for c in spikes]))
    if spike_cost > budget:
        log.info("analyze %s: full decode (%d candidate cuts would decode %.0f%% of the frames)",
                 name, len(spikes), 100 * (spike_cost + len(keys)) / n_frames)
        return None

    def span(a: int, b: int) -> _Span:  # frames a..b-1
        if packets.key[a]:  # start on the keyframe itself: a seek before it would decode the GOP before
            return _Span(packets.times[a] + 0.25 / rate, packets.times[b - 1] + 0.75 / rate, "from_key")
        return _Span(packets.times[a] - 0.25 / rate, packets.times[b - 1] + 0.75 / rate)

    def spans_around(candidates: set[int]) -> list[tuple[int, int]]:
        return _merge([(max(0, c - pad), min(n_frames, c + pad + 1)) for c in candidates])

    # The keyframes; then (no candidate at all in the packets) a few frames after some keyframes to
    # calibrate the motion. The windows wait for the keyframes' verdict: they may cost too much.
    key_thumbs = _keys(path, w, h, _key_halves(packets, keys, path, _one_thread(info)), timeout)
    if len(key_thumbs) != len(keys):
        log.info("analyze %s: full decode (%d keyframes decoded, %d in the packets)", name, len(key_thumbs), len(keys))
        return None
    calibrate = [] if spikes or off_grid else [
        (int(k), min(int(k) + pad, n_frames)) for k in keys[np.linspace(0, len(keys) - 1, min(3, len(keys))).astype(int)]]
    # an ffmpeg each: together (or beside the keyframes) their inputs decode at once, each holding 1080p
    # frames — a talking head's keyframes and three spans in one ffmpeg took 135 MB, three spans 117 MB, one
    # 59 MB: the run's memory peak, beside the sound's decodes. Only a cheap analysis (no candidate) has them.
    decoded: list[tuple[int, np.ndarray]] = [(a, f) for (a, _), f in zip(calibrate, _thumbs(
        path, w, h, [span(a, b) for a, b in calibrate], timeout, per_process=1))]

    # A keyframe no different from the keyframe before it starts no new shot.
    jumps = dict(zip(keys[1:].tolist(), _change(key_thumbs[:-1], key_thumbs[1:]).tolist()))
    changed = {k for k, j in jumps.items() if j > KEY_JUMP}
    # an encoder's keyframe with a spike since the keyframe before: that keyframe is not its "before"
    after_spike = {k for k in changed & set(off_grid) if any(_prev_key(keys, k) < s < k for s in spikes)}
    # Only a keyframe plainly unlike the one before is checked without the frames before it:
    # a smaller change may be drift over the GOP (a slow pan), which only those frames tell.
    light = sorted(k for k in changed & set(off_grid) if k not in after_spike and jumps[k] > SHOT_JUMP)
    after_spike |= changed & set(off_grid) - set(light)
    # A grid keyframe after a GOP that stood still (every inter frame next to nothing: no drift, and a
    # cut inside would have been a frame of a whole new picture) is checked like an encoder's keyframe:
    # the keyframe before is the picture just before it. Not a blank one (fades) nor a mere relighting.
    still_bytes = max(STILL_MIN_BYTES, STILL_BYTES_PER_PIXEL * (info.video.width or 1) * (info.video.height or 1))
    blank = key_thumbs.std(axis=(1, 2)) < 5.0
    still = sorted(k for k in changed - set(off_grid) if _stood_still(
        packets, keys, k, still_bytes, spikes, key_thumbs, blank))

    cuts: list[tuple[int, float]] = []

    def window_cuts(spans: list[tuple[int, int]], candidates: set[int], found_frames: list[np.ndarray],
                    anywhere: bool = False) -> None:
        for (a, b), thumbs in zip(spans, found_frames):
            decoded.append((a, thumbs))
            for t, strength in zip(*detect_cuts(thumbs, rate)):
                k = a + round(t * rate)
                if anywhere or any(abs(k - c) <= reach + 4 for c in candidates if a <= c < b):  # B-frames
                    cuts.append((k, strength))

    def resized(k: int) -> bool:  # a new shot's keyframe rarely costs what the last one did
        ratio = packets.sizes[k] / max(packets.sizes[_prev_key(keys, k)], 1.0)
        return not 1 / KEY_SIZE_RATIO < ratio < KEY_SIZE_RATIO

    def suspect(k: int, jump: float) -> bool:
        return jump > SHOT_JUMP or jump > KEY_JUMP and resized(k)

    first = set(spikes) | after_spike
    spans = spans_around(first)
    light_spans = [(k, min(k + reach + pad, n_frames - 1) + 1) for k in light + still]
    spent = sum(b - _prev_key(keys, a + 1) for a, b in spans) + sum(b - a for a, b in light_spans)
    # grid keyframes that no window before them can explain will cost their whole GOP: count them now
    alone = [k for k in changed - set(off_grid) - after_spike - set(still)
             if suspect(k, jumps[k]) and not any(_prev_key(keys, k) < c < k for c in first | set(light))]
    spent += sum(k + pad - _prev_key(keys, k) for k in alone)
    if spent > budget:
        log.info("analyze %s: full decode (%d candidate cuts would decode %.0f%% of the frames)",
                 name, len(first) + len(light) + len(still), 100 * (spent + len(keys)) / n_frames)
        return None
    found = _thumbs(path, w, h, [span(a, b) for a, b in spans + light_spans], timeout)
    window_cuts(spans, first, found[:len(spans)])
    checked = set()
    for k, after in zip(light + still, found[len(spans):]):
        decoded.append((k, after))
        before = key_thumbs[int(np.searchsorted(keys, k)) - 1]
        if len(after) > reach + 1:
            jump = float(_change(before, after[0]))
            moving = float(np.median(_change(after[:-1], after[1:])))
            back = float(_change(before, after[reach + 1]))
            if jump > max(0.03, 3.0 * moving + 0.02) and back >= 0.5 * jump:
                cuts.append((k, min(1.0, jump / 0.4)))
                checked.add(k)

    # A cut the packets missed (on a grid keyframe, or between flat pictures) leaves the keyframe
    # after it unlike the last picture decoded before it (the keyframe before, or a window's last
    # frame): then everything in between is decoded. Busy shots drift a lot in a GOP, so a middling
    # change counts only with a keyframe of another size than the one before (a cut between two
    # shots that drift that much and cost the same to code is missed). A keyframe inside a decoded
    # window was seen with the frame before it already.
    def last_seen(k: int) -> tuple[int, float]:
        i = int(np.searchsorted(keys, k))
        latest, before = int(keys[i - 1]), key_thumbs[i - 1]
        for a, thumbs in decoded:
            last = min(a + len(thumbs), k) - 1
            if last > latest and last >= a:
                latest, before = last, thumbs[last - a]
        return latest, float(_change(before, key_thumbs[i]))

    seen = [(a, a + len(f)) for a, f in decoded]
    unexplained = {k: last_seen(k) for k in changed - set(off_grid) - after_spike - checked
                   if not any(a < k < b for a, b in seen)}
    grid = {k for k, (_, jump) in unexplained.items() if suspect(k, jump)}
    spans = _merge([(max(0, min(unexplained[k][0], k - pad)), min(n_frames, k + pad + 1)) for k in grid])
    spent += sum(b - _prev_key(keys, a + 1) for a, b in spans) - sum(k + pad - _prev_key(keys, k) for k in alone)
    if spent > budget:
        log.info("analyze %s: full decode (%d candidate cuts, checked, would decode %.0f%% of the frames)",
                 name, len(first) + len(light) + len(still) + len(grid), 100 * (spent + len(keys)) / n_frames)
        return None
    window_cuts(spans, grid, _thumbs(path, w, h, [span(a, b) for a, b in spans], timeout), anywhere=True)
    if not decoded:  # candidates that needed no frames: a few frames after some keyframes calibrate the motion
        starts = [int(k) for k in keys[np.linspace(0, len(keys) - 1, min(3, len(keys))).astype(int)]]
        found = _thumbs(path, w, h, [span(k, min(k + pad, n_frames)) for k in starts], timeout)
        decoded += list(zip(starts, found))
    cuts = sorted(dict(cuts).items())
    # A blank keyframe between shots with no cut found around it may be in a fade: only pixels place those.
    labels, _ = ndimage.label(blank)
    for (blanks,) in ndimage.find_objects(labels):
        if blanks.start > 0 and blanks.stop < len(keys) and not any(
                keys[blanks.start - 1] < k <= keys[blanks.stop] for k, _ in cuts):
            log.info("analyze %s: full decode (a blank keyframe and no cut near it: maybe a fade)", name)
            return None
    log.info("analyze %s: fast path (packets, %d keyframes, %d frames around %d candidates; %d cuts)",
             name, len(keys), sum(len(f) for _, f in decoded), len(first) + len(light) + len(grid), len(cuts))
    motion_t, motion_v = _motion_from_sizes(packets, decoded, [k for k, _ in cuts], rate)
    decoded = [(a, f[:n_frames - a]) for a, f in decoded]
    bright_t = np.concatenate([packets.times[keys]] + [packets.times[a:a + len(f)] for a, f in decoded])
    bright_v = np.concatenate([key_thumbs.mean(axis=(1, 2))] + [f.mean(axis=(1, 2)) for _, f in decoded]) / 255.0
    return _Quick(tuple(k / rate for k, _ in cuts), tuple(s for _, s in cuts),
                  bright_t, bright_v, motion_t, motion_v)


def _stood_still(packets: Packets, keys: np.ndarray, k: int, still_bytes: float, spikes: list[int],
                 key_thumbs: np.ndarray, blank: np.ndarray) -> bool:
    """Whether the GOP before keyframe ``k`` shows the old shot standing still right up to ``k``.

    Every inter frame next to nothing (``still_bytes``: skipped blocks, a copy of the frame
    before; the two after the keyframe small beside a new keyframe) means no drift, and that no frame inside the GOP started a new picture (it could not
    have been predicted: it would be a big frame). So the keyframe before is the picture just
    before ``k``. Blank keyframes are left to the fade check, and a keyframe that is the one
    before relit (a fade coded as weighted prediction costs next to nothing) is no shortcut.
    """
    i = int(np.searchsorted(keys, k))
    a = int(keys[i - 1])
    inter, settle = packets.sizes[a + 3:k], packets.sizes[a + 1:min(a + 3, k)]
    # the first two refine the keyframe by habit of rate control: small beside a new picture is enough
    if not len(inter) or inter.max() > still_bytes or settle.max() > 0.25 * packets.sizes[k] or any(a < s < k for s in spikes) or blank[i - 1] or blank[i]:
        return False
    before, after = key_thumbs[i - 1].astype(np.float64).ravel(), key_thumbs[i].astype(np.float64).ravel()
    fit = np.polyfit(before, after, 1) if before.std() > 1.0 else np.array([0.0, after.mean()])
    return float(np.abs(np.polyval(fit, before) - after).mean()) / 255.0 > RELIT_RESIDUAL


def _one_thread(info: MediaInfo) -> bool:
    """Whether keyframes alone decode as fast on one thread: H.264's and HEVC's decoders thread by frame, and
    keyframes a GOP apart give those threads nothing to overlap (starting them cost more than they gave: a
    60 s 1080p clip's keyframes 0.15 → 0.07 s). Others (AV1's dav1d: tiles, post-filters) also thread inside
    a frame: left to their own choice."""
    return info.video is not None and info.video.codec in ("h264", "hevc")


def _key_halves(packets: Packets, keys: np.ndarray, path: str | os.PathLike[str], one_thread: bool) -> list[_Span]:
    """Every keyframe as one span, or (KEY_SPLIT_MIN keyframes or more of KEY_SPLIT_BYTES in all, in an
    MP4/MOV whose index seeks to the keyframe exactly) as two, split at the middle keyframe: each half is
    decoded by an ffmpeg of its own, at once. Why: a keyframe is decoded alone, so one decoder keeps one
    core busy — the 40 keyframes (9 MB) of a 10.7 Mbit/s camera file took 1.1 s, two halves side by side
    0.75 s (inputs of one ffmpeg did not run side by side here). Small keyframes are not split: a screen
    recording's 0.9 MB took 0.15 s, and the second ffmpeg's 55 MB would have been the run's memory peak.
    A count that comes out wrong falls back to the full decode, as before."""
    if len(keys) < KEY_SPLIT_MIN or int(packets.sizes[keys].sum()) < KEY_SPLIT_BYTES \
            or os.path.splitext(str(path))[1].lower() not in (".mp4", ".mov", ".m4v"):
        return [_Span(mode="keys", one_thread=one_thread)]
    # each bound halfway between two keyframes: ffmpeg counts from the file's start, the packets from the first
    # picture (B-frames, priming), so a bound a quarter frame from a keyframe could fall on its other side
    m, times = len(keys) // 2, packets.times
    stop = (float(times[keys[m - 1]]) + float(times[keys[m]])) / 2
    start = (float(times[keys[m]]) + float(times[keys[m + 1]])) / 2 if m + 1 < len(keys) else float(times[keys[m]])
    return [_Span(stop=stop, mode="keys", one_thread=one_thread), _Span(start=start, mode="keys", one_thread=one_thread)]


def _keys(path: str | os.PathLike[str], w: int, h: int, halves: list[_Span], timeout: float) -> np.ndarray:
    """The keyframes' thumbnails, in order: the first half in one ffmpeg, a second half (:func:`_key_halves`)
    in another at the same time."""
    first, *second = halves
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="keyframes") as pool:
        later = pool.submit(_thumbs, path, w, h, second, timeout) if second else None
        (keys,) = _thumbs(path, w, h, [first], timeout)
        return np.concatenate([keys, *later.result()]) if later else keys


def _prev_key(keys: np.ndarray, frame: int) -> int:
    """The last keyframe before ``frame`` (or frame 0)."""
    i = int(np.searchsorted(keys, frame)) - 1
    return int(keys[i]) if i >= 0 else 0


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


@dataclass(frozen=True)
class _Span:
    """Frames to decode: every keyframe (``keys``), or ``[start, stop)`` s, started on the last keyframe
    at or before ``start`` (``from_key``: no accurate seek, so no run-up is decoded) or exactly at it."""

    start: float | None = None
    stop: float | None = None
    mode: Literal["keys", "from_key", "seek"] = "seek"
    one_thread: bool = True  # keyframes of a codec that threads inside a frame (AV1) keep the decoder's own choice


def _thumbs(path: str | os.PathLike[str], w: int, h: int, spans: list[_Span], timeout: float,
            per_process: int = THUMB_INPUTS) -> list[np.ndarray]:
    """Gray thumbnails of each span's decoded frames, up to ``per_process`` spans per ffmpeg process.

    An ffmpeg start-up (load, probe, decoder set-up, first keyframe) costs about as much as
    decoding a dozen 1080p frames, so the windows share a process: one input per span (each
    demuxed and decoded in its own ffmpeg thread, so they still run in parallel), one raw
    output file per span. Every input decodes on one thread, the keyframes of H.264 and HEVC too
    (:func:`_one_thread`). Each input decoding 1080p holds ~15 MB: nine at once made a 185 MB
    ffmpeg beside the engine (the run's memory peak), where batches of four take 105 MB for the
    same CPU and wall time on two cores — and a long video's many cuts stay bounded. The batches
    share ``timeout``: each gets what the ones before left of it.
    """
    if not spans:
        return []
    if len(spans) > per_process:
        deadline = time.monotonic() + timeout
        batches: list[np.ndarray] = []
        for at in range(0, len(spans), per_process):
            left = deadline - time.monotonic()
            if left <= 0:
                raise FFmpegError(f"analyze picture of {os.path.basename(path)}: "
                                  f"ffmpeg took longer than {timeout:g}s and was stopped")
            batches += _thumbs(path, w, h, spans[at:at + per_process], left, per_process)
        return batches
    args: list[str] = []
    outs: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ai-music-thumbs-") as tmp:
        for i, span in enumerate(spans):
            opts = [*(["-threads", "1"] if span.one_thread else []), *(["-skip_frame", "nokey"] if span.mode == "keys" else [])]
            # from a keyframe: no run-up (a second half of the keyframes starts on its first one)
            opts += ["-noaccurate_seek"] if span.mode == "from_key" or (span.mode == "keys" and span.start is not None) \
                else []
            if span.start is not None:
                opts += ["-ss", f"{max(span.start, 0.0):.6f}"]
            if span.stop is not None:
                opts += ["-t", f"{span.stop - max(span.start or 0.0, 0.0):.6f}"]
            args += [*opts, "-skip_loop_filter", "all", "-noautorotate", "-i", pathlike(path)]
            out = os.path.join(tmp, f"{i}.gray")
            outs += ["-map", f"{i}:v:0", "-an", "-sn", "-dn", "-vf", f"scale={w}:{h}:flags=area,format=gray",
                     "-fps_mode", "passthrough", "-f", "rawvideo", "-y", out]
        run([*args, *outs], timeout=timeout, what=f"analyze picture of {os.path.basename(path)}")
        found = []
        for i in range(len(spans)):
            with open(os.path.join(tmp, f"{i}.gray"), "rb") as f:
                data = f.read()
            count = len(data) // (w * h)
            found.append(np.frombuffer(data, np.uint8, count * w * h).reshape(count, h, w))
    return found


def _motion_from_sizes(packets: Packets, decoded: list[tuple[int, np.ndarray]], cuts: list[int],
                       rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Each inter frame's change per 1/30 s, estimated from its size.

    The scale (change per byte) is measured on the frames that were decoded anyway:
    the sum of their thumbnail changes over the sum of the same frames' sizes, cut
    frames left out (a cut is not motion).
    """
    near_cut = np.zeros(len(packets.sizes), bool)
    for k in cuts:
        near_cut[max(k - 2, 0):k + 3] = True
    usable = ~packets.key & ~near_cut
    steps, sizes = 0.0, 0.0
    for a, frames in decoded:
        if len(frames) < 2:
            continue
        idx = np.arange(a + 1, min(a + len(frames), len(packets.sizes)))
        change = np.abs(frames[1:len(idx) + 1].astype(np.int16) - frames[:len(idx)]).mean(axis=(1, 2)) / 255.0
        ok = usable[idx]
        steps += float(change[ok].sum())
        sizes += float(packets.sizes[idx][ok].sum())
    per_byte = steps / sizes if sizes > 0 else 0.0
    inter = np.flatnonzero(usable)
    return packets.times[inter], packets.sizes[inter] * per_byte * (30.0 / rate)


def _quick_curves(quick: _Quick, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Motion and brightness per energy sample from the fast path's samples."""
    def bins(t: np.ndarray) -> np.ndarray:
        return np.minimum((t * ENERGY_RATE_HZ).astype(np.int64), n - 1)

    brightness = _bin_mean(bins(quick.bright_t), quick.bright_v, n)
    motion = _bin_mean(bins(quick.motion_t), quick.motion_v, n) if len(quick.motion_t) else np.zeros(n)
    return _saturate(motion, 0.03), brightness


def detect_cuts(frames_luma: np.ndarray, fps: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Hard cuts and dips to black/white in ``(T, h, w)`` uint8 luma frames.

    A cut is a frame change that stands out twice: against the median change of the
    last and next half second (so steady motion or scrolling does not count) and
    against its immediate neighbours (so the even steps of a fade or whip pan do not).
    Changes a few frames apart are one event, and if the picture after it is back to
    what it was before, it was a flash, not a cut. Fades through a blank frame are found
    separately. Returns ``(times_s, strengths_0_1)``; a time is that of the first
    changed frame.
    """
    if len(frames_luma) < 2:
        return (), ()
    f = frames_luma
    change = _steps(f, _change)  # change[i]: frame i -> i + 1
    window = max(9, 2 * round(fps * 0.5) + 1)
    baseline = ndimage.median_filter(change, size=window, mode="nearest")
    # Third largest change within +-3 frames: a lone spike or a flash's in-and-out pair
    # sits above it, a fade's run of similar steps does not.
    near = np.sort(np.lib.stride_tricks.sliding_window_view(np.pad(change, 3), 7), axis=1)[:, -3]
    spikes = np.flatnonzero(change > np.maximum.reduce([
        np.full_like(change, 0.03), 3.0 * baseline + 0.02, 2.0 * near]))
    reach = max(1, min(3, round(0.1 * fps)))  # a flash lasts at most ~0.1 s
    cuts: list[tuple[int, float]] = []
    for event in np.split(spikes, np.flatnonzero(np.diff(spikes) > reach) + 1):
        if not len(event):
            continue
        first, last = int(event[0]), int(event[-1])
        strongest = float(change[event].max())
        if last > first and float(_change(f[first], f[last + 1])) < 0.5 * strongest:
            continue
        cuts.append((first + 1, min(1.0, strongest / 0.4)))
    cuts = sorted(cuts + _fades(f, spikes, reach, fps))
    return tuple(k / fps for k, _ in cuts), tuple(s for _, s in cuts)


def _steps(frames: np.ndarray, measure: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """``measure(frame i, frame i + 1)`` for every i, in blocks so memory stays bounded."""
    last = len(frames) - 1
    return np.concatenate([
        measure(frames[i:min(i + _BLOCK, last)], frames[i + 1:min(i + _BLOCK, last) + 1])
        for i in range(0, last, _BLOCK)
    ])


def _per_frame(frames: np.ndarray, measure: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    return np.concatenate([measure(frames[i:i + _BLOCK]) for i in range(0, len(frames), _BLOCK)])


def _change(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """How different two (stacks of) uint8 frames look: pixel difference plus histogram distance.

    Pixels catch cuts between similar-looking screens; the histogram keeps a cut
    visible when the new shot has the same layout but different colours.
    """
    pixels = np.abs(a.astype(np.int16) - b).mean(axis=(-2, -1)) / 255.0
    return pixels + 0.25 * _hist_distance(a, b)


def _hist_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    def hist(x: np.ndarray) -> np.ndarray:
        flat = x.reshape(-1, x.shape[-2] * x.shape[-1])
        bins = (flat >> 4).astype(np.int64) + 16 * np.arange(len(flat))[:, None]
        return np.bincount(bins.ravel(), minlength=16 * len(flat)).reshape(-1, 16) / flat.shape[1]

    dist = 0.5 * np.abs(hist(a) - hist(b)).sum(axis=1)
    return dist if a.ndim == 3 else dist[0]


def _fades(f: np.ndarray, spikes: np.ndarray, reach: int, fps: float) -> list[tuple[int, float]]:
    """Fades through a blank (black, white or flat) frame between two shots.

    Each step of a fade is too small to be a cut, so look for runs of featureless
    frames with content on both sides, entered and left gradually (an abrupt edge is
    a cut or a flash, judged above), and put the cut in the middle of the run.
    """
    blank = _per_frame(f, lambda x: x.std(axis=(1, 2))) < 5.0  # of 255
    labels, _ = ndimage.label(blank)
    side = round(fps * 0.5)
    out = []
    for start, stop in ((s.start, s.stop) for (s,) in ndimage.find_objects(labels)):
        if start == 0 or stop == len(f):
            continue  # fade in from / out to blank at the very start or end
        if np.any((spikes >= start - 1 - reach) & (spikes <= stop - 1 + reach)):
            continue
        before, after = f[max(start - side, 0)], f[min(stop + side, len(f) - 1)]
        out.append(((start + stop) // 2, 0.5 + 0.5 * min(1.0, float(_change(before, after)) / 0.4)))
    return out


def _picture_curves(picture: _Picture, cuts: tuple[float, ...], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Motion (frame change away from cuts) and brightness, averaged per energy sample."""
    frames, rate = picture.frames, picture.rate
    if not len(frames):
        return np.zeros(n), np.zeros(n)
    bins = np.minimum((np.arange(len(frames)) / rate * ENERGY_RATE_HZ).astype(np.int64), n - 1)
    brightness = _bin_mean(bins, _per_frame(frames, lambda x: x.mean(axis=(1, 2))) / 255.0, n)
    if len(frames) < 2:
        return np.zeros(n), brightness
    step = _steps(frames, lambda a, b: np.abs(a.astype(np.int16) - b).mean(axis=(1, 2))) / 255.0
    keep = np.ones(len(step), bool)
    for c in cuts:  # a cut is not motion; nor are the frames either side of it
        k = round(c * rate)
        keep[max(k - 2, 0):k + 1] = False
    # Change per 1/30 s, so the scale means the same for 60 fps and sparsely sampled input.
    per_30 = step * (30.0 / rate)
    motion = _bin_mean(bins[1:][keep], per_30[keep], n)
    return _saturate(motion, 0.03), brightness


def _bin_mean(bins: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Mean of ``values`` per bin; empty bins are interpolated from their neighbours."""
    counts = np.bincount(bins, minlength=n)[:n]
    sums = np.bincount(bins, weights=values, minlength=n)[:n]
    filled = counts > 0
    if not filled.any():
        return np.zeros(n)
    idx = np.arange(n)
    return np.interp(idx, idx[filled], sums[filled] / counts[filled])


def _cuts_per_minute(cuts: tuple[float, ...], strengths: tuple[float, ...], n: int) -> np.ndarray:
    """Local cut rate around each energy sample (cuts a minute, weighted by strength)."""
    hits = np.zeros(n)
    for c, s in zip(cuts, strengths):
        hits[min(int(c * ENERGY_RATE_HZ), n - 1)] += s
    return _smooth(hits, 2.0) * ENERGY_RATE_HZ * 60.0


# --- small helpers ---------------------------------------------------------------------


def _smooth(x: np.ndarray, sigma_s: float) -> np.ndarray:
    return ndimage.gaussian_filter1d(np.asarray(x, float), sigma_s * ENERGY_RATE_HZ, mode="nearest")


def _saturate(x: np.ndarray, scale: float) -> np.ndarray:
    """0 at 0, 0.63 at ``scale``, approaching 1: a soft cap for unbounded rates."""
    return 1.0 - np.exp(-np.asarray(x, float) / scale)


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n)
    out[: min(n, len(x))] = x[:n]
    return out


def _r(x: float) -> float:
    return round(float(x), 3)


def _rs(x: np.ndarray) -> tuple[float, ...]:
    return tuple(round(float(v), 3) for v in x)
