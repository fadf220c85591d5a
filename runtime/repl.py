"""``ai-music chat``: the REPL — small and predictable, in the spirit of ``llm chat``.

Plain lines; a handful of slash commands; history kept in the config dir; a pasted
multi-line message stays one message; a file path typed or dropped into the line —
quoted, backslash-escaped, a ``file://`` URL, or with spaces and no quotes at all — is
attached, or one line says why it can't be (``runtime.typed_paths``). Ctrl-C stops the
current wait — the session, and any render already submitted, survive — and a second
Ctrl-C at an empty prompt (or Ctrl-D, or /exit) leaves. When stdin is not a terminal,
lines are read one by one with no prompt, no colours and no live progress bar.
"""
from __future__ import annotations

import re
import sys
from typing import Iterator

from runtime import typed_paths
from runtime.conversation import Conversation
from runtime.document.model import Action
from skill import errors
from skill.actions import Output

HELP = """Commands:
  /help      this help
  /status    the timeline summary
  /credits   your credit balance
  /export    render and download the MP4
  /new       start a new project (fresh session)
  /exit      leave (also Ctrl-D)
Anything else is sent as a request. Type or drop a file path to send the file."""

COMMANDS = {"/status": Action.STATE, "/credits": Action.CREDITS, "/export": Action.EXPORT}


def _tty_lines(prompt: str, history_file: str) -> Iterator[str]:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory
    from prompt_toolkit.key_binding import KeyBindings

    bindings = KeyBindings()

    @bindings.add("enter")
    def _(event) -> None:  # noqa: ANN001 - prompt_toolkit callback
        event.current_buffer.validate_and_handle()

    @bindings.add("escape", "enter")
    def _(event) -> None:  # noqa: ANN001, F811
        event.current_buffer.insert_text("\n")

    session = PromptSession(history=FileHistory(history_file), multiline=True, key_bindings=bindings)
    interrupted = False
    while True:
        try:
            line = session.prompt(prompt)
            interrupted = False
        except KeyboardInterrupt:
            if interrupted:
                return
            interrupted = True
            print("(Ctrl-C again or /exit to leave)", file=sys.stderr)
            continue
        except EOFError:
            return
        yield line


def _pipe_lines() -> Iterator[str]:
    for line in sys.stdin:
        yield line.rstrip("\n")


def run_repl(convo: Conversation, out: Output, *, interactive: bool, history_file: str) -> int:
    """Loop until /exit or end of input; returns the exit code (0)."""
    if interactive:
        out.say(convo.greeting())
        out.say("Type /help for commands.")
    lines = _tty_lines("› ", history_file) if interactive else _pipe_lines()
    for line in lines:
        text = line.strip()
        if not text:
            continue
        first = text.split()[0]
        # "/export" is a command; "/home/me/demo.mp4" is a file being sent
        command = first.lower() if re.fullmatch(r"/[a-zA-Z]+", first) else None
        if command in ("/exit", "/quit"):
            break
        if command == "/help":
            out.say(HELP)
            continue
        if command == "/new":
            try:
                convo.conn.new_session()
                out.say("Started a new project.")
            except errors.NemoError as exc:
                out.error(exc.user_message)
            continue
        if command is not None and command not in COMMANDS:
            out.error(f"Unknown command {command}. Type /help.")
            continue
        try:
            if command is not None:
                convo.action(COMMANDS[command])
            else:
                _send(convo, out, text)
        except KeyboardInterrupt:
            out.close()
            out.say("\nStopped waiting. Anything already sent keeps going on the backend — "
                    "say “status” to check, or /export to pick up a render.")
        except errors.NemoError as exc:
            out.error(exc.user_message)
        finally:
            out.close()  # no progress bar left under the next prompt
    return 0


def _send(convo: Conversation, out: Output, text: str) -> None:
    """A typed line: each path in it is attached, or one line says why it can't be; nothing half-sent."""
    found = typed_paths.find(text, convo.skill.formats.all)
    if found.problems:
        for problem in found.problems:
            out.error(problem)
        return
    if found.files:
        convo.turn(found.rest, found.files)
    else:
        convo.turn(text)
