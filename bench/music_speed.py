"""How fast the offline music engine renders a 60 s track, per genre.

Run: .venv/bin/python bench/music_speed.py [--seconds 60] [--repeat 3]
Times make_music (compose + synthesize + master) on a 60 s clip with a cut every ~5 s
and an energy curve, and prints ×real time, loudness and true peak per genre. Each genre
runs ``--repeat`` times with different seeds; the table shows the first (cold) run and
the median, and the last line the minimum median ×real time. Target: ≥ 50× real time.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.music import GENRES, Brief, Cues, integrated_lufs, make_music, true_peak_dbtp  # noqa: E402


def cues_for(seconds: float) -> Cues:
    """A demo-video-like cue sheet: cuts every ~5 s (jittered), energy in slow waves."""
    cuts = tuple(round(t + 0.37 * ((i * 7) % 3 - 1), 2) for i, t in enumerate(range(5, int(seconds), 5)))
    energy = tuple(0.35 + 0.3 * ((i // 20) % 3) / 2 for i in range(int(seconds * 2)))
    return Cues(duration_s=seconds, cuts=cuts, energy=energy, pace=0.55)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample-rate", type=int, default=48000)
    args = parser.parse_args()
    cues = cues_for(args.seconds)
    print(f"{'genre':<11} {'bpm':>7} {'bars':>5} {'cold s':>7} {'median s':>8} {'x real':>7} {'LUFS':>7} {'TP dBTP':>8}")
    worst = float("inf")
    for genre in GENRES:
        times = []
        for seed in range(max(args.repeat, 1)):
            start = time.perf_counter()
            music = make_music(Brief(genre=genre, seed=seed), cues, sample_rate=args.sample_rate)
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        speed = args.seconds / median
        worst = min(worst, speed)
        lufs = integrated_lufs(music.audio, args.sample_rate)
        tp = true_peak_dbtp(music.audio, args.sample_rate)
        print(f"{genre:<11} {music.score.bpm:>7.2f} {music.score.bars:>5d} {times[0]:>7.3f} {median:>8.3f} "
              f"{speed:>6.1f}x {lufs:>7.2f} {tp:>8.2f}")
    print(f"minimum: {worst:.1f}x real time (target 50x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
