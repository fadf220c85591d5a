"""Run a scenario: a fresh home and engine, the turns, the checks, a transcript.

Each scenario gets its own temporary HOME/config/data directories and — for the local
backend — its own engine with the test API on, so scenarios can run in parallel
processes without seeing each other. Everything the runtime sends is recorded (with
tokens redacted) so a failure shows the turns, the replies and the requests.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from runtime.harness import checks
from runtime.harness.fixtures import make_fixture
from runtime.harness.scenario import Scenario, ScenarioError, load

CLOUD_CREDITS = 100  # what the skill documents a new anonymous token gets

@dataclass
class Result:
    name: str
    path: str
    passed: bool
    seconds: float
    failures: list[str] = field(default_factory=list)
    transcript: list[dict[str, Any]] = field(default_factory=list)

    def first_failure(self) -> str:
        return self.failures[0] if self.failures else ""


@contextlib.contextmanager
def scoped_env(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def redact(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret:
                value = value.replace(secret, "***")
        return value
    if isinstance(value, dict):
        return {k: ("Bearer ***" if str(k).lower() == "authorization" else redact(v, secrets)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    return value


def run_path(path: str | os.PathLike[str], fixture_cache: str | None = None) -> Result:
    """Load and run one file; never raises (a broken file is a failed result)."""
    started = time.perf_counter()
    try:
        scenario = load(path)
    except ScenarioError as exc:
        return Result(name=Path(path).name, path=str(path), passed=False, seconds=0.0, failures=[str(exc)])
    try:
        return run(scenario, fixture_cache)
    except Exception as exc:  # noqa: BLE001 - the harness reports, it does not crash
        return Result(name=scenario.name, path=str(path), passed=False, seconds=time.perf_counter() - started,
                      failures=[f"the harness crashed: {exc.__class__.__name__}: {exc}",
                                traceback.format_exc(limit=6)])


def _environment(home: Path, scenario: Scenario) -> dict[str, str]:
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
           "XDG_DATA_HOME": str(home / ".local" / "share"), "AI_MUSIC_RECOVERY_WAIT": "0.5",
           "NEMO_POLL_INTERVAL": "0.2"}
    for name in ("NEMO_TOKEN", "NEMO_API_URL", "NEMO_WEB_URL", "NEMO_CLIENT_ID", "SKILL_SOURCE"):
        env[name] = ""
    if scenario.backend != "local":
        env["NEMO_API_URL"] = scenario.backend
    env.update(scenario.settings)
    return env


def run(scenario: Scenario, fixture_cache: str | None = None) -> Result:
    import httpx

    from runtime.backend import connect
    from runtime.conversation import Conversation
    from runtime.document import load_skill
    from runtime.terminal import CollectingOutput

    started = time.perf_counter()
    result = Result(name=scenario.name, path=str(scenario.path), passed=False, seconds=0.0)
    with tempfile.TemporaryDirectory(prefix="ai-music-scenario-") as tmp:
        home = Path(tmp)
        cache = Path(fixture_cache) if fixture_cache else home / "fixtures"
        media = {name: str(make_fixture(cache, name, spec)) for name, spec in scenario.fixtures.items()}
        local = scenario.backend == "local"
        # the engine plays the cloud the skill was written for: 100 free credits unless the scenario says
        engine = {"data_dir": home / "engine", "test_api": True, "heartbeat_interval_s": 0.2,
                  "starting_credits": CLOUD_CREDITS, "faults": scenario.faults or None,
                  **scenario.engine} if local else None
        with scoped_env(_environment(home, scenario)):
            skill = load_skill(scenario.skill)
            calls: list[dict[str, Any]] = []
            out = CollectingOutput()
            with connect(skill, "local" if local else None, hooks=(calls.append,), notice=out.notice,
                         engine=engine) as conn, httpx.Client(base_url=conn.backend.url, timeout=30) as admin:
                (home / "out").mkdir()
                play = _Play(conn, Conversation(conn, out, output_dir=home / "out"), out, calls, admin, media,
                             result)
                for number, turn in enumerate(scenario.turns, start=1):
                    if not local and (turn.get("fault") or turn.get("expire_token") or turn.get("forget_session")):
                        result.failures.append(f"turn {number}: faults need the local backend")
                        break
                    play.turn(number, turn)
    result.seconds = time.perf_counter() - started
    result.passed = not result.failures
    return result


@dataclass
class _Play:
    """One scenario being played: what a turn needs to act, then to be checked and recorded."""
    conn: Any
    convo: Any
    out: Any
    calls: list[dict[str, Any]]
    admin: Any
    media: dict[str, str]
    result: Result

    def turn(self, number: int, turn: dict[str, Any]) -> None:
        from runtime.document.model import Action
        from skill.settings import Settings

        conn, admin = self.conn, self.admin
        if turn.get("fault") is not None:
            admin.post("/_engine/faults", json=turn["fault"]).raise_for_status()
        if turn.get("expire_token"):
            admin.post("/_engine/expire-tokens", json={}).raise_for_status()
        if turn.get("forget_session") and conn.session:
            admin.post("/_engine/forget-session", json={"session_id": conn.session.session_id})
        expect = turn.get("expect") or {}
        before = _credits(admin, conn) if "credits" in expect else None
        first_call, first_notice = len(self.calls), len(self.out.notices)
        attach = [self.media.get(a, a) for a in turn.get("attach", [])]
        text = _fill(turn.get("say", ""), self.media)
        command = turn.get("command")
        with scoped_env({k: str(v) for k, v in (turn.get("settings") or {}).items()}):
            conn.settings = Settings.resolve(conn.skill, local=conn.backend.local)
            if command == "new":
                conn.new_session()
                report = None
            elif command:
                report = self.convo.action({"export": Action.EXPORT, "status": Action.STATE,
                                            "credits": Action.CREDITS}[command])
            else:
                report = self.convo.turn(text, attach)
        made = self.calls[first_call:]
        notices = self.out.notices[first_notice:]
        reply = "\n".join(report.replies) if report else ""
        failures = _check(expect, report, reply, notices, made, conn, admin, before)
        self.result.transcript.append(redact({
            "turn": number, "say": text or f"/{command}", "attach": attach,
            "route": [s.action.value for s in report.route.steps] if report and report.route else [],
            "reply": reply, "notices": notices, "errors": report.errors if report else [],
            "files": report.files if report else [],
            "requests": [{"method": c["method"], "path": c["path"], "status": c.get("status"),
                          "headers": c["headers"], "body": c["body"]} for c in made],
        }, [conn.client.token or ""]))
        self.result.failures += [f"turn {number} ({(text or command or '')[:40]!r}): {f}" for f in failures]


def _fill(text: str, media: dict[str, str]) -> str:
    for name, path in media.items():
        text = text.replace("{" + name + "}", path)
    return text


def _credits(admin: Any, conn: Any) -> int | None:
    conn.ensure_token()
    r = admin.get("/api/credits/balance/simple", headers={"Authorization": f"Bearer {conn.client.token}"})
    try:
        return int(r.json()["data"]["available"])
    except (ValueError, KeyError, TypeError):
        return None


def _check(expect: dict[str, Any], report: Any, reply: str, notices: list[str], made: list[dict[str, Any]],
           conn: Any, admin: Any, before: int | None) -> list[str]:
    failures: list[str] = []
    if "route" in expect:
        steps = [s.action.value for s in report.route.steps] if report and report.route else []
        failures += checks.route(expect["route"], steps)
    failures += checks.reply(expect, reply)
    if "notices_contain" in expect:
        failures += checks.notices(expect["notices_contain"], notices)
    if "calls" in expect:
        failures += checks.calls(expect["calls"], made)
    if "files" in expect:
        failures += checks.files(expect["files"], report.files if report else [])
    if "draft" in expect:
        state = admin.get(f"/api/state/nemo_agent/me/{conn.ensure_session().session_id}/latest",
                          headers={"Authorization": f"Bearer {conn.client.token}"}).json()
        failures += checks.draft(expect["draft"], state.get("data", {}).get("state", {}).get("draft"))
    if "credits" in expect:
        failures += checks.credits(expect["credits"], before, _credits(admin, conn))
    if "errors" in expect:
        failures += checks.errors(expect["errors"], report.errors if report else [])
    if "exit_code" in expect and report is not None and report.exit_code != expect["exit_code"]:
        failures.append(f"exit_code: {report.exit_code}, expected {expect['exit_code']} "
                        f"(errors: {report.errors})")
    return failures
