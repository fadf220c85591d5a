"""A SKILL.md body as blocks an extractor can search: sections, tables, lists, text.

Skill documents of this family say the same things in different shapes — a table in one
version, bullets in the next, a sentence in a third. Extractors therefore look for
*blocks* (with the heading they sit under and their line number for error messages)
rather than for exact Markdown. markdown-it-py does the parsing (GFM tables included),
so pipes in code spans, tables that interrupt paragraphs and nested lists behave as any
Markdown viewer shows them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

_SECTION_NUMBER = re.compile(r"^\s*(?:§\s*)?(\d+(?:\.\d+)*)\.?[a-z]?\s+")


@dataclass(frozen=True)
class Section:
    """A heading and where it is: ``number`` is "3.5" for "### 3.5 Export & Deliver"."""

    title: str
    level: int
    line: int
    number: str | None
    parent_titles: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        return " / ".join((*self.parent_titles, self.title))


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    row_lines: tuple[int, ...]
    line: int
    section: Section | None


@dataclass(frozen=True)
class ListBlock:
    items: tuple[str, ...]
    item_lines: tuple[int, ...]
    line: int
    section: Section | None


@dataclass(frozen=True)
class TextBlock:
    """A paragraph, blockquote paragraph or code block, with its kind."""

    kind: str  # "paragraph" | "quote" | "code"
    text: str
    line: int
    section: Section | None
    info: str = ""  # code fence info string ("bash", "json")


@dataclass
class Document:
    """The parsed body. Line numbers are 1-based lines of the whole file."""

    sections: list[Section] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    lists: list[ListBlock] = field(default_factory=list)
    texts: list[TextBlock] = field(default_factory=list)

    def section(self, number: str) -> Section | None:
        """The section numbered ``number`` ("3.5"), as § references in the body use."""
        return next((s for s in self.sections if s.number == number), None)

    @cached_property
    def all_text(self) -> str:
        """Every paragraph, list item, table cell and code line, for whole-document scans."""
        parts = [t.text for t in self.texts]
        parts += [item for lst in self.lists for item in lst.items]
        parts += [" | ".join(row) for tbl in self.tables for row in (tbl.header, *tbl.rows)]
        return "\n".join(parts)

    def blocks_under(self, pattern: re.Pattern[str]) -> list[TextBlock | ListBlock | Table]:
        """Blocks whose section title (or an ancestor's) matches ``pattern``."""
        def hit(section: Section | None) -> bool:
            return section is not None and any(pattern.search(t) for t in (*section.parent_titles, section.title))

        blocks: list[TextBlock | ListBlock | Table] = []
        blocks += [t for t in self.texts if hit(t.section)]
        blocks += [lst for lst in self.lists if hit(lst.section)]
        blocks += [tbl for tbl in self.tables if hit(tbl.section)]
        return sorted(blocks, key=lambda b: b.line)


def parse(body: str, first_line: int = 1) -> Document:
    """Parse ``body`` whose first line is line ``first_line`` of the file."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(body)
    doc = Document()
    stack: list[Section] = []
    current: Section | None = None
    quote_depth = 0
    i = 0

    def line_of(tok_map: list[int] | None) -> int:
        return (tok_map[0] if tok_map else 0) + first_line

    while i < len(tokens):
        tok = tokens[i]
        if tok.type == "heading_open":
            level = int(tok.tag[1:])
            title = tokens[i + 1].content.strip()
            while stack and stack[-1].level >= level:
                stack.pop()
            number = _SECTION_NUMBER.match(title)
            current = Section(title=title, level=level, line=line_of(tok.map),
                              number=number.group(1) if number else None,
                              parent_titles=tuple(s.title for s in stack))
            stack.append(current)
            doc.sections.append(current)
            i += 3
            continue
        if tok.type == "blockquote_open":
            quote_depth += 1
        elif tok.type == "blockquote_close":
            quote_depth -= 1
        elif tok.type == "table_open":
            i = _table(tokens, i, current, doc, line_of)
            continue
        elif tok.type in ("bullet_list_open", "ordered_list_open"):
            i = _list(tokens, i, current, doc, line_of)
            continue
        elif tok.type == "paragraph_open":
            doc.texts.append(TextBlock("quote" if quote_depth else "paragraph",
                                       tokens[i + 1].content, line_of(tok.map), current))
            i += 3
            continue
        elif tok.type in ("fence", "code_block"):
            doc.texts.append(TextBlock("code", tok.content, line_of(tok.map), current, tok.info.strip()))
        elif tok.type == "html_block":
            doc.texts.append(TextBlock("html", tok.content, line_of(tok.map), current))
        i += 1
    return doc


def _table(tokens, i, section, doc, line_of) -> int:  # noqa: ANN001 - markdown-it internals
    start = line_of(tokens[i].map)
    header: list[str] = []
    rows: list[tuple[str, ...]] = []
    lines: list[int] = []
    row: list[str] = []
    in_head = False
    row_line = start
    while tokens[i].type != "table_close":
        tok = tokens[i]
        if tok.type == "thead_open":
            in_head = True
        elif tok.type == "thead_close":
            in_head = False
        elif tok.type == "tr_open":
            row, row_line = [], line_of(tok.map)
        elif tok.type == "inline":
            row.append(tok.content.strip())
        elif tok.type == "tr_close":
            if in_head:
                header = row
            else:
                rows.append(tuple(row))
                lines.append(row_line)
        i += 1
    doc.tables.append(Table(tuple(header), tuple(rows), tuple(lines), start, section))
    return i + 1


def _list(tokens, i, section, doc, line_of) -> int:  # noqa: ANN001 - markdown-it internals
    """Collect the items of a (possibly nested) list; nested items become items too."""
    start = line_of(tokens[i].map)
    depth = 0
    items: list[str] = []
    lines: list[int] = []
    while True:
        tok = tokens[i]
        if tok.type in ("bullet_list_open", "ordered_list_open"):
            depth += 1
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
            if depth == 0:
                break
        elif tok.type == "paragraph_open":
            items.append(tokens[i + 1].content)
            lines.append(line_of(tok.map))
        elif tok.type in ("fence", "code_block"):
            doc.texts.append(TextBlock("code", tok.content, line_of(tok.map), section, tok.info.strip()))
        i += 1
    doc.lists.append(ListBlock(tuple(items), tuple(lines), start, section))
    return i + 1
