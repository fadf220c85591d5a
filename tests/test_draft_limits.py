"""Untrusted render drafts (issue 13, medium 4): a draft is held to its session before anything runs.

A 1-second 8000×8000 draft took 52 s of both cores and 3.3 GB; 10-hour drafts asked for
gigabytes. Each is refused with 400 and one line saying what is wrong, and no render exists."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from support import Api


def _submit(api: Api, render_id: str, draft: object):  # noqa: ANN202
    return api.post("/api/render/proxy/lambda", json={"id": render_id, "sessionId": api.session_id, "draft": draft})


def _huge_canvas(d: dict) -> None:
    d["m"].update(width=8000, height=8000)
    d["d"] = 1000
    for t in d["t"]:
        for s in t["sg"]:
            s["st"], s["d"] = 0, 1000


def _ten_hours(d: dict) -> None:
    d["d"] = 10 * 3600 * 1000
    d["t"][0]["sg"][0]["d"] = d["d"]


def _segment_past_the_end(d: dict) -> None:
    d["t"][0]["sg"][0]["st"] = d["d"] + 5000


def _negative_start(d: dict) -> None:
    d["t"][0]["sg"][0]["st"] = -3000


def _length_as_text(d: dict) -> None:
    d["d"] = "36000000"


@pytest.mark.parametrize("spoil, words", [(_huge_canvas, "canvas 8000x8000"), (_ten_hours, "lasts 36000 s"),
                                          (_segment_past_the_end, "outside"), (_negative_start, "outside"),
                                          (_length_as_text, "milliseconds")])
def test_a_draft_the_session_cannot_justify_is_refused_in_one_line(api: Api, clip: Path, spoil, words: str) -> None:
    api.upload(clip)
    api.chat('add a title "Fine"')
    draft = copy.deepcopy(api.state()["draft"])
    spoil(draft)
    r = _submit(api, "render_bad", draft)
    body = r.json()
    assert r.status_code == 400 and body["success"] is False and words in body["message"], body
    assert "\n" not in body["message"] and "Traceback" not in body["message"]
    assert api.get("/api/render/proxy/lambda/render_bad").status_code == 404  # nothing was queued


@pytest.mark.parametrize("tracks", [5, None, "x", [1, 2]])
def test_a_malformed_track_list_is_a_400_not_a_500(api: Api, tracks: object) -> None:
    r = _submit(api, "render_odd", {"d": 1000, "m": {"width": 1920, "height": 1080}, "t": tracks})
    assert r.status_code == 400 and r.json()["success"] is False


def test_an_infinite_length_is_refused(api: Api) -> None:
    raw = ('{"id": "render_inf", "sessionId": "%s", "draft": {"d": 1e999, "m": {}, '
           '"t": [{"tt": 7, "sg": [{"st": 0, "d": 1e999}]}]}}' % api.session_id)
    r = api.post("/api/render/proxy/lambda", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "milliseconds" in r.json()["message"]


def test_without_media_a_draft_may_last_the_text_only_limit_and_no_longer(api: Api) -> None:
    from engine.api.draft_limits import TEXT_ONLY_S

    def music_only(ms: int) -> dict:
        return {"d": ms, "m": {"width": 1920, "height": 1080, "visualizer": True},
                "t": [{"id": "bgm", "tt": 1, "m": {"kind": "bgm"}, "sg": [{"st": 0, "d": ms, "src": "music:none"}]}]}

    r = _submit(api, "render_long", music_only(int(TEXT_ONLY_S * 1000) + 60_000))
    assert r.status_code == 400 and "without media" in r.json()["message"]
    assert _submit(api, "render_ok", music_only(5000)).json()["success"] is True


def test_the_engine_s_own_draft_still_renders(api: Api, clip: Path) -> None:
    api.upload(clip)
    api.chat('add a title "Fine"')
    assert api.render("render_good")["status"] == "completed"
