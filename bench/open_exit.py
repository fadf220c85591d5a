"""How long does ``ai-music open`` take to exit after Ctrl-C, on a busy machine?

Each run starts ``ai-music open --no-browser --port 0`` on a generated 8 s clip in a fresh data
dir, waits for its link (the upload is in, its analysis and the piece composed ahead are
starting), waits 0-3 s at random, sends SIGINT and times the exit. ``--burners N`` keeps N
busy-loop processes running meanwhile (a loaded 2-core CI box). Printed: each exit time, then
the median and the worst; a run that has not exited after 60 s is killed and counted as a hang.

    .venv/bin/python bench/open_exit.py [RUNS] [--burners N]
"""
from __future__ import annotations

import argparse
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HANG_S = 60.0


def _clip(folder: Path) -> Path:
    from media.ffmpeg import pathlike, run

    clip = folder / "clip.mp4"
    run(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=8", "-f", "lavfi", "-i",
         "sine=frequency=440:duration=8", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
         "-y", pathlike(clip)], timeout=120, what="make the clip")
    return clip


def _exit_after_ctrl_c(clip: Path, data: Path, rng: random.Random) -> float | None:
    proc = subprocess.Popen([sys.executable, "-m", "runtime.cli", "open", "--no-browser", "--port", "0",
                             "--data", str(data), str(clip)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    proc.stdout.readline()  # the link: the engine is up and the clip uploaded
    time.sleep(rng.uniform(0, 3))
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=HANG_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="?", type=int, default=15)
    parser.add_argument("--burners", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(7)
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.burners)]
    times: list[float] = []
    hangs = 0
    try:
        with tempfile.TemporaryDirectory() as tmp:
            clip = _clip(Path(tmp))
            for i in range(args.runs):
                took = _exit_after_ctrl_c(clip, Path(tmp) / f"engine-{i}", rng)
                print(f"run {i + 1}: " + (f"exited {took:.2f} s after Ctrl-C" if took is not None else
                                          f"no exit within {HANG_S:.0f} s"), flush=True)
                hangs += took is None
                times += [took] if took is not None else []
    finally:
        for burner in burners:
            burner.kill()
    if times:
        print(f"{args.runs} runs, {args.burners} CPU burners: median {statistics.median(times):.2f} s, "
              f"worst {max(times):.2f} s, {hangs} hung")


if __name__ == "__main__":
    main()
