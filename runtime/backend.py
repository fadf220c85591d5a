"""Choosing the backend and connecting to it — the one place the runtime touches the engine.

DESIGN.md: ``--backend`` wins; else ``NEMO_API_URL`` → that URL; else ``NEMO_TOKEN`` →
the cloud (the skill's base URL); else the embedded local engine, started in this
process on a free loopback port and stopped on exit. Whatever is chosen, the same HTTP
client and protocol are used.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
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

        overrides = dict(engine or {})
        faults = overrides.pop("faults", None)
        config = EngineConfig(**overrides)
        if faults:
            config.faults = Faults.from_json(faults)
        server = start(config)
        # never the engine's own port for links: it stops when this command ends
        web = os.environ.get("NEMO_WEB_URL", "").strip() or skill.web_url or defaults.DEFAULT_WEB_URL
        backend = Backend(url=server.url, key=f"local:{config.data_dir}", local=True, web_url=web.rstrip("/"))
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
