"""What the reply says about the music and the video's cuts is true, and says which cuts.

The issue: "20.01s long in 3 sections, with its section changes on 23 of your scene cuts" —
three sections have two changes. Each mark of the music (a section change or a fill) may
answer for one cut only, and the reply lists the cuts it counted.
"""
from __future__ import annotations

import re

import pytest

from engine.chat.cut_sync import marked_cuts
from engine.chat.replies import music_line

FACTS = {"bpm": 120.0, "sections": [("intro", 0.0, 6.0), ("main", 6.0, 14.0), ("outro", 14.0, 20.0)],
         "fills": [3.0, 6.0, 10.0, 14.0, 20.0]}


def test_one_fill_answers_for_one_cut_only() -> None:
    sync = marked_cuts(FACTS, [2.9, 3.1])
    assert sync == {"cuts": 2, "sections": [], "fills": [2.9]}


def test_a_section_change_is_named_only_where_a_section_starts() -> None:
    sync = marked_cuts(FACTS, [6.1, 10.2, 14.3])
    assert sync["sections"] == [6.1, 14.3] and sync["fills"] == [10.2]


def test_a_mark_too_far_from_a_cut_does_not_count() -> None:
    # at 120 BPM the composer moves a transition at most 0.75 beat (0.375 s) off its cut
    assert marked_cuts(FACTS, [9.5, 12.0]) == {"cuts": 2, "sections": [], "fills": []}


def test_times_are_on_the_video_timeline_when_the_music_starts_late() -> None:
    assert marked_cuts(FACTS, [6.1], offset_s=5.0)["sections"] == [11.1]


def test_a_three_hour_video_is_counted() -> None:
    """Thousands of cuts and marks (matching looks only at marks near each cut)."""
    facts = {"bpm": 120.0, "sections": [("s", i * 8.0, i * 8.0 + 8.0) for i in range(1350)],
             "fills": [i * 2.0 for i in range(5400)]}
    sync = marked_cuts(facts, [i * 1.0 + 0.1 for i in range(10_800)])
    assert sync["cuts"] == 10_800 and len(sync["sections"]) == 1349
    # fills on a section start are the same transition: 1349 changes + 4051 other fills, each on its cut
    assert len(sync["sections"]) + len(sync["fills"]) == 5400


def _claim(text: str) -> tuple[int, int, list[float], list[float]]:
    m = re.search(r"marking (\d+) of your (\d+) scene cuts? \((.*?)\)", text)
    assert m, text
    sections = re.search(r"section changes? at ([^;)]*)", m.group(3))
    fills = re.search(r"fills? at ([^;)]*)", m.group(3))
    times = lambda found: [float(t) for t in re.findall(r"([\d.]+)s", found.group(1))] if found else []  # noqa: E731
    return int(m.group(1)), int(m.group(2)), times(sections), times(fills)


def test_reply_count_matches_the_cuts_it_lists() -> None:
    sync = marked_cuts(FACTS, [2.9, 3.1, 6.1, 9.0, 10.2, 14.3, 17.0])
    text = music_line({**FACTS, "genre": "lofi", "mood": "calm", "key": "C major", "duration_s": 20.0,
                        "cut_sync": sync}, lang="en")
    marked, cuts, at_sections, at_fills = _claim(text)
    assert (marked, cuts) == (4, 7) and at_sections == [6.1, 14.3] and at_fills == [2.9, 10.2]
    assert "3 sections" in text


def test_reply_says_nothing_about_cuts_when_none_is_marked() -> None:
    text = music_line({**FACTS, "genre": "lofi", "cut_sync": marked_cuts(FACTS, [9.5])}, lang="en")
    assert "cut" not in text
    zh = music_line({**FACTS, "genre": "lofi", "cut_sync": marked_cuts(FACTS, [9.5])}, lang="zh")
    assert "镜头" not in zh


@pytest.mark.parametrize("seed", [1, 7])
def test_a_real_piece_on_a_densely_cut_video_claims_no_more_than_it_did(seed: int) -> None:
    """Composed for real: 18 cuts in 12 s (a fast montage). The claim never exceeds the
    piece's own transitions, never calls more than (sections - 1) of them section changes,
    and every cut it lists is a real cut with a transition of the piece next to it."""
    from engine.music import Brief, Cues, make_music

    cuts = [round(0.4 + i * 0.64, 2) for i in range(18)]
    facts = dict(make_music(Brief(seed=seed), Cues(duration_s=12.0, cuts=tuple(cuts))).describe())
    facts["cut_sync"] = marked_cuts(facts, cuts)
    marked, total, at_sections, at_fills = _claim(music_line(facts, lang="en"))
    changes = len(facts["sections"]) - 1
    marks = [s[1] for s in facts["sections"][1:]] + list(facts["fills"])
    beat = 60.0 / facts["bpm"]
    assert total == 18 and marked == len(at_sections) + len(at_fills)
    assert len(at_sections) <= changes and marked <= changes + len(facts["fills"])
    for t in at_sections + at_fills:
        assert any(abs(t - c) < 0.01 for c in cuts) and any(abs(t - m) <= 0.75 * beat for m in marks)


def test_a_chinese_reply_names_genre_and_mood_in_chinese() -> None:
    text = music_line({**FACTS, "genre": "upbeat", "mood": "happy", "key": "A major", "duration_s": 20.0,
                        "cut_sync": marked_cuts(FACTS, [6.1])}, lang="zh")
    assert text.startswith("动感流行（欢快，120 BPM") and "段落转换：6.1 秒" in text
    assert "happy" not in text and "Upbeat" not in text
