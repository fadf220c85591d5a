"""Refuse requests whose ``Host`` is not this engine's address: the defence against DNS rebinding.

A web page whose name the attacker re-points at 127.0.0.1 can make the browser send
requests to the engine on its fixed port — with the attacker's name in ``Host``. The
engine answers only to the names it is reached by on purpose: the loopback names, the
address it is bound to, and names the user adds (``ai-music serve --allow-host NAME``).
An IP literal cannot be rebound, so when bound to every interface (``0.0.0.0``/``::``)
any address literal is accepted too; names still have to be allowed.
"""
from __future__ import annotations

import ipaddress
import json
import re
from typing import Any, Awaitable, Callable, Iterable

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
WILDCARDS = ("0.0.0.0", "::", "")
NAME = re.compile(r"[a-z0-9.\-_]{1,253}")


def host_name(header: str) -> str | None:
    """The name in a ``Host`` header, lower-case, without port or IPv6 brackets (None: malformed)."""
    header = header.strip().lower()
    if header.startswith("["):
        end = header.find("]")
        rest = header[end + 1:]
        if end < 0 or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
        return header[1:end] or None
    name, _, port = header.partition(":")
    if (port and not port.isdigit()) or not NAME.fullmatch(name):
        return None
    return name.rstrip(".") or None


class HostCheck:
    """ASGI middleware: HTTP and WebSocket requests with an unknown ``Host`` get 421 and a JSON reason."""

    def __init__(self, app: ASGIApp, bound_host: str, allowed: Iterable[str] = ()) -> None:
        self.app = app
        self.names = {n.lower().strip("[]").rstrip(".") for n in (*LOOPBACK_NAMES, bound_host, *allowed)} - {""}
        self.any_address = bound_host.strip("[]") in WILDCARDS

    def allows(self, header: str | None) -> bool:
        name = host_name(header or "")
        if name is None:
            return False
        if name in self.names:
            return True
        if self.any_address:
            try:
                ipaddress.ip_address(name)
                return True
            except ValueError:
                return False
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"), None)
        if self.allows(header):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        name = host_name(header or "") or "(none)"
        body = json.dumps({"code": 421, "message": f"this engine does not answer to the name '{name}'; "
                           "reach it as 127.0.0.1 or localhost, or start it with --allow-host NAME"}).encode()
        await send({"type": "http.response.start", "status": 421,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
