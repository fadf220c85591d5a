"""The fit picture over MCP: saved beside the video it was drawn for, and shown to the model as an image.

``make_music_video(plan=true)`` asks the backend whether it draws pictures before anything is
uploaded (``runtime.job.fit_picture_offered``), then saves ``<output stem>-plan.png`` beside
the MP4 while the project is still open (``runtime.fit_beside``): a file of that name is
replaced only when this server wrote it for that very MP4 (and it is as the server left it),
else the picture is numbered (``<output stem>-plan-2.png``). A result carrying a
picture is a ``CallToolResult`` with the structured data (as JSON text, as the SDK would
write it) and the PNG as ``ImageContent``; a host that shows images shows it, and ``plan``
names the file either way.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp_types import CallToolResult, ImageContent, TextContent

from runtime.fit_beside import as_left, held, refresh
from runtime.job import fit_picture_to

if TYPE_CHECKING:
    from skill.connection import Connection


def save_paired(conn: "Connection", output: Path, drawn: dict[str, dict[str, Any]]) -> tuple[str | None, str | None]:
    """Draw the open project's picture beside ``output``: (its path, None) or (None, why not). ``drawn`` is the
    server's record of the pictures it wrote, per output (kept for the session, updated here): only the one it
    wrote for this very ``output``, still as it left it, is replaced (or removed, if none is drawn): it showed
    the video that is gone. Any other file of that name is someone else's — the picture is numbered — even
    one called ``<stem>-plan.png``."""
    key = str(output.absolute())
    beside = refresh(lambda picture, mine: fit_picture_to(conn, picture, mine), output, as_left(drawn.get(key)))
    record = held(beside.path or beside.stale)
    if record is None:
        drawn.pop(key, None)
    else:
        drawn[key] = record
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
