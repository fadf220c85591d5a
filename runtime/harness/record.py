"""Record mode: run a real conversation and save it as a scenario skeleton.

``ai-music test --record OUT.scenario.yaml [--url URL]`` reads the user's turns from
stdin (one per line; a file path in a line is attached, as in the REPL), runs them
against the backend (a URL — e.g. the cloud — or the local engine) and writes a scenario
that replays the same turns against the local engine: attached files become generated
fixtures of the same length and size, and each turn gets the observed route, the start
of the reply and the requests made (ids globbed) as expectations to edit. The full
request/response transcript, tokens redacted, is kept under ``recorded:``.
"""
from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from runtime.harness.runner import redact

_IDS = [
    (re.compile(r"(/api/(?:upload-video|state)/nemo_agent/)[^/]+/[^/]+"), r"\1*/*"),
    (re.compile(r"(/api/render/proxy/(?:lambda/)?)render_[\w-]+"), r"\1*"),
    (re.compile(r"(/api/media/)[^/]+/[^/]+"), r"\1*/*"),
]


def glob_ids(path: str) -> str:
    for pattern, replacement in _IDS:
        path = pattern.sub(replacement, path)
    return path


def _reply_pattern(reply: str, stems: list[str]) -> str | None:
    """A regex for the reply's last line, with attached file names generalised.

    Replayed fixtures get generated names, so "Video: demo (0-6s)" must also match
    "Video: file1-ab12 (0-6s)"."""
    lines = [ln for ln in reply.split("\n") if ln.strip()]
    if not lines:
        return None
    pattern = re.escape(lines[-1][:120])
    for stem in sorted(stems, key=len, reverse=True):
        pattern = pattern.replace(re.escape(stem), r"[^\s()]+")
    return pattern


def _fixture_for(path: str) -> dict[str, Any]:
    from media.probe import probe

    try:
        info = probe(path)
    except Exception:  # noqa: BLE001 - an unreadable attachment replays as a plain file
        return {"kind": "file", "bytes": Path(path).stat().st_size if Path(path).exists() else 0}
    if info.video is not None:
        return {"kind": "video", "seconds": round(info.duration_s or 5, 2),
                "size": f"{info.video.width}x{info.video.height}", "audio": "voice" if info.has_audio else "none"}
    if info.audio is not None:
        return {"kind": "audio", "seconds": round(info.duration_s or 5, 2), "format": Path(path).suffix.lstrip(".")}
    return {"kind": "image"}


def record(out_path: str, lines: TextIO, url: str | None, skill_path: str | None, say: Any = print) -> int:
    import yaml

    from runtime.backend import connect
    from runtime.conversation import Conversation
    from runtime.harness.runner import CLOUD_CREDITS
    from runtime.document import load_skill
    from runtime.terminal import CollectingOutput

    skill = load_skill(skill_path)
    calls: list[dict[str, Any]] = []
    out = CollectingOutput()
    fixtures: dict[str, dict[str, Any]] = {}
    names: dict[str, str] = {}
    turns: list[dict[str, Any]] = []
    recorded: list[dict[str, Any]] = []
    engine = None if url else {"starting_credits": CLOUD_CREDITS}  # the engine a replay gets
    with connect(skill, "cloud" if url else "local", hooks=(calls.append,), notice=out.notice,
                 engine=engine) as conn:
        convo = Conversation(conn, out)
        for number, raw in enumerate(lines, start=1):
            text = raw.strip()
            if not text:
                continue
            first = len(calls)
            report = convo.turn(text)
            made = calls[first:]
            route = report.route
            attach = []
            for item in (route.attachments if route else ()):
                if "://" in item:
                    attach.append(item)
                    continue
                if item not in names:
                    names[item] = f"file{len(names) + 1}"
                    fixtures[names[item]] = _fixture_for(item)
                attach.append(names[item])
            reply = "\n".join(report.replies)
            say(f"[{number}] {reply}")
            expect: dict[str, Any] = {
                "route": [s.action.value for s in route.steps] if route else [],
                "no_gui_words": True,
                "calls": {"order": "sequence", "items": [{"method": c["method"], "path": glob_ids(c["path"])}
                                                         for c in made if not c["path"].endswith("anonymous-token")]},
                "exit_code": report.exit_code,
            }
            pattern = _reply_pattern(reply, [Path(p).stem for p in names])
            if pattern:
                expect["reply_matches"] = pattern
            if report.files:
                expect["files"] = [{"codec": "h264", "audio_not_silent": True} for _ in report.files]
            turn: dict[str, Any] = {"say": route.text if route and route.attachments else text}
            if attach:
                turn["attach"] = attach
            turn["expect"] = expect
            turns.append(turn)
            secrets = [conn.client.token or ""]
            recorded.append(redact({"turn": number, "requests": [
                {"method": c["method"], "path": c["path"], "status": c.get("status"), "body": c["body"],
                 "response": c.get("response")} for c in made]}, secrets))
    scenario = {"name": f"recorded session {time.strftime('%Y-%m-%d %H:%M')}",
                "description": f"recorded against {url or 'the local engine'}; replayed against the local engine",
                "backend": "local"}
    if skill_path:
        scenario["skill"] = str(Path(skill_path).resolve())
    if fixtures:
        scenario["fixtures"] = fixtures
    scenario["turns"] = turns
    scenario["recorded"] = recorded
    Path(out_path).write_text(yaml.safe_dump(scenario, sort_keys=False, allow_unicode=True, width=110),
                              encoding="utf-8")
    print(f"wrote {out_path} ({len(turns)} turns); replay it with: ai-music test {out_path}", file=sys.stderr)
    return 0
