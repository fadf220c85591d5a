"""§3.5 Export & deliver — render, poll, download; resumable across runs.

Never sent to the backend as a chat message (the document is explicit). Steps:
(a) pre-check the draft (at least one track with segments, else "generate first");
(b) submit a render with a unique id — the id is saved in the config dir *before* it is
submitted, so an interrupted run finds it next time and resumes polling instead of
orphaning the job; (c) poll at the skill's interval (``NEMO_POLL_INTERVAL`` overrides),
within the document's budget (interval × max polls); a failed render is retried once
with a new id; (d) download streamed to ``<file>.part`` and renamed (resumed with a
Range request after an interruption), from the output URL or the fallback endpoint —
never over a file that is there (``skill.destination``: where it lands is settled, and a
place that can't be written refused, before the render is even submitted);
(e) hand over the file and the project link — a claim-token link, never a URL with the
API token in it.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocol.draft import read_draft
from skill import destination, errors
from skill.actions import Output
from skill.actions.state import fetch_state
from skill.client import RenderStatus
from skill.connection import Connection
from skill.destination import Destination


@dataclass(frozen=True)
class ExportResult:
    path: Path
    render_id: str
    link: str | None
    size: int
    resumed: bool
    text: str


def draft_hash(draft: Any) -> str:
    return hashlib.sha256(json.dumps(draft, sort_keys=True, default=str).encode()).hexdigest()[:16]


def new_render_id() -> str:
    return f"render_{int(time.time() * 1000)}_{secrets.token_hex(3)}"


def _progress_messages(conn: Connection) -> tuple[str, str]:
    """(start, done) from the document's progress line; percentages are the progress display's."""
    found = list(conn.skill.export.progress)
    start = next((m for m in found if "%" not in m and "✅" not in m), "⏳ Rendering…")
    done = next((m for m in found if "✅" in m), "✅ Video ready!")
    return start, done


def requested_format(text: str) -> str:
    """mp4 unless the user asked for the music alone: "as mp3", "wav", "stems", "music only"."""
    lower = text.lower()
    if re.search(r"\bstems?\b|分轨", lower):
        return "stems"
    if re.search(r"\bmp3\b", lower):
        return "mp3"
    if re.search(r"\bwav\b|music only|only the music|just the music|audio only|仅音乐|只要音乐|纯音乐", lower):
        return "wav"
    return "mp4"


def export(conn: Connection, out: Output, *, dest: str | Path | Destination | None = None,
           directory: Path | None = None, fmt: str = "mp4", overwrite: bool = False,
           known_state: dict[str, Any] | None = None) -> ExportResult:
    """Render and download; ``dest`` as the user gave it (a file, or a folder ending in "/"),
    ``directory`` where a default name goes (skill.destination has the rules). ``known_state``: the
    project's state as this client read it after its last change (a chat turn's end), reused rather than
    asked for again."""
    session = conn.ensure_session()
    key = conn.backend.key
    pending = {rid: entry for rid, entry in conn.store.pending_renders(key).items()
               if entry.get("session_id") == session.session_id}
    state = fetch_state(conn, known_state)
    draft = state.get("draft")
    parsed = read_draft(draft)
    current = draft_hash(draft) + ("" if fmt == "mp4" else f":{fmt}")
    resumed = next(((rid, e) for rid, e in pending.items() if e.get("draft") == current), None)
    for rid in pending:
        if resumed is None or rid != resumed[0]:
            conn.store.save_render(key, rid, None)  # made for an older draft: superseded
    start, done_message = _progress_messages(conn)
    if resumed is not None:
        fmt = resumed[1].get("format", fmt)

    def place() -> Destination:  # checked before anything is rendered
        if isinstance(dest, Destination):
            return dest
        return destination.resolve(dest, folder=directory or Path.cwd(), input_name=destination.input_name(state),
                                   fmt=fmt, inputs=conn.inputs(), overwrite=overwrite)

    if resumed is not None:
        render_id, entry = resumed
        # a place given now wins (the old one may be why it failed)
        target = place() if dest is not None else Destination.from_json(entry)
        out.notice(f"Resuming the render started earlier ({render_id})…")
    else:
        if parsed is None or not parsed.exportable:
            raise errors.NothingToExport("nothing to export yet",
                                         user_message="There's nothing to export yet — send a video and ask for "
                                                      "music (or describe the track you want) first.")
        target = place()
        render_id = new_render_id()
        conn.store.save_render(key, render_id, {"session_id": session.session_id, "draft": current,
                                                **target.to_json(), "started": time.time(), "format": fmt})
        out.notice(start)
    try:
        status = _render_until_done(conn, out, render_id, draft, target, fmt, submitted=resumed is not None)
        render_id = status.id
        path = conn.call(lambda: conn.client.download_render(
            status, target.path, lambda n, total: out.progress("Downloading", n, total, "B"),
            overwrite=target.overwrite, renumber=target.numbered, local=conn.backend.local))
    except KeyboardInterrupt:  # the render id is in renders.json: the next export resumes it
        raise errors.ExportInterrupted(str(target.path)) from None
    except OSError as exc:  # the render is kept (renders.json): the next export downloads it
        raise errors.LocalWriteError(
            f"could not save {target.path}: {exc.strerror or exc} — free some space or pick another place with -o, "
            "then export again (the finished render is kept)") from exc
    for rid in list(conn.store.pending_renders(key)):
        if rid in (render_id, *pending):
            conn.store.save_render(key, rid, None)
    link = project_link(conn)
    size = path.stat().st_size
    what = {"mp4": done_message, "wav": "✅ Music ready (WAV):", "mp3": "✅ Music ready (MP3):",
            "stems": "✅ Stems ready (zip: mix + one WAV per instrument group):"}[fmt]
    text = f"{what} {path} ({size / 1024 / 1024:.1f} MB)"  # the link is shown apart (Output.link)
    return ExportResult(path=path, render_id=render_id, link=link, size=size, resumed=resumed is not None, text=text)


def _render_until_done(conn: Connection, out: Output, render_id: str, draft: Any, target: Destination, fmt: str,
                       *, submitted: bool) -> RenderStatus:
    settings = conn.settings
    retried = False
    session = conn.ensure_session()
    while True:
        if not submitted:
            rid = render_id
            try:
                conn.in_session(lambda s: conn.client.submit_render(rid, s.session_id, draft, fmt))
            except errors.TransportError:
                pass  # it may have been created: polling tells (a repeated id is idempotent)
        submitted = False
        status = _poll(conn, out, render_id, settings.poll_budget_s)
        if status.status == "completed":
            return status
        if status.status in ("failed", "missing") and not retried:
            retried = True
            conn.store.save_render(conn.backend.key, render_id, None)
            render_id = new_render_id()
            conn.store.save_render(conn.backend.key, render_id, {
                "session_id": session.session_id, "draft": draft_hash(draft) + ("" if fmt == "mp4" else f":{fmt}"),
                **target.to_json(), "started": time.time(), "format": fmt})
            out.notice(f"The render failed ({status.error or 'no reason given'}); trying again with a new job…")
            continue
        if status.status == "timeout":
            raise errors.RenderFailed("render still running",
                                      user_message="The render is still running after the documented wait. "
                                                   "Run the export again later — it will pick up the same job.")
        raise errors.RenderFailed(f"render {status.status}: {status.error}",
                                  user_message=f"The render {status.status}: {status.error or 'no reason given'}.")


def phase_of(status: RenderStatus) -> str:
    """What the render is doing, for the progress display: the backend's stage when it names one."""
    if status.status == "pending":
        return "Queued"
    if status.stage:
        return status.stage[:1].upper() + status.stage[1:]
    return "Rendering"


def _poll(conn: Connection, out: Output, render_id: str, budget_s: float) -> RenderStatus:
    settings = conn.settings
    deadline = time.monotonic() + budget_s
    last: tuple[str, str | None] | None = None
    while True:
        asked = time.monotonic()
        try:
            status = conn.call(lambda: conn.client.poll_render(render_id))
        except errors.ApiError as exc:
            if exc.http_status == 404 or exc.code == 1002:
                return RenderStatus(render_id, "missing", None, None, "the backend does not know this render")
            raise
        if status.status in ("pending", "processing"):
            out.progress(phase_of(status), status.progress or 0, 100)
        if status.status in ("completed", "failed", "cancelled"):
            if status.status == "completed" and status.output_url is None:
                status = RenderStatus(status.id, status.status, 100, None, None)
            return status
        if time.monotonic() >= deadline:
            return RenderStatus(render_id, "timeout", status.progress, None, None)
        # the embedded engine holds a poll until the render's phase changes (engine.export.changes): after news
        # of a phase the next poll goes at once (a few a render), and a poll that waited counts against the
        # interval. Any other backend gets the document's pace (every N s, at most M polls) whatever it says.
        seen = (status.status, status.stage)
        if seen == last or not conn.backend.local:
            time.sleep(max(0.0, settings.poll_interval_s - (time.monotonic() - asked)))
        last = seen


def project_link(conn: Connection) -> str | None:
    """The browser link to the project: via a claim token, never with the API token.

    None for the embedded engine: it stops when this command ends, so its pages would too."""
    if conn.backend.local:
        return None
    session = conn.ensure_session()
    web = conn.backend.web_url
    kind = conn.skill.links.project_kind
    if kind == "task" and conn.skill.links.project:
        return web + conn.skill.links.project.replace("{task_id}", session.task_id or "").replace(
            "{session_id}", session.session_id)
    try:
        claim = conn.call(lambda: conn.client.claim_token(session.task_id, session.session_id))
    except errors.NemoError:
        return None
    return f"{web}/workspace/claim?ct={claim}"
