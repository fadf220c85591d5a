"""The skill's actions (SKILL.md §3.1–§3.5): chat, upload, credits, state, export.

Each action talks to the backend through a :class:`~skill.connection.Connection` and to
the person through an :class:`Output`, so the same code serves the one-shot command,
the REPL, the JSON surface for agents and the test harness.
"""
from __future__ import annotations

from typing import Protocol


class Output(Protocol):
    def say(self, text: str) -> None:
        """A complete message for the user."""

    def stream(self, text: str) -> None:
        """A piece of a reply still arriving (already GUI-translated)."""

    def notice(self, text: str) -> None:
        """A status line ("⏳ Still working...", "Connecting...")."""

    def link(self, label: str, url: str) -> None:
        """A link this client made for the person (a project's claim link), shown whole:
        unlike server text, it is not searched for tokens (skill.shown.link_line)."""

    def error(self, text: str) -> None:
        """Why something could not be done, and what to do (a terminal shows it on stderr)."""

    def progress(self, label: str, done: float, total: float | None, unit: str = "%") -> None:
        """The job's current phase ("Uploading", "Composing", "Encoding video"…) and how far it is:
        ``done`` of ``total`` in ``unit`` ("%" or "B" for bytes); ``total`` None = cannot say."""

    def close(self) -> None:
        """The turn is over: take down whatever progress display is showing."""


class SilentOutput:
    """An Output that drops everything (programmatic use)."""

    def say(self, text: str) -> None:
        pass

    def stream(self, text: str) -> None:
        pass

    def notice(self, text: str) -> None:
        pass

    def link(self, label: str, url: str) -> None:
        pass

    def error(self, text: str) -> None:
        pass

    def progress(self, label: str, done: float, total: float | None, unit: str = "%") -> None:
        pass

    def close(self) -> None:
        pass
