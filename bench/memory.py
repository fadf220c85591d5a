"""Peak memory on long media (issue 13, item 6): analysis, composition and a whole ``ai-music run``.

Each phase runs in a child process and is measured with its whole process tree (ffmpeg
children included), beside a peer: ffmpeg decoding the same file. Targets: a 3-hour
input stays at or under 1 GB per phase; a 10-minute 360p ``ai-music run`` at or under 500 MB.

Inputs are generated with lavfi into bench/out/ (kept for reruns):
  * long:  2 h 54 min, 16×16 testsrc2 at 25 fps with a 440 Hz tone (the issue's input)
  * clip:  10 min, 640×360 at 30 fps with scene cuts and a voice-like track

    .venv/bin/python bench/memory.py [--only long|clip] [--minutes-long M] [--compose-only]

``--compose-only`` measures the long input's composition phase alone, from cues made up for
its length (no input, no analysis): the quick way to find the per-minute slope.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _proc import measure  # noqa: E402

OUT = ROOT / "bench" / "out"
# the CLI of this checkout (not whichever one is installed): a bench of another revision measures that revision
CLI = "import sys; from runtime.cli import main; sys.exit(main())"
PROMPT = "generate background music that matches the mood and length of my video"

ANALYZE = """
import json, sys
from engine.analysis.analyze import analyze
a = analyze(sys.argv[1], timeout=3600)
json.dump(a.to_json(), open(sys.argv[2], "w"))
"""

COMPOSE = """
import json, sys
from pathlib import Path
from media.audio import write_wav
from engine.composing import compose_to_wav
a = json.load(open(sys.argv[1])) if sys.argv[1].endswith(".json") else {
    "duration_s": float(sys.argv[1]), "scene_cuts": [], "energy": [0.5] * int(2 * float(sys.argv[1])),
    "energy_rate": 2.0, "pace": 0.5, "speech": []}
cues = {"duration_s": a["duration_s"], "cuts": a["scene_cuts"], "energy": a["energy"],
        "energy_rate": a["energy_rate"], "pace": a["pace"], "speech": a["speech"]}
facts = compose_to_wav({"genre": "cinematic", "seed": 7}, cues, Path(sys.argv[2]), write_wav)
print(facts["duration_s"], facts["lufs"], facts["true_peak_dbtp"])
"""


def load() -> str:
    return "load %.2f %.2f %.2f" % os.getloadavg()


def long_input(seconds: int) -> Path:
    from media.ffmpeg import run

    path = OUT / f"long-{seconds}s-16x16.mp4"
    if not path.exists():
        print(f"generating {path.name}…", flush=True)
        run(["-f", "lavfi", "-i", f"testsrc2=s=16x16:r=25:d={seconds}",
             "-f", "lavfi", "-i", f"sine=f=440:sample_rate=48000:d={seconds}",
             "-c:v", "libx264", "-preset", "ultrafast", "-crf", "40", "-g", "250",
             "-c:a", "aac", "-b:a", "16k", "-ac", "1", "-shortest", "-y", str(path)],
            timeout=3600, what="generate the long input")
    return path


def clip_input() -> Path:
    from media.fixtures import VideoSpec, make_video

    path = OUT / "clip-600s-360p.mp4"
    if not path.exists():
        print(f"generating {path.name}…", flush=True)
        make_video(path, VideoSpec(seconds=600, width=640, height=360, fps=30, audio="voice"))
    return path


def describe(path: Path) -> str:
    from media.probe import probe

    info = probe(path)
    v = info.video
    picture = f"{v.width}×{v.height} {v.fps:g} fps" if v else "no picture"
    return f"{path.name}: {info.duration_s / 60:.1f} min, {picture}, {path.stat().st_size / 1e6:.1f} MB"


def row(name: str, m, limit: float | None) -> None:  # noqa: ANN001 - bench._proc.Measured
    verdict = "" if limit is None else ("  ok" if m.peak_rss_mb <= limit else f"  OVER {limit:.0f} MB")
    status = "" if m.returncode == 0 else f"  (exit {m.returncode}: {m.stderr.strip().splitlines()[-1:]})"
    print(f"  {name:<38} {m.peak_rss_mb:8.0f} MB {m.seconds:7.1f} s   {load()}{verdict}{status}", flush=True)


def phases(video: Path, limit: float, whole_run: bool) -> None:
    print(describe(video), flush=True)
    py = sys.executable
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        row("peer: ffmpeg decode (-f null)", measure(
            [py, "-c", "import subprocess,sys; from media.ffmpeg import ffmpeg_exe; "
             "subprocess.run([ffmpeg_exe(), '-v', 'error', '-i', sys.argv[1], '-f', 'null', '-'], check=True)",
             str(video)], env=env), None)
        analysis = t / "analysis.json"
        row("analysis (engine.analysis.analyze)", measure([py, "-c", ANALYZE, str(video), str(analysis)], env=env), limit)
        if analysis.exists():
            row("composition (compose + master + WAV)",
                measure([py, "-c", COMPOSE, str(analysis), str(t / "music.wav")], env=env), limit)
        if whole_run:
            from e2e import fresh_env

            run_env = dict(fresh_env(t / "run"), PYTHONPATH=str(ROOT))
            row("ai-music run (whole job, cold)", measure(
                [py, "-c", CLI, "run", str(video), PROMPT, "-o", str(t / "out.mp4")], env=run_env), limit)


def composition_only(minutes: float, limit: float) -> None:
    print(f"composition alone, {minutes:g} min of made-up cues", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        row("composition (compose + master + WAV)", measure(
            [sys.executable, "-c", COMPOSE, str(minutes * 60), str(Path(tmp) / "music.wav")],
            env=dict(os.environ, PYTHONPATH=str(ROOT))), limit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=("long", "clip"))
    parser.add_argument("--minutes-long", type=float, default=174.0, help="length of the long input (default 174)")
    parser.add_argument("--compose-only", action="store_true", help="the long input's composition phase alone")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"peak RSS of the process tree per phase ({os.cpu_count()} cores)")
    if args.compose_only:
        composition_only(args.minutes_long, 1024.0)
        return
    if args.only in (None, "clip"):
        phases(clip_input(), 500.0, whole_run=True)
    if args.only in (None, "long"):
        phases(long_input(round(args.minutes_long * 60)), 1024.0, whole_run=False)


if __name__ == "__main__":
    main()
