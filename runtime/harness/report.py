"""Reporting results: one line per scenario, a summary, transcripts of failures, JUnit XML."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterable

from runtime.harness.runner import Result


def line(result: Result) -> str:
    mark = "PASS" if result.passed else "FAIL"
    text = f"{mark}  {result.name}  ({result.path}, {result.seconds:.1f}s)"
    if not result.passed:
        text += f"\n      {result.first_failure()}"
    return text


def transcript(result: Result) -> str:
    """The conversation as it happened (tokens redacted), for a failed scenario."""
    out = [f"--- transcript of {result.name!r} ---"]
    for failure in result.failures[1:]:
        out.append(f"  also: {failure}")
    for turn in result.transcript:
        out.append(f"[turn {turn['turn']}] user: {turn['say']}" + (f"  (attached: {turn['attach']})"
                                                                    if turn["attach"] else ""))
        out.append(f"  route: {' → '.join(turn['route']) or '-'}")
        for notice in turn["notices"]:
            out.append(f"  notice: {notice}")
        out.append("  reply: " + (turn["reply"].replace("\n", "\n         ") or "(none)"))
        for req in turn["requests"]:
            body = json.dumps(req["body"], ensure_ascii=False)[:160] if req["body"] is not None else ""
            out.append(f"  → {req['method']} {req['path']} [{req['status']}] {body}")
        if turn["errors"]:
            out.append(f"  errors: {turn['errors']}")
    return "\n".join(out)


def summary(results: list[Result]) -> str:
    passed = sum(r.passed for r in results)
    return f"{passed} passed, {len(results) - passed} failed"


def write_junit(results: Iterable[Result], path: str | Path) -> None:
    results = list(results)
    suite = ET.Element("testsuite", name="ai-music scenarios", tests=str(len(results)),
                       failures=str(sum(not r.passed for r in results)),
                       time=f"{sum(r.seconds for r in results):.2f}")
    for result in results:
        case = ET.SubElement(suite, "testcase", name=result.name, classname=Path(result.path).stem,
                             file=result.path, time=f"{result.seconds:.2f}")
        if not result.passed:
            failure = ET.SubElement(case, "failure", message=result.first_failure()[:500])
            failure.text = "\n".join(result.failures)
            ET.SubElement(case, "system-out").text = transcript(result)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
