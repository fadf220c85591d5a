"""Smart render: re-encode only the GOPs a title touches, stream-copy the rest.

A 3-second title on a 60-second clip used to cost a re-encode of all 60 seconds (35 s on two
cores, and a file 2.4× the input). Closed GOPs are independent: every GOP starting at an IDR
picture decodes without its neighbours, so the GOPs under a title can be decoded, overlaid
and encoded again while every other GOP is copied packet for packet. The source is split at
GOP boundaries by ffmpeg's segment muxer (copy, no decode), the touched runs are encoded
with libx264 to the source's profile, level, pixel format and time base, and ffmpeg's concat
demuxer joins the pieces into one MP4 track.

The one trap in splicing H.264 (the one that corrupts other tools' smart cuts) is parameter
sets: the re-encoded GOPs come with x264's own SPS/PPS, which differ from the source encoder's
in a dozen fields. We give them ids the source does not use (x264's ``sps-id``), so both sets
live side by side and each slice names its own; the concat demuxer carries the second set
into the stream (in band, before the first re-encoded IDR, and the source's again at each of
its IDRs), and both sets are declared in the track's ``avcC`` (``media.avc_config``), so every
decoder finds the set each slice refers to — no change of an active set happens outside an IDR.

When a file cannot be cut safely — open GOPs (a recovery-point I-frame whose B-frames lean on
the GOP before it), interlacing, a profile we cannot match, another codec, a fragmented or
trimmed timeline — :class:`CannotCut` says why in one line and the caller encodes the whole
picture instead.
"""
from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Sequence

from media.avc_config import add_parameter_sets
from media.avc_track import AvcTrack, TrackError, read_track
from media.cores import usable_cpus
from media.ffmpeg import FFmpegError, pathlike, run

PROFILES = {66: "baseline", 77: "main", 100: "high"}
# x264 tools per profile: the project's fast preset (engine.export.graph) where the profile allows it;
# 8x8 transforms make x264 signal High, so a High source gets a High splice (and Main a Main one).
TOOLS = {
    "baseline": "cabac=0:bframes=0",
    "main": "cabac=1:8x8dct=0:deblock=1,0,0:bframes=2:b-adapt=0",
    "high": "cabac=1:8x8dct=1:deblock=1,0,0:bframes=2:b-adapt=0",
}
PRESET = "ultrafast"
CRF = "20"              # the full render's (engine.export.graph.ENCODE_CRF); the rate cap below usually binds first
SIZE_FACTOR = 1.2       # a re-encoded run may spend this much more than the GOPs it replaces
STEP_TIMEOUT_S = 600.0


class CannotCut(Exception):
    """The input cannot be spliced safely; ``str()`` is the reason, fit for a log line."""


@dataclass(frozen=True)
class Overlay:
    """A title image shown from ``start`` for ``length`` seconds, fading ``fade`` s in and out."""

    png: Path
    x: int
    y: int
    start: float
    length: float
    fade: float
    fps: str            # the rate the still is looped at (the picture's)


@dataclass(frozen=True)
class Piece:
    """A run of whole GOPs: decode-order samples ``first``…``end``-1, shown from ``start`` to ``stop`` s."""

    first: int
    end: int
    start: float
    stop: float
    touched: bool


def why_not(track: AvcTrack) -> str | None:
    """Why ``track`` cannot be cut between GOPs, or ``None`` when it can."""
    if track.codec not in ("avc1", "avc3"):
        return f"the picture is not H.264 ({track.codec})"
    if track.fragmented:
        return "the file is a fragmented MP4"
    if track.descriptions != 1:
        return "the codec setup changes inside the file"
    if not track.sps or not track.pps:
        return "the H.264 parameter sets are not in the file header"
    for sps in track.parsed_sps():
        if sps.profile not in PROFILES or sps.chroma_format != 1 or sps.bit_depth != 8:
            return f"H.264 profile {sps.profile} ({sps.chroma_format}:{sps.bit_depth}) is not one we can match"
        if not sps.frame_mbs_only:
            return "the picture is interlaced"
    if not all(track.sync_is_idr):
        return "the file has open GOPs (keyframes that are not IDR pictures)"
    if not track.pts or track.sync[:1] != (0,):
        return "the video does not start with a keyframe"
    first = min(track.pts)
    if track.edits > 1 or (track.edit_start if track.edits else 0) != first:
        return "an edit list trims or delays the picture"
    return None


def plan(track: AvcTrack, spans: Sequence[tuple[float, float]]) -> list[Piece]:
    """Runs of GOPs, alternating copied and touched (any GOP a span overlaps is re-encoded)."""
    scale, origin = track.timescale, min(track.pts)
    bounds = [*track.sync, track.sample_count]
    gops: list[Piece] = []
    for first, end in zip(bounds, bounds[1:]):
        start = (min(track.pts[first:end]) - origin) / scale
        gops.append(Piece(first, end, start, start, False))
    ends = [g.start for g in gops[1:]]
    shown = sorted(track.pts)
    deltas = sorted(b - a for a, b in zip(shown, shown[1:]))
    frame = (deltas[len(deltas) // 2] if deltas else 1) / scale    # the last frame lasts a typical frame
    ends.append((shown[-1] - origin) / scale + frame)
    pieces: list[Piece] = []
    for gop, stop in zip(gops, ends):
        touched = any(a < stop and b > gop.start for a, b in spans)
        if pieces and pieces[-1].touched == touched:
            last = pieces[-1]
            pieces[-1] = Piece(last.first, gop.end, last.start, stop, touched)
        else:
            pieces.append(Piece(gop.first, gop.end, gop.start, stop, touched))
    return pieces


def keyframe_times(track: AvcTrack) -> list[float]:
    """When each sync sample is shown, in seconds from the first frame (ffmpeg's timeline for a file
    :func:`why_not` accepts: its edit list, if any, starts at the first frame)."""
    origin = min(track.pts)
    return sorted((track.pts[i] - origin) / track.timescale for i in track.sync)


def free_id(track: AvcTrack) -> int:
    """A parameter-set id the source uses for neither its SPS nor its PPS."""
    used = {s.id for s in track.parsed_sps()} | track.pps_ids()
    return next(i for i in range(32) if i not in used)


def cuttable(src: str | os.PathLike[str]) -> AvcTrack:
    """The source's track when it can be spliced; else :class:`CannotCut` says why (milliseconds:
    checked before any title image is drawn)."""
    try:
        track = read_track(src)
    except (TrackError, OSError, IndexError, ValueError) as exc:
        raise CannotCut(f"its MP4 structure could not be read ({exc})") from exc
    reason = why_not(track)
    if reason:
        raise CannotCut(reason)
    return track


def prepare(src: str | os.PathLike[str], overlays: Sequence[Overlay], pix_fmt: str, work_dir: Path,
            track: AvcTrack | None = None, threads: int = 0, before_encode: Callable[[], object] | None = None) -> Path:
    """Write the pieces under ``work_dir`` and return an ffconcat list joining them in order; ``threads``
    is the cores the render may use (0: all of this machine's). ``before_encode`` is called once the source
    is split (a stream copy, where a file that cannot be cut is found out) and before the titled GOPs are
    encoded: the caller may wait there for other work to be done with its memory.

    Raises :class:`CannotCut` (with the reason) when the source cannot be spliced safely."""
    track = track or cuttable(src)
    pieces = plan(track, [(o.start, o.start + o.length) for o in overlays])
    if not any(piece.touched for piece in pieces):
        raise CannotCut("no title falls on the picture")
    work_dir.mkdir(parents=True, exist_ok=True)
    files = _split(src, pieces, work_dir)
    if before_encode is not None:
        before_encode()
    sps = track.parsed_sps()[0]
    reorders = any(b < a for a, b in zip(track.pts, track.pts[1:]))
    encoder = _encoder_args(PROFILES[sps.profile], sps.level, free_id(track), track.timescale, reorders, threads)
    joined = [_encode(path, piece, overlays, pix_fmt, encoder, work_dir / f"title{number:04d}.mp4")
              if piece.touched else path for number, (piece, path) in enumerate(zip(pieces, files))]
    encoded = read_track(next(p for p, piece in zip(joined, pieces) if piece.touched))
    # the joined track's avcC is the first piece's: declare both sets there (in band they come anyway)
    add_parameter_sets(joined[0], [*track.sps, *encoded.sps], [*track.pps, *encoded.pps])
    # each piece's exact length: left to itself the concat demuxer offsets the next piece by the
    # file's duration in the MP4 header, rounded to milliseconds, and the copied frames drift
    listing = ["ffconcat version 1.0"]
    for path, piece in zip(joined, pieces):
        listing += ["file " + _quote(path), f"duration {piece.stop - piece.start:.6f}"]
    out = work_dir / "pieces.ffconcat"
    out.write_text("\n".join(listing) + "\n", encoding="utf-8")
    return out


def _split(src: str | os.PathLike[str], pieces: Sequence[Piece], work_dir: Path) -> list[Path]:
    """Cut the video stream (copy) at the pieces' first samples; check each piece's sample count."""
    index = work_dir / "pieces.csv"
    cuts = ",".join(str(p.first) for p in pieces[1:])
    args = ["-i", pathlike(src), "-map", "0:v:0", "-c", "copy", "-f", "segment", "-reset_timestamps", "1",
            "-segment_list", pathlike(index), "-segment_list_type", "csv"]
    args += ["-segment_frames", cuts] if cuts else ["-segment_time", "1e9"]
    try:
        run([*args, "-y", pathlike(work_dir / "copy%04d.mp4")], timeout=STEP_TIMEOUT_S, what="split the picture")
    except FFmpegError as exc:
        raise CannotCut(str(exc)) from exc
    with open(index, newline="", encoding="utf-8") as f:
        files = [work_dir / row[0] for row in csv.reader(f) if row]
    if len(files) != len(pieces):
        raise CannotCut("ffmpeg split it at other places than its keyframes")
    for piece, path in zip(pieces, files):
        if read_track(path).sample_count != piece.end - piece.first:
            raise CannotCut("ffmpeg split it at other places than its keyframes")
    return files


def _encoder_args(profile: str, level: int, param_id: int, timescale: int, reorders: bool, threads: int = 0) -> list[str]:
    """libx264 to the source's profile, level and time base; B-frames only where the source has
    them (a stream without reordering keeps its zero decode delay all through).

    x264 gets the cores but one (at least one): the decoder and the overlay run in threads of their own
    beside it. On two cores, x264's own choice (three threads) and a frame-threaded decoder held 150 MB
    where one thread each holds 110 MB, for the same wall time (4 s of 1080p: 0.6 s, 0.95 → 0.90 CPU-s)."""
    tools = TOOLS[profile] if reorders else TOOLS[profile].replace("bframes=2:b-adapt=0", "bframes=0")
    x264_threads = max(1, (threads or usable_cpus()) - 1)
    return ["-c:v", "libx264", "-preset", PRESET, "-profile:v", profile, "-level:v", f"{level / 10:g}",
            "-x264-params", f"{tools}:sps-id={param_id}:threads={x264_threads}", "-crf", CRF,
            "-fps_mode", "passthrough", "-video_track_timescale", str(timescale)]


def _encode(piece_file: Path, piece: Piece, overlays: Sequence[Overlay], pix_fmt: str,
            encoder: list[str], out: Path) -> Path:
    """Decode one touched run (on one thread: it keeps ahead of the encoder, and each frame thread holds
    1080p frames of its own), draw the titles over it (timed as in the full render), encode it. The titles
    are drawn on one thread too: in slices on every core, the overlay's threads and x264's took turns
    (4 s of 1080p under a title: 1.0 s wall and 0.4 s of system time, on one thread 0.6 s and 0.07 s)."""
    inputs = ["-threads", "1", "-i", pathlike(piece_file)]
    chains = ["[0:v]setpts=PTS-STARTPTS[m0]"]
    current = "m0"
    blend = "yuv420" if pix_fmt == "yuv420p" else "auto"  # 8-bit 4:2:0 blends in place, not via RGBA (a third of the filter CPU)
    for number, o in enumerate(o for o in overlays if o.start < piece.stop and o.start + o.length > piece.start):
        offset = o.start - piece.start
        # the fades run on the title's own clock; a title that began in an earlier run is trimmed to this one
        place = f"setpts=PTS+{offset:.6f}/TB" if offset >= 0 else f"trim=start={-offset:.6f},setpts=PTS-STARTPTS"
        # the still decoded once and repeated by the loop filter, not read and decoded again for every
        # frame (``-loop 1 -t``): the same frames at the same times — as many as ``-t`` gave, its length
        # in frames rounded half up — for a tenth less CPU in the whole encode
        rate = Fraction(o.fps)
        frames = max(1, math.floor(Fraction(f"{o.length:.3f}") * rate + Fraction(1, 2)))
        inputs += ["-framerate", o.fps, "-i", pathlike(o.png)]
        chains.append(f"[{number + 1}:v]format=rgba,loop=loop={frames - 1}:size=1,"
                      f"setpts=N*{rate.denominator}/{rate.numerator}/TB,fade=t=in:st=0:d={o.fade:.3f}:alpha=1,"
                      f"fade=t=out:st={o.length - o.fade:.3f}:d={o.fade:.3f}:alpha=1,{place}[t{number}]")
        chains.append(f"[{current}][t{number}]overlay={o.x}:{o.y}:eof_action=pass:format={blend}[m{number + 1}]")
        current = f"m{number + 1}"
    chains.append(f"[{current}]format={pix_fmt}[v]")
    seconds = max(piece.stop - piece.start, 0.04)
    # at most SIZE_FACTOR × the bits of the GOPs replaced, counting the burst x264 may spend up front
    # (90 % of the one-second VBV buffer) — a short run would otherwise come out half again as big
    kbps = max(200, round(os.path.getsize(piece_file) * 8 / 1000 * SIZE_FACTOR / (seconds + 0.9)))
    try:
        run([*inputs, "-filter_complex", ";".join(chains), "-filter_complex_threads", "1", "-map", "[v]", *encoder,
             "-maxrate", f"{kbps}k", "-bufsize", f"{kbps}k", "-an", "-y", pathlike(out)],
            timeout=STEP_TIMEOUT_S, what="encode the titled part")
    except FFmpegError as exc:
        raise CannotCut(str(exc)) from exc
    if read_track(out).sample_count != piece.end - piece.first:
        raise CannotCut("the re-encoded part came out with another number of frames")
    return out


def _quote(path: Path) -> str:
    """A path for an ffconcat ``file`` line (single-quoted, quotes escaped)."""
    return "'" + str(path.resolve()).replace("'", "'\\''") + "'"
