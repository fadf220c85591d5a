"""The fit picture over MCP: saved beside the video it was drawn for, and shown to the model as an image.

``make_music_video(plan=true)`` asks the backend whether it draws pictures before anything is
uploaded (``runtime.job.fit_picture_offered``), then saves ``<output stem>-plan.png`` beside
the MP4 while the project is still open (``runtime.fit_beside``): a file of that name is
replaced only when the MP4 replaced the file ``output_path`` named in place, else the picture
is numbered (``<output stem>-plan-2.png``). A result carrying a
picture is a ``CallToolResult`` with the structured data (as JSON text, as the SDK would
write it) and the PNG as ``ImageContent``; a host that shows images shows it, and ``plan``
names the file either way.
"""
from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp_types import CallToolResult, ImageContent, TextContent

from runtime.fit_beside import refresh
from runtime.job import fit_picture_to, paired_picture

if TYPE_CHECKING:
    from skill.connection import Connection


def named_file(output_path: str | None) -> Path | None:
    """The file ``output_path`` names, if one is there before the job: the only file an MP4 replaces in
    place (with ``overwrite``; a folder or no path gets a fresh name)."""
    if not output_path or output_path.endswith(("/", os.sep)):
        return None
    path = Path(os.path.expanduser(output_path))
    return path.absolute() if path.is_file() else None


def save_paired(conn: "Connection", output: Path, replaced: Path | None) -> tuple[str | None, str | None]:
    """Draw the open project's picture beside ``output``: (its path, None) or (None, why not). A picture of
    that name is replaced (or removed, if none is drawn) only when ``output`` is ``replaced``, the file that
    was there before and was replaced in place: it showed the video that is gone."""
    mine = paired_picture(output) if replaced is not None and output.absolute() == replaced else None
    beside = refresh(lambda dest: fit_picture_to(conn, dest), output, mine)
    why_not = beside.missed.message if beside.missed else beside.problem
    return (str(beside.path) if beside.path else None), why_not


def with_picture(structured: dict[str, Any], picture: str | None) -> CallToolResult | dict[str, Any]:
    """The tool's result: as it is without a picture, else its data plus the PNG as an image block."""
    if picture is None:
        return structured
    try:
        png = Path(picture).read_bytes()
    except OSError:
        return structured  # saved a moment ago and gone already: the path still says where it was
    return CallToolResult(content=[TextContent(type="text", text=json.dumps(structured, ensure_ascii=False)),
                                   ImageContent(type="image", data=base64.b64encode(png).decode("ascii"),
                                                mime_type="image/png")],
                          structured_content=structured)
