"""The fit picture over MCP: saved beside the video it was drawn for, and shown to the model as an image.

``make_music_video(plan=true)`` asks the backend whether it draws pictures before anything is
uploaded (``runtime.job.fit_picture_offered``), then saves ``<output stem>-plan.png`` beside
the MP4 (``runtime.job.paired_picture``) while the project is still open. A result carrying a
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

from runtime.job import NO_PICTURE, fit_picture_to, paired_picture

if TYPE_CHECKING:
    from skill.connection import Connection

NOT_OFFERED = f"{NO_PICTURE}; the video is made without it"


def save_paired(conn: "Connection", output: Path, overwrite: bool) -> tuple[str | None, str | None]:
    """Draw the open project's picture beside ``output``: (its path, None) or (None, why not). A picture of
    that name is replaced only with ``overwrite`` (the video itself was then replaced in place too)."""
    picture = paired_picture(output)
    if picture.exists() and not overwrite:
        return None, f"{picture} already exists; pass overwrite: true to replace it"
    missed = fit_picture_to(conn, picture)
    return (None, missed.message) if missed else (str(picture), None)


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
