"""§3.3 Credits — handled by the client, never forwarded to the backend."""
from __future__ import annotations

from dataclasses import dataclass

from skill.client import Credits
from skill.connection import Connection


@dataclass(frozen=True)
class CreditsResult:
    credits: Credits
    text: str


def credits(conn: Connection) -> CreditsResult:
    """The balance, with ``frozen`` explained (reserved for edits still running)."""
    balance = conn.call(conn.client.credits)
    if balance.unlimited:
        return CreditsResult(balance, "Credits: unlimited — this engine does not meter edits or exports.")
    text = f"Credits: {balance.available if balance.available is not None else '?'} available"
    if balance.frozen:
        text += f" ({balance.frozen} reserved for work in progress)"
    if balance.total is not None:
        text += f", {balance.total} in total"
    return CreditsResult(balance, text + ".")
