"""Reading the backend's answers: envelopes, app codes, Retry-After — and waiting before a retry.

The cloud's endpoints answer in several envelope variants (docs/protocol.md ★): ``{"code": 0,
"data": …}``, ``{"success": true, "data": …}``, bare objects, codes as numbers or strings.
Everything that interprets an answer lives here, so the client, the chat stream and the
download read them the same way.
"""
from __future__ import annotations

import email.utils
import math
import random
import time
from typing import Any

import httpx

from skill import errors, settings


MAX_RETRY_AFTER_S = 120.0  # as openai-python: a server's "come back in 28 hours" is not obeyed


def retry_after(value: str | None) -> float | None:
    """The wait a ``Retry-After`` asks for, at most 120 s; junk (``inf``, ``nan``, a bad date) is no hint."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:  # an HTTP date; a malformed one means "no hint", not a crash
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        seconds = parsed.timestamp() - time.time()
    if not math.isfinite(seconds):
        return None
    return min(MAX_RETRY_AFTER_S, max(0.0, seconds))


def app_code(value: Any) -> int | None:
    """An envelope's ``code`` as a number (some variants send "2001"); 0 and junk mean none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value or None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value) or None
    return None


def error_from_response(response: httpx.Response) -> errors.ApiError:
    """The :class:`ApiError` an HTTP error answer stands for (app code from the body, else the status)."""
    status = response.status_code
    retry = retry_after(response.headers.get("retry-after"))
    body: Any = None
    try:
        body = response.json()
    except ValueError:
        body = None
    code, message = status, f"HTTP {status}"
    if isinstance(body, dict):
        code = app_code(body.get("code")) or status
        message = str(body.get("message") or body.get("msg") or body.get("error") or message)
    return errors.api_error(code, message, http_status=status, retry_after=retry, body=body)


def unwrap(response: httpx.Response) -> Any:
    """The ``data`` of any envelope variant, or the matching :class:`ApiError`."""
    if response.status_code >= 400:
        raise error_from_response(response)
    try:
        body = response.json()
    except ValueError:
        raise errors.ProtocolError(f"the backend answered {response.request.url.path} with something "
                                   "that is not JSON") from None
    if not isinstance(body, dict):
        return body
    code = app_code(body.get("code"))
    if code:
        raise errors.api_error(code, str(body.get("message") or body.get("msg") or f"error {code}"),
                               http_status=response.status_code, body=body)
    if body.get("success") is False:
        raise errors.api_error(response.status_code or 500,
                               str(body.get("message") or body.get("error") or "request failed"),
                               http_status=response.status_code, body=body)
    if "data" in body and isinstance(body["data"], (dict, list)):
        return body["data"]
    return body


def backoff(attempt: int, retry_after: float | None) -> None:
    """Sleep before retry ``attempt``: the server's Retry-After, else exponential back-off with jitter."""
    delay = retry_after if retry_after is not None else min(
        settings.MAX_RETRY_DELAY_S, settings.INITIAL_RETRY_DELAY_S * 2 ** (attempt - 1))
    time.sleep(delay * (1 if retry_after is not None else random.uniform(0.75, 1.0)))
