"""The render as a task another process runs (a Ray worker), talking to the engine through files.

Everything it needs travels as paths and small values (:class:`RemoteRender`); the media stay
on the shared filesystem. Progress goes to ``progress.json`` in the render's attempt folder,
which the engine polls — no actor, nothing through the scheduler but a few hundred bytes.
A worker killed mid-render is retried by Ray; every try works in a folder of its own (a
dead try's temp files are never reused, as in ``engine.export.render_attempts``) and the
output is renamed into place only when ffmpeg finished, so a retry never yields a corrupt file.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from engine.export.graph import RenderJob, render
from engine.export.mix import Source
from engine.object_store import ObjectStore
from engine.permissions import PRIVATE_UMASK

PROGRESS_FILE = "progress.json"
PROGRESS_WRITE_EVERY_S = 0.25


@dataclass(frozen=True)
class RemoteRender:
    draft: Mapping[str, Any]
    sources: Mapping[str, Source]
    soundtrack: Callable[[], Path]   # picklable: a SoundtrackOrder
    out: Path
    work_dir: Path                   # the engine's attempt folder for this render
    nice: int = 0
    threads: int = 0                 # the CPUs the task holds: ffmpeg's threads (0: ffmpeg's own choice)
    objects: ObjectStore | None = None  # sources got from there where this machine lacks them; the output put there


def run(task: RemoteRender) -> None:
    """One try at the render, in its own folder under the attempt's."""
    os.umask(PRIVATE_UMASK)  # as under `ai-music serve`: what the worker and its ffmpeg write is users' private data
    work = task.work_dir / f"try-{secrets.token_hex(4)}"
    work.mkdir(parents=True)
    report = progress_writer(task.work_dir / PROGRESS_FILE)
    report(0.0, "starting")
    job = RenderJob(draft=task.draft, sources=task.sources, soundtrack=task.soundtrack, out=task.out,
                    work_dir=work, nice=task.nice, threads=task.threads)
    try:
        for source in task.sources.values() if task.objects is not None else ():
            task.objects.fetch(Path(source.path))
        render(job, report)
        if task.objects is not None:
            task.objects.put(task.out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def progress_writer(path: Path) -> Callable[[float, str], None]:
    """A progress callback that writes ``{fraction, stage, pid}`` atomically, each stage and every quarter second."""
    last = {"at": 0.0, "stage": ""}

    def report(fraction: float, stage: str) -> None:
        now = time.monotonic()
        if stage == last["stage"] and now - last["at"] < PROGRESS_WRITE_EVERY_S and fraction < 1.0:
            return
        last.update(at=now, stage=stage)
        part = path.with_name(f".{path.name}.{os.getpid()}")
        part.write_text(json.dumps({"fraction": fraction, "stage": stage, "pid": os.getpid()}))
        os.replace(part, path)
    return report


def read_progress(work_dir: Path) -> dict[str, Any] | None:
    """What the running try last reported, or None before it started."""
    try:
        return json.loads((work_dir / PROGRESS_FILE).read_text())
    except (OSError, ValueError):
        return None
