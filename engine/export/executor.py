"""Where the engine's heavy work runs: one interface, two executors (docs/scaling.md, issue 18).

:class:`RenderManager <engine.export.jobs.RenderManager>` keeps everything a user sees of a
job — the record, the fair queue between users, the time budget, cancel, the decode check
before "completed" — and hands only the work itself (soundtrack and ffmpeg) to an executor.
The analysis of an upload, the composing of a piece and a music-only export
(``engine.export.music_only.music_job``) are :class:`Job` s on the same executor: media by
path, a small JSON result back, cancelled with their owner.

- :class:`InProcess`, the default: renders on the queue thread that picked them, analysis in
  the engine's thread that asked, composing in the engine's worker processes
  (``engine.compute``) when it has them — as always.
- ``engine.export.executor_ray.RayExecutor`` (``ai-music serve --ray ADDRESS``): as Ray
  tasks on a cluster that shares the data dir; imported only when asked for, so an engine
  without ``--ray`` never loads Ray.
"""
from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

from engine.export.graph import Progress, RenderJob, render
from engine.export.job import Job, JobCancelled, Owners
from engine.export.render_queue import encoder_threads
from engine.export.soundtrack import SoundtrackOrder

if TYPE_CHECKING:
    from engine.compute import Compute
    from engine.object_store import ObjectStore


class Executor(Protocol):
    def soundtrack(self, prepared: Callable[[], Path], order: SoundtrackOrder) -> Callable[[], Path]:
        """How the job gets its soundtrack: the engine's prepared one, or ``order`` built where the job runs."""
        ...

    def render(self, job: RenderJob, progress: Progress) -> None:
        """Write ``job.out`` or raise :class:`~engine.export.graph.RenderError` (``Cancelled`` once stopped).

        The executor alone sets ``job.threads``: only it knows how many cores the render has to itself."""
        ...

    def stop(self, job: RenderJob) -> None:
        """End a running ``render`` soon (``job.cancel`` is already set)."""
        ...

    def run(self, job: Job) -> Any:
        """``job``'s result, once it ran; :class:`JobCancelled` once its owner was cancelled."""
        ...

    def cancel(self, owner: str) -> None:
        """Stop ``owner``'s running jobs (as soon as the executor can) and drop their results."""
        ...

    def close(self) -> None:
        """The engine is stopping: cancel every owner's jobs, and refuse new ones (``JobCancelled``)."""
        ...

    def shutdown(self) -> None:
        ...


class InProcess:
    """Today's executor: the render runs here; its ffmpeg is killed to stop it, and encodes on its
    share of this machine's cores beside the renders already running (``render_queue.encoder_threads``).
    A job runs in the calling thread, or (``python`` jobs) in a worker process of ``compute``. A
    cancelled one stops at its next check if it is ``stoppable`` and runs here; else it finishes
    and its result is dropped."""

    def __init__(self, compute: Compute | None = None) -> None:
        self.compute = compute
        self.owners = Owners()
        self._renders = 0  # running here now: the cores are shared between them
        self._lock = threading.Lock()

    def soundtrack(self, prepared: Callable[[], Path], order: SoundtrackOrder) -> Callable[[], Path]:
        return prepared  # the engine's pool, which usually built it ahead after the edit

    def render(self, job: RenderJob, progress: Progress) -> None:
        with self._lock:
            job.threads = encoder_threads(job.draft, self._renders)
            self._renders += 1
        try:
            render(job, progress)
        finally:
            with self._lock:
                self._renders -= 1

    def stop(self, job: RenderJob) -> None:
        if job.process is not None and job.process.poll() is None:
            job.process.kill()

    def run(self, job: Job) -> Any:
        if self.owners.closed:
            raise JobCancelled(job.owner)
        self.owners.start(job.owner)
        try:
            if job.python and self.compute is not None:
                result = self.compute.submit(job.fn, *job.args).result()
            elif job.stoppable:  # in this thread: it can ask whether its owner was cancelled, and stop
                result = job.fn(*job.args, stop=functools.partial(self.owners.is_cancelled, job.owner))
            else:
                result = job.fn(*job.args)
        except BaseException as exc:
            if not self.owners.end(job.owner) or not isinstance(exc, Exception):
                raise
            raise JobCancelled(job.owner) from None  # it stopped because it was asked to (or failed meanwhile)
        if self.owners.end(job.owner):
            raise JobCancelled(job.owner)
        return result

    def cancel(self, owner: str) -> None:
        self.owners.cancel(owner)

    def close(self) -> None:
        self.owners.close()

    def shutdown(self) -> None:
        if self.compute is not None:
            self.compute.shutdown()


class ExecutorUnavailable(RuntimeError):
    """The executor asked for cannot run; ``str()`` says why in one line."""


def executor_for(ray_address: str | None, compute: Compute | None = None,
                 jobs_dir: Path | None = None, objects: ObjectStore | None = None) -> Executor:
    """The in-process executor (composing in ``compute``'s processes), or Ray's when an address
    is given (Ray is imported only then; its jobs note which worker runs them in ``jobs_dir``, and
    move media through ``objects`` when there is one)."""
    if not ray_address:
        return InProcess(compute)
    try:
        from engine.export.executor_ray import RayExecutor
    except ImportError:
        raise ExecutorUnavailable("--ray needs Ray: pip install 'ai-music[ray]'") from None
    try:
        return RayExecutor(ray_address, jobs_dir, objects)
    except ConnectionError as exc:
        raise ExecutorUnavailable(str(exc)) from None
