"""The NemoVideo protocol on loopback (Starlette): every endpoint of PROTOCOL.md.

Answers use the canonical shapes (★ in PROTOCOL.md): ``{"code": 0, "data": …}`` for JSON
endpoints, ``{"success": true, "data": …}`` for render endpoints, ADK events for
``/run_sse``. App errors carry their protocol code and a fitting HTTP status (1001 → 401,
1002 → 404, 2001 → 403, 4001 → 415, 4002 → 413); the plan gate on export is HTTP 402;
rate limits are HTTP 429 with ``Retry-After``. Every call but the anonymous token needs
the bearer token, and a session answers only to its owner (anyone else gets 1002, so
session ids can't be probed).
"""
from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from engine import agent, housekeeping
from engine.config import EngineConfig
from engine.connection_limits import BodyStalled, idle_limited, remove_stale_incoming
from engine.draft_limits import BadDraft, check_draft
from engine.edits import Editor
from engine.memory import release_memory
from engine.faults import Faults
from engine.host_check import HostCheck
from engine.page_headers import PageHeaders
from engine.renders import RenderManager, output_file
from engine.token_limits import TokenLimits
from engine.store import DataDirBusy, Store, StoreError, User, lock_data_dir, store_error, client_key
from engine.uploads import UploadRefused, discard_all, receive_multipart, receive_urls

log = logging.getLogger(__name__)

TURN_GRACE_S = 5.0  # how long a stopping engine lets running chat turns finish

STATUS_FOR_CODE = {1001: 401, 1002: 404, 2001: 403, 4001: 415, 4002: 413, 400: 400, 402: 402, 429: 429, 500: 500}
FORMATS = {"video": ("mp4", "mov", "avi", "webm", "mkv"), "image": ("jpg", "jpeg", "png", "gif", "webp"),
           "audio": ("mp3", "wav", "m4a", "aac")}
ATTRIBUTION = ("x-skill-source", "x-skill-version", "x-skill-platform")


class InjectedDrop(ConnectionAbortedError):
    """A dropped SSE connection the fault injector asked for: expected, so never a traceback."""


class _InjectedFaultsAreOneLine(logging.Filter):
    """Turn the ASGI server's "Exception in ASGI application" traceback for an injected
    drop into one line in the engine's own log: a skill author testing recovery should
    see their scenario's result, not a stack trace they have to read past."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, InjectedDrop):
            log.info("%s", exc)
            return False
        return True


def _quiet_injected_faults() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _InjectedFaultsAreOneLine) for f in logger.filters):
        logger.addFilter(_InjectedFaultsAreOneLine())


class _Stage(str):
    """Queue marker: the turn entered a long phase (sent as an SSE comment, not an event)."""


class AppError(Exception):
    def __init__(self, code: int, message: str, *, status: int | None = None, retry_after: float | None = None,
                 render: bool = False, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.message = code, message
        self.status = status or STATUS_FOR_CODE.get(code, 400)
        self.retry_after = retry_after
        self.render = render
        self.data = data

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data:
            body["data"] = self.data
        if self.render:
            body = {"success": False, **body}
        headers = {"Retry-After": f"{self.retry_after:g}"} if self.retry_after is not None else None
        return JSONResponse(body, status_code=self.status, headers=headers)


def ok(data: Any) -> JSONResponse:
    return JSONResponse({"code": 0, "data": data})


def render_ok(data: Any) -> JSONResponse:
    return JSONResponse({"success": True, "data": data})


def kind_of(extension: str) -> str | None:
    return next((kind for kind, exts in FORMATS.items() if extension in exts), None)


class Engine:
    """The app's state: store, faults, background work. One per server."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.faults: Faults = config.faults
        try:  # shared: engines may share a dir; only ``ai-music clean`` needs it to itself
            self.data_lock: int | None = lock_data_dir(config.data_dir, exclusive=False)
        except DataDirBusy:
            raise RuntimeError(f"{config.data_dir} is being cleaned (ai-music clean); try again in a moment") from None
        self.store = Store(config.data_dir, starting_credits=config.starting_credits,
                           full=lambda: self.faults.disk_full)
        remove_stale_incoming(self.store.root / "sessions", older_than_s=2 * config.body_idle_s)  # a crash's
        self.token_limits = TokenLimits()  # per client id and per source (engine.token_limits)
        self.workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="analysis")
        self.analyses: dict[str, Future[Any]] = {}
        self.renders = RenderManager(self.store, self.faults, config.render_workers, master=_master,
                                     budget=config.render_budget_s)
        # chat turns still working (their client may be gone) → their session
        self.turns: dict[asyncio.Task[None], str] = {}

    def run_turn(self, coroutine: Awaitable[None], session_id: str) -> "asyncio.Task[None]":
        task = asyncio.create_task(coroutine)  # type: ignore[arg-type]
        self.turns[task] = session_id
        task.add_done_callback(lambda done: self.turns.pop(done, None))
        return task

    async def stop(self, turn_grace_s: float = TURN_GRACE_S) -> None:
        """Stop every background task and wait for it, so nothing writes into the data dir afterwards.

        Chat turns get a short grace to land their edit; then they are cancelled. Work they
        handed to threads (composing) is waited for by the event loop's own shutdown."""
        if self.turns:
            await asyncio.wait(set(self.turns), timeout=turn_grace_s)
        for task in list(self.turns):
            task.cancel()
        if self.turns:
            await asyncio.gather(*self.turns, return_exceptions=True)
        await asyncio.get_running_loop().run_in_executor(None, self.shutdown)

    def shutdown(self) -> None:
        """Cancel renders (their ffmpeg is killed; they resume on the next start) and wait for all pools."""
        self.renders.shutdown()
        self.workers.shutdown(wait=True, cancel_futures=True)
        if self.data_lock is not None:
            os.close(self.data_lock)
            self.data_lock = None

    # ------------------------------------------------------------------ helpers

    def user(self, request: Request) -> User:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AppError(1001, "missing bearer token: get one from /api/auth/anonymous-token")
        user = self.store.user_for_token(token.strip())
        if user is None:
            raise AppError(1001, "token invalid or expired")
        return user

    def session(self, user: User, session_id: str, user_segment: str | None = None) -> dict[str, Any]:
        session = self.store.session(session_id)
        if session is None or session["user_id"] != user.user_id or user_segment not in (None, "me", user.user_id):
            raise AppError(1002, "session not found")
        return session

    async def json_body(self, request: Request) -> dict[str, Any]:
        limit = self.config.max_json_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise AppError(400, f"request body too large (limit {limit // 1024} KB)", status=413)
        body = bytearray()
        async for chunk in idle_limited(request.stream(), self.config.body_idle_s):
            body += chunk
            if len(body) > limit:
                raise AppError(400, f"request body too large (limit {limit // 1024} KB)", status=413)
        if not body:
            return {}
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            raise AppError(400, "request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise AppError(400, "request body must be a JSON object")
        return data

    def fault(self, endpoint: str) -> None:
        fault = self.faults.take(endpoint)
        if fault is None:
            return
        message = fault.message or f"injected fault on {endpoint}"
        if fault.code is not None:
            raise AppError(fault.code, message, retry_after=fault.retry_after,
                           render=endpoint in ("render", "poll", "cancel"))
        raise AppError(int(fault.status or 500), message, status=int(fault.status or 500),
                       retry_after=fault.retry_after, render=endpoint in ("render", "poll", "cancel"))

    def start_analysis(self, session_id: str, info: dict[str, Any], path: Path) -> None:
        """Analyse an upload in the background; the chat waits for it only if it needs it."""
        file_id = info["file_id"]
        if file_id in self.analyses:
            return

        def work() -> None:
            from engine.analyze import analyze

            try:
                result = analyze(path).to_json()
            except Exception as exc:  # noqa: BLE001 - a clip we can't analyse still gets music
                result = {"error": str(exc), "has_audio": info.get("has_audio", False), "scene_cuts": [],
                          "speech": [], "energy": [], "pace": 0.5}

            def save(stored: dict[str, Any]) -> None:
                stored["state"].setdefault("video_analyses", {})[file_id] = result
            try:
                self.store.update_session(session_id, save)
            except (KeyError, StoreError):
                pass
            release_memory()

        self.analyses[file_id] = self.workers.submit(work)

    async def wait_for_analyses(self, file_ids: list[str], timeout: float) -> None:
        futures = [asyncio.wrap_future(self.analyses[f]) for f in file_ids if f in self.analyses]
        if futures:
            await asyncio.wait(futures, timeout=timeout)

    def compose(self, brief: dict[str, Any], cues: dict[str, Any], key: str) -> dict[str, Any]:
        """Compose and master the music for ``brief`` fitted to ``cues``; cache it as WAV."""
        from engine.audio_io import write_wav
        from engine.music_bridge import compose_to_wav

        try:
            return compose_to_wav(brief, cues, self.store.root / "music" / f"{key}.wav", write_wav)
        finally:
            release_memory()


def _warm_up() -> None:
    import engine.analyze  # noqa: F401
    import engine.music  # noqa: F401
    from scipy.io import wavfile  # noqa: F401


def _master(audio: Any, sample_rate: int, target_lufs: float, ceiling: float) -> Any:
    from engine.music import master

    return master(audio, sample_rate, target_lufs=target_lufs, ceiling_dbtp=ceiling)


def _base(request: Request) -> str:
    """This request's own origin: a client reaching us by another name gets links it can open."""
    return str(request.base_url).rstrip("/")


def public_info(info: dict[str, Any], base_url: str, session_id: str) -> dict[str, Any]:
    keys = ("file_id", "filename", "file_type", "duration", "width", "height", "fps", "hash", "has_audio", "size")
    out = {k: info.get(k) for k in keys}
    out["cdn_url"] = f"{base_url}/api/media/{session_id}/{info['file_id']}"
    if info.get("warning"):  # part of the file is missing (see _accept)
        out["warning"] = info["warning"]
    return out


def public_state(session: dict[str, Any], base_url: str) -> dict[str, Any]:
    state = session["state"]
    return {
        "session_id": session["session_id"],
        "task_id": session["task_id"],
        "task_name": session.get("task_name"),
        "state": {
            "draft": state.get("draft"),
            "video_infos": [public_info(i, base_url, session["session_id"]) for i in state.get("video_infos", [])],
            "canvas_config": state.get("canvas_config"),
            "video_analyses": state.get("video_analyses", {}),
            "generated_media": state.get("generated_media", []),
        },
    }


def create_app(config: EngineConfig | None = None) -> Starlette:
    config = config or EngineConfig()
    engine = Engine(config)
    _quiet_injected_faults()

    def endpoint(name: str, handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def wrapped(request: Request) -> Response:
            try:
                engine.fault(name)
                return await handler(request)
            except AppError as exc:
                return exc.response()
            except BodyStalled as exc:
                return AppError(408, str(exc), status=408).response()
            except StoreError as exc:
                return AppError(500, str(exc), status=507).response()
            except OSError as exc:  # the data dir refused a write outside the store's own layer
                log.warning("%s: %s", name, exc)
                return AppError(500, str(store_error(exc)), status=507).response()
        return wrapped

    # ------------------------------------------------------------------ auth

    async def anonymous_token(request: Request) -> Response:
        client_id = request.headers.get("x-client-id", "").strip()
        if not client_id or len(client_id) > 200:
            raise AppError(400, "missing X-Client-Id header: send a UUID that identifies this client")
        wait = engine.token_limits.check(client_key(client_id), request.client.host if request.client else "")
        if wait > 0:
            raise AppError(429, "too many token requests; wait and try again", retry_after=round(wait + 0.5))
        token, user, expires = engine.store.issue_token(client_id)
        return ok({"token": token, "user_id": user.user_id,
                   "credits": user.credits_available if engine.store.metered else None,
                   "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))})

    async def claim_token(request: Request) -> Response:
        user = engine.user(request)
        body = await engine.json_body(request)
        session = engine.session(user, str(body.get("session_id", "")))
        if body.get("task_id") not in (None, session["task_id"]):
            raise AppError(1002, "task not found")
        claim = engine.store.issue_claim(user, session["task_id"], session["session_id"])
        return ok({"claim_token": claim, "expires_in": 7 * 24 * 3600})

    async def create_session(request: Request) -> Response:
        user = engine.user(request)
        if request.path_params["user"] not in ("me", user.user_id):
            raise AppError(1002, "user not found")
        body = await engine.json_body(request)
        name = str(body.get("task_name") or "project")[:200]
        language = str(body.get("language") or "en")[:20]
        session = engine.store.create_session(user, name, language)
        return ok({"task_id": session["task_id"], "session_id": session["session_id"], "user_id": user.user_id})

    # ------------------------------------------------------------------ chat

    async def run_sse(request: Request) -> Response:
        user = engine.user(request)
        body = await engine.json_body(request)
        session = engine.session(user, str(body.get("session_id", "")))
        message = body.get("new_message") or {}
        parts = message.get("parts") if isinstance(message, dict) else None
        if not isinstance(parts, list):
            raise AppError(400, "new_message.parts must be a list of {\"text\": ...}")
        text = " ".join(str(p.get("text", "")) for p in parts if isinstance(p, dict)).strip()[:20000]
        plan = agent.plan_turn(text, session)
        cost = agent.cost_of(plan, config) if engine.store.metered else 0
        if not engine.store.reserve(user, cost):
            # the page behind this link is served below: a 2001 never points at a page that doesn't exist
            raise AppError(2001, f"out of credits: this edit needs {cost}, {user.credits_available} left",
                           data={"register_url": f"{_base(request)}/register?bind={user.user_id}"})
        # The long waits of a turn get a name on the wire, so a client can show the phase: an SSE
        # comment (": stage composing") — a heartbeat to every client, a label to those who read it.
        queue: asyncio.Queue[Any] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        async def wait_for_analyses(file_ids: list[str], timeout: float) -> None:
            if any(f in engine.analyses and not engine.analyses[f].done() for f in file_ids):
                queue.put_nowait(_Stage("analysing"))
            await engine.wait_for_analyses(file_ids, timeout)

        def compose(brief: dict[str, Any], cues: dict[str, Any], key: str) -> dict[str, Any]:
            loop.call_soon_threadsafe(queue.put_nowait, _Stage("composing"))
            return engine.compose(brief, cues, key)

        try:  # from here the turn settles the reservation; until then, any failure gives it back
            turn = agent.Turn(store=engine.store, config=config, user=user, session_id=session["session_id"],
                              message=text, plan=plan, reserved=cost, silent=engine.faults.next_chat_is_silent(),
                              compose=compose, wait_for_analyses=wait_for_analyses,
                              committed=engine.renders.prepare_audio, queue=queue)
            task = engine.run_turn(agent.run_turn(turn), session["session_id"])
        except BaseException:
            engine.store.settle(user, cost, 0)
            raise
        drop_after = engine.faults.take_sse_drop()

        async def stream():  # noqa: ANN202
            sent = 0
            while True:
                item = await turn.queue.get()
                if item is agent.DONE:
                    break
                if item is agent.HEARTBEAT:
                    yield b": ping\n\n"
                    continue
                if isinstance(item, _Stage):
                    yield f": stage {item}\n\n".encode()
                    continue
                yield f"data: {json.dumps(item, ensure_ascii=False)}\n\n".encode()
                sent += 1
                if drop_after is not None and sent >= drop_after:
                    # abort mid-stream (no closing chunk), as a dropped connection looks to a client;
                    # the turn task keeps working and its edit still lands
                    raise InjectedDrop(f"injected fault: SSE connection dropped after {sent} event(s)")
            await task

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    # ------------------------------------------------------------------ upload

    async def upload(request: Request) -> Response:
        user = engine.user(request)
        session = engine.session(user, request.path_params["sid"], request.path_params["user"])
        folder = engine.store.session_dir(session["session_id"]) / "media"
        content_type = request.headers.get("content-type", "")
        limit = config.max_upload_bytes
        try:
            if content_type.startswith("multipart/"):
                declared = request.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
                    raise UploadRefused(4002, f"file too large: the limit is {limit // (1024 * 1024)} MB")
                received = await receive_multipart(idle_limited(request.stream(), config.body_idle_s), content_type,
                                                   folder, limit, full=lambda: engine.faults.disk_full)
            else:
                body = await engine.json_body(request)
                urls = body.get("urls")
                if not isinstance(urls, list) or not urls or len(urls) > 20:
                    raise UploadRefused(400, "send multipart 'files', or JSON {\"urls\": [...], \"source_type\": \"url\"}")
                received = await receive_urls(urls, folder, limit, config.allowed_url_hosts,
                                              local_files=config.local_files)
        except UploadRefused as exc:
            raise AppError(exc.code, str(exc)) from None
        except BodyStalled as exc:  # its temp file is gone already (receive_multipart cleans up)
            raise AppError(408, str(exc), status=408) from None
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StoreError("the engine's disk is full; free some space and try again") from None
            raise
        if not received:
            raise AppError(400, "no files in the upload: send them in multipart fields named 'files'")
        infos = []
        try:
            for item in received:
                infos.append(await asyncio.get_running_loop().run_in_executor(
                    None, _accept, item, folder, config))
        except BaseException:
            discard_all(received)
            raise

        def apply(stored: dict[str, Any]) -> list[dict[str, Any]]:
            editor = Editor(stored)
            out = []
            for info in infos:
                existing = next((i for i in stored["state"]["video_infos"] if i["file_id"] == info["file_id"]), None)
                if existing is None:
                    stored["state"]["video_infos"].append(info)
                    existing = info
                elif existing["stored_as"] != info["stored_as"]:  # the same bytes under another extension
                    (folder / info["stored_as"]).unlink(missing_ok=True)
                editor.add_upload(existing)
                out.append(existing)
            return out

        applied = engine.store.update_session(session["session_id"], apply)
        for info in applied:
            if info["file_type"] in ("video", "audio"):
                engine.start_analysis(session["session_id"], info, folder / info["stored_as"])
        return ok({"files": [public_info(i, _base(request), session["session_id"]) for i in applied],
                   "session_state_applied": True})

    # ------------------------------------------------------------------ credits & state

    async def credits(request: Request) -> Response:
        user = engine.user(request)
        if not engine.store.metered:  # nothing to count: say so rather than invent a balance
            return ok({"available": None, "frozen": 0, "total": None, "unlimited": True})
        return ok({"available": user.credits_available, "frozen": user.credits_frozen,
                   "total": user.credits_available + user.credits_frozen})

    async def state(request: Request) -> Response:
        user = engine.user(request)
        session = engine.session(user, request.path_params["sid"], request.path_params["user"])
        return ok(public_state(session, _base(request)))

    async def media(request: Request) -> Response:
        user = engine.user(request)
        session = engine.session(user, request.path_params["sid"])
        info = next((i for i in session["state"]["video_infos"] if i["file_id"] == request.path_params["file_id"]),
                    None)
        if info is None:
            raise AppError(1002, "file not found", status=404)
        return FileResponse(engine.store.session_dir(session["session_id"]) / "media" / info["stored_as"],
                            filename=info["filename"])

    # ------------------------------------------------------------------ render

    async def render_submit(request: Request) -> Response:
        user = engine.user(request)
        missing = [h for h in ATTRIBUTION if not request.headers.get(h, "").strip()]
        if missing:
            raise AppError(402, "export is not available on this plan for unattributed clients "
                                f"(missing {', '.join(missing)})", render=True)
        body = await engine.json_body(request)
        render_id = str(body.get("id") or "")
        if not render_id or len(render_id) > 128 or not all(c.isalnum() or c in "_-" for c in render_id):
            raise AppError(400, "render 'id' must be 1-128 letters, digits, '_' or '-'", render=True)
        session = engine.session(user, str(body.get("sessionId") or body.get("session_id") or ""))
        draft = body.get("draft")
        if isinstance(draft, str):
            try:
                draft = json.loads(draft)
            except ValueError:
                draft = None
        tracks = draft.get("t") if isinstance(draft, dict) else None
        if not isinstance(tracks, list) or not any(t.get("sg") for t in tracks if isinstance(t, dict)):
            raise AppError(400, "the draft has no tracks with segments: generate something first", render=True)
        try:  # sized by this session, not by the client (engine.draft_limits)
            check_draft(draft, session)
        except BadDraft as exc:
            raise AppError(400, str(exc), render=True) from None
        output = body.get("output") if isinstance(body.get("output"), dict) else {"format": "mp4", "quality": "high"}
        if str(output.get("format", "mp4")).lower() not in ("mp4", "wav", "mp3", "stems"):
            raise AppError(400, "output.format must be mp4, or wav, mp3 or stems for the music alone", render=True)
        existing = engine.store.render(render_id)
        if existing is not None and existing["user_id"] != user.user_id:
            raise AppError(400, "render id already used", render=True)
        record = engine.renders.submit(render_id, session, draft, output)
        return render_ok(_render_view(record, _base(request)))

    def owned_render(request: Request) -> dict[str, Any]:
        """The render in the path, if it belongs to the caller (others' ids are "not found")."""
        user = engine.user(request)
        record = engine.store.render(request.path_params["rid"])
        if record is None or record["user_id"] != user.user_id:
            # 404, not 1002: "session not found" would make a client start a new project
            raise AppError(404, "render not found", status=404, render=True)
        return record

    async def render_poll(request: Request) -> Response:
        return render_ok(_render_view(owned_render(request), _base(request)))

    async def render_cancel(request: Request) -> Response:
        record = owned_render(request)
        return render_ok(_render_view(engine.renders.cancel(record["id"]) or record, _base(request)))

    async def download(request: Request) -> Response:
        record = owned_render(request)
        path = output_file(engine.store, record["id"])
        if path is None and record.get("expired"):
            raise AppError(410, "this render was replaced by a newer one and its file removed; export again",
                           status=410, render=True)
        if path is None:
            raise AppError(400, f"render is {record['status']}, not completed", status=409, render=True)
        media_type = str(record.get("media_type") or "video/mp4")
        if engine.faults.download_bps:
            return _throttled(path, request.headers.get("range"), engine.faults.download_bps)
        return FileResponse(path, media_type=media_type, filename=path.name)

    async def release_session(request: Request) -> Response:
        """Not in the cloud protocol: the project is finished and its output saved, so its files can go.

        ``ai-music run`` calls it on the engine it embeds once the MP4 is written (the disk
        would otherwise keep an upload, music, a soundtrack and a copy of every video)."""
        user = engine.user(request)
        session = engine.session(user, request.path_params["sid"], request.path_params["user"])
        busy = [r["id"] for r in engine.store.iter_renders()
                if r.get("session_id") == session["session_id"] and r.get("status") in ("pending", "processing")]
        if busy or session["session_id"] in engine.turns.values():
            raise AppError(409, "the project is still working (a render or an edit); try again when it is done",
                           status=409)
        freed = await asyncio.get_running_loop().run_in_executor(
            None, housekeeping.release, engine.store, session["session_id"], engine.renders.soundtrack_key_of)
        return ok({"released": True, "freed_bytes": freed})

    # ------------------------------------------------------------------ web & test API

    async def claim_page(request: Request) -> Response:
        from engine.web import claim_page as page

        entry = engine.store.claim(request.query_params.get("ct", ""))
        if entry is None:
            return HTMLResponse("<h1>This link has expired or is not valid.</h1>", status_code=404)
        session = engine.store.session(entry["session_id"])
        if session is None:
            return HTMLResponse("<h1>This project no longer exists.</h1>", status_code=404)
        renders = [r for r in engine.store.iter_renders() if r["session_id"] == session["session_id"]]
        return HTMLResponse(page(session, renders, request.query_params.get("ct", "")))

    async def claim_video(request: Request) -> Response:
        entry = engine.store.claim(request.query_params.get("ct", ""))
        record = engine.store.render(request.path_params["rid"])
        if entry is None or record is None or record["session_id"] != entry["session_id"]:
            return Response(status_code=404)
        path = output_file(engine.store, record["id"])
        media_type = str(record.get("media_type") or "video/mp4")
        return FileResponse(path, media_type=media_type, filename=path.name) if path else Response(status_code=404)

    async def register_page(request: Request) -> Response:
        from engine.web import credits_page

        user = engine.store.user_by_id(request.query_params.get("bind", ""))
        return HTMLResponse(credits_page(user, config))

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "engine": "ai-music", "sessions": len(engine.store.sessions)})

    async def faults_api(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse(engine.faults.to_json())
        if request.method == "DELETE":
            fresh = Faults()
        else:
            try:
                fresh = Faults.from_json(await engine.json_body(request))
            except ValueError as exc:
                raise AppError(400, str(exc)) from None
        engine.faults.replace_from(fresh)
        return JSONResponse(engine.faults.to_json())

    async def expire_tokens(request: Request) -> Response:
        body = await engine.json_body(request)
        return JSONResponse({"expired": engine.store.expire_tokens(body.get("token"))})

    async def forget_session(request: Request) -> Response:
        body = await engine.json_body(request)
        engine.store.forget_session(str(body.get("session_id", "")))
        return JSONResponse({"forgotten": True})

    def protocol(path: str, name: str, handler: Callable[[Request], Awaitable[Response]], method: str) -> Route:
        return Route(path, endpoint(name, handler), methods=[method])

    routes = [
        protocol("/api/auth/anonymous-token", "auth", anonymous_token, "POST"),
        protocol("/api/auth/claim-token", "claim", claim_token, "POST"),
        protocol("/api/tasks/{user}/with-session/nemo_agent", "session", create_session, "POST"),
        protocol("/run_sse", "chat", run_sse, "POST"),
        protocol("/api/upload-video/nemo_agent/{user}/{sid}", "upload", upload, "POST"),
        protocol("/api/credits/balance/simple", "credits", credits, "GET"),
        protocol("/api/state/nemo_agent/{user}/{sid}/latest", "state", state, "GET"),
        protocol("/api/render/proxy/lambda", "render", render_submit, "POST"),
        protocol("/api/render/proxy/lambda/{rid}", "poll", render_poll, "GET"),
        protocol("/api/render/proxy/lambda/{rid}/cancel", "cancel", render_cancel, "POST"),
        protocol("/api/render/proxy/{rid}/download", "download", download, "GET"),
        protocol("/api/media/{sid}/{file_id}", "media", media, "GET"),
        protocol("/api/session/nemo_agent/{user}/{sid}", "release", release_session, "DELETE"),
        Route("/workspace/claim", claim_page, methods=["GET"]),
        Route("/register", register_page, methods=["GET"]),
        Route("/workspace/claim/video/{rid}", claim_video, methods=["GET"]),
        Route("/healthz", health, methods=["GET"]),
    ]
    if config.test_api:
        routes += [
            Route("/_engine/faults", endpoint("test", faults_api), methods=["GET", "POST", "DELETE"]),
            Route("/_engine/expire-tokens", endpoint("test", expire_tokens), methods=["POST"]),
            Route("/_engine/forget-session", endpoint("test", forget_session), methods=["POST"]),
        ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):  # noqa: ANN202
        # Import the heavy modules (numpy, scipy, the composer) while the client is still getting
        # a token and uploading: the first analysis then starts without paying for them.
        engine.workers.submit(_warm_up)
        engine.renders.resume()
        yield
        await engine.stop()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(PageHeaders)  # CSP, no framing, no sniffing (engine.page_headers)
    app.add_middleware(HostCheck, bound_host=config.host, allowed=config.allow_hosts)  # DNS rebinding
    app.state.engine = engine
    return app


def _throttled(path: Path, range_header: str | None, bps: int) -> Response:
    """A slow download (fault injection), honouring ``Range: bytes=N-`` so resumes can be tested."""
    size = path.stat().st_size
    start = 0
    if range_header and range_header.startswith("bytes=") and range_header[6:].split("-")[0].isdigit():
        start = min(int(range_header[6:].split("-")[0]), size)
    chunk = max(1024, bps // 10)

    async def body():  # noqa: ANN202
        with path.open("rb") as fh:
            fh.seek(start)
            while data := fh.read(chunk):
                yield data
                await asyncio.sleep(len(data) / bps)

    headers = {"Content-Length": str(size - start), "Accept-Ranges": "bytes"}
    if start:
        headers["Content-Range"] = f"bytes {start}-{size - 1}/{size}"
    return StreamingResponse(body(), status_code=206 if start else 200, media_type="application/octet-stream",
                             headers=headers)


def _render_view(record: dict[str, Any], base_url: str) -> dict[str, Any]:
    view = {"id": record["id"], "status": record["status"], "progress": record.get("progress", 0)}
    if record["status"] == "completed":
        view["outputUrl"] = f"{base_url}/api/render/proxy/{record['id']}/download"
        view["size"] = record.get("size")
    if record.get("error"):
        view["error"] = record["error"]
    if record.get("stage"):
        view["stage"] = record["stage"]
    return view


#: Less than this share of what the header promises can be played: refuse (the rest is missing).
MOSTLY_MISSING = 0.5


def _accept(item: Any, folder: Path, config: EngineConfig) -> dict[str, Any]:
    """Probe an upload, refuse what isn't acceptable media, store it under its hash.

    Every message names the user's file (``item.filename``), never the temp file it sits in.
    A file whose data stops short of what its header promises (an interrupted upload or
    copy) is refused when most of it is missing, and otherwise taken at the length that
    really plays, with a ``warning`` saying so — a render never pads a cut-off file with a
    frozen frame.
    """
    from media.ffmpeg import FFmpegError
    from media.probe import ProbeError, playable_seconds, probe

    kind = kind_of(item.extension)
    name = item.filename
    if kind is None:
        accepted = ", ".join(e for exts in FORMATS.values() for e in exts)
        raise AppError(4001, f"unsupported file type '.{item.extension or '?'}' ({name}); accepted: {accepted}")
    if item.size == 0:
        raise AppError(4001, f"{name} is empty")
    try:
        info = probe(item.path, timeout=10.0)
    except ProbeError as exc:
        raise AppError(4001, f"{name} is not a readable {kind} file: {exc.reason}") from None
    except FFmpegError:
        raise AppError(4001, f"{name} could not be read in time (damaged or unusual file?); "
                             "try exporting it again as MP4") from None
    if kind == "video" and info.video is None:
        raise AppError(4001, f"{name} has no video stream")
    if kind in ("video", "image") and (info.video is None or not info.video.width or not info.video.height):
        raise AppError(4001, f"{name}: could not read the picture size (damaged or unsupported file?)")
    if kind == "audio" and info.audio is None:
        raise AppError(4001, f"{name} has no audio stream")
    if info.video is not None and info.video.width * info.video.height > config.max_media_pixels:
        raise AppError(4001, f"{name}: {info.video.width}x{info.video.height} is larger than the engine "
                             "handles (8192x8192)")
    if info.duration_s and info.duration_s > config.max_media_seconds:
        raise AppError(4002, f"{name} is {info.duration_s / 3600:.1f} h long; trim it to under "
                             f"{config.max_media_seconds / 3600:g} h")
    duration, warning = info.duration_s, None
    if kind in ("video", "audio"):
        duration, warning = _playable(name, info, playable_seconds)
    if duration and duration > config.max_media_seconds:
        raise AppError(4002, f"{name} is {duration / 3600:.1f} h long; trim it to under "
                             f"{config.max_media_seconds / 3600:g} h")
    stored_as = f"{item.sha256[:20]}.{item.extension}"
    target = folder / stored_as
    if target.exists():
        item.path.unlink(missing_ok=True)
    else:
        os.replace(item.path, target)
    width, height = info.video.display_size if info.video else (None, None)
    accepted = {"file_id": f"file_{item.sha256[:16]}", "filename": name, "file_type": kind,
                "stored_as": stored_as, "duration": duration, "width": width, "height": height,
                "fps": info.video.fps if info.video else None, "hash": item.sha256, "has_audio": info.has_audio,
                "size": item.size}
    if warning:
        accepted["warning"] = warning
    return accepted


def _playable(name: str, info: Any, measure: Callable[..., float | None]) -> tuple[float, str | None]:
    """The length to use for a video or audio upload, and a warning when part of it is missing."""
    from media.ffmpeg import FFmpegError

    promised = info.duration_s
    try:
        played = measure(info)
    except FFmpegError:
        played = None
    if played is None or played <= 0:
        if promised and promised > 0:
            return promised, None
        raise AppError(4001, f"{name}: nothing in it can be played (damaged file?)")
    if not promised or promised <= 0:  # no length in the header (a browser recording): what plays is the length
        return round(played, 3), None
    if played < MOSTLY_MISSING * promised:
        raise AppError(4001, f"{name} is incomplete: only {played:.1f} s of its {promised:.1f} s can be played "
                             "(the file was cut off while uploading or copying); send the whole file again")
    if promised - played > max(1.0, 0.02 * promised):
        return round(played, 3), (f"{name} ends early: {played:.1f} s of its {promised:.1f} s can be played, "
                                   f"the rest is missing; the video will be {played:.1f} s long")
    return promised, None
