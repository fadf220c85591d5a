"""Stalled clients (issue 13, medium 11): a request head or body that stops arriving is dropped
with its temp file, and ``.incoming-*`` files a crash left are removed at start-up."""
from __future__ import annotations

import logging
import os
import socket
import time

import pytest

from support import Api


@pytest.fixture
def impatient(engine_config):  # noqa: ANN201
    from engine.embedded import start

    engine_config.header_timeout_s = 1.0
    engine_config.body_idle_s = 1.0
    server = start(engine_config)
    yield server
    server.stop()


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _closed_within(sock: socket.socket, seconds: float) -> bytes:
    """What the server sent before closing; fails if it keeps the connection open longer."""
    sock.settimeout(seconds)
    got = b""
    try:
        while chunk := sock.recv(4096):
            got += chunk
    except socket.timeout:
        raise AssertionError(f"the connection was still open after {seconds} s") from None
    return got


def test_a_request_head_that_never_ends_is_dropped(impatient) -> None:
    with _connect(impatient.url) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        assert _closed_within(sock, 8) == b""


def test_a_stalled_upload_is_dropped_with_its_temp_file(impatient, engine_config) -> None:
    api = Api(impatient.url).login()
    media = engine_config.data_dir / "sessions" / str(api.session_id) / "media"
    head = (f"POST /api/upload-video/nemo_agent/me/{api.session_id} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {api.token}\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            "Content-Length: 10000000\r\n\r\n").encode()
    part = b'--b\r\nContent-Disposition: form-data; name="files"; filename="a.mp4"\r\n\r\n' + b"\0" * 50_000
    with _connect(impatient.url) as sock:
        sock.sendall(head + part)
        deadline = time.monotonic() + 10
        while not (media.is_dir() and any(p.name.startswith(".incoming-") for p in media.iterdir())):
            assert time.monotonic() < deadline, "the upload never started"
            time.sleep(0.02)
        answer = _closed_within(sock, 8)
    assert b" 408 " in answer.split(b"\r\n", 1)[0] and b"stalled" in answer
    assert not [p for p in media.iterdir() if p.name.startswith(".incoming-")]


def test_incoming_files_a_crash_left_are_removed_at_start_up(engine_config) -> None:
    from engine.embedded import start

    media = engine_config.data_dir / "sessions" / "s1" / "media"
    media.mkdir(parents=True)
    stale, fresh = media / ".incoming-0123456789abcdef", media / ".incoming-fedcba9876543210"
    stale.write_bytes(b"half an upload")
    fresh.write_bytes(b"another engine's upload in progress")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    with start(engine_config):
        assert not stale.exists() and fresh.exists()



def test_a_client_that_leaves_while_sending_a_request_leaves_no_traceback(impatient, caplog) -> None:
    """Ctrl-C while a request body is on its way (an interrupted batch): nobody is left to
    answer, and the engine's log gets no 'Exception in ASGI application' traceback."""
    api = Api(impatient.url).login()
    uvicorn_log = logging.getLogger("uvicorn.error")
    uvicorn_log.addHandler(caplog.handler)
    try:
        with _connect(impatient.url) as sock:
            sock.sendall((f"POST /api/tasks/me/with-session/nemo_agent HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          f"Authorization: Bearer {api.token}\r\nContent-Type: application/json\r\n"
                          "Content-Length: 1000\r\n\r\n{\"task_name\": ").encode())
        assert Api(impatient.url).login().session_id  # still serving, and it has handled the first
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and not caplog.records:
            time.sleep(0.05)
    finally:
        uvicorn_log.removeHandler(caplog.handler)
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_the_engine_s_connections_send_without_waiting_for_acks(impatient) -> None:
    """A socket made as ``socket(AF_INET, SOCK_STREAM)`` says proto 0, so asyncio left Nagle's algorithm on
    for its connections: a response's body waited for the client's (delayed) ACK of its head, and every
    request took 44 ms on loopback — a dozen per ``ai-music run``. Each accepted connection has TCP_NODELAY."""
    with _connect(impatient.url) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sock.settimeout(10)
        assert sock.recv(4096).startswith(b"HTTP/1.1 ")
        connections = list(impatient.server.server_state.connections)  # still open: kept alive
        assert connections
        for connection in connections:
            accepted = connection.transport.get_extra_info("socket")
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_a_port_another_engine_took_a_moment_ago_is_refused_at_once() -> None:
    """With SO_REUSEADDR, Linux let a second socket bind a port until the first listened: two engines started
    at the same moment both "got" it, and the second learnt otherwise only inside the server."""
    from engine.api.listener import listening_socket

    first = listening_socket("127.0.0.1", 0)
    try:
        with pytest.raises(OSError):
            listening_socket("127.0.0.1", first.getsockname()[1]).close()
    finally:
        first.close()
