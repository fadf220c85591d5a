"""How time and memory grow with the input's length (issue 16, item 5).

``ai-music run`` (cold, whole process, fresh config and data dirs, as in ``e2e.py``) on the
same 1080p30 H.264 demo at 15 s, 60 s, 5 min and 20 min, on the fast path (music only:
the picture is copied) and the title path (a 3 s title: smart render). The longer inputs
are the 60 s demo looped by stream copy (seconds to make, where encoding 20 min would take
longer than the runs). Prints wall time and peak RSS of the process tree per run, writes
``bench/out/growth.png``, and says whether each grows at most linearly: the cost of each
input minute (wall seconds, or peak MB, divided by the input's minutes) must not rise from
one length to the next (25 % allowed for noise).

Each run is appended to ``bench/out/growth.csv`` as it ends; ``--resume`` measures only what
that file lacks (a 20 min run on a loaded machine can take long enough to be interrupted).
The client's render-poll budget is raised for these runs (``AI_MUSIC_POLL_BUDGET``): its
5 minutes are the product's wait, and on a loaded machine a 20 min render outlasts them.

    .venv/bin/pip install -e '.[bench]' && .venv/bin/python bench/growth.py [--lengths 15,60,300,1200] [--resume]
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _proc import measure  # noqa: E402
from e2e import EXE, OUT, PROMPT, TITLE_PROMPT, fresh_env  # noqa: E402

PATHS = (("fast path", PROMPT), ("title path", TITLE_PROMPT))
NOISE = 1.25
CSV = OUT / "growth.csv"
POLL_BUDGET_S = "7200"


def input_of(seconds: int, demo: Path) -> Path:
    """The demo cut or looped to ``seconds`` without re-encoding."""
    from media.ffmpeg import ffmpeg_exe

    out = OUT / f"growth-{seconds}s.mp4"
    if not out.exists():
        loops = max(0, -(-seconds // 60) - 1)
        subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-stream_loop", str(loops), "-i", str(demo),
                        "-t", str(seconds), "-c", "copy", "-movflags", "+faststart", "-y", str(out)], check=True)
    return out


def at_most_linear(lengths: list[int], values: list[float]) -> tuple[bool, str]:
    """Whether ``values`` grow no faster than linearly in ``lengths``: the cost per input minute
    never rises from one length to the next (× :data:`NOISE`). A fixed cost plus a linear one,
    or the larger of two such, passes; anything growing faster eventually fails."""
    per_minute = [v / (n / 60) for n, v in zip(lengths, values)]
    ok = all(b <= a * NOISE for a, b in zip(per_minute, per_minute[1:]))
    return ok, " → ".join(f"{p:.1f}" for p in per_minute) + " per input minute"


def plot(lengths: list[int], results: dict[str, list[tuple[float, float]]], loads: list[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    minutes = [s / 60 for s in lengths]
    for name, rows in results.items():
        left.plot(minutes, [t for t, _ in rows], "o-", label=name)
        right.plot(minutes, [m for _, m in rows], "o-", label=name)
    longest = max(rows[-1][0] for rows in results.values())
    left.plot([0, minutes[-1]], [0, longest], ":", color="grey", label="linear through the longest")
    left.set(xlabel="input length (min)", ylabel="wall time (s)", title="time")
    right.set(xlabel="input length (min)", ylabel="peak RSS, process tree (MB)", title="memory", ylim=(0, None))
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"ai-music run on 1080p30 H.264, {os.cpu_count()} cores, "
                 f"load average {min(loads):.0f}–{max(loads):.0f} at the ends of the runs")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    from media.fixtures import VideoSpec, make_video

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="15,60,300,1200", help="input lengths in seconds")
    parser.add_argument("--resume", action="store_true", help=f"reuse the runs already in {CSV.name}")
    args = parser.parse_args()
    lengths = sorted(int(s) for s in args.lengths.split(","))
    OUT.mkdir(parents=True, exist_ok=True)
    demo = OUT / "demo-60s-1080p.mp4"
    if not demo.exists():
        make_video(demo, VideoSpec(seconds=60, width=1920, height=1080, fps=30, audio="voice"))
    done: dict[tuple[int, str], tuple[float, float, float]] = {}
    if args.resume and CSV.exists():
        with open(CSV, newline="") as fh:
            for row in csv.DictReader(fh):
                done[int(row["seconds"]), row["path"]] = (float(row["wall_s"]), float(row["peak_rss_mb"]),
                                                          float(row["load"]))
    elif CSV.exists():
        CSV.unlink()
    results: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in PATHS}
    print(f"{'input':>8} {'path':<11} {'wall':>8} {'peak RSS':>9}  load", flush=True)
    for seconds in lengths:
        video = input_of(seconds, demo)
        for name, prompt in PATHS:
            if (seconds, name) not in done:
                with tempfile.TemporaryDirectory() as tmp:
                    env = fresh_env(Path(tmp)) | {"AI_MUSIC_POLL_BUDGET": POLL_BUDGET_S}
                    run = measure([EXE, "run", str(video), prompt, "-o", str(Path(tmp) / "out.mp4")], env=env)
                if run.returncode != 0:
                    raise SystemExit(f"ai-music run failed on {video.name}:\n{run.stderr[-2000:]}")
                done[seconds, name] = (run.seconds, run.peak_rss_mb, os.getloadavg()[0])
                new = not CSV.exists()
                with open(CSV, "a", newline="") as fh:
                    writer = csv.writer(fh)
                    if new:
                        writer.writerow(["seconds", "path", "wall_s", "peak_rss_mb", "load"])
                    writer.writerow([seconds, name, f"{run.seconds:.2f}", f"{run.peak_rss_mb:.0f}",
                                     f"{done[seconds, name][2]:.1f}"])
            wall, rss, load = done[seconds, name]
            results[name].append((wall, rss))
            print(f"{seconds:>7}s {name:<11} {wall:7.1f}s {rss:6.0f} MB  {load:.1f}", flush=True)
    for name, rows in results.items():
        for what, values in (("time", [t for t, _ in rows]), ("peak RSS", [m for _, m in rows])):
            ok, slopes = at_most_linear(lengths, values)
            print(f"{name} {what}: {'at most linear' if ok else 'FASTER THAN LINEAR'} ({slopes})")
    path = OUT / "growth.png"
    plot(lengths, results, [done[n, name][2] for n in lengths for name, _ in PATHS], path)
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
