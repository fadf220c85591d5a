"""§3.1 Chat over SSE — with every rule the skill gives for living with that stream.

- Text is shown as it arrives, a sentence at a time, after GUI translation (§4): a
  half-streamed "Click **Exp…" must never reach the user, so translation needs whole
  sentences. ``partial`` chunks are reconciled with the final text that repeats them.
- Tool calls and results are silent.
- While only heartbeats arrive, the document's notice ("⏳ Still working...") is shown
  at the document's period; after its heartbeats-only limit the wait ends as a timeout.
- A trailing "I encountered a temporary issue" after a normal reply is ignored.
- No text at all (≈30% of edits): read the state, diff with the draft from before the
  turn, and say what changed.
- The stream drops or times out: never re-send (double charge). Wait, read the state,
  report a change; else keep checking with the document's back-off, then give up and
  offer a retry (§3.6).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from runtime.document.gui import FollowUp, GuiTranslator
from skill import errors
from skill.actions import Output
from skill.actions.state import fetch_state
from skill.connection import Connection
from skill.draft import changes

_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|\n")


@dataclass
class ChatResult:
    text: str = ""
    raw_text: str = ""
    followups: list[FollowUp] = field(default_factory=list)
    tool_calls: list[str] = field(default_factory=list)
    heartbeats: int = 0
    notices: int = 0
    silent: bool = False
    changes: list[str] = field(default_factory=list)
    dropped: bool = False
    timed_out: bool = False
    recovered: bool | None = None
    stream_error: str | None = None
    stream_error_code: int | None = None
    draft: Any = None          # the draft after the turn, when it was read
    state: dict[str, Any] | None = None  # the whole project state it was read from (the turn's steps after reuse it)
    withheld: list[str] = field(default_factory=list)  # sentences with the fit picture's address, not yet shown


class _Speaker:
    """Turns streamed text into translated sentences for the user."""

    def __init__(self, gui: GuiTranslator, out: Output, result: ChatResult, withhold: str | None = None) -> None:
        self.gui, self.out, self.result = gui, out, result
        self.withhold = withhold  # the fit picture's path: its sentence waits for the caller to save the picture
        self.buffer = ""
        self.partial_seen = ""   # partial text shown since the last complete text event
        self.held = ""           # partial text kept back until we know it is not ignorable
        self.shown: list[str] = []

    def partial(self, chunk: str, *, hold: bool) -> None:
        """Show a chunk; after a reply, hold it — it may be the start of a trailing apology."""
        if hold:
            self.held += chunk
            return
        self.partial_seen += chunk
        self._feed(chunk)

    def discard(self) -> None:
        """The text event these chunks belong to is ignorable: forget them."""
        self.partial_seen = self.held = ""

    def release(self, ignore: tuple[str, ...]) -> None:
        """The stream ended with chunks held and no complete text: show them unless ignorable."""
        held, self.held = self.held, ""
        if held and not _ignorable(held, ignore, True):
            self._feed(held)

    def complete(self, text: str) -> None:
        """A whole text event: it repeats the partial chunks already shown, if any."""
        seen, self.partial_seen, self.held = self.partial_seen, "", ""
        # normally the whole text repeats the chunks; if it doesn't, it is new text
        rest = text[len(seen):] if seen and text.startswith(seen) else text
        self._feed(rest)
        self.flush()  # a text event is a whole message: the next one starts a new sentence
        self.result.raw_text += text

    def _feed(self, text: str) -> None:
        self.buffer += text
        while True:
            match = _SENTENCE_END.search(self.buffer)
            if not match:
                return
            sentence, self.buffer = self.buffer[:match.end()], self.buffer[match.end():]
            self._emit(sentence)

    def _emit(self, sentence: str) -> None:
        if not sentence.strip():
            return
        translated = self.gui.translate(sentence)
        self.result.followups.extend(translated.followups)
        if translated.text:
            piece = translated.text + (" " if not sentence.endswith("\n") else "\n")
            self.shown.append(piece)
            if self.withhold and self.withhold in piece:  # its address opens only with our token (or
                self.result.withheld.append(piece)         # dies with an embedded engine): the caller
                return                                     # shows it once it has saved the picture
            self.out.stream(piece)

    def flush(self) -> None:
        if self.buffer.strip():
            self._emit(self.buffer)
        self.buffer = ""


def _ignorable(text: str, ignore: tuple[str, ...], has_text: bool) -> bool:
    return has_text and any(phrase.lower() in text.lower() for phrase in ignore)


def chat(conn: Connection, gui: GuiTranslator, message: str, out: Output) -> ChatResult:
    """Send ``message`` once and see the turn through (module docstring)."""
    settings = conn.settings
    result = ChatResult()
    before = fetch_state(conn).get("draft")
    stream = conn.in_session(lambda s: conn.client.open_chat(s.session_id, message))
    session = conn.session
    speaker = _Speaker(gui, out, result, f"/api/fit/{session.session_id}/picture.png" if session else None)
    started = last_activity = last_notice = time.monotonic()
    got_text = False
    try:
        while True:
            now = time.monotonic()
            due = min(last_notice + settings.notice_period_s, last_activity + settings.heartbeat_timeout_s,
                      started + settings.max_stream_s)
            try:
                event = stream.get(timeout=max(0.0, due - now))
            except errors.StreamDropped:
                result.dropped = True
                break
            now = time.monotonic()
            if event is None:
                if stream.closed:
                    break
                if now - last_activity >= settings.heartbeat_timeout_s or now - started >= settings.max_stream_s:
                    result.timed_out = True
                    break
                if now - last_notice >= settings.notice_period_s:
                    out.notice(settings.notice)
                    result.notices += 1
                    last_notice = now
                continue
            if event.kind == "heartbeat":
                result.heartbeats += 1
                if event.text:  # the backend named its phase: show it while we wait
                    out.progress(event.text[:1].upper() + event.text[1:], 0, None)
                continue
            last_activity = now
            if event.kind in ("tool_call", "tool_result"):
                if event.kind == "tool_call" and event.name:
                    result.tool_calls.append(event.name)
            elif event.kind == "partial":
                speaker.partial(event.text, hold=got_text and bool(settings.ignore_trailing))
                last_notice = now
            elif event.kind == "text":
                if _ignorable(event.text, settings.ignore_trailing, got_text):
                    speaker.discard()
                    continue
                if event.text.strip():
                    got_text = True
                speaker.complete(event.text)
                last_notice = now
            elif event.kind == "error":
                result.stream_error, result.stream_error_code = event.text, event.error_code
    finally:
        stream.close()
    speaker.release(settings.ignore_trailing)
    speaker.flush()
    result.text = "".join(speaker.shown).strip()
    if result.dropped or result.timed_out:
        _recover(conn, before, result, out)
    else:  # what changed, whether or not the backend said so (agents read it as data)
        result.silent = not result.text
        result.state = fetch_state(conn)
        result.draft = result.state.get("draft")
        result.changes = changes(before, result.draft, conn.skill.conversation.track_labels)
    return result


def _recover(conn: Connection, before: Any, result: ChatResult, out: Output) -> None:
    """§3.6: wait, query state, report a change, back off, give up after N unchanged."""
    settings = conn.settings
    why = "timed out" if result.timed_out else "dropped"
    out.notice(f"The connection {why}; checking whether your edit went through (not re-sending it)…")
    wait = settings.recovery_first_wait_s
    labels = conn.skill.conversation.track_labels
    for _ in range(settings.recovery_max_unchanged):
        time.sleep(wait)
        try:
            after = fetch_state(conn).get("draft")
        except errors.TransportError:
            after = before
        found = changes(before, after, labels)
        if found:
            result.changes = found
            result.recovered = True
            result.draft = after
            return
        wait = settings.recovery_next_wait_s
    result.recovered = False
