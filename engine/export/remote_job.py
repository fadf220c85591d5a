"""A small job (analysis, composing) as a Ray worker runs it: the function, and a note of who runs it.

While it runs, the worker's pid is in ``JOBS_DIR/<job id>.json`` (with the job's owner and
function): an operator — or a test — sees which worker process holds which session's work.
A worker killed mid-job leaves its note; the retry on another worker writes its own over it,
and the engine removes the note once the job ended either way.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

from engine.object_store import ObjectStore
from engine.permissions import PRIVATE_UMASK


def run(fn: Callable[..., Any], args: tuple[Any, ...], note: Path | None, owner: str,
        objects: ObjectStore | None = None, inputs: tuple[Path, ...] = (), outputs: tuple[Path, ...] = ()) -> Any:
    """``fn(*args)``, noted in ``note`` while it runs; with ``objects``, its ``inputs`` got from the store
    first where this machine lacks them and its ``outputs`` put there after."""
    os.umask(PRIVATE_UMASK)  # as under `ai-music serve`: what a job writes (music, analyses) is users' data
    if note is not None:  # on a machine without the data dir, an operator's note in a folder of its own
        note.parent.mkdir(parents=True, exist_ok=True)
        part = note.with_name(f".{note.name}.{os.getpid()}")
        part.write_text(json.dumps({"pid": os.getpid(), "owner": owner, "fn": f"{fn.__module__}.{fn.__qualname__}"}))
        os.replace(part, note)
    for path in inputs if objects is not None else ():
        objects.fetch(path)
    result = fn(*args)
    for path in outputs if objects is not None else ():
        objects.put(path)
    return result


def read_note(note: Path) -> dict[str, Any] | None:
    try:
        return json.loads(note.read_text())
    except (OSError, ValueError):
        return None
