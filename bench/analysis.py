"""Video analysis: the full decode beside the packet-statistics fast path (issue 16 item 2).

For bench/e2e.py's two inputs (its busy demo: fixed 2 s GOPs, x264 ultrafast without scene
detection, so cuts only show in packet sizes and keyframe pictures; and its talking head), and
two generated 60 s 1920x1080 30 fps H.264 clips — "busy" (grain and motion everywhere,
a scene cut every 2-7 s, x264 veryfast at 10 Mbit/s, GOP 2 s; the grain hides the cuts from
x264's scene detection, so once as is and once with a keyframe forced at each cut, as editors'
exports have) and "talking head" (a still backdrop, a small moving speaker,
a voice, two cuts, CRF 23) — and an adverse one (the busy clip's cuts between cellular
automata and a fractal zoom, whose sparse patterns make frame sizes jump all the time) — prints the picture analysis' wall and CPU seconds (ffmpeg
children included) of the old full decode and of ``analyze``'s automatic choice, which
path it took, the load average, and both cut lists with the largest disagreement.
The clips are cached in bench/out/. On a loaded machine the wall figures swing by half
from run to run; the CPU seconds are the steadier comparison.

    .venv/bin/python bench/analysis.py
"""
from __future__ import annotations

import logging
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"

from media.ffmpeg import pathlike, run  # noqa: E402
from media.fixtures import audio_source  # noqa: E402

BUSY_SCENES = (3.2, 5.0, 2.4, 6.1, 4.3, 2.0, 7.0, 3.6, 5.5, 2.9, 4.8, 6.2, 3.0, 4.0)  # 60 s
_BUSY_SOURCES = (
    "testsrc2=s=1920x1080:r=30", "gradients=s=1920x1080:r=30:speed=0.03", "rgbtestsrc=s=1920x1080:r=30",
    "yuvtestsrc=s=1920x1080:r=30", "smptehdbars=s=1920x1080:r=30", "testsrc=s=1920x1080:r=30",
)
#: Cellular automata and a fractal zoom: sparse patterns whose frame sizes jump all the time.
_ADVERSE_SOURCES = (
    "testsrc2=s=1920x1080:r=30", "mandelbrot=s=1920x1080:r=30", "rgbtestsrc=s=1920x1080:r=30",
    "cellauto=s=1920x1080:r=30:rule=110", "smptehdbars=s=1920x1080:r=30", "life=s=1920x1080:r=30:mold=10",
)


def make_busy_cuts(path: Path, sources: tuple[str, ...] = _BUSY_SOURCES, keys_at_cuts: bool = False) -> list[float]:
    """The busy clip; returns its cut times. ``keys_at_cuts``: a keyframe forced at each cut, as
    editors' exports have (x264's own scene detection does not fire through this much grain)."""
    times, t = [], 0.0
    for length in BUSY_SCENES[:-1]:
        t += length
        times.append(round(t, 3))
    force = ["-force_key_frames", ",".join(f"{c:.3f}" for c in times)] if keys_at_cuts else []
    args, chain = [], ""
    for i, length in enumerate(BUSY_SCENES):
        args += ["-f", "lavfi", "-t", f"{length}", "-i", sources[i % len(sources)]]
        chain += f"[{i}:v]format=yuv420p,setsar=1,noise=alls=10:allf=t+u[v{i}];"
    n = len(BUSY_SCENES)
    chain += "".join(f"[v{i}]" for i in range(n)) + f"concat=n={n}:v=1:a=0[v]"
    if not path.exists():
        run([*args, "-f", "lavfi", "-i", audio_source("tone", 60) or "", "-filter_complex", chain,
             "-map", "[v]", "-map", f"{n}:a", "-c:v", "libx264", "-preset", "veryfast", "-b:v", "10000k",
             "-maxrate", "12000k", "-bufsize", "20000k", "-g", "60", *force, "-c:a", "aac", "-t", "60",
             "-movflags", "+faststart", "-y", pathlike(path)], timeout=1800, what="generate busy clip")
    return times


def make_talking_head(path: Path) -> list[float]:
    """The talking-head clip (cuts at 20 s and 41 s: backdrop colour and speaker size change)."""
    parts = [(20.0, "0x2b3a4a", 480), (21.0, "0x6d597a", 640), (19.0, "0x355070", 480)]
    args, chain = [], ""
    for i, (length, colour, size) in enumerate(parts):
        args += ["-f", "lavfi", "-t", f"{length}", "-i", f"color=c={colour}:s=1920x1080:r=30",
                 "-f", "lavfi", "-t", f"{length}", "-i", f"testsrc2=s={size}x{size * 9 // 16}:r=30"]
        chain += (f"[{2 * i}:v][{2 * i + 1}:v]overlay=x='(W-w)/2+40*sin(t)':y='(H-h)/2+10*sin(3*t)',"
                  f"format=yuv420p,setsar=1,noise=alls=2:allf=t[v{i}];")
    chain += "".join(f"[v{i}]" for i in range(len(parts))) + f"concat=n={len(parts)}:v=1:a=0[v]"
    if not path.exists():
        run([*args, "-f", "lavfi", "-i", audio_source("voice", 60) or "", "-filter_complex", chain,
             "-map", "[v]", "-map", f"{2 * len(parts)}:a", "-c:v", "libx264", "-preset", "veryfast",
             "-crf", "23", "-g", "60", "-c:a", "aac", "-t", "60", "-movflags", "+faststart", "-y",
             pathlike(path)], timeout=1800, what="generate talking-head clip")
    return [20.0, 41.0]


def cpu_seconds() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = fn()
    return result, time.perf_counter() - wall, cpu_seconds() - cpu


def main() -> None:
    from engine.analysis import analyze as A
    from media.probe import probe

    from media.fixtures import VideoSpec, make_talking_head, make_video

    OUT.mkdir(parents=True, exist_ok=True)
    demo, talking = OUT / "demo-60s-1080p.mp4", OUT / "talking-60s-1080p.mp4"  # bench/e2e.py's inputs
    spec = VideoSpec(seconds=60, width=1920, height=1080, fps=30, audio="voice")
    if not demo.exists():
        make_video(demo, spec)
    if not talking.exists():
        make_talking_head(talking)
    clips = {"e2e busy demo (fixed 2 s GOP, cuts every 4-7 s)": (demo, spec.cut_times()),
             "e2e talking head (one shot)": (talking, []),
             "busy": (OUT / "analysis-busy.mp4", make_busy_cuts(OUT / "analysis-busy.mp4")),
             "busy, editor export (keyframe at each cut)": (
                 OUT / "analysis-busy-keyed.mp4", make_busy_cuts(OUT / "analysis-busy-keyed.mp4", keys_at_cuts=True)),
             "talking head": (OUT / "analysis-talking.mp4", make_talking_head(OUT / "analysis-talking.mp4")),
             "adverse (automata, fractal)": (OUT / "analysis-adverse.mp4",
                                             make_busy_cuts(OUT / "analysis-adverse.mp4", _ADVERSE_SOURCES))}
    log = logging.getLogger("engine.analysis")
    taken: list[str] = []
    log.addHandler(type("H", (logging.Handler,), {"emit": lambda self, r: taken.append(r.getMessage())})())
    log.setLevel(logging.INFO)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    for name, (path, real) in clips.items():
        info = probe(path)
        full, full_wall, full_cpu = timed(lambda: A.analyze(path, info, picture="full"))
        taken.clear()
        auto, auto_wall, auto_cpu = timed(lambda: A.analyze(path, info))
        print(f"\n{name}: {path.name}, {info.duration_s:.0f} s, real cuts {real}")
        print(f"  full decode   {full_wall:6.2f} s wall {full_cpu:6.2f} s CPU  cuts {list(full.scene_cuts)}")
        print(f"  auto          {auto_wall:6.2f} s wall {auto_cpu:6.2f} s CPU  cuts {list(auto.scene_cuts)}")
        print(f"  path taken: {'; '.join(taken) or '?'}")
        print(f"  speed-up {full_wall / auto_wall:.1f}x wall, {full_cpu / max(auto_cpu, 1e-3):.1f}x CPU; "
              f"cuts agree: {_agree(full.scene_cuts, auto.scene_cuts)}; "
              f"vs real: full {_agree(tuple(real), full.scene_cuts)}, auto {_agree(tuple(real), auto.scene_cuts)}")
        print(f"  motion mean full {sum(full.motion) / len(full.motion):.3f} auto {sum(auto.motion) / len(auto.motion):.3f}; "
              f"energy mean full {sum(full.energy) / len(full.energy):.3f} auto {sum(auto.energy) / len(auto.energy):.3f}; "
              f"pace full {full.pace:.3f} auto {auto.pace:.3f}")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _agree(a: tuple[float, ...], b: tuple[float, ...]) -> str:
    if len(a) != len(b):
        return f"no ({len(a)} vs {len(b)} cuts)"
    worst = max((abs(x - y) for x, y in zip(a, b)), default=0.0)
    return f"yes, {len(a)} cuts, worst {worst * 1000:.0f} ms apart"


if __name__ == "__main__":
    main()
