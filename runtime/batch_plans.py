"""``ai-music batch --plan``: a fit picture per video, ``<output stem>-plan.png`` beside it.

The picture is drawn while the item's project is open; the batch releases the project once
the MP4 is written, so a video finished earlier without its picture (made without ``--plan``)
cannot get one later. It is never made again for it (another session, other music, credits
spent): it stays done, its line says so, and the summary once how to get a new video with it. What
the manifest keeps, per item:

- ``plan``: ``{"path", "output"}``, only when this run wrote the picture, for exactly that
  output. Every new record of the item drops it unless given again.
- ``plan_error``: ``{"message", "output", "lasting"}``: why there is no picture. Lasting when
  asking again cannot help: the project has no music to draw.
- ``picture``: ``{"path", "size", "mtime_ns"}``, the file this batch wrote for the item and that
  is still there, kept across records: the one picture it may replace or remove
  (``runtime.fit_beside``), and only while that file is as the batch left it. Dropped once the
  file is removed or not drawn anew, so a file of that name made later by someone else is theirs.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.fit_beside import Fetch, as_left, held, refresh


def after_video(fetch: Fetch | None, output: Path, ours: Path | None) -> dict[str, Any]:
    """The picture side of an item whose video was just written to ``output`` (drawn when ``fetch`` is
    given, see ``runtime.fit_beside``): the manifest's facts for the item, ``picture`` None for none."""
    beside = refresh(fetch, output, ours)
    facts: dict[str, Any] = {"picture": held(beside.path or beside.stale)}
    if beside.path is not None:
        facts["plan"] = {"path": str(beside.path), "output": str(output)}
    elif beside.missed is not None:
        facts["plan_error"] = {"message": beside.missed.message, "output": str(output),
                               "lasting": beside.missed.lasting}
    if beside.problem:
        facts["picture_error"] = beside.problem
    return facts


def said(facts: dict[str, Any]) -> tuple[str, str]:
    """What the item's progress line adds after the video's name, and at its end: the picture's name, or
    why there is none (the reason as it was given: it says what it is about)."""
    name = f" + {Path(facts['plan']['path']).name}" if "plan" in facts else ""
    end = f"; {facts['plan_error']['message']}" if "plan_error" in facts else ""
    if facts.get("picture_error"):
        end += f"; {facts['picture_error']}"
    return name, end


@dataclass(frozen=True)
class Missing:
    """Why a video done earlier has no fit picture: ``line`` ends its progress line; ``released`` when the
    reason is that its project is gone (the summary then says once how to get a new video with one)."""

    line: str
    released: bool = False


def missing(entry: dict[str, Any], output: Path) -> Missing | None:
    """For an item done earlier, under ``--plan``: None when its picture for this very output is there,
    else why there is none, true now."""
    plan, error = entry.get("plan"), entry.get("plan_error")
    if isinstance(plan, dict) and plan.get("output") == str(output) and Path(str(plan.get("path", ""))).is_file():
        return None
    if isinstance(error, dict) and error.get("output") == str(output) and error.get("lasting") is True:
        return Missing(f"; {error.get('message')}")
    how = "" if isinstance(plan, dict) or isinstance(error, dict) else " (made without --plan)"
    return Missing(f"; no fit picture: it can't be drawn any more, its project was released{how}", released=True)


def make_again(video: Path, instruction: str) -> str:
    """How to get a finished video with its picture, said once in the summary: a new one, same instruction."""
    return (f"For a video with its fit picture, make it again: "
            f"`ai-music run {shlex.quote(str(video))} {shlex.quote(instruction)} --plan PLAN.png`")


def ours(entry: dict[str, Any]) -> Path | None:
    """The picture an earlier run of this batch wrote for the item, if it is still as the batch left it: the
    one file it may replace or remove (one the user put there since is theirs)."""
    return as_left(entry.get("picture"))
