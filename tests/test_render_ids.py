"""Render ids are the client's choice, so each user has their own (issue 13, low): the same id
from two users is two renders, and nothing one user is told depends on another's ids."""
from __future__ import annotations

import json
from pathlib import Path


from support import Api


def _title_draft(api: Api, text: str) -> dict:
    api.chat(f'add a title "{text}" for 1 second')
    draft = api.state()["draft"]
    draft["m"] = {**draft["m"], "width": 320, "height": 180}  # small: the ids are under test, not the encoder
    return draft


def test_two_users_can_use_the_same_render_id_and_neither_learns_of_the_other(engine, silent_clip: Path) -> None:
    alice, bob = Api(engine.url).login("alice"), Api(engine.url).login("bob")
    alice.upload(silent_clip)
    bob.upload(silent_clip)
    alices = alice.render("render_1", _title_draft(alice, "Alice"))
    assert alices["status"] == "completed", alices
    bob_draft = _title_draft(bob, "Bob")
    assert bob.get("/api/render/proxy/lambda/render_1").status_code == 404  # Alice's is not Bob's to see
    bobs = bob.render("render_1", bob_draft)                            # was 400 "render id already used"
    assert bobs["status"] == "completed" and bobs["id"] == "render_1", bobs
    assert bobs["outputUrl"].endswith("/api/render/proxy/render_1/download")
    mine = alice.get("/api/render/proxy/render_1/download").content
    theirs = bob.get("/api/render/proxy/render_1/download").content
    assert mine and theirs and mine != theirs                           # each downloads their own video
    assert alice.post("/api/render/proxy/lambda", json={"id": "render_1", "sessionId": alice.session_id,
                                                        "draft": _title_draft(alice, "Again")}).json()["success"]


def test_a_render_saved_before_ids_were_scoped_is_still_its_owners(tmp_path: Path) -> None:
    from engine.store import Store

    (tmp_path / "renders").mkdir(parents=True)
    older = {"id": "render_old", "user_id": "anon_1", "session_id": "1", "status": "completed"}
    (tmp_path / "renders" / "render_old.json").write_text(json.dumps(older))
    store = Store(tmp_path)
    assert store.render_of("anon_1", "render_old") == older
    assert store.render_of("anon_2", "render_old") is None
