"""``/workspace``: the page, its static files, and the claim-link exchange.

The page is server-rendered and carries no inline script: the Content-Security-Policy
allows scripts and styles from this origin only, and media from ``blob:`` (the script
downloads renders with the bearer token in a header and plays them from memory — a
token never goes into a URL). Every string from users is escaped here and set as text
by the script.
"""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from protocol.codes import AppCode
from protocol.endpoints import ENDPOINTS
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

from engine.api.envelope import AppError, engine_of, ok
from engine.api.uploads import FORMATS
from engine.store import Store, User
from engine.workspace.strings import TABLES, language_of

STATIC = Path(__file__).parent / "static"
ASSETS = {"workspace.js": "text/javascript", "workspace.css": "text/css"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def _config_json(request: Request, lang: str) -> str:
    """What the script needs: endpoint paths, limits, accepted formats, its words."""
    engine = engine_of(request)
    config = {
        "lang": lang,
        "endpoints": {name: {"method": spec.method, "path": spec.path} for name, spec in ENDPOINTS.items()},
        "claim": "/workspace/api/claim",
        "fit": "/workspace/api/fit/{session_id}",
        "thumbs": "/workspace/api/thumbs/{session_id}",
        "waveform": "/workspace/api/waveform/{session_id}",
        "soundtrack": "/workspace/api/soundtrack/{session_id}",
        "messages": "/workspace/api/messages/{session_id}",
        "maxUploadBytes": engine.config.max_upload_bytes,
        "formats": [ext for exts in FORMATS.values() for ext in exts],
        "strings": TABLES[lang],
    }
    # a JSON data block is not executed (CSP allows it); with <, > and & as \u escapes no user
    # text can close the element early
    text = json.dumps(config, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


async def workspace_page(request: Request) -> Response:
    lang = language_of(request.headers.get("accept-language", ""))
    t = {k: html.escape(v) for k, v in TABLES[lang].items()}
    accept = ",".join(f".{ext}" for exts in FORMATS.values() for ext in exts)
    formats = "".join(f'<option value="{fmt}">{t["fmt_" + fmt]}</option>' for fmt in ("mp4", "wav", "mp3", "stems"))
    body = f"""<!doctype html>
<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t["title"]}</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/workspace/static/workspace.css">
<script type="application/json" id="workspace-config">{_config_json(request, lang)}</script>
<script src="/workspace/static/workspace.js" defer></script></head>
<body><header><h1>{t["title"]}</h1><p class="lead">{t["lead"]}</p>
<p class="meta"><span id="project"></span> <span id="credits" hidden></span>
<button type="button" id="new-project">{t["new_project"]}</button></p>
<noscript><p>{t["nojs"]}</p></noscript><p id="notice" role="status"></p></header>
<main>
<section id="upload-area" aria-labelledby="upload-h"><h2 id="upload-h">{t["upload"]}</h2>
<label class="drop" id="drop"><input type="file" id="file" accept="{accept}" multiple>
<span>{t["pick"]} {t["drop"]}</span></label>
<progress id="upload-progress" max="100" value="0" hidden></progress><p id="upload-status" role="status"></p>
<ul id="files"></ul></section>
<section aria-labelledby="chat-h"><h2 id="chat-h">{t["chat"]}</h2>
<ol id="messages" aria-live="polite"></ol><p id="working" class="quiet" role="status" hidden>{t["working"]}</p>
<form id="chat-form"><input id="message" autocomplete="off" placeholder="{t["placeholder"]}" aria-label="{t["chat"]}">
<button type="submit" id="send">{t["send"]}</button>
<button type="button" id="another" hidden>{t["another"]}</button></form></section>
<section aria-labelledby="timeline-h"><h2 id="timeline-h">{t["timeline"]}</h2>
<div id="timeline"><p class="quiet">{t["empty"]}</p></div>
<div id="preview" hidden><div class="stage"><video id="preview-video" playsinline muted></video>
<p id="preview-title"></p></div><audio id="preview-audio" preload="auto"></audio>
<p><button type="button" id="preview-play">{t["preview"]}</button>
<button type="button" id="ab" aria-pressed="false" data-hearing="new">{t["hear_new"]}</button>
<span id="preview-status" role="status"></span></p></div></section>
<section aria-labelledby="export-h"><h2 id="export-h">{t["export"]}</h2>
<form id="export-form"><label>{t["format"]} <select id="export-format">{formats}</select></label>
<button type="submit" id="export">{t["export"]}</button>
<button type="button" id="cancel" hidden>{t["cancel"]}</button></form>
<progress id="export-progress" max="100" value="0" hidden></progress><p id="export-status" role="status"></p>
<div id="player"></div><a id="download" class="button" hidden>{t["download"]}</a></section>
</main></body></html>"""
    return HTMLResponse(body, headers=SECURITY_HEADERS)


async def static_asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in ASSETS:
        return Response(status_code=404)
    return FileResponse(STATIC / name, media_type=ASSETS[name],
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})


def _claimed(store: Store, claim_token: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None, User | None]:
    """The claim link's entry, its session and the session's owner (None where there is none)."""
    entry = store.claim(claim_token)
    if entry is None:
        return None, None, None
    return entry, store.session(entry["session_id"]), store.user_by_id(entry["user_id"])


async def claim_session(request: Request) -> Response:
    """A claim link's token → a bearer token for the project's session alone, and that session.

    The claim link is the protocol's way to hand a project to a person; exchanging it here
    lets the workspace continue the project an agent started (``ai-music say``). JSON only,
    so a cross-site form can't post it."""
    engine = engine_of(request)
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise AppError(AppCode.BAD_REQUEST, "send JSON {\"claim_token\": ...}", status=415)
    body = await engine.json_body(request)
    entry, session, owner = await engine.store.call(_claimed, engine.store, str(body.get("claim_token") or ""))
    if entry is None or session is None or owner is None or not owner.client_id:
        raise AppError(AppCode.SESSION_NOT_FOUND, "this link has expired or is not valid")
    # this project only, for as long as the link lives
    token = await engine.store.call(engine.store.issue_session_token, entry)
    return ok({"token": token, "user_id": owner.user_id, "session_id": session["session_id"],
               "task_id": session["task_id"], "task_name": session.get("task_name")})
