"""Who holds the memory of an ``ai-music run``? The whole process tree, sampled, per process.

``bench/memory.py`` gives a run's peak as one number (the sum over its tree); to cut it one
must know which process holds what at that moment: the engine itself, or the ffmpeg it runs
beside it (and which one). This samples every process of the tree every 20 ms (bench/_proc.py) and
prints the peak of the sum, what each process held at that moment, and each process's own
peak with the start of its command line — the engine is ``python``, its ffmpegs ``ffmpeg …``.
A child caught between fork and exec counts its private pages only (it shares the rest with
its parent, as ``bench/_proc.py`` explains).

    .venv/bin/python bench/tree_peaks.py [--title] [--tree DIR] [--runs N] [--video FILE]

``--tree`` runs another checkout's code (its own ``runtime``, this virtualenv); ``--title``
asks for a 3 s title (the smart render's path). Input: bench/revisions.py's 60 s 1080p demo,
or ``--video`` (e2e.py's talking head: bench/out/talking-60s-1080p.mp4).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from _proc import tree_processes  # noqa: E402 - bench/ is not a package

ASK = "generate background music that matches the mood and length of my video"
TITLE = " and add a title 'Launch Day' for 3 seconds"
RUN = "import sys, runtime.cli as cli; sys.exit(cli.main(sys.argv[1:]))"
EVERY_S = 0.02


@dataclass
class Peaks:
    total_mb: float = 0.0
    at_total: list[tuple[str, float]] = field(default_factory=list)   # (process, MB) when the sum peaked
    own: dict[int, tuple[str, float]] = field(default_factory=dict)  # pid → (process, its peak MB)


def _label(cmdline: bytes) -> str:
    cmd = [part.decode("utf-8", "replace") for part in cmdline.split(b"\0") if part]
    name = Path(cmd[0]).name if cmd else "?"
    if name.startswith("ffmpeg"):
        args = [a for a in cmd[1:] if a not in ("-hide_banner", "-nostdin")]
        return "ffmpeg " + " ".join(Path(a).name if a.startswith("/") else a for a in args)[:90]
    return name if len(cmd) < 3 else f"{name} {' '.join(cmd[1:3])[:60]}"


def _sample(root: int) -> list[tuple[int, str, float]]:
    """(pid, label, MB) of each live process of the tree."""
    return [(pid, _label(cmd), kb / 1024) for pid, cmd, kb in tree_processes(root)]


def measure(tree: Path, video: Path, ask: str) -> tuple[Peaks, float]:
    """The peaks of one run of ``tree``'s CLI, and its wall seconds."""
    peaks = Peaks()
    with tempfile.TemporaryDirectory(prefix="ai-music-peaks-") as scratch:
        env = dict(os.environ, PYTHONPATH=str(tree), AI_MUSIC_ENGINE_DIR=str(Path(scratch) / "engine"))
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-c", RUN, "run", str(video), ask, "-o", str(Path(scratch) / "out.mp4")],
                                 cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while child.poll() is None:
            sample = _sample(child.pid)
            total = sum(mb for _, _, mb in sample)
            if total > peaks.total_mb:
                peaks.total_mb, peaks.at_total = total, [(label, mb) for _, label, mb in sample]
            for pid, label, mb in sample:
                if mb > peaks.own.get(pid, ("", 0.0))[1]:
                    peaks.own[pid] = (label, mb)
            time.sleep(EVERY_S)
        wall = time.perf_counter() - start
        if child.returncode != 0:
            sys.exit(f"the run failed (exit {child.returncode})")
    return peaks, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--title", action="store_true", help="ask for a 3 s title (smart render)")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose code runs")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--video", type=Path, help="the input (default: the 60 s 1080p demo)")
    args = parser.parse_args()
    from media.fixtures import VideoSpec, make_video

    video = args.video or ROOT / "bench" / "out" / "demo-60s-1080p.mp4"  # bench/revisions.py's input
    if args.video is None and not video.exists():
        make_video(str(video), VideoSpec(seconds=60, width=1920, height=1080, fps=30, audio="voice"))
    for run in range(args.runs):
        peaks, wall = measure(args.tree.resolve(), video.resolve(), ASK + (TITLE if args.title else ""))
        print(f"run {run + 1}: tree peak {peaks.total_mb:.0f} MB ({wall:.1f} s wall, load {os.getloadavg()[0]:.2f})")
        for label, mb in sorted(peaks.at_total, key=lambda item: -item[1]):
            print(f"    at the peak {mb:6.0f} MB  {label}")
        for _, (label, mb) in sorted(peaks.own.items(), key=lambda item: -item[1][1])[:8]:
            print(f"    own peak    {mb:6.0f} MB  {label}")


if __name__ == "__main__":
    main()
