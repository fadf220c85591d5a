"""The main job on the files people really have: phone video (portrait, rotated, 60 fps, HDR),
browser recordings (WebM/Opus), bright screen recordings, files cut short.

Every input is generated here (``media.fixtures``); every check reads the rendered MP4 back
with ffmpeg itself — pixels, timestamps, tags — never our own bookkeeping.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from conftest import Api
from media.ffmpeg import ffmpeg_exe
from media.fixtures import make_sync_clip
from media.probe import probe


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
