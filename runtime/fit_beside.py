"""The fit picture kept beside the video it was drawn for: one rule for MCP and ``ai-music batch --plan``.

The picture is ``<output stem>-plan.png`` (``runtime.job.paired_picture``). A file of that name
is replaced only when the caller says it is theirs to replace (the picture drawn for the video
just replaced in place); anyone else's file is left as it is and the picture is numbered
instead (``x-plan-2.png``, ``runtime.job.free_picture``), as ``say`` numbers its own.
A picture of the caller's that was not drawn anew shows a video that is gone, so it is removed.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from runtime.job import NoPicture, free_picture, paired_picture

#: writes the open project's picture to the path given: None when written, else why not
Fetch = Callable[[Path], NoPicture | None]


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
        picture = free_picture(paired_picture(output), mine)
        missed = fetch(picture)
        drawn = None if missed else picture
    if mine is None or mine == drawn:
        return Beside(drawn, missed)
    try:
        mine.unlink(missing_ok=True)
    except OSError as exc:
        return Beside(drawn, missed, stale=mine, problem=f"could not remove {mine.name}, the picture of the "
                                                          f"video this one replaced ({exc.strerror or exc})")
    return Beside(drawn, missed)
