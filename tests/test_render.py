"""Real renders: the MP4 a user gets is 1080p H.264 + AAC, as long as the video, not silent."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from support import Api
from media.ffmpeg import ffmpeg_exe
from media.probe import loudness, probe

pytestmark = pytest.mark.slow  # renders video or runs whole commands: minutes (bin/test -m 'not slow' skips)


def download(api: Api, data: dict, dest: Path) -> Path:
    r = api.http.get(data["outputUrl"], headers=api.headers())
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    dest.write_bytes(r.content)
    return dest


def frame(path: Path, at: float, width: int = 160) -> np.ndarray:
    out = subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-ss", f"{at}", "-i", str(path), "-frames:v", "1",
                          "-vf", f"scale={width}:-2,format=gray", "-f", "rawvideo", "-"], capture_output=True,
                         check=True).stdout
    return np.frombuffer(out, dtype=np.uint8)


def video_md5(path: Path) -> str:
    out = subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(path), "-map", "0:v", "-c", "copy",
                          "-f", "md5", "-"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_the_main_job_renders_a_1080p_mp4_with_music(api: Api, clip_1080: Path, tmp_path: Path) -> None:
    api.upload(clip_1080)
    events = api.chat("generate background music that matches the mood and length of my video")
    calls = [p["functionCall"]["name"] for e in events for p in e["content"]["parts"] if "functionCall" in p]
    assert calls == ["add_background_music"]
    state = api.state()
    music = next(t for t in state["draft"]["t"] if t["tt"] == 1)
    assert music["sg"][0]["src"].startswith("music:") and music["m"]["volume"] == 0.35  # voice → music sits low
    data = api.render("render_main")
    assert data["status"] == "completed" and data["progress"] == 100
    out = download(api, data, tmp_path / "out.mp4")
    info = probe(out)
    assert info.video.codec == "h264" and (info.video.width, info.video.height) == (1920, 1080)
    assert info.video.pix_fmt == "yuv420p" and info.audio.codec == "aac"
    source = probe(clip_1080)
    assert abs(info.duration_s - source.duration_s) <= 1 / 30 + 1e-6
    level = loudness(out)
    assert not level.silent and -17.5 <= level.integrated_lufs <= -14.5 and level.true_peak_dbtp <= -0.5
    # fast path: the picture is the uploaded stream, copied bit for bit
    assert video_md5(out) == video_md5(clip_1080)


def test_music_is_louder_without_speech(api: Api, silent_clip: Path) -> None:
    api.upload(silent_clip)
    api.chat("add cinematic epic music")
    music = next(t for t in api.state()["draft"]["t"] if t["tt"] == 1)
    assert music["m"]["volume"] == 0.9


@pytest.mark.parametrize("aspect, size", [("16:9", (1920, 1080)), ("9:16", (1080, 1920)), ("1:1", (1080, 1080))])
def test_aspect_ratios_letterbox_never_stretch(api: Api, clip: Path, tmp_path: Path, aspect: str,
                                              size: tuple[int, int]) -> None:
    api.upload(clip)
    api.chat(f"make it {aspect}")
    data = api.render(f"render_{aspect.replace(':', 'x')}")
    out = download(api, data, tmp_path / "out.mp4")
    info = probe(out)
    assert (info.video.width, info.video.height) == size
    pixels = frame(out, 1.0, width=90).reshape(-1, 90)
    if aspect == "9:16":  # a 16:9 picture in a tall frame: black above and below
        assert pixels[:20].mean() < 20 and pixels[-20:].mean() < 20 and pixels[len(pixels) // 2].mean() > 40


def test_title_text_renders_literally(api: Api, tmp_path: Path) -> None:
    from media.fixtures import VideoSpec, make_video

    still = make_video(tmp_path / "still.mp4", VideoSpec(seconds=6, scene_seconds=[6], scene_sources=(
        "color=c=0x1d3557:s={w}x{h}:r={fps}",)))
    text = 'Say "hi": 100% \\ back\\slash %{pts} [x] \'q\' ; = ,\nline two'
    api.upload(still)
    api.chat(f'add a title "{text}" from 0:01 to 0:04')
    title = next(t for t in api.state()["draft"]["t"] if t["tt"] == 7)
    assert title["sg"][0]["m"]["text"] == text
    data = api.render("render_title")
    assert data["status"] == "completed", data
    out = download(api, data, tmp_path / "title.mp4")
    with_title_a, with_title_b = frame(out, 1.5), frame(out, 2.5)
    without = frame(out, 5.0)
    # the title is on screen, and it does not change over time (no %{pts} expansion)
    assert np.abs(with_title_a.astype(int) - without.astype(int)).mean() > 1
    assert np.abs(with_title_a.astype(int) - with_title_b.astype(int)).max() < 12


def test_trim_renders_the_kept_part(api: Api, clip: Path, tmp_path: Path) -> None:
    api.upload(clip)
    api.chat("trim the first 2 seconds")
    assert api.state()["draft"]["d"] == 4000
    data = api.render("render_trim")
    info = probe(download(api, data, tmp_path / "trim.mp4"))
    assert abs(info.duration_s - 4.0) <= 1 / 30 + 1e-6 and info.video.width == 1920


def test_text_only_request_renders_a_visualiser(api: Api, tmp_path: Path) -> None:
    events = api.chat("make a 6 second upbeat track for a product launch video")
    assert any(p.get("functionCall", {}).get("name") == "add_background_music"
               for e in events for p in e["content"]["parts"])
    data = api.render("render_text_only")
    out = download(api, data, tmp_path / "track.mp4")
    info = probe(out)
    assert (info.video.width, info.video.height) == (1920, 1080) and abs(info.duration_s - 6.0) < 0.05
    assert not loudness(out).silent


def test_render_failure_then_same_id_poll_and_download_endpoint(api: Api, clip: Path, tmp_path: Path) -> None:
    api.upload(clip)
    api.chat('add a title "x"')
    api.faults(render_failures=1)
    failed = api.render("render_fail")
    assert failed["status"] == "failed" and "injected" in failed["error"]
    ok = api.render("render_ok")
    r = api.get(f"/api/render/proxy/{ok['id']}/download")
    assert r.status_code == 200 and r.content[4:8] == b"ftyp"
    # the same id again is the same job, not a second render
    again = api.post("/api/render/proxy/lambda", json={"id": "render_ok", "sessionId": api.session_id,
                                                       "draft": api.state()["draft"]}).json()["data"]
    assert again["status"] == "completed"


def test_download_supports_range_requests(api: Api, clip: Path) -> None:
    api.upload(clip)
    api.chat('add a title "x"')
    data = api.render("render_range")
    whole = api.get(f"/api/render/proxy/{data['id']}/download").content
    part = api.get(f"/api/render/proxy/{data['id']}/download", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole[100:200]


@pytest.mark.parametrize("fmt", ["mp4", "wav"])
def test_a_cancelled_render_stays_cancelled(api: Api, clip: Path, fmt: str) -> None:
    api.upload(clip)
    api.chat('add a title "x"')
    api.faults(render_delay_s=1.0)
    draft = api.state()["draft"]
    api.post("/api/render/proxy/lambda", json={"id": "render_slow", "sessionId": api.session_id, "draft": draft,
                                               "output": {"format": fmt}})
    r = api.post("/api/render/proxy/lambda/render_slow/cancel")
    assert r.json()["data"]["status"] == "cancelled"
    api.faults(render_delay_s=0)
    assert api.render("render_after", draft)["status"] == "completed"  # the worker is past the cancelled job
    assert api.get("/api/render/proxy/lambda/render_slow").json()["data"]["status"] == "cancelled"
    assert api.get("/api/render/proxy/render_slow/download").status_code == 409  # nothing to download
