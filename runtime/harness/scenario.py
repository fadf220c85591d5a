"""Scenario files: YAML, checked against a JSON Schema, errors pointing at the line.

A scenario is a conversation with a skill and what must be true after each turn
(``docs/harness.md`` documents every key; ``SCHEMA`` is the contract). Loading does not
run anything: a malformed file fails here, with the file, the line and what was expected.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CALL = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "method": {"type": "string", "enum": ["GET", "POST", "PUT", "DELETE", "PATCH"]},
        "path": {"type": "string", "description": "exact path or a glob (* matches within a segment run)"},
        "headers": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
        "body": {"type": "object", "description": "fields that must be equal (dotted keys reach inside)"},
        "count": {"type": "integer", "minimum": 0, "description": "exactly this many matching requests"},
        "max_count": {"type": "integer", "minimum": 0, "description": "at most this many (e.g. polls)"},
        "min_gap_s": {"type": "number", "minimum": 0,
                      "description": "consecutive matching requests at least this far apart (poll interval)"},
    },
    "required": ["path"],
}
FILE_CHECK = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "min_size": {"type": "integer", "minimum": 0},
        "codec": {"type": "string"}, "audio_codec": {"type": "string"},
        "width": {"type": "integer"}, "height": {"type": "integer"},
        "duration": {"type": "number"}, "tolerance": {"type": "number", "minimum": 0},
        "audio_not_silent": {"type": "boolean"},
        "lufs": {"type": "number"}, "lufs_tolerance": {"type": "number", "minimum": 0},
        "suffix": {"type": "string"},
        "zip_contains": {"type": "array", "items": {"type": "string"}},
    },
}
TRACK = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "type": {"type": "integer"}, "name_contains": {"type": "string"},
        "volume": {"type": "number"}, "text": {"type": "string"},
        "start": {"type": "number"}, "end": {"type": "number"}, "muted": {"type": "boolean"},
    },
}
EXPECT = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "route": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "reply_contains": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "reply_not_contains": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "reply_matches": {"type": "string"},
        "no_gui_words": {"type": "boolean"},
        "notices_contain": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "calls": {
            "type": "object", "additionalProperties": False,
            "properties": {"order": {"enum": ["sequence", "set"]},
                           "items": {"type": "array", "items": CALL},
                           "none": {"type": "array", "items": CALL}},
        },
        "files": {"type": "array", "items": FILE_CHECK},
        "draft": {
            "type": "object", "additionalProperties": False,
            "properties": {"tracks": {"type": "array", "items": TRACK},
                           "track_count": {"type": "integer", "minimum": 0},
                           "duration": {"type": "number"}, "exportable": {"type": "boolean"}},
        },
        "credits": {
            "type": "object", "additionalProperties": False,
            "properties": {"change": {"type": "integer"}, "available": {"type": "integer"}},
        },
        "errors": {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                              "properties": {"code": {"type": ["integer", "null"]},
                                                             "type": {"type": "string"},
                                                             "message_contains": {"type": "string"}}}},
        "exit_code": {"type": "integer"},
    },
}
FIXTURE = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "kind": {"enum": ["video", "audio", "image", "file"]},
        "seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 600},
        "size": {"type": "string", "pattern": "^[0-9]{2,4}x[0-9]{2,4}$"},
        "fps": {"type": "integer", "minimum": 1, "maximum": 60},
        "audio": {"enum": ["voice", "tone", "silence", "none", "noise"]},
        "scenes": {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0}},
        "format": {"type": "string", "pattern": "^[a-z0-9]{2,4}$"},
        "bytes": {"type": "integer", "minimum": 0, "description": "kind file: a file of this many zero bytes"},
        "sparse": {"type": "boolean"},
    },
}
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "ai-music scenario",
    "type": "object", "additionalProperties": False,
    "required": ["name", "turns"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "skill": {"type": "string", "description": "SKILL.md path, relative to the scenario file"},
        "backend": {"type": "string", "description": "local (default) or a URL"},
        "faults": {"type": "object"},
        "engine": {
            "type": "object", "additionalProperties": False,
            "description": "local engine settings for this scenario",
            "properties": {"starting_credits": {"type": ["integer", "null"], "minimum": 0,
                                                "description": "credits per new user (default 100, as the cloud "
                                                               "gives); null = not metered"},
                           "edit_cost": {"type": "integer", "minimum": 0},
                           "music_cost": {"type": "integer", "minimum": 0},
                           "max_upload_bytes": {"type": "integer", "minimum": 1}},
        },
        "settings": {"type": "object", "additionalProperties": {"type": ["string", "number"]}},
        "fixtures": {"type": "object", "additionalProperties": FIXTURE},
        "turns": {
            "type": "array", "minItems": 1,
            "items": {
                "type": "object", "additionalProperties": False,
                "properties": {
                    "say": {"type": "string"},
                    "attach": {"type": "array", "items": {"type": "string"}},
                    "command": {"enum": ["export", "status", "credits", "new"]},
                    "fault": {"type": "object", "description": "faults switched on before this turn"},
                    "expire_token": {"type": "boolean"}, "forget_session": {"type": "boolean"},
                    "settings": {"type": "object", "additionalProperties": {"type": ["string", "number"]},
                                 "description": "client environment for this turn only"},
                    "expect": EXPECT,
                },
            },
        },
        "recorded": {"type": "array", "description": "record mode: the transcript it was made from"},
    },
}


class ScenarioError(ValueError):
    """A scenario file that cannot be used; ``str()`` names the file and the line."""


@dataclass
class Scenario:
    path: Path
    name: str
    data: dict[str, Any]
    skill: Path | None
    backend: str
    faults: dict[str, Any]
    engine: dict[str, Any]
    settings: dict[str, str]
    fixtures: dict[str, dict[str, Any]]
    turns: list[dict[str, Any]] = field(default_factory=list)


def _line_of(node: Any, path: list[Any]) -> int | None:
    """Line (1-based) of the YAML node at ``path`` (keys and indices), as deep as it goes."""
    import yaml

    line = node.start_mark.line + 1 if node is not None else None
    for step in path:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == step), None)
            if match is None:
                break
            node = match[1]
            line = match[0].start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            break
    return line


def load(path: str | os.PathLike[str]) -> Scenario:
    import jsonschema
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{p}: cannot be read ({exc})") from exc
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}" if mark else str(p)
        raise ScenarioError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{p}:1: a scenario is a mapping with 'name' and 'turns'")
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        error = min(errors, key=lambda e: (_line_of(node, list(e.absolute_path)) or 0))
        line = _line_of(node, list(error.absolute_path))
        where = ".".join(str(x) for x in error.absolute_path) or "(top level)"
        if error.validator == "additionalProperties":
            extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            allowed = ", ".join(sorted(error.schema.get("properties", {})))
            line = _line_of(node, [*error.absolute_path, extra[0]]) if extra else line
            message = f"unknown key '{extra[0] if extra else '?'}' in {where}; expected one of: {allowed}"
        else:
            message = f"{where}: {error.message}"
        raise ScenarioError(f"{p}:{line}: {message}")
    skill = data.get("skill")
    return Scenario(
        path=p, name=data["name"], data=data,
        skill=(p.parent / skill).resolve() if skill else None,
        backend=str(data.get("backend") or "local"),
        faults=dict(data.get("faults") or {}),
        engine=dict(data.get("engine") or {}),
        settings={k: str(v) for k, v in (data.get("settings") or {}).items()},
        fixtures=dict(data.get("fixtures") or {}),
        turns=list(data["turns"]),
    )


def discover(paths: list[str]) -> list[Path]:
    """Scenario files among ``paths`` (files, or folders searched for ``*.scenario.yaml``)."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found += sorted(p.rglob("*.scenario.yaml")) + sorted(p.rglob("*.scenario.yml"))
        elif p.exists():
            found.append(p)
        else:
            raise ScenarioError(f"{p}: no such file or folder")
    return found
