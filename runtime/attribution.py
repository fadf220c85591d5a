"""The three ``X-Skill-*`` header values for a skill file at a given place on disk.

Source and version come from the document (``Attribution.source/version``: frontmatter
values or literals). The platform follows the document's rule, in its order: the
``SKILL_SOURCE`` environment variable, then the install path (``~/.clawhub/`` →
``clawhub``, ``~/.cursor/skills/`` → ``cursor``), then the git remote where the document
lists hosts, then the fallback (``unknown``).
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from runtime.skillfile import Skill


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


def platform(skill: Skill) -> str:
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
