"""Security headers for what the engine serves: pages that run nothing, frame nowhere, leak no link.

The claim page carries its claim token in its URL and shows a user's video; without
headers it could be framed by another site (clickjacking), its link sent on as a Referer,
and a browser might sniff a download into something it runs. Every response gets
``nosniff``; HTML pages without a policy of their own (the workspace sets a stricter
one for its script) also get a CSP allowing only their own inline style and the
engine's own media, ``X-Frame-Options: DENY`` and ``Referrer-Policy: no-referrer``.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable

PAGE_CSP = ("default-src 'none'; style-src 'unsafe-inline'; media-src 'self'; img-src 'self' data:; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
ALWAYS = [(b"x-content-type-options", b"nosniff")]
PAGES = [(b"content-security-policy", PAGE_CSP.encode()), (b"x-frame-options", b"DENY"),
         (b"referrer-policy", b"no-referrer")]


class PageHeaders:
    """ASGI middleware adding :data:`ALWAYS` to every HTTP response and :data:`PAGES` to HTML ones."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                html = any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers)
                present = {k.lower() for k, _ in headers}  # a page with its own policy (the workspace) keeps it
                extra = [(k, v) for k, v in ALWAYS + (PAGES if html else []) if k not in present]
                message = {**message, "headers": headers + extra}
            await send(message)

        await self.app(scope, receive, with_headers)
