"""Smart render: a title re-encodes only the GOPs under it; every other frame is the input's, bit for bit.

The fixtures are what phones and editors write (High profile, B-frames, one-second closed GOPs),
generated here with lavfi; an open-GOP file (x264 ``open-gop=1``) must take the full encode instead.
"""
from __future__ import annotations

import logging
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from support import Api
from media.avc_track import read_track
from media.ffmpeg import ffmpeg_exe, pathlike, run
from media.smart_render import CannotCut, Overlay, prepare, why_not

FPS = 30
GOP = 34     # frames: 1.1333 s, a length no whole number of milliseconds (MP4 durations round to them)


def make_clip(path: Path, seconds: float, *, width: int = 1920, height: int = 1080, x264: str = "",
              codec: str = "libx264") -> Path:
    """Busy picture, High profile with B-frames, a keyframe every ``GOP`` frames (open GOPs if ``x264`` asks)."""
    params = ":".join(p for p in ("scenecut=0", x264) if p)
    video = ["-c:v", codec] + (["-preset", "veryfast", "-bf", "3", "-g", str(GOP), "-x264-params", params]
                               if codec == "libx264" else [])
    run(["-f", "lavfi", "-i", f"testsrc2=s={width}x{height}:r={FPS}:d={seconds}", "-f", "lavfi",
         "-i", f"sine=f=220:d={seconds}", "-pix_fmt", "yuv420p", *video, "-c:a", "aac", "-shortest",
         "-y", pathlike(path)], timeout=300, what="generate a clip")
    return path


def frame_hashes(path: Path) -> list[tuple[float, str]]:
    """(pts in seconds, md5) of every decoded video frame, timed in the track's own time base
    (a frame a few ticks early is a different frame to a player syncing picture and sound)."""
    out = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v", "-fps_mode", "passthrough",
                          "-enc_time_base:v", "demux", "-f", "framemd5", "-"],
                         capture_output=True, text=True, check=True).stdout
    scale = next(int(line.split("/")[1]) for line in out.splitlines() if line.startswith("#tb 0:"))
    rows = [line.split(",") for line in out.splitlines() if line and not line.startswith("#")]
    return [(int(r[2]) / scale, r[5].strip()) for r in rows]


def decode_errors(path: Path) -> str:
    """What ffmpeg's decoder complains about (nothing for a clean stream)."""
    proc = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "null", "-"],
                          capture_output=True, text=True)
    return (proc.stderr + ("" if proc.returncode == 0 else f" (exit {proc.returncode})")).strip()


def gray_frames(path: Path, width: int = 192) -> np.ndarray:
    out = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v", "-vf",
                          f"scale={width}:-2,format=gray", "-f", "rawvideo", "-"],
                         capture_output=True, check=True).stdout
    frames = np.frombuffer(out, dtype=np.uint8)
    return frames.reshape(-1, width * 9 // 16, width)


def outside_titled_gops(seconds: list[float], spans: list[tuple[float, float]]) -> list[int]:
    """Indices of the frames whose GOP no span overlaps: those must come out bit for bit."""
    gop = GOP / FPS
    touched = {k for a, b in spans for k in range(int(a // gop), int(-(-b // gop)))}
    return [i for i, t in enumerate(seconds) if int(t // gop) not in touched]


def title_shows(rendered: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Per frame: whether a title covers part of the picture (not just re-encoding noise)."""
    changed = np.abs(rendered.astype(int) - source.astype(int)) > 48
    return changed.mean(axis=(1, 2)) > 0.003


def splice(clip: Path, spans: list[tuple[float, float]], work: Path, size: tuple[int, int]) -> Path:
    """``clip`` with a title over each span, through ``media.smart_render`` and the engine's final mux."""
    from engine.export.titles import render_title

    png, x, y = render_title(work / "title.png", "Smart render", *size)
    pieces = prepare(clip, [Overlay(png, x, y, a, b - a, 0.3, str(FPS)) for a, b in spans], "yuv420p", work / "w")
    out = work / "out.mp4"
    run(["-f", "concat", "-safe", "0", "-i", pathlike(pieces), "-i", pathlike(clip), "-map", "0:v:0",
         "-map", "1:a:0", "-c", "copy", "-movflags", "+faststart", "-y", pathlike(out)], timeout=60, what="mux")
    return out


def test_titles_at_the_start_and_the_end_splice_cleanly(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "clip.mp4", 4, width=640, height=360)
    spans = [(0.0, 1.0), (3.5, 3.9)]
    out = splice(clip, spans, tmp_path, (640, 360))   # re-encoded, copied, re-encoded
    assert decode_errors(out) == ""
    source, rendered = frame_hashes(clip), frame_hashes(out)
    assert [pts for pts, _ in rendered] == [pts for pts, _ in source]
    seconds = [pts for pts, _ in source]
    copied = outside_titled_gops(seconds, spans)
    assert copied and all(rendered[i] == source[i] for i in copied)
    shows = title_shows(gray_frames(out), gray_frames(clip))
    assert shows[[i for i, t in enumerate(seconds) if 0.3 <= t < 0.7]].all()
    assert not shows[[i for i, t in enumerate(seconds) if 1.0 <= t < 3.5]].any()


@pytest.fixture(scope="module")
def closed_gop_1080(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("smart") / "closed.mp4", 6)


def _render_title(api: Api, clip: Path, out: Path, title_from: int, title_to: int) -> Path:
    api.upload(clip)
    api.chat(f'add a title "Smart render" from 0:0{title_from} to 0:0{title_to}')
    title = next(t for t in api.state()["draft"]["t"] if t["tt"] == 7)["sg"][0]
    assert (title["st"], title["d"]) == (title_from * 1000, (title_to - title_from) * 1000)
    data = api.render("render_smart")
    assert data["status"] == "completed", data
    r = api.http.get(data["outputUrl"], headers=api.headers())
    out.write_bytes(r.content)
    return out


def test_a_title_reencodes_only_the_gops_under_it(api: Api, closed_gop_1080: Path, tmp_path: Path) -> None:
    out = _render_title(api, closed_gop_1080, tmp_path / "out.mp4", 2, 4)
    assert decode_errors(out) == ""
    # every parameter set the slices use is declared in the track's avcC, not only in band
    stripped = tmp_path / "no-inband.mp4"
    run(["-i", pathlike(out), "-map", "0:v", "-c", "copy", "-bsf:v", "filter_units=remove_types=7|8",
         "-y", pathlike(stripped)], timeout=60, what="strip in-band parameter sets")
    assert decode_errors(stripped) == ""
    source, rendered = frame_hashes(closed_gop_1080), frame_hashes(out)
    assert [pts for pts, _ in rendered] == [pts for pts, _ in source]      # same frames, same times
    seconds = [pts for pts, _ in source]
    untouched = outside_titled_gops(seconds, [(2, 4)])
    assert untouched and all(rendered[i] == source[i] for i in untouched)
    shows = title_shows(gray_frames(out), gray_frames(closed_gop_1080))
    inside = [i for i, t in enumerate(seconds) if 2 + 0.3 <= t < 4 - 0.3]  # past the fade in, before the fade out
    outside = [i for i, t in enumerate(seconds) if t < 2 or t >= 4]
    assert shows[inside].all() and not shows[outside].any()
    # the copied GOPs cost nothing extra: the file stays near the input's size
    assert out.stat().st_size <= 1.3 * closed_gop_1080.stat().st_size


def test_open_gops_take_the_full_encode_and_say_why(api: Api, tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    clip = make_clip(tmp_path / "open.mp4", 4, x264="open-gop=1")
    assert not all(read_track(clip).sync_is_idr)   # the fixture really has open GOPs
    with caplog.at_level(logging.INFO, logger="engine.export.graph"):
        out = _render_title(api, clip, tmp_path / "out.mp4", 1, 3)
    assert "smart render not possible: the file has open GOPs" in caplog.text
    assert decode_errors(out) == ""
    shows = title_shows(gray_frames(out), gray_frames(clip))
    seconds = [pts for pts, _ in frame_hashes(clip)]
    assert shows[[i for i, t in enumerate(seconds) if 1.3 <= t < 2.7]].all()
    assert not shows[[i for i, t in enumerate(seconds) if t < 1 or t >= 3]].any()


@pytest.mark.parametrize("kind, reason", [("interlaced", "the picture is interlaced"),
                                          ("mpeg4", "the picture is not H.264 (mp4v)"),
                                          ("open", "the file has open GOPs")])
def test_inputs_that_cannot_be_cut_are_refused_with_the_reason(tmp_path: Path, kind: str, reason: str) -> None:
    clip = tmp_path / f"{kind}.mp4"
    if kind == "interlaced":
        make_clip(clip, 2, width=320, height=180, x264="interlaced=1:tff=1")
    elif kind == "mpeg4":
        make_clip(clip, 2, width=320, height=180, codec="mpeg4")
    else:
        make_clip(clip, 3, width=320, height=180, x264="open-gop=1")
    assert why_not(read_track(clip)) is not None and reason in why_not(read_track(clip))
    title = Overlay(Path("unused.png"), 0, 0, 0.5, 1.0, 0.2, str(FPS))
    with pytest.raises(CannotCut, match=re.escape(reason)):
        prepare(clip, [title], "yuv420p", tmp_path / "work")
