"""Does the scenario suite catch real bugs? Apply each deliberate bug, run the suite, report.

Each mutation edits one line of a copy of the project (never this tree), then runs
``ai-music test tests/scenarios`` from that copy. A mutation is *caught* when the suite
fails; the report names the scenarios that failed and the first message, which should
point at the cause.

    .venv/bin/python bench/mutations.py [--only NAME]
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Not here: polling a render without the document's interval. The scenarios run on the embedded engine,
# which holds each poll until the render's phase changes, so no scenario can see the client's pace; a
# cloud's pace is held by tests/test_poll_news.py (a mutation run there fails it).
MUTATIONS: list[tuple[str, str, str, str]] = [
    ("drop the X-Skill-Version header", "runtime/attribution.py",
     '        out["X-Skill-Version"] = att.version\n', "        pass\n"),
    ("route 导出 (CJK keywords) to chat", "runtime/document/router.py",
     "            for keyword in rule.keywords:\n",
     "            for keyword in [k for k in rule.keywords if not _CJK.search(k)]:\n"),
    ("re-send the chat message after an SSE drop", "skill/actions/chat.py",
     "    if result.dropped or result.timed_out:\n        _recover(conn, before, result, out)\n",
     "    if result.dropped or result.timed_out:\n        conn.client.open_chat(conn.ensure_session().session_id, message)"
     ".close()\n        _recover(conn, before, result, out)\n"),
    ("skip the no-text fallback", "skill/actions/chat.py",
     "        result.changes = changes(before, after, conn.skill.conversation.track_labels)\n",
     "        result.changes = []\n"),
    ("forward GUI instructions untranslated", "runtime/document/gui.py",
     "        clean = _tidy(\"\".join(kept))\n", "        clean = text\n"),
    ("no new token after 1001", "skill/connection.py",
     "                if errors.AuthError in recovered:\n", "                if True:\n"),
]


def copy_project(target: Path) -> None:
    ignore = shutil.ignore_patterns(".venv", ".git", "__pycache__", "out", ".pytest_cache", "*.egg-info")
    for name in ("runtime", "skill", "engine", "protocol", "media", "tests", "SKILL.md", "pyproject.toml"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, target / name, ignore=ignore)
        else:
            shutil.copy2(src, target / name)


def run_suite(tree: Path, cache: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree), "XDG_CACHE_HOME": cache}
    return subprocess.run([sys.executable, "-m", "runtime.cli", "test", "tests/scenarios", "--workers", "2"],
                          cwd=tree, env=env, capture_output=True, text=True, timeout=1800)


def main() -> None:
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    cache = tempfile.mkdtemp(prefix="ai-music-mutation-cache-")
    rows = []
    for name, rel, old, new in MUTATIONS:
        if only and only not in name:
            continue
        with tempfile.TemporaryDirectory(prefix="ai-music-mutant-") as tmp:
            tree = Path(tmp)
            copy_project(tree)
            path = tree / rel
            text = path.read_text()
            if old not in text:
                rows.append((name, "NOT APPLIED", "the line to mutate was not found", 0.0))
                continue
            path.write_text(text.replace(old, new, 1))
            started = time.perf_counter()
            result = run_suite(tree, cache)
            seconds = time.perf_counter() - started
            failed = re.findall(r"^FAIL  (.+?)  \(", result.stdout, re.M)
            first = re.search(r"^FAIL .*\n\s+(.+)$", result.stdout, re.M)
            if result.returncode != 0 and failed:
                rows.append((name, "caught", f"{len(failed)} scenario(s): {', '.join(failed)}\n            first: "
                                               f"{first.group(1)[:200] if first else ''}", seconds))
            else:
                rows.append((name, "MISSED", result.stdout.strip().splitlines()[-1:] and
                             result.stdout.strip().splitlines()[-1], seconds))
    shutil.rmtree(cache, ignore_errors=True)
    for name, verdict, detail, seconds in rows:
        print(f"{verdict:<11} {name}  ({seconds:.0f}s)\n            {detail}")
    caught = sum(v == "caught" for _, v, _, _ in rows)
    print(f"{caught} of {len(rows)} mutations caught")


if __name__ == "__main__":
    main()
