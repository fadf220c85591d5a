"""N renders against each executor: in-process, a local Ray cluster with 1 worker, with 2 (issue 18, item 4).

For each setup, ``ai-music serve`` runs as its own process on loopback (``--ray ADDRESS`` for
the Ray ones, whose cluster this script starts on 127.0.0.1 with 1 or 2 CPUs, i.e. 1 or 2
render tasks at a time, and tears down after). One client uploads a generated 10 s 640x360
clip and asks for a title, so every render is CPU-bound (upscaled to 1080p, fully
re-encoded); one render warms the setup up (Ray starts its worker processes then), then N
identical renders are submitted at once and polled. Prints throughput (renders per minute
over the whole batch), p50/p95 latency (submit → completed, as the client sees it), CPU
seconds per render of everything this script started (engine, Ray's daemons and workers, their
ffmpegs; barely moved by load) and the load average beside each line: on a shared machine the
wall figures are under that load.

    .venv/bin/python bench/scale.py [--renders 6] [--only in-process|ray-1|ray-2]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _proc import served_engine, tree_cpu_s  # noqa: E402

SETUPS = {"in-process": None, "ray-1": 1, "ray-2": 2}  # name → Ray CPUs (None: no Ray)
HEADERS = {"X-Skill-Source": "topmediai-ai-music", "X-Skill-Version": "1.0.0", "X-Skill-Platform": "bench"}


class Client:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=120, headers=HEADERS, trust_env=False)
        token = self.http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "bench-scale"}).json()["data"]["token"]
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.session = self.http.post("/api/tasks/me/with-session/nemo_agent",
                                      json={"task_name": "scale", "language": "en"}).json()["data"]["session_id"]

    def prepare(self, clip: Path, instruction: str) -> dict:
        with clip.open("rb") as f:
            self.http.post(f"/api/upload-video/nemo_agent/me/{self.session}", files=[("files", (clip.name, f))])
        body = {"app_name": "nemo_agent", "user_id": "me", "session_id": self.session,
                "new_message": {"role": "user", "parts": [{"text": instruction}]}}
        with self.http.stream("POST", "/run_sse", json=body, headers={"Accept": "text/event-stream"}) as r:
            for _ in r.iter_lines():
                pass
        return self.http.get(f"/api/state/nemo_agent/me/{self.session}/latest").json()["data"]["state"]["draft"]

    def submit(self, render_id: str, draft: dict) -> None:
        r = self.http.post("/api/render/proxy/lambda", json={"id": render_id, "sessionId": self.session, "draft": draft})
        if not r.json().get("success"):
            raise SystemExit(f"render refused: {r.text}")

    def status(self, render_id: str) -> str:
        return self.http.get(f"/api/render/proxy/lambda/{render_id}").json()["data"]["status"]

    def wait_all(self, ids: list[str], since: float, timeout: float = 1800) -> dict[str, float]:
        """Seconds from ``since`` until each render completed (polled every 0.2 s)."""
        done: dict[str, float] = {}
        deadline = time.monotonic() + timeout
        while len(done) < len(ids):
            if time.monotonic() > deadline:
                raise SystemExit(f"renders still running after {timeout:.0f} s")
            for render_id in ids:
                if render_id in done:
                    continue
                status = self.status(render_id)
                if status == "completed":
                    done[render_id] = time.monotonic() - since
                elif status in ("failed", "cancelled"):
                    raise SystemExit(f"{render_id} {status}: {json.dumps(self.http.get(f'/api/render/proxy/lambda/{render_id}').json())}")
            time.sleep(0.2)
        return done


def load() -> float:
    return os.getloadavg()[0]


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered) + 0.5) - 1))]  # nearest rank


def run_setup(name: str, cpus: int | None, clip: Path, renders: int, tmp: Path) -> None:
    options: list[str] = []
    if cpus is not None:
        import ray

        ray.init(num_cpus=cpus, include_dashboard=False, _node_ip_address="127.0.0.1", logging_level="WARNING",
                 log_to_driver=False)
        options = ["--ray", ray.get_runtime_context().gcs_address]
    try:
        with served_engine(tmp / name, *options) as engine:
            client = Client(engine.url)  # type: ignore[attr-defined]
            draft = client.prepare(clip, 'add a title "Scale" for 3 seconds')
            client.submit("warm-up", draft)
            client.wait_all(["warm-up"], time.monotonic())
            before, cpu = load(), tree_cpu_s(os.getpid())
            ids = [f"scale-{n}" for n in range(renders)]
            start = time.monotonic()
            for render_id in ids:
                client.submit(render_id, draft)
            latencies = list(client.wait_all(ids, start).values())
            wall, cpu = max(latencies), tree_cpu_s(os.getpid()) - cpu
            print(f"{name:<11} {renders:>7} {wall:>7.1f} {60 * renders / wall:>12.2f} "
                  f"{statistics.median(latencies):>7.1f} {p95(latencies):>7.1f} {cpu / renders:>10.1f}   "
                  f"{before:.1f} → {load():.1f}", flush=True)
    finally:
        if cpus is not None:
            ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--renders", type=int, default=6, help="renders per setup (default 6)")
    parser.add_argument("--only", choices=list(SETUPS), action="append", help="run only this setup (repeatable)")
    args = parser.parse_args()
    os.environ.pop("RAY_ADDRESS", None)  # the in-process setup must not find a cluster; the Ray ones start their own
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # Ray on loopback only (else it binds the machine's address)
    from media.fixtures import VideoSpec, make_video

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        clip = make_video(tmp / "clip.mp4", VideoSpec(seconds=10, width=640, height=360))
        print(f"{args.renders} renders per setup: a 10 s 640x360 clip with a title, upscaled to 1080p and "
              f"re-encoded; {os.cpu_count()} cores; loopback; after one warm-up render")
        print(f"{'setup':<11} {'renders':>7} {'wall s':>7} {'renders/min':>12} {'p50 s':>7} {'p95 s':>7} "
              f"{'CPU s/rnd':>10}   load avg (1 min) before → after: the wall figures are under this load")
        for name in args.only or list(SETUPS):
            run_setup(name, SETUPS[name], clip, args.renders, tmp)


if __name__ == "__main__":
    main()
