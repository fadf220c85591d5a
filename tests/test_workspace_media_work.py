"""The workspace's media work: one user's slow strip holds up nobody else, and a full pool says so."""
from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest

from engine.api.envelope import AppError
from engine.workspace import thumbs
from engine.workspace.media_work import MediaWork


def test_a_slow_strip_blocks_no_other_and_a_full_pool_answers_503(tmp_path: Path, monkeypatch) -> None:
    release, made = threading.Event(), []

    def slow_make(sources, out: Path) -> bytes:  # noqa: ANN001
        made.append(out)
        assert release.wait(30)
        return b"new strip"

    monkeypatch.setattr(thumbs, "_make", slow_make)
    cached = tmp_path / "b" / "thumbs-cached.jpg"
    cached.parent.mkdir()
    cached.write_bytes(b"cached strip")
    work = MediaWork("test-media", workers=1, waiting=1)

    async def requests() -> tuple:
        slow = tmp_path / "a" / "thumbs-slow.jpg"
        first = asyncio.ensure_future(thumbs.strip_bytes([], slow, work))
        second = asyncio.ensure_future(thumbs.strip_bytes([], slow, work))  # the same strip: made once
        await asyncio.sleep(0)
        got = await asyncio.wait_for(thumbs.strip_bytes([], cached, work), 5)  # not behind the slow one
        queued = asyncio.ensure_future(thumbs.strip_bytes([], tmp_path / "c" / "thumbs-other.jpg", work))
        await asyncio.sleep(0)
        with pytest.raises(AppError) as busy:
            await thumbs.strip_bytes([], tmp_path / "d" / "thumbs-more.jpg", work)
        release.set()
        return got, busy.value, await first, await second, await queued

    got, busy, first, second, queued = asyncio.run(requests())
    work.shutdown()
    assert got == b"cached strip" and first == second == queued == b"new strip"
    assert [p.parent.name for p in made] == ["a", "c"]
    answer = busy.response()
    body = answer.body.decode()
    assert answer.status_code == 503 and answer.headers["retry-after"] == "2" and "\n" not in body
    assert json.loads(body)["message"] == "the workspace is busy; try again in a moment"
