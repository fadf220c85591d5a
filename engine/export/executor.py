"""Where a render's work runs: one interface, two executors (docs/scaling.md, issue 18).

:class:`RenderManager <engine.export.jobs.RenderManager>` keeps everything a user sees of a
job — the record, the fair queue between users, the time budget, cancel, the decode check
before "completed" — and hands only the work itself (soundtrack and ffmpeg) to an executor:

- :class:`InProcess`, the default: on the queue thread that picked the job, as always.
- ``engine.export.executor_ray.RayExecutor`` (``ai-music serve --ray ADDRESS``): as a Ray
  task on a cluster that shares the data dir; imported only when asked for, so an engine
  without ``--ray`` never loads Ray.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Protocol

from engine.export.graph import Progress, RenderJob, render
from engine.export.soundtrack import SoundtrackOrder


class Executor(Protocol):
    def soundtrack(self, prepared: Callable[[], Path], order: SoundtrackOrder) -> Callable[[], Path]:
        """How the job gets its soundtrack: the engine's prepared one, or ``order`` built where the job runs."""
        ...

    def render(self, job: RenderJob, progress: Progress) -> None:
        """Write ``job.out`` or raise :class:`~engine.export.graph.RenderError` (``Cancelled`` once stopped)."""
        ...

    def stop(self, job: RenderJob) -> None:
        """End a running ``render`` soon (``job.cancel`` is already set)."""
        ...

    def shutdown(self) -> None:
        ...


class InProcess:
    """Today's executor: the render runs here; its ffmpeg is killed to stop it."""

    def soundtrack(self, prepared: Callable[[], Path], order: SoundtrackOrder) -> Callable[[], Path]:
        return prepared  # the engine's pool, which usually built it ahead after the edit

    def render(self, job: RenderJob, progress: Progress) -> None:
        render(job, progress)

    def stop(self, job: RenderJob) -> None:
        if job.process is not None and job.process.poll() is None:
            job.process.kill()

    def shutdown(self) -> None:
        pass


class ExecutorUnavailable(RuntimeError):
    """The executor asked for cannot run; ``str()`` says why in one line."""


def executor_for(ray_address: str | None) -> Executor:
    """The in-process executor, or Ray's when an address is given (Ray is imported only then)."""
    if not ray_address:
        return InProcess()
    try:
        from engine.export.executor_ray import RayExecutor
    except ImportError:
        raise ExecutorUnavailable("--ray needs Ray: pip install 'ai-music[ray]'") from None
    try:
        return RayExecutor(ray_address)
    except ConnectionError as exc:
        raise ExecutorUnavailable(str(exc)) from None
