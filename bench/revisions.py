"""Is one revision slower than another on the fast path? Paired, alternating runs answer it.

Two checkouts (temporary git worktrees of REV_A and REV_B) run ``ai-music run`` on the same
generated 60 s 1080p product demo, in turns whose order swaps every pair so that a machine
growing busier or quieter during the run weighs on both alike. Each run gets its own engine
directory (nothing cached between runs). Both use this checkout's virtualenv with the
revision's own code first on ``sys.path``, so a revision whose dependencies differ from this
checkout's is not comparable this way. Printed: wall and CPU seconds (user + system of the
whole process tree) per run, then medians, means and the paired difference beside its spread
— a difference smaller than the spread is noise — and the median seconds to the end of each stage (upload,
analysis, the chat's reply, the render), read off what the run prints as it goes.

    .venv/bin/python bench/revisions.py REV_A REV_B [PAIRS] [--title]

``--title`` asks for a 3 s title as well (the smart render's path; e2e.py's title prompt).
"""
from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from _proc import CLI_ENTRY as RUN  # noqa: E402 - bench/ is not a package; as the installed script runs it
ASK = "generate background music that matches the mood and length of my video"


#: What the run prints when a stage is over (its output, unbuffered, read as it comes): the seconds to each
#: are printed with the medians — a change to one stage shows there with less noise than in the whole run's.
MILESTONES = (("uploaded", "📎"), ("analysed", "⏳ Composing"), ("replied", "Done!"), ("rendered", "⏳ Downloading"))


def _run(tree: Path, video: Path, scratch: Path, ask: str = ASK) -> tuple[float, float, dict[str, float]]:
    """Wall and CPU seconds of one ``ai-music run`` from ``tree``, and the seconds to each of MILESTONES."""
    env = dict(os.environ, PYTHONPATH=str(tree), AI_MUSIC_ENGINE_DIR=str(scratch / "engine"), PYTHONUNBUFFERED="1")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    seen: dict[str, float] = {}
    with subprocess.Popen([sys.executable, "-c", RUN, "run", str(video), ask, "-o", str(scratch / "out.mp4")],
                          cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          encoding="utf-8", errors="replace") as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            for name, mark in MILESTONES:
                if name not in seen and line.lstrip().startswith(mark):
                    seen[name] = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"ai-music run exited {proc.returncode} in {tree}")
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), seen


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--title"]
    ask = ASK + " and add a title 'Launch Day' for 3 seconds" if "--title" in sys.argv[1:] else ASK
    if len(args) < 2:
        sys.exit(__doc__)
    revisions, pairs = args[:2], int(args[2]) if len(args) > 2 else 6
    from media.fixtures import VideoSpec, make_video

    with tempfile.TemporaryDirectory(prefix="ai-music-revisions-") as tmp:
        base = Path(tmp)
        video = ROOT / "bench" / "out" / "demo-60s-1080p.mp4"  # e2e.py's demo, the same spec: made once
        if not video.exists():
            make_video(str(video), VideoSpec(seconds=60, width=1920, height=1080, fps=30, audio="voice"))
        trees = {}
        for rev in revisions:
            trees[rev] = base / f"tree-{len(trees)}"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(trees[rev]), rev],
                           check=True, capture_output=True)
        results: dict[str, list[tuple[float, float]]] = {rev: [] for rev in revisions}
        stages: dict[str, list[dict[str, float]]] = {rev: [] for rev in revisions}
        try:
            for pair in range(pairs):
                for rev in (revisions if pair % 2 == 0 else revisions[::-1]):
                    with tempfile.TemporaryDirectory(dir=base) as scratch:
                        wall, cpu, seen = _run(trees[rev], video, Path(scratch), ask)
                    results[rev].append((wall, cpu))
                    stages[rev].append(seen)
                    print(f"pair {pair + 1}: {rev:>12}  {wall:5.2f} s wall  {cpu:5.2f} CPU-s"
                          f"  (load {os.getloadavg()[0]:.2f})", flush=True)
        finally:
            for tree in trees.values():
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                               capture_output=True)
        a, b = (results[rev] for rev in revisions)
        for rev, runs in results.items():
            cpus = [cpu for _, cpu in runs]
            print(f"{rev:>12}: wall median {statistics.median(w for w, _ in runs):.2f} s; CPU median "
                  f"{statistics.median(cpus):.2f} s, mean {statistics.mean(cpus):.2f} ± {statistics.stdev(cpus):.2f}")
        diffs = [cb - ca for (_, ca), (_, cb) in zip(a, b)]
        print(f"{revisions[1]} − {revisions[0]}: {statistics.mean(diffs):+.2f} CPU-s per run "
              f"(paired spread ± {statistics.stdev(diffs):.2f}, {len(diffs)} pairs)")
        print("seconds to each stage's end, median: " + "; ".join(
            f"{name} " + " → ".join(f"{statistics.median(run[name] for run in stages[rev] if name in run):.2f}"
                                     for rev in revisions)
            for name, _ in MILESTONES if all(any(name in run for run in stages[rev]) for rev in revisions)))


if __name__ == "__main__":
    main()
