"""Track summaries in the document's format, for drafts good and bad."""
from __future__ import annotations

import pytest

from support import BUNDLED
from runtime.document import load_skill
from skill.draft import EMPTY, changes, summarize

LABELS = load_skill(BUNDLED, cache=False).conversation.track_labels

DOC_EXAMPLE = {"t": [
    {"tt": 0, "sg": [{"st": 0, "d": 10000, "m": {"name": "city timelapse"}}]},
    {"tt": 1, "m": {"name": "Lo-fi", "volume": 0.35}, "sg": [{"st": 0, "d": 10000}]},
    {"tt": 7, "sg": [{"st": 0, "d": 3000, "m": {"text": "Urban Dreams"}}]},
]}

CASES = [
    ("the document's own example", DOC_EXAMPLE,
     'Timeline (3 tracks): 1. Video: city timelapse (0-10s) 2. BGM: Lo-fi (0-10s, 35%) 3. Title: "Urban Dreams" (0-3s)'),
    ("None", None, EMPTY),
    ("empty dict", {}, EMPTY),
    ("no tracks", {"t": []}, EMPTY),
    ("tracks not a list", {"t": "oops"}, EMPTY),
    ("JSON string", '{"t":[{"tt":1,"sg":[{"st":0,"d":5000}],"m":{"name":"Piano","volume":"50%"}}]}',
     "Timeline (1 track): 1. BGM: Piano (0-5s, 50%)"),
    ("unknown track type", {"t": [{"tt": 42, "sg": [{"st": 1000, "d": 1500}]}]},
     "Timeline (1 track): 1. Track type 42: untitled (1-2.5s)"),
    ("missing type and segments", {"t": [{"m": {"name": "mystery"}}]},
     "Timeline (1 track): 1. Track: mystery (empty)"),
    ("segment without times", {"t": [{"tt": 0, "sg": [{"m": {"name": "clip"}}]}]},
     "Timeline (1 track): 1. Video: clip (time unknown)"),
    ("strings for numbers", {"t": [{"tt": "1", "vol": "35", "sg": [{"st": "0", "d": "12000"}], "m": {"name": "Jazz"}}]},
     "Timeline (1 track): 1. BGM: Jazz (0-12s, 35%)"),
    ("garbage entries skipped", {"t": [None, 3, "x", {"tt": 7, "sg": [{"st": 0, "d": 2000, "text": "Hi"}]}]},
     'Timeline (1 track): 1. Title: "Hi" (0-2s)'),
    ("several clips and muted video", {"t": [{"tt": 0, "m": {"mute": True, "name": "demo"},
                                              "sg": [{"st": 0, "d": 4000}, {"st": 4000, "d": 6000}]}]},
     "Timeline (1 track): 1. Video: demo (0-10s, original audio muted, 2 clips)"),
    ("muted voice-over", {"t": [{"tt": 1, "m": {"kind": "voice", "mute": True, "volume": 0.7, "name": "vo.wav"},
                                  "sg": [{"st": 0, "d": 8000}]}]},
     "Timeline (1 track): 1. Voice: vo.wav (0-8s, 70%, muted)"),
    ("negative duration and NaN", {"t": [{"tt": 1, "m": {"volume": float("nan")}, "sg": [{"st": 0, "d": -5}]}]},
     "Timeline (1 track): 1. BGM: untitled (time unknown)"),
]


@pytest.mark.parametrize("name, draft, expected", CASES, ids=[c[0] for c in CASES])
def test_summary(name: str, draft: object, expected: str) -> None:
    assert summarize(draft, LABELS) == expected


def test_changes_between_drafts_are_listed() -> None:
    before = {"t": [DOC_EXAMPLE["t"][0]]}
    after = DOC_EXAMPLE
    assert changes(before, after, LABELS) == [
        "✅ BGM added: Lo-fi (0-10s, 35%)",
        '✅ Title added: "Urban Dreams" (0-3s)',
    ]
    quieter = {"t": [DOC_EXAMPLE["t"][0], {**DOC_EXAMPLE["t"][1], "m": {"name": "Lo-fi", "volume": 0.2}}]}
    assert changes(after, quieter, LABELS) == [
        "✅ BGM changed: Lo-fi (0-10s, 35%) → Lo-fi (0-10s, 20%)",
        '✅ Title removed: "Urban Dreams" (0-3s)',
    ]
    assert changes(after, after, LABELS) == []
