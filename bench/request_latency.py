"""How long one request to the engine takes on loopback, beside a bare TCP round trip.

Every ``ai-music run`` makes a dozen requests to its embedded engine (session, upload, state, chat,
render, polls, download) and the web page and MCP hosts make many more to ``ai-music serve``. This
starts the embedded engine twice — on its own listening socket (``engine.api.listener``) and on one
made the way it was before (``socket(AF_INET, SOCK_STREAM)``: proto 0, so asyncio left Nagle's
algorithm on and each response's body waited for the client's delayed ACK) — and times N ``state`` and
``credits`` requests through the real client on each, idle engine, beside the floor: a 1-byte echo
over a loopback TCP connection.

    .venv/bin/python bench/request_latency.py [N]
"""
from __future__ import annotations

import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _proto_zero_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def engine_ms(n: int) -> list[float]:
    """Milliseconds per request (state, then credits, alternately) to a fresh embedded engine."""
    from runtime.backend import connect
    from runtime.document import load_skill

    with connect(load_skill(ROOT / "SKILL.md"), "local") as conn:
        session = conn.ensure_session()
        took = []
        for i in range(n):
            start = time.perf_counter()
            conn.client.state(session.session_id) if i % 2 == 0 else conn.client.credits()
            took.append(1000 * (time.perf_counter() - start))
        return took


def echo_ms(n: int) -> list[float]:
    """Milliseconds per 1-byte round trip on one loopback TCP connection (Nagle off, as the floor)."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            while data := conn.recv(1):
                conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    took = []
    with socket.create_connection(server.getsockname()) as client:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(n):
            start = time.perf_counter()
            client.sendall(b"x")
            client.recv(1)
            took.append(1000 * (time.perf_counter() - start))
    server.close()
    return took


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="ai-music-bench-")
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="ai-music-bench-")
    import engine.embedded as embedded

    now = engine_ms(n)
    made = embedded.listening_socket
    embedded.listening_socket = _proto_zero_socket
    try:
        before = engine_ms(n)
    finally:
        embedded.listening_socket = made
    floor = echo_ms(n)
    print(f"one request to the embedded engine, idle, {n} each (load {os.getloadavg()[0]:.2f}):")
    for name, took in (("engine's socket (TCP_NODELAY)", now), ("a proto-0 socket (as before)", before),
                       ("loopback TCP echo (floor)", floor)):
        print(f"  {name:32s} median {statistics.median(took):6.2f} ms   p90 {sorted(took)[int(0.9 * len(took))]:6.2f} ms")


if __name__ == "__main__":
    main()
