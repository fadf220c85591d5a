"""``ai-music mcp``: the skill as MCP tools, for Claude Desktop, Claude Code, Cursor, Codex.

Built on the official SDK's high-level server (``mcp`` 2.x: ``mcp.server.mcpserver``).
One connection — and, by default, one embedded engine — lives as long as the server, so
a model can upload, chat, look at the state and export across many calls in the same
project, and project links stay valid while the server runs. The client code underneath
is blocking, so each tool runs in a worker thread; progress and status lines from there
are forwarded to the MCP context (``report_progress``, ``info``). Failures come back as
tool errors carrying the skill's guidance (e.g. the registration link for 2001), never
as a crash of the server.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator

import anyio
import anyio.from_thread
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from runtime.cli import DEFAULT_PROMPT

INSTRUCTIONS = """Music for videos, offline or in the cloud. Typical use: call `make_music_video`
with a video path (and optionally what the user wants) to get a finished 1080p MP4 with
music composed to fit the video. For step-by-step work: `upload` files, `chat` the
user's request in their own words (repeat to refine), `state` to see the timeline, and
`export` to render and download. `credits` shows the balance. Never put tokens in
messages; the tools handle authentication."""


@dataclass
class _Bridge:
    """An Output (see skill.actions) that forwards to the MCP context from a worker thread."""

    ctx: Context

    def say(self, text: str) -> None:
        pass  # replies are returned as the tool result

    def stream(self, text: str) -> None:
        pass

    def notice(self, text: str) -> None:
        with contextlib.suppress(Exception):
            anyio.from_thread.run(self.ctx.info, text)

    def error(self, text: str) -> None:
        pass  # failures come back as the tool's error

    def close(self) -> None:
        pass

    def progress(self, label: str, done: float, total: float | None, unit: str = "%") -> None:
        with contextlib.suppress(Exception):
            anyio.from_thread.run(self.ctx.report_progress, float(done), float(total) if total else None, label)


class _State:
    def __init__(self) -> None:
        self.conn: Any = None
        self.lock = anyio.Lock()
        self.stack = contextlib.ExitStack()


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
        from runtime.skillfile import load_skill

        skill = load_skill(skill_path)
        shared.conn = await anyio.to_thread.run_sync(lambda: shared.stack.enter_context(connect(skill, backend)))
        try:
            yield None
        finally:
            await anyio.to_thread.run_sync(shared.stack.close)

    server = MCPServer(name="ai-music", instructions=INSTRUCTIONS, lifespan=lifespan)

    async def turn(ctx: Context, text: str, attachments: list[str] | None = None, *, auto_export: bool = False,
                   dest: str | None = None, overwrite: bool = False, fresh: bool = False) -> dict[str, Any]:
        from runtime.conversation import Conversation

        async with shared.lock:
            def work() -> dict[str, Any]:
                folder = _beside_input([a for a in attachments or [] if "://" not in a]) if fresh else None
                convo = Conversation(shared.conn, _Bridge(ctx), auto_export=auto_export, export_dest=dest or None,
                                     overwrite=overwrite, output_dir=folder or _beside_input(shared.conn.inputs()))
                if fresh:
                    convo.new_project(text)
                return convo.turn(text, attachments or []).to_json()
            report = await anyio.to_thread.run_sync(work)
        if report["errors"]:
            raise ToolError(report["errors"][0]["message"])
        return report

    async def action(ctx: Context, name: str, dest: str | None = None, overwrite: bool = False) -> dict[str, Any]:
        from runtime.conversation import Conversation
        from runtime.skillfile import Action

        async with shared.lock:
            def work() -> dict[str, Any]:
                convo = Conversation(shared.conn, _Bridge(ctx), export_dest=dest or None, overwrite=overwrite,
                                     output_dir=_beside_input(shared.conn.inputs()))
                return convo.action(Action(name)).to_json()
            report = await anyio.to_thread.run_sync(work)
        if report["errors"]:
            raise ToolError(report["errors"][0]["message"])
        return report

    @server.tool()
    async def make_music_video(video: str, ctx: Context, prompt: str = DEFAULT_PROMPT,
                               output_path: str | None = None, overwrite: bool = False) -> dict[str, Any]:
        """The whole job in one call: upload `video` (a local path or URL), apply `prompt`
        (default: music that matches the video's mood and length), render and download a
        1080p MP4. Starts a new project. Written to `output_path` (a file, or a folder ending
        in "/") or, by default, next to the video as `<name>-music.mp4` (numbered if taken;
        an existing `output_path` is replaced only with `overwrite`). Returns `path` (the
        MP4), `reply` (what was done) and `link` (the project in a browser, when the backend
        has one). Takes seconds for a short clip locally; progress is reported by phase."""
        report = await turn(ctx, prompt, [video], auto_export=True, dest=output_path, overwrite=overwrite,
                            fresh=True)
        return {"path": report["files"][0] if report["files"] else None, "reply": report["reply"],
                "link": report["links"][0] if report["links"] else None}

    @server.tool()
    async def upload(paths: list[str], ctx: Context) -> dict[str, Any]:
        """Add media to the current project: local file paths or http(s)/file URLs (video: mp4,
        mov, avi, webm, mkv; image: jpg, png, gif, webp; audio: mp3, wav, m4a, aac). Files the
        skill cannot accept are refused before anything is sent. Returns a line per file."""
        report = await turn(ctx, "upload", paths)
        return {"reply": report["reply"]}

    @server.tool()
    async def chat(message: str, ctx: Context) -> dict[str, Any]:
        """Send the user's request, in their words, to the video editor: add or change music
        (genre, mood, tempo, volume, fades, instruments), titles, trims, aspect ratio, undo…
        Returns the editor's reply (GUI wording already translated) and `summary`, the
        timeline after the edit. Words like "export", "status" or "credits" are handled
        locally as the skill's routing table says."""
        report = await turn(ctx, message)
        summary = None
        with contextlib.suppress(ToolError):
            summary = (await action(ctx, "state"))["reply"].split("\n")[0]
        return {"reply": report["reply"], "summary": summary, "files": report["files"]}

    @server.tool()
    async def export(ctx: Context, output_path: str | None = None, overwrite: bool = False) -> dict[str, Any]:
        """Render the current project to a 1080p MP4 and download it: to `output_path` (a file,
        or a folder ending in "/"), else next to the project's video as `<name>-music.mp4`,
        numbered if taken (never over an existing file unless `overwrite`). Free — exports
        cost no credits. Reports progress by phase while the render runs; resumes a render
        that an earlier, interrupted export started. Returns `path` and `link` (the project
        in a browser, via a claim token — never the API token)."""
        report = await action(ctx, "export", output_path, overwrite)
        return {"path": report["files"][0] if report["files"] else None, "reply": report["reply"],
                "link": report["links"][0] if report["links"] else None}

    @server.tool()
    async def state(ctx: Context) -> dict[str, Any]:
        """The current project: the timeline as one line per track ("Timeline (2 tracks): 1.
        Video: demo (0-60s) 2. BGM: Lo-fi (0-60s, 35%)") and the uploaded files."""
        return {"reply": (await action(ctx, "state"))["reply"]}

    @server.tool()
    async def credits(ctx: Context) -> dict[str, Any]:
        """The credit balance: available, frozen (reserved for edits in progress), total.
        Edits cost credits; exports do not."""
        report = await action(ctx, "credits")
        return {"reply": report["reply"], "credits": report["credits"]}

    return server


def serve(skill_path: str | None = None, backend: str | None = None) -> int:
    os.environ.setdefault("AI_MUSIC_MCP", "1")
    build(skill_path, backend).run("stdio")
    return 0
