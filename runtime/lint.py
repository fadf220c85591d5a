"""``ai-music skill lint``: what in a SKILL.md breaks which consumer, with line numbers.

Three consumers read a skill, each with its own rules:

- **Agent Skills spec** (the common loader format): ``name`` 1–64 characters of
  ``a-z0-9-`` (no leading, trailing or doubled hyphen) matching its folder;
  ``description`` present and ≤ 1024 characters; top-level keys from the spec's set
  (others are ignored by strict loaders); frontmatter that is valid YAML.
- **OpenClaw's loader**: ``metadata`` as single-line JSON with an ``openclaw`` object;
  ``requires`` keys it understands (``env``, ``bins``, ``anyBins``, ``config``) —
  ``configPaths`` and ``variant`` are ignored by it.
- **this runtime**: a routing table it can read, a base URL, endpoints it can drive,
  attribution headers (export is refused with 402 without them).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from runtime.errors import SkillError

SPEC_KEYS = {"name", "description", "license", "compatibility", "metadata", "allowed-tools"}
OPENCLAW_REQUIRES = {"env", "bins", "anyBins", "config"}
NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Finding:
    line: int
    level: str        # error | warning | info
    consumer: str     # spec | openclaw | runtime
    message: str

    def render(self, path: str) -> str:
        return f"{path}:{self.line}: {self.level}: {self.message} [{self.consumer}]"


def lint(path: str | Path) -> list[Finding]:
    """Findings for the document at ``path`` (raises SkillError if it is no skill at all)."""
    from runtime import frontmatter
    from runtime.skillfile import load_skill
    from runtime.source import read_source

    p = Path(path)
    if p.is_dir():
        p = p / "SKILL.md"
    source = read_source(p)
    fm = frontmatter.parse(str(p), source.lines)
    skill = load_skill(p, cache=False)
    lines = fm.key_lines
    first = fm.start_line
    out: list[Finding] = []

    def at(key: str) -> int:
        return lines.get(key, first)

    # ---------------------------------------------------------------- Agent Skills spec
    for warning in fm.warnings:
        number = re.match(r"lines? (\d+)", warning)
        what = "" if frontmatter.PREAMBLE_SKIPPED in warning else "frontmatter is not valid YAML: "
        out.append(Finding(int(number.group(1)) if number else first, "error", "spec",
                           what + warning.split(": ", 1)[-1]))
    name = skill.name
    if not (1 <= len(name) <= 64) or not NAME.match(name):
        out.append(Finding(at("name"), "error", "spec",
                           f"name '{name}' must be 1-64 characters of a-z, 0-9 and single hyphens"))
    folder = p.resolve().parent.name
    if p.name == "SKILL.md" and folder != name:
        out.append(Finding(at("name"), "warning", "spec", f"name '{name}' does not match its folder '{folder}'"))
    description = skill.frontmatter.description or ""
    if not description:
        out.append(Finding(at("description") if "description" in lines else first, "error", "spec",
                           "description is missing"))
    elif len(description) > 1024:
        out.append(Finding(at("description"), "error", "spec",
                           f"description is {len(description)} characters; the limit is 1024"))
    for key in skill.frontmatter.keys:
        if key not in SPEC_KEYS:
            out.append(Finding(at(key), "info", "spec", f"'{key}' is not a spec key; strict loaders ignore it"))

    # ---------------------------------------------------------------- OpenClaw
    metadata = fm.data.get("metadata")
    if metadata is None:
        out.append(Finding(first, "warning", "openclaw", "no metadata: OpenClaw will not know required env vars"))
    else:
        if not fm.single_line_metadata:
            out.append(Finding(at("metadata"), "error", "openclaw",
                               "metadata must be single-line JSON (metadata: {\"openclaw\": {...}})"))
        claw = metadata.get("openclaw") if isinstance(metadata, dict) else None
        if not isinstance(claw, dict):
            out.append(Finding(at("metadata"), "error", "openclaw", "metadata has no 'openclaw' object"))
        else:
            requires = claw.get("requires") if isinstance(claw.get("requires"), dict) else {}
            for key in requires:
                if key not in OPENCLAW_REQUIRES:
                    out.append(Finding(at("metadata"), "info", "openclaw",
                                       f"requires.{key} is ignored by OpenClaw (it reads {', '.join(sorted(OPENCLAW_REQUIRES))})"))
            if "variant" in claw:
                out.append(Finding(at("metadata"), "info", "openclaw", "metadata.openclaw.variant is ignored by OpenClaw"))

    # ---------------------------------------------------------------- this runtime
    for problem in skill.problems:
        out.append(Finding(first, "error", "runtime", problem))
    if not skill.api_url:
        out.append(Finding(first, "warning", "runtime", "no base URL stated; the runtime uses PROTOCOL.md's default"))
    if skill.attribution.source is None:
        out.append(Finding(first, "warning", "runtime", "no X-Skill-* attribution headers named: exports get 402"))
    if skill.links.project_kind == "token-in-url":
        out.append(Finding(first, "warning", "runtime",
                           "a browser link carries the API token; the runtime uses a claim token instead"))
    if skill.repaired_lines:
        out.append(Finding(skill.repaired_lines[0], "warning", "runtime",
                           f"{len(skill.repaired_lines)} line(s) are mis-encoded (UTF-8 read as Latin-1); "
                           "re-save the file as UTF-8"))
    return sorted(out, key=lambda f: (f.line, f.consumer))


def lint_report(path: str) -> tuple[str, int]:
    """Rendered findings and the exit code (1 when any error)."""
    try:
        findings = lint(path)
    except SkillError as exc:
        return f"{exc}", 2
    text = "\n".join(f.render(path) for f in findings) or f"{path}: no findings"
    errors = sum(f.level == "error" for f in findings)
    warnings = sum(f.level == "warning" for f in findings)
    return f"{text}\n{errors} error(s), {warnings} warning(s)", 1 if errors else 0
