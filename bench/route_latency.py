"""How fast `ai-music route` answers, cold process included (target: < 150 ms wall).

Runs the real console script N times (warm parse cache, as a user would after the first
call) and once with an empty cache, and prints min/median/p95 beside a peer: a bare
`python -c pass` on the same interpreter, the floor any Python CLI pays.

    .venv/bin/python bench/route_latency.py [N]
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXE = Path(sys.executable).parent / "ai-music"


def timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - started) * 1000


def summary(label: str, values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return f"{label:<34} min {values[0]:6.1f} ms   median {statistics.median(values):6.1f} ms   p95 {p95:6.1f} ms"


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "XDG_CACHE_HOME": cache}
        cmd = [str(EXE), "route", "export 1080p MP4"]
        cold = timed(cmd, env)
        warm = [timed(cmd, env) for _ in range(runs)]
        floor = [timed([sys.executable, "-c", "pass"], env) for _ in range(runs)]
    print(f"ai-music route, {runs} runs on this machine ({os.cpu_count()} cores)")
    print(f"{'first call (document parsed)':<34} {cold:6.1f} ms")
    print(summary("ai-music route (cached parse)", warm))
    print(summary("peer: python -c pass", floor))
    print(f"overhead above the interpreter floor: {statistics.median(warm) - statistics.median(floor):.1f} ms; "
          f"target < 150 ms: {'met' if statistics.median(warm) < 150 else 'NOT met'}")


if __name__ == "__main__":
    main()
