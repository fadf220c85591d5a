"""File paths in a line typed (or dropped) into the chat: find them the way a shell would.

Terminals paste a dropped file as ``'/path/My demo.mp4'``, ``/path/My\\ demo.mp4`` or
``file:///path/My%20demo.mp4``; people type ``~/Videos/demo.mp4`` or, unquoted,
``/home/me/My Videos/demo.mp4 add music``. Each of those is *one* attempt to attach a
file: it is attached and taken out of the message, or it is reported in one line
(no such file — with the closest name in that folder —, a folder, an unreadable path)
and nothing is sent. A word is a path attempt when it starts like one (``/``, ``~``,
``./``, ``../``, ``file://``), names an existing file, or ends in an extension the skill
accepts or one a typo away from it (``demo.mp4``, ``demo.mpp``).

The tokenizer is hand-written because :mod:`shlex` does not say where each token was in
the line, and the message sent on must be the line without the path, as typed.
"""
from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable
from urllib.parse import unquote, urlparse

MAX_JOIN = 12  # words an unquoted path with spaces may span


@dataclass(frozen=True)
class Token:
    text: str        # the word with quotes and backslash escapes resolved
    start: int       # where it is in the line
    end: int
    quoted: bool     # written in quotes or with escapes: meant as one word
    in_quotes: bool = False  # in quotes: may be a title's text rather than a file


@dataclass
class Found:
    """What a typed line holds: the files, the message left, and why a path could not be sent."""

    rest: str
    files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def tokens(line: str) -> list[Token]:
    """Words of ``line`` as a POSIX shell splits them, with their spans."""
    out: list[Token] = []
    i, n = 0, len(line)
    while i < n:
        while i < n and line[i].isspace():
            i += 1
        if i >= n:
            break
        start, text, quoted, in_quotes = i, [], False, False
        while i < n and not line[i].isspace():
            ch = line[i]
            if ch == "\\" and i + 1 < n:
                text.append(line[i + 1])
                i, quoted = i + 2, True
            elif ch in "'\"":
                close = line.find(ch, i + 1)
                if close == -1:  # an unbalanced quote is just a character
                    text.append(ch)
                    i += 1
                    continue
                inner = line[i + 1:close]
                text.append(inner if ch == "'" else re.sub(r'\\(["\\$`])', r"\1", inner))
                i, quoted, in_quotes = close + 1, True, True
            else:
                text.append(ch)
                i += 1
        out.append(Token("".join(text), start, i, quoted, in_quotes))
    return out


def _local(word: str) -> str:
    """``file://`` URLs as the local path they name; ``~`` expanded."""
    if word.lower().startswith("file://"):
        parsed = urlparse(word)
        if parsed.netloc in ("", "localhost"):
            return unquote(parsed.path)
    return os.path.expanduser(word)


def _starts_like_path(word: str) -> bool:
    return word.startswith(("/", "~", "./", "../")) or word.lower().startswith("file://")


def _is_attempt(word: str, extensions: set[str]) -> bool:
    if _starts_like_path(word):
        return len(word) > 1 and not re.fullmatch(r"/[A-Za-z]+", word)  # "/status" is a command
    if "://" in word:
        return False  # a web address: the router's business
    name = word.rstrip(".,;:!?")
    if _exists(name) and os.path.isfile(name):
        return True
    suffix = Path(name).suffix.lower().lstrip(".")
    if not suffix or not re.fullmatch(r"[\w ()\[\]-]+", Path(name).stem):
        return False
    # "demo.mp4", and "demo.mpp": a mistyped extension is still someone sending a file
    return suffix in extensions or bool(difflib.get_close_matches(suffix, extensions, n=1, cutoff=0.6))


def _exists(path: str) -> bool:
    try:
        return os.path.exists(path)
    except (OSError, ValueError):
        return False


def _why_not(word: str) -> str:
    """One line for a path that does not name a file we can send."""
    path = Path(_local(word))
    try:
        if path.is_dir():
            return f"{word} is a folder; send a video, image or audio file"
        if path.exists() and not os.access(path, os.R_OK):
            return f"{word}: permission denied"
        if path.exists():
            return f"{word} is not a regular file"
    except OSError as exc:
        return f"{word}: {exc.strerror or exc}"
    hint = ""
    try:
        if path.parent.is_dir():
            close = difflib.get_close_matches(path.name, os.listdir(path.parent), n=1, cutoff=0.6)
            if close:
                hint = f" — did you mean {path.parent / close[0] if word != path.name else close[0]}?"
    except OSError:
        pass
    return f"{word}: no such file{hint}"


def _run(line: str, words: list[Token], i: int, exts: set[str]) -> tuple[int, str, bool] | None:
    """(last word, text, names a file) of a multi-word unquoted path starting at word ``i``."""
    first = words[i]
    if not _starts_like_path(first.text) or os.path.isfile(_local(first.text)):
        return None
    last = min(len(words), i + MAX_JOIN) - 1
    while last > i and any(w.quoted for w in words[i + 1:last + 1]):
        last -= 1
    for j in range(last, i, -1):
        text = line[first.start:words[j].end]
        if os.path.isfile(_local(text)):
            return j, text, True
    for j in range(i + 1, last + 1):
        text = line[first.start:words[j].end].rstrip(",;:!?")
        if Path(text).suffix.lower().lstrip(".") in exts:
            return j, text, False
    return None


def find(line: str, extensions: Iterable[str]) -> Found:
    """Split a typed line into files to attach, problems to report, and the message left."""
    exts = {e.lower().lstrip(".") for e in extensions}
    words = tokens(line)
    spans: list[tuple[int, int]] = []
    found = Found(rest=line)
    i = 0
    while i < len(words):
        word = words[i]
        attempt = _is_attempt(word.text, exts) or (_starts_like_path(word.text) and _exists(_local(word.text)))
        if word.in_quotes and not _starts_like_path(word.text) and not _exists(word.text):
            attempt = False  # "add a title 'Intro.mp4'": words in quotes are content unless they name a file
        if not word.text or not attempt:
            i += 1
            continue
        # unquoted, a path with spaces is several words: the longest run that names a file,
        # else (for the one line saying why not) the shortest run that ends like a media file
        run = None if word.quoted else _run(line, words, i, exts)
        if run is not None:
            j, text, exists = run
            if exists:
                found.files.append(str(Path(_local(text)).resolve()))
            else:
                found.problems.append(_why_not(text))
            spans.append((word.start, words[j].end))
            i = j + 1
            continue
        text = word.text.rstrip(",;:!?") if not word.quoted else word.text
        local = _local(text)
        if os.path.isfile(local):
            found.files.append(str(Path(local).resolve()))
        else:
            found.problems.append(_why_not(text))
        spans.append((word.start, word.end))
        i += 1
    for start, end in reversed(spans):
        found.rest = found.rest[:start] + " " + found.rest[end:]
    found.rest = " ".join(found.rest.split())
    return found
