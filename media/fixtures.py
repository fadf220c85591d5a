"""Generate test media with ffmpeg's lavfi sources — never downloaded, always reproducible.

Used by the tests, the benchmarks and ``ai-music run --sample``. A "product demo" here
is a sequence of visually distinct scenes (so scene-cut detection has real cuts to find)
with an optional voice-like track: a harmonic buzz at speaking pitch, shaped into
syllables and phrases with pauses between them, which is what a speech detector and a
ducking compressor need to see.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Literal, Sequence

from media.ffmpeg import pathlike, run

AudioKind = Literal["voice", "tone", "silence", "none", "noise"]

#: Visually distinct lavfi sources cycled through for scenes (all built into ffmpeg).
_SCENE_SOURCES = (
    "testsrc2=s={w}x{h}:r={fps}",
    "smptehdbars=s={w}x{h}:r={fps}",
    "color=c=0x1d3557:s={w}x{h}:r={fps},drawbox=x=iw/4:y=ih/4:w=iw/2:h=ih/2:color=0xf1faee:t=fill",
    "rgbtestsrc=s={w}x{h}:r={fps}",
    "color=c=0xe63946:s={w}x{h}:r={fps},drawgrid=w=iw/8:h=ih/8:t=4:c=white",
    "testsrc=s={w}x{h}:r={fps}",
)

# Voice: a 125 Hz glottal buzz with energy around the first two formants, 4 syllables a
# second, spoken in 2.6 s phrases separated by 1.4 s pauses.
_VOICE = (
    "aevalsrc='(0.5*sin(2*PI*125*t)+0.35*sin(2*PI*250*t)+0.5*sin(2*PI*500*t)"
    "+0.4*sin(2*PI*750*t)+0.25*sin(2*PI*1250*t)+0.12*sin(2*PI*2500*t))"
    "*0.22*pow(0.5+0.5*sin(2*PI*4*t),2)*lt(mod(t,4),2.6)':s={rate}:d={seconds}"
)


@dataclass(frozen=True)
class VideoSpec:
    """What to generate: length, picture size, frame rate, audio kind, scene lengths."""

    seconds: float = 6.0
    width: int = 640
    height: int = 360
    fps: int = 30
    audio: AudioKind = "voice"
    scene_seconds: Sequence[float] | None = None  # default: cuts every ~4-7 s
    codec: str = "libx264"
    scene_sources: Sequence[str] = _SCENE_SOURCES  # lavfi sources, cycled ({w} {h} {fps} filled in)

    def scenes(self) -> list[float]:
        if self.scene_seconds:
            return list(self.scene_seconds)
        pattern = (5.0, 7.0, 4.0, 6.0)
        out: list[float] = []
        while sum(out) < self.seconds - 1e-6:
            out.append(pattern[len(out) % len(pattern)])
        out[-1] -= sum(out) - self.seconds
        if out[-1] < 0.5 and len(out) > 1:  # fold a sliver into the scene before it
            tail = out.pop()
            out[-1] += tail
        return out

    def cut_times(self) -> list[float]:
        """Where the generated scene cuts are, in seconds."""
        times, t = [], 0.0
        for length in self.scenes()[:-1]:
            t += length
            times.append(round(t, 6))
        return times


def audio_source(kind: AudioKind, seconds: float, rate: int = 48000) -> str | None:
    """The lavfi audio source for ``kind``; ``None`` for no audio stream at all."""
    if kind == "none":
        return None
    if kind == "voice":
        return _VOICE.format(rate=rate, seconds=seconds)
    if kind == "tone":
        return f"sine=f=440:sample_rate={rate}:d={seconds},volume=0.25"
    if kind == "noise":
        return f"anoisesrc=c=pink:a=0.1:r={rate}:d={seconds}"
    return f"anullsrc=r={rate}:cl=mono:d={seconds}"


@contextlib.contextmanager
def _atomic(out: Path) -> Iterator[Path]:
    """A temp name beside ``out`` (same suffix, so ffmpeg picks the format), renamed on success:
    an interrupted run never leaves a half file under the name the next run trusts."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.part{out.suffix}")
    try:
        yield tmp
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def make_video(path: str | os.PathLike[str], spec: VideoSpec = VideoSpec()) -> Path:
    """Write an H.264/AAC MP4 as ``spec`` says and return its path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    args: list[str] = []
    scenes = spec.scenes()
    for i, length in enumerate(scenes):
        src = spec.scene_sources[i % len(spec.scene_sources)].format(w=spec.width, h=spec.height, fps=spec.fps)
        args += ["-f", "lavfi", "-t", f"{length:.6f}", "-i", src]
    audio = audio_source(spec.audio, spec.seconds)
    if audio:
        args += ["-f", "lavfi", "-i", audio]
    chain = "".join(f"[{i}:v]setsar=1[v{i}];" for i in range(len(scenes)))
    chain += "".join(f"[v{i}]" for i in range(len(scenes)))
    chain += f"concat=n={len(scenes)}:v=1:a=0,format=yuv420p[v]"
    args += ["-filter_complex", chain, "-map", "[v]"]
    if audio:
        args += ["-map", f"{len(scenes)}:a", "-c:a", "aac", "-b:a", "128k"]
    args += ["-c:v", spec.codec]
    if spec.codec == "libx264":
        args += ["-preset", "ultrafast", "-crf", "23", "-g", str(spec.fps * 2)]
    with _atomic(out) as tmp:
        args += ["-t", f"{spec.seconds:.6f}", "-movflags", "+faststart", "-y", pathlike(tmp)]
        run(args, timeout=300, what=f"generate {out.name}")
    return out


def make_audio(path: str | os.PathLike[str], seconds: float = 5.0, kind: AudioKind = "voice") -> Path:
    """Write an audio-only file (format from the suffix: .wav, .mp3, .m4a, .aac)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    src = audio_source(kind if kind != "none" else "silence", seconds)
    with _atomic(out) as tmp:
        run(["-f", "lavfi", "-i", src, "-t", f"{seconds:.6f}", "-y", pathlike(tmp)],
            timeout=120, what=f"generate {out.name}")
    return out


def make_image(path: str | os.PathLike[str], width: int = 1280, height: int = 720) -> Path:
    """Write a single still (format from the suffix: .png, .jpg, .webp)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with _atomic(out) as tmp:
        run(["-f", "lavfi", "-i", f"testsrc2=s={width}x{height}:d=1", "-frames:v", "1", "-y", pathlike(tmp)],
            timeout=60, what=f"generate {out.name}")
    return out


# ----------------------------------------------------------------------------- real-world inputs
# What phones, browsers and screen recorders actually hand us: rotated and vertical video,
# high frame rates, WebM/Opus with streams that do not start together, files cut short,
# HDR. Each generator documents what makes its file hard.

#: Video and audio codecs by container, as the devices that write them use them.
_CODECS = {
    ".mp4": (["-c:v", "libx264", "-preset", "ultrafast"], ["-c:a", "aac", "-b:a", "128k"]),
    ".mov": (["-c:v", "libx264", "-preset", "ultrafast"], ["-c:a", "aac", "-b:a", "128k"]),
    ".mkv": (["-c:v", "libx264", "-preset", "ultrafast"], ["-c:a", "libopus", "-b:a", "96k"]),
    ".webm": (["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k"],
              ["-c:a", "libopus", "-b:a", "96k"]),
}


def make_rotated(path: str | os.PathLike[str], seconds: float = 2.0, width: int = 1080, height: int = 1920,
                 fps: int = 30) -> Path:
    """A phone's portrait clip: an upright ``width``×``height`` picture stored on its side
    (``height``×``width`` pixels) with a display matrix that says "turn 90° clockwise to
    show" — what a phone held upright writes. The picture is testsrc2 (no symmetry, so a
    wrong turn or a double turn shows) with audio, in the container the suffix names."""
    out = Path(path)
    video, audio = _CODECS.get(out.suffix.lower(), _CODECS[".mov"])
    with _atomic(out.with_suffix(".stored.mp4")) as stored:
        run(["-f", "lavfi", "-i", f"testsrc2=s={width}x{height}:r={fps}:d={seconds}",
             "-f", "lavfi", "-i", audio_source("tone", seconds) or "",
             "-vf", "transpose=cclock,format=yuv420p", *video, *audio, "-y", pathlike(stored)],
            timeout=120, what=f"generate {out.name}")
    try:
        with _atomic(out) as tmp:
            # -display_rotation is counter-clockwise: -90 = "turn clockwise to show"
            run(["-display_rotation:v:0", "-90", "-i", pathlike(out.with_suffix(".stored.mp4")), "-c", "copy",
                 "-y", pathlike(tmp)], timeout=60, what=f"rotate {out.name}")
    finally:
        out.with_suffix(".stored.mp4").unlink(missing_ok=True)
    return out


def make_sync_clip(path: str | os.PathLike[str], seconds: float = 3.0, flash_s: float = 1.0,
                   video_start_s: float = 0.0, audio_start_s: float = 0.0, fps: int = 30,
                   width: int = 320, height: int = 240) -> Path:
    """A black clip with one white frame and a 20 ms 1 kHz beep at ``flash_s`` (file time):
    where the two land in a file tells its A/V offset. The video and audio streams may
    start at different times (``video_start_s``/``audio_start_s``) as browser and phone
    recordings do; the codecs follow the suffix (``.webm`` VP9/Opus with its pre-skip,
    ``.mkv`` H.264/Opus, ``.mov``/``.mp4`` H.264/AAC with its priming)."""
    out = Path(path)
    video, audio = _CODECS[out.suffix.lower()]
    flash_at = flash_s - video_start_s   # in each stream's own clock
    beep_at = flash_s - audio_start_s
    frame = round(flash_at * fps)
    # the start offsets are applied in a fine time base (an -itsoffset would round to a frame)
    picture = (f"color=c=black:s={width}x{height}:r={fps}:d={seconds - video_start_s:.6f},"
               f"drawbox=c=white:t=fill:enable='between(n,{frame},{frame})',"
               f"settb=1/90000,setpts=PTS+{video_start_s:.6f}/TB,format=yuv420p")
    beep = (f"aevalsrc='0.8*sin(2*PI*1000*(t-{beep_at}))*between(t,{beep_at},{beep_at + 0.02})'"
            f":s=48000:d={seconds - audio_start_s:.6f},asetpts=PTS+{round(audio_start_s * 48000)}")
    with _atomic(out) as tmp:
        # one graph, not two lavfi inputs: ffmpeg moves each input to start at 0, which would undo the offsets
        run(["-filter_complex", f"{picture}[v];{beep}[a]", "-map", "[v]", "-map", "[a]", "-fps_mode", "passthrough",
             "-enc_time_base:v", "1/90000", *video, *audio, "-y", pathlike(tmp)],
            timeout=120, what=f"generate {out.name}")
    return out


def make_truncated(path: str | os.PathLike[str], seconds: float = 45.0, keep_seconds: float = 0.1,
                   width: int = 320, height: int = 240) -> Path:
    """An MP4 whose header (moov, in front) describes ``seconds`` of video but whose data
    stops after about ``keep_seconds`` — an upload or a copy that was cut off."""
    out = Path(path)
    whole = out.with_name(f".{out.stem}.whole.mp4")
    make_video(whole, VideoSpec(seconds=seconds, width=width, height=height, audio="tone",
                                scene_seconds=[seconds], scene_sources=("testsrc2=s={w}x{h}:r={fps}",)))
    try:
        data = whole.read_bytes()
        mdat = _box_offset(data, b"mdat")
        keep = mdat + 8 + int((len(data) - mdat) * keep_seconds / seconds)
        with _atomic(out) as tmp:
            tmp.write_bytes(data[:keep])
    finally:
        whole.unlink(missing_ok=True)
    return out


def _box_offset(data: bytes, kind: bytes) -> int:
    """Where the top-level MP4 box ``kind`` starts."""
    offset = 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset:offset + 4], "big")
        if data[offset + 4:offset + 8] == kind:
            return offset
        if size == 1:
            size = int.from_bytes(data[offset + 8:offset + 16], "big")
        if size < 8:
            break
        offset += size
    raise ValueError(f"no {kind.decode()} box")


def make_hlg(path: str | os.PathLike[str], seconds: float = 2.0, width: int = 640, height: int = 360) -> Path:
    """A phone's HDR clip: 10-bit HEVC tagged BT.2020 / HLG (arib-std-b67), as phones record
    by default. The picture is a grey ramp with colour bars, so a tone map that crushes or
    clips shows."""
    out = Path(path)
    with _atomic(out) as tmp:
        run(["-f", "lavfi", "-i", f"smptehdbars=s={width}x{height}:r=30:d={seconds}",
             "-f", "lavfi", "-i", audio_source("tone", seconds) or "",
             "-vf", "setparams=color_primaries=bt2020:color_trc=arib-std-b67:colorspace=bt2020nc,format=yuv420p10le",
             "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error",
             "-tag:v", "hvc1", "-color_primaries", "bt2020", "-color_trc", "arib-std-b67", "-colorspace", "bt2020nc",
             "-c:a", "aac", "-y", pathlike(tmp)], timeout=120, what=f"generate {out.name}")
    return out


def make_solid(path: str | os.PathLike[str], color: str, seconds: float = 3.0, width: int = 640,
               height: int = 360) -> Path:
    """A clip of one flat colour (a white dashboard, a black screen) with a tone."""
    flat = f"color=c={color}:s={{w}}x{{h}}:r={{fps}}"
    return make_video(path, VideoSpec(seconds=seconds, width=width, height=height, audio="tone",
                                      scene_seconds=[seconds], scene_sources=(flat,)))


def make_busy(path: str | os.PathLike[str], seconds: float = 3.0, width: int = 1920, height: int = 1080,
              fps: int = 30, kbps: int = 10_000) -> Path:
    """Camera-like footage, the hard case for a re-encode: motion everywhere and fresh grain in
    every frame, encoded the way a phone does (a fixed bitrate, ``kbps``; 80 MB a minute
    is ~10.7 Mbit/s at 1080p) with voice-like sound."""
    out = Path(path)
    with _atomic(out) as tmp:
        run(["-f", "lavfi", "-i", f"testsrc2=s={width}x{height}:r={fps}:d={seconds},noise=alls=5:allf=t+u",
             "-f", "lavfi", "-i", audio_source("voice", seconds) or "", "-pix_fmt", "yuv420p",
             "-c:v", "libx264", "-preset", "veryfast", "-b:v", f"{kbps}k", "-maxrate", f"{kbps * 6 // 5}k",
             "-bufsize", f"{kbps * 2}k", "-g", str(fps * 2), "-c:a", "aac", "-b:a", "128k", "-shortest",
             "-movflags", "+faststart", "-y", pathlike(tmp)], timeout=600, what=f"generate {out.name}")
    return out


def make_talking_head(path: str | os.PathLike[str], seconds: float = 60.0, width: int = 1920, height: int = 1080,
                      fps: int = 30, kbps: int = 4_000) -> Path:
    """A talking-head-like clip: one shot, a still backdrop and a figure that barely moves, a voice
    throughout, encoded at a webcam's fixed bitrate — the other common input beside busy scenes
    (no cuts to find, speech to duck under)."""
    out = Path(path)
    sway = "8*sin(2*PI*t/3)"
    picture = (f"color=c=0x6b7b8c:s={width}x{height}:r={fps}:d={seconds},"
               "drawbox=x=0:y=ih*2/3:w=iw:h=ih/3:color=0x3a3f44:t=fill,"
               f"drawbox=x=iw/2-iw/12+{sway}:y=ih/4+6*sin(2*PI*t/2.2):w=iw/6:h=ih*0.39:color=0xd9a78a:t=fill,"
               f"drawbox=x=iw/2-iw*0.135+{sway}:y=ih*0.62:w=iw*0.27:h=ih*0.38:color=0x1d3557:t=fill")
    with _atomic(out) as tmp:
        run(["-f", "lavfi", "-i", picture, "-f", "lavfi", "-i", audio_source("voice", seconds) or "",
             "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "veryfast", "-b:v", f"{kbps}k",
             "-g", str(fps * 2), "-c:a", "aac", "-b:a", "128k", "-shortest", "-movflags", "+faststart", "-y",
             pathlike(tmp)], timeout=600, what=f"generate {out.name}")
    return out
