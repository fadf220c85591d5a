"""Load: N concurrent sessions doing upload → chat → export against one engine.

The engine runs as its own process (``ai-music serve``); each of N client threads loops
through the whole flow with the real client (its own client id, token and session) for
the given time. Prints completed flows, errors by kind, p50/p95 latency per endpoint,
and the engine's peak RSS (whole process tree, ffmpeg children included). Loopback only.
Every wait has a deadline: a stuck stream or render is counted as an error, not a hang.

    .venv/bin/python bench/load.py [--sessions 20] [--seconds 120]
    .venv/bin/python bench/load.py --fairness [--long-seconds 60]   # one long render + 5 short ones
"""
from __future__ import annotations

import argparse
import collections
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _proc import PeakRss, served_engine  # noqa: E402

TURN_LIMIT_S = 120.0     # one chat turn or one render longer than this counts as stuck


class Load:
    """The shared tallies of all simulated users."""

    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = collections.defaultdict(list)
        self.failures: collections.Counter[str] = collections.Counter()
        self.flows = 0
        self.lock = threading.Lock()

    def timed(self, name: str, fn: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            return fn()
        finally:
            self.record(name, time.perf_counter() - started)

    def record(self, name: str, seconds: float) -> None:
        with self.lock:
            self.latencies[name].append(seconds)

    def fail(self, kind: str) -> None:
        with self.lock:
            self.failures[kind] += 1


def flow(client: Any, load: Load, clip: Path, out: Path, number: int) -> None:
    """upload → chat with music → export → download, once."""
    from skill import errors

    session = load.timed("session", lambda: client.create_session("load", "en"))
    load.timed("upload", lambda: client.upload_files(session.session_id, [clip]))
    stream = load.timed("chat (open)", lambda: client.open_chat(session.session_id, "add lo-fi music"))
    started = time.perf_counter()
    try:
        while not stream.closed:
            if time.perf_counter() - started > TURN_LIMIT_S:
                raise errors.StreamTimeout("chat turn did not end")
            stream.get(timeout=5)
    finally:
        stream.close()
    load.record("chat (whole turn)", time.perf_counter() - started)
    draft = load.timed("state", lambda: client.state(session.session_id))["draft"]
    render_id = f"render_load_{number}_{time.monotonic_ns()}"
    load.timed("render", lambda: client.submit_render(render_id, session.session_id, draft))
    deadline = time.monotonic() + TURN_LIMIT_S
    while True:
        status = load.timed("poll", lambda: client.poll_render(render_id))
        if status.status in ("completed", "failed", "cancelled"):
            break
        if time.monotonic() > deadline:
            raise errors.RenderFailed("render did not finish in time")
        time.sleep(0.5)
    if status.status != "completed":
        raise errors.RenderFailed(status.error or status.status)
    load.timed("download", lambda: client.download_render(status, out / f"out{number}.mp4"))
    with load.lock:
        load.flows += 1


def _prepared(client: Any, clip: Path, title: str) -> tuple[str, dict[str, Any]]:
    """A session with ``clip`` and a title over it (the picture must be encoded): (session id, draft)."""
    session = client.create_session("fairness", "en")
    client.upload_files(session.session_id, [clip])
    stream = client.open_chat(session.session_id, f'add a title "{title}"')
    try:
        started = time.monotonic()
        while not stream.closed and time.monotonic() - started < TURN_LIMIT_S:
            stream.get(timeout=5)
    finally:
        stream.close()
    return session.session_id, client.state(session.session_id)["draft"]


def _render_s(client: Any, render_id: str, session_id: str, draft: dict[str, Any]) -> float:
    """Submit a render and poll it to the end; its wall time from submit to completed."""
    started = time.monotonic()
    client.submit_render(render_id, session_id, draft)
    while (status := client.poll_render(render_id)).status not in ("completed", "failed", "cancelled"):
        if time.monotonic() - started > 20 * TURN_LIMIT_S:
            raise SystemExit(f"{render_id} did not finish")
        time.sleep(0.1)
    if status.status != "completed":
        raise SystemExit(f"{render_id} {status.status}: {status.error}")
    return time.monotonic() - started


def fairness(long_s: float, shorts: int) -> None:
    """One long render, then ``shorts`` short ones from other users: how long each short one takes.

    The issue's bar: a short render finishes within its own duration × 3 while the long one runs
    (with one FIFO worker it waited for the whole long render)."""
    from media.fixtures import VideoSpec, make_video
    from runtime.attribution import headers
    from runtime.document import load_skill
    from skill import errors
    from skill.client import Client

    skill = load_skill(None)
    load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        long_clip = make_video(Path(tmp) / "long.mp4", VideoSpec(seconds=long_s, width=640, height=360))
        short_clip = make_video(Path(tmp) / "short.mp4", VideoSpec(seconds=3, width=640, height=360))
        with served_engine(Path(tmp) / "engine") as engine:
            clients = [Client(engine.url, skill, headers(skill)) for _ in range(shorts + 2)]
            for number, client in enumerate(clients):
                client.token = client.anonymous_token(f"fair-{number}").token
            solo_session, solo_draft = _prepared(clients[-1], short_clip, "Solo")
            solo = _render_s(clients[-1], "render_solo", solo_session, solo_draft)
            long_session, long_draft = _prepared(clients[0], long_clip, "Long")
            short_jobs = [_prepared(c, short_clip, "Short") for c in clients[1:shorts + 1]]
            timings: dict[str, float] = {}
            long_thread = threading.Thread(target=lambda: timings.__setitem__(
                "long", _render_s(clients[0], "render_long", long_session, long_draft)))
            long_thread.start()
            while True:  # the thread submits it: wait until it is being encoded
                try:
                    if clients[0].poll_render("render_long").status == "processing":
                        break
                except errors.ApiError:
                    pass  # not submitted yet
                time.sleep(0.05)
            threads = [threading.Thread(target=lambda n=n, job=job: timings.__setitem__(
                f"short{n}", _render_s(clients[n + 1], f"render_short{n}", *job))) for n, job in enumerate(short_jobs)]
            for thread in threads:
                thread.start()
            for thread in [*threads, long_thread]:
                thread.join()
            for client in clients:
                client.close()
    short_d = int(solo_draft["d"]) / 1000
    print(f"fairness: one {long_s:.0f} s render (took {timings['long']:.1f} s) and {shorts} renders of a "
          f"{short_d:.0f} s clip from other users, 1080p with a title, on {os.cpu_count()} cores; load average "
          f"{load_before} before, {' '.join(f'{x:.1f}' for x in os.getloadavg())} after")
    print(f"a short render alone: {solo:.1f} s")
    worst = max(timings[f"short{n}"] for n in range(shorts))
    for n in range(shorts):
        took = timings[f"short{n}"]
        print(f"  short {n}: {took:5.1f} s = {took / short_d:4.1f} × its duration")
    verdict = "within" if worst <= 3 * short_d else "NOT within"
    print(f"worst short render {worst:.1f} s: {verdict} its duration × 3 ({3 * short_d:.0f} s); "
          f"with one FIFO worker it would wait for the long render ({timings['long']:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--fairness", action="store_true",
                        help="one long render and short ones from other users (issue 13): short ones' times")
    parser.add_argument("--long-seconds", type=float, default=60.0, help="the long render's length (--fairness)")
    args = parser.parse_args()
    if args.fairness:
        fairness(args.long_seconds, shorts=5)
        return

    from media.fixtures import VideoSpec, make_video
    from runtime.attribution import headers
    from runtime.document import load_skill
    from skill import errors
    from skill.client import Client

    skill = load_skill(None)
    load = Load()
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_video(Path(tmp) / "clip.mp4", VideoSpec(seconds=6, width=640, height=360))
        with served_engine(Path(tmp) / "engine") as engine:
            peak = PeakRss(engine.pid, every_s=0.1)
            deadline = time.monotonic() + args.seconds

            def user(number: int) -> None:
                client = Client(engine.url, skill, headers(skill))
                try:
                    client.token = load.timed("auth", lambda: client.anonymous_token(f"load-{number}").token)
                    while time.monotonic() < deadline:
                        try:
                            flow(client, load, clip, Path(tmp), number)
                        except errors.NemoError as exc:
                            load.fail(type(exc).__name__)
                finally:
                    client.close()

            threads = [threading.Thread(target=user, args=(n,)) for n in range(args.sessions)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall = time.perf_counter() - started
            peak.stop()

    print(f"{args.sessions} concurrent sessions, {wall:.0f} s, one engine on {os.cpu_count()} cores")
    print(f"completed flows (upload → chat with music → export → download): {load.flows}; "
          f"errors: {dict(load.failures) or 'none'}")
    print(f"{'endpoint':<20} {'calls':>6} {'p50':>9} {'p95':>9}")
    for name, values in sorted(load.latencies.items()):
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * (len(ordered) - 1)))]
        print(f"{name:<20} {len(values):>6} {statistics.median(values) * 1000:>7.0f}ms {p95 * 1000:>7.0f}ms")
    print(f"engine peak RSS (process tree): {peak.mb:.0f} MB")


if __name__ == "__main__":
    main()
