"""A small job of the engine (an upload's analysis, a piece's composing) as any executor runs it.

Unlike a render it has no record, queue or progress of its own: the engine's thread that
needs the result asks an executor (``engine.export.executor``) to run it and waits.
"""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


@dataclass(frozen=True)
class Job:
    """A small job: ``fn(*args)`` with paths and small values in, a small (JSON) result out.

    ``fn`` must be importable (a module-level function): a Ray worker imports it."""
    owner: str                        # the session it works for: cancelled when the session goes
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    python: bool = False              # CPU-bound Python (composing): kept off the engine's GIL
    inputs: tuple[Path, ...] = ()     # files it reads: got from the object store where a worker lacks them
    outputs: tuple[Path, ...] = ()    # files it writes: put there by the worker, got back by the engine
    stoppable: bool = False           # fn takes ``stop=``, a check it asks now and then, where it runs in-thread


class JobCancelled(Exception):
    """The job's session went (or the engine stops): its result, if any, is dropped."""


class Owners:
    """Which owners have jobs running, and which of those were cancelled (both forget an owner
    when its last job ends, so neither grows)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: Counter[str] = Counter()
        self.cancelled: set[str] = set()
        self.closed = False  # the engine is stopping: every job is cancelled, now and from now on

    def start(self, owner: str) -> None:
        with self.lock:
            self.running[owner] += 1

    def end(self, owner: str) -> bool:
        """Whether ``owner`` was cancelled while this job ran."""
        with self.lock:
            cancelled = owner in self.cancelled or self.closed
            self.running[owner] -= 1
            if self.running[owner] <= 0:
                del self.running[owner]
                self.cancelled.discard(owner)
            return cancelled

    def is_cancelled(self, owner: str) -> bool:
        with self.lock:
            return self.closed or owner in self.cancelled

    def close(self) -> None:
        """Cancel every owner's jobs, and those started from now on (the engine is stopping)."""
        with self.lock:
            self.closed = True
            self.cancelled |= set(self.running)

    def cancel(self, owner: str) -> bool:
        """Mark ``owner`` cancelled; whether it has jobs running."""
        with self.lock:
            if owner in self.running:
                self.cancelled.add(owner)
                return True
            return False
