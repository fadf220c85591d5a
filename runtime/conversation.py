"""The turn loop: route → action → GUI-translated reply, as the skill document describes.

One :class:`Conversation` serves every front end (``say``, ``run``, the REPL, the
harness, MCP). A turn is routed by the document's table; each step runs its action;
whatever the backend's GUI talk stood for is carried out or offered: "click Export"
renders when the user asked for the video (otherwise it is offered in words), "preview
in timeline" shows the track summary, "check your account" shows the credits, "drag
the music" becomes an invitation to say the change. Errors end the turn with the
skill's guidance, never a traceback, and technical details stay out of the chat.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from protocol.language import language_of
from runtime import failures
from runtime.document.gui import GuiTranslator
from runtime.job import job_steps
from runtime.document.router import Route, Router
from runtime.document.model import Action, GuiAction
from skill import errors
from skill.actions import Output
from skill.actions.chat import ChatResult, chat
from skill.actions.credits import credits
from skill.actions.export import export, project_link, requested_format
from skill.actions.state import state
from skill.actions.upload import upload
from skill.connection import Connection
from skill.destination import Destination

_RETRY = re.compile(r"^\s*(?:retry|try again|resend it|重试|再试一次)\s*[.!]?\s*$", re.I)


@dataclass
class TurnReport:
    """What happened in one turn — the ``say --json`` object is built from it."""

    route: Route | None = None
    replies: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    credits: dict[str, Any] | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    chat: ChatResult | None = None
    picture: str | None = None  # the fit picture this turn saved (also in ``files``)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def exit_code(self) -> int:
        """0 done; 1 the backend failed; 2 the input was refused before sending; 3 this machine failed."""
        return failures.exit_code([e["type"] for e in self.errors])

    def to_json(self) -> dict[str, Any]:
        chat_info = None
        if self.chat is not None:
            chat_info = {"silent": self.chat.silent, "changes": self.chat.changes, "dropped": self.chat.dropped,
                         "timed_out": self.chat.timed_out, "recovered": self.chat.recovered,
                         "notices": self.chat.notices, "tool_calls": self.chat.tool_calls}
        return {"ok": self.ok, "route": self.route.to_json() if self.route else None,
                "reply": "\n".join(r for r in self.replies if r), "files": self.files, "links": self.links,
                "credits": self.credits, "chat": chat_info, "errors": self.errors}


class Conversation:
    def __init__(self, conn: Connection, out: Output, *, auto_export: bool = False,
                 output_dir: Path | None = None, export_dest: str | Path | Destination | None = None,
                 overwrite: bool = False) -> None:
        self.conn = conn
        self.skill = conn.skill
        self.out = out
        self.router = Router(self.skill)
        self.gui = GuiTranslator(self.skill)
        self.auto_export = auto_export
        self.output_dir = output_dir
        self.export_dest = export_dest  # as the user typed it: "out/" (a folder) is not "out"
        self.overwrite = overwrite
        # the state read at the end of a turn's chat, for that turn's later steps only (its follow-ups, its
        # export): between turns the project may change (the page, another client, /new), so it is gone then
        self._known_state: dict[str, Any] | None = None

    # ------------------------------------------------------------------ greeting

    def greeting(self) -> str:
        conv = self.skill.conversation
        lines = [conv.greeting or f"Ready: {self.skill.frontmatter.display_name or self.skill.name}."]
        if conv.examples:
            lines.append("Try saying: " + " · ".join(f"“{e}”" for e in conv.examples))
        return "\n".join(lines)

    def connect(self) -> None:
        """Token and session up front, with the document's status line ("Connecting...")."""
        self.out.notice(self.skill.conversation.connecting or "Connecting…")
        self.conn.ensure_session()

    # ------------------------------------------------------------------ turns

    def turn(self, text: str, attachments: tuple[str, ...] | list[str] = ()) -> TurnReport:
        report = TurnReport()
        try:
            return self._turn(report, text, attachments)
        finally:
            self._known_state = None

    def _turn(self, report: TurnReport, text: str, attachments: tuple[str, ...] | list[str]) -> TurnReport:
        if _RETRY.match(text or "") and not attachments:
            text = self.conn.unsent_message() or text  # the user asked for it explicitly: safe to send again
        self._note_language(text)
        route = self.router.route(text, list(attachments))
        report.route = route
        steps = job_steps(route.steps) if self.auto_export else list(route.steps)
        wants_export = any(s.action is Action.EXPORT for s in steps)
        for step in steps:
            try:
                self._step(step, report, wants_export)
            except errors.NemoError as exc:
                self._fail(report, exc)
                break
        if any(s.action in (Action.UPLOAD, Action.CHAT) for s in steps) and not wants_export:
            self._offer_workspace(report)
        return report

    def _offer_workspace(self, report: TurnReport) -> None:
        """The project's browser link, once per project: watch the fit and keep editing there.

        Only where the page outlives this command — an engine someone serves, or the cloud;
        the embedded engine stops when the command ends (``project_link`` is None there; its
        workspace is ``ai-music open``). An export prints the link itself, every time."""
        session = self.conn.session
        if not report.ok or session is None or self.conn.backend.local:
            return
        saved = self.conn.store.session(self.conn.backend.key) or {}
        if saved.get("session_id") != session.session_id or saved.get("linked"):
            return
        link = project_link(self.conn)
        if link:  # beside the reply, not part of it: `say --json` has it in ``links``
            report.links.append(link)
            self.out.link("Watch the fit and keep editing in your browser:", link)
            self.conn.store.update_session(self.conn.backend.key, session.session_id, linked=True)

    def _note_language(self, text: str) -> None:
        """The session is created in the user's language (SKILL.md: "language": "<lang>")."""
        if self.conn.language is None and text.strip():
            self.conn.language = language_of(text)

    def new_project(self, first_message: str = "") -> None:
        """A fresh session for a new job, in the language of its first message."""
        self.conn.language = None
        self._note_language(first_message)
        self.conn.new_session()

    def action(self, action: Action) -> TurnReport:
        """Run one action directly (the REPL's /status, /credits, /export)."""
        report = TurnReport(route=Route(action=action, reason="command"))
        try:  # nothing read in an earlier turn is current: each turn and command clears it when it ends
            self._step(report.route, report, action is Action.EXPORT)
        except errors.NemoError as exc:
            self._fail(report, exc)
        finally:
            self._known_state = None
        return report

    def _fail(self, report: TurnReport, exc: errors.NemoError) -> None:
        """Record the failure in the report (exit code, --json) and tell the user what to do."""
        message = self._message(exc)
        report.errors.append({**failures.describe(exc), "message": message})
        report.replies.append(message)
        self.out.error(message)

    def _reply(self, report: TurnReport, text: str) -> None:
        if text:
            report.replies.append(text)
            self.out.say(text)

    def _message(self, exc: errors.NemoError) -> str:
        if isinstance(exc, errors.ApiError) and not isinstance(exc, (errors.AuthError,)):
            return errors.guidance(exc, self.skill, anonymous=self.conn.anonymous,
                                   user_id=self.conn.user_id or self.conn.client.user_id,
                                   web_url=self.conn.backend.web_url, embedded=self.conn.backend.local)
        return failures.unreachable_hint(exc)

    def _step(self, step: Route, report: TurnReport, wants_export: bool) -> None:
        known, self._known_state = self._known_state, None  # only a chat step sets it again
        if step.action is Action.UPLOAD:
            if not step.attachments:
                self._reply(report, "Send me the file — type or drop its path here — or give me a URL.")
                return
            result = upload(self.conn, list(step.attachments), self.out)
            self._reply(report, result.text)
        elif step.action is Action.CHAT:
            self._chat(step, report, wants_export)
        elif step.action is Action.STATE:
            self._reply(report, state(self.conn, known).text)
            self._known_state = known  # reading changes nothing
        elif step.action is Action.CREDITS:
            result = credits(self.conn)
            report.credits = {"available": result.credits.available, "frozen": result.credits.frozen,
                              "total": result.credits.total, "unlimited": result.credits.unlimited}
            self._reply(report, result.text)
        elif step.action is Action.EXPORT:
            result = export(self.conn, self.out, dest=self.export_dest, directory=self.output_dir,
                            fmt=requested_format(step.text), overwrite=self.overwrite, known_state=known)
            report.files.append(str(result.path))
            self._reply(report, result.text)
            if result.link:
                report.links.append(result.link)
                report.replies[-1] += f"\nOpen the project in your browser: {result.link}"  # --json reply as before
                self.out.link("Open the project in your browser:", result.link)

    def _chat(self, step: Route, report: TurnReport, wants_export: bool) -> None:
        message = step.text.strip()
        if not message:
            examples = self.skill.conversation.examples
            hint = f" For example: “{examples[0]}”." if examples else ""
            self._reply(report, f"What would you like to do with your video?{hint}")
            return
        result = chat(self.conn, self.gui, message, self.out)
        report.chat = result
        self._known_state = result.state
        if result.text:
            report.replies.append(result.text)
            self.out.say("")
            self._keep_fit_picture(report, result.text)
        if result.stream_error and not result.text:
            if result.stream_error_code:  # a coded failure has a rule in the document's error table
                raise errors.api_error(result.stream_error_code, result.stream_error)
            self._reply(report, f"The backend could not finish that: {result.stream_error}")
        if result.dropped or result.timed_out:
            if result.recovered:
                self._reply(report, "The connection dropped, but your edit went through:\n" + "\n".join(result.changes))
            else:
                self.conn.remember_unsent(message)
                self._reply(report, "The connection dropped and no change showed up after checking several times. "
                                    "Say “retry” to send your request again.")
                return
        elif result.silent:
            self._reply(report, "\n".join(result.changes) if result.changes else
                        "✅ Done — the project looks the same as before, though. Tell me what you'd like changed.")
        self.conn.remember_unsent(None)
        self._followups(result, report, wants_export)

    def _keep_fit_picture(self, report: TurnReport, reply: str) -> None:
        """The engine answers "show me how the music fits" with its picture's address, which opens only with
        this client's token (and dies with an embedded engine): the picture is saved here, and the reply
        (shown and returned) names the file instead of the address."""
        session, chat = self.conn.session, report.chat
        if session is None or chat is None or not chat.withheld:
            return
        from runtime.job import NoPicture, fit_picture_to, picture_for_project
        from skill.actions.state import fetch_state
        from skill.destination import input_name

        # named as the export names the MP4 (the video on the timeline), never over a file already there
        uploads = self.conn.inputs()
        try:
            video = input_name(fetch_state(self.conn, self._known_state))
        except errors.NemoError:  # the reply stands; the picture is named after the oldest upload then
            video = None
        video = video or (uploads[0] if uploads else None)
        got = fit_picture_to(self.conn, picture_for_project(self.output_dir or Path.cwd(), video))
        if isinstance(got, NoPicture):
            self.out.say("".join(chat.withheld).strip())
            self._reply(report, f"Could not save the picture: {got.message}")
            return
        dest = got
        address = re.compile(rf"\S*/api/fit/{re.escape(session.session_id)}/picture\.png")
        report.files.append(str(dest))
        report.picture = str(dest)
        chat.text = address.sub(lambda _: str(dest), chat.text)
        report.replies[report.replies.index(reply)] = chat.text
        self.out.say(address.sub(lambda _: str(dest), "".join(chat.withheld)).strip())

    def _followups(self, result: ChatResult, report: TurnReport, wants_export: bool) -> None:
        done: set[GuiAction] = set()
        for follow in result.followups:
            action = follow.action
            if action in done:
                continue
            done.add(action)
            if action is GuiAction.EXPORT and not wants_export:
                self._reply(report, "When you're happy with it, say “export” and I'll render the MP4.")
            elif action in (GuiAction.SUMMARY, GuiAction.STATE, GuiAction.QUERY) and not (
                    {GuiAction.SUMMARY, GuiAction.STATE, GuiAction.QUERY} & (done - {action})):
                self._reply(report, state(self.conn, self._known_state).summary)
            elif action is GuiAction.CREDITS:
                self._reply(report, credits(self.conn).text)
            elif action is GuiAction.EDIT:
                self._reply(report, "Want it placed differently? Just say so — for example “start the music at "
                                    "0:05” or “move the title to the bottom”.")
