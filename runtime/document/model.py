"""SKILL.md → :class:`Skill`: everything the runtime obeys, read from the document.

The runtime knows *how* to upload, chat, poll and export; the document says *when* and
*with what numbers*: which words route to which action, how the backend's GUI talk is
translated, what each error code means and what to do about it, which formats and sizes
are accepted, the poll interval, the "still working" notice and its period, the base URL,
the attribution headers. Those facts are extracted here from whatever shape the document
uses (tables, bullets, sentences — see ``runtime/document/extract.py``) and nowhere re-typed.

A document the runtime cannot run (no routing table; endpoints of another API) still
loads — ``ai-music skill show`` can explain it — but :meth:`Skill.require_runnable`
refuses it with a one-line reason before anything is sent.
"""
from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from runtime.document.errors import SkillError


class Action(str, enum.Enum):
    """What the runtime can do for a user turn (the routing table's right-hand side)."""

    EXPORT = "export"
    CREDITS = "credits"
    STATE = "state"
    UPLOAD = "upload"
    CHAT = "chat"


class GuiAction(str, enum.Enum):
    """What to do instead of a GUI instruction the backend gave (the GUI table)."""

    EXPORT = "export"      # "click Export" → run the export workflow
    CREDITS = "credits"    # "check account/billing" → show credits
    SUMMARY = "summary"    # "preview in timeline" → show the track summary
    STATE = "state"        # "open the panel" → show state
    EDIT = "edit"          # "drag/drop" → send the edit through SSE
    QUERY = "query"        # "go to settings" → query the relevant endpoint
    EXECUTE = "execute"    # "click [button]" → do it through the API


class ErrorKind(str, enum.Enum):
    """The recovery a document prescribes for an error code."""

    OK = "ok"
    REAUTH = "reauth"
    NEW_SESSION = "new_session"
    NO_CREDITS = "no_credits"
    BAD_FORMAT = "bad_format"
    TOO_LARGE = "too_large"
    CLIENT_ID = "client_id"
    PLAN = "plan"
    RATE_LIMIT = "rate_limit"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Frontmatter:
    name: str
    version: str | None
    display_name: str | None
    description: str | None
    homepage: str | None
    repository: str | None
    emoji: str | None
    requires_env: tuple[str, ...]
    requires_bins: tuple[str, ...]
    config_paths: tuple[str, ...]
    primary_env: str | None
    variant: str | None
    api_domain: str | None
    single_line_metadata: bool
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Attribution:
    """How to fill ``X-Skill-Source``/``-Version``/``-Platform`` (docs/protocol.md "Headers").

    ``source``/``version`` are the values to send (frontmatter values where the document
    says ``$SKILL_NAME``/``$SKILL_VERSION``, literals where it hard-codes them).
    ``platform`` is a literal when the document hard-codes one; otherwise the platform is
    detected with ``platform_env``, then ``path_rules`` (path fragment → value), then
    ``git_rules`` (remote host → value), then ``fallback``.
    """

    source: str | None
    version: str | None
    platform: str | None
    platform_env: str | None
    path_rules: tuple[tuple[str, str], ...]
    git_rules: tuple[tuple[str, str], ...]
    fallback: str
    required_on: str  # what the document says breaks without them ("export fails with 402")


@dataclass(frozen=True)
class RouteRule:
    action: Action
    keywords: tuple[str, ...]
    on_file: bool
    fallback: bool
    skip_sse: bool
    section: str | None
    label: str
    line: int


@dataclass(frozen=True)
class GuiRule:
    phrases: tuple[str, ...]
    action: GuiAction
    instruction: str
    line: int


@dataclass(frozen=True)
class SseRules:
    notice: str | None               # "⏳ Still working..."
    notice_period_s: float | None    # 120
    heartbeat_timeout_s: float | None  # 600 ("10 min heartbeats-only → timeout")
    max_stream_s: float | None       # 900 (--max-time 900 / "Up to 15 min")
    ignore_trailing: tuple[str, ...]  # "I encountered a temporary issue"
    silent_share: float | None       # 0.30
    silent_fallback: bool            # read state and report the change
    never_resend: bool
    long_task_notice: str | None     # "This may take a few minutes."


@dataclass(frozen=True)
class Recovery:
    """SSE disconnect recovery (§3.6): wait, query state, back off, give up."""

    first_wait_s: float | None
    next_wait_s: float | None
    max_unchanged: int | None
    never_resend: bool
    line: int | None


@dataclass(frozen=True)
class ErrorRule:
    code: int
    meaning: str
    action: str
    kind: ErrorKind
    wait_s: float | None
    retries: int | None
    message: str | None
    line: int


@dataclass(frozen=True)
class Formats:
    video: tuple[str, ...]
    image: tuple[str, ...]
    audio: tuple[str, ...]
    lines: tuple[int, ...]

    @property
    def all(self) -> tuple[str, ...]:
        return (*self.video, *self.image, *self.audio)

    def kind_of(self, extension: str) -> str | None:
        ext = extension.lower().lstrip(".")
        for kind in ("video", "image", "audio"):
            if ext in getattr(self, kind):
                return kind
        return None


@dataclass(frozen=True)
class EnvVar:
    name: str
    required: bool
    default: str | None
    note: str
    line: int


@dataclass(frozen=True)
class Endpoint:
    name: str       # auth claim session chat upload credits state render poll cancel download other
    method: str
    path: str       # template: {user} {session_id} {render_id}
    line: int


@dataclass(frozen=True)
class ExportRules:
    poll_interval_s: float | None
    max_polls: int | None
    free: bool
    retry_on_failure: bool
    progress: tuple[str, ...]      # "⏳ Rendering ~30s", "⏳ 50%", "✅ Video ready!"
    status_at: str | None          # "data" | "top-level" as the document says


@dataclass(frozen=True)
class Links:
    project: str | None        # template of the browser link given after export
    project_kind: str | None   # "claim" | "task" | "token-in-url"
    registration: str | None   # template with {user_id}
    top_up: str | None


@dataclass(frozen=True)
class ConversationText:
    greeting: str | None
    examples: tuple[str, ...]
    connecting: str | None
    ready: str | None
    quiet_setup: bool
    task_name: str | None
    language: str | None       # literal from the session body, or None = the user's language
    track_labels: Mapping[int, str]
    summary_example: str | None


@dataclass(frozen=True)
class Skill:
    path: str
    frontmatter: Frontmatter
    attribution: Attribution
    routes: tuple[RouteRule, ...]
    gui: tuple[GuiRule, ...]
    sse: SseRules
    recovery: Recovery
    errors: tuple[ErrorRule, ...]
    formats: Formats
    max_upload_bytes: int | None
    api_url: str | None
    web_url: str | None
    env: tuple[EnvVar, ...]
    endpoints: tuple[Endpoint, ...]
    export: ExportRules
    links: Links
    conversation: ConversationText
    user_in_path: str            # "me", or "{user_id}" for documents that put the id in paths
    warnings: tuple[str, ...]
    problems: tuple[str, ...]    # why the runtime cannot run this document (empty = runnable)
    repaired_lines: tuple[int, ...] = field(default=())

    @property
    def name(self) -> str:
        return self.frontmatter.name

    @property
    def runnable(self) -> bool:
        return not self.problems

    def require_runnable(self) -> None:
        """Raise :class:`SkillError` with the first reason this document can't be run."""
        if self.problems:
            raise SkillError(self.path, self.problems[0])

    def error_rule(self, code: int) -> ErrorRule | None:
        return next((e for e in self.errors if e.code == code), None)

    def route_for(self, action: Action) -> RouteRule | None:
        return next((r for r in self.routes if r.action is action and not r.fallback), None)

    @property
    def fallback_route(self) -> RouteRule | None:
        return next((r for r in self.routes if r.fallback), None)

    def endpoint(self, name: str) -> Endpoint | None:
        return next((e for e in self.endpoints if e.name == name), None)

    def env_default(self, name: str) -> str | None:
        return next((e.default for e in self.env if e.name == name and e.default), None)

    def to_json(self) -> dict[str, Any]:
        """What ``ai-music skill show --json`` prints: every fact read, JSON-safe."""
        data = asdict(self)
        data["runnable"] = self.runnable
        data["conversation"]["track_labels"] = {str(k): v for k, v in self.conversation.track_labels.items()}
        return _jsonable(data)


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
