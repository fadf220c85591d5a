"""The main job on the files people really have: phone video (portrait, rotated, 60 fps, HDR),
browser recordings (WebM/Opus), bright screen recordings, files cut short.

Every input is generated here (``media.fixtures``); every check reads the rendered MP4 back
with ffmpeg itself — pixels, timestamps, tags — never our own bookkeeping.
"""
from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from support import Api
from media.ffmpeg import ffmpeg_exe
from media.fixtures import (VideoSpec, make_busy, make_hlg, make_rotated, make_solid, make_sync_clip, make_truncated,
                            make_video)
from media.probe import probe

pytestmark = pytest.mark.slow  # renders video or runs whole commands: minutes (bin/test -m 'not slow' skips)

TESTSRC = "testsrc2=s={w}x{h}:r={fps}"  # moves every frame, no symmetry


def download(api: Api, data: dict, dest: Path) -> Path:
    assert data["status"] == "completed", data
    r = api.http.get(data["outputUrl"], headers=api.headers())
    assert r.status_code == 200
    dest.write_bytes(r.content)
    return dest


def ffmpeg_log(*args: str) -> str:
    return subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", *args], capture_output=True, text=True,
                          check=True).stderr


# ----------------------------------------------------------------------------- A/V sync

def av_offset(path: Path) -> float:
    """Seconds from the white frame to the start of the beep, as a player sees them: both
    found in one ffmpeg pass over the file's own timestamps (sample- and frame-exact)."""
    log = ffmpeg_log("-i", str(path), "-filter_complex",
                     "[0:v]blackdetect=d=0.01:pix_th=0.1[v];[0:a]silencedetect=n=-20dB:d=0.1[a]",
                     "-map", "[v]", "-map", "[a]", "-f", "null", "-")
    flash = float(re.search(r"black_end:\s*([\d.]+)", log).group(1))
    beep = float(re.search(r"silence_end:\s*([\d.]+)", log).group(1))
    return beep - flash


@pytest.mark.parametrize("name, video_start, audio_start", [
    ("webm-video-late.webm", 0.020, 0.0),    # VP9/Opus, the picture starts 20 ms in (a browser recording)
    ("webm-audio-late.webm", 0.0, 0.030),    # VP9/Opus, the sound starts 30 ms in
    ("mp4-video-late.mp4", 0.020, 0.0),      # H.264/AAC
    ("mov-audio-late.mov", 0.0, 0.020),      # H.264/AAC in QuickTime
    ("mkv-video-late.mkv", 0.013, 0.0),      # H.264/Opus in Matroska
])
def test_the_original_sound_stays_in_sync_with_the_picture(api: Api, tmp_path: Path, name: str,
                                                          video_start: float, audio_start: float) -> None:
    source = make_sync_clip(tmp_path / name, video_start_s=video_start, audio_start_s=audio_start)
    before = av_offset(source)
    api.upload(source)
    out = download(api, api.render("render_sync"), tmp_path / "out.mp4")
    after = av_offset(out)
    assert abs(after - before) <= 0.001, f"A/V offset {before * 1000:.1f} ms in {name}, {after * 1000:.1f} ms out"


# ----------------------------------------------------------------------------- canvas and rate

def gray_frame(path: Path, at: float, width: int, height: int) -> np.ndarray:
    """One frame as ffmpeg shows it (rotation applied), scaled to ``width``×``height`` luma."""
    out = subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-ss", f"{at}", "-i", str(path), "-frames:v", "1",
                          "-vf", f"scale={width}:{height},format=gray", "-f", "rawvideo", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype=np.uint8).reshape(height, width).astype(int)


def shown_size(path: Path) -> tuple[int, int]:
    return probe(path).video.display_size


@pytest.mark.parametrize("kind", ["vertical", "rotated"])
def test_a_portrait_video_comes_out_portrait_and_upright(api: Api, tmp_path: Path, kind: str) -> None:
    if kind == "vertical":   # 1080×1920 pixels
        source = make_video(tmp_path / "vertical.mp4", VideoSpec(seconds=2, width=1080, height=1920,
                                                                  scene_seconds=[2], scene_sources=(TESTSRC,)))
    else:                    # 1920×1080 pixels + "turn 90° clockwise", as a phone writes it
        source = make_rotated(tmp_path / "phone.mov")
        assert probe(source).video.rotation and (probe(source).video.width, probe(source).video.height) == (1920, 1080)
    api.upload(source)
    state = api.state()
    assert (state["draft"]["m"]["width"], state["draft"]["m"]["height"]) == (1080, 1920)
    api.chat('add a title "Launch" at the top')    # forces the re-encode path
    out = download(api, api.render(f"render_{kind}"), tmp_path / "out.mp4")
    info = probe(out)
    assert (info.video.width, info.video.height) == (1080, 1920) and info.video.rotation == 0
    # upright and filling the frame: the bottom half matches the source as a player shows it
    # (the title is at the top); a sideways, double-turned or pillarboxed picture does not
    ours, theirs = gray_frame(out, 1.0, 54, 96)[48:], gray_frame(source, 1.0, 54, 96)[48:]
    assert np.abs(ours - theirs).mean() < 6
    assert np.abs(ours - gray_frame(source, 1.0, 54, 96)[::-1, ::-1][48:]).mean() > 6  # turned twice looks like this


@pytest.mark.parametrize("width, height, size", [(1080, 1080, (1080, 1080)), (1280, 720, (1920, 1080)),
                                                  (720, 1280, (1080, 1920)), (1080, 1350, (1080, 1350))])
def test_the_canvas_follows_the_picture(api: Api, tmp_path: Path, width: int, height: int,
                                        size: tuple[int, int]) -> None:
    source = make_video(tmp_path / "clip.mp4", VideoSpec(seconds=2, width=width, height=height, scene_seconds=[2]))
    api.upload(source)
    meta = api.state()["draft"]["m"]
    assert (meta["width"], meta["height"]) == size


def test_the_users_aspect_ratio_wins_over_the_picture(api: Api, tmp_path: Path) -> None:
    api.chat("make it 16:9")
    source = make_video(tmp_path / "vertical.mp4", VideoSpec(seconds=2, width=720, height=1280, scene_seconds=[2]))
    api.upload(source)
    out = download(api, api.render("render_chosen"), tmp_path / "out.mp4")
    assert shown_size(out) == (1920, 1080)
    pixels = gray_frame(out, 1.0, 160, 90)
    assert pixels[:, :30].mean() < 20 and pixels[:, 70:90].mean() > 40   # pillarboxed, not stretched


def test_60_fps_stays_60_fps(api: Api, tmp_path: Path) -> None:
    source = make_video(tmp_path / "uhd60.mp4", VideoSpec(seconds=2, width=3840, height=2160, fps=60,
                                                           scene_seconds=[2], scene_sources=(TESTSRC,)))
    api.upload(source)
    assert api.state()["draft"]["m"]["fps"] == 60
    out = download(api, api.render("render_60"), tmp_path / "out.mp4")
    info = probe(out)
    assert (info.video.width, info.video.height) == (1920, 1080) and info.video.fps == 60
    frames = subprocess.run([ffmpeg_exe(), "-i", str(out), "-map", "0:v", "-c", "copy", "-f", "null", "-"],
                            capture_output=True, text=True).stderr
    assert int(re.findall(r"frame=\s*(\d+)", frames)[-1]) == 120
    # 60 different pictures a second, not 30 doubled: testsrc2 moves every frame
    a, b = gray_frame(out, 1.0, 160, 90), gray_frame(out, 1.0 + 1 / 60, 160, 90)
    assert np.abs(a - b).mean() > 0.5


def test_4k_slow_motion_becomes_1080p60_showing_the_same_moments(api: Api, tmp_path: Path) -> None:
    """4K at 120 fps (frames dropped before the area downscale, issue 16 item 4): 60 distinct
    frames a second, each the source's picture at that moment."""
    source = make_video(tmp_path / "uhd120.mp4", VideoSpec(seconds=1, width=3840, height=2160, fps=120,
                                                            scene_seconds=[1], scene_sources=(TESTSRC,)))
    api.upload(source)
    out = download(api, api.render("render_120"), tmp_path / "out.mp4")
    info = probe(out)
    assert (info.video.width, info.video.height) == (1920, 1080) and info.video.fps == 60
    frames = subprocess.run([ffmpeg_exe(), "-i", str(out), "-map", "0:v", "-c", "copy", "-f", "null", "-"],
                            capture_output=True, text=True).stderr
    assert int(re.findall(r"frame=\s*(\d+)", frames)[-1]) == 60
    for at in (0.25, 0.5, 0.75):
        assert np.abs(gray_frame(out, at, 160, 90) - gray_frame(source, at, 160, 90)).mean() < 3, at
    assert np.abs(gray_frame(out, 0.5, 160, 90) - gray_frame(out, 0.5 + 1 / 60, 160, 90)).mean() > 0.5


def reply_text(events: list[dict]) -> str:
    return next(p["text"] for e in events if e.get("turnComplete") for p in e["content"]["parts"] if "text" in p)


def test_a_faster_source_is_rendered_at_60_fps_and_the_reply_says_so(api: Api, tmp_path: Path) -> None:
    source = make_video(tmp_path / "slowmo.mp4", VideoSpec(seconds=1, width=320, height=240, fps=120,
                                                            scene_seconds=[1], scene_sources=(TESTSRC,)))
    api.upload(source)
    assert api.state()["draft"]["m"]["fps"] == 60
    first = reply_text(api.chat('add a title "Launch" for 1 second'))
    assert "120 fps" in first and "60 fps" in first
    second = reply_text(api.chat('add a title "Two" for 1 second'))
    assert "Two" in second and "120 fps" not in second   # said once
    assert probe(download(api, api.render("render_120"), tmp_path / "out.mp4")).video.fps == 60


# ----------------------------------------------------------------------------- titles

def luminance(luma: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of 8-bit video-range luma."""
    v = np.clip((luma - 16.0) / 219.0, 0.0, 1.0)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


@pytest.mark.parametrize("color", ["white", "black", "0x9aa5b1"])  # a white dashboard, a black screen, mid grey
def test_a_title_is_readable_on_any_picture(api: Api, tmp_path: Path, color: str) -> None:
    from scipy.ndimage import binary_dilation, binary_erosion

    from engine.export.titles import glyph_mask

    api.upload(make_solid(tmp_path / "plain.mp4", color))
    api.chat('add a title "Launch Day" from 0:00 to 0:03')
    out = download(api, api.render("render_title"), tmp_path / "out.mp4")
    frame = luminance(gray_frame(out, 1.5, 1920, 1080))
    # where the letters are (layout only, no colours), their cores, and the pixels right around them
    letters = np.asarray(glyph_mask("Launch Day", 1920, 1080, "center")) > 127
    cores = binary_erosion(letters, iterations=1)
    around = binary_dilation(letters, iterations=5) & ~binary_dilation(letters, iterations=2)
    text, near = float(np.median(frame[cores])), float(np.median(frame[around]))
    ratio = (max(text, near) + 0.05) / (min(text, near) + 0.05)
    assert ratio >= 4.5, f"title contrast {ratio:.1f}:1 on {color}"


# ----------------------------------------------------------------------------- HDR

def test_an_hdr_phone_clip_becomes_tagged_sdr(api: Api, tmp_path: Path) -> None:
    source = make_hlg(tmp_path / "hlg.mp4")
    assert probe(source).video.color_transfer == "arib-std-b67"
    api.upload(source)
    out = download(api, api.render("render_hdr"), tmp_path / "out.mp4")
    video = probe(out).video
    assert video.pix_fmt == "yuv420p"
    # 8-bit SDR says so: no HLG/PQ transfer, no BT.2020 primaries left from the source
    assert video.color_transfer == "bt709" and video.color_primaries == "bt709"
    # tone-mapped, not crushed or blown out: the bars keep their spread of brightness
    picture = gray_frame(out, 1.0, 160, 90)
    assert 40 < picture.mean() < 200 and picture.std() > 20


# ----------------------------------------------------------------------------- damaged and cut-off files

@pytest.mark.parametrize("content", [
    b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64,   # an MP4 header and then noise
    b"not a video at all, " * 500,
])
def test_an_unreadable_upload_is_named_by_its_own_name(api: Api, engine_config, content: bytes,
                                                       tmp_path: Path) -> None:
    bad = tmp_path / "My Demo (final).mp4"
    bad.write_bytes(content)
    r = api.upload(bad)
    message = r.json()["message"]
    assert r.json()["code"] == 4001 and "My Demo (final).mp4" in message
    assert ".incoming" not in message and str(engine_config.data_dir) not in message and "/" not in message


def test_a_render_failure_names_the_users_file_not_ours(api: Api, engine_config, clip: Path) -> None:
    api.upload(clip)
    stored = api.state()["video_infos"][0]
    media = next(Path(engine_config.data_dir).rglob("media"))
    for path in media.iterdir():   # the disk copy went bad after the upload
        if path.is_file():
            path.write_bytes(b"\x00" * 4096)
    data = api.render("render_broken")
    assert data["status"] == "failed"
    assert stored["filename"] in data["error"] and str(engine_config.data_dir) not in data["error"], data["error"]
    assert not re.search(r"[0-9a-f]{20}\.mp4", data["error"])


def test_a_file_cut_off_after_a_tenth_of_a_second_is_refused(api: Api, tmp_path: Path) -> None:
    cut = make_truncated(tmp_path / "demo.mp4", seconds=45, keep_seconds=0.1)
    assert probe(cut).duration_s == pytest.approx(45, abs=0.1)   # the header still promises 45 s
    r = api.upload(cut)
    body = r.json()
    assert body["code"] == 4001 and "demo.mp4" in body["message"] and "incomplete" in body["message"]
    assert api.state()["video_infos"] == [] and not (api.state()["draft"] or {}).get("t")   # nothing to render


def test_a_file_missing_its_end_is_taken_at_the_length_that_plays(api: Api, tmp_path: Path) -> None:
    cut = make_truncated(tmp_path / "demo.mp4", seconds=10, keep_seconds=7)
    r = api.upload(cut)
    info = r.json()["data"]["files"][0]
    assert 6.0 <= info["duration"] <= 8.0 and "ends early" in info["warning"] and "demo.mp4" in info["warning"]
    assert 6000 <= api.state()["draft"]["d"] <= 8000
    out = download(api, api.render("render_cut"), tmp_path / "out.mp4")
    # the render is as long as the picture that exists, and the picture moves to its last frame
    assert abs(probe(out).duration_s - info["duration"]) < 0.1
    end = probe(out).duration_s
    assert np.abs(gray_frame(out, end - 0.5, 160, 90) - gray_frame(out, end - 0.1, 160, 90)).mean() > 0.5


# ----------------------------------------------------------------------------- file size

def ssim_against(out: Path, source: Path, width: int, height: int, from_s: float) -> float:
    """SSIM of the render against its source laid out the same way on the canvas, from ``from_s``
    on (after the title): what the encoder lost, not what the edit changed."""
    fit = (f"scale={width}:{height}:force_original_aspect_ratio=decrease,"
           f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p")
    log = ffmpeg_log("-i", str(out), "-i", str(source), "-filter_complex",
                     f"[0:v]trim=start={from_s},setpts=PTS-STARTPTS[a];"
                     f"[1:v]{fit},trim=start={from_s},setpts=PTS-STARTPTS[b];[a][b]ssim", "-f", "null", "-")
    return float(re.search(r"All:([\d.]+)", log).group(1))


@pytest.mark.parametrize("width, height, kbps", [(1920, 1080, 10_000), (640, 360, 1_900)])
def test_a_re_encode_is_no_bigger_than_its_source_and_looks_the_same(api: Api, tmp_path: Path, width: int,
                                                                     height: int, kbps: int) -> None:
    source = make_busy(tmp_path / "busy.mp4", seconds=4, width=width, height=height, kbps=kbps)
    api.upload(source)
    api.chat('add a title "Launch Day" from 0:00 to 0:01')
    out = download(api, api.render("render_size"), tmp_path / "out.mp4")
    assert out.stat().st_size <= 1.3 * source.stat().st_size, (out.stat().st_size, source.stat().st_size)
    ssim = ssim_against(out, source, 1920, 1080, from_s=1.5)
    print(f"size {out.stat().st_size / source.stat().st_size:.3f}x of the source, SSIM {ssim:.4f}")
    assert ssim >= 0.98


def test_an_analysis_failure_names_the_users_file_not_ours(api: Api, engine_config, clip: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.analysis.analyze as analysis
    from media.ffmpeg import FFmpegError

    def broken(path: Path) -> None:
        raise FFmpegError(f"analyze {Path(path).name}: decoder gave up at {path}")
    monkeypatch.setattr(analysis, "analyze", broken)
    api.upload(clip)
    deadline = time.monotonic() + 30
    while not api.state().get("video_analyses") and time.monotonic() < deadline:
        time.sleep(0.05)   # polling the state the analysis writes, with a deadline
    error = next(iter(api.state()["video_analyses"].values()))["error"]
    assert "clip.mp4" in error and str(engine_config.data_dir) not in error, error
    assert not re.search(r"[0-9a-f]{20}\.mp4", error), error
