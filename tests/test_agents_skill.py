"""The installed skill as real agent platforms read it: OpenClaw's gate and the spec validator.

OpenClaw (2026.9.x) cannot run here (it needs Node ≥ 24.16; this machine has Node 20), so
its eligibility check is re-implemented below, independently of the runtime's own parser,
from the sources read:

- ``src/markdown/frontmatter.ts`` (``parseFrontmatterBlock``): the block between the
  ``---`` fences is parsed as YAML (core schema) and, separately, line by line; an object
  value is turned into JSON text; the line-parsed value wins when it starts with ``{``/``[``
  or when it is a single line and YAML made an object of it.
- ``src/agents/skills/frontmatter.ts`` (``resolveOpenClawMetadata``): ``metadata`` is
  JSON5-parsed; its ``openclaw`` object (or a legacy key) gives ``requires.bins``,
  ``anyBins``, ``env``, ``config`` (string lists, or comma-separated strings).
- ``src/shared/config-eval.ts`` (``evaluateRuntimeRequires``, ``hasBinary``): every
  ``bins`` entry must be an executable file in a PATH folder, one of ``anyBins`` must
  be, every ``env`` variable must be set (or configured), every ``config`` path truthy.
  ``src/agents/skills/config.ts`` adds ``skills.entries.<key>.env``/``apiKey`` as other
  ways to satisfy ``env`` — with no OpenClaw config, only the environment counts.

The Agent Skills reference validator is the real one: ``agentskills validate`` from the
PyPI package ``skills-ref`` (a test dependency).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support import BUNDLED, CORPUS, SEED, run_cli
from runtime.lint import lint

VENV_BIN = Path(sys.executable).parent
TARGETS = {"openclaw": ".openclaw/skills", "claude": ".claude/skills", "cursor": ".cursor/skills",
           "codex": ".agents/skills", "agents": ".agents/skills"}


# ----------------------------------------------------------------------------- OpenClaw, re-implemented

def _openclaw_frontmatter(content: str) -> dict[str, str]:
    normalized = content.replace("\r\n", "\n").replace("\r", "\n")
    if not normalized.startswith("---"):
        return {}
    end = normalized.find("\n---", 3)
    if end == -1:
        return {}
    block = normalized[4:end]
    lines: dict[str, str] = {}
    rows = block.split("\n")
    i = 0
    while i < len(rows):
        key, sep, inline = rows[i].partition(":")
        if not sep or not key.replace("-", "").replace("_", "").isalnum() or rows[i][:1].isspace():
            i += 1
            continue
        inline = inline.strip()
        if not inline and i + 1 < len(rows) and rows[i + 1][:1] in (" ", "\t"):
            nested = []
            i += 1
            while i < len(rows) and (not rows[i] or rows[i][:1] in (" ", "\t")):
                nested.append(rows[i])
                i += 1
            lines[key] = "\n".join(nested).strip()
            continue
        if len(inline) > 1 and inline[0] == inline[-1] and inline[0] in "'\"":
            inline = inline[1:-1]
        if inline:
            lines[key] = inline
        i += 1
    try:
        parsed = yaml.safe_load(block)
    except yaml.YAMLError:
        return lines
    if not isinstance(parsed, dict):
        return lines
    merged = {str(k).strip(): (json.dumps(v) if isinstance(v, (dict, list)) else str(v).strip())
              for k, v in parsed.items() if v is not None}
    for key, value in lines.items():
        if value.startswith(("{", "[")):
            merged[key] = value
        elif merged.get(key, "").startswith("{") and "\n" not in value and value not in ("|", ">"):
            merged[key] = value
    return merged


def _string_list(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return []


def openclaw_requires(skill_md: Path) -> dict[str, list[str]] | None:
    raw = _openclaw_frontmatter(skill_md.read_text(encoding="utf-8")).get("metadata")
    if not raw:
        return None
    try:
        parsed = yaml.safe_load(raw)  # JSON5 stand-in: both forms here are plain JSON or YAML flow
    except yaml.YAMLError:
        return None
    if not isinstance(parsed, dict):
        return None
    claw = next((parsed[k] for k in ("openclaw", "clawdbot", "clawdis") if isinstance(parsed.get(k), dict)), None)
    if claw is None or not isinstance(claw.get("requires"), dict):
        return {"bins": [], "anyBins": [], "env": [], "config": []} if claw is not None else None
    requires = claw["requires"]
    return {key: _string_list(requires.get(key)) for key in ("bins", "anyBins", "env", "config")}


def openclaw_missing(skill_md: Path, env: dict[str, str]) -> list[str]:
    """What keeps OpenClaw from showing the skill to the model (empty: eligible)."""
    requires = openclaw_requires(skill_md)
    if requires is None:
        return []

    def has_bin(name: str) -> bool:
        return any(os.access(Path(folder) / name, os.X_OK) and (Path(folder) / name).is_file()
                   for folder in env.get("PATH", "").split(os.pathsep) if folder)

    missing = [f"bin {b}" for b in requires["bins"] if not has_bin(b)]
    if requires["anyBins"] and not any(has_bin(b) for b in requires["anyBins"]):
        missing.append(f"any of {requires['anyBins']}")
    missing += [f"env {e}" for e in requires["env"] if not env.get(e)]
    missing += [f"config {c}" for c in requires["config"]]  # no OpenClaw config on this machine
    return missing


def _install(target: str, home: Path, path: str) -> Path:
    result = run_cli("skill", "install", "--target", target, env={"HOME": str(home), "PATH": path})
    assert result.returncode == 0, result.stderr
    return home / TARGETS[target] / "topmediai-ai-music" / "SKILL.md"


def test_openclaw_shows_the_installed_skill_with_ai_music_on_path_and_no_token(isolated_home: Path) -> None:
    path = f"{VENV_BIN}{os.pathsep}/usr/bin{os.pathsep}/bin"
    installed = _install("openclaw", isolated_home, path)
    assert openclaw_requires(installed) == {"bins": ["ai-music"], "anyBins": [], "env": [], "config": []}
    env = {"PATH": path, "HOME": str(isolated_home)}  # no NEMO_TOKEN
    assert openclaw_missing(installed, env) == []
    # the gate is real: without the program OpenClaw hides it, with a token alone too
    assert openclaw_missing(installed, {"PATH": "/usr/bin:/bin", "NEMO_TOKEN": "t"}) == ["bin ai-music"]


def test_the_old_skill_was_hidden_without_a_cloud_token() -> None:
    """The seed document (what this runtime installed before) fails the same check."""
    assert openclaw_missing(SEED, {"PATH": f"{VENV_BIN}"}) == ["env NEMO_TOKEN"]


def test_openclaw_reads_block_and_single_line_metadata_alike(tmp_path: Path) -> None:
    block = BUNDLED.read_text(encoding="utf-8")
    single = block.split("metadata:")[0] + 'metadata: {"openclaw": {"requires": {"bins": ["ai-music"]}}}\n---' + \
        block.split("\n---", 1)[1]
    for name, text in (("block", block), ("single", single)):
        doc = tmp_path / name / "SKILL.md"
        doc.parent.mkdir()
        doc.write_text(text, encoding="utf-8")
        assert openclaw_requires(doc)["bins"] == ["ai-music"], name


# ----------------------------------------------------------------------------- the spec's reference validator

def _agentskills(folder: Path) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("agentskills", path=str(VENV_BIN)) or "agentskills"
    return subprocess.run([tool, "validate", str(folder)], capture_output=True, text=True, timeout=60)


def test_reference_validator_accepts_the_root_skill(tmp_path: Path) -> None:
    from skills_ref.parser import parse_frontmatter
    from skills_ref.validator import validate_metadata

    metadata, body = parse_frontmatter(BUNDLED.read_text(encoding="utf-8"))
    assert validate_metadata(metadata) == [] and body
    folder = tmp_path / "topmediai-ai-music"  # the only rule about the folder: it bears the name
    folder.mkdir()
    shutil.copy(BUNDLED, folder / "SKILL.md")
    result = _agentskills(folder)
    assert result.returncode == 0 and "Valid skill" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("on_path", [True, False], ids=["on-path", "absolute-command"])
def test_every_installed_copy_passes_the_reference_validator_and_lint(isolated_home: Path, on_path: bool) -> None:
    path = f"{VENV_BIN}{os.pathsep}/usr/bin" if on_path else "/usr/bin:/bin"
    for target in TARGETS:
        installed = _install(target, isolated_home, path)
        result = _agentskills(installed.parent)
        assert result.returncode == 0, f"{target}: {result.stdout}{result.stderr}"
        assert lint(installed) == [], target
        listed = run_cli("skill", "lint", str(installed))
        assert listed.returncode == 0 and "no findings" in listed.stdout


# ----------------------------------------------------------------------------- lint agrees with the validator

GOOD = BUNDLED.read_text(encoding="utf-8")
_FRONT, _BODY = GOOD.split("\n---\n", 1)


def _variant(front: str) -> str:
    return front + "\n---\n" + _BODY


CASES = {
    "good": GOOD,
    "single-line-json-metadata": _variant(_FRONT.split("metadata:")[0]
                                          + 'metadata: {"openclaw": {"requires": {"bins": ["ai-music"]}}}'),
    "top-level-version": _variant(_FRONT.replace("license: MIT", 'license: MIT\nversion: "1.0.0"')),
    "capital-name": GOOD.replace("name: topmediai-ai-music", "name: TopMediai-AI-Music", 1),
    "double-hyphen": GOOD.replace("name: topmediai-ai-music", "name: topmediai--ai-music", 1),
    "description-too-long": _variant(_FRONT.replace("  does it when a token is set.", "  " + "x" * 1100)),
    "no-description": _variant("\n".join(ln for ln in _FRONT.split("\n") if not ln.startswith(("description", "  ")))
                               .replace("metadata:", "metadata:\n  version: \"1.0.0\"\n  x: y", 1)),
    "compatibility-too-long": _variant(_FRONT.replace("  it, the instructions", "  " + "y" * 600 + " it")),
    "duplicate-key": _variant(_FRONT.replace("license: MIT", "license: MIT\nlicense: Apache-2.0")),
    "flow-list": _variant(_FRONT.replace("      bins:\n        - ai-music", '      bins: ["ai-music"]')),
    "seed": SEED.read_text(encoding="utf-8"),
    "mojibake": (CORPUS / "hotel-video-maker.md").read_text(encoding="utf-8"),
    "corpus-nemo-video": (CORPUS / "nemo-video.md").read_text(encoding="utf-8"),
    "corpus-birthday": (CORPUS / "birthday-party-video.md").read_text(encoding="utf-8"),
}


def _reference_errors(folder: Path) -> list[str]:
    from skills_ref import validate

    try:
        return validate(folder)
    except Exception as exc:  # noqa: BLE001 - the validator crashes on characters YAML forbids: a failure
        return [f"crashed: {type(exc).__name__}"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_lint_reports_what_the_reference_validator_reports(tmp_path: Path, case: str) -> None:
    text = CASES[case]
    name = next((ln.split(":", 1)[1].strip() for ln in text.split("\n") if ln.startswith("name:")), "")
    folder = tmp_path / "skills" / (name or "topmediai-ai-music")
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(text, encoding="utf-8")
    reference = _reference_errors(folder)
    ours = [f for f in lint(folder / "SKILL.md") if f.consumer == "spec" and f.level == "error"]
    assert bool(reference) == bool(ours), f"skills-ref: {reference}\nlint: {ours}"
    assert (case == "good") == (not reference)


def test_lint_reports_a_folder_that_does_not_bear_the_name(tmp_path: Path) -> None:
    folder = tmp_path / "skills" / "music"
    folder.mkdir(parents=True)
    shutil.copy(BUNDLED, folder / "SKILL.md")
    assert any("Directory name" in e for e in _reference_errors(folder))
    found = [f for f in lint(folder / "SKILL.md") if f.consumer == "spec"]
    assert len(found) == 1 and "folder's name 'music'" in found[0].message and found[0].line == 2
