"""The whole job in one step (``ai-music run``, MCP ``make_music_video``): upload → request → export.

SKILL.md's Quick edit workflow is exactly this: "Upload — "generate background music that
matches the mood and length of my video" — Download MP4". A job whose prompt asks for no
edit — empty, only spaces, or just "export 1080p" — would otherwise render the video as it
came in, without music, and still say "✅ Video ready!". Such a job gets the default request,
the same one an omitted prompt gets; a job always ends with an export.

Kept free of heavy imports: the CLI reads :data:`DEFAULT_REQUEST` for its help text.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from protocol.requests import DEFAULT_REQUEST

if TYPE_CHECKING:
    from runtime.document.router import Route

__all__ = ["DEFAULT_REQUEST", "job_steps"]


def job_steps(steps: Sequence["Route"], default_request: str = DEFAULT_REQUEST) -> list["Route"]:
    """``steps`` as a whole job: with a request (the default one after the uploads if the user
    gave none) and ending with an export (unless it already exports)."""
    from runtime.document.router import Route
    from runtime.document.model import Action

    out = list(steps)
    if not any(s.action in (Action.CHAT, Action.UPLOAD) for s in out):
        return out  # "credits", "status": nothing to make a video of
    if not any(s.action is Action.CHAT and s.text.strip() for s in out):
        out = [s for s in out if s.action is not Action.CHAT]  # an empty chat step is no request
        at = max((i + 1 for i, s in enumerate(out) if s.action is Action.UPLOAD), default=0)
        out.insert(at, Route(action=Action.CHAT, reason="no request given: the job's default request",
                             text=default_request, skip_sse=False))
    if not any(s.action is Action.EXPORT for s in out):
        out.append(Route(action=Action.EXPORT, reason="the job ends with an export"))
    return out
