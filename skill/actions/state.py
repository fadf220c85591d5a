"""§3.4 State — the draft as the document's one-line track summary, plus the uploads."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from skill.connection import Connection
from skill.draft import summarize


@dataclass(frozen=True)
class StateResult:
    state: dict[str, Any]
    summary: str
    text: str


def fetch_state(conn: Connection, known: dict[str, Any] | None = None) -> dict[str, Any]:
    """The project's state; ``known``: the state this client read after its last change (a chat turn's end),
    reused rather than asked for again."""
    if known is not None:
        return known
    return conn.in_session(lambda session: conn.client.state(session.session_id))


def state(conn: Connection, known: dict[str, Any] | None = None) -> StateResult:
    """The state as the user reads it (``known``: as :func:`fetch_state`)."""
    data = fetch_state(conn, known)
    summary = summarize(data.get("draft"), conn.skill.conversation.track_labels)
    uploads = [i for i in data.get("video_infos") or [] if isinstance(i, dict)]
    text = summary
    if uploads:
        names = ", ".join(str(i.get("filename")) for i in uploads[:10])
        more = f" and {len(uploads) - 10} more" if len(uploads) > 10 else ""
        text += f"\nFiles in this project: {names}{more}."
    return StateResult(data, summary, text)
