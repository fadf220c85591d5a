"""Composition runs in worker processes, not in the engine's threads.

Composing was already off the event loop — in threads — and still `/healthz` took 8.2 s
during 50 concurrent music turns: a thread composing holds the one GIL between its numpy
calls, and the event loop waits for it like any other thread (several composing threads:
several waits per request). A worker process has its own interpreter, so the server's
thread only ever waits for a core (and the kernel favours a thread that wakes to answer
over one that computes). There are as many workers as cores, and they die with the
engine. They are forked from a fork server that has imported the composer, so a worker
starts in milliseconds and forking never copies the engine's threads or locks.
"""
from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

from media.cores import usable_cpus

PRELOAD = ["engine.composing", "engine.music.make", "media.audio"]


def _start_method() -> str:
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def _worker_started() -> None:
    """Runs once in each worker: die with the engine.

    A worker's parent is the fork server, and every worker holds pipes that keep the others
    and the server waiting, so after a ``kill -9`` of the engine they would all wait forever.
    ``parent_process().sentinel`` is the engine's end of the pipe that started this worker:
    it reads EOF the moment the engine is gone, whatever killed it."""
    engine = multiprocessing.parent_process()
    if engine is not None:
        threading.Thread(target=_exit_with, args=(engine.sentinel,), name="engine-watch", daemon=True).start()


def _exit_with(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(1)  # no clean-up: a piece half composed is written to a temp name, never the cache's


class Compute:
    """A pool of worker processes for the engine's CPU-bound Python (started on first use)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or usable_cpus()
        self.lock = threading.Lock()
        self.pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context(_start_method())
        if _start_method() == "forkserver":
            context.set_forkserver_preload(PRELOAD)
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=context, initializer=_worker_started)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run ``fn(*args)`` in a worker; ``fn`` and its arguments must be importable/picklable.

        A worker killed from outside (the OOM killer) breaks its pool for good: the next
        piece gets a new one."""
        with self.lock:
            try:
                return self.pool.submit(fn, *args)
            except BrokenProcessPool:
                self.pool = self._new_pool()
                return self.pool.submit(fn, *args)

    def warm_up(self) -> None:
        """Start a worker now, so the first piece does not wait for the fork server."""
        self.submit(os.getpid).result()

    def shutdown(self) -> None:
        """Wait for the pieces being composed (they write into the data dir), drop queued ones."""
        with self.lock:
            self.pool.shutdown(wait=True, cancel_futures=True)
