"""Finding and loading a SKILL.md: the bundled default, parsed once per change (a pickle cache).

Separate from ``model`` (the shapes) and ``extract`` (the rules) so neither imports the other
through the loader.
"""

from __future__ import annotations

import os
from pathlib import Path

from runtime.document.model import Skill


def default_skill_path() -> Path:
    """The SKILL.md this runtime ships with: the project's root ``SKILL.md``.

    ``runtime/data/SKILL.md`` links to it in a clone and is a copy of it in an installed
    wheel (package data), so both find the document the same way.
    """
    return (Path(__file__).resolve().parent.parent / "data" / "SKILL.md").resolve()


def _cache_file(path: Path) -> Path | None:
    """Where the parsed form of ``path`` is cached, keyed by its and our code's mtimes.

    Parsing needs markdown-it, PyYAML and ~100 regexes (~80 ms of imports); ``route``
    must answer in well under 150 ms, so a document is parsed once per change.
    """
    try:
        stat = path.stat()
        here = Path(__file__).resolve().parent
        code = [(here / name).stat().st_mtime_ns for name in
                ("model.py", "load.py", "extract.py", "markdown.py", "frontmatter.py", "source.py")]
    except OSError:
        return None
    import hashlib

    key = hashlib.sha256(repr((str(path.resolve()), stat.st_size, stat.st_mtime_ns, code)).encode()).hexdigest()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ai-music" / "skills" / f"{key[:32]}.pickle"


def load_skill(path: str | os.PathLike[str] | None = None, *, cache: bool = True) -> Skill:
    """Read and interpret ``path`` (default: the bundled SKILL.md).

    Raises :class:`SkillError` for a file that is not a skill document at all; a skill
    the runtime can't *run* loads with ``problems`` set.
    """
    import pickle

    p = Path(path) if path is not None else default_skill_path()
    if p.is_dir() and (p / "SKILL.md").is_file():
        p = p / "SKILL.md"
    cached = _cache_file(p) if cache else None
    if cached is not None and cached.is_file():
        try:
            with cached.open("rb") as fh:
                skill = pickle.load(fh)
            if isinstance(skill, Skill) and skill.path == str(p):
                return skill
        except Exception:  # noqa: BLE001 - a stale or corrupt cache is just re-parsed
            pass
    skill = _parse(p)
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as fh:
                pickle.dump(skill, fh)
            os.replace(tmp, cached)
        except OSError:
            pass
    return skill


def _parse(p: Path) -> Skill:
    from runtime.document import extract
    from runtime.document import frontmatter
    from runtime.document import markdown
    from runtime.document.source import read_source

    source = read_source(p)
    lines = source.lines
    fm = frontmatter.parse(str(p), lines)
    body = "\n".join(lines[fm.end_line:])
    doc = markdown.parse(body, first_line=fm.end_line + 1)
    return extract.skill(str(p), fm, doc, source.repaired_lines)
