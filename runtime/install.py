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
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from runtime.skillfile import Skill

TARGETS = {
    "openclaw": "~/.openclaw/skills",
    "openclaw-workspace": "{workspace}/skills",
    "claude": "~/.claude/skills",
    "cursor": "~/.cursor/skills",
    "codex": "~/.agents/skills",
    "agents": "~/.agents/skills",
}
MANIFEST = ".ai-music-install.json"


class InstallError(Exception):
    """Installation refused; the message says why and what to do."""


@dataclass(frozen=True)
class Installed:
    path: Path
    files: tuple[str, ...]
    updated: bool


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


def install(skill: Skill, target: str, directory: str | None = None, force: bool = False) -> Installed:
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
            if _digest(existing) != _digest(source):
                raise InstallError(f"{existing} was changed since it was installed; keep your edits, or "
                                   "re-run with --force to replace it")
    dest.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    for path in files:
        relative = path.relative_to(source.parent)
        target_path = dest / relative
        target_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = target_path.with_name(f".{target_path.name}.tmp")
        shutil.copyfile(path, tmp)
        os.replace(tmp, target_path)
        written[str(relative)] = _digest(target_path)
    manifest_path.write_text(json.dumps({"source": str(source), "files": written}, indent=1))
    return Installed(path=dest, files=tuple(written), updated=updated)
