"""The YAML frontmatter of a SKILL.md, read even when it is not strictly valid YAML.

Skill authors write frontmatter by hand and agent loaders are lenient, so documents in
the wild break YAML in predictable ways; the one this skill ships with is a folded block
scalar (``description: >``) whose lines are not indented. We repair what we recognise,
parse, and report each repair as a warning with its line, so a lint can tell the author
while the runtime keeps working. A document with no frontmatter at all, or no ``name``,
is not a skill: that is an error naming the file and line.

Copies of a skill are also passed around with a line or two of prose pasted above the
``---`` (the seed this skill came from began that way). Agent loaders that look for the
frontmatter a few lines down still load those; so do we — within ``MAX_PREAMBLE_LINES``,
and only when a ``name:`` follows — with a warning naming the lines skipped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from runtime.document.errors import SkillError

_TOP_KEY = re.compile(r"^([A-Za-z_][\w.-]*)\s*:(.*)$")
MAX_PREAMBLE_LINES = 10
PREAMBLE_SKIPPED = "text before the '---' frontmatter"
_BLOCK_SCALAR = re.compile(r"^([A-Za-z_][\w.-]*)\s*:\s*[>|][+-]?\d?\s*$")


@dataclass(frozen=True)
class RawFrontmatter:
    data: dict[str, Any]
    raw_scalars: dict[str, str]  # top-level "key: value" text as written (keeps "1.0" a string)
    key_lines: dict[str, int]
    start_line: int
    end_line: int  # the closing '---'
    warnings: tuple[str, ...]
    single_line_metadata: bool
    skipped: tuple[int, int] | None = None  # 1-based first and last line of text before the '---'

    def text(self, key: str) -> str | None:
        """A top-level value as a string; versions stay as written ("1.0", not 1.0)."""
        if key in self.raw_scalars and self.raw_scalars[key]:
            return self.raw_scalars[key]
        value = self.data.get(key)
        if value is None:
            return None
        return value.strip() if isinstance(value, str) else str(value)

    def meta_text(self, key: str) -> str | None:
        """A value of the ``metadata`` map as a string: where a spec-valid file keeps its
        ``version`` and ``displayName`` (the Agent Skills spec allows no other top-level keys)."""
        metadata = self.data.get("metadata")
        value = metadata.get(key) if isinstance(metadata, dict) else None
        if value is None or isinstance(value, (dict, list)):
            return None
        return value.strip() if isinstance(value, str) else str(value)


def split(path: str, lines: list[str]) -> tuple[int, int]:
    """(first, last) 1-based lines of the YAML between the ``---`` fences."""
    first = _opening_fence(path, lines)
    for end in range(first + 1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            return first + 2, end + 1
    raise SkillError(path, "frontmatter is never closed: add a '---' line after it", line=first + 1)


def _opening_fence(path: str, lines: list[str]) -> int:
    """Index of the opening ``---``: the first non-blank line, or one a few lines of prose below it."""
    first = 0
    while first < len(lines) and not lines[first].strip():
        first += 1
    if first < len(lines) and lines[first].strip() == "---":
        return first
    for index in range(first + 1, min(len(lines), first + MAX_PREAMBLE_LINES + 1)):
        if lines[index].strip() != "---":
            continue
        following = next((ln for ln in lines[index + 1:] if ln.strip()), "")
        if _TOP_KEY.match(following) and not following[0].isspace():
            return index
        break
    raise SkillError(path, "has no frontmatter: a SKILL.md must start with a '---' line, "
                           "then 'name:', 'description:', then '---'", line=first + 1)


def skipped_lines(head: list[str]) -> tuple[int, int] | None:
    """First and last line (1-based) of the text in ``head`` — the lines up to and including
    the opening ``---`` — or None when the document starts with the fence."""
    text = [number for number, line in enumerate(head[:-1], start=1) if line.strip()]
    return (text[0], text[-1]) if text else None


def _repair_block_scalars(block: list[str], first_line: int) -> tuple[list[str], list[str]]:
    """Indent the unindented lines of ``key: >`` / ``key: |`` blocks."""
    out: list[str] = []
    warnings: list[str] = []
    inside: str | None = None
    for offset, line in enumerate(block):
        if inside is not None:
            if line and not line[0].isspace() and _TOP_KEY.match(line):
                inside = None
            elif line.strip() and not line[0].isspace():
                out.append("  " + line)
                warnings.append(f"line {first_line + offset}: '{inside}' block line is not indented; "
                                "read as if it were (indent it by two spaces to fix)")
                continue
        match = _BLOCK_SCALAR.match(line)
        if match:
            inside = match.group(1)
        out.append(line)
    return out, _collapse(warnings)


def _collapse(warnings: list[str]) -> list[str]:
    """One warning per repaired block rather than one per line."""
    if not warnings:
        return []
    first = warnings[0].split(":", 1)[0]
    key = re.search(r"'([^']+)' block", warnings[0])
    count = len(warnings)
    name = key.group(1) if key else "block"
    return [f"{first}: the '{name}' block scalar is not indented ({count} line{'s' * (count > 1)}); "
            "repaired and read anyway — indent those lines by two spaces to make it valid YAML"]


_COMMENT = re.compile(r"\s+#")


def _line_parse(block: list[str]) -> dict[str, Any]:
    """Last resort: ``key: value`` per line, continuation lines appended."""
    data: dict[str, Any] = {}
    key = None
    for line in block:
        match = _TOP_KEY.match(line)
        if match and not line[0].isspace():
            key, value = match.group(1), match.group(2).strip()
            data[key] = _unquote(value) if value not in (">", "|", ">-", "|-") else ""
        elif key and line.strip():
            data[key] = (str(data[key]) + " " + line.strip()).strip()
    return data


def _unquote(value: str) -> str:
    """A scalar as written, without quotes or a trailing ``# comment`` (as YAML reads it)."""
    value = value.strip()
    if value[:1] in ("\"", "'"):
        close = value.find(value[0], 1)
        if close > 0:
            return value[1:close]
        return value
    return _COMMENT.split(value, 1)[0].strip()


def parse(path: str, lines: list[str]) -> RawFrontmatter:
    """Parse the frontmatter of the document whose lines are ``lines``."""
    import yaml

    first, end = split(path, lines)
    block = lines[first - 1:end - 1]
    warnings: list[str] = []
    skipped = skipped_lines(lines[:first - 1])
    if skipped is not None:
        start, stop = skipped
        where = f"line {start}" if start == stop else f"lines {start}-{stop}"
        quote = lines[start - 1].strip()
        quote = quote if len(quote) <= 60 else quote[:57] + "…"
        warnings.append(f"{where}: {PREAMBLE_SKIPPED} (\"{quote}\") was skipped; a SKILL.md must "
                        "start with '---' — move that text below the frontmatter")
    try:
        data = yaml.safe_load("\n".join(block))
    except yaml.YAMLError:
        repaired, repairs = _repair_block_scalars(block, first)
        warnings += repairs
        try:
            data = yaml.safe_load("\n".join(repaired))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {first + mark.line}" if mark is not None else "frontmatter"
            warnings.append(f"{where}: frontmatter is not valid YAML ({getattr(exc, 'problem', exc)}); "
                            "read it line by line")
            data = _line_parse(block)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SkillError(path, "frontmatter is not a set of 'key: value' lines", line=first)
    raw: dict[str, str] = {}
    key_lines: dict[str, int] = {}
    metadata_single = False
    for offset, line in enumerate(block):
        match = _TOP_KEY.match(line)
        if match and not line[0].isspace():
            key, value = match.group(1), match.group(2).strip()
            key_lines.setdefault(key, first + offset)
            if value and value[0] not in "{[>|":
                raw[key] = _unquote(value)
            if key == "metadata":
                metadata_single = value.startswith("{")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SkillError(path, "frontmatter has no 'name'; add a line like 'name: my-skill'",
                         line=key_lines.get("name", first - 1))
    return RawFrontmatter(data=data, raw_scalars=raw, key_lines=key_lines, start_line=first - 1,
                       end_line=end, warnings=tuple(warnings), single_line_metadata=metadata_single,
                       skipped=skipped)
