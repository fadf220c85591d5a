"""Choosing the backend and connecting to it — the one place the runtime touches the engine.

DESIGN.md: ``--backend`` wins; else ``NEMO_API_URL`` → that URL; else ``NEMO_TOKEN`` →
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
from runtime.skillfile import Skill
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
    from engine.renders import RenderManager
    from engine.faults import Faults
    from engine.store import DataDirBusy, Store, lock_data_dir
    from skill.store import ClientStore

    root = Path(data_dir).expanduser() if data_dir else default_data_dir()
    if not (root / "sessions").is_dir():
        return CleanReport(0, 0, f"Nothing to clean: {root} holds no engine data.")
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
