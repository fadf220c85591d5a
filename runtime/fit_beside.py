"""The fit picture kept beside the video it was drawn for: one rule for MCP and ``ai-music batch --plan``.

The picture is ``<output stem>-plan.png`` (``runtime.job.paired_picture``). A file of that name
is replaced only when the caller says it is theirs to replace (the picture it drew for this very
output, by its own record of what it wrote, as it left it); anyone else's file is left as it is and the picture is numbered
instead (``x-plan-2.png``, ``runtime.job.fit_picture_to``), as ``say`` numbers its own.
A picture of the caller's that was not drawn anew shows a video that is gone, so it is removed.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from runtime.job import NoPicture, paired_picture

#: writes the open project's picture as the path given, replacing only the second path (the caller's own):
#: where it was written (numbered if that name was someone else's), else why not
Fetch = Callable[[Path, Path | None], Path | NoPicture]


@dataclass(frozen=True)
class Beside:
    """What became of the picture beside a video just written."""

    path: Path | None = None         # the picture drawn for it
    missed: NoPicture | None = None  # why none was drawn (asked for, not written)
    stale: Path | None = None        # the caller's earlier picture, still there: it could not be removed
    problem: str | None = None       # why it could not be removed, one line


def refresh(fetch: Fetch | None, output: Path, mine: Path | None) -> Beside:
    """Draw the picture for ``output`` with ``fetch`` (None: not asked for), replacing a file of that name
    only if it is ``mine`` (else under the next free number); then remove ``mine`` unless it was just
    drawn anew."""
    drawn, missed = None, None
    if fetch is not None:
        got = fetch(paired_picture(output), mine)
        drawn, missed = (got, None) if isinstance(got, Path) else (None, got)
    if mine is None or mine == drawn:
        return Beside(drawn, missed)
    try:
        mine.unlink(missing_ok=True)
    except OSError as exc:
        return Beside(drawn, missed, stale=mine, problem=f"could not remove {mine.name}, the picture of the "
                                                          f"video this one replaced ({exc.strerror or exc})")
    return Beside(drawn, missed)


def held(path: Path | None) -> dict[str, Any] | None:
    """How a caller records a picture it wrote (batch's manifest, the MCP server's state): its path and what
    it was like when last seen, so that it replaces the file later only while it is as the caller left it."""
    try:
        stat = path.lstat() if path is not None else None
    except OSError:
        return None
    return {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns} if stat else None


def as_left(record: object) -> Path | None:
    """The picture a :func:`held` record names, if it is still as the caller left it: the one file it may
    replace or remove (one someone put there since is theirs)."""
    if not isinstance(record, dict) or not isinstance(record.get("path"), str):
        return None
    path = Path(record["path"])
    return path if held(path) == record else None
