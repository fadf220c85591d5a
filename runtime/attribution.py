"""The three ``X-Skill-*`` header values for a skill file at a given place on disk.

Source and version come from the document (``Attribution.source/version``: frontmatter
values or literals). The platform follows the document's rule, in its order: the
``SKILL_SOURCE`` environment variable, then the install path (``~/.clawhub/`` →
``clawhub``, ``~/.cursor/skills/`` → ``cursor``, ``~/.openclaw/`` → ``openclaw``), then
the git remote where the document lists hosts, then the fallback (``unknown``). An
OpenClaw workspace can be anywhere, so a copy ``skill install --target
openclaw-workspace`` put there (its manifest says so) counts as OpenClaw's too.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from runtime.document.model import Skill


def _under(path: Path, fragment: str) -> bool:
    expanded = os.path.expanduser(fragment)
    text = str(path)
    return expanded.rstrip("/") + "/" in text + "/" or fragment.lstrip("~") in text


def _git_host(path: Path) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(path.parent), "remote", "get-url", "origin"], capture_output=True,
                             text=True, timeout=3, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


_LOCATIONS = (  # where agents keep skills (see runtime/install.py)
    ("~/.openclaw/skills/", "openclaw"), ("~/.claude/skills/", "claude"), ("~/.cursor/skills/", "cursor"),
    ("~/.agents/skills/", "agents"), ("~/.clawhub/", "clawhub"),
)


def install_location(path: str | Path) -> str | None:
    """Which agent's skill folder ``path`` is in (None: not an install location)."""
    from runtime.install import installed_target

    resolved = Path(path).resolve()
    if (resolved.parent / ".clawhub" / "origin.json").is_file():
        return "clawhub"
    for fragment, name in _LOCATIONS:
        if _under(resolved, fragment):
            return name
    if installed_target(resolved) == "openclaw-workspace":
        return "openclaw-workspace"
    if resolved.parent.parent.name == "skills" and (resolved.parent.parent.parent / ".openclaw").exists():
        return "openclaw-workspace"
    return None


def platform(skill: Skill) -> str:
    """``X-Skill-Platform``: the document's rule, plus a ClawHub install marker.

    Values stay those the document lists (clawhub, cursor, openclaw, …, fallback
    unknown): a folder of an agent the document does not name is recognised by
    :func:`install_location` but sends the fallback.
    """
    att = skill.attribution
    if att.platform:
        return att.platform
    env = os.environ.get(att.platform_env or "SKILL_SOURCE", "").strip()
    if env:
        return env
    path = Path(skill.path).resolve()
    for fragment, value in att.path_rules:
        if _under(path, fragment):
            return value
    known = {value for _, value in att.path_rules}
    if (path.parent / ".clawhub" / "origin.json").is_file() and ("clawhub" in known or not known):
        return "clawhub"
    if "openclaw" in known and install_location(path) == "openclaw-workspace":
        return "openclaw"
    if att.git_rules:
        remote = _git_host(path)
        if remote:
            for host, value in att.git_rules:
                if host in remote:
                    return value
    return att.fallback or "unknown"


def headers(skill: Skill) -> dict[str, str]:
    """Header → value; a header the document does not name is not sent."""
    att = skill.attribution
    out: dict[str, str] = {}
    if att.source:
        out["X-Skill-Source"] = att.source
    if att.version:
        out["X-Skill-Version"] = att.version
    if att.source or att.version:
        out["X-Skill-Platform"] = platform(skill)
    return out
