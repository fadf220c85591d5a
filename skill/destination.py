"""Where an export's file lands: named after the input, never over anything silently.

The rules (README "Where outputs land"):

- no place given → ``<input stem>-music.mp4`` (``-music.wav``/``.mp3``, ``-stems.zip``)
  in the folder the caller picks — the current directory for the command line, the
  input's folder for MCP (a host app's working directory is not the user's);
- a folder given (it exists, or the name ends with ``/``) → that default name inside it;
  a missing folder is created, never a file named like it;
- a file given → exactly that name;
- an existing file is never replaced silently: a default name gets the next free
  number (``demo-music-2.mp4``); a name the user gave is refused unless they said
  ``--overwrite``; the input itself is refused even then;
- a place that cannot be written is refused *before* anything is rendered.

Every refusal is a :class:`~skill.errors.BadInput` with one line saying what to do.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import unquote, urlparse

from skill import errors

SUFFIXES = {"mp4": ".mp4", "wav": ".wav", "mp3": ".mp3", "stems": ".zip"}
MAX_NUMBER = 9999


@dataclass(frozen=True)
class Destination:
    path: Path
    numbered: bool     # a name we chose: if it is taken by the time the file is ready, take the next number
    overwrite: bool    # the user allowed replacing an existing file of that name

    def to_json(self) -> dict[str, Any]:
        return {"dest": str(self.path), "numbered": self.numbered, "overwrite": self.overwrite}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Destination":
        return cls(Path(str(data["dest"])), bool(data.get("numbered")), bool(data.get("overwrite")))


def stem_of(name: str | None) -> str:
    """A file-name stem from an input's name or URL ("~/v/My demo.mov" → "My demo")."""
    if name and "://" in name:
        name = unquote(urlparse(name).path)
    stem = Path(name).stem if name else ""
    stem = re.sub(r"[\x00-\x1f/\\:*?\"<>|]+", "-", stem).strip(" .-")
    return stem[:120] or "ai-music"


def default_name(input_name: str | None, fmt: str) -> str:
    kind = "-stems" if fmt == "stems" else "-music"
    return f"{stem_of(input_name)}{kind}{SUFFIXES.get(fmt, '.mp4')}"


def input_name(state: dict[str, Any]) -> str | None:
    """The name of the video on the project's timeline (else its first upload), from the backend's state."""
    infos = [i for i in state.get("video_infos") or [] if isinstance(i, dict)]
    draft = state.get("draft") if isinstance(state.get("draft"), dict) else {}
    on_timeline = [seg.get("src") for track in draft.get("t", []) or [] if isinstance(track, dict)
                   and track.get("tt") == 0 for seg in track.get("sg", []) or [] if isinstance(seg, dict)]
    for src in on_timeline:
        found = next((i for i in infos if i.get("file_id") == src), None)
        if found and found.get("filename"):
            return str(found["filename"])
    for kind in ("video", "audio", "image"):
        found = next((i for i in infos if i.get("file_type") == kind and i.get("filename")), None)
        if found:
            return str(found["filename"])
    return None


def next_free(path: Path) -> Path:
    """``path`` if nothing is there (nor a download in progress for it), else ``stem-2.ext``, ``-3``…"""
    def taken(candidate: Path) -> bool:
        return candidate.exists() or candidate.is_symlink() or candidate.with_name(candidate.name + ".part").exists()

    if not taken(path):
        return path
    for number in range(2, MAX_NUMBER + 1):
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
        if not taken(candidate):
            return candidate
    raise errors.BadInput(f"{path.parent} already holds {MAX_NUMBER} versions of {path.name}; clean some up "
                          "or give another name with -o")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _writable_folder(folder: Path, shown: str) -> None:
    """Refuse a folder that cannot be made or written, naming the part that is in the way."""
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise errors.BadInput(f"{shown}: {existing} is a file, not a folder; pick another place with -o")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise errors.BadInput(f"{shown}: {existing} is not writable; pick another place with -o")


def resolve(given: str | os.PathLike[str] | None, *, folder: Path, input_name: str | None, fmt: str = "mp4",
            inputs: Iterable[str | os.PathLike[str]] = (), overwrite: bool = False) -> Destination:
    """The file to write (module docstring); creates a folder the user named. Raises BadInput."""
    raw = os.fspath(given) if given is not None else ""
    if raw.strip():
        path = Path(os.path.expanduser(raw))
        is_folder = raw.endswith(("/", os.sep)) or path.is_dir()
        shown = raw
    else:
        path, is_folder, shown = folder, True, str(folder)
    target = path / default_name(input_name, fmt) if is_folder else path
    _writable_folder(target.parent, shown)
    for item in inputs:
        source = Path(os.path.expanduser(os.fspath(item)))
        if _same_file(target, source) or target.absolute() == source.absolute():
            raise errors.BadInput(f"{shown} is the input file; the result would replace it — give another name "
                                  "with -o (or leave -o out)")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise errors.BadInput(f"{shown}: cannot create {target.parent} ({exc.strerror or exc})") from None
    if is_folder:
        return Destination(next_free(target).absolute(), numbered=True, overwrite=False)
    if (target.exists() or target.is_symlink()) and not overwrite:
        raise errors.BadInput(f"{shown} already exists; give another name, or add --overwrite to replace it")
    return Destination(target.absolute(), numbered=False, overwrite=overwrite)
