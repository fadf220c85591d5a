"""Renders as Ray tasks (``ai-music serve --ray ADDRESS`` or ``RAY_ADDRESS``; the ``[ray]`` extra).

The engine's fair queue still decides whose render goes next; the picked render runs as a
task (:func:`engine.export.remote_render.run`) on whichever worker Ray places it, while the
queue thread waits for it and relays its progress file to the record. Media go by path: the
cluster must share the engine's data dir. Stopping a render (cancel, time budget, shutdown)
is ``ray.cancel(force=True)``: the worker process dies and its ffmpeg with it (PDEATHSIG,
``media.children``). A worker that dies by itself — killed, out of memory, a spot node
reclaimed — is retried by Ray up to :data:`RETRIES` times; the engine's decode check still
decides whether the result is completed.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
from pathlib import Path
from typing import Any, Callable, Mapping

import ray
from ray.exceptions import RayError, RayTaskError, TaskCancelledError

from engine.export import remote_render
from engine.export.graph import Cancelled, Progress, RenderError, RenderJob
from engine.export.mix import Source
from engine.export.soundtrack import SoundtrackOrder

RETRIES = 2          # tries after a worker died (Ray's max_retries); errors of the render itself are not retried
POLL_S = 0.25        # how often the waiting queue thread relays progress
log = logging.getLogger(__name__)


class RayExecutor:
    def __init__(self, address: str) -> None:
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            _check_reachable(address)
            try:
                ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
            except Exception as exc:  # noqa: BLE001 - Ray raises many kinds for "not there"; the user needs one line
                reason = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
                raise ConnectionError(f"cannot reach the Ray cluster at {address}: {reason}") from None
        self._task = ray.remote(max_retries=RETRIES, retry_exceptions=False)(remote_render.run)
        self._running: dict[int, Any] = {}   # id(job) → its task's ObjectRef
        self._lock = threading.Lock()

    def soundtrack(self, prepared: Callable[[], Path], order: SoundtrackOrder) -> Callable[[], Path]:
        return _absolute_order(order)  # built on the worker, unless the engine's cache has it already

    def render(self, job: RenderJob, progress: Progress) -> None:
        task = remote_render.RemoteRender(
            draft=dict(job.draft), soundtrack=job.soundtrack, out=job.out.resolve(), work_dir=job.work_dir.resolve(),
            nice=job.nice, sources=_absolute(job.sources))
        ref = self._task.remote(task)
        with self._lock:
            self._running[id(job)] = ref
        try:
            if job.cancel.is_set():
                ray.cancel(ref, force=True)
            self._wait(ref, job, progress)
        finally:
            with self._lock:
                self._running.pop(id(job), None)

    def _wait(self, ref: Any, job: RenderJob, progress: Progress) -> None:
        seen: dict[str, Any] | None = None
        while True:
            done, _ = ray.wait([ref], timeout=POLL_S)
            report = remote_render.read_progress(job.work_dir)
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
