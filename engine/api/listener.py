"""The engine's listening socket, made so that what it answers is sent at once.

asyncio turns Nagle's algorithm off (``TCP_NODELAY``) only on sockets that say they are TCP
(``proto == IPPROTO_TCP``, ``asyncio.base_events._set_nodelay``); a socket made as
``socket(AF_INET, SOCK_STREAM)`` says 0, and so did every connection accepted from it. uvicorn
writes a response's head and body separately, and with Nagle on the body waited until the client
acknowledged the head — which a client delays by 40 ms: every request to the engine took 44 ms on
loopback, a dozen of them in each ``ai-music run``."""
from __future__ import annotations

import socket

BACKLOG = 2048  # uvicorn's own (asyncio listens again with it when the server starts)


def shown_host(host: str) -> str:
    """``host`` as a URL writes it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on ``host``:``port`` (0: any free port); OSError if it cannot. It listens at once:
    with SO_REUSEADDR Linux lets two sockets bind one port until one listens, so a port taken by another engine
    starting at the same moment is found here, not later inside the server."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # Linux hands it on to accepted connections
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock
