"""How long the first chat turn takes when the user types it after the upload is analysed.

The interactive case (REPL, workspace, ``ai-music say``): a clip is uploaded, the user reads
the upload's answer and types the default request a few seconds later. With the piece composed
ahead (``engine.ahead``) the turn only waits for whatever is left of it. Runs the embedded engine
in this process on the 60 s demo (bench/out), ``PAUSE`` seconds after the analysis ended, and
prints the turn's wall time per run. ``AI_MUSIC_TREE=/path/to/checkout`` measures that checkout's
engine instead of this one's (compare revisions in the same period, alternately).

    .venv/bin/python bench/first_turn.py [RUNS] [PAUSE]
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = Path(os.environ.get("AI_MUSIC_TREE") or ROOT)
sys.path[:0] = [str(TREE), str(TREE / "tests")]
REQUEST = "generate background music that matches the mood and length of my video"


def one_turn(video: Path, pause_s: float) -> float:
    from engine.config import EngineConfig
    from engine.embedded import start
    from support import Api

    with tempfile.TemporaryDirectory() as tmp, start(EngineConfig(data_dir=Path(tmp) / "engine")) as server:
        engine = server.server.config.app.state.engine
        api = Api(server.url).login()
        api.upload(video).raise_for_status()
        deadline = time.monotonic() + 300
        while not (engine.analyses and all(f.done() for f in engine.analyses.values())):
            if time.monotonic() > deadline:
                raise SystemExit("the analysis did not end within 300 s")
            time.sleep(0.02)
        time.sleep(pause_s)  # the user reads the answer and types
        started = time.perf_counter()
        api.chat(REQUEST)
        return time.perf_counter() - started


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    pause = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    video = ROOT / "bench" / "out" / "demo-60s-1080p.mp4"
    if not video.exists():
        from media.fixtures import VideoSpec, make_video

        make_video(video, VideoSpec(seconds=60, width=1920, height=1080, fps=30, audio="voice"))
    import engine

    print(f"engine of {Path(engine.__file__).parent.parent}")
    times = []
    for run in range(runs):
        times.append(one_turn(video, pause))
        print(f"run {run + 1}: first turn {times[-1]:.2f} s  (load {os.getloadavg()[0]:.1f})", flush=True)
    print(f"median {statistics.median(times):.2f} s over {runs} runs, {pause:.0f} s after the analysis")


if __name__ == "__main__":
    main()
