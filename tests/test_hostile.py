"""Hostile input to the engine: nothing escapes the data dir, nothing hangs, nothing corrupts."""
from __future__ import annotations

import struct
import time
import zlib
from pathlib import Path

import pytest

from support import Api


def upload_as(api: Api, name: str, data: bytes):  # noqa: ANN201
    return api.post(f"/api/upload-video/nemo_agent/me/{api.session_id}",
                    files=[("files", (name, data, "application/octet-stream"))])


@pytest.mark.parametrize("name", ["../../etc/evil.mp4", "/etc/evil.mp4", "..\\..\\evil.mp4", "ev\x00il.mp4",
                                  "a" * 1000 + ".mp4", "....//....//x.mp4"])
def test_upload_names_cannot_leave_the_media_folder(api: Api, engine_config, clip: Path, name: str) -> None:
    r = upload_as(api, name, clip.read_bytes())
    assert r.json()["code"] == 0, r.text
    stored = r.json()["data"]["files"][0]["filename"]
    assert "/" not in stored and "\\" not in stored and "\x00" not in stored and len(stored) <= 200
    data_dir = engine_config.data_dir.resolve()
    for path in data_dir.rglob("*"):
        assert data_dir in path.resolve().parents or path.resolve() == data_dir
    assert not Path("/etc/evil.mp4").exists()


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + \
        chunk(b"IEND", b"")


def test_a_file_name_too_long_for_a_header_is_refused_cleanly(api: Api, clip: Path) -> None:
    r = upload_as(api, "a" * 5000 + ".mp4", clip.read_bytes())
    assert r.status_code == 400 and "malformed multipart" in r.json()["message"]


def test_ten_hours_of_video_is_refused_as_too_long(api: Api, tmp_path: Path) -> None:
    from media.ffmpeg import run

    long = tmp_path / "tenhours.mp4"  # a real 10-hour file: 16x16 pixels, one frame a second
    run(["-f", "lavfi", "-i", "color=s=16x16:r=1:d=36000", "-c:v", "libx264", "-preset", "ultrafast", "-g", "3600",
         "-y", str(long)], timeout=120, what="generate")
    r = upload_as(api, "tenhours.mp4", long.read_bytes())
    assert r.json()["code"] == 4002 and "10.0 h long" in r.json()["message"]


@pytest.mark.parametrize("name, data, code", [
    ("huge.png", _png(60000, 60000), 4001),
    ("broken.mp4", b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64, 4001),
    ("random.mov", bytes((i * 7919) % 256 for i in range(200_000)), 4001),
    ("empty.mp4", b"", 4001),
])
def test_bomb_like_media_is_refused_quickly(api: Api, name: str, data: bytes, code: int) -> None:
    started = time.monotonic()
    r = upload_as(api, name, data)
    assert r.json()["code"] == code, r.text
    assert time.monotonic() - started < 15
    assert api.state()["video_infos"] == []


def test_filter_syntax_in_titles_is_just_text(api: Api, clip: Path) -> None:
    api.upload(clip)
    text = "x',drawtext=text='hacked':fontsize=999[out];[0:v]null,movie=/etc/passwd%{pts\\:hms}"
    api.chat(f'add a title "{text}" for 2 seconds')
    title = next(t for t in api.state()["draft"]["t"] if t["tt"] == 7)
    assert title["sg"][0]["m"]["text"] == text
    status = api.render("render_inject")
    assert status["status"] == "completed", status


def test_render_draft_pointing_at_foreign_files_is_refused(api: Api, clip: Path) -> None:
    api.upload(clip)
    draft = api.state()["draft"]
    draft["t"][0]["sg"][0]["src"] = "/etc/passwd"
    status = api.render("render_foreign", draft)
    assert status["status"] == "failed" and "missing from this session" in status["error"]


def test_disk_full_gives_a_clean_error_and_keeps_state(api: Api, clip: Path, engine_config) -> None:
    api.upload(clip)
    api.chat('add a title "Before"')
    deadline = time.monotonic() + 60
    while not api.state()["video_analyses"] and time.monotonic() < deadline:
        time.sleep(0.05)  # the clip's analysis lands in the session in the background
    before = api.state()
    session_file = engine_config.data_dir / "sessions" / api.session_id / "session.json"
    saved = session_file.read_bytes()
    api.faults(disk_full=True)
    r = api.upload(clip)
    assert r.status_code == 507 and "disk is full" in r.json()["message"]
    body = {"app_name": "nemo_agent", "user_id": "me", "session_id": api.session_id,
            "new_message": {"parts": [{"text": 'add a title "After"'}]}}
    r = api.post("/run_sse", json=body)
    assert r.status_code == 507 and "disk is full" in r.json()["message"]
    assert session_file.read_bytes() == saved  # nothing half-written
    media = engine_config.data_dir / "sessions" / api.session_id / "media"
    assert not [p for p in media.iterdir() if p.name.startswith(".incoming")]
    api.faults(disk_full=False)
    assert api.state() == before
    assert api.get("/api/credits/balance/simple").json()["data"]["available"] == 95  # the failed edit is refunded


def test_an_engine_without_grants_does_not_read_local_files(tmp_path: Path) -> None:
    import asyncio

    from engine.api.receive import UploadRefused, receive_urls

    secret = tmp_path / "secret.mp4"
    secret.write_bytes(b"private")
    with pytest.raises(UploadRefused, match="upload the file instead"):
        asyncio.run(receive_urls([secret.as_uri()], tmp_path / "media", 1 << 20, (), local_files=None))


def test_several_urls_share_one_size_limit_and_a_refusal_leaves_nothing(tmp_path: Path) -> None:
    import asyncio

    from engine.local_files import LocalFiles
    from engine.api.receive import UploadRefused, receive_urls

    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    a.write_bytes(b"x" * 600)
    b.write_bytes(b"y" * 600)
    media = tmp_path / "media"
    files = LocalFiles(tmp_path / "engine")
    urls = [files.grant(a), files.grant(b)]
    with pytest.raises(UploadRefused, match="too large"):
        asyncio.run(receive_urls(urls, media, 1000, (), local_files=files))
    assert not list(media.iterdir())  # the first file, accepted on its own, was removed too
    with pytest.raises(UploadRefused, match="upload the file instead"):
        asyncio.run(receive_urls([urls[0], (tmp_path / "gone.mp4").as_uri()], media, 1 << 20, (),
                                 local_files=files))
    assert not list(media.iterdir())


def test_a_url_fetch_that_trickles_is_stopped_at_its_deadline(tmp_path: Path, monkeypatch) -> None:
    import asyncio
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import engine.api.receive as uploads
    from engine.api.receive import UploadRefused, receive_urls

    class Trickle(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.end_headers()
            try:
                for _ in range(100):  # a byte every 0.1 s: never idle long enough for a read timeout
                    self.wfile.write(b"\0")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(uploads, "URL_DEADLINE_S", 1.0)
    media = tmp_path / "media"
    try:
        began = time.monotonic()
        with pytest.raises(UploadRefused, match="took longer than"):
            asyncio.run(receive_urls([f"http://127.0.0.1:{server.server_address[1]}/slow.mp4"], media, 1 << 20,
                                     ("127.0.0.1",), local_files=None))
        assert time.monotonic() - began < 8 and not list(media.iterdir())
    finally:
        server.shutdown()


def test_a_url_fetch_stops_when_its_client_goes_away(api: Api, engine_config) -> None:
    import json
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    asked, cut_off, stop = threading.Event(), threading.Event(), threading.Event()

    class Trickle(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.end_headers()
            asked.set()
            try:
                while not stop.wait(0.05):  # a byte at a time, for as long as someone reads
                    self.wfile.write(b"\0")
                    self.wfile.flush()
            except OSError:
                cut_off.set()  # the engine closed the connection: it stopped fetching

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    media = engine_config.data_dir / "sessions" / str(api.session_id) / "media"
    body = json.dumps({"urls": [f"http://127.0.0.1:{server.server_address[1]}/slow.mp4"], "source_type": "url"})
    host, port = api.url.removeprefix("http://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=10) as client:
            client.sendall((f"POST /api/upload-video/nemo_agent/me/{api.session_id} HTTP/1.1\r\n"
                            f"Host: {host}:{port}\r\nAuthorization: Bearer {api.token}\r\n"
                            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode())
            assert asked.wait(30), "the engine never fetched the URL"
            deadline = time.monotonic() + 30
            while not list(media.glob(".incoming-*")):  # bytes are landing in a partial file
                assert time.monotonic() < deadline
                time.sleep(0.01)
        # the client is gone (closed without reading an answer)
        assert cut_off.wait(5), "the engine kept downloading for a client that had left"
        deadline = time.monotonic() + 5
        while leftovers := list(media.iterdir()):
            assert time.monotonic() < deadline, f"left behind: {leftovers}"
            time.sleep(0.01)
        assert api.state()["video_infos"] == []
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def test_the_same_upload_under_another_extension_leaves_no_orphan(api, clip: Path, tmp_path: Path,
                                                                    engine_config) -> None:
    import shutil

    renamed = tmp_path / "clip.mov"
    shutil.copy(clip, renamed)
    assert api.upload(clip).json()["code"] == 0 and api.upload(renamed).json()["code"] == 0
    media = engine_config.data_dir / "sessions" / api.session_id / "media"
    assert len([p for p in media.iterdir() if not p.name.startswith(".")]) == 1
