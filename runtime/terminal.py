"""How the runtime shows things: a terminal (one live progress bar), plain lines, or JSON.

One progress display per surface:

- a terminal (stderr is a TTY that can redraw) gets a single live bar, replaced in place
  as the job moves through its phases (uploading, analysing, composing, mixing,
  encoding, downloading), with the phase name, percent (or bytes) and ETA — elapsed
  time for a phase that cannot say how far along it is. Status lines are printed above
  the bar; the bar is cleared before any reply is written, so nothing is drawn into it;
- a pipe, a log file or a dumb terminal gets plain lines on stderr: one when a phase
  starts, then one per quarter of it (or every ``PLAIN_EVERY_S`` when it moves slowly);
- ``--json`` collects everything and prints one object; progress adds nothing to it.

Replies go to stdout; status lines, progress and errors to stderr.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO

from skill.shown import link_line, shown

PLAIN_EVERY_S = 15.0
BYTES = "B"
PERCENT = "%"


def _size(value: float) -> str:
    return f"{value / 1024 / 1024:.1f} MB"


def _amount(done: float, total: float | None, unit: str) -> str:
    if unit == BYTES:
        return f"{_size(done)}/{_size(total)}" if total else _size(done)
    return f"{int(done * 100 / total) if total else int(done)}%"


class _Live:
    """The rich bar: one task, reset at each phase so its ETA is the phase's own."""

    def __init__(self, err: TextIO) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn
        from rich.text import Text

        class Amount(ProgressColumn):
            def render(self, task: Any) -> Text:
                if task.total is None:
                    return Text("")
                return Text(_amount(task.completed, task.total, task.fields.get("unit", PERCENT)))

        class Time(ProgressColumn):
            def render(self, task: Any) -> Text:
                seconds = task.time_remaining if task.total is not None else task.elapsed
                if seconds is None:
                    return Text("")
                label = "ETA " if task.total is not None else ""
                return Text(f"{label}{int(seconds) // 60}:{int(seconds) % 60:02d}", style="progress.remaining")

        self.console = Console(file=err)
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), Amount(), Time(), console=self.console,
                            transient=True)
        self.task: Any = None
        self.phase: str | None = None

    def update(self, phase: str, done: float, total: float | None, unit: str) -> None:
        if self.task is None:
            self.bar.start()
            self.task = self.bar.add_task(phase, total=total, unit=unit)
        elif phase != self.phase:
            self.bar.reset(self.task, total=total, completed=0, description=phase, unit=unit)
        self.phase = phase
        self.bar.update(self.task, completed=done, total=total)

    def print(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def stop(self) -> None:
        if self.task is not None:
            self.bar.stop()
            self.bar.remove_task(self.task)
            self.task, self.phase = None, None

    @property
    def showing(self) -> bool:
        return self.task is not None


class _Plain:
    """Progress as occasional lines: a phase's start, then each quarter (or every few seconds)."""

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.phase: str | None = None
        self.quarter = -1
        self.last = 0.0

    def update(self, phase: str, done: float, total: float | None, unit: str) -> None:
        now = time.monotonic()
        if phase != self.phase:
            self.phase, self.quarter, self.last = phase, 0, now
            print(f"⏳ {phase}…", file=self.err, flush=True)
            return
        if not total or not 0 < done < total:
            return
        quarter = int(4 * done / total)
        if quarter > self.quarter or now - self.last >= PLAIN_EVERY_S:  # a slow phase still shows it moves
            print(f"⏳ {phase} {_amount(done, total, unit)}", file=self.err, flush=True)
            self.quarter, self.last = max(quarter, self.quarter), now

    def stop(self) -> None:
        self.phase = None


class TerminalOutput:
    def __init__(self, out: TextIO | None = None, err: TextIO | None = None, *, live: bool | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self._streaming = False
        if live is None:
            live = self.err.isatty() and _can_redraw(self.err)
        self._progress: _Live | _Plain = _Live(self.err) if live else _Plain(self.err)

    def _end_stream(self) -> None:
        if self._streaming:
            self.out.write("\n")
            self.out.flush()
            self._streaming = False

    def _clear(self) -> None:
        """Before stdout is written: a live bar is taken down, so nothing lands inside it."""
        self._progress.stop()

    def say(self, text: str) -> None:
        self._clear()
        self._end_stream()
        if text:
            print(shown(text), file=self.out, flush=True)

    def stream(self, text: str) -> None:
        self._clear()
        self.out.write(shown(text))
        self.out.flush()
        self._streaming = True

    def notice(self, text: str) -> None:
        self._end_stream()
        text = shown(text)  # server text: no control sequences, no tokens (skill.shown)
        if isinstance(self._progress, _Live) and self._progress.showing:
            self._progress.print(text)  # above the bar, which stays
        else:
            print(text, file=self.err, flush=True)

    def link(self, label: str, url: str) -> None:
        self._clear()
        self._end_stream()
        print(link_line(label, url), file=self.out, flush=True)

    def error(self, text: str) -> None:
        self._clear()
        self._end_stream()
        if text:
            print(shown(text), file=self.err, flush=True)

    def progress(self, label: str, done: float, total: float | None, unit: str = PERCENT) -> None:
        self._progress.update(shown(label), done, total, unit)

    def close(self) -> None:
        """End of a turn: no bar left on screen, the last streamed line ended."""
        self._clear()
        self._end_stream()


#: the variables that can make rich treat a pipe as a terminal (rich.console.Console.is_terminal)
_FORCES_TERMINAL = ("TTY_COMPATIBLE", "FORCE_COLOR")


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # not a real stream, or closed
        return False


def _can_redraw(stream: TextIO) -> bool:
    if not _isatty(stream) and not any(name in os.environ for name in _FORCES_TERMINAL):
        return False  # a pipe or a file: rich (~0.1 s to import) would say the same
    from rich.console import Console

    console = Console(file=stream)
    return console.is_terminal and not console.is_dumb_terminal


class CollectingOutput:
    """Collects what would have been shown (``--json``, the harness)."""

    def __init__(self) -> None:
        self.said: list[str] = []
        self.streamed: list[str] = []
        self.notices: list[str] = []
        self.errors: list[str] = []
        self.progress_events: list[tuple[str, float, float | None]] = []

    def say(self, text: str) -> None:
        if self.streamed:
            self.said.append(shown("".join(self.streamed)).strip())
            self.streamed = []
        if text:
            self.said.append(shown(text))

    def stream(self, text: str) -> None:
        self.streamed.append(text)

    def notice(self, text: str) -> None:
        self.notices.append(shown(text))

    def link(self, label: str, url: str) -> None:
        self.say("")  # a reply still streaming is said first
        self.said.append(link_line(label, url))

    def error(self, text: str) -> None:
        self.errors.append(shown(text))
        self.say(text)

    def progress(self, label: str, done: float, total: float | None, unit: str = PERCENT) -> None:
        self.progress_events.append((label, done, total))

    def text(self) -> str:
        parts = list(self.said)
        if self.streamed:
            parts.append(shown("".join(self.streamed)).strip())
        return "\n".join(p for p in parts if p)

    def close(self) -> None:
        pass
