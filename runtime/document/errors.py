"""The one error type the interpreter raises for a document it cannot use.

The CLI prints ``str(error)`` as a single line and exits 2, so every message names the
file (and the line, where there is one) and says what to do about it.
"""
from __future__ import annotations

import os


class SkillError(Exception):
    """A SKILL.md that cannot be read or cannot be run; the message is one line."""

    def __init__(self, path: str | os.PathLike[str], problem: str, line: int | None = None) -> None:
        self.path = str(path)
        self.problem = problem
        self.line = line
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {problem}")
