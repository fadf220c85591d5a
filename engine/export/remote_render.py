"""The render as a task another process runs (a Ray worker), talking to the engine through files.

Everything it needs travels as paths and small values (:class:`RemoteRender`); the media stay
on the shared filesystem. Progress goes to ``progress.json`` in the render's attempt folder,
which the engine polls — no actor, nothing through the scheduler but a few hundred bytes.
A worker killed mid-render is retried by Ray; every try works in a folder of its own (a
dead try's temp files are never reused, as in ``engine.export.render_attempts``) and the
output is renamed into place only when ffmpeg finished, so a retry never yields a corrupt file.

With an object store (``--object-store``: workers need not share the engine's disk) the same
report is an object keyed by that file's path, which the engine reads instead. Why the object
store and not the state database or a Ray actor: a worker without the data dir always shares the
object store with the engine (its media come through it), but not always a database (the
embedded default is the engine's own SQLite), and a worker holding the database's credentials
could write past the engine's render lease; an actor is a process of its own whose life must
be tied to the engine's, for a few hundred bytes a second. A report is put at most every
PROGRESS_PUT_EVERY_S (and at each new stage): about 60 PUTs per render-minute, ~$0.0003 at S3's
list price, against ~$0.0008 of CPU for the render. A retry on another worker writes the same
key, so the engine sees its progress start again and advance (its pid differs).

The soundtrack the engine prepared ahead is put under its content key (``mixes/<key>.m4a``, the
hash of everything that shapes the audio) before the task starts (:func:`share_soundtrack`); a
worker gets it from there, or builds it from the music and puts it for the next try
(:func:`soundtrack_via`).
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from engine.export.graph import RenderJob, render
from engine.export.mix import Source
from engine.export.soundtrack import SoundtrackOrder
from engine.object_store import ObjectStore
from engine.permissions import PRIVATE_UMASK

PROGRESS_FILE = "progress.json"
PROGRESS_WRITE_EVERY_S = 0.25
PROGRESS_PUT_EVERY_S = 1.0  # through the object store: each PUT is billed
log = logging.getLogger(__name__)


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
    report = progress_writer(task.work_dir / PROGRESS_FILE, task.objects)
    report(0.0, "starting")
    job = RenderJob(draft=task.draft, sources=task.sources, soundtrack=soundtrack_via(task.soundtrack, task.objects),
                    out=task.out, work_dir=work, nice=task.nice, threads=task.threads)
    try:
        for source in task.sources.values() if task.objects is not None else ():
            task.objects.fetch(Path(source.path))
        render(job, report)
        if task.objects is not None:
            task.objects.put(task.out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if task.objects is not None:  # the engine reads no more of it (a killed try's is the render's to delete)
            task.objects.delete(task.work_dir / PROGRESS_FILE)


def progress_writer(path: Path, objects: ObjectStore | None = None) -> Callable[[float, str], None]:
    """A progress callback that writes ``{fraction, stage, pid}`` atomically, each stage and every quarter
    second — to ``path``, or with ``objects`` to its object, every PROGRESS_PUT_EVERY_S."""
    last = {"at": 0.0, "stage": ""}
    every = PROGRESS_WRITE_EVERY_S if objects is None else PROGRESS_PUT_EVERY_S

    def report(fraction: float, stage: str) -> None:
        now = time.monotonic()
        if stage == last["stage"] and now - last["at"] < every and fraction < 1.0:
            return
        last.update(at=now, stage=stage)
        data = json.dumps({"fraction": fraction, "stage": stage, "pid": os.getpid()})
        if objects is not None:
            try:
                objects.write(path, data.encode())
            except Exception:  # noqa: BLE001 - a report lost to a store hiccup is not worth the render
                pass
            return
        part = path.with_name(f".{path.name}.{os.getpid()}")
        part.write_text(data)
        os.replace(part, path)
    return report


def read_progress(work_dir: Path, objects: ObjectStore | None = None) -> dict[str, Any] | None:
    """What the running try last reported (from its object when there is an object store), or None before it
    started or when the store did not answer (the next poll asks again)."""
    try:
        if objects is not None:
            data = objects.read(work_dir / PROGRESS_FILE)
            return json.loads(data) if data is not None else None
        return json.loads((work_dir / PROGRESS_FILE).read_text())
    except Exception:  # noqa: BLE001 - a file not there yet, half a report, the store's own errors: best effort
        return None


def share_soundtrack(order: SoundtrackOrder, objects: ObjectStore) -> None:
    """Put the soundtrack the engine prepared (if it has) under its content key, for workers without its disk."""
    path = order.cached_path()
    try:
        if path is not None and path.is_file():
            objects.put_once(path)
    except Exception as exc:  # noqa: BLE001 - the worker builds it from the music then
        log.warning("could not put the prepared soundtrack in the object store: %s", exc)


def soundtrack_via(soundtrack: Callable[[], Path], objects: ObjectStore | None) -> Callable[[], Path]:
    """On a worker: the prepared soundtrack from the store when this machine lacks it; else built here (from
    the music, got from the store too) and put, so a retry or the next render of the same audio reuses it."""
    if objects is None or not isinstance(soundtrack, SoundtrackOrder):
        return soundtrack

    def get() -> Path:
        path = soundtrack.cached_path()
        if path is not None:
            try:
                return objects.fetch(path)
            except FileNotFoundError:
                pass
            except Exception as exc:  # noqa: BLE001 - the store stumbled: build it here rather than fail the render
                log.warning("could not get the prepared soundtrack from the object store: %s", exc)
        built = soundtrack()
        try:
            objects.put_once(built)
        except Exception as exc:  # noqa: BLE001 - the render has its soundtrack; sharing it is a bonus
            log.warning("could not put the soundtrack in the object store: %s", exc)
        return built
    return get

