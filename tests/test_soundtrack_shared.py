"""The soundtrack future is shared by the page and the render: one giving up must not fail the other."""
from __future__ import annotations

import asyncio
import threading
from concurrent.futures import CancelledError, Future
from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.api.envelope import AppError
from engine.export import graph
from engine.workspace import sound
from engine.workspace.media_work import MediaWork


async def _user(request: object) -> str:
    return "u"


async def _session(user: str, session_id: str) -> dict:
    return {"state": {"draft": {"d": 6000}}}


def _request(pending: Future, media_work: MediaWork | None = None) -> SimpleNamespace:
    engine = SimpleNamespace(user=_user, session=_session,
                             renders=SimpleNamespace(soundtrack_of=lambda session: pending),
                             config=SimpleNamespace(data_dir=Path("/nowhere")), media_work=media_work)
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(engine=engine)), path_params={"session_id": "s"},
                           query_params={})


def test_a_page_that_stops_waiting_leaves_the_mix_to_the_render(monkeypatch) -> None:
    monkeypatch.setattr(sound, "WAIT_S", 0.05)
    pending: Future = Future()  # still queued behind another mix
    with pytest.raises(AppError) as refused:
        asyncio.run(sound._soundtrack(_request(pending)))
    assert refused.value.status == 503
    assert not pending.cancelled()  # a render waiting on the same mix still gets it
    pending.set_result(Path("mix.m4a"))
    assert pending.result() == Path("mix.m4a")


def test_a_render_whose_mix_was_dropped_fails_in_words(tmp_path: Path) -> None:
    def dropped() -> Path:
        raise CancelledError

    job = SimpleNamespace(soundtrack=dropped, cancel=threading.Event())
    with pytest.raises(graph.RenderError, match="could not build the soundtrack"):
        graph._soundtrack(job)


def test_a_soundtrack_tidied_away_meanwhile_is_a_worded_answer(tmp_path: Path) -> None:
    mixed: Future = Future()
    mixed.set_result(tmp_path / "gone.m4a")  # mixed, then removed before the page asked for it
    work = MediaWork("test-sound", workers=1, waiting=0)
    for route in (sound.soundtrack, sound.waveform):
        with pytest.raises(AppError) as answer:
            asyncio.run(route(_request(mixed, work)))
        assert answer.value.status == 503 and "try again" in answer.value.message, route
    work.shutdown()
