"""Anonymous tokens (issue 13, medium 10): rate-limited per client id and per source, at most
``MAX_LIVE_TOKENS`` live per user, and issuing one writes one row, not every user."""
from __future__ import annotations

from pathlib import Path

import httpx

from engine.store import MAX_LIVE_TOKENS, Store
from engine.api.token_limits import PER_CLIENT, PER_SOURCE


def _token(engine, client_id: str) -> httpx.Response:  # noqa: ANN001
    return httpx.post(f"{engine.url}/api/auth/anonymous-token", headers={"X-Client-Id": client_id})


def test_one_client_asking_over_and_over_gets_429_with_retry_after(engine) -> None:
    burst = PER_CLIENT[0]
    codes = [_token(engine, "greedy").status_code for _ in range(burst + 2)]
    assert codes[:burst] == [200] * burst and codes[burst:] == [429, 429]
    r = _token(engine, "greedy")
    assert r.json()["code"] == 429 and 1 <= float(r.headers["Retry-After"]) <= 60
    assert _token(engine, "someone-else").status_code == 200   # others are not held up


def test_one_source_making_up_client_ids_is_limited_too(engine) -> None:
    import time

    burst, per_minute = PER_SOURCE
    began, granted = time.monotonic(), 0
    for n in range(burst * 3):
        code = _token(engine, f"made-up-{n}").status_code
        if code == 429:
            break
        granted += 1
    refilled = (time.monotonic() - began) * per_minute / 60  # the bucket refills while we ask
    assert code == 429 and burst <= granted <= burst + refilled + 1


def test_a_user_keeps_a_bounded_number_of_live_tokens_newest_first(tmp_path: Path) -> None:
    store = Store(tmp_path / "engine")
    tokens = [store.issue_token("one-client")[0] for _ in range(MAX_LIVE_TOKENS + 10)]
    user = store.user_for_token(tokens[-1])
    assert user is not None and len(user.tokens) == MAX_LIVE_TOKENS
    assert store.user_for_token(tokens[0]) is None and store.user_for_token(tokens[-MAX_LIVE_TOKENS]) == user


def test_issuing_a_token_writes_one_row_however_many_users_there_are(tmp_path: Path) -> None:
    store = Store(tmp_path / "engine")
    for n in range(2000):
        store.issue_token(f"client-{n}")
    before = store.db.users.conn.total_changes
    store.issue_token("client-7")
    assert store.db.users.conn.total_changes - before == 1
    assert not (tmp_path / "engine" / "users.json").exists()
    again = Store(tmp_path / "engine")                       # and it is all there after a restart
    assert len(again.db.load("users")) == 2000
