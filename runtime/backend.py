"""Choosing the backend and connecting to it — the one place the runtime touches the engine.

docs/architecture.md: ``--backend`` wins; else ``NEMO_API_URL`` → that URL; else ``NEMO_TOKEN`` →
the cloud (the skill's base URL); else the embedded local engine, started in this
process on a free loopback port and stopped on exit. Whatever is chosen, the same HTTP
client and protocol are used.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlparse
from typing import Any, Callable, Iterator

from runtime import attribution
from runtime.document.model import Skill
from skill import settings as defaults
from skill.client import Client, RequestHook
from skill.connection import Backend, Connection
from skill.settings import Settings


def choose(requested: str | None) -> str:
    if requested:
        return requested
    if os.environ.get("NEMO_API_URL", "").strip():
        return "url"
    if os.environ.get("NEMO_TOKEN", "").strip():
        return "cloud"
    return "local"


@contextmanager
def connect(skill: Skill, requested: str | None = None, *, notice: Callable[[str], None] | None = None,
            hooks: tuple[RequestHook, ...] = (), engine: dict[str, Any] | None = None) -> Iterator[Connection]:
    """A ready :class:`Connection` (token and session are obtained lazily on first use).

    ``engine`` overrides settings of the embedded engine (the harness turns on its test
    API, points its data dir into the scenario's folder, shortens its heartbeats).
    """
    skill.require_runnable()
    kind = choose(requested)
    server = None
    if kind == "local":
        from engine.config import EngineConfig
        from engine.embedded import start
        from engine.faults import Faults
        from engine.local_files import LocalFiles

        overrides = dict(engine or {})
        faults = overrides.pop("faults", None)
        config = EngineConfig(**overrides)
        if faults:
            config.faults = Faults.from_json(faults)
        config.local_files = LocalFiles(config.data_dir)  # only what this user attaches (upload action)
        server = start(config)
        # never the engine's own port for links: it stops when this command ends
        web = os.environ.get("NEMO_WEB_URL", "").strip() or skill.web_url or defaults.DEFAULT_WEB_URL
        backend = Backend(url=server.url, key=f"local:{config.data_dir}", local=True, web_url=web.rstrip("/"),
                          grant=config.local_files.grant)
    else:
        url = (os.environ.get("NEMO_API_URL", "").strip() or skill.api_url or defaults.DEFAULT_API_URL).rstrip("/")
        # an engine served on this machine (`ai-music serve`) also serves the project pages
        loopback = urlparse(url).hostname in ("127.0.0.1", "localhost", "::1")
        web = os.environ.get("NEMO_WEB_URL", "").strip() or (url if loopback else None) or skill.web_url \
            or defaults.DEFAULT_WEB_URL
        backend = Backend(url=url, key=url, local=False, web_url=web.rstrip("/"))
    client = None
    try:  # from here on, whatever fails (a bad setting in the environment) still stops the engine
        client = Client(backend.url, skill, attribution.headers(skill), hooks=hooks)
        conn = Connection(skill, backend, client, Settings.resolve(skill, local=backend.local), notice=notice)
        if backend.local:
            conn.user_token = None  # a cloud NEMO_TOKEN means nothing to the local engine
        yield conn
    finally:
        if client is not None:
            client.close()
        if server is not None:
            server.stop()


@dataclass(frozen=True)
class CleanReport:
    freed: int
    kept: int
    text: str


def clean_local(data_dir: str | None, *, dry_run: bool) -> CleanReport:
    """``ai-music clean``: free what the embedded engine's data dir holds that no project needs.

    Kept: the project ``say`` continues (and, in it, its uploads, the music its timeline and
    undo steps use, its current soundtrack and latest render of each kind), projects with
    an export still to pick up, and other users' projects. The rest goes — see
    ``engine.housekeeping``."""
    from pathlib import Path

    from engine.config import default_data_dir
    from engine.housekeeping import KINDS, find, free, size_of
    from engine.export.jobs import RenderManager
    from engine.faults import Faults
    from engine.store import DATABASE_MARK, DataDirBusy, Store, lock_data_dir
    from skill.store import ClientStore

    root = Path(data_dir).expanduser() if data_dir else default_data_dir()
    if not (root / "sessions").is_dir():
        return CleanReport(0, 0, f"Nothing to clean: {root} holds no engine data.")
    if (root / DATABASE_MARK).exists():  # its sessions are not in the dir: every project would look orphaned
        raise RuntimeError(f"{root} belongs to engines that keep their projects in PostgreSQL (serve --database); "
                           "clean cleans an embedded engine's data dir only")
    client = ClientStore()
    key = f"local:{root}"
    saved = client.session(key)
    mine = {(client.token(key) or {}).get("user_id"), (saved or {}).get("user_id")} - {None}
    keep = {saved["session_id"]} if saved else set()
    keep |= {e.get("session_id") for e in client.pending_renders(key).values() if isinstance(e, dict)}
    lock = None
    if not dry_run:
        try:
            lock = lock_data_dir(root, exclusive=True)
        except DataDirBusy:
            raise RuntimeError(f"an engine is using {root} (ai-music serve, chat or mcp); stop it, then run "
                               "clean again") from None
    try:
        store = Store(root)
        # projects of other users (a data dir `ai-music serve` used) are theirs: never ours to remove
        keep |= {sid for sid, session in store.sessions.items() if session.get("user_id") not in mine}
        manager = RenderManager(store, Faults(), workers=1)
        try:
            garbage = find(store, manager.soundtrack_key_of, keep=keep, grace_s=0)
            freed = sum(g.size for g in garbage) if dry_run else free(store, garbage)
        finally:
            manager.shutdown()
        kept = size_of(root) - (freed if dry_run else 0)
    finally:
        if lock is not None:
            os.close(lock)
    return CleanReport(freed, kept, _clean_text(root, garbage, freed, kept, dry_run, KINDS))


def _clean_text(root: Any, garbage: list[Any], freed: int, kept: int, dry_run: bool, kinds: dict[str, str]) -> str:
    def mb(size: int) -> str:
        return f"{size / 1024 / 1024:.1f} MB"

    lines = [f"Engine data: {root}"]
    for kind, label in kinds.items():
        items = [g for g in garbage if g.kind == kind]
        if items:
            count = len({g.session_id for g in items}) if kind == "project" else len(items)
            lines.append(f"  {label:<44} {count:>5} {mb(sum(g.size for g in items)):>10}")
    if not garbage:
        lines.append("  nothing to free")
    verb = "Would free" if dry_run else "Freed"
    lines.append(f"{verb} {mb(freed)}; kept {mb(kept)} (the project `say` continues, and exports still to "
                 "pick up)." + (" Run `ai-music clean` to free it." if dry_run and garbage else ""))
    return "\n".join(lines)


class ServeRefused(Exception):
    """``serve`` cannot start as asked (bad option, port taken): one line for the user."""


def serve_engine(host: str, port: int, *, data: str | None, test_api: bool, credits: int | None,
                 allow_hosts: tuple[str, ...] = (), database: str | None = None, ray: str | None = None,
                 object_store: str | None = None) -> None:
    """``ai-music serve``: the engine as a long-running server, until Ctrl-C.

    Binds first, so ``--port 0`` prints the port it really got. ``database``: a PostgreSQL URL
    several such engines share (docs/scaling.md); never printed, it may hold a password.
    """
    import errno
    import sys
    from pathlib import Path

    import uvicorn

    from engine.api.connection_limits import uvicorn_options
    from engine.api.listener import listening_socket, shown_host
    from engine.api.host_check import host_name
    from engine.app import create_app
    from engine.config import EngineConfig
    from engine.export.executor import ExecutorUnavailable
    from engine.object_store import ObjectStoreError
    from engine.permissions import PRIVATE_UMASK
    from engine.state_db import is_database_url
    from engine.store import StoreError

    if credits is not None and credits < 0:
        raise ServeRefused("--credits must be 0 or more")
    for name in allow_hosts:
        if host_name(name) != name.lower().strip("[]").rstrip("."):
            raise ServeRefused(f"--allow-host {name}: not a host name (give the name alone, without port or scheme)")
    if database is not None and not is_database_url(database):
        raise ServeRefused("--database must be a postgresql:// URL")
    config = EngineConfig(host=host, port=port, test_api=test_api, starting_credits=credits,
                          allow_hosts=tuple(allow_hosts), database=database, ray_address=ray,
                          object_store=object_store, compose_in_workers=True,
                          decode_ahead=False)
    if data:
        config.data_dir = Path(data)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"ai-music: warning: binding {host} exposes the engine beyond this machine", file=sys.stderr)
    shown = shown_host(host)
    try:
        sock = listening_socket(host, port)
    except OSError as exc:
        hint = "; pick another --port" if exc.errno in (errno.EADDRINUSE, errno.EACCES) else "; check --host"
        raise ServeRefused(f"cannot listen on {shown}:{port} ({exc.strerror or exc}){hint}") from None
    url = f"http://{shown}:{sock.getsockname()[1]}"
    os.umask(PRIVATE_UMASK)  # what the engine and its ffmpeg write is its users' private data
    try:
        app = create_app(config)
    except StoreError as exc:
        sock.close()
        raise ServeRefused(f"--database: {exc}" if database else str(exc)) from None
    except (ExecutorUnavailable, ObjectStoreError) as exc:
        sock.close()
        raise ServeRefused(str(exc)) from None
    metering = f"{credits} credits per new user" if config.metered else "not metered"
    shared = "; state in PostgreSQL" if database else ""
    renders = f"; renders, analyses and composing on the Ray cluster at {ray}" if ray else ""
    renders += f"; media also in {object_store}" if object_store else ""
    print(f"ai-music engine on {url} (data: {config.data_dir}{shared}; {metering}{renders})")
    print(f"Point a client at it:  export NEMO_API_URL={url}")
    print(f"In a browser:  {url}/workspace")
    print("Then: ai-music say \"hello\"   (Ctrl-C stops the engine)", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning",
                                           **uvicorn_options(config.header_timeout_s)))
    server.run(sockets=[sock])


WORKSPACE_PORT = 8765  # `ai-music serve`'s default: `open` reuses an engine served there


def _answers(url: str) -> bool:
    """Whether an ai-music engine answers at ``url`` (its health page says so)."""
    import httpx

    try:
        response = httpx.get(f"{url}/healthz", timeout=2.0, trust_env=False)
        return response.status_code == 200 and response.json().get("engine") == "ai-music"
    except (httpx.HTTPError, ValueError, AttributeError):
        return False


def _hand_over(skill: Skill, url: str, video: str) -> str:
    """Upload ``video`` into a new project and return the workspace link that opens it.

    The page is another client with its own token: the project is handed over with a claim
    token (the protocol's link for people), in the URL's fragment, which browsers never send."""
    import uuid
    from pathlib import Path

    from skill.errors import NemoError

    client = Client(url, skill, attribution.headers(skill))
    try:
        client.token = client.anonymous_token(f"workspace-{uuid.uuid4()}").token
        session = client.create_session(Path(video).stem[:200] or "project", "en")
        client.upload_files(session.session_id, [Path(video)])
        claim = client.claim_token(session.task_id, session.session_id)
    except NemoError as exc:  # an unsupported or broken file: the engine's one line names it
        raise ServeRefused(str(exc)) from None
    finally:
        client.close()
    return f"{url}/workspace#ct={claim}"


def open_workspace(skill: Skill, video: str | None, *, port: int = WORKSPACE_PORT, browser: bool = True,
                   data: str | None = None, show: Callable[[str], None] = print) -> None:
    """``ai-music open``: the workspace of a local engine (reused if one answers on ``port``).

    An engine started here serves until Ctrl-C (the browser needs it after this returns)."""
    import threading
    import webbrowser
    from pathlib import Path

    url = f"http://127.0.0.1:{port}"
    server = None
    if not _answers(url):
        from engine.config import EngineConfig
        from engine.embedded import start

        config = EngineConfig(port=port)
        if data:
            config.data_dir = Path(data)
        try:
            server = start(config)
        except OSError as exc:
            raise ServeRefused(f"port {port} is taken by something that is not an ai-music engine "
                               f"({exc.strerror or exc}); pick another with --port") from None
        url = server.url
    try:
        link = _hand_over(skill, url, video) if video else f"{url}/workspace"
        show(f"ai-music workspace: {link}")
        if browser and not webbrowser.open(link):
            show("(no browser found here: open the link above in one)")
        if server is not None:
            show("The engine runs until Ctrl-C.")
            threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.stop()
