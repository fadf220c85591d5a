"""How fast the offline music engine renders a 60 s track, per genre, and how much memory it takes.

Run: .venv/bin/python bench/music_speed.py [--seconds 60] [--repeat 3]
Times make_music (compose + synthesize + master) on a 60 s clip with a cut every ~5 s
and an energy curve, and prints ×real time, loudness and true peak per genre. Each genre
runs ``--repeat`` times with different seeds; the table shows the first (cold) run and
the median, and the last line the minimum median ×real time. Target: ≥ 50× real time
(recorded instruments since issue #14: the sampler reads every note from its recording).

Run: .venv/bin/python bench/music_speed.py --memory
Peak RSS added by make_music (lofi) and by master() on its unmastered mix, for 60, 180
and 600 s, each in a fresh process and measured after the imports (ru_maxrss deltas).
Targets for 60 s: make_music ≤ 110 MB, master ≤ 60 MB (a whole 60 s run must fit in 400 MB);
for 600 s: make_music ≤ 500 MB (pieces over 5 minutes render one stem at a time for it).
The whole process of a 10-minute piece (imports included) is about 110 MB more:
  /usr/bin/time -v .venv/bin/python -c \
    "import engine.music as m; m.make_music(m.Brief(genre='lofi', seed=1), m.Cues(600.0))"
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from engine.music import GENRES, Brief, Cues, compose, integrated_lufs, make_music, master, true_peak_dbtp  # noqa: E402
from engine.music.synth import mixdown  # noqa: E402

MEMORY_SECONDS = (60.0, 180.0, 600.0)


def cues_for(seconds: float) -> Cues:
    """A demo-video-like cue sheet: cuts every ~5 s (jittered), energy in slow waves."""
    cuts = tuple(round(t + 0.37 * ((i * 7) % 3 - 1), 2) for i, t in enumerate(range(5, int(seconds), 5)))
    energy = tuple(0.35 + 0.3 * ((i // 20) % 3) / 2 for i in range(int(seconds * 2)))
    return Cues(duration_s=seconds, cuts=cuts, energy=energy, pace=0.55)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def probe(kind: str, seconds: float, mix_file: Path) -> tuple[float, float]:
    """In this (fresh) process: peak RSS in MB added by one make_music / master call, and the process's peak."""
    brief = Brief(genre="lofi", seed=1)
    if kind == "mix":                           # input for the master probe, made in its own process
        np.save(mix_file, mixdown(compose(brief, cues_for(seconds))))
        return 0.0, _peak_mb()
    audio = np.load(mix_file) if kind == "master" else None
    base = _peak_mb()
    if audio is not None:
        master(audio, 48000, target_lufs=-16.0, ceiling_dbtp=-1.0)
    else:
        make_music(brief, cues_for(seconds))
    return _peak_mb() - base, _peak_mb()


def memory_table() -> None:
    print(f"{'seconds':>7} {'make_music MB':>13} {'process MB':>10} {'master MB':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        mix_file = Path(tmp) / "mix.npy"

        def run(kind: str, seconds: float) -> tuple[float, float]:
            out = subprocess.run([sys.executable, __file__, "--probe", kind, "--seconds", str(seconds),
                                  "--mix-file", str(mix_file)], capture_output=True, text=True, check=True)
            added, peak = out.stdout.split()
            return float(added), float(peak)

        for seconds in MEMORY_SECONDS:
            made, peak = run("make_music", seconds)
            run("mix", seconds)
            print(f"{seconds:>7.0f} {made:>13.0f} {peak:>10.0f} {run('master', seconds)[0]:>9.0f}")
        print("process MB: the whole process's peak RSS, imports included (10-minute target: 500)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample-rate", type=int, default=48000)
    parser.add_argument("--memory", action="store_true", help="peak RSS table instead of speed")
    parser.add_argument("--probe", choices=("make_music", "master", "mix"), help=argparse.SUPPRESS)
    parser.add_argument("--mix-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        print(*probe(args.probe, args.seconds, args.mix_file))
        return 0
    if args.memory:
        memory_table()
        return 0
    cues = cues_for(args.seconds)
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores "
          "(other work on the machine slows the wall-clock figures; cpu s is this process's CPU time)")
    print(f"{'genre':<11} {'bpm':>7} {'bars':>5} {'cold s':>7} {'median s':>8} {'cpu s':>6} {'x real':>7} {'LUFS':>7} "
          f"{'TP dBTP':>8}")
    worst = float("inf")
    for genre in GENRES:
        times, cpu = [], []
        for seed in range(max(args.repeat, 1)):
            start, start_cpu = time.perf_counter(), time.process_time()
            music = make_music(Brief(genre=genre, seed=seed), cues, sample_rate=args.sample_rate)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        median = statistics.median(times)
        speed = args.seconds / median
        worst = min(worst, speed)
        lufs = integrated_lufs(music.audio, args.sample_rate)
        tp = true_peak_dbtp(music.audio, args.sample_rate)
        print(f"{genre:<11} {music.score.bpm:>7.2f} {music.score.bars:>5d} {times[0]:>7.3f} {median:>8.3f} "
              f"{statistics.median(cpu):>6.2f} {speed:>6.1f}x {lufs:>7.2f} {tp:>8.2f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(f"minimum: {worst:.1f}x real time (target 50x): {'met' if worst >= 50 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
