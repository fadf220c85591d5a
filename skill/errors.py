"""The client's exceptions, and what the skill says to do about each.

::

    NemoError                      anything the backend conversation can raise
    ├── TransportError             network failure, timeout (retried on idempotent calls)
    ├── ProtocolError              an answer we cannot read (not JSON, wrong shape)
    ├── ApiError                   the backend said no: .code (app code or HTTP status)
    │   ├── AuthError              1001  token invalid/expired → new anonymous token, retry once
    │   ├── SessionNotFound        1002  → new session, retry once
    │   ├── OutOfCredits           2001  → registration link (anonymous) / top up (registered)
    │   ├── UnsupportedFile        4001  → accepted formats (checked before upload too)
    │   ├── FileTooLarge           4002  → compress or trim (checked before upload too)
    │   ├── MissingClientId        400 on the token call → regenerate the client id, retry
    │   ├── BadRequest             400 otherwise (the request itself was refused)
    │   ├── PlanRequired           402   → the plan blocks export — not a credits problem
    │   ├── RateLimited            429   → wait Retry-After (else the skill's 30 s), retry once
    │   └── ServerError            5xx   → bounded retries with back-off on idempotent calls
    ├── StreamTimeout              only heartbeats for longer than the skill allows
    ├── StreamDropped              the SSE connection ended early; recover through state
    ├── RenderFailed               the render failed twice (new id on the first failure)
    ├── NothingToExport            the draft has no tracks with segments yet
    └── BadInput                   a local file or URL we refuse before sending anything

    KeyboardInterrupt
    └── ExportInterrupted          Ctrl-C during a render or download: it is kept; say how to resume

Where each recovery is carried out: ``skill.connection`` (1001, 1002, 429, 400 on the
token call), ``skill.client`` (5xx/transport retries on idempotent calls),
``skill.actions.upload`` (4001/4002 before sending), ``skill.actions.chat`` (dropped and
silent streams), ``skill.actions.export`` (render retry, resumable downloads).

Every error carries ``user_message``: one line for a person, worded from the document's
error table where it says something (see :func:`guidance`). Tokens never appear in it.
"""
from __future__ import annotations

from typing import Any

from runtime.document.model import ErrorKind, Skill


class NemoError(Exception):
    code: int | None = None

    def __init__(self, message: str, *, user_message: str | None = None) -> None:
        super().__init__(message)
        self.user_message = user_message or message


class TransportError(NemoError):
    """The request did not complete (connection refused, reset, timeout)."""


class ProtocolError(NemoError):
    """The backend answered something we cannot read."""


class ApiError(NemoError):
    def __init__(self, code: int, message: str, *, http_status: int | None = None,
                 retry_after: float | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status
        self.retry_after = retry_after
        self.body = body


class AuthError(ApiError):
    pass


class SessionNotFound(ApiError):
    pass


class OutOfCredits(ApiError):
    pass


class UnsupportedFile(ApiError):
    pass


class FileTooLarge(ApiError):
    pass


class MissingClientId(ApiError):
    pass


class BadRequest(ApiError):
    pass


class PlanRequired(ApiError):
    pass


class RateLimited(ApiError):
    pass


class ServerError(ApiError):
    pass


class StreamTimeout(NemoError):
    pass


class StreamDropped(NemoError):
    pass


class RenderFailed(NemoError):
    pass


class NothingToExport(NemoError):
    pass


class LocalWriteError(NemoError):
    """The result could not be saved on this machine (disk full, no permission)."""


class ExportInterrupted(KeyboardInterrupt):
    """Ctrl-C while an export waited: the render is kept (``renders.json`` and the backend),
    so the next export of the same project picks it up; ``path`` is where it will be written."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


class BadInput(NemoError):
    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


_BY_CODE: dict[int, type[ApiError]] = {
    1001: AuthError, 1002: SessionNotFound, 2001: OutOfCredits, 4001: UnsupportedFile, 4002: FileTooLarge,
    400: BadRequest, 402: PlanRequired, 429: RateLimited,
}


def api_error(code: int, message: str, *, http_status: int | None = None, retry_after: float | None = None,
              body: Any = None) -> ApiError:
    """The exception class for an app code or HTTP status."""
    cls = _BY_CODE.get(code)
    if cls is None:
        cls = ServerError if (http_status or code) >= 500 else ApiError
    return cls(code, message, http_status=http_status, retry_after=retry_after, body=body)


def _data(error: ApiError) -> dict[str, Any]:
    """The ``data`` object of the error's envelope (empty when the answer had none)."""
    data = error.body.get("data") if isinstance(error.body, dict) else None
    return data if isinstance(data, dict) else {}


def _backend_registration(error: ApiError) -> str | None:
    """The registration page a backend names in its 2001 answer (an engine served with credits does)."""
    url = _data(error).get("register_url")
    return url if isinstance(url, str) and url.startswith(("http://", "https://")) else None


def _format_accepted(error: ApiError) -> bool:
    """The backend took the file's format and refused the file itself (the engine says so in ``data``)."""
    return _data(error).get("format_accepted") is True


def guidance(error: ApiError, skill: Skill, *, anonymous: bool, user_id: str | None, web_url: str,
             embedded: bool = False) -> str:
    """What to tell the user, from the document's error table (falls back to docs/protocol.md).

    ``embedded``: the backend is an engine inside this process. It stops with the command,
    so a link to its own pages would be dead by the time someone opens it; links then go
    to ``web_url`` (the document's site), never to the engine's port."""
    rule = skill.error_rule(error.code or 0)
    kind = rule.kind if rule else None
    quoted = rule.message if rule and rule.message else None
    if isinstance(error, OutOfCredits) or kind is ErrorKind.NO_CREDITS:
        if anonymous and user_id:
            link = None if embedded else _backend_registration(error)
            if link is None:
                template = skill.links.registration or "{web}/register?bind={user_id}"
                link = template.replace("{web}", web_url).replace("{user_id}", user_id)
            return f"Your free credits are used up. Register to get more — your project is kept: {link}"
        return quoted or f"Your credits are used up. Top up at {skill.links.top_up or web_url} to keep editing."
    if isinstance(error, PlanRequired) or kind is ErrorKind.PLAN:
        return ("Export is blocked by your plan, not by credits (you still have them). "
                + (quoted or f"Register at {web_url} to unlock export."))
    if isinstance(error, UnsupportedFile) or kind is ErrorKind.BAD_FORMAT:
        if _format_accepted(error):  # a damaged file of a format the backend takes: the list would mislead
            return str(error)
        formats = ", ".join(skill.formats.all) or "the documented formats"
        return f"{error} — accepted formats: {formats}."
    if isinstance(error, FileTooLarge) or kind is ErrorKind.TOO_LARGE:
        return f"{error} — compress the video or trim it, then send it again."
    if isinstance(error, RateLimited) or kind is ErrorKind.RATE_LIMIT:
        return quoted or "The service is busy (rate limited). Please try again in a little while."
    if isinstance(error, AuthError):
        return "The access token was rejected (expired or revoked)."
    if isinstance(error, SessionNotFound):
        return "The project session was not found on the backend."
    return quoted or str(error)
