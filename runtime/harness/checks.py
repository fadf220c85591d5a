"""Each ``expect:`` key of a scenario turn as a check that explains what it saw.

A check returns a list of failure messages (empty = passed). Messages say what was
expected, what was found, and enough context to find the cause (the request list for a
call that did not happen, the reply for a phrase that is missing).
"""
from __future__ import annotations

import fnmatch
import re
from typing import Any, Iterable

from protocol.draft import read_draft
from runtime.document.gui import leftover_gui_words


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def route(expected: Any, actual: list[str]) -> list[str]:
    want = _as_list(expected)
    if len(want) == 1 and actual[:1] == want:
        return []
    return [] if actual == want else [f"route: expected {want}, the router chose {actual}"]


def reply(expect: dict[str, Any], text: str) -> list[str]:
    out: list[str] = []
    for phrase in _as_list(expect.get("reply_contains")):
        if phrase.lower() not in text.lower():
            out.append(f"reply_contains: {phrase!r} not in the reply: {_short(text)!r}")
    for phrase in _as_list(expect.get("reply_not_contains")):
        if phrase.lower() in text.lower():
            out.append(f"reply_not_contains: {phrase!r} is in the reply: {_short(text)!r}")
    pattern = expect.get("reply_matches")
    if pattern and not re.search(pattern, text, re.S):
        out.append(f"reply_matches: /{pattern}/ does not match the reply: {_short(text)!r}")
    if expect.get("no_gui_words"):
        words = leftover_gui_words(text)
        if words:
            out.append(f"no_gui_words: the user would read GUI instructions {words}: {_short(text)!r}")
    return out


def notices(expected: Any, seen: list[str]) -> list[str]:
    return [f"notices_contain: {phrase!r} never shown (notices: {seen})"
            for phrase in _as_list(expected) if not any(phrase in n for n in seen)]


def _dig(value: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


_MISSING = object()


def _matches(call: dict[str, Any], want: dict[str, Any]) -> bool:
    if want.get("method") and call["method"] != want["method"]:
        return False
    if not fnmatch.fnmatchcase(call["path"], want["path"]):
        return False
    headers = {k.lower(): v for k, v in call.get("headers", {}).items()}
    for name, value in (want.get("headers") or {}).items():
        if value is None:
            if name.lower() in headers:
                return False
        elif headers.get(name.lower()) != value:
            return False
    for key, value in (want.get("body") or {}).items():
        if _dig(call.get("body"), key) != value:
            return False
    return True


def _describe(want: dict[str, Any]) -> str:
    extra = {k: v for k, v in want.items() if k not in ("method", "path", "count", "max_count", "min_gap_s")}
    return f"{want.get('method', '*')} {want['path']}" + (f" {extra}" if extra else "")


def calls(expect: dict[str, Any], made: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    listing = ", ".join(f"{c['method']} {c['path']}" for c in made) or "none"
    items = expect.get("items") or []
    if expect.get("order", "sequence") == "sequence":
        position = 0
        for want in items:
            if "count" in want or "max_count" in want or "min_gap_s" in want:
                continue
            found = next((i for i in range(position, len(made)) if _matches(made[i], want)), None)
            if found is None:
                out.append(f"calls: expected {_describe(want)} (in order) — requests made: {listing}")
                break
            position = found + 1
    for want in items:
        count = sum(1 for c in made if _matches(c, want))
        if "min_gap_s" in want:
            times = [c["time"] for c in made if _matches(c, want)]
            gaps = [b - a for a, b in zip(times, times[1:])]
            if gaps and min(gaps) < want["min_gap_s"] * 0.9:
                out.append(f"calls: {_describe(want)} repeated after {min(gaps):.3f}s; expected at least "
                           f"{want['min_gap_s']}s between them")
        if "max_count" in want and count > want["max_count"]:
            out.append(f"calls: at most {want['max_count']} × {_describe(want)} expected, saw {count}")
        if "count" in want and count != want["count"]:
            out.append(f"calls: expected {want['count']} × {_describe(want)}, saw {count} — requests: {listing}")
        elif expect.get("order") == "set" and not {"count", "max_count", "min_gap_s"} & set(want) and count == 0:
            out.append(f"calls: expected {_describe(want)} — requests made: {listing}")
    for banned in expect.get("none") or []:
        hits = [c for c in made if _matches(c, banned)]
        if hits:
            out.append(f"calls: {_describe(banned)} must not be sent, but was ({len(hits)}×)")
    return out


def files(expected: list[dict[str, Any]], written: list[str]) -> list[str]:
    import os

    from media.probe import loudness, probe

    out: list[str] = []
    if len(written) < len(expected):
        return [f"files: expected {len(expected)} file(s) written, got {written}"]
    for want, path in zip(expected, written):
        if not os.path.isfile(path):
            out.append(f"files: {path} does not exist")
            continue
        size = os.path.getsize(path)
        if size < want.get("min_size", 1):
            out.append(f"files: {path} is {size} bytes")
        if "suffix" in want and not path.endswith(want["suffix"]):
            out.append(f"files: {os.path.basename(path)} does not end with {want['suffix']}")
        if "zip_contains" in want:
            import zipfile

            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
            out += [f"files: {os.path.basename(path)} has no {name} (has {names})"
                    for name in want["zip_contains"] if name not in names]
            continue
        info = probe(path)
        checks = {"codec": info.video.codec if info.video else None,
                  "audio_codec": info.audio.codec if info.audio else None,
                  "width": info.video.width if info.video else None,
                  "height": info.video.height if info.video else None}
        for key, value in checks.items():
            if key in want and want[key] != value:
                out.append(f"files: {os.path.basename(path)} {key} is {value}, expected {want[key]}")
        if "duration" in want:
            tolerance = want.get("tolerance", 1 / 30)
            if info.duration_s is None or abs(info.duration_s - want["duration"]) > tolerance:
                out.append(f"files: duration {info.duration_s} s, expected {want['duration']} ± {tolerance}")
        if want.get("audio_not_silent") or "lufs" in want:
            level = loudness(path)
            if want.get("audio_not_silent") and level.silent:
                out.append(f"files: {os.path.basename(path)} has a silent soundtrack")
            if "lufs" in want and abs(level.integrated_lufs - want["lufs"]) > want.get("lufs_tolerance", 1.0):
                out.append(f"files: loudness {level.integrated_lufs} LUFS, expected {want['lufs']}")
    return out


def draft(expect: dict[str, Any], raw: Any) -> list[str]:
    parsed = read_draft(raw)
    tracks = list(parsed.tracks) if parsed else []
    out: list[str] = []
    if "track_count" in expect and len(tracks) != expect["track_count"]:
        out.append(f"draft: {len(tracks)} track(s), expected {expect['track_count']}")
    if "exportable" in expect and bool(parsed and parsed.exportable) != expect["exportable"]:
        out.append(f"draft: exportable is {bool(parsed and parsed.exportable)}, expected {expect['exportable']}")
    if "duration" in expect and (parsed is None or parsed.duration_ms is None
                                 or abs(parsed.duration_ms / 1000 - expect["duration"]) > 0.05):
        out.append(f"draft: duration {parsed.duration_ms if parsed else None} ms, expected {expect['duration']} s")
    free = list(tracks)
    for want in expect.get("tracks") or []:
        match = next((t for t in free if _track_matches(t, want)), None)
        if match is None:
            seen = [(t.type, t.name, t.volume) for t in tracks]
            out.append(f"draft: no track like {want} (tracks: {seen})")
        else:
            free.remove(match)
    return out


def _track_matches(track: Any, want: dict[str, Any]) -> bool:
    if "type" in want and track.type != want["type"]:
        return False
    if "name_contains" in want and want["name_contains"].lower() not in (track.name or "").lower():
        return False
    if "volume" in want and (track.volume is None or abs(track.volume - want["volume"]) > 0.005):
        return False
    if "text" in want and not any(s.text == want["text"] for s in track.segments):
        return False
    if "start" in want and (track.start_ms is None or abs(track.start_ms / 1000 - want["start"]) > 0.05):
        return False
    if "end" in want and (track.end_ms is None or abs(track.end_ms / 1000 - want["end"]) > 0.05):
        return False
    if "muted" in want and bool(track.meta.get("mute")) != want["muted"]:
        return False
    return True


def credits(expect: dict[str, Any], before: int | None, after: int | None) -> list[str]:
    out = []
    if "change" in expect and (before is None or after is None or after - before != expect["change"]):
        out.append(f"credits: changed by {None if before is None or after is None else after - before}, "
                   f"expected {expect['change']}")
    if "available" in expect and after != expect["available"]:
        out.append(f"credits: {after} available, expected {expect['available']}")
    return out


def errors(expected: Iterable[dict[str, Any]], seen: list[dict[str, Any]]) -> list[str]:
    out = []
    for want in expected:
        ok = any(("code" not in want or e.get("code") == want["code"])
                 and ("type" not in want or e.get("type") == want["type"])
                 and want.get("message_contains", "").lower() in str(e.get("message", "")).lower()
                 for e in seen)
        if not ok:
            out.append(f"errors: expected {want}, saw {seen or 'no error'}")
    return out
