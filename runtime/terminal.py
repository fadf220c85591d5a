"""How the runtime shows things: a terminal (with progress bars), plain lines, or JSON.

A person at a terminal gets streamed replies on stdout, status lines and progress bars
on stderr (rich, only when stderr is a TTY). A pipe gets plain lines and no bars or
colours. For ``--json`` everything is collected and printed once as one object.
"""
from __future__ import annotations

import sys
from typing import TextIO


class TerminalOutput:
    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self._streaming = False
        self._bars: dict[str, object] = {}
        self._progress = None
        if self.err.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                      TimeRemainingColumn(), console=Console(file=self.err), transient=True)

    def _end_stream(self) -> None:
        if self._streaming:
            self.out.write("\n")
            self.out.flush()
            self._streaming = False

    def say(self, text: str) -> None:
        self._end_stream()
        if text:
            print(text, file=self.out, flush=True)

    def stream(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()
        self._streaming = True

    def notice(self, text: str) -> None:
        if self._streaming:
            self.out.write("\n")
            self._streaming = False
        print(text, file=self.err, flush=True)

    def progress(self, label: str, done: float, total: float | None) -> None:
        if self._progress is None:
            return
        if not self._bars:
            self._progress.start()
        task = self._bars.get(label)
        if task is None:
            task = self._progress.add_task(label, total=total)
            self._bars[label] = task
        self._progress.update(task, completed=done, total=total)
        if total is not None and done >= total:
            self._progress.remove_task(task)
            del self._bars[label]
            if not self._bars:
                self._progress.stop()

    def close(self) -> None:
        self._end_stream()
        if self._progress is not None and self._bars:
            self._progress.stop()


class CollectingOutput:
    """Collects what would have been shown (``--json``, the harness)."""

    def __init__(self) -> None:
        self.said: list[str] = []
        self.streamed: list[str] = []
        self.notices: list[str] = []
        self.progress_events: list[tuple[str, float, float | None]] = []

    def say(self, text: str) -> None:
        if self.streamed:
            self.said.append("".join(self.streamed).strip())
            self.streamed = []
        if text:
            self.said.append(text)

    def stream(self, text: str) -> None:
        self.streamed.append(text)

    def notice(self, text: str) -> None:
        self.notices.append(text)

    def progress(self, label: str, done: float, total: float | None) -> None:
        self.progress_events.append((label, done, total))

    def text(self) -> str:
        parts = list(self.said)
        if self.streamed:
            parts.append("".join(self.streamed).strip())
        return "\n".join(p for p in parts if p)

    def close(self) -> None:
        pass
