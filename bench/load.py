"""Load: N concurrent sessions doing upload → chat → export against one engine.

The engine runs as its own process (``ai-music serve``); each of N client threads loops
through the whole flow with the real client (its own client id, token and session) for
the given time. Prints completed flows, errors by kind, p50/p95 latency per endpoint,
and the engine's peak RSS (whole process tree, ffmpeg children included). Loopback only.

    .venv/bin/python bench/load.py [--sessions 20] [--seconds 120]
"""
from __future__ import annotations

import argparse
import collections
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _proc import tree_rss_kb  # noqa: E402

EXE = str(Path(sys.executable).parent / "ai-music")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120)
    args = parser.parse_args()

    from media.fixtures import VideoSpec, make_video
    from runtime.attribution import headers
    from runtime.skillfile import load_skill
    from skill import errors
    from skill.client import Client

    skill = load_skill(None)
    latencies: dict[str, list[float]] = collections.defaultdict(list)
    failures: collections.Counter[str] = collections.Counter()
    flows = [0]
    lock = threading.Lock()

    def timed(name: str, fn):  # noqa: ANN001, ANN202
        started = time.perf_counter()
        try:
            return fn()
        finally:
            with lock:
                latencies[name].append(time.perf_counter() - started)

    with tempfile.TemporaryDirectory() as tmp:
        clip = make_video(Path(tmp) / "clip.mp4", VideoSpec(seconds=6, width=640, height=360))
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        engine = subprocess.Popen([EXE, "serve", "--port", str(port), "--data", str(Path(tmp) / "engine")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        peak = [0]
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], tree_rss_kb(engine.pid))
                done.wait(0.1)

        threading.Thread(target=watch, daemon=True).start()
        deadline = time.monotonic() + args.seconds

        def user(number: int) -> None:
            client = Client(url, skill, headers(skill))
            client.token = timed("auth", lambda: client.anonymous_token(f"load-{number}").token)
            while time.monotonic() < deadline:
                try:
                    session = timed("session", lambda: client.create_session("load", "en"))
                    timed("upload", lambda: client.upload_files(session.session_id, [clip]))
                    stream = timed("chat (open)", lambda: client.open_chat(session.session_id, "add lo-fi music"))
                    started = time.perf_counter()
                    while not stream.closed:
                        stream.get(timeout=60)
                    with lock:
                        latencies["chat (whole turn)"].append(time.perf_counter() - started)
                    draft = timed("state", lambda: client.state(session.session_id))["draft"]
                    render_id = f"render_load_{number}_{time.monotonic_ns()}"
                    timed("render", lambda: client.submit_render(render_id, session.session_id, draft))
                    while True:
                        status = timed("poll", lambda: client.poll_render(render_id))
                        if status.status in ("completed", "failed"):
                            break
                        time.sleep(0.5)
                    if status.status != "completed":
                        raise errors.RenderFailed(status.error or "failed")
                    timed("download", lambda: client.download_render(status, Path(tmp) / f"out{number}.mp4"))
                    with lock:
                        flows[0] += 1
                except errors.NemoError as exc:
                    with lock:
                        failures[type(exc).__name__] += 1
            client.close()

        threads = [threading.Thread(target=user, args=(n,)) for n in range(args.sessions)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        done.set()
        engine.terminate()
        engine.wait(10)

    print(f"{args.sessions} concurrent sessions, {wall:.0f} s, one engine on {os.cpu_count()} cores")
    print(f"completed flows (upload → chat with music → export → download): {flows[0]}; "
          f"errors: {dict(failures) or 'none'}")
    print(f"{'endpoint':<20} {'calls':>6} {'p50':>9} {'p95':>9}")
    for name, values in sorted(latencies.items()):
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * (len(ordered) - 1)))]
        print(f"{name:<20} {len(values):>6} {statistics.median(values) * 1000:>7.0f}ms {p95 * 1000:>7.0f}ms")
    print(f"engine peak RSS (process tree): {peak[0] / 1024:.0f} MB")


if __name__ == "__main__":
    main()
