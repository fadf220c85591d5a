"""Draft → MP4 with the bundled ffmpeg: H.264 yuv420p + AAC, faststart, 1080p canvas.

Two paths. **Fast path**: when the picture is one untouched H.264 clip already at the
target size, the video stream is copied and only the new soundtrack is encoded — a
60 s render costs about as much as reading the file. **Full path**: segments are trimmed,
turned upright (ffmpeg applies a phone's rotation matrix once), tone-mapped to SDR when
they are HDR, scaled to fit and padded (letterbox, never stretched) onto the canvas
(1920×1080, 1080×1920, 1080×1080 or 1080×1350 — ``engine.export.canvas``), joined at the
source's frame rate (up to 60 fps), titles overlaid as PNGs styled for the picture under
them, and encoded with x264 at a quality-targeted rate capped by the source's own bitrate
(a re-encode is not bigger than the file it came from, ``video_bitrate_cap``). **Smart path**:
titles over a clip the fast path could copy re-encode only the GOPs under them and copy the
rest (``media.smart_render``); a file that cannot be cut safely takes the full path, logged.

The soundtrack (music + ducked original, mastered, AAC) comes from ``engine.export.soundtrack``,
which usually has it ready before the render starts; on the full path the picture is
encoded while it finishes, and the two are muxed. The output is written under a
temporary name in the attempt's own folder and renamed when ffmpeg succeeded, so a crash
never leaves a half MP4 under the final name. Progress comes from ffmpeg's ``-progress`` pipe.
"""
from __future__ import annotations

import logging
import os
import subprocess
import threading
from concurrent.futures import CancelledError, ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from engine.export.aac import AUDIO_BITRATE
from engine.export.backdrop import picture_under
from engine.export.canvas import TONE_MAP, fit_chain, is_hdr, output_rate
from engine.export.mix import Source
from engine.export.titles import render_title
from engine.memory import release_memory
from media import smart_render
from media import children
from media.ffmpeg import FFmpegError, ffmpeg_exe, last_line, pathlike
from media.probe import MediaInfo, probe
from media.smart_render import Overlay
from protocol.draft import TEXT, VIDEO, track

# ultrafast's speed (a 60 s 1080p re-encode in ~9 s on two cores; superfast takes ~1.9x the CPU)
# plus the three tools that buy the most quality per CPU second when the bitrate cap binds:
# CABAC, the deblocking filter (no blocks at low rates) and two fixed B-frames. On an upscaled
# busy 360p clip at its cap: SSIM 0.988 for +40 % CPU, where plain ultrafast gives 0.983 and
# superfast 0.988 for +95 %. CRF sets the quality; the cap keeps the file no bigger than its source.
ENCODE_PRESET = "ultrafast"
ENCODE_TOOLS = "cabac=1:deblock=1,0,0:bframes=2:b-adapt=0"
ENCODE_CRF = "20"
WEB_KBPS = 8000          # a 1080p30 H.264 web deliverable; ×1.5 above 30 fps, scaled by canvas pixels
FLOOR_KBPS = 600         # 1080p: below this a title or a cut turns to blocks, whatever the source was
SIZE_FACTOR = 1.25       # of the source's bitrate (the limit is 1.3: room for the VBV buffer)
# titles on a copyable clip: re-encode only the GOPs under them; AI_MUSIC_SMART_RENDER=0 encodes the whole
# picture instead (the bench's "before", and a way out should a player ever dislike a splice)
SMART_RENDER = os.environ.get("AI_MUSIC_SMART_RENDER", "1") != "0"
Progress = Callable[[float, str], None]
log = logging.getLogger(__name__)


class RenderError(RuntimeError):
    """The render failed; ``str()`` says why in one line."""


class Cancelled(RenderError):
    pass


@dataclass
class RenderJob:
    draft: Mapping[str, Any]
    sources: Mapping[str, Source]
    soundtrack: Callable[[], Path]     # the finished AAC soundtrack (see engine.export.soundtrack)
    out: Path
    work_dir: Path
    cancel: threading.Event = field(default_factory=threading.Event)
    process: subprocess.Popen[bytes] | None = None
    nice: int = 0                      # the encoder's CPU niceness (engine.export.render_queue.niceness)
    threads: int = 0                   # ffmpeg's threads (filters and encoder), 0: its own choice; a share of the
                                       # cores when renders run side by side (render_queue.encoder_threads, Ray tasks)


def canvas(draft: Mapping[str, Any]) -> tuple[int, int]:
    meta = draft.get("m") or {}
    width, height = int(meta.get("width") or 1920), int(meta.get("height") or 1080)
    return width - width % 2, height - height % 2


def _video_segments(draft: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    video = track(draft, VIDEO)
    return sorted(video.get("sg", []), key=lambda s: int(s["st"])) if video else []


def _titles(draft: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [seg for t in draft.get("t", []) if t.get("tt") == TEXT for seg in t.get("sg", [])
            if (seg.get("m") or {}).get("text")]


def fast_path_source(draft: Mapping[str, Any], sources: Mapping[str, Source],
                     probe_of: Callable[[str], MediaInfo], titles: bool = False) -> Source | None:
    """The clip whose video can be copied as is, or ``None`` when the picture must be encoded;
    with ``titles``, the clip whose untitled GOPs can be copied (``media.smart_render``)."""
    segments = _video_segments(draft)
    if len(segments) != 1 or (_titles(draft) and not titles) or (draft.get("m") or {}).get("visualizer"):
        return None
    seg = segments[0]
    src = sources.get(seg.get("src", ""))
    if src is None or src.kind != "video" or int(seg["st"]) != 0 or int(seg.get("ss", 0)) != 0:
        return None
    info = probe_of(src.path)
    video = info.video
    if (video is None or video.codec != "h264" or video.pix_fmt not in ("yuv420p", "yuvj420p") or video.rotation
            or is_hdr(video.color_transfer)):
        return None
    if video.display_size != canvas(draft):
        return None
    frame_ms = 1000 / video.fps if video.fps else 40
    if info.duration_s is None or abs(info.duration_s * 1000 - int(seg["d"])) > frame_ms:
        return None
    return src


def render(job: RenderJob, progress: Progress) -> Path:
    """Render ``job.draft`` to ``job.out``; raises :class:`RenderError`."""
    total_ms = int(job.draft.get("d") or 0)
    if total_ms <= 0:
        raise RenderError("the draft is empty: nothing to render")
    job.work_dir.mkdir(parents=True, exist_ok=True)
    progress(0.02, "preparing")
    probes: dict[str, MediaInfo] = {}

    def probe_of(path: str) -> MediaInfo:
        if path not in probes:
            probes[path] = probe(path)
        return probes[path]

    seconds = total_ms / 1000
    tail = ["-t", f"{seconds:.3f}", "-movflags", "+faststart", "-f", "mp4", "-y"]
    tmp = job.work_dir / f"output{job.out.suffix}"  # the attempt's own folder (engine.export.render_attempts)
    encode = lambda f: progress(0.05 + 0.93 * f, "encoding video")  # noqa: E731
    fast = fast_path_source(job.draft, job.sources, probe_of)
    try:
        if fast is not None:  # copy the picture, add the new soundtrack
            audio = _soundtrack(job)
            _run(job, ["-i", pathlike(fast.path), "-i", pathlike(audio), "-map", "0:v:0", "-map", "1:a:0",
                       "-c:v", "copy", "-c:a", "copy", *tail, pathlike(tmp)], seconds, encode)
        elif not _video_segments(job.draft):  # a visualiser is drawn from the soundtrack itself
            audio = _soundtrack(job)
            _run(job, [*_full_graph(job, audio, probe_of), "-c:a", "copy", *tail, pathlike(tmp)], seconds, encode)
        else:  # encode the picture while the soundtrack is finished (its titled GOPs only once it is), then mux both
            video = job.work_dir / "picture.mp4"
            with ThreadPoolExecutor(max_workers=1) as pool:
                pending = pool.submit(_soundtrack, job)
                pieces = _smart_picture(job, probe_of, pending.result)
                muxed = False
                if pieces is None:
                    overlays = _title_overlays(job, probe_of, _rate_arg(_output_rate(job, probe_of)))
                    # usually prepared after the edit: then picture and sound go out in one ffmpeg, not two
                    # (a second process start and a second write of the file were a tenth of a 3 s render)
                    muxed = pending.done()
                    graph = _full_graph(job, pending.result() if muxed else None, probe_of, overlays)
                    _run(job, [*graph, *(["-c:a", "copy"] if muxed else ["-an"]), *tail,
                               pathlike(tmp if muxed else video)], seconds, encode)
                audio = pending.result()
            if not muxed:
                picture = ["-f", "concat", "-safe", "0", "-i", pathlike(pieces)] if pieces else ["-i", pathlike(video)]
                _run(job, [*picture, "-i", pathlike(audio), "-map", "0:v:0", "-map", "1:a:0", "-c", "copy",
                           *tail, pathlike(tmp)], seconds, encode if pieces else lambda f: None)
        os.replace(tmp, job.out)
    finally:
        tmp.unlink(missing_ok=True)
    progress(1.0, "done")
    return job.out


def _soundtrack(job: RenderJob) -> Path:
    try:
        audio = job.soundtrack()
    except (FFmpegError, FileNotFoundError, ValueError) as exc:
        raise RenderError(f"could not build the soundtrack: {exc}") from exc
    except CancelledError:  # its shared preparation was dropped (engine stopping): say so, no traceback
        raise RenderError("could not build the soundtrack: its preparation was stopped; try again") from None
    if job.cancel.is_set():
        raise Cancelled("render cancelled")
    return audio


def video_bitrate_cap(width: int, height: int, rate: Fraction, source_kbps: list[float], seconds: float) -> int:
    """The most kbit/s the picture may take: what a web deliverable of this size and rate needs,
    and no more than the sources themselves spent — a re-encode must not come out bigger than
    its input: ×1.25 of the biggest source's total bitrate, minus the soundtrack we add, and
    minus the burst x264 may spend up front (90 % of a one-second VBV buffer), which counts
    on a clip of a few seconds."""
    pixels = width * height / (1920 * 1080)
    web = WEB_KBPS * pixels * (1.5 if rate > 31 else 1.0)
    if not source_kbps:
        return round(web)
    budget = (SIZE_FACTOR * max(source_kbps) - int(AUDIO_BITRATE.rstrip("k"))) / (1 + 0.9 / max(seconds, 1.0))
    return round(max(FLOOR_KBPS * pixels, min(web, budget)))


def _source_kbps(info: MediaInfo) -> float | None:
    """The whole file's bitrate (picture and sound) from its size and duration."""
    if not info.duration_s or info.duration_s <= 0:
        return None
    return os.path.getsize(info.path) * 8 / 1000 / info.duration_s


def _rate_arg(rate: Fraction) -> str:
    return str(rate.numerator) if rate.denominator == 1 else f"{rate.numerator}/{rate.denominator}"


def _clip_infos(job: RenderJob, probe_of: Callable[[str], MediaInfo]) -> list[MediaInfo]:
    """The probes of the video clips the picture is made of."""
    return [probe_of(job.sources[s["src"]].path) for s in _video_segments(job.draft)
            if s.get("src") in job.sources and job.sources[s["src"]].kind == "video"]


def _output_rate(job: RenderJob, probe_of: Callable[[str], MediaInfo]) -> Fraction:
    return output_rate([i.video.fps for i in _clip_infos(job, probe_of) if i.video is not None])


def _full_graph(job: RenderJob, wav: Path | None, probe_of: Callable[[str], MediaInfo],
                overlays: list[Overlay] | None = None) -> list[str]:
    """ffmpeg inputs, graph and video encoding; the soundtrack ``wav`` is mapped when given, and the
    titles are ``overlays`` when they were made already."""
    width, height = canvas(job.draft)
    total = int(job.draft["d"]) / 1000
    segments = _video_segments(job.draft)
    infos = _clip_infos(job, probe_of)
    rate = _output_rate(job, probe_of)
    fps = _rate_arg(rate)
    hdr = any(i.video is not None and is_hdr(i.video.color_transfer) for i in infos)
    inputs: list[str] = []
    chains: list[str] = []
    labels: list[str] = []
    index = 0
    audio_input: int | None = None
    if not segments:
        assert wav is not None, "a visualiser needs its soundtrack"
        inputs += ["-f", "lavfi", "-i", f"color=c=0x0f172a:s={width}x{height}:r={fps}:d={total:.3f}"]
        inputs += ["-i", pathlike(wav)]
        chains.append(f"[1:a]showwaves=s={width}x{height // 3}:mode=cline:colors=0x38bdf8:rate={fps},"
                      f"format=rgba[waves]")
        chains.append(f"[0:v][waves]overlay=0:{height // 3}:shortest=1,format=yuv420p[base]")
        index = 2
        audio_input = 1
    else:
        cursor = 0.0
        for seg in segments:
            src = job.sources.get(seg.get("src", ""))
            if src is None:
                raise RenderError(f"media {seg.get('src')} is missing from this session")
            start, duration = int(seg["st"]) / 1000, int(seg["d"]) / 1000
            if start > cursor + 0.001:  # a gap: black
                inputs += ["-f", "lavfi", "-i", f"color=c=black:s={width}x{height}:r={fps}:d={start - cursor:.3f}"]
                chains.append(f"[{index}:v]format=yuv420p[v{index}]")
                labels.append(f"[v{index}]")
                index += 1
            if src.kind == "image":
                inputs += ["-loop", "1", "-framerate", fps, "-t", f"{duration:.3f}", "-i", pathlike(src.path)]
            else:
                inputs += ["-ss", f"{int(seg.get('ss', 0)) / 1000:.3f}", "-t", f"{duration:.3f}",
                           "-i", pathlike(src.path)]
            one = len(segments) == 1
            chain = _fit(src, probe_of, width, height, rate, copyable=one)
            chains.append(f"[{index}:v]{chain}trim=duration={duration:.3f},"
                          f"setpts=PTS-STARTPTS[v{index}]")
            labels.append(f"[v{index}]")
            index += 1
            cursor = start + duration
        chains.append("".join(labels) + f"concat=n={len(labels)}:v=1:a=0[base]")
        if wav is not None:
            inputs += ["-i", pathlike(wav)]
            audio_input = index
            index += 1
    current = "base"
    for number, title in enumerate(_title_overlays(job, probe_of, fps) if overlays is None else overlays):
        start, length, fade = title.start, title.length, title.fade
        # the title stream exists only while the title shows; outside it the overlay passes frames through
        inputs += ["-loop", "1", "-framerate", fps, "-t", f"{length:.3f}", "-i", pathlike(title.png)]
        chains.append(f"[{index}:v]format=rgba,fade=t=in:st=0:d={fade:.3f}:alpha=1,"
                      f"fade=t=out:st={length - fade:.3f}:d={fade:.3f}:alpha=1,setpts=PTS+{start:.3f}/TB[t{number}]")
        # blended in YUV 4:2:0, the picture's own format: ``format=auto`` turned every 1080p frame (titled or
        # not) into RGBA and back — two thirds of a 3 s render's filter time, and a chroma blur besides
        chains.append(f"[{current}][t{number}]overlay={title.x}:{title.y}:eof_action=pass:format=yuv420[o{number}]")
        current = f"o{number}"
        index += 1
    chains.append(f"[{current}]format=yuv420p[vout]")
    audio_map = ["-map", f"{audio_input}:a:0"] if audio_input is not None else []
    kbps = video_bitrate_cap(width, height, rate, [k for k in map(_source_kbps, infos) if k], total)
    # an HDR source was tone-mapped: say BT.709 SDR, never the source's HLG/PQ tags on 8-bit video
    tags = ["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709"] if hdr else []
    return [*inputs, "-filter_complex", ";".join(chains), "-map", "[vout]", *audio_map,
            "-c:v", "libx264", "-preset", ENCODE_PRESET, "-x264-params", ENCODE_TOOLS, "-crf", ENCODE_CRF,
            "-maxrate", f"{kbps}k", "-bufsize", f"{kbps}k", "-pix_fmt", "yuv420p", *tags,
            "-r", fps, "-g", str(round(2 * rate))]


def _title_overlays(job: RenderJob, probe_of: Callable[[str], MediaInfo], fps: str,
                    keyframes: Sequence[float] = ()) -> list[Overlay]:
    """Each title as a PNG styled for the picture under it, placed and timed on the canvas;
    ``keyframes`` (timeline seconds) let the look at the picture decode keyframes alone (``backdrop``)."""
    width, height = canvas(job.draft)
    segments = _video_segments(job.draft)
    overlays = []
    for number, title in enumerate(_titles(job.draft)):
        meta = title.get("m") or {}
        start, length = int(title["st"]) / 1000, int(title["d"]) / 1000
        backdrop = (picture_under(segments, job.sources, probe_of, start, start + length, width, height, keyframes)
                    if segments else [np.full((height // 4, width // 4), 30, dtype=np.uint8)])  # the visualiser's navy
        png, x, y = render_title(job.work_dir / f"title{number}.png", str(meta["text"]), width, height,
                                 str(meta.get("position") or "center"), backdrop)
        overlays.append(Overlay(png, x, y, start, length, min(0.3, length / 4), fps))
    return overlays


def _smart_picture(job: RenderJob, probe_of: Callable[[str], MediaInfo], soundtrack: Callable[[], object]) -> Path | None:
    """The picture as an ffconcat list of copied GOPs and re-encoded titled ones (``media.smart_render``),
    or ``None`` when the whole picture must be encoded (the log says why).

    The titles are drawn and the source split (a stream copy) at once; only the titled GOPs' encode waits for
    the ``soundtrack``: the mix and its AAC encoder are the engine's memory peak, and a 1080p
    decode-overlay-encode beside them added ~150 MB to it (390 MB for a 60 s clip, bench/tree_peaks.py); the
    titled GOPs take under a second to encode. A file found uncuttable on the way is encoded whole at once,
    beside the soundtrack, as before."""
    if not SMART_RENDER or not _titles(job.draft):
        return None
    src = fast_path_source(job.draft, job.sources, probe_of, titles=True)
    if src is None:
        return None
    video = probe_of(src.path).video
    assert video is not None
    try:
        track = smart_render.cuttable(src.path)
        overlays = _title_overlays(job, probe_of, _rate_arg(output_rate([video.fps])), smart_render.keyframe_times(track))
        return smart_render.prepare(src.path, overlays, video.pix_fmt or "yuv420p", job.work_dir / "smart", track,
                                    threads=job.threads, before_encode=lambda: _then_trim(soundtrack))
    except smart_render.CannotCut as exc:
        log.info("smart render not possible: %s; encoding the whole picture", exc)
        return None


def _then_trim(wait: Callable[[], object]) -> None:
    """Wait for ``wait()``, then hand freed heap back to the system before x264 starts beside the engine."""
    wait()
    release_memory()


def _sdr(src: Source, probe_of: Callable[[str], MediaInfo]) -> str:
    """The tone map for an HDR clip (HLG from a phone, PQ), nothing for SDR."""
    video = probe_of(src.path).video if src.kind == "video" else None
    return TONE_MAP + "," if video is not None and is_hdr(video.color_transfer) else ""


def _fit(src: Source, probe_of: Callable[[str], MediaInfo], width: int, height: int, rate: Fraction,
         copyable: bool) -> str:
    """The tone map and scale/pad/fps chain for one source; nothing for the only clip when it is
    already on the canvas (``copyable``: saves a copy per frame)."""
    video = probe_of(src.path).video
    if video is None:
        return fit_chain(width, height, rate) + ","
    if src.kind != "video":  # a still, looped at the output rate
        return fit_chain(width, height, rate, video.display_size) + ","
    if (copyable and not video.rotation and (video.width, video.height) == (width, height)
            and abs(video.fps - float(rate)) < 0.01 and video.pix_fmt == "yuv420p"
            and not is_hdr(video.color_transfer)):
        return ""
    return _sdr(src, probe_of) + fit_chain(width, height, rate, video.display_size, video.fps) + ","


def _run(job: RenderJob, args: list[str], seconds: float, progress: Callable[[float], None]) -> None:
    # a render given N threads (its share of the cores, or a Ray task's CPUs) runs its filters and encoder on N
    threads = ["-threads", str(job.threads), "-filter_complex_threads", str(job.threads)] if job.threads else []
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-progress", "pipe:1", "-nostats",
           *args[:-1], *threads, args[-1]]  # output options go before the output path, the last argument
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **children.options(job.nice))
    job.process = proc
    errors: list[bytes] = []
    drain = threading.Thread(target=lambda: errors.append(proc.stderr.read() if proc.stderr else b""), daemon=True)
    drain.start()
    assert proc.stdout is not None
    for raw in proc.stdout:
        if job.cancel.is_set():
            proc.kill()
            break
        line = raw.decode("ascii", "replace").strip()
        if line.startswith("out_time_us=") or line.startswith("out_time_ms="):
            try:
                done = int(line.split("=", 1)[1]) / 1_000_000
            except ValueError:
                continue
            progress(max(0.0, min(1.0, done / seconds)) if seconds else 0.0)
    proc.wait()
    drain.join(timeout=5)
    if job.cancel.is_set():
        raise Cancelled("render cancelled")
    if proc.returncode != 0:
        raise RenderError(f"ffmpeg failed: {last_line(b''.join(errors).decode('utf-8', 'replace'))}")
