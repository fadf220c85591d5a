"""CPU seconds per job, the figure docs/scaling.md sizes a cluster with.

Runs ``ai-music run`` on the generated 60 s 1080p product demo — the fast path and the
path with a title — and prints wall time beside the CPU seconds of the whole process tree
(user + system, from ``getrusage(RUSAGE_CHILDREN)``). CPU seconds barely move with the
machine's load, so they size capacity even when measured on a shared machine; the load
average is printed beside each run.

    .venv/bin/python bench/job_cpu.py [RUNS]
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXE = str(Path(sys.executable).parent / "ai-music")
PATHS = {
    "fast path": "generate background music that matches the mood and length of my video",
    "title": "add upbeat music and a title 'Launch Day' for 3 seconds at the top",
}


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    with tempfile.TemporaryDirectory(prefix="ai-music-job-cpu-") as tmp:
        home = Path(tmp)
        env = dict(os.environ, HOME=str(home), XDG_DATA_HOME=str(home / "data"),
                   XDG_CONFIG_HOME=str(home / "config"), XDG_CACHE_HOME=str(home / "cache"))
        subprocess.run([EXE, "run", "--sample", "-o", str(home / "first.mp4")], env=env, cwd=tmp, check=True,
                       capture_output=True)
        sample = next((home / "cache").rglob("product-demo-60s-1080p.mp4"))
        print(f"ai-music run on {sample.name}, {runs} run(s) per path, {os.cpu_count()} cores")
        for label, prompt in PATHS.items():
            for i in range(runs):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                started = time.monotonic()
                subprocess.run([EXE, "run", str(sample), prompt, "-o", str(home / f"out-{i}.mp4"), "--overwrite"],
                               env=env, cwd=tmp, check=True, capture_output=True)
                wall = time.monotonic() - started
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
                print(f"{label:10s} wall {wall:6.1f} s   CPU {cpu:6.1f} s per minute of video   "
                      f"(load {os.getloadavg()[0]:.1f})", flush=True)


if __name__ == "__main__":
    main()
