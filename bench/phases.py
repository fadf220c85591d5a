"""Where the fast path's seconds go (issue 16, item 3): ``ai-music run`` in this process, timed phase by phase.

The job runs exactly as the CLI runs it (``runtime.cli.main``), with timers wrapped around the
functions that do each phase — nothing in the engine is changed for the measurement. Phases
on the engine side run in its threads, some at once (analysis starts at upload; the soundtrack
is mixed while the chat turn ends), so each line shows when it started and ended on the job's
clock as well as how long it took. Imports are timed in a fresh interpreter (``python -c
"import runtime.cli, engine.app, …"``, every module the job loads): in this process they are
already paid.

    .venv/bin/python bench/phases.py [VIDEO]      (e2e.py prints the same table)
"""
from __future__ import annotations

import importlib
import io
import os
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
# (phase, module, attribute, or Class.method) — what each phase's work is done by
PHASES = (
    ("engine start", "engine.embedded", "start"),
    ("upload (client → engine, HTTP body)", "skill.client", "Client.upload_files"),
    ("upload (embedded: engine clones the file)", "skill.client", "Client.upload_urls"),
    ("analysis (decode, scenes, speech)", "engine.analysis.analyze", "analyze"),
    ("chat turn (request → reply)", "runtime.conversation", "chat"),
    ("music: compose + synthesize + master", "engine.music", "make_music"),
    ("soundtrack mix (music + ducked original)", "engine.export.soundtrack", "build_soundtrack"),
    ("AAC encode (soundtrack, piped)", "engine.export.aac", "AacEncoder.encode"),
    ("render: probe the inputs", "engine.export.graph", "probe"),
    ("render: title images (picture under, PNG)", "engine.export.graph", "_title_overlays"),
    ("render: smart splice (split, titled GOPs)", "media.smart_render", "prepare"),
    ("render: ffmpeg mux / encode", "engine.export.graph", "_run"),
    ("download (engine → file)", "skill.client", "Client.download_render"),
)


class Timeline:
    """Start and end of every call to each wrapped function, on one clock."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.spans: list[tuple[str, float, float]] = []
        self._lock = threading.Lock()

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                with self._lock:
                    self.spans.append((name, start - self.t0, time.perf_counter() - self.t0))
        return timed


def _install(timeline: Timeline) -> list[tuple[Any, str, Any]]:
    undo = []
    for name, module_name, attribute in PHASES:
        owner: Any = importlib.import_module(module_name)
        if "." in attribute:
            cls, attribute = attribute.split(".")
            owner = getattr(owner, cls)
        original = getattr(owner, attribute)
        undo.append((owner, attribute, original))
        setattr(owner, attribute, timeline.wrap(name, original))
    return undo


def import_seconds() -> float:
    """Python start-up plus every module the job loads (the CLI imports most of them lazily,
    during the job, the composer in the engine's warm-up thread; in this process ``_install`` has paid
    for them before the job's clock starts)."""
    modules = sorted({"runtime.cli", "engine.app", "engine.music.make", "uvicorn", *(module for _, module, _ in PHASES)})
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import " + ", ".join(modules)], cwd=ROOT, check=True)
    return time.perf_counter() - started


def breakdown(video: Path, prompt: str) -> tuple[float, float, list[tuple[str, float, float, float]]]:
    """(import s, job wall s, [(phase, start, end, busy seconds)]) for one cold-engine run."""
    from runtime.cli import main as cli

    imports = import_seconds()
    timeline = Timeline()
    undo = _install(timeline)
    saved = dict(os.environ)
    try:
        with tempfile.TemporaryDirectory() as tmp, redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            for name in ("NEMO_TOKEN", "NEMO_API_URL"):
                os.environ.pop(name, None)
            for name in ("CONFIG", "DATA", "CACHE"):  # fresh config and data: a first run, as in e2e.py
                os.environ[f"XDG_{name}_HOME"] = str(Path(tmp) / name.lower())
            started = time.perf_counter()
            timeline.t0 = started
            code = cli(["run", str(video), prompt, "-o", str(Path(tmp) / "out.mp4")])
            wall = time.perf_counter() - started
    finally:
        os.environ.clear()
        os.environ.update(saved)
        for owner, attribute, original in undo:
            setattr(owner, attribute, original)
    if code != 0:
        raise SystemExit(f"ai-music run exited {code}")
    rows = []
    for name, _, _ in PHASES:
        spans = [(a, b) for n, a, b in timeline.spans if n == name]
        if spans:
            rows.append((name, min(a for a, _ in spans), max(b for _, b in spans), sum(b - a for a, b in spans)))
    return imports, wall, sorted(rows, key=lambda r: r[1])


def print_breakdown(video: Path, prompt: str) -> None:
    imports, wall, rows = breakdown(video, prompt)
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nwhere ai-music run's seconds go ({video.name}, {prompt!r}; job clock, engine phases overlap; "
          f"load average {load}):")
    print(f"{'phase':<42} {'from':>7} {'to':>7} {'busy':>7}")
    print(f"{'imports (fresh interpreter, job modules)':<42} {'':>7} {'':>7} {imports:6.2f}s")
    for name, start, end, busy in rows:
        print(f"{name:<42} {start:6.2f}s {end:6.2f}s {busy:6.2f}s")
    print(f"{'whole job after imports':<42} {0:6.2f}s {wall:6.2f}s")


if __name__ == "__main__":
    import argparse

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from e2e import OUT, PROMPT, TITLE_PROMPT

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", type=Path, default=OUT / "demo-60s-1080p.mp4")
    parser.add_argument("--title", action="store_true", help="the job with a 3 s title")
    parser.add_argument("--no-smart", action="store_true", help="AI_MUSIC_SMART_RENDER=0: encode the whole picture")
    args = parser.parse_args()
    if not args.video.exists():
        from media.fixtures import VideoSpec, make_video

        make_video(args.video, VideoSpec(seconds=60, width=1920, height=1080, fps=30, audio="voice"))
    if args.no_smart:
        import engine.export.graph

        engine.export.graph.SMART_RENDER = False
    print_breakdown(args.video, TITLE_PROMPT if args.title else PROMPT)
