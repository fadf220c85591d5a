"""What the server says, made safe to show: no terminal control sequences, no tokens.

A hostile or broken backend can put escape sequences in a reply (rewrite the screen, set
the window title, hide text) or echo the bearer token back; both used to be printed raw.
Everything shown passes :func:`shown`: C0 and C1 control characters go except newline and
tab, and every token this process knows (``NEMO_TOKEN``, any it was issued, anything
shaped like the protocol's tokens) is replaced by a redaction mark.
"""
from __future__ import annotations

import os
import re
import threading

_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_TOKEN_SHAPED = re.compile(r"\b(nmv_(?:usr|clm)_|clm_)[A-Za-z0-9_\-]{8,}")
REDACTED = "[token hidden]"
_known: set[str] = set()
_lock = threading.Lock()


def remember(token: str | None) -> None:
    """A token this process holds: never shown, whatever echoes it."""
    if token and len(token) >= 8:
        with _lock:
            _known.add(token)


def link_line(label: str, url: str) -> str:
    """``label url`` for a link this client made for the person (a project's claim link).

    Only the client's own links come here, never server text: the URL is shown whole (a
    claim link is the protocol's way to hand a project to a person, docs/protocol.md "claim"),
    only control characters go; everything else still passes :func:`shown`."""
    return f"{shown(label)} {_CONTROLS.sub('', url)}"


def shown(text: str) -> str:
    """``text`` without control characters (but newlines and tabs) and without any known token."""
    text = _CONTROLS.sub("", text)
    env = os.environ.get("NEMO_TOKEN", "").strip()
    with _lock:
        known = sorted(_known | ({env} if len(env) >= 8 else set()), key=len, reverse=True)
    for token in known:
        text = text.replace(token, REDACTED)
    return _TOKEN_SHAPED.sub(REDACTED, text)
