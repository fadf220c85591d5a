"""Shared fixtures: paths to the skill documents and an isolated HOME/config per test."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# A copy of ../shared/skills-corpus and the seed, so a clone tests on its own (CI clones anywhere).
CORPUS = ROOT / "tests" / "corpus"
SEED = CORPUS / "seed-SKILL.md"
BUNDLED = ROOT / "SKILL.md"


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.glob("*.md") if p.name not in ("README.md", "seed-SKILL.md"))


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own HOME, config and cache dirs, and no cloud credentials."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    for name in ("NEMO_TOKEN", "NEMO_API_URL", "NEMO_WEB_URL", "NEMO_CLIENT_ID", "SKILL_SOURCE",
                 "NEMO_POLL_INTERVAL", "AI_MUSIC_SKILL"):
        monkeypatch.delenv(name, raising=False)
    return home


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

@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def clip(media_dir: Path) -> Path:
    """6 s, 640x360, a cut at 4 s (scenes 4 s + 2 s), voice-like audio."""
    from media.fixtures import VideoSpec, make_video

    return make_video(media_dir / "clip.mp4", VideoSpec(seconds=6, width=640, height=360,
                                                        scene_seconds=[4.0, 2.0]))


@pytest.fixture(scope="session")
def clip_1080(media_dir: Path) -> Path:
    """5 s, 1920x1080 H.264 + AAC voice: eligible for the copy fast path."""
    from media.fixtures import VideoSpec, make_video

    return make_video(media_dir / "clip1080.mp4", VideoSpec(seconds=5, width=1920, height=1080,
                                                            scene_seconds=[3.0, 2.0]))


@pytest.fixture(scope="session")
def big_clip(media_dir: Path) -> Path:
    """4 s of camera-like 1080p at 10 Mbit/s: a render of it is megabytes, big enough to cut a download."""
    from media.fixtures import make_busy

    return make_busy(media_dir / "big.mp4", seconds=4, width=1920, height=1080, kbps=10_000)


@pytest.fixture(scope="session")
def silent_clip(media_dir: Path) -> Path:
    from media.fixtures import VideoSpec, make_video

    return make_video(media_dir / "noaudio.mp4", VideoSpec(seconds=4, width=640, height=360, audio="none"))


# ----------------------------------------------------------------------------- engine

@pytest.fixture
def engine_config(tmp_path: Path):
    from engine.config import EngineConfig

    # plays the cloud, credits included (the embedded engine a user gets does not meter)
    return EngineConfig(data_dir=tmp_path / "engine", test_api=True, heartbeat_interval_s=0.2, starting_credits=100)


@pytest.fixture
def engine(engine_config):
    """A real engine on a free loopback port, with the test API; stopped after the test."""
    from engine.embedded import start

    server = start(engine_config)
    yield server
    server.stop()


@pytest.fixture
def cli_env(engine, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment that points ``ai-music`` at the test engine with short waits."""
    env = {"NEMO_API_URL": engine.url, "NEMO_POLL_INTERVAL": "0.2", "AI_MUSIC_RECOVERY_WAIT": "0.3",
           "AI_MUSIC_NOTICE_PERIOD": "120"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


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


@pytest.fixture
def api(engine) -> Api:
    return Api(engine.url).login()


# ----------------------------------------------------------------------------- token leak watch
# Every token an in-process engine issues during the suite is remembered; every test's
# captured output and every `ai-music` subprocess's output is scanned for them. A leak
# fails the run (xdist workers report through files the controller reads at the end).

ISSUED: list[str] = []
OUTPUTS: list[str] = []


@pytest.fixture(autouse=True, scope="session")
def _remember_issued_tokens():
    from engine.store import Store

    original = Store.issue_token

    def issue(self, client_id):  # noqa: ANN001, ANN202
        token, user, expires = original(self, client_id)
        ISSUED.append(token)
        return token, user, expires

    Store.issue_token = issue
    yield
    Store.issue_token = original


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    OUTPUTS.extend(text for _, text in report.sections)
    if report.longrepr is not None:
        OUTPUTS.append(str(report.longrepr))


def _leak_dir(config: pytest.Config) -> Path:
    """A folder for this run only, shared with its xdist workers (they inherit the variable):
    two copies of the suite running at once never read or clear each other's findings."""
    return Path(os.environ["AI_MUSIC_TEST_RUN_DIR"])


def _repository_files() -> set[str]:
    """Every file in the clone but what tools keep there by design (git, the venv, caches)."""
    skip = {".git", ".venv", "__pycache__", ".pytest_cache"}
    found = set()
    for folder, subfolders, names in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if d not in skip and not d.endswith(".egg-info")]
        found.update(os.path.relpath(os.path.join(folder, name), ROOT) for name in names)
    return found


def pytest_configure(config: pytest.Config) -> None:
    import tempfile

    from hypothesis.configuration import set_hypothesis_home_dir

    if not hasattr(config, "workerinput"):  # the controller (or a plain run)
        os.environ["AI_MUSIC_TEST_RUN_DIR"] = tempfile.mkdtemp(prefix="ai-music-test-run-")
        config.stash[_BEFORE] = _repository_files()
    # hypothesis keeps its examples and caches in ./.hypothesis by default: inside the clone
    set_hypothesis_home_dir(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ai-music" /
                            "hypothesis")


_BEFORE = pytest.StashKey[set]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leaks = sorted({t[:12] + "…" for t in ISSUED if any(t in text for text in OUTPUTS)})
    folder = _leak_dir(session.config)
    if leaks:
        (folder / f"{os.getpid()}.txt").write_text("\n".join(leaks))
    if hasattr(session.config, "workerinput"):
        return
    found = [line for f in folder.glob("*.txt") for line in f.read_text().splitlines()]
    if found:
        print(f"\nTOKEN LEAK: {len(found)} token(s) used by the suite appeared in captured output: {found}")
        session.exitstatus = 1
    shutil.rmtree(folder, ignore_errors=True)
    # the suite never writes into the repository (a command run in the clone once left task_….mp4 there)
    written = sorted(_repository_files() - session.config.stash.get(_BEFORE, set()))
    if written:
        print(f"\nWRITTEN INTO THE REPOSITORY by the tests: {written}")
        session.exitstatus = 1
