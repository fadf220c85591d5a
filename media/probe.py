"""What a media file is: duration, picture size, frame rate, codecs, audio present.

imageio-ffmpeg ships ffmpeg but not ffprobe, so we read the stream summary ffmpeg prints
for ``ffmpeg -i FILE``. That summary has been stable across ffmpeg releases for a decade
and is what imageio itself parses. Probing runs in a subprocess with a timeout, so a
hostile or truncated file costs at most a few seconds and never our process.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from media.ffmpeg import FFmpegError, pathlike, run
from media.one_read import OneRead

PROBE_TIMEOUT_S = 15.0

_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_INPUT = re.compile(r"^Input #0, ([^,]+(?:,[^,]+)*?), from ", re.M)
_STREAM = re.compile(r"^\s*Stream #0:(\d+)[^:]*: (Video|Audio|Subtitle|Data): (.*)$", re.M)
_SIZE = re.compile(r"(?<![\dx])(\d{2,5})x(\d{2,5})(?![\dx])")
_FPS = re.compile(r"([\d.]+)(k?) fps")
_TBR = re.compile(r"([\d.]+)(k?) tbr")
_RATE = re.compile(r"(\d+) Hz")
_ROTATION = re.compile(r"rotation of (-?[\d.]+) degrees")


@dataclass(frozen=True)
class VideoStream:
    codec: str
    width: int
    height: int
    fps: float
    pix_fmt: str | None
    rotation: int = 0
    color_transfer: str | None = None   # "arib-std-b67" (HLG), "smpte2084" (PQ), "bt709"…
    color_primaries: str | None = None

    @property
    def display_size(self) -> tuple[int, int]:
        """Size as shown to a viewer (phones store portrait video rotated)."""
        if self.rotation % 180:
            return self.height, self.width
        return self.width, self.height


@dataclass(frozen=True)
class AudioStream:
    codec: str
    sample_rate: int
    channels: str


@dataclass(frozen=True)
class MediaInfo:
    path: str
    format: str
    duration_s: float | None
    video: VideoStream | None
    audio: AudioStream | None
    streams: tuple[str, ...] = field(default_factory=tuple)

    @property
    def has_audio(self) -> bool:
        return self.audio is not None

    @property
    def has_video(self) -> bool:
        return self.video is not None


class ProbeError(FFmpegError):
    """The file is not media ffmpeg can read; ``reason`` says why without naming any path."""

    def __init__(self, message: str, reason: str = "not a media file ffmpeg can read") -> None:
        super().__init__(message)
        self.reason = reason


# ffmpeg's complaints, as a person would put them (the rest of its line names our temp path)
_REASONS = (
    ("moov atom not found", "the file is incomplete (its index is missing: the upload or recording was cut off)"),
    ("Invalid data found when processing input", "the data is not a video, audio or image format ffmpeg knows"),
    ("End of file", "the file ends before its header does (it was cut off)"),
)


def _reason(stderr: str) -> str:
    return next((text for marker, text in _REASONS if marker in stderr), "not a media file ffmpeg can read")


def _video(desc: str, tail: str) -> VideoStream:
    codec = desc.split(None, 1)[0].rstrip(",")
    size = _SIZE.search(desc)
    fps_match = _FPS.search(desc) or _TBR.search(desc)
    fps = 0.0
    if fps_match:
        fps = float(fps_match.group(1)) * (1000 if fps_match.group(2) else 1)
    pix = re.search(r",\s*([a-z0-9_]+)(?:\(|,)", desc)
    primaries, transfer = _colors(desc, pix.end() if pix else 0)
    rotation = _ROTATION.search(tail)
    return VideoStream(
        codec=codec,
        width=int(size.group(1)) if size else 0,
        height=int(size.group(2)) if size else 0,
        fps=fps,
        pix_fmt=pix.group(1) if pix else None,
        rotation=int(round(float(rotation.group(1)))) % 360 if rotation else 0,
        color_transfer=transfer,
        color_primaries=primaries,
    )


_NOT_COLOURS = {"tv", "pc", "progressive", "top first", "bottom first", "top coded first (swapped)",
                "bottom coded first (swapped)"}


def _colors(desc: str, after: int) -> tuple[str | None, str | None]:
    """Primaries and transfer from ``yuv420p10le(tv, bt2020nc/bt2020/arib-std-b67, progressive)``
    (ffmpeg prints one name when space, primaries and transfer agree: ``(tv, bt709)``)."""
    if after == 0 or after > len(desc) or desc[after - 1] != "(":
        return None, None
    inner = desc[after:desc.find(")", after)] if ")" in desc[after:] else ""
    for item in (part.strip() for part in inner.split(",")):
        if not item or item in _NOT_COLOURS:
            continue
        names = item.split("/")
        if len(names) == 3:
            return names[1], names[2]
        return item, item
    return None, None


def _audio(desc: str) -> AudioStream:
    codec = desc.split(None, 1)[0].rstrip(",")
    rate = _RATE.search(desc)
    parts = [p.strip() for p in desc.split(",")]
    channels = parts[2] if len(parts) > 2 else "unknown"
    return AudioStream(codec=codec, sample_rate=int(rate.group(1)) if rate else 0, channels=channels)


def parse_probe(path: str, stderr: str) -> MediaInfo:
    """Parse ffmpeg's input summary (split out so it can be tested without files)."""
    fmt = _INPUT.search(stderr)
    if not fmt:
        reason = _reason(stderr)
        raise ProbeError(f"{os.path.basename(path)}: {reason}", reason)
    dur = _DURATION.search(stderr)
    duration = None
    if dur:
        h, m, s = dur.groups()
        duration = int(h) * 3600 + int(m) * 60 + float(s)
    video = audio = None
    kinds = []
    streams = list(_STREAM.finditer(stderr))
    for i, match in enumerate(streams):
        kind, desc = match.group(2), match.group(3)
        kinds.append(kind.lower())
        end = streams[i + 1].start() if i + 1 < len(streams) else len(stderr)
        tail = stderr[match.end():end]
        if kind == "Video" and video is None and "attached pic" not in desc:
            video = _video(desc, tail)
        elif kind == "Audio" and audio is None:
            audio = _audio(desc)
    return MediaInfo(path=path, format=fmt.group(1), duration_s=duration, video=video,
                     audio=audio, streams=tuple(kinds))


Version = tuple[int, int, int, int]  # device, inode, size, modification time: see file_version
PROBES_KEPT = 64
_probes: OrderedDict[Version, MediaInfo] = OrderedDict()
_probes_lock = threading.Lock()


def probe(path: str | os.PathLike[str], *, timeout: float = PROBE_TIMEOUT_S) -> MediaInfo:
    """Probe ``path``; raise :class:`ProbeError` if it is not readable media.

    Remembered per file — its device, inode, size and modification time, not its name: an upload is
    probed under its temporary name, renamed, then asked about again by the analysis and the render,
    and each ffmpeg start costs ~20 ms and 40 MB beside the engine. A file written anew differs in
    inode, size or modification time, so it is probed again. The last PROBES_KEPT files are kept;
    failures are not."""
    key = _identity(path)
    with _probes_lock:
        known = _probes.get(key) if key is not None else None
        if known is not None:
            _probes.move_to_end(key)
            return known if known.path == str(path) else dataclasses.replace(known, path=str(path))
    proc = run(["-i", pathlike(path)], timeout=timeout, what=f"probe {os.path.basename(path)}",
               check=False)
    info = parse_probe(str(path), proc.stderr.decode("utf-8", "replace"))
    if key is not None:
        with _probes_lock:
            _probes[key] = info
            while len(_probes) > PROBES_KEPT:
                _probes.popitem(last=False)
    return info


def file_version(path: str | os.PathLike[str]) -> Version:
    """What tells this version of the file from any other, for what is remembered per file: its
    device, inode, size and modification time (a copy put in its place, even of the same size and
    time, is another inode). Raises OSError for what is not there."""
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


def _identity(path: str | os.PathLike[str]) -> Version | None:
    """:func:`file_version`, or None for what is not a file here (ffmpeg says why)."""
    try:
        return file_version(path)
    except OSError:
        return None


@dataclass(frozen=True)
class Loudness:
    """EBU R128 figures as ffmpeg's ``ebur128`` filter measures them."""

    integrated_lufs: float
    true_peak_dbtp: float
    mean_volume_db: float
    max_volume_db: float

    @property
    def silent(self) -> bool:
        return self.max_volume_db < -60.0


def loudness(path: str | os.PathLike[str], *, timeout: float = 120.0, start_s: float | None = None,
             duration_s: float | None = None) -> Loudness:
    """Measure the first audio stream (optionally a window of it) with ffmpeg itself.

    Independent of our own mastering code, so tests that check the master use it.
    """
    window = []
    if start_s is not None:
        window += ["-ss", f"{start_s:.3f}"]
    if duration_s is not None:
        window += ["-t", f"{duration_s:.3f}"]
    proc = run([*window, "-i", pathlike(path), "-map", "0:a:0",
                "-af", "ebur128=peak=true:framelog=quiet,volumedetect", "-f", "null", "-"],
               timeout=timeout, what=f"measure loudness of {os.path.basename(path)}")
    err = proc.stderr.decode("utf-8", "replace")
    summary = err[err.rfind("Summary:"):] if "Summary:" in err else err

    def grab(pattern: str, text: str) -> float:
        match = re.search(pattern, text)
        if not match:
            return float("-inf")
        value = match.group(1)
        return float("-inf") if value.startswith("-inf") or value == "nan" else float(value)

    return Loudness(
        integrated_lufs=grab(r"I:\s*(-?[\d.]+|-inf) LUFS", summary),
        true_peak_dbtp=grab(r"Peak:\s*(-?[\d.]+|-inf) dBFS", summary),
        mean_volume_db=grab(r"mean_volume:\s*(-?[\d.]+|-inf) dB", err),
        max_volume_db=grab(r"max_volume:\s*(-?[\d.]+|-inf) dB", err),
    )


_PTS_TIME = re.compile(r"pts_time:\s*(-?[\d.]+(?:e-?\d+)?)")


def first_frame_at(path: str | os.PathLike[str], start_s: float = 0.0, *,
                   timeout: float = PROBE_TIMEOUT_S) -> float | None:
    """When the first picture a renderer shows from ``start_s`` on is stamped, in seconds on
    ffmpeg's timeline of the file (0 = where its earliest stream starts).

    A segment rendered with ``-ss start_s -i FILE`` begins with this frame, so its sound must
    begin here too: a browser recording whose picture starts 20 ms after its sound gives
    0.02 for ``start_s=0``. ``None`` for a file without a picture (cover art does not
    count). One frame is decoded, so this stays cheap — and it is remembered per file version
    (:func:`file_version`, as :func:`probe` is), as the analysis asks first and the soundtrack's
    mix asks again. Threads asking at once about the same file wait for one read (an engine's
    analysis and its decode for the mix both ask as an upload lands: two 70 MB ffmpegs at once
    were a camera file's memory peak).
    """
    key = (os.fspath(path), start_s, file_version(path))
    with _first_frames.of(key):
        return _first_frame_at(*key, timeout)


_first_frames = OneRead()


@functools.lru_cache(maxsize=256)
def _first_frame_at(path: str, start_s: float, version: Version, timeout: float) -> float | None:
    # one thread: frame threads only hold frames for a one-frame decode (67 → 57 MB for 1080p, and quicker)
    proc = run(["-ss", f"{start_s:.6f}", "-threads", "1", "-i", pathlike(path), "-map", "0:V:0", "-frames:v", "1",
                "-vf", "showinfo", "-f", "null", "-"], timeout=timeout,
               what=f"read the first frame of {os.path.basename(path)}", check=False)
    match = _PTS_TIME.search(proc.stderr.decode("utf-8", "replace"))
    # after a seek ffmpeg stamps frames relative to the seek point
    return start_s + max(0.0, float(match.group(1))) if match else None


_OUT_TIME = re.compile(r"out_time_us=(\d+)")


def playable_seconds(info: MediaInfo, *, timeout: float = 60.0) -> float | None:
    """How much of the file can really be played: the last picture's (else sound's) timestamp
    plus one frame, read by demuxing only (``-c copy`` to nowhere — no decoding, so a 500 MB
    file costs a disk read). A file cut off while uploading keeps a header that promises the
    whole length; this says where its data stops. ``None`` when ffmpeg could not tell."""
    stream = "0:V:0" if info.video is not None else "0:a:0" if info.audio is not None else None
    if stream is None:
        return None
    proc = run(["-i", pathlike(info.path), "-map", stream, "-c", "copy", "-f", "null", "-progress", "pipe:1",
                "-nostats", "-"], timeout=timeout, what=f"measure {os.path.basename(info.path)}", check=False)
    times = _OUT_TIME.findall(proc.stdout.decode("ascii", "replace"))
    if not times:
        return None
    frame = 1 / info.video.fps if info.video is not None and info.video.fps else 0.0
    return int(times[-1]) / 1_000_000 + frame
