"""Where the store's rows live: one interface, two backends (issue 18, docs/scaling.md).

The store (``engine.store``) keeps users, claim links, sessions and render records as JSON
rows in four tables. By default they stay in the data dir (``engine.state_local``: SQLite
for users and claims, one JSON file per session and render), read from memory by the one
engine that owns them. When several API processes serve one deployment they share a
PostgreSQL database instead (``engine.state_pg``, ``ai-music serve --database
postgresql://…``): that backend is ``shared``, so the store reads through it and changes a
row only inside a transaction holding that row's lock. psycopg is imported only then.
"""
from __future__ import annotations

from typing import Any, ContextManager, Iterable, Protocol

TABLES = ("users", "claims", "sessions", "renders")
Row = dict[str, Any]


class DBError(Exception):
    """A read or write failed; ``kind`` is "full", "read-only", "missing" (no driver installed) or "other"
    (the store words it for the user)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


class StateDB(Protocol):
    """What every backend does: whole tables in, rows out."""

    shared: bool  # other processes write the same rows: read through, change under a row lock

    def load(self, table: str) -> dict[str, Row]: ...
    def put(self, table: str, rows: Iterable[tuple[str, Row]]) -> None: ...
    def delete(self, table: str, keys: Iterable[str]) -> None: ...
    def close(self) -> None: ...


class SharedStateDB(StateDB, Protocol):
    """What a backend several engines share adds: single rows, and changes that don't cross."""

    def get(self, table: str, key: str, *, for_update: bool = False) -> Row | None: ...
    def transaction(self) -> ContextManager[None]: ...
    def user_with_token(self, digest: str) -> Row | None: ...
    def user_with_client(self, client_key: str) -> Row | None: ...
    def hold(self, name: str) -> None: ...
    def lease(self, name: str) -> bool: ...
    def release(self, name: str) -> None: ...


def is_database_url(text: str) -> bool:
    return text.startswith(("postgresql://", "postgres://"))
