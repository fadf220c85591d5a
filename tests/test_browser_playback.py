"""A smart-rendered MP4 plays to the end in Chromium, not only in ffmpeg.

Spliced H.264 (copied GOPs beside re-encoded ones with their own parameter sets) is exactly
what strict browser pipelines trip on, so the check runs the real decoder: headless Chromium
(the Debian ``chromium`` package) loads a loopback page whose <video> reports ``ended`` or
``error`` back to the test's own loopback server. No network beyond 127.0.0.1.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from test_smart_render import FPS, decode_errors, make_clip, splice

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--mute-audio",
         "--autoplay-policy=no-user-gesture-required"]
PAGE = """<!doctype html><meta charset="utf-8"><video muted playsinline src="/video.mp4"></video><script>
const v = document.querySelector("video");
const report = (s) => fetch("/report", {method: "POST", body: s});
v.addEventListener("ended", () => report(`ended ${v.currentTime} ${v.duration} ${v.getVideoPlaybackQuality().totalVideoFrames}`));
v.addEventListener("error", () => report(`error ${v.error.code} ${v.error.message}`));
v.play().catch((e) => report(`error play ${e}`));
</script>"""


def _server(video: Path, reports: list[str]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body, kind = ((PAGE.encode(), "text/html") if self.path == "/" else
                          (video.read_bytes(), "video/mp4") if self.path == "/video.mp4" else (b"", ""))
            self.send_response(200 if kind else 404)
            self.send_header("Content-Type", kind or "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # noqa: N802
            reports.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def play_in_chromium(video: Path, profile: Path, timeout: float = 90.0) -> str:
    """What the page reported: ``ended <time> <duration> <frames>`` or ``error <code> <message>``."""
    reports: list[str] = []
    server = _server(video, reports)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while not reports and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        return reports[0] if reports else f"no report (chromium {'exited' if proc.poll() is not None else 'hung'})"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        server.shutdown()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium)")
def test_a_smart_rendered_title_plays_to_the_end_in_chromium(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "clip.mp4", 4, width=1280, height=720)
    out = splice(clip, [(0.0, 1.0), (3.5, 3.9)], tmp_path, (1280, 720))   # re-encoded, copied, re-encoded
    assert decode_errors(out) == ""
    report = play_in_chromium(out, tmp_path / "profile")
    assert report.startswith("ended "), report
    current, duration, frames = report.split()[1:]
    assert abs(float(current) - 4.0) < 0.1 and abs(float(duration) - 4.0) < 0.1
    assert int(frames) >= 4 * FPS * 0.9, report
