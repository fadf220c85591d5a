"""``ai-music skill install``: put the skill where an agent looks for skills.

Targets and their conventional places (``<name>`` is the skill's frontmatter name):

    openclaw            ~/.openclaw/skills/<name>
    openclaw-workspace  <workspace>/skills/<name>      (--dir, default the current directory)
    claude              ~/.claude/skills/<name>
    cursor              ~/.cursor/skills/<name>
    codex, agents       ~/.agents/skills/<name>

The skill folder is SKILL.md plus what it references with relative links (and a
``references/`` folder beside it, if any). An installed copy the user edited is never
overwritten without ``--force``: a manifest records the hash of what was installed, so an
unchanged copy can be updated and a changed one is reported instead.

The document tells the agent to run ``ai-music``. When that name does not resolve on
PATH, the installed copy names this installation's executable by its absolute path
instead, so an agent that runs commands (Claude Code, Cursor, Codex) still reaches it;
OpenClaw gates the skill on ``ai-music`` being on PATH, which :func:`link_command`
(``ai-music install``) arranges by linking it into ``~/.local/bin``.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from runtime.document.model import Skill

TARGETS = {
    "openclaw": "~/.openclaw/skills",
    "openclaw-workspace": "{workspace}/skills",
    "claude": "~/.claude/skills",
    "cursor": "~/.cursor/skills",
    "codex": "~/.agents/skills",
    "agents": "~/.agents/skills",
}
MANIFEST = ".ai-music-install.json"
COMMAND = "ai-music"
_COMMAND_IN_TEXT = re.compile(r"`ai-music(?=[\s`])")


class InstallError(Exception):
    """Installation refused; the message says why and what to do."""


@dataclass(frozen=True)
class Installed:
    path: Path
    files: tuple[str, ...]
    updated: bool
    command: str          # how the installed SKILL.md calls the runtime ("ai-music" or an absolute path)


@dataclass(frozen=True)
class Resolution:
    """Where ``ai-music`` resolves on PATH, and this installation's own executable."""

    on_path: str | None
    own: Path | None

    @property
    def command(self) -> str:
        """What an agent should run: the bare name when PATH finds it, else the absolute path."""
        if self.on_path or self.own is None:
            return COMMAND
        return str(self.own)


def own_executable() -> Path | None:
    """The ``ai-music`` script of the environment this process runs in (venv, pipx, wheel)."""
    for candidate in (Path(sys.executable).parent / COMMAND, Path(sys.argv[0]) if sys.argv else None):
        if candidate is not None and candidate.name == COMMAND and candidate.is_file() \
                and os.access(candidate, os.X_OK):
            return candidate.absolute()
    return None


def resolve_command(path_env: str | None = None) -> Resolution:
    found = shutil.which(COMMAND, path=path_env if path_env is not None else os.environ.get("PATH", ""))
    return Resolution(on_path=str(Path(found).absolute()) if found else None, own=own_executable())


def with_command(text: str, command: str) -> str:
    """The document with every backticked ``ai-music …`` command calling ``command``."""
    if command == COMMAND:
        return text
    quoted = shlex.quote(command)  # a path with a space still runs when pasted into a shell
    return _COMMAND_IN_TEXT.sub(lambda _: "`" + quoted, text)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def skill_files(skill_md: Path) -> list[Path]:
    """SKILL.md and the local files it links to (plus a references/ folder)."""
    folder = skill_md.parent
    files = [skill_md]
    text = skill_md.read_text(encoding="utf-8", errors="replace")
    for target in re.findall(r"\]\(([^)#\s]+)\)", text):
        if "://" in target or target.startswith("/"):
            continue
        candidate = (folder / target).resolve()
        if candidate.is_file() and folder.resolve() in candidate.parents and candidate not in files:
            files.append(candidate)
    references = folder / "references"
    if references.is_dir():
        files += sorted(p for p in references.rglob("*") if p.is_file())
    return files


def destination(skill: Skill, target: str, directory: str | None) -> Path:
    if target not in TARGETS:
        raise InstallError(f"unknown target '{target}'; choose one of: {', '.join(TARGETS)}")
    base = TARGETS[target]
    if target == "openclaw-workspace":
        base = base.format(workspace=directory or os.getcwd())
    elif directory:
        base = os.path.join(directory, *Path(base.replace("~/", "")).parts)
    return Path(os.path.expanduser(base)) / skill.name


def install(skill: Skill, target: str, directory: str | None = None, force: bool = False,
            command: str = COMMAND) -> Installed:
    """Copy the skill for ``target``; its SKILL.md calls the runtime as ``command``."""
    source = Path(skill.path).resolve()
    dest = destination(skill, target, directory)
    files = skill_files(source)
    manifest_path = dest / MANIFEST
    manifest = {}
    if manifest_path.exists():
        try:
            manifest = json.loads(manifest_path.read_text())
        except ValueError:
            manifest = {}
    existing = dest / "SKILL.md"
    updated = existing.exists()
    if existing.exists() and not force:
        installed_hash = manifest.get("files", {}).get("SKILL.md")
        if installed_hash is None or _digest(existing) != installed_hash:
            if existing.read_text(encoding="utf-8", errors="replace") != _document(source, command):
                raise InstallError(f"{existing} was changed since it was installed; keep your edits, or "
                                   "re-run with --force to replace it")
    dest.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    for path in files:
        relative = path.relative_to(source.parent)
        target_path = dest / relative
        target_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = target_path.with_name(f".{target_path.name}.tmp")
        if path == source:
            tmp.write_text(_document(source, command), encoding="utf-8")
        else:
            shutil.copyfile(path, tmp)
        os.replace(tmp, target_path)
        written[str(relative)] = _digest(target_path)
    manifest_path.write_text(json.dumps({"source": str(source), "target": target, "command": command,
                                         "files": written}, indent=1))
    return Installed(path=dest, files=tuple(written), updated=updated, command=command)


def _document(source: Path, command: str) -> str:
    return with_command(source.read_text(encoding="utf-8"), command)


def installed_target(skill_md: str | Path) -> str | None:
    """The ``--target`` a copy was installed for, from its manifest (None: not ours)."""
    try:
        data = json.loads((Path(skill_md).parent / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("target") if isinstance(data, dict) and isinstance(data.get("target"), str) else None


def bin_dir() -> Path:
    """Where user commands go: ``$XDG_BIN_HOME``, else ``~/.local/bin`` (systemd's file-hierarchy)."""
    return Path(os.environ.get("XDG_BIN_HOME") or os.path.join(os.path.expanduser("~"), ".local", "bin"))


@dataclass(frozen=True)
class Linked:
    link: Path
    target: Path
    changed: bool
    on_path: bool


def link_command(directory: Path | None = None, force: bool = False) -> Linked:
    """Link this installation's ``ai-music`` into ``directory`` (default :func:`bin_dir`)."""
    own = own_executable()
    if own is None:
        raise InstallError("cannot find this installation's ai-music executable; run it as ./bin/ai-music install "
                           "or install the package (pipx install .)")
    folder = (directory or bin_dir()).expanduser()
    link = folder / COMMAND
    target = own.resolve()
    changed = True
    if link.is_symlink() and link.resolve() == target:
        changed = False
    elif link.exists() or link.is_symlink():
        if not force:
            raise InstallError(f"{link} already exists and is not this installation's ai-music; "
                               "re-run with --force to replace it")
        link.unlink()
    if changed:
        folder.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target)
    paths = [Path(p).expanduser().absolute() for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    return Linked(link=link, target=target, changed=changed, on_path=folder.absolute() in paths)
