"""The engine as an ASGI app: its state (:class:`Engine`), the route table, the error wrapper.

Every endpoint of docs/protocol.md is served from :data:`HANDLERS`, with the name the
fault injector and the error wrapper know it by; the handlers live in ``engine.api``, one
module per concern, and read the engine from ``request.app.state.engine``. Browser pages
are in :data:`PAGES`; :data:`TEST_ROUTES` are mounted only when the test API is on.
Every call but the anonymous token needs the bearer token, and a session answers only
to its owner (anyone else gets 1002, so session ids can't be probed).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from contextvars import ContextVar
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

from protocol.codes import AppCode
from protocol.endpoints import ENDPOINTS
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from engine.api import auth, chat, project, renders, testing, uploads, web
from engine.api.connection_limits import BodyStalled, remove_stale_incoming
from engine.api.envelope import AppError, json_body
from engine.api.host_check import HostCheck
from engine.api.page_headers import PageHeaders
from engine.api.token_limits import TokenLimits
from engine.ahead import ComposedAhead
from engine.compute import Compute
from engine.config import EngineConfig
from engine.export.executor import Job, JobCancelled, executor_for
from engine.export.jobs import RenderManager
from engine.faults import Faults, quiet_injected_faults
from engine.memory import release_memory, share_arenas
from engine.store import DataDirBusy, Store, StoreError, User, lock_data_dir, store_error
from engine.user_text import user_facing
from engine.workspace import fit, history, page as workspace, plan, sound, thumbs
from engine.workspace.media_work import MediaWork

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]

# the one session this request's token opens (a claim link's token), None for a user's own token;
# set by Engine.user at the start of every request, each of which runs in its own task
_SCOPE: ContextVar[str | None] = ContextVar("token_scope", default=None)
TURN_GRACE_S = 5.0  # how long a stopping engine lets running chat turns finish
KEEP_DECODE_MAX_S = 600.0  # an upload's sound decoded ahead for the mix up to this length (230 MB on disk)


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
                           full=lambda: self.faults.disk_full, database=config.database)
        remove_stale_incoming(self.store.root / "sessions", older_than_s=2 * config.body_idle_s)  # a crash's
        self.token_limits = TokenLimits()  # per client id and per source (engine.api.token_limits)
        self.workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="analysis")
        self.sound_decodes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sound")  # see _keep_decode
        self.decodes: dict[str, set[Future[Any]]] = {}  # session → its uploads' decodes queued or running
        self.decodes_lock = threading.Lock()
        # composition: worker processes off the server's GIL where many users wait on it (engine.compute);
        # with --ray it runs on Ray's workers instead
        self.compute = Compute() if config.compose_in_workers and not config.ray_address else None
        # the piece the default request will ask for, composed once the uploads are analysed (engine.ahead);
        # one at a time, on the executor like any composing
        self.ahead_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ahead")
        self.ahead = ComposedAhead(self.ahead_thread.submit)
        self.media_work = MediaWork("workspace-media")  # strips and waveforms (engine.workspace.media_work)
        self.analyses: dict[str, Future[Any]] = {}
        # where renders, analyses and composing run: here, or Ray tasks with --ray (engine.export.executor)
        self.objects = _object_store(config)  # media also in an S3-compatible store (engine.object_store)
        self.store.objects = self.objects  # deleted there when the store deletes them here
        self.executor = executor_for(config.ray_address, self.compute, config.data_dir / "jobs", self.objects)
        self.renders = RenderManager(self.store, self.faults, config.render_workers, master=_master,
                                     budget=config.render_budget_s, executor=self.executor)
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
        self.executor.close()  # composing and analyses stop where they can (a piece nobody will take now)
        self.renders.shutdown()
        self.sound_decodes.shutdown(wait=False, cancel_futures=True)  # queued decodes are not worth waiting for
        self.workers.shutdown(wait=True, cancel_futures=True)
        self.sound_decodes.shutdown(wait=True)
        self.ahead.drop_all()
        self.ahead_thread.shutdown(wait=True, cancel_futures=True)
        self.executor.shutdown()  # after the analyses waiting on it (it stops the engine's composing workers)
        self.media_work.shutdown()
        self.store.close()
        if self.data_lock is not None:
            os.close(self.data_lock)
            self.data_lock = None

    # ------------------------------------------------------------------ helpers

    async def user(self, request: Request) -> User:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AppError(AppCode.TOKEN_INVALID, "missing bearer token: get one from /api/auth/anonymous-token")
        user, scope = await self.store.call(self._bearer, token.strip())
        if user is None:
            raise AppError(AppCode.TOKEN_INVALID, "token invalid or expired")
        _SCOPE.set(scope)
        return user

    def _bearer(self, token: str) -> tuple[User | None, str | None]:
        """Whose token it is, and the one session it opens (None: all of the user's)."""
        user = self.store.user_for_token(token)
        if user is None and (scoped := self.store.user_for_session_token(token)) is not None:
            return scoped
        return user, None

    async def account(self, request: Request) -> User:
        """The caller, for what spans the whole account (credits, new projects): a claim link's
        token opens one project and answers here as if there were nothing to see."""
        user = await self.user(request)
        if _SCOPE.get() is not None:
            raise AppError(AppCode.NOT_FOUND, "this link opens one project only")
        return user

    def in_scope(self, session_id: str) -> bool:
        """Whether this request's token may open ``session_id`` (a claim's token: its session only)."""
        return _SCOPE.get() in (None, session_id)

    async def session(self, user: User, session_id: str, user_segment: str | None = None) -> dict[str, Any]:
        session = await self.store.call(self.store.session, session_id)
        if (session is None or session["user_id"] != user.user_id or user_segment not in (None, "me", user.user_id)
                or not self.in_scope(session_id)):
            raise AppError(AppCode.SESSION_NOT_FOUND, "session not found")
        return session

    async def json_body(self, request: Request) -> dict[str, Any]:
        return await json_body(request, self.config.max_json_bytes, idle_s=self.config.body_idle_s)

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

        self._keep_decode(session_id, info, path)

        def work() -> None:
            from engine.analysis.analyze import analyze_to_json

            try:
                result = self.executor.run(Job(session_id, analyze_to_json, (path,), inputs=(path.resolve(),)))
            except JobCancelled:  # the session went: nothing to keep
                return
            except Exception as exc:  # noqa: BLE001 - a clip we can't analyse still gets music
                reason = user_facing(str(exc), self.config.data_dir, {path.name: info.get("filename") or "the upload"})
                result = {"error": reason, "has_audio": info.get("has_audio", False), "scene_cuts": [],
                          "speech": [], "energy": [], "pace": 0.5}

            def save(stored: dict[str, Any]) -> None:
                stored["state"].setdefault("video_analyses", {})[file_id] = result
            try:
                self.store.update_session(session_id, save)
            except (KeyError, StoreError):
                pass
            release_memory()
            try:
                self.compose_ahead(session_id)
            except (KeyError, StoreError) as exc:  # a guess: the turn composes what it needs anyway
                log.warning("no piece composed ahead for %s: %s", session_id, exc)

        self.analyses[file_id] = self.workers.submit(work)

    def _keep_decode(self, session_id: str, info: dict[str, Any], path: Path) -> None:
        """Decode the upload's sound for the soundtrack now, beside its analysis (``media.audio.keep_decode``):
        the mix after the chat turn then reads it instead of waiting for ffmpeg. Only where the engine is
        one person's (``config.decode_ahead``: the copy is 23 MB a minute of sound, up to KEEP_DECODE_MAX_S);
        a failure only means the mix decodes it itself. A project released meanwhile waits for it
        (:meth:`wait_for_decodes`), so nothing is written into a folder being removed."""
        from engine.export.mix import SAMPLE_RATE
        from media.audio import keep_decode

        if not self.config.decode_ahead or not info.get("has_audio") \
                or not 0 < float(info.get("duration") or 0) <= KEEP_DECODE_MAX_S:
            return

        def work() -> None:
            try:
                keep_decode(path, SAMPLE_RATE, 2)
            except Exception as exc:  # noqa: BLE001 - the mix decodes it itself then
                log.info("the sound of %s was not decoded ahead: %s", path.name, exc)
        with self.decodes_lock:
            try:
                future = self.sound_decodes.submit(work)
            except RuntimeError:  # the engine is stopping
                return
            self.decodes.setdefault(session_id, set()).add(future)
        future.add_done_callback(lambda done: self._decoded(session_id, done))

    def _decoded(self, session_id: str, future: Future[Any]) -> None:
        with self.decodes_lock:
            left = self.decodes.get(session_id, set())
            left.discard(future)
            if not left:
                self.decodes.pop(session_id, None)

    def wait_for_decodes(self, session_id: str) -> None:
        """Until no decode of ``session_id``'s uploads is queued or running (a queued one is dropped)."""
        with self.decodes_lock:
            futures = list(self.decodes.get(session_id, ()))
        futures_wait([f for f in futures if not f.cancel()])

    def compose_ahead(self, session_id: str) -> None:
        """Once every upload of the session is analysed, start composing the piece its first turn
        will most likely ask for (``engine.chat.ahead``): the turn then finds it ready."""
        from engine.chat.ahead import likely_piece
        from engine.chat.turn import analysed_clips

        if not self.ahead.wanted(session_id):
            return
        session = self.store.session(session_id)
        if session is None:
            return
        analysed = session["state"].get("video_analyses") or {}
        if any(file_id not in analysed for file_id in analysed_clips(session["state"])):
            return  # the last analysis to finish starts it
        piece = likely_piece(session)
        if piece is None:
            self.ahead.give_up(session_id)
            return
        path = self.music_path(piece.key)
        self.ahead.start(session_id, piece.key, path, self.compose_job, session_id, piece.brief, piece.cues, path)

    def analyse_missing(self, session_id: str, file_ids: list[str]) -> None:
        """With a shared database: analyse here the clips another engine took in and has not analysed
        (it may be busy or gone; the media are in the shared data dir). Its result, if it lands too, is
        the same. On the data dir's own files this engine started every analysis itself: nothing to do."""
        if not self.store.shared:
            return
        session = self.store.session(session_id) or {"state": {}}
        done = session["state"].get("video_analyses") or {}
        for info in session["state"].get("video_infos", []):
            if info.get("file_id") in file_ids and info["file_id"] not in done and info.get("stored_as"):
                self.start_analysis(session_id, info, self.store.session_dir(session_id) / "media" / info["stored_as"])

    async def wait_for_analyses(self, file_ids: list[str], timeout: float) -> None:
        futures = [asyncio.wrap_future(self.analyses[f]) for f in file_ids if f in self.analyses]
        if futures:
            await asyncio.wait(futures, timeout=timeout)

    def compose(self, brief: dict[str, Any], cues: dict[str, Any], key: str, owner: str = "") -> dict[str, Any]:
        """Compose and master the music for ``brief`` fitted to ``cues``; cache it as WAV.

        A served engine composes in a worker process (``engine.compute``) or a Ray task (``--ray``):
        in a thread it held the GIL the server needs to answer everyone else. The CLI's own engine
        composes in this thread. Raises ``JobCancelled`` when ``owner`` (the session) went meanwhile."""
        ready = self.ahead.take(key)
        if ready is not None:
            return ready
        return self.compose_job(owner, brief, cues, self.music_path(key))

    def compose_job(self, owner: str, brief: dict[str, Any], cues: dict[str, Any], path: Path) -> dict[str, Any]:
        """Compose into ``path`` on the executor (here, a worker process, or a Ray task) for ``owner``."""
        from engine.composing import compose_file

        path = path.resolve()
        return self.executor.run(Job(owner, compose_file, (brief, cues, path), python=True, outputs=(path,),
                                     stoppable=True))

    def cancel_jobs(self, session_id: str) -> None:
        """The session is going: stop its analyses and composing (their results are dropped)."""
        self.executor.cancel(session_id)

    def music_path(self, key: str) -> Path:
        return self.store.root / "music" / f"{key}.wav"


def _object_store(config: EngineConfig) -> Any:  # noqa: ANN401 - engine.object_store.ObjectStore | None
    """The configured store, checked now; its module (and boto3) imported only when there is one."""
    if not config.object_store:
        return None
    from engine.object_store import ObjectStore

    objects = ObjectStore.from_url(config.object_store, config.data_dir)
    objects.check()
    return objects


def _warm_up() -> None:
    """Import the analysis (first: an upload's decode waits for it), then the composer and its scipy.

    On a thread of its own that nothing waits for: a command that stops the engine before it
    needed them (``say "status"``, a refused upload) does not sit out seconds of imports, and
    both analysis workers are free for uploads meanwhile. Imports write nothing to the data dir.
    Before them, the bundled ffmpeg is found: imageio-ffmpeg runs it once (``-version``) to check it,
    40 ms the first upload's probe waited for."""
    from engine import scipy_signal
    from media.ffmpeg import ffmpeg_exe

    ffmpeg_exe()

    scipy_signal.load()  # first: the analysis' loudness needs it too, and it skips scipy.stats only if first
    import engine.analysis.analyze  # noqa: F401
    import engine.music.make  # noqa: F401 - the composer (engine.music loads it lazily)
    from scipy.io import wavfile  # noqa: F401


def _master(audio: Any, sample_rate: int, target_lufs: float, ceiling: float) -> Any:
    """Master the soundtrack in place (a copy of a long soundtrack is hundreds of MB)."""
    from engine.music.mastering import master_inplace

    master_inplace(audio, sample_rate, target_lufs=target_lufs, ceiling_dbtp=ceiling)
    return audio


#: Endpoint name (its path and method: ``protocol.endpoints``; also the fault injector's name) → handler.
HANDLERS: dict[str, Handler] = {
    "auth": auth.anonymous_token,
    "claim": auth.claim_token,
    "session": auth.create_session,
    "chat": chat.run_sse,
    "upload": uploads.upload,
    "credits": project.credits,
    "state": project.state,
    "render": renders.render_submit,
    "poll": renders.render_poll,
    "cancel": renders.render_cancel,
    "download": renders.download,
    "media": project.media,
    "release": project.release_session,
    "fit_picture": plan.fit_picture,
}

#: Pages for people (no fault injection, no JSON envelope).
PAGES: list[tuple[str, Handler]] = [
    ("/workspace/claim", web.claim_page),
    ("/workspace/claim/video/{render_id}", web.claim_video),
    ("/register", web.register_page),
    ("/healthz", web.health),
    ("/workspace", workspace.workspace_page),
    ("/workspace/static/{name}", workspace.static_asset),
]

#: Calls only the workspace page makes (JSON answers in the protocol's shape, not protocol endpoints).
WORKSPACE_CALLS: list[tuple[str, Handler, list[str]]] = [
    ("/workspace/api/claim", workspace.claim_session, ["POST"]),
    ("/workspace/api/fit/{session_id}", fit.fit, ["GET"]),
    ("/workspace/api/thumbs/{session_id}", thumbs.thumbs, ["GET"]),
    ("/workspace/api/waveform/{session_id}", sound.waveform, ["GET"]),
    ("/workspace/api/soundtrack/{session_id}", sound.soundtrack, ["GET"]),
    ("/workspace/api/messages/{session_id}", history.messages, ["GET"]),
]

#: Only with ``EngineConfig.test_api``: what a scenario uses to make the engine misbehave.
TEST_ROUTES: list[tuple[str, Handler, list[str]]] = [
    ("/_engine/faults", testing.faults_api, ["GET", "POST", "DELETE"]),
    ("/_engine/expire-tokens", testing.expire_tokens, ["POST"]),
    ("/_engine/forget-session", testing.forget_session, ["POST"]),
]


def guarded(name: str, handler: Handler) -> Handler:
    """Run ``handler`` with the faults injected for ``name``; app errors become protocol answers."""
    async def wrapped(request: Request) -> Response:
        try:
            request.app.state.engine.fault(name)
            return await handler(request)
        except AppError as exc:
            return exc.response()
        except BodyStalled as exc:
            return AppError(AppCode.BAD_REQUEST, str(exc), status=408).response()
        except ClientDisconnect:  # the client left while sending its body (e.g. Ctrl-C): nobody to answer
            return Response(status_code=499)
        except StoreError as exc:
            return AppError(AppCode.INTERNAL, str(exc), status=507).response()
        except OSError as exc:  # the data dir refused a write outside the store's own layer
            log.warning("%s: %s", name, exc)
            return AppError(AppCode.INTERNAL, str(store_error(exc)), status=507).response()
    return wrapped


def create_app(config: EngineConfig | None = None) -> Starlette:
    """The app for ``config``: one :class:`Engine`, the routes, and a lifespan that resumes renders."""
    share_arenas()  # before the engine's threads start (engine.memory)
    engine = Engine(config or EngineConfig())
    quiet_injected_faults()
    routes = [Route(ENDPOINTS[name].path, guarded(name, handler), methods=[ENDPOINTS[name].method])
              for name, handler in HANDLERS.items()]
    routes += [Route(path, handler, methods=["GET"]) for path, handler in PAGES]
    routes += [Route(path, guarded("workspace", handler), methods=methods) for path, handler, methods in WORKSPACE_CALLS]
    if engine.config.test_api:
        routes += [Route(path, guarded("test", handler), methods=methods) for path, handler, methods in TEST_ROUTES]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Import the heavy modules (numpy, scipy, the composer) while the client is still getting
        # a token and uploading: the first analysis then starts without paying for them.
        threading.Thread(target=_warm_up, name="engine-warm-up", daemon=True).start()
        if engine.compute is not None:
            engine.workers.submit(engine.compute.warm_up)  # a composing worker, forked from a primed fork server
        engine.renders.resume()
        yield
        await engine.stop()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(PageHeaders)  # nosniff; pages without their own CSP get a strict one (engine.api.page_headers)
    app.add_middleware(HostCheck, bound_host=engine.config.host, allowed=engine.config.allow_hosts)  # DNS rebinding
    app.state.engine = engine
    return app
