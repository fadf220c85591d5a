"""Fixtures (an isolated HOME per test, media clips, a live engine) and the suite's hooks.

Helpers a test imports (paths, ``run_cli``, ``serve_engine``, ``Api``) are in ``support.py``.
"""
from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

import pytest

from support import OUTPUTS, ROOT, Api

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


# ----------------------------------------------------------------------------- PostgreSQL

@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server from the pgserver wheel, on a unix socket, for this test session (each
    xdist worker its own); stopped and deleted after. Without pgserver or psycopg its tests skip,
    loudly; a server that does not start is a failure (tried twice: a loaded machine is slow)."""
    import tempfile
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: no XDG_RUNTIME_DIR in CI
            import pgserver  # noqa: F401 - started by _start_postgres
            import psycopg  # noqa: F401 - the driver the engine uses
    except ImportError as exc:
        pytest.skip(f"POSTGRESQL NOT TESTED: {exc.name} does not install here (pip install 'ai-music[test]')")
    for attempt, timeout in ((1, 10), (2, 60)):
        # not under pytest's 0700 tmp dirs: as root, pgserver runs the server as its own user
        root = Path(tempfile.mkdtemp(prefix="ai-music-pg-"))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                server = _start_postgres(root, timeout)
            break
        except Exception:
            shutil.rmtree(root, ignore_errors=True)
            if attempt == 2:
                raise
    yield server.get_uri()
    server.cleanup()
    shutil.rmtree(root, ignore_errors=True)


def _start_postgres(root: Path, timeout_s: float):
    """pgserver's server in ``root``, given ``timeout_s`` to start (pgserver waits a fixed 10 s for pg_ctl)."""
    import pgserver
    from pgserver import postgres_server

    pg_ctl = postgres_server.pg_ctl

    def patient(*args, **kwargs):
        return pg_ctl(*args, **{**kwargs, "timeout": timeout_s})

    postgres_server.pg_ctl = patient
    try:
        return pgserver.get_server(root, cleanup_mode="delete")
    finally:
        postgres_server.pg_ctl = pg_ctl


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A database of this test's own (a fresh schema on the session's server)."""
    import secrets
    from urllib.parse import quote

    import psycopg

    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    joiner = "&" if "?" in postgres_server else "?"
    return f"{postgres_server}{joiner}options={quote(f'-csearch_path={schema}')}"


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


@pytest.fixture
def api(engine) -> Api:
    return Api(engine.url).login()


# ----------------------------------------------------------------------------- token leak watch
# Every token an in-process engine issues during the suite is remembered; every test's
# captured output and every `ai-music` subprocess's output is scanned for them. A leak
# fails the run (xdist workers report through files the controller reads at the end).

ISSUED: list[str] = []


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
    import signal
    import tempfile

    from hypothesis.configuration import set_hypothesis_home_dir

    # A run started in the background of a non-interactive shell (`./bin/test &`, nohup) inherits
    # SIGINT ignored, and so would every program the tests start: the tests of Ctrl-C (batch, REPL,
    # export, open) would press it in vain. Programs started from here hear it, as in a terminal.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)

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


# ----------------------------------------------------------------------------- both executors (issue 18)

LOOPBACK_ONLY = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # "0": Ray binds and advertises 127.0.0.1 (ray_constants)
# Ray's token auth reads ~/.ray/auth_token once per process, but every test has its own HOME: a second
# file's cluster would make a new token there and refuse the driver's cached one. One token per process.
RAY_TOKEN = secrets.token_hex(32)


@pytest.fixture(scope="module")
def ray_cluster():  # noqa: ANN201 - the cluster's address
    """A local Ray cluster on 127.0.0.1 with two CPUs for this file's tests (starting one costs seconds;
    it is gone before the worker's next file, whose tests need the cores and the memory)."""
    # Ray turns 127.0.0.1 into the machine's address on Linux unless it runs as a single-machine cluster
    # (read when ray is first imported)
    before = {name: os.environ.get(name) for name in (LOOPBACK_ONLY, "RAY_AUTH_TOKEN")}
    os.environ.update({LOOPBACK_ONLY: "0", "RAY_AUTH_TOKEN": RAY_TOKEN})
    try:
        try:
            import ray
        except ImportError as exc:
            pytest.skip(f"RAY NOT INSTALLED ({exc}): the Ray executor is untested here; pip install -e '.[ray]'")
        _start_ray(ray)
        address = ray.get_runtime_context().gcs_address
        assert address.startswith("127.0.0.1:"), address
        yield address
        ray.shutdown()
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _start_ray(ray) -> None:  # noqa: ANN001 - the ray module, imported by the fixture
    """``ray.init`` once more if the first start timed out: its daemons start slowly on a busy machine.

    ``address="local"``: always a cluster of its own — without it ``ray.init`` joins whichever cluster last
    wrote /tmp/ray/ray_current_cluster (the other xdist worker's, a bench's), and then refuses ``num_cpus``."""
    options = dict(address="local", num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", logging_level="WARNING",
                   log_to_driver=False)
    try:
        ray.init(**options)
    except Exception:  # noqa: BLE001 - Ray raises several kinds on a slow start; the retry's error is the one shown
        ray.shutdown()
        ray.init(**options)


@pytest.fixture(params=["in-process", "ray"])
def executor_config(request: pytest.FixtureRequest, engine_config):  # noqa: ANN201
    """The test engine's config, once per executor (Ray's against the session's local cluster)."""
    if request.param == "ray":
        engine_config.ray_address = request.getfixturevalue("ray_cluster")
    return engine_config


@pytest.fixture
def executor_engine(executor_config):  # noqa: ANN201
    from engine.embedded import start

    server = start(executor_config)
    yield server
    server.stop()


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list:
    """Every AAC encoder a soundtrack's build starts (``engine.export.soundtrack.AacEncoder``), as it starts it."""
    from engine.export import soundtrack

    encoders: list = []
    real = soundtrack.AacEncoder

    def recording(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        encoders.append(real(*args, **kwargs))
        return encoders[-1]

    monkeypatch.setattr(soundtrack, "AacEncoder", recording)
    return encoders
