"""The draft (timeline) both sides of the protocol exchange, read tolerantly.

The backend stores the timeline under short names (docs/protocol.md "Draft"): ``t`` tracks,
``tt`` track type (0 video, 1 audio/BGM, 7 text/title), ``sg`` segments, ``d`` duration
in ms, ``m`` metadata. The engine writes drafts in the canonical shape documented
below; the client must also read drafts written by the cloud, whose fields we only
partly know. So reading never raises: odd values become ``None`` or are skipped and
the caller summarises what is there.

Canonical shape written by the engine::

    {"d": 60000, "m": {"title": "project", "width": 1920, "height": 1080, "fps": 30,
                       "aspect": "16:9"},
     "t": [{"id": "video", "tt": 0, "m": {"name": "demo", "mute": false},
            "sg": [{"id": "s1", "st": 0, "d": 60000, "ss": 0, "src": "<file hash>",
                    "m": {"name": "demo.mp4"}}]},
           {"id": "bgm", "tt": 1, "m": {"name": "Lo-fi", "volume": 0.35, ...},
            "sg": [{"id": "s2", "st": 0, "d": 60000, "src": "music:<id>"}]},
           {"id": "title", "tt": 7, "m": {"name": "Title"},
            "sg": [{"id": "s3", "st": 0, "d": 3000, "m": {"text": "Urban Dreams"}}]}]}

This module imports nothing from ``engine``, ``skill`` or ``runtime``: it is the one
piece of protocol knowledge both the server and the client need.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

VIDEO = 0
AUDIO = 1
TEXT = 7

#: Where a name for a track or segment may be found, most specific first.
_NAME_KEYS = ("name", "title", "label", "text", "style", "genre", "filename")
#: Where a volume may be found (0..1 or a percentage).
_VOLUME_KEYS = ("volume", "vol", "v", "gain")


@dataclass(frozen=True)
class Segment:
    """One clip on a track: where it sits on the timeline and what it shows or plays."""

    start_ms: int | None
    duration_ms: int | None
    source: str | None = None
    source_start_ms: int = 0
    text: str | None = None
    name: str | None = None
    volume: float | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def end_ms(self) -> int | None:
        if self.start_ms is None or self.duration_ms is None:
            return None
        return self.start_ms + self.duration_ms


@dataclass(frozen=True)
class Track:
    """A track as read from any draft: type code, a human name, its segments."""

    id: str | None
    type: int | None
    name: str | None
    volume: float | None
    segments: tuple[Segment, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def start_ms(self) -> int | None:
        starts = [s.start_ms for s in self.segments if s.start_ms is not None]
        return min(starts) if starts else None

    @property
    def end_ms(self) -> int | None:
        ends = [s.end_ms for s in self.segments if s.end_ms is not None]
        return max(ends) if ends else None


@dataclass(frozen=True)
class Draft:
    """A whole timeline; ``tracks`` keeps the draft's order."""

    tracks: tuple[Track, ...]
    duration_ms: int | None
    meta: Mapping[str, Any]

    @property
    def exportable(self) -> bool:
        """SKILL.md §3.4: ready for export when at least one track has a non-empty ``sg``."""
        return any(t.segments for t in self.tracks)


def as_int(value: Any) -> int | None:
    """A whole number from an int, float or numeric string; ``None`` for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(round(value)) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return int(round(number)) if math.isfinite(number) else None
    return None


def as_volume(value: Any) -> float | None:
    """A 0..1 gain from ``0.35``, ``35``, ``"35%"`` or ``"0.35"``; ``None`` if not a volume."""
    if isinstance(value, str):
        text = value.strip().rstrip("%").strip()
        percent = value.strip().endswith("%")
        try:
            number = float(text)
        except ValueError:
            return None
        if percent:
            number /= 100.0
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        return None
    if not math.isfinite(number) or number < 0:
        return None
    if number > 2.0:  # a percentage written without the sign
        number /= 100.0
    return number


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _first_text(*sources: Mapping[str, Any], keys: Iterable[str] = _NAME_KEYS) -> str | None:
    for source in sources:
        for key in keys:
            value = source.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def _first_volume(*sources: Mapping[str, Any]) -> float | None:
    for source in sources:
        for key in _VOLUME_KEYS:
            if key in source:
                volume = as_volume(source[key])
                if volume is not None:
                    return volume
    return None


def read_segment(raw: Any) -> Segment | None:
    """One segment, or ``None`` when ``raw`` is not an object."""
    if not isinstance(raw, Mapping):
        return None
    meta = _mapping(raw.get("m"))
    start = as_int(raw.get("st", raw.get("start", raw.get("s"))))
    duration = as_int(raw.get("d", raw.get("duration")))
    end = as_int(raw.get("et", raw.get("end")))
    if duration is None and start is not None and end is not None:
        duration = end - start
    if start is None and duration is not None:
        start = 0
    text = _first_text(meta, raw, keys=("text", "content", "title"))
    source = raw.get("src", raw.get("url", raw.get("source")))
    return Segment(
        start_ms=start,
        duration_ms=duration if duration is None or duration >= 0 else None,
        source=source if isinstance(source, str) else None,
        source_start_ms=as_int(raw.get("ss")) or 0,
        text=text,
        name=_first_text(meta, raw),
        volume=_first_volume(meta, raw),
        meta=meta,
    )


def read_track(raw: Any) -> Track | None:
    """One track, or ``None`` when ``raw`` is not an object."""
    if not isinstance(raw, Mapping):
        return None
    meta = _mapping(raw.get("m"))
    raw_segments = raw.get("sg")
    segments = tuple(
        seg for seg in (read_segment(s) for s in raw_segments or ()) if seg is not None
    ) if isinstance(raw_segments, list) else ()
    name = _first_text(meta, raw)
    if name is None:
        name = next((s.name for s in segments if s.name), None)
    volume = _first_volume(meta, raw)
    if volume is None:
        volume = next((s.volume for s in segments if s.volume is not None), None)
    track_id = raw.get("id")
    return Track(
        id=str(track_id) if track_id is not None else None,
        type=as_int(raw.get("tt", raw.get("type"))),
        name=name,
        volume=volume,
        segments=segments,
        meta=meta,
    )


def read_draft(raw: Any) -> Draft | None:
    """The draft in ``raw``, or ``None`` when there is none (missing, empty or not a draft).

    Accepts the draft itself or a JSON string of it (some backends serialise it).
    """
    if isinstance(raw, str):
        import json

        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    if not isinstance(raw, Mapping) or not raw:
        return None
    raw_tracks = raw.get("t", raw.get("tracks"))
    if not isinstance(raw_tracks, list):
        raw_tracks = []
    tracks = tuple(t for t in (read_track(r) for r in raw_tracks) if t is not None)
    duration = as_int(raw.get("d", raw.get("duration")))
    if duration is None:
        ends = [t.end_ms for t in tracks if t.end_ms is not None]
        duration = max(ends) if ends else None
    return Draft(tracks=tracks, duration_ms=duration, meta=_mapping(raw.get("m")))


# --------------------------------------------------------------------------- raw drafts

def track(draft: Mapping[str, Any], track_type: int) -> Any:
    """The first track of ``track_type`` in a raw (wire-shaped) draft, or None."""
    return next((t for t in draft.get("t", []) if t.get("tt") == track_type), None)


VOICE = "voice"  # ``m.kind`` of an audio track holding the user's own sound (an audio-only upload), never music


def music_track(draft: Mapping[str, Any]) -> Any:
    """The first audio track that is music (the sound of an audio-only upload is the user's, not music)."""
    return next((t for t in draft.get("t", []) if t.get("tt") == AUDIO and (t.get("m") or {}).get("kind") != VOICE),
                None)


def voice_track(draft: Mapping[str, Any]) -> Any:
    """The audio track holding an audio-only upload the user's soundtrack is built on, or None."""
    return next((t for t in draft.get("t", []) if t.get("tt") == AUDIO and (t.get("m") or {}).get("kind") == VOICE),
                None)


def material_duration(draft: Mapping[str, Any]) -> int:
    """Where the user's own material ends, in ms: the picture, else the uploaded sound (0: neither)."""
    voice = voice_track(draft)
    sound = max((int(s["st"]) + int(s["d"]) for s in voice["sg"]), default=0) if voice else 0
    return video_duration(draft) or sound


def video_duration(draft: Mapping[str, Any]) -> int:
    """Where the picture ends, in ms (0: no picture)."""
    video = track(draft, VIDEO)
    if not video or not video.get("sg"):
        return 0
    return max(int(s["st"]) + int(s["d"]) for s in video["sg"])


def timeline_duration(draft: Mapping[str, Any]) -> int:
    """Where the last picture or sound ends, in ms."""
    ends = [int(s["st"]) + int(s["d"]) for t in draft.get("t", []) for s in t.get("sg", [])
            if t.get("tt") in (VIDEO, AUDIO)]
    return max(ends) if ends else 0
