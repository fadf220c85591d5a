"""The edits the engine knows, by name — the names the cloud backend's tools use.

One enum for the four places an edit is named: the director plans it, the editor applies
it (``engine.chat.edits.HANDLERS``), the replies word it (``engine.chat.replies.WORDING``),
and the turn meters it (``engine.chat.edits.COMPOSES_MUSIC``). A str enum, so a name still
compares equal to its string and travels in JSON as one.
"""
from __future__ import annotations

import enum


class EditName(str, enum.Enum):
    ADD_BACKGROUND_MUSIC = "add_background_music"
    UPDATE_MUSIC = "update_music"
    REGENERATE_MUSIC = "regenerate_music"
    USE_UPLOADED_MUSIC = "use_uploaded_music"
    SET_MUSIC_VOLUME = "set_music_volume"
    SET_ORIGINAL_VOLUME = "set_original_volume"
    BALANCE_LEVELS = "balance_levels"
    SET_MUSIC_FADES = "set_music_fades"
    SET_MUSIC_TIMING = "set_music_timing"
    SET_ORIGINAL_AUDIO = "set_original_audio"
    SET_DUCKING = "set_ducking"
    ADD_TITLE = "add_title"
    TRIM_VIDEO = "trim_video"
    SET_LOUDNESS = "set_loudness"
    SET_ASPECT_RATIO = "set_aspect_ratio"
    REMOVE_TRACK = "remove_track"
    UNDO = "undo"
    USE_MEDIA = "use_media"
    MERGE_CLIPS = "merge_clips"

    def __str__(self) -> str:
        return self.value
