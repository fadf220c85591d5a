"""The music a fresh upload's first turn will most likely compose, worked out before it is asked for.

Most sessions upload a clip and send SKILL.md's default request ("generate background music
that matches the mood and length of my video"). Once the clip is analysed, the engine can
plan that turn on a copy of the session — the same director, edits and cues as the real
turn — and start composing its piece. The piece is keyed like any composed piece (brief with
its seed, length, cues: ``engine.chat.edits.music_key``), so the turn takes it only when it
would have composed exactly that; any other request composes anew.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from engine.chat.edits import COMPOSES_MUSIC, EditError, Editor
from engine.chat.turn import music_order, plan_turn
from protocol.requests import DEFAULT_REQUEST


@dataclass(frozen=True)
class LikelyPiece:
    """What :meth:`engine.app.Engine.compose` would be called with: brief, cues, cache key."""

    brief: dict[str, Any]
    cues: dict[str, Any]
    key: str


def likely_piece(session: dict[str, Any], request: str = DEFAULT_REQUEST) -> LikelyPiece | None:
    """The piece the turn for ``request`` would compose on ``session`` as it is now (its analyses
    current); None when that turn would compose nothing. ``session`` is not changed."""
    plan = plan_turn(request, session)
    if not any(edit.name in COMPOSES_MUSIC for edit in plan.edits):
        return None
    trial = copy.deepcopy(session)
    editor = Editor(trial)
    editor.settle_sounds()  # as the turn does: a song uploaded alone is the music, nothing to compose
    editor.snapshot()  # as the turn does: the history's length is part of the seed
    for edit in plan.edits:
        try:
            editor.apply(edit)
        except EditError:
            return None
    order = music_order(trial)
    if order is None:
        return None
    music, cues, key = order
    return LikelyPiece(brief=copy.deepcopy(music["m"]["music"]["brief"]), cues=cues, key=key)
