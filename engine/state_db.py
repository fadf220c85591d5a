"""Where the store's rows live: one interface, two backends (issue 18, docs/scaling.md).

The store (``engine.store``) keeps users, claim links, sessions and render records as JSON
rows in four tables, and is written once against :class:`StateDB`. By default the rows stay
in the data dir (``engine.state_local``: SQLite for users and claims, one JSON file per
session and render), read from memory by the one engine that owns them. When several API
processes serve one deployment they share a PostgreSQL database instead (``engine.state_pg``,
``ai-music serve --database postgresql://…``): reads go to the database, and a change runs in
a transaction holding its row's lock. psycopg is imported only then.
"""

from __future__ import annotations

from typing import Any, Callable, ContextManager, Iterable, Protocol

TABLES = ("users", "claims", "sessions", "renders")
Row = dict[str, Any]


class DBError(Exception):
    """A read or write failed; ``kind`` is "full", "read-only", "missing" (no driver installed) or "other"
    (the store words it for the user)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


class StateDB(Protocol):
    """What the store asks of a backend. Rows returned are the caller's to copy, never to change."""

    shared: bool  # other engines write the same rows (what this one has not seen may exist)

    def load(self, table: str) -> dict[str, Row]: ...
    def get(self, table: str, key: str, *, for_update: bool = False) -> Row | None: ...
    def put(self, table: str, rows: Iterable[tuple[str, Row]]) -> None: ...

    def remember(self, table: str, rows: Iterable[tuple[str, Row]]) -> None:
        """Answer with ``rows`` from now on though writing them failed (the books stay right in
        memory; the disk catches up at the next write). A shared backend cannot: others read the database."""

    def delete(self, table: str, keys: Iterable[str]) -> None: ...
    def view(self, table: str) -> dict[str, Row]:
        """The rows as this process last read or wrote them, asking nobody (cheap: health pages)."""

    def user_with_token(self, digest: str) -> Row | None: ...
    def user_with_client(self, client_key: str) -> Row | None: ...

    def transaction(self) -> ContextManager[None]:
        """Changes inside are one transaction; ``get(for_update=True)`` locks a row to its end."""

    def hold(self, name: str) -> None:
        """Inside :meth:`transaction`: wait until no other engine's transaction holds ``name``, then hold it
        (for a row that may not exist yet, so no row lock can guard it)."""

    def lease(self, name: str) -> bool:
        """Hold ``name`` while this engine lives (False: another live engine holds it)."""

    def release(self, name: str) -> None: ...

    def watch(self, lapsed: Callable[[list[str]], Any]) -> None:
        """Call ``lapsed(names)`` when leases this engine held could not be renewed in time (the database
        away): it holds them no more, and must stop what it runs under them."""

    def close(self) -> None: ...


def is_database_url(text: str) -> bool:
    return text.startswith(("postgresql://", "postgres://"))
