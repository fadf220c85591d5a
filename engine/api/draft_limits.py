"""What a render will take from a client: a draft whose size and length this session can justify.

The render endpoint renders the draft the client sends, and a hostile one costs the
machine: an 8000×8000 canvas took 52 s of both cores and 3.3 GB for one second, a
10-hour draft asks for gigabytes of soundtrack. So before anything is queued the draft
is held to the session it claims to belong to: a supported canvas (one of
``engine.canvas.ASPECTS``, or any size up to 4096×4096), a length no longer than the
session's media together (or, with no media, than a text-only piece may be), every
segment inside ``[0, d]``, and a bounded number of tracks and segments.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

from engine.export.canvas import ASPECTS

MAX_SIDE = 4096
MIN_SIDE = 16
MAX_TRACKS = 32
MAX_SEGMENTS = 500
TEXT_ONLY_S = 30 * 60.0   # a piece with no media (music alone, a visualiser)
SLACK_MS = 1000           # rounding between probed lengths and the timeline


class BadDraft(ValueError):
    """The draft cannot be rendered for this session; ``str()`` is one line for the client."""


def _ms(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadDraft(f"draft {what} must be a number of milliseconds")
    return int(value)


def media_seconds(session: Mapping[str, Any]) -> float:
    """How long the session's uploads play together (what a timeline of them can last)."""
    infos = (session.get("state") or {}).get("video_infos") or []
    return sum(float(i.get("duration") or 0) for i in infos if i.get("file_type") in ("video", "audio"))


def check_draft(draft: Mapping[str, Any], session: Mapping[str, Any], text_only_s: float = TEXT_ONLY_S) -> None:
    """Raise :class:`BadDraft` naming the first thing this session cannot render."""
    meta = draft.get("m") if draft.get("m") is not None else {}
    if not isinstance(meta, Mapping):
        raise BadDraft("draft 'm' must be an object")
    width, height = meta.get("width", 1920), meta.get("height", 1080)
    if any(isinstance(v, bool) or not isinstance(v, int) for v in (width, height)):
        raise BadDraft("draft canvas width and height must be whole numbers")
    if (width, height) not in ASPECTS.values() and not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise BadDraft(f"draft canvas {width}x{height} is not supported: use 1920x1080, 1080x1920, 1080x1080, "
                       f"1080x1350 or any size up to {MAX_SIDE}x{MAX_SIDE}")
    total = _ms(draft.get("d"), "'d'")
    media_s = media_seconds(session)
    limit_s = max(media_s, text_only_s)
    if total <= 0:
        raise BadDraft("the draft is empty (its length 'd' is 0)")
    if total > limit_s * 1000 + SLACK_MS:
        raise BadDraft(f"the draft lasts {total / 1000:.0f} s, longer than this project's media "
                       f"({media_s:.0f} s) or a piece without media ({text_only_s / 60:g} min) can be")
    tracks = draft.get("t")
    if not isinstance(tracks, list) or len(tracks) > MAX_TRACKS:
        raise BadDraft(f"draft 't' must be a list of at most {MAX_TRACKS} tracks")
    count = 0
    for track in tracks:
        segments = track.get("sg") if isinstance(track, Mapping) else None
        if not isinstance(segments, list):
            raise BadDraft("every draft track must be an object with a list of segments 'sg'")
        count += len(segments)
        if count > MAX_SEGMENTS:
            raise BadDraft(f"the draft has more than {MAX_SEGMENTS} segments")
        for seg in segments:
            if not isinstance(seg, Mapping):
                raise BadDraft("every draft segment must be an object")
            start, length = _ms(seg.get("st"), "segment 'st'"), _ms(seg.get("d"), "segment 'd'")
            if _ms(seg.get("ss", 0), "segment 'ss'") < 0 or start < 0 or length <= 0 or start + length > total + SLACK_MS:
                raise BadDraft(f"a segment ({start} ms + {length} ms) lies outside the draft's 0-{total} ms")
