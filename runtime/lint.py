"""``ai-music skill lint``: what in a SKILL.md breaks which consumer, with line numbers.

Three consumers read a skill, each with its own rules:

- **Agent Skills spec**, as its reference validator (``agentskills validate``, PyPI
  ``skills-ref``) applies it: the file starts with ``---``; the frontmatter is *strict*
  YAML (strictyaml: no JSON-style ``{...}``/``[...]`` flow collections, no duplicate
  keys); only the keys ``name``, ``description``, ``license``, ``compatibility``,
  ``metadata``, ``allowed-tools``; ``name`` 1–64 lowercase letters, digits and single
  hyphens, equal to its folder's name; ``description`` non-empty and ≤ 1024 characters;
  ``compatibility`` ≤ 500. Every spec finding here is one the validator reports (the
  tests hold the two in agreement), each with its line. The folder rule is checked where
  a loader looks the skill up by folder — a ``skills/`` folder or an agent's install
  location — not for a document kept at a repository's root, which ``skill install``
  copies into a folder of the right name.
- **OpenClaw's loader** (``src/agents/skills/frontmatter.ts``, ``src/markdown/
  frontmatter.ts``, ``src/shared/config-eval.ts``): ``metadata`` holds an ``openclaw``
  object, as single-line JSON or as block YAML (both read alike) — unless the YAML is
  broken, when only the single-line form survives its line-by-line fallback, or the
  block has a single line, which its merge step mistakes for plain text. ``requires``
  keys it evaluates are ``bins``, ``anyBins``, ``env``, ``config``; an ``env`` entry
  hides the skill ("Needs setup") until that variable is set.
- **this runtime**: a routing table it can read, a base URL, endpoints it can drive,
  attribution headers (export is refused with 402 without them).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.document.errors import SkillError
from runtime.document.frontmatter import PREAMBLE_SKIPPED

SPEC_KEYS = ("name", "description", "license", "compatibility", "metadata", "allowed-tools")
OPENCLAW_REQUIRES = ("bins", "anyBins", "env", "config")
OPENCLAW_KEYS = ("openclaw", "clawdbot", "clawdis")  # the manifest key and its legacy names
MAX_NAME, MAX_DESCRIPTION, MAX_COMPATIBILITY = 64, 1024, 500
# YAML 1.2's printable set, complemented (ruamel's Reader.check_printable)
_NOT_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Finding:
    line: int
    level: str        # error | warning | info
    consumer: str     # spec | openclaw | runtime
    message: str

    def render(self, path: str) -> str:
        return f"{path}:{self.line}: {self.level}: {self.message} [{self.consumer}]"


def _strict_yaml(text: str) -> tuple[dict[str, Any] | None, Finding | None]:
    """The frontmatter as the reference validator reads it, or the finding that stops it."""
    import strictyaml

    if not text.startswith("---"):
        first = next((n for n, line in enumerate(text.split("\n"), start=1) if line.strip()), 1)
        return None, Finding(first, "error", "spec", "the file must start with '---' (no text, blank line or BOM "
                                                     "before it); move what is above it below the frontmatter")
    parts = text.split("---", 2)
    if len(parts) < 3:
        return None, Finding(1, "error", "spec", "frontmatter is not closed with '---'")
    bad = _NOT_PRINTABLE.search(parts[1])
    if bad:  # the validator's YAML reader refuses these (and crashes on them)
        line = parts[1][:bad.start()].count("\n") + 1
        return None, Finding(line, "error", "spec", f"character U+{ord(bad.group()):04X} is not allowed in YAML; the "
                                                    "line looks mis-encoded (UTF-8 read as Latin-1): re-save it as UTF-8")
    try:
        data = strictyaml.load(parts[1]).data
    except Exception as exc:  # noqa: BLE001 - strictyaml also raises ruamel's ReaderError, not a YAMLError
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
        if "JSONesque flow" in str(problem):
            problem = ("JSON-style {...} or [...] values are not strict YAML; write them as indented "
                       "'key: value' lines and '- item' lists")
        return None, Finding(line, "error", "spec", f"frontmatter is not strict YAML: {problem}")
    if not isinstance(data, dict):
        return None, Finding(2, "error", "spec", "frontmatter must be a set of 'key: value' lines")
    return data, None


def _is_skill_folder(path: Path) -> bool:
    """Where loaders find skills by folder name (see the module docstring)."""
    from runtime.attribution import install_location

    return path.parent.parent.name == "skills" or install_location(path) is not None


def spec_findings(path: Path, text: str, key_lines: dict[str, int]) -> list[Finding]:
    """What ``agentskills validate`` reports for this file, with lines."""
    data, stop = _strict_yaml(text)
    if stop is not None:
        return [stop]
    assert data is not None
    out: list[Finding] = []

    def at(key: str) -> int:
        return key_lines.get(key, 2)

    for key in data:
        if key not in SPEC_KEYS:
            out.append(Finding(at(key), "error", "spec", f"'{key}' is not an Agent Skills key (allowed: "
                                                          f"{', '.join(SPEC_KEYS)}); move it under 'metadata:'"))
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        out.append(Finding(at("name"), "error", "spec", "'name' is missing or empty"))
    else:
        name = unicodedata.normalize("NFKC", name.strip())
        bad = []
        if len(name) > MAX_NAME:
            bad.append(f"is {len(name)} characters (at most {MAX_NAME})")
        if name != name.lower():
            bad.append("has capitals")
        if name.startswith("-") or name.endswith("-") or "--" in name:
            bad.append("starts or ends with a hyphen or has two in a row")
        if not all(c.isalnum() or c == "-" for c in name):
            bad.append("has characters other than letters, digits and hyphens")
        if bad:
            out.append(Finding(at("name"), "error", "spec", f"name '{name}' {'; '.join(bad)}"))
        folder = path.resolve().parent.name
        if _is_skill_folder(path) and unicodedata.normalize("NFKC", folder) != name:
            out.append(Finding(at("name"), "error", "spec", f"name '{name}' must equal its folder's name '{folder}'"))
    description = data.get("description")
    if not isinstance(description, str) or not description.strip():
        out.append(Finding(at("description"), "error", "spec", "'description' is missing or empty"))
    elif len(description) > MAX_DESCRIPTION:
        out.append(Finding(at("description"), "error", "spec",
                           f"description is {len(description)} characters; the limit is {MAX_DESCRIPTION}"))
    compatibility = data.get("compatibility")
    if compatibility is not None and (not isinstance(compatibility, str) or len(compatibility) > MAX_COMPATIBILITY):
        out.append(Finding(at("compatibility"), "error", "spec",
                           f"compatibility must be text of at most {MAX_COMPATIBILITY} characters"))
    return out


def openclaw_findings(fm: Any, lines: list[str]) -> list[Finding]:
    """What OpenClaw's loader makes of ``metadata`` (see the module docstring)."""
    first = fm.start_line
    at = fm.key_lines.get("metadata", first)
    metadata = fm.data.get("metadata")
    if metadata is None:
        return [Finding(first, "warning", "openclaw",
                        "no metadata: OpenClaw cannot tell which programs or variables the skill needs")]
    if not isinstance(metadata, dict):
        return [Finding(at, "error", "openclaw", "metadata is not a map; OpenClaw ignores it")]
    out: list[Finding] = []
    if fm.skipped is not None:
        out.append(Finding(fm.skipped[0], "error", "openclaw", "OpenClaw reads no frontmatter unless the file starts "
                                                               "with '---'; move the text above it below it"))
    repaired = [w for w in fm.warnings if PREAMBLE_SKIPPED not in w]
    if repaired and not fm.single_line_metadata:
        out.append(Finding(at, "error", "openclaw", "the frontmatter is not valid YAML, so OpenClaw reads it line by "
                                                    "line and loses a block 'metadata'; fix the YAML"))
    if not fm.single_line_metadata:
        block = [ln for ln in lines[at:fm.end_line - 1] if ln.strip()]
        nested = []
        for ln in block:
            if not ln[:1].isspace():
                break
            nested.append(ln)
        if len(nested) == 1:
            out.append(Finding(at, "error", "openclaw", "a one-line 'metadata:' block is read by OpenClaw as plain "
                                                        "text; write it on the 'metadata:' line or add a line"))
    claw = next((metadata[k] for k in OPENCLAW_KEYS if isinstance(metadata.get(k), dict)), None)
    if claw is None:
        out.append(Finding(at, "error", "openclaw", "metadata has no 'openclaw' object"))
        return out
    requires = claw.get("requires") if isinstance(claw.get("requires"), dict) else {}
    for key in requires:
        if key not in OPENCLAW_REQUIRES:
            out.append(Finding(at, "info", "openclaw",
                               f"requires.{key} is ignored by OpenClaw (it reads {', '.join(OPENCLAW_REQUIRES)})"))
    env = requires.get("env")
    for name in [env] if isinstance(env, str) else env if isinstance(env, list) else []:
        out.append(Finding(at, "warning", "openclaw",
                           f"requires.env {name}: OpenClaw hides the skill ('Needs setup') until {name} is set; "
                           "gate on a program with requires.bins and make the variable optional (primaryEnv)"))
    if "variant" in claw:
        out.append(Finding(at, "info", "openclaw", "metadata.openclaw.variant is ignored by OpenClaw"))
    return out


def lint(path: str | Path) -> list[Finding]:
    """Findings for the document at ``path`` (raises SkillError if it is no skill at all)."""
    from runtime.document import frontmatter
    from runtime.document import load_skill
    from runtime.document.source import read_source

    p = Path(path)
    if p.is_dir():
        p = p / "SKILL.md"
    source = read_source(p)
    fm = frontmatter.parse(str(p), source.lines)
    skill = load_skill(p, cache=False)
    first = fm.start_line
    raw = p.read_bytes().decode("utf-8", errors="replace").replace("\r\n", "\n")
    out = spec_findings(p, raw, fm.key_lines)
    out += openclaw_findings(fm, source.lines)

    # ---------------------------------------------------------------- this runtime
    for problem in skill.problems:
        out.append(Finding(first, "error", "runtime", problem))
    if not skill.api_url:
        out.append(Finding(first, "warning", "runtime", "no base URL stated; the runtime uses the protocol's default"))
    if skill.attribution.source is None:
        out.append(Finding(first, "warning", "runtime", "no X-Skill-* attribution headers named: exports get 402"))
    elif skill.attribution.version is None:
        out.append(Finding(first, "warning", "runtime", "no version (metadata.version) for X-Skill-Version"))
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
