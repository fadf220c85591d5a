"""How long the soundtrack's AAC encode takes with one ffmpeg and with two on its halves (issue 16).

Run: .venv/bin/python bench/aac_split.py [--seconds 15 60 300] [--repeat 5] [--split-from 15]
Encodes the same soundtrack (a minute of the music engine's lofi, repeated; 48 kHz stereo,
in memory) with engine.export.aac.AacEncoder forced to one encoder ("one": the encode before
issue 16) and as shipped ("halves": two encoders and the mux from 15 s up), alternating the
two, and prints per length the median wall time, the median CPU seconds of the ffmpeg
children and the fastest wall time of each (the run least disturbed by others).
``--split-from 0`` splits every length: where the crossover is. The load average is printed
before and after: the machine is shared, so only the paired figures on one line compare.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from engine.export import aac  # noqa: E402
from engine.music import Brief, Cues, make_music  # noqa: E402

RATE = 48000


def soundtrack(seconds: float) -> np.ndarray:
    """``seconds`` of the offline engine's music (a minute of lofi, repeated): what the encoder is fed."""
    minute = make_music(Brief(genre="lofi", seed=1), Cues(duration_s=60.0, cuts=tuple(range(5, 60, 5)))).audio
    reps = int(np.ceil(seconds / 60))
    return np.ascontiguousarray(np.tile(minute, (reps, 1))[:int(seconds * RATE)], dtype=np.float32)


def encode(audio: np.ndarray, out: Path, split_from: float) -> tuple[float, float]:
    """Wall seconds and children's CPU seconds of one encode."""
    aac.SPLIT_MIN_S = split_from
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    encoder = aac.AacEncoder(out, RATE, len(audio))
    try:
        encoder.encode(audio)
    finally:
        encoder.stop()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, nargs="+", default=[15.0, 60.0, 300.0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--split-from", type=float, default=aac.SPLIT_MIN_S, help="seconds from which 'halves' splits")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"{'seconds':>7} {'one wall':>9} {'halves wall':>11} {'speed-up':>8} {'one CPU':>8} {'halves CPU':>10} "
          f"{'one min':>8} {'halves min':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for seconds in args.seconds:
            audio = soundtrack(seconds)
            runs: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
            for _ in range(args.repeat):
                for split in (False, True):
                    split_from = args.split_from if split else float("inf")
                    runs[split].append(encode(audio, Path(tmp) / "out.m4a", split_from))
            one, halves = ([statistics.median(x) for x in zip(*runs[s])] for s in (False, True))
            fastest = [min(wall for wall, _cpu in runs[s]) for s in (False, True)]
            print(f"{seconds:>7g} {one[0]:>8.3f}s {halves[0]:>10.3f}s {one[0] / halves[0]:>7.2f}x "
                  f"{one[1]:>7.2f}s {halves[1]:>9.2f}s {fastest[0]:>7.3f}s {fastest[1]:>9.3f}s", flush=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
