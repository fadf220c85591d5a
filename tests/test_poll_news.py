"""A poll learns of a render's next phase when it happens, not an interval later (issue 16: the fast path's
gap between the mux finishing and the download starting)."""
from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from engine.export.changes import RenderChanges
from skill.actions import export
from skill.client import RenderStatus
from support import Api


def test_a_waiting_poll_wakes_at_the_change_and_not_for_other_renders() -> None:
    changes = RenderChanges()

    async def scenario() -> tuple[bool, bool, bool]:
        since = changes.now()
        other = threading.Timer(0.05, changes.changed, ("render_b",))
        mine = threading.Timer(0.2, changes.changed, ("render_a",))
        other.start()
        mine.start()
        woke = await changes.wait("render_a", since, 60.0)  # a whole minute unless the change wakes it
        already = await changes.wait("render_a", since, 60.0)  # changed after `since`: answered at once
        quiet = await changes.wait("render_a", changes.now(), 0.05)  # nothing new: the wait runs out
        return woke, already, quiet

    assert asyncio.run(asyncio.wait_for(scenario(), 30.0)) == (True, True, False)
    assert changes._waiters == {}  # nobody left registered


class _Conn:
    """What ``export._poll`` uses of a connection: settings, ``call`` and the client's ``poll_render``."""

    def __init__(self, answers: list[RenderStatus], interval: float, local: bool = True) -> None:
        self.answers = answers
        self.settings = SimpleNamespace(poll_interval_s=interval)
        self.backend = SimpleNamespace(local=local)
        self.client = SimpleNamespace(poll_render=lambda render_id: self.answers.pop(0))

    def call(self, fn: Any) -> Any:  # noqa: ANN401 - whatever the call returns
        return fn()


def test_the_client_asks_again_at_once_after_news_of_a_phase(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(export.time, "sleep", sleeps.append)
    answers = [RenderStatus("r", "pending", 0, None, None),
               RenderStatus("r", "processing", 5, None, None, "mixing"),
               RenderStatus("r", "processing", 40, None, None, "encoding video"),
               RenderStatus("r", "processing", 60, None, None, "encoding video"),
               RenderStatus("r", "completed", 100, "http://x/out.mp4", None)]
    out = SimpleNamespace(progress=lambda *args: None)
    status = export._poll(_Conn(answers, interval=30.0), out, "r", budget_s=600)
    assert status.status == "completed"
    # one wait only: after the unchanged phase (the rest of the interval); news of a phase is followed at once
    assert len(sleeps) == 1 and 29.0 < sleeps[0] <= 30.0


def test_a_cloud_is_polled_at_the_documents_pace_whatever_it_says(monkeypatch: pytest.MonkeyPatch) -> None:
    """The document says every 30 s, at most 10 polls: news of a phase from a backend not in this process
    (which does not hold polls) is no reason to ask again at once."""
    sleeps: list[float] = []
    monkeypatch.setattr(export.time, "sleep", sleeps.append)
    answers = [RenderStatus("r", "pending", 0, None, None),
               RenderStatus("r", "processing", 5, None, None, "mixing"),
               RenderStatus("r", "completed", 100, "https://cdn/out.mp4", None)]
    status = export._poll(_Conn(answers, interval=30.0, local=False), SimpleNamespace(progress=lambda *a: None),
                          "r", budget_s=600)
    assert status.status == "completed" and len(sleeps) == 2 and all(29.0 < s <= 30.0 for s in sleeps)


@pytest.mark.slow
def test_an_engine_answers_a_poll_of_a_pending_render_when_it_starts(engine, api: Api, clip,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.api.renders as renders

    api.upload(clip)
    api.chat("add calm piano music")
    monkeypatch.setattr(renders, "HOLD_S", 60.0)  # the answer is the change's, never the hold's end
    api.faults(render_delay_s=0.5)  # pending for half a second before it starts
    draft = api.state()["draft"]
    api.post("/api/render/proxy/lambda", json={"id": "render_news", "sessionId": api.session_id, "draft": draft})
    first = api.get("/api/render/proxy/lambda/render_news").json()["data"]
    assert first["status"] in ("processing", "completed"), first  # the old engine said "pending" at once
    done = api.wait("render_news", ("completed", "failed"))
    assert done["status"] == "completed", done
