"""The draft as a user reads it: the one-line track summary and what changed.

SKILL.md §3.4 gives the summary format by example —
``Timeline (3 tracks): 1. Video: city timelapse (0-10s) 2. BGM: Lo-fi (0-10s, 35%)
3. Title: "Urban Dreams" (0-3s)`` — and the labels ("Video", "BGM", "Title") are learnt
from that example by the interpreter, so they arrive here as ``labels``. The change list
is the silent-reply fallback (§3.1): when an edit streams no text, we read the state,
compare it with the draft from before the turn and say what changed.

Drafts from the cloud are not under our control: missing fields, unknown track types and
strings where numbers belong are summarised as well as they can be, never crashed on.
"""
from __future__ import annotations

from typing import Any, Mapping

from protocol.draft import AUDIO, TEXT, VIDEO, Draft, Track, read_draft

DEFAULT_LABELS: Mapping[int, str] = {VIDEO: "Video", AUDIO: "Audio", TEXT: "Text"}
EMPTY = "Timeline is empty: nothing has been generated or added yet."


def _seconds(ms: int) -> str:
    value = ms / 1000
    if abs(value - round(value)) < 0.05:
        return str(int(round(value)))
    return f"{value:.1f}"


def _label(track: Track, labels: Mapping[int, str]) -> str:
    if track.type is None:
        return "Track"
    if track.type == AUDIO and track.meta.get("kind") == "voice":
        return "Voice"
    return labels.get(track.type) or DEFAULT_LABELS.get(track.type) or f"Track type {track.type}"


def _name(track: Track) -> str:
    if track.type == TEXT:
        text = next((s.text for s in track.segments if s.text), None) or track.name
        return f'"{text}"' if text else "(no text)"
    return track.name or "untitled"


def describe_track(track: Track, labels: Mapping[int, str] = DEFAULT_LABELS) -> str:
    """``BGM: Lo-fi (0-10s, 35%)`` for one track."""
    details: list[str] = []
    start, end = track.start_ms, track.end_ms
    if start is not None and end is not None:
        details.append(f"{_seconds(start)}-{_seconds(end)}s")
    elif not track.segments:
        details.append("empty")
    else:
        details.append("time unknown")
    if track.type == AUDIO and track.volume is not None:
        details.append(f"{round(track.volume * 100)}%")
    if track.type == VIDEO and track.meta.get("mute") is True:
        details.append("original audio muted")
    if track.type == AUDIO and track.meta.get("kind") == "voice" and track.meta.get("mute") is True:
        details.append("muted")  # a muted voice-over keeps its level for when it is unmuted
    if len(track.segments) > 1:
        details.append(f"{len(track.segments)} clips")
    return f"{_label(track, labels)}: {_name(track)} ({', '.join(details)})"


def summarize(raw: Any, labels: Mapping[int, str] = DEFAULT_LABELS) -> str:
    """The one-line track summary of SKILL.md §3.4 for any draft-like value."""
    draft = raw if isinstance(raw, Draft) else read_draft(raw)
    if draft is None or not draft.tracks:
        return EMPTY
    count = len(draft.tracks)
    parts = [f"{i}. {describe_track(t, labels)}" for i, t in enumerate(draft.tracks, start=1)]
    return f"Timeline ({count} track{'s' if count != 1 else ''}): " + " ".join(parts)


def _keyed(draft: Draft | None) -> dict[str, Track]:
    """Tracks by id, or by type and position when a backend sends no ids."""
    out: dict[str, Track] = {}
    if draft is None:
        return out
    seen: dict[int | None, int] = {}
    for track in draft.tracks:
        index = seen.get(track.type, 0)
        seen[track.type] = index + 1
        out[track.id or f"type{track.type}#{index}"] = track
    return out


def changes(before: Any, after: Any, labels: Mapping[int, str] = DEFAULT_LABELS) -> list[str]:
    """What changed between two drafts, one "✅ …" line per track added/removed/changed."""
    old, new = _keyed(read_draft(before)), _keyed(read_draft(after))
    lines: list[str] = []
    for key, track in new.items():
        if key not in old:
            lines.append(f"✅ {_label(track, labels)} added: {describe_track(track, labels).split(': ', 1)[1]}")
            continue
        previous = old[key]
        was, now = describe_track(previous, labels), describe_track(track, labels)
        if was != now:
            lines.append(f"✅ {_label(track, labels)} changed: {was.split(': ', 1)[1]} → {now.split(': ', 1)[1]}")
        elif _settings(previous) != _settings(track):
            lines.append(f"✅ {_label(track, labels)} updated: {now.split(': ', 1)[1]}")
    for key, track in old.items():
        if key not in new:
            lines.append(f"✅ {_label(track, labels)} removed: {describe_track(track, labels).split(': ', 1)[1]}")
    return lines


def _settings(track: Track) -> str:
    """Everything else about a track (fades, style, position) for change detection."""
    import json

    return json.dumps([dict(track.meta), [dict(s.meta) for s in track.segments],
                       [(s.source, s.source_start_ms) for s in track.segments]], sort_keys=True, default=str)


def timeline(raw: Any, labels: Mapping[int, str] = DEFAULT_LABELS) -> list[dict[str, Any]]:
    """The tracks as data (``say --json``'s ``timeline``): type, name, start/end, volume."""
    draft = raw if isinstance(raw, Draft) else read_draft(raw)
    if draft is None:
        return []
    kinds = {VIDEO: "video", AUDIO: "audio", TEXT: "text"}
    out: list[dict[str, Any]] = []
    for track in draft.tracks:
        start, end = track.start_ms, track.end_ms
        name = next((s.text for s in track.segments if s.text), None) if track.type == TEXT else None
        out.append({"type": kinds.get(track.type, "other") if track.type is not None else "other",
                    "label": _label(track, labels), "name": name or track.name,
                    "start_s": start / 1000 if start is not None else None,
                    "end_s": end / 1000 if end is not None else None,
                    "volume": track.volume if track.type == AUDIO else None,
                    "muted": track.meta.get("mute") is True if track.type == VIDEO else None,
                    "clips": len(track.segments)})
    return out
