"""Errors about uploads name them as the user did, from one map shared by every route that fails on one."""
from __future__ import annotations

from engine.user_text import upload_names, user_facing


def test_an_upload_is_named_as_the_user_named_it_or_as_the_upload() -> None:
    state = {"video_infos": [{"stored_as": "3f2a.mp4", "filename": "holiday.mp4"}, {"stored_as": "9bc1.mov"},
                             {"filename": "never stored.mp4"}]}
    assert upload_names(state) == {"3f2a.mp4": "holiday.mp4", "9bc1.mov": "the upload"}
    said = user_facing("/data/sessions/s/media/9bc1.mov: Invalid data", "/data", upload_names(state))
    assert said == "the upload: Invalid data"
