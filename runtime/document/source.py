"""Read a SKILL.md as text, repairing the damage copies of it commonly carry.

Published copies of this skill family were often passed through a Latin-1 round trip:
"→" arrives as "â\\x86\\x92" and "导出" as "å¯¼å\\x87º". Keywords read from such a file
would never match what a user types, so each damaged line is repaired (ftfy, imported
only when a line looks damaged, because the import costs ~35 ms and ``route`` must be
fast). Lines are split on "\\n" only: a damaged "✅" contains U+0085, which
``str.splitlines`` would treat as a line break and so shift every line number.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from runtime.document.errors import SkillError

MAX_BYTES = 2 * 1024 * 1024

# Two or more Latin-1 letters or C1 controls in a row after a UTF-8 lead byte's Latin-1
# twin: the signature of UTF-8 decoded as Latin-1.
_DAMAGED = re.compile("[\u00c2-\u00f4][\u0080-\u00bf]")


@dataclass(frozen=True)
class SourceText:
    text: str
    repaired_lines: tuple[int, ...]

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")


def read_source(path: str | os.PathLike[str]) -> SourceText:
    """Read ``path`` or raise :class:`SkillError` saying why it is not a usable document."""
    p = Path(path)
    if not p.exists():
        raise SkillError(p, "no such file; pass the path of a SKILL.md")
    if p.is_dir():
        candidate = p / "SKILL.md"
        if candidate.is_file():
            return read_source(candidate)
        raise SkillError(p, "is a directory without a SKILL.md in it")
    try:
        data = p.read_bytes()[: MAX_BYTES + 1]
    except OSError as exc:
        raise SkillError(p, f"cannot be read ({exc.strerror or exc})") from exc
    if len(data) > MAX_BYTES:
        raise SkillError(p, f"is larger than {MAX_BYTES // 1024 // 1024} MB; a SKILL.md is a text document")
    if not data.strip():
        raise SkillError(p, "is empty; a SKILL.md starts with a '---' frontmatter block")
    if b"\x00" in data:
        raise SkillError(p, "is a binary file, not a Markdown document")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SkillError(p, f"is not UTF-8 text (bad byte at offset {exc.start})") from exc
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return repair(text)


def repair(text: str) -> SourceText:
    """Undo Latin-1 mojibake line by line; untouched lines stay byte-identical."""
    lines = text.split("\n")
    repaired: list[int] = []
    fix = None
    for number, line in enumerate(lines, start=1):
        if not _DAMAGED.search(line):
            continue
        if fix is None:
            from ftfy import fix_encoding as fix
        fixed = fix(line)
        if fixed != line:
            lines[number - 1] = fixed
            repaired.append(number)
    return SourceText("\n".join(lines), tuple(repaired))
