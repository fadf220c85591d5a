"""The engine's browser pages: a project behind a claim link, and the credits page.

The skill gives users a link to "open the project in the browser". For the local engine
that link opens :func:`claim_page`: a drawn timeline (one lane per track, segments to
scale) and a player for each finished render. It is read-only and opened with a claim
token, never with the API token.

The skill's answer to "out of credits" (2001) is a registration link, ``/register?bind=
<user id>``. An engine serves that page itself (:func:`credits_page`), so the link in the
error always opens: it shows the balance and how credits work on *this* engine.
"""
from __future__ import annotations

import html
from typing import Any

from protocol.draft import AUDIO, TEXT, VIDEO, read_draft

from engine.store import client_render_id

_STYLE = """<style>body{font-family:system-ui,sans-serif;background:#0f172a;color:#e2e8f0;margin:2rem;max-width:46rem}
h1{font-weight:600}figure{margin:1rem 0}code{background:#1e293b;padding:0 .3em;border-radius:3px}</style>"""

_COLORS = {VIDEO: "#38bdf8", AUDIO: "#a78bfa", TEXT: "#fbbf24"}
_LABELS = {VIDEO: "Video", AUDIO: "Music", TEXT: "Title"}


def _timeline_svg(draft_raw: Any) -> str:
    draft = read_draft(draft_raw)
    if draft is None or not draft.tracks or not draft.duration_ms:
        return "<p>The timeline is empty.</p>"
    width, lane, left = 900, 34, 70
    scale = (width - left - 10) / draft.duration_ms
    rows = []
    for i, track in enumerate(draft.tracks):
        y = 10 + i * lane
        color = _COLORS.get(track.type or -1, "#94a3b8")
        rows.append(f'<text x="0" y="{y + 20}" fill="#cbd5e1" font-size="13">'
                    f'{html.escape(_LABELS.get(track.type or -1, "Track"))}</text>')
        for seg in track.segments:
            if seg.start_ms is None or seg.duration_ms is None:
                continue
            x, w = left + seg.start_ms * scale, max(2.0, seg.duration_ms * scale)
            label = html.escape(seg.text or track.name or seg.name or "")
            rows.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="26" rx="4" fill="{color}" opacity="0.85">'
                        f'<title>{label} ({seg.start_ms / 1000:g}-{(seg.end_ms or 0) / 1000:g}s)</title></rect>')
            rows.append(f'<text x="{x + 6:.1f}" y="{y + 18}" font-size="12" fill="#0f172a">{label[:40]}</text>')
    height = 20 + len(draft.tracks) * lane
    seconds = draft.duration_ms / 1000
    ticks = "".join(
        f'<text x="{left + t * 1000 * scale:.1f}" y="{height + 12}" fill="#64748b" font-size="11">{t:g}s</text>'
        for t in [round(seconds * k / 5, 1) for k in range(6)])
    return f'<svg width="{width}" height="{height + 20}" role="img" aria-label="timeline">{"".join(rows)}{ticks}</svg>'


def _player(media_type: str, src: str, caption: str) -> str:
    """A video plays in a <video>, a WAV/MP3 in an <audio>; a stems zip is a download link."""
    if media_type.startswith("video/"):
        player = f'<video controls preload="metadata" width="640" src="{src}"></video>'
    elif media_type.startswith("audio/"):
        player = f'<audio controls preload="metadata" src="{src}"></audio>'
    else:
        player = f'<a href="{src}" download>Download ({html.escape(media_type)})</a>'
    return f"<figure>{player}<figcaption>{caption}</figcaption></figure>"


def claim_page(session: dict[str, Any], renders: list[dict[str, Any]], claim: str) -> str:
    name = html.escape(str(session.get("task_name") or "project"))
    videos = []
    for record in sorted(renders, key=lambda r: r.get("created_at", 0), reverse=True):
        status = html.escape(str(record.get("status")))
        shown = html.escape(client_render_id(record))
        if record.get("status") == "completed" and record.get("expired"):
            videos.append(f"<p>{shown}: replaced by a newer render</p>")
        elif record.get("status") == "completed":
            src = f"/workspace/claim/video/{html.escape(record['id'])}?ct={html.escape(claim)}"
            videos.append(_player(str(record.get("media_type") or "video/mp4"), src, shown))
        else:
            videos.append(f"<p>{shown}: {status} {record.get('progress', 0)}%</p>")
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{name} · ai-music</title>
{_STYLE}</head><body>
<h1>{name}</h1>
<p><a id="open-workspace" href="/workspace#ct={html.escape(claim)}">Open in the workspace</a> to keep editing it.</p>
<h2>Timeline</h2>{_timeline_svg(session["state"].get("draft"))}
<h2>Renders</h2>{"".join(videos) or "<p>No renders yet.</p>"}</body></html>"""


def credits_page(user: Any, config: Any) -> str:
    """Where a 2001 "register to get more" link lands: the balance and how to keep working."""
    if config.starting_credits is None:
        body = ("<p>This engine does not meter credits: every edit and export is free, with no limit.</p>"
                "<p>If a message sent you here, it came from another backend.</p>")
    else:
        balance = ""
        if user is not None:
            balance = (f"<p>Account <code>{html.escape(user.user_id)}</code>: <b>{user.credits_available}</b> "
                       f"credits available ({user.credits_frozen} reserved for work in progress).</p>")
        body = (f"{balance}<p>Each new user of this engine gets <b>{config.starting_credits}</b> credits. "
                f"An edit costs {config.edit_cost}, composing new music {config.music_cost} more; "
                "questions and exports are free. Your projects are kept.</p>"
                "<p>Credits here are set by whoever runs this engine (<code>ai-music serve --credits N</code>). "
                "To keep editing without a limit, run <code>ai-music</code> on your own machine: its built-in "
                "engine never meters.</p>")
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Credits · ai-music</title>
{_STYLE}</head><body><h1>Credits</h1>{body}</body></html>"""
