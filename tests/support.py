"""What tests import: the repository's paths, the CLI as a user runs it, a served engine, a bare API caller.

Fixtures live in ``conftest.py``; these are plain functions and classes so a test file can
import them explicitly and a reader can find them.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A copy of ../shared/skills-corpus and the seed, so a clone tests on its own (CI clones anywhere).
CORPUS = ROOT / "tests" / "corpus"
SEED = CORPUS / "seed-SKILL.md"
BUNDLED = ROOT / "SKILL.md"


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.glob("*.md") if p.name not in ("README.md", "seed-SKILL.md"))

#: Every `ai-music` subprocess's output, scanned for leaked tokens at the end (see conftest).
OUTPUTS: list[str] = []


def run_cli(*args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 120,
            cwd: str | os.PathLike[str] | None = None):
    """Run ``ai-music ARGS`` in a fresh interpreter, as a user would.

    It runs in ``cwd``, by default the test's own HOME — never in the clone, so whatever a
    command writes into its current directory stays out of the repository."""
    import subprocess

    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    where = cwd or full_env.get("HOME") or ROOT
    result = subprocess.run([sys.executable, "-m", "runtime.cli", *args], capture_output=True, text=True,
                            env=full_env, input=input, timeout=timeout, cwd=where)
    OUTPUTS.extend((result.stdout, result.stderr))
    return result


def serve_engine(*options: str, timeout: float = 60.0):  # noqa: ANN201 - (Popen, url)
    """``ai-music serve --port 0 …`` in its own process; returns it with the URL it printed, once it answers.

    The engine picks its own port: a port chosen here and bound there could be taken in
    between on a busy machine (and a restart on the same port may find it in use)."""
    import re
    import subprocess
    import time

    import httpx

    proc = subprocess.Popen([sys.executable, "-m", "runtime.cli", "serve", "--port", "0", *options],
                            cwd=os.environ.get("HOME") or ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    found = re.search(r"on (http://127\.0\.0\.1:\d+)", first)
    if not found:
        proc.kill()
        raise AssertionError(f"ai-music serve did not start: {first!r}")
    url = found.group(1)
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(f"{url}/healthz", timeout=2)
            return proc, url
        except httpx.HTTPError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise AssertionError(f"ai-music serve at {url} never answered") from None
            time.sleep(0.05)


# ----------------------------------------------------------------------------- media


class Api:
    """A bare HTTP caller for protocol tests (the engine's point of view)."""

    def __init__(self, url: str) -> None:
        import httpx

        self.url = url
        self.http = httpx.Client(base_url=url, timeout=60)
        self.token: str | None = None
        self.session_id: str | None = None
        self.attribution = {"X-Skill-Source": "topmediai-ai-music", "X-Skill-Version": "1.0.0",
                            "X-Skill-Platform": "unknown"}

    def headers(self, **extra: str) -> dict[str, str]:
        out = dict(self.attribution)
        if self.token:
            out["Authorization"] = f"Bearer {self.token}"
        out.update(extra)
        return out

    def login(self, client_id: str = "test-client") -> "Api":
        r = self.http.post("/api/auth/anonymous-token", headers={"X-Client-Id": client_id})
        r.raise_for_status()
        self.token = r.json()["data"]["token"]
        r = self.http.post("/api/tasks/me/with-session/nemo_agent", headers=self.headers(),
                           json={"task_name": "project", "language": "en"})
        self.session_id = r.json()["data"]["session_id"]
        return self

    def get(self, path: str, **kw):  # noqa: ANN003, ANN201
        return self.http.get(path, headers=self.headers(**kw.pop("headers", {})), **kw)

    def post(self, path: str, **kw):  # noqa: ANN003, ANN201
        return self.http.post(path, headers=self.headers(**kw.pop("headers", {})), **kw)

    def upload(self, *paths: Path):  # noqa: ANN201
        files = [("files", (p.name, p.open("rb"), "application/octet-stream")) for p in paths]
        return self.post(f"/api/upload-video/nemo_agent/me/{self.session_id}", files=files)

    def chat(self, text: str) -> list[dict]:
        import json

        body = {"app_name": "nemo_agent", "user_id": "me", "session_id": self.session_id,
                "new_message": {"role": "user", "parts": [{"text": text}]}}
        events = []
        with self.http.stream("POST", "/run_sse", headers=self.headers(Accept="text/event-stream"), json=body) as r:
            assert r.status_code == 200, r.read()
            for line in r.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
        return events

    def state(self) -> dict:
        return self.get(f"/api/state/nemo_agent/me/{self.session_id}/latest").json()["data"]["state"]

    def faults(self, **settings: object) -> None:
        self.http.post("/_engine/faults", json=settings).raise_for_status()

    def render(self, render_id: str, draft: dict | None = None, timeout: float = 180.0) -> dict:
        """Submit the current (or given) draft and poll until the render ends."""
        body = {"id": render_id, "sessionId": self.session_id, "draft": draft or self.state()["draft"],
                "output": {"format": "mp4", "quality": "high"}}
        r = self.post("/api/render/proxy/lambda", json=body)
        assert r.json()["success"] is True, r.text
        return self.wait(render_id, ("completed", "failed", "cancelled"), timeout)

    def wait(self, render_id: str, states: tuple[str, ...], timeout: float = 120.0) -> dict:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = self.get(f"/api/render/proxy/lambda/{render_id}").json()["data"]
            if data["status"] in states:
                return data
            time.sleep(0.1)
        raise AssertionError(f"{render_id} never reached {states}")
