"""Renders as Ray tasks (``ai-music serve --ray ADDRESS`` or ``RAY_ADDRESS``; the ``[ray]`` extra).

The engine's fair queue still decides whose render goes next; the picked render runs as a
task (:func:`engine.export.remote_render.run`) on whichever worker Ray places it, while the
queue thread waits for it and relays its progress file to the record. Media go by path: the
cluster must share the engine's data dir. Stopping a render (cancel, time budget, shutdown)
is ``ray.cancel(force=True)``: the worker process dies and its ffmpeg with it (PDEATHSIG,
``media.children``). A worker that dies by itself — killed, out of memory, a spot node
reclaimed — is retried by Ray up to :data:`RETRIES` times; the engine's decode check still
decides whether the result is completed.

Analysis, composing and music-only exports (:class:`~engine.export.executor.Job`) run as tasks too
(:func:`engine.export.remote_job.run`): paths in, a small JSON result out (a composed piece
is written to the shared music cache by the worker). The engine's thread that asked waits
for the result; a session deleted meanwhile cancels its tasks (``ray.cancel(force=True)``),
and a worker that dies is retried elsewhere, as for renders.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import socket
import secrets
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Mapping

import ray
from ray.exceptions import RayError, RayTaskError, TaskCancelledError

from engine.export import remote_job, remote_render
from engine.export.job import Job, JobCancelled
from engine.export.graph import Cancelled, Progress, RenderError, RenderJob
from engine.export.mix import Source
from engine.export.soundtrack import SoundtrackOrder
from engine.object_store import ObjectStore

RETRIES = 2          # tries after a worker died (Ray's max_retries); errors of the render itself are not retried
POLL_S = 0.25        # how often the waiting queue thread relays progress
RENDER_CPUS = 1      # what a render task holds, and so its ffmpeg's threads: N cores run N renders side by side
log = logging.getLogger(__name__)


class RayExecutor:
    def __init__(self, address: str, jobs_dir: Path | None = None, objects: ObjectStore | None = None) -> None:
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            _check_reachable(address)
            try:
                ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
            except Exception as exc:  # noqa: BLE001 - Ray raises many kinds for "not there"; the user needs one line
                reason = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
                raise ConnectionError(f"cannot reach the Ray cluster at {address}: {reason}") from None
        self._task = ray.remote(num_cpus=RENDER_CPUS, max_retries=RETRIES, retry_exceptions=False)(remote_render.run)
        self._job = ray.remote(max_retries=RETRIES, retry_exceptions=False)(remote_job.run)
        self._running: dict[int, Any] = {}   # id(job) → its task's ObjectRef
        self._jobs: dict[str, set[Any]] = defaultdict(set)  # owner → its running jobs' ObjectRefs
        self._cancelled: set[Any] = set()    # refs cancelled for their owner
        self._jobs_dir = jobs_dir.resolve() if jobs_dir is not None else None
        self._objects = objects  # media through an object store (engine.object_store), else by path only
        self._lock = threading.Lock()

    def soundtrack(self, prepared: Callable[[], Path], order: SoundtrackOrder) -> Callable[[], Path]:
        # built on the worker, unless the engine's cache has it already (put in the object store for workers without it)
        order = dataclasses.replace(_absolute_order(order), objects=self._objects)
        if self._objects is not None:
            remote_render.share_soundtrack(order, self._objects)
        return order

    def render(self, job: RenderJob, progress: Progress) -> None:
        job.threads = RENDER_CPUS  # Ray's scheduler already keeps other tasks off the CPUs this one holds
        task = remote_render.RemoteRender(
            draft=dict(job.draft), soundtrack=job.soundtrack, out=job.out.resolve(), work_dir=job.work_dir.resolve(),
            nice=job.nice, sources=_absolute(job.sources), threads=job.threads, objects=self._objects)
        ref = self._task.remote(task)
        with self._lock:
            self._running[id(job)] = ref
        try:
            if job.cancel.is_set():
                ray.cancel(ref, force=True)
            self._wait(ref, job, progress)
            if self._objects is not None:
                self._objects.fetch(job.out)  # the worker may not share this disk: its output came through the store
        finally:
            with self._lock:
                self._running.pop(id(job), None)

    def _wait(self, ref: Any, job: RenderJob, progress: Progress) -> None:
        seen: dict[str, Any] | None = None
        while True:
            done, _ = ray.wait([ref], timeout=POLL_S)
            report = remote_render.read_progress(job.work_dir, self._objects)
            if report and report != seen and not done:
                seen = report
                progress(float(report.get("fraction") or 0), str(report.get("stage") or "rendering"))
            if done:
                break
        try:
            ray.get(ref)
        except RayTaskError as exc:  # the render itself failed: its own error, handled as if it ran here
            if job.cancel.is_set():
                raise Cancelled("render cancelled") from None
            if isinstance(exc.cause, Exception):
                raise exc.cause from None
            raise RenderError("the render failed on its worker") from None
        except (TaskCancelledError, RayError) as exc:
            if job.cancel.is_set() or isinstance(exc, TaskCancelledError):
                raise Cancelled("render cancelled") from None
            raise RenderError(f"the render's worker stopped {RETRIES + 1} times; export again") from None
        progress(1.0, "done")

    def stop(self, job: RenderJob) -> None:
        with self._lock:
            ref = self._running.get(id(job))
        if ref is not None:
            ray.cancel(ref, force=True)

    def run(self, job: Job) -> Any:
        note = self._jobs_dir / f"{secrets.token_hex(8)}.json" if self._jobs_dir is not None else None
        ref = self._job.remote(job.fn, job.args, note, job.owner, self._objects, job.inputs, job.outputs)
        with self._lock:
            self._jobs[job.owner].add(ref)
        try:
            result = ray.get(ref)
            for path in job.outputs if self._objects is not None else ():
                self._objects.fetch(path)
            return result
        except RayTaskError as exc:  # the job itself failed: its own error, as if it ran here
            if ref in self._cancelled:
                raise JobCancelled(job.owner) from None
            raise (exc.cause if isinstance(exc.cause, Exception) else RuntimeError("the job failed")) from None
        except (TaskCancelledError, RayError):
            if ref in self._cancelled:
                raise JobCancelled(job.owner) from None
            raise RuntimeError(f"the job's worker stopped {RETRIES + 1} times") from None
        finally:
            with self._lock:
                self._jobs[job.owner].discard(ref)
                if not self._jobs[job.owner]:
                    del self._jobs[job.owner]
                self._cancelled.discard(ref)
            if note is not None:
                note.unlink(missing_ok=True)

    def cancel(self, owner: str) -> None:
        with self._lock:
            refs = set(self._jobs.get(owner, ()))
            self._cancelled |= refs
        for ref in refs:
            ray.cancel(ref, force=True)

    def close(self) -> None:
        with self._lock:
            owners = list(self._jobs)
        for owner in owners:
            self.cancel(owner)

    def shutdown(self) -> None:
        if self._owns_ray:
            ray.shutdown()


def _check_reachable(address: str) -> None:
    """Fail in one line when nothing listens at a host:port address: Ray itself would retry for minutes.
    Other forms ("auto", "ray://…") are left to Ray's own lookup."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "/" in host:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as exc:
        raise ConnectionError(f"cannot reach the Ray cluster at {address} ({exc.strerror or exc})") from None


def _absolute_order(order: SoundtrackOrder) -> SoundtrackOrder:
    """Workers run in other folders (and maybe on other machines): every path they get is absolute."""
    return dataclasses.replace(order, cache_dir=order.cache_dir.resolve(), music_dir=order.music_dir.resolve(),
                               sources=_absolute(order.sources))


def _absolute(sources: Mapping[str, Source]) -> dict[str, Source]:
    return {name: dataclasses.replace(s, path=os.path.abspath(s.path)) for name, s in sources.items()}
