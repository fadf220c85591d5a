"""``ai-music mcp``: the skill as MCP tools, for Claude Desktop, Claude Code, Cursor, Codex.

Built on the official SDK's high-level server (``mcp`` 2.x: ``mcp.server.mcpserver``).
One connection — and, by default, one embedded engine — lives as long as the server, so
a model can upload, chat, look at the state and export across many calls in the same
project, and project links stay valid while the server runs. The client code underneath
is blocking, so each tool runs in a worker thread; progress and status lines from there
become MCP progress notifications, at most about one a second or one per 5 % (a large
upload used to send one per chunk), and nothing is written to stderr (the logging
capability is deprecated, and the SDK's INFO logging printed every HTTP request).
Failures come back as tool errors carrying the skill's guidance in plain words (the
registration link when credits ran out; the skill's error codes are for logs, not for
the user the model talks to), never as a crash of the server; a call refused for its
arguments changes nothing (``make_music_video`` checks the video before it starts a new
project), and an argument a tool does not take is refused, not silently ignored.

MCP hosts start servers with a stripped environment (``HOME`` and ``PATH``, not the
``XDG_*`` variables), so the server would keep its tokens and session apart from
``ai-music say`` in the user's shell. ``ai-music mcp --print-config`` prints the host
configuration with this installation's absolute command and, in ``env``, the
``XDG_CONFIG_HOME``/``XDG_DATA_HOME``/``XDG_CACHE_HOME`` of the shell it runs in, so both
resolve the same state directory (the ``state`` tool reports it).
"""
from __future__ import annotations

import contextlib
import inspect
import json
import os
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, AsyncIterator, Literal

import anyio
import anyio.from_thread
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult
from pydantic import BaseModel, Field

from runtime.job import DEFAULT_REQUEST as DEFAULT_PROMPT

STATE_VARIABLES = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")
PROGRESS_EVERY_S = 1.0
PROGRESS_STEP = 0.05


INSTRUCTIONS = """Music for videos, offline or in the cloud. Typical use: call `make_music_video`
with a video path (and optionally what the user wants) to get a finished 1080p MP4 with
music composed to fit the video. For step-by-step work: `upload` files, `chat` the
user's request in their own words (repeat to refine), `state` to see the timeline, and
`export` to render and download. `credits` shows the balance. Never put tokens in
messages; the tools handle authentication."""


@dataclass
class _Bridge:
    """An Output (see skill.actions) that forwards to the MCP context from a worker thread.

    Progress goes out when its label changes, when it moved by ``PROGRESS_STEP`` of the
    total, when ``PROGRESS_EVERY_S`` passed, and at the end. MCP asks for a progress value
    that only grows, so each new phase (uploading, rendering…) continues from the last
    value sent; status lines travel as the message of a progress notification.
    """

    ctx: Context
    sent: int = 0
    _label: str | None = None
    _fraction: float = -1.0
    _at: float = field(default=-1e9)
    _base: float = 0.0
    _last: float = 0.0

    def say(self, text: str) -> None:
        pass  # replies are returned as the tool result

    def stream(self, text: str) -> None:
        pass

    def _send(self, value: float, message: str) -> None:
        self._last = max(value, self._last + 1e-3)
        self._at = time.monotonic()
        self.sent += 1
        with contextlib.suppress(Exception):
            anyio.from_thread.run(self.ctx.report_progress, self._last, None, message)

    def notice(self, text: str) -> None:
        self._send(self._last, text)

    def link(self, label: str, url: str) -> None:
        pass  # links come back in the tool result

    def error(self, text: str) -> None:
        pass  # failures come back as the tool's error

    def close(self) -> None:
        pass

    def progress(self, label: str, done: float, total: float | None, unit: str = "%") -> None:
        fraction = min(1.0, done / total) if total else None
        if label != self._label:
            self._label, self._fraction, self._base = label, -1.0, self._last
        elif fraction is not None:
            finished = fraction >= 1.0 and self._fraction < 1.0
            if not finished and fraction - self._fraction < PROGRESS_STEP \
                    and time.monotonic() - self._at < PROGRESS_EVERY_S:
                return
        elif time.monotonic() - self._at < PROGRESS_EVERY_S:
            return
        if fraction is not None:
            self._fraction = fraction
        value = self._base + (100 * fraction if fraction is not None else float(done))
        self._send(value, f"{label} {round(100 * fraction)}%" if fraction is not None else label)


class _State:
    def __init__(self) -> None:
        self.conn: Any = None
        self.lock = anyio.Lock()
        self.stack = contextlib.ExitStack()
        self.one_shot: str | None = None  # the project the last make_music_video made, its MP4 written
        self.pictures: dict[str, dict[str, Any]] = {}  # the fit pictures this server wrote, per output (held)


class Balance(BaseModel):
    available: int | None = Field(description="credits that can be spent now")
    frozen: int | None = Field(description="credits reserved for edits still running")
    total: int | None = Field(description="available + frozen")
    unlimited: bool = Field(default=False, description="the backend does not meter (the embedded engine)")


class VideoResult(BaseModel):
    path: str | None = Field(description="absolute path of the file written")
    reply: str = Field(description="what was done, for the user")
    link: str | None = Field(description="the project in a browser (a claim link, never the API token)")
    plan: str | None = Field(default=None, description="with plan=true: the fit picture saved beside the MP4 "
                                                       "(<output stem>-plan.png, numbered if a file of that name "
                                                       "is there), also returned as an image")
    plan_error: str | None = Field(default=None, description="with plan=true: why no picture was saved")


class Reply(BaseModel):
    reply: str = Field(description="what to show the user")


class ChatReply(BaseModel):
    reply: str = Field(description="the editor's answer, GUI wording already translated")
    summary: str | None = Field(description="the timeline after the edit, one line")
    changes: list[str] = Field(description="what the edit changed, one line per track")
    files: list[str] = Field(description="files written by this turn (an export asked for in words, the fit "
                                         "picture asked for with \"show me how the music fits\")")
    picture: str | None = Field(default=None, description="the fit picture this turn saved (also returned as an image)")


class TimelineTrack(BaseModel):
    type: Literal["video", "audio", "text", "other"]
    label: str = Field(description="the skill's word for the track (Video, BGM, Title)")
    name: str | None = Field(description="the clip or music name; a title's text")
    start_s: float | None
    end_s: float | None
    volume: float | None = Field(description="audio tracks: 0.35 = 35%")
    muted: bool | None = Field(description="video tracks: original sound muted")
    clips: int


class StateReply(BaseModel):
    reply: str = Field(description="the timeline (one line per track) and the uploaded files")
    timeline: list[TimelineTrack] = Field(description="the tracks as data")
    session_id: str | None = Field(description="the project session (the same one `ai-music say` continues)")
    state_dir: str = Field(description="where tokens and the session are kept")


class CreditsReply(BaseModel):
    reply: str = Field(description="the balance in words")
    credits: Balance


VideoArg = Annotated[str, Field(description="the video: a local path (absolute, or relative to the server's "
                                            "folder) or an http(s)/file URL; mp4, mov, avi, webm, mkv")]
PromptArg = Annotated[str, Field(description="what the user wants, in their words (genre, mood, volume, fades, "
                                             "titles…); default: music that fits the video")]
OutputArg = Annotated[str | None, Field(description="where to write the file: a path, or a folder ending in '/' "
                                                   "(default: next to the project's video, <name>-music.mp4)")]
OverwriteArg = Annotated[bool, Field(description="replace the file output_path names if it exists")]
PlanArg = Annotated[bool, Field(description="also save a picture of how the music fits (cuts, sections, beats, "
                                           "ducking under speech, loudness) beside the MP4 and return it as an image")]
PathsArg = Annotated[list[str], Field(description="local file paths or http(s)/file URLs", min_length=1)]
MessageArg = Annotated[str, Field(description="the user's request in their own words", min_length=1,
                                  max_length=100_000)]


def _doc(fn: Any) -> str:
    """A tool's description: its docstring without the source's indentation."""
    return inspect.cleandoc(fn.__doc__ or "")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ai-music")
    except PackageNotFoundError:
        return "0+source"


def _tool_error(report: dict[str, Any]) -> ToolError:
    """The first failure's message as the user reads it: the model relays it, so no internal code."""
    return ToolError(report["errors"][0]["message"])


class _Server(MCPServer):
    """The SDK's server, refusing arguments a tool does not take: the SDK drops them unseen, so a
    misspelt ``outputpath`` would quietly write the MP4 somewhere else than asked."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        tool = self._tool_manager.get_tool(name)
        if tool is not None:
            accepted = list(tool.parameters.get("properties", {}))
            unknown = [key for key in arguments if key not in accepted]
            if unknown:
                raise ToolError(f"{name} does not take {', '.join(map(repr, unknown))}; "
                                f"it takes {', '.join(accepted) or 'no arguments'}")
        return await super().call_tool(name, arguments, context)


def _beside_input(inputs: list[str] | tuple[str, ...]) -> Path:
    """Where an export goes by default: the host app's working directory is not the user's, so
    next to the project's video (else the home folder)."""
    for item in inputs:
        folder = Path(item).expanduser().resolve().parent
        if folder.is_dir() and os.access(folder, os.W_OK):
            return folder
    return Path.home()


def build(skill_path: str | None = None, backend: str | None = None) -> MCPServer:
    shared = _State()

    @contextlib.asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[None]:
        from runtime.backend import connect
        from runtime.document import load_skill

        skill = load_skill(skill_path)
        shared.conn = await anyio.to_thread.run_sync(lambda: shared.stack.enter_context(connect(skill, backend)))
        try:
            yield None
        finally:
            await anyio.to_thread.run_sync(shared.stack.close)

    server = _Server(name="ai-music", version=_version(), instructions=INSTRUCTIONS, lifespan=lifespan,
                       log_level="WARNING")

    def _refused(items: list[str]) -> None:
        """Check files and URLs as the upload would, before anything changes."""
        from skill import errors
        from skill.actions.upload import check_file, check_url

        try:
            for item in items:
                check_url(item) if "://" in item else check_file(shared.conn, item)
        except errors.BadInput as exc:
            raise ToolError(exc.user_message) from None

    def _release_one_shot(replaced: str | None) -> None:
        """A project an earlier make_music_video made, now replaced by a new one: its MP4 is written and
        nothing can reach it any more, so the embedded engine drops its files (as `run` does at once)."""
        if replaced is not None and replaced == shared.one_shot:
            shared.conn.release_project(replaced)

    async def turn(ctx: Context, text: str, attachments: list[str] | None = None, *, auto_export: bool = False,
                   dest: str | None = None, overwrite: bool = False, fresh: bool = False,
                   plan: bool = False) -> dict[str, Any]:
        from runtime.conversation import Conversation
        from runtime.job import MADE_WITHOUT, fit_picture_offered
        from runtime.mcp_pictures import save_paired

        async with shared.lock:
            def work() -> dict[str, Any]:
                if fresh:
                    _refused(list(attachments or []))  # a refused call must not wipe the current project
                # asked before the upload (and the credits it spends): a backend without pictures says so
                plan_error = MADE_WITHOUT if plan and not fit_picture_offered(shared.conn) else None
                replaced = shared.conn.session.session_id if fresh and shared.conn.session else None
                folder = _beside_input([a for a in attachments or [] if "://" not in a]) if fresh else None
                convo = Conversation(shared.conn, _Bridge(ctx), auto_export=auto_export, export_dest=dest or None,
                                     overwrite=overwrite, output_dir=folder or _beside_input(shared.conn.inputs()))
                if fresh:
                    convo.new_project(text)
                report = convo.turn(text, attachments or [])
                if fresh and report.ok and report.files and shared.conn.session is not None:
                    _release_one_shot(replaced)
                    shared.one_shot = shared.conn.session.session_id
                data = report.to_json()
                data["_draft"] = report.chat.draft if report.chat is not None else None
                if plan and plan_error is None and report.ok and report.files:  # drawn while the project is open
                    data["plan"], plan_error = save_paired(shared.conn, Path(report.files[0]), shared.pictures)
                data["plan_error"] = plan_error
                data["_picture"] = report.picture
                return data
            report = await anyio.to_thread.run_sync(work)
        if report["errors"]:
            raise _tool_error(report)
        return report

    async def action(ctx: Context, name: str, dest: str | None = None, overwrite: bool = False) -> dict[str, Any]:
        from runtime.conversation import Conversation
        from runtime.document.model import Action

        async with shared.lock:
            def work() -> dict[str, Any]:
                convo = Conversation(shared.conn, _Bridge(ctx), export_dest=dest or None, overwrite=overwrite,
                                     output_dir=_beside_input(shared.conn.inputs()))
                return convo.action(Action(name)).to_json()
            report = await anyio.to_thread.run_sync(work)
        if report["errors"]:
            raise _tool_error(report)
        return report

    async def make_music_video(video: VideoArg, ctx: Context, prompt: PromptArg = DEFAULT_PROMPT,
                               output_path: OutputArg = None, overwrite: OverwriteArg = False,
                               plan: PlanArg = False) -> Annotated[CallToolResult, VideoResult]:
        """The whole job in one call: upload `video`, apply `prompt`, render and download a
        1080p MP4. Starts a new project (the current one is kept if the video is refused; the
        project an earlier make_music_video call made is released once this one is written).
        Written to `output_path`, or next to the video as `<name>-music.mp4` (numbered if
        taken). Returns `path` (the MP4), `reply` (what was done) and `link` (the project in
        a browser, when the backend has one). With `plan`, also the picture of how the music
        fits, as an image and saved as `<output stem>-plan.png` beside the MP4 (numbered if
        that name is taken; `plan`; why not in `plan_error`). Takes seconds for a short clip locally; progress is reported
        by phase."""
        from runtime.mcp_pictures import with_picture

        report = await turn(ctx, prompt, [video], auto_export=True, dest=output_path, overwrite=overwrite,
                            fresh=True, plan=plan)
        result = VideoResult(path=report["files"][0] if report["files"] else None, reply=report["reply"],
                             link=report["links"][0] if report["links"] else None, plan=report.get("plan"),
                             plan_error=report["plan_error"])
        return with_picture(result.model_dump(mode="json"), result.plan)

    async def upload(paths: PathsArg, ctx: Context) -> Reply:
        """Add media to the current project (video: mp4, mov, avi, webm, mkv; image: jpg, png,
        gif, webp; audio: mp3, wav, m4a, aac). Files the skill cannot accept are refused
        before anything is sent. Returns a line per file."""
        report = await turn(ctx, "upload", paths)
        return Reply(reply=report["reply"])

    async def chat(message: MessageArg, ctx: Context) -> Annotated[CallToolResult, ChatReply]:
        """Send the user's request to the video editor: add or change music (genre, mood,
        tempo, volume, fades, instruments), titles, trims, aspect ratio, undo… Returns the
        editor's reply (GUI wording already translated), `changes` and `summary`, the
        timeline after the edit. "show me how the music fits" returns the picture of the fit
        as an image, saved beside the video as `<video stem>-plan.png`, numbered if taken
        (`picture`). Words like "export", "status" or
        "credits" are handled locally as the skill's routing table says."""
        from runtime.mcp_pictures import with_picture
        from skill.draft import summarize

        report = await turn(ctx, message)
        draft = report.pop("_draft", None)
        summary = summarize(draft, shared.conn.skill.conversation.track_labels) if draft is not None else None
        changes = report["chat"]["changes"] if report["chat"] else []
        picture = report["_picture"]  # the fit picture, if this turn saved one (runtime.conversation)
        result = ChatReply(reply=report["reply"], summary=summary, changes=changes, files=report["files"],
                           picture=picture)
        return with_picture(result.model_dump(mode="json"), picture)

    async def export(ctx: Context, output_path: OutputArg = None, overwrite: OverwriteArg = False) -> VideoResult:
        """Render the current project to a 1080p MP4 and download it: to `output_path`, else
        next to the project's video as `<name>-music.mp4`, numbered if taken. Free — exports
        cost no credits. Reports progress by phase while the render runs; resumes a render an
        interrupted export started. Returns `path` and `link` (a claim link, never the API
        token)."""
        report = await action(ctx, "export", output_path, overwrite)
        return VideoResult(path=report["files"][0] if report["files"] else None, reply=report["reply"],
                           link=report["links"][0] if report["links"] else None)

    async def state(ctx: Context) -> StateReply:
        """The current project: the timeline as one line per track ("Timeline (2 tracks): 1.
        Video: demo (0-60s) 2. BGM: Lo-fi (0-60s, 35%)") and as data, the uploaded files,
        the session and where it is kept."""
        from skill.actions.state import fetch_state
        from skill.draft import timeline
        from skill.store import config_dir

        report = await action(ctx, "state")

        def read() -> tuple[list[dict[str, Any]], str | None]:
            draft = fetch_state(shared.conn).get("draft")
            session = shared.conn.session
            return timeline(draft, shared.conn.skill.conversation.track_labels), \
                session.session_id if session else None
        tracks, session_id = await anyio.to_thread.run_sync(read)
        return StateReply(reply=report["reply"], timeline=[TimelineTrack(**t) for t in tracks], session_id=session_id, state_dir=str(config_dir()))

    async def credits(ctx: Context) -> CreditsReply:
        """The credit balance: available, frozen (reserved for edits in progress), total.
        Edits cost credits; exports do not."""
        report = await action(ctx, "credits")
        return CreditsReply(reply=report["reply"], credits=Balance(**report["credits"]))

    for fn in (make_music_video, upload, chat, export, state, credits):
        server.tool(description=_doc(fn), structured_output=True)(fn)
    return server


def host_config(kind: str = "json") -> str:
    """What to paste into an MCP host: this installation's command and the state variables."""
    from runtime.install import own_executable

    command = str(own_executable() or "ai-music")
    env = {name: os.environ[name] for name in STATE_VARIABLES if os.environ.get(name)}
    if kind == "claude":
        flags = " ".join(f"-e {shlex.quote(f'{name}={value}')}" for name, value in env.items())
        return f"claude mcp add ai-music {flags + ' ' if flags else ''}-- {shlex.quote(command)} mcp"
    entry: dict[str, Any] = {"command": command, "args": ["mcp"]}
    if env:
        entry["env"] = env
    return json.dumps({"mcpServers": {"ai-music": entry}}, indent=2)


def serve(skill_path: str | None = None, backend: str | None = None) -> int:
    os.environ.setdefault("AI_MUSIC_MCP", "1")
    build(skill_path, backend).run("stdio")
    return 0
