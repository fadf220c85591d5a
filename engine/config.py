"""Engine settings in one place: where it keeps data, what edits cost, how it behaves.

Every number a test or a user may want to change lives here (the engine's equivalent of
openai-python's ``_constants.py``). The limits mirror what the skill documents say of the
cloud backend (500 MB uploads, export free) — except credits: a tool on your own machine
must never stop working, so the engine meters nothing unless it is asked to
(``starting_credits``; ``ai-music serve --credits N`` for an engine shared as a service,
the harness to play the cloud's 100 free credits).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from engine.faults import Faults
from engine.local_files import LocalFiles


def default_data_dir() -> Path:
    """``$AI_MUSIC_ENGINE_DIR``, else ``$XDG_DATA_HOME/ai-music/engine``."""
    explicit = os.environ.get("AI_MUSIC_ENGINE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "ai-music" / "engine"


@dataclass
class EngineConfig:
    data_dir: Path = field(default_factory=default_data_dir)
    host: str = "127.0.0.1"
    port: int = 0                       # 0 = a free port
    starting_credits: int | None = None  # credits per new user; None = not metered (the default)
    edit_cost: int = 5                  # a chat turn that changes the draft (when metered)
    music_cost: int = 10                # composing a new piece (when metered)
    max_upload_bytes: int = 500 * 1024 * 1024
    max_json_bytes: int = 1024 * 1024
    max_media_seconds: float = 3 * 3600.0    # longer uploads are refused (4002)
    max_media_pixels: int = 8192 * 8192      # larger frames are refused (4001)
    heartbeat_interval_s: float = 10.0       # SSE keep-alive while working
    header_timeout_s: float = 10.0           # a request head must arrive within this (engine.api.connection_limits)
    body_idle_s: float = 60.0                # a request body that sends nothing this long is abandoned
    render_workers: int = 2                  # fair between users: a long render holds one (engine.export.render_queue)
    render_budget_s: float | None = None     # per render; None: by its length (render_queue.budget_s)
    ray_address: str | None = None           # renders, analyses, composing as Ray tasks there (serve --ray); None: here
    object_store: str | None = None          # s3://bucket/prefix: media also there, for workers without the data dir
    # compose in worker processes (engine.compute): a served engine answers many users while it
    # composes; the CLI's own engine has one user and would only pay a fork server's start-up and memory
    compose_in_workers: bool = False
    decode_ahead: bool = True  # an upload's sound decoded for the mix as it lands (engine.app._keep_decode)
    test_api: bool = False                   # /_engine/* fault switches (tests, harness)
    faults: Faults = field(default_factory=Faults)
    allowed_url_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")
    # file:// uploads: only the CLI's in-process engine has one (the files its user attached)
    local_files: LocalFiles | None = None
    allow_hosts: tuple[str, ...] = ()        # Host names accepted besides loopback (serve --allow-host)
    database: str | None = None              # postgresql://… shared by several engines (serve --database)

    @property
    def metered(self) -> bool:
        return self.starting_credits is not None
