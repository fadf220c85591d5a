"""What the store's operations cost on each backend: the data dir's files and PostgreSQL.

A chat turn reads its session and changes it once or twice; a token lookup starts every
request. This times those on the embedded default (memory reads, fsynced JSON writes) and on
PostgreSQL (read-through, a row-locked transaction per change) — the price of letting several
engines share state (docs/scaling.md) — and what a request adds by calling the store off the
event loop (``Store.call``). PostgreSQL is the pgserver wheel's, on a unix socket
on this machine, so the figures hold no network round trip. The load average is printed beside.

    .venv/bin/python bench/store_backends.py [N]
"""
from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable

from engine.store import Store


def _per_op(label: str, n: int, op: Callable[[int], object]) -> str:
    start = time.perf_counter()
    for i in range(n):
        op(i)
    ms = (time.perf_counter() - start) / n * 1000
    return f"{label} {ms:.2f} ms"


def _off_loop(store: Store, n: int, token: str) -> str:
    """What a request pays: the same lookup through ``Store.call`` (the store's threads), awaited."""

    async def lookups() -> float:
        start = time.perf_counter()
        for _ in range(n):
            await store.call(store.user_for_token, token)
        return time.perf_counter() - start

    return f"token lookup off the loop {asyncio.run(lookups()) / n * 1000:.2f} ms"


def _measure(store: Store, n: int) -> list[str]:
    token, user, _ = store.issue_token("bench")
    sid = store.create_session(user, "bench", "en")["session_id"]
    return [
        _per_op("token lookup", n, lambda i: store.user_for_token(token)),
        _off_loop(store, n, token),
        _per_op("session read", n, lambda i: store.session(sid)),
        _per_op("session change", n, lambda i: store.update_session(sid, lambda s: s["messages"].append(i))),
        _per_op("render save", n, lambda i: store.save_render({"id": f"r{i % 10}", "session_id": sid,
                                                               "status": "processing", "progress": i})),
    ]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    root = Path(tempfile.mkdtemp(prefix="ai-music-bench-store-"))
    try:
        store = Store(root / "files")
        print(f"files       ({n} each): " + "; ".join(_measure(store, n)) + f"   load {os.getloadavg()[0]:.1f}")
        store.close()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver

            server = pgserver.get_server(root / "pg", cleanup_mode="delete")
        try:
            store = Store(root / "shared", database=server.get_uri())
            print(f"postgresql  ({n} each): " + "; ".join(_measure(store, n)) + f"   load {os.getloadavg()[0]:.1f}")
            store.close()
        finally:
            server.cleanup()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
