"""``ai-music batch --plan``: a fit picture per video, ``<output stem>-plan.png`` beside it.

The picture is drawn while the item's project is open (the batch releases it once the MP4
is written), so an item without its picture is redone, not patched later. What the manifest
keeps, per item:

- ``plan``: ``{"path", "output"}``, only when this run wrote the picture, for exactly that
  output. Every new record of the item drops it unless given again, so an item redone
  without ``--plan`` is not "done earlier" with a picture of the video it replaced.
- ``plan_error``: ``{"message", "output", "lasting"}``. A lasting reason (the project has no
  music to draw, e.g. a title-only instruction) settles the item for that output: later
  ``--plan`` runs do not redo it every time. Any other reason leaves it to be redone.
- ``picture``: the file this batch wrote for the item, kept across records: the one picture
  it may replace. A file of that name it did not write is left as it is. Once the item's video
  is made again, that earlier picture shows a video that is gone: unless this run drew it
  anew, it is removed (``drop_stale``).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.job import fit_picture_to, paired_picture

if TYPE_CHECKING:
    from skill.connection import Connection


def draw(conn: "Connection", output: Path, ours: Path | None) -> dict[str, Any]:
    """Save the open project's picture beside ``output``: the manifest's facts for the item (see above)."""
    picture = paired_picture(output)
    if picture.exists() and picture != ours:
        return _missed(output, f"{picture.name} already exists and this batch did not write it: left as it is "
                               "(move it away and run again for a new one)", lasting=False)
    missed = fit_picture_to(conn, picture)
    if missed is not None:
        return _missed(output, missed.message, lasting=missed.lasting)
    return {"plan": {"path": str(picture), "output": str(output)}, "picture": str(picture)}


def drop_stale(ours: Path | None, facts: dict[str, Any]) -> None:
    """Remove the picture an earlier run drew for the item's video, just made again, unless ``facts`` say
    this run replaced it: beside the new video it would show the old one."""
    if ours is not None and str(ours) != facts.get("picture"):
        ours.unlink(missing_ok=True)


def _missed(output: Path, message: str, *, lasting: bool) -> dict[str, Any]:
    return {"plan_error": {"message": message, "output": str(output), "lasting": lasting}}


def settled(entry: dict[str, Any], output: Path) -> bool:
    """Whether ``--plan`` has nothing left to do for a done item: its picture, drawn for this very output,
    is there; or it cannot be drawn for a lasting reason."""
    plan, error = entry.get("plan"), entry.get("plan_error")
    if isinstance(plan, dict) and plan.get("output") == str(output):
        return Path(str(plan.get("path", ""))).is_file()
    return isinstance(error, dict) and error.get("output") == str(output) and error.get("lasting") is True


def ours(entry: dict[str, Any]) -> Path | None:
    """The picture an earlier run of this batch wrote for the item: the one it may replace."""
    picture = entry.get("picture")
    return Path(picture) if isinstance(picture, str) and picture else None


def said(facts: dict[str, Any]) -> tuple[str, str]:
    """What the item's progress line adds after the video's name, and at its end: the picture's name, or
    why there is none (the reason as it was given: it says what it is about)."""
    if "plan" in facts:
        return f" + {Path(facts['plan']['path']).name}", ""
    if "plan_error" in facts:
        return "", f"; {facts['plan_error']['message']}"
    return "", ""
