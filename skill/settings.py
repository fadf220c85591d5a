"""Every tunable number of the client, in one place, and where each one comes from.

Order of precedence, per value: an environment variable the user set, then what the
SKILL.md states (read by ``runtime.document.model``), then the default below (docs/protocol.md's
figures for this skill family). The document is written for the cloud; two of its
numbers describe *waiting on a remote service* and are scaled for the embedded engine,
which runs in this very process: render polling (the document's "every 30 s, at most 10
polls" becomes the same 5-minute budget polled every 0.25 s) and SSE-drop recovery waits.
Tests shorten periods through the same environment variables a user could set.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from runtime.document.model import ErrorKind, Skill

# HTTP (openai-python's defaults, adapted)
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 60.0
UPLOAD_TIMEOUT_S = 900.0
MAX_DOWNLOAD_BYTES = 4 * 1024 ** 3   # a render bigger than this is not one: a hostile or broken server
DOWNLOAD_DEADLINE_S = 3600.0         # one download attempt, however slowly the bytes trickle in
MAX_RETRIES = 2                 # idempotent calls on 5xx / transport errors
INITIAL_RETRY_DELAY_S = 0.5
MAX_RETRY_DELAY_S = 8.0

# Defaults when the document is silent (docs/protocol.md)
DEFAULT_NOTICE = "⏳ Still working..."
DEFAULT_NOTICE_PERIOD_S = 120.0
DEFAULT_HEARTBEAT_TIMEOUT_S = 600.0
DEFAULT_MAX_STREAM_S = 900.0
DEFAULT_POLL_INTERVAL_S = 30.0
DEFAULT_MAX_POLLS = 10
DEFAULT_RATE_LIMIT_WAIT_S = 30.0
DEFAULT_RECOVERY_FIRST_WAIT_S = 30.0
DEFAULT_RECOVERY_NEXT_WAIT_S = 60.0
DEFAULT_RECOVERY_MAX_UNCHANGED = 5
DEFAULT_API_URL = "https://mega-api-prod.nemovideo.ai"
DEFAULT_WEB_URL = "https://nemovideo.com"

LOCAL_POLL_INTERVAL_S = 0.25
LOCAL_RECOVERY_SCALE = 1 / 30     # 30 s → 1 s against the in-process engine


def _env_float(name: str) -> float | None:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return None
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a number of seconds") from None
    if number < 0:
        raise ValueError(f"{name} must not be negative")
    return number


@dataclass(frozen=True)
class Settings:
    notice: str
    notice_period_s: float
    heartbeat_timeout_s: float
    max_stream_s: float
    poll_interval_s: float
    poll_budget_s: float
    rate_limit_wait_s: float
    recovery_first_wait_s: float
    recovery_next_wait_s: float
    recovery_max_unchanged: int
    max_upload_bytes: int | None
    ignore_trailing: tuple[str, ...]

    @classmethod
    def resolve(cls, skill: Skill, *, local: bool) -> "Settings":
        """Combine environment, document and defaults (see module docstring)."""
        sse, rec, export = skill.sse, skill.recovery, skill.export
        doc_interval = export.poll_interval_s or DEFAULT_POLL_INTERVAL_S
        budget = doc_interval * (export.max_polls or DEFAULT_MAX_POLLS)
        interval = _env_float("NEMO_POLL_INTERVAL")
        if interval is None:
            interval = LOCAL_POLL_INTERVAL_S if local else doc_interval
        rate = skill.error_rule(429)
        scale = LOCAL_RECOVERY_SCALE if local else 1.0
        first = _env_float("AI_MUSIC_RECOVERY_WAIT")
        return cls(
            notice=sse.notice or DEFAULT_NOTICE,
            notice_period_s=_pick(_env_float("AI_MUSIC_NOTICE_PERIOD"), sse.notice_period_s, DEFAULT_NOTICE_PERIOD_S),
            heartbeat_timeout_s=_pick(_env_float("AI_MUSIC_HEARTBEAT_TIMEOUT"), sse.heartbeat_timeout_s,
                                      DEFAULT_HEARTBEAT_TIMEOUT_S),
            max_stream_s=_pick(_env_float("AI_MUSIC_MAX_STREAM"), sse.max_stream_s, DEFAULT_MAX_STREAM_S),
            poll_interval_s=interval,
            poll_budget_s=_pick(_env_float("AI_MUSIC_POLL_BUDGET"), budget, budget),
            rate_limit_wait_s=_pick(_env_float("AI_MUSIC_RATE_LIMIT_WAIT"),
                                    rate.wait_s if rate and rate.kind is ErrorKind.RATE_LIMIT else None,
                                    DEFAULT_RATE_LIMIT_WAIT_S),
            recovery_first_wait_s=first if first is not None else
            (rec.first_wait_s or DEFAULT_RECOVERY_FIRST_WAIT_S) * scale,
            recovery_next_wait_s=first if first is not None else
            (rec.next_wait_s or rec.first_wait_s or DEFAULT_RECOVERY_NEXT_WAIT_S) * scale,
            recovery_max_unchanged=rec.max_unchanged or DEFAULT_RECOVERY_MAX_UNCHANGED,
            max_upload_bytes=skill.max_upload_bytes,
            ignore_trailing=sse.ignore_trailing,
        )


def _pick(env: float | None, doc: float | None, default: float) -> float:
    if env is not None:
        return env
    return doc if doc is not None else default
