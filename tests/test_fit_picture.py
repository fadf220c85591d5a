"""The fit picture a user asks for ("show me how the music fits"): is what it shows true?

Rendered from a real piece's facts; checked by what sits where (the returned elements and
the colours inside their boxes), not by comparing pixels with a stored image.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.export.fit_picture import CUT, INK, SPEECH, draw_fit_picture, loudness_curve, section_colour
from engine.music import Brief, Cues, make_music

SR = 48000
CUES = Cues(20.0, cuts=(5.1, 10.2, 15.3), speech=((1.0, 3.5), (11.0, 13.5)))


@pytest.fixture(scope="module")
def piece() -> tuple[dict, np.ndarray]:
    music = make_music(Brief(genre="corporate", seed=3, hits=(8.0,)), CUES)
    return music.describe(), music.audio


def _thumb(colour: tuple[int, int, int]) -> np.ndarray:
    return np.full((72, 128, 3), colour, dtype=np.uint8)


def _pixel(picture: object, box: tuple[int, int, int, int]) -> tuple[int, int, int]:
    x, y = (box[0] + box[2]) // 2, (box[1] + box[3]) // 2
    return picture.image.getpixel((x, y))  # type: ignore[attr-defined]


def test_every_section_is_a_coloured_band_in_time_order(piece: tuple[dict, np.ndarray]) -> None:
    facts, _ = piece
    picture = draw_fit_picture(facts, cuts=CUES.cuts, speech=CUES.speech)
    sections = picture.of("section")
    assert [s.label for s in sections] == [name for name, _, _ in facts["sections"]]
    assert all(a.box[2] <= b.box[0] + 1 for a, b in zip(sections, sections[1:]))          # left to right, no overlap
    for i, s in enumerate(sections):
        assert s.colour == section_colour(s.label, i)
        probe = (s.box[0] + 2, s.box[3] - 20, s.box[2] - 2, s.box[3] - 18)              # below the label text
        if probe[2] > probe[0] and not any(c.box[0] - 2 <= (probe[0] + probe[2]) // 2 <= c.box[2] + 2
                                           for c in picture.of("cut")):
            assert _pixel(picture, probe) == s.colour


def test_cuts_run_through_every_lane_at_their_time(piece: tuple[dict, np.ndarray]) -> None:
    facts, _ = piece
    picture = draw_fit_picture(facts, cuts=CUES.cuts, speech=CUES.speech)
    cuts = picture.of("cut")
    assert [c.start_s for c in cuts] == list(CUES.cuts)
    left, _, right, _ = picture.lanes["sections"]
    for c in cuts:
        x = (c.box[0] + c.box[2]) // 2
        assert x == pytest.approx(left + (right - left) * c.start_s / facts["duration_s"], abs=2)
        for lane in picture.lanes.values():
            assert picture.image.getpixel((x, (lane[1] + lane[3]) // 2)) == CUT


def test_beats_follow_the_tempo_and_hits_are_marked(piece: tuple[dict, np.ndarray]) -> None:
    facts, _ = piece
    picture = draw_fit_picture(facts)
    beats = sorted(e.start_s for e in picture.elements if e.kind in ("beat", "downbeat"))
    assert np.allclose(np.diff(beats), 60.0 / facts["bpm"], atol=1e-3)
    assert [round(h.start_s, 3) for h in picture.of("hit")] == facts["hits"]


def test_the_beats_lane_runs_to_the_musics_end(piece: tuple[dict, np.ndarray]) -> None:
    """The beats stop on the final chord's downbeat; the chord ringing on to the end is drawn there too,
    so the lane does not look as if the music stopped early."""
    facts, _ = piece
    assert facts["final_chord_s"] < facts["duration_s"] - 0.5
    picture = draw_fit_picture(facts)
    assert max(e.start_s for e in picture.elements if e.kind in ("beat", "downbeat")) <= facts["final_chord_s"] + 1e-3
    [ring] = picture.of("final_chord")
    assert ring.start_s == facts["final_chord_s"] and ring.end_s == facts["duration_s"]
    assert ring.box[2] == picture.lanes["beats"][2]
    assert picture.image.getpixel(((ring.box[0] + ring.box[2]) // 2, ring.box[1] + 1)) == INK


def test_the_music_dips_under_speech_and_comes_back_between(piece: tuple[dict, np.ndarray]) -> None:
    facts, _ = piece
    picture = draw_fit_picture(facts, speech=CUES.speech)
    for region in picture.of("speech"):
        assert _pixel(picture, region.box) == SPEECH
    points = picture.of("duck_point")

    def y_at(t: float) -> int:
        return min(points, key=lambda p: abs(p.start_s - t)).box[1]

    assert y_at(2.2) > y_at(7.5) + 20            # lower on the picture = quieter music
    assert y_at(12.2) > y_at(17.0) + 20
    assert y_at(7.5) == y_at(17.0)


def test_thumbnails_sit_at_their_times(piece: tuple[dict, np.ndarray], tmp_path: Path) -> None:
    facts, audio = piece
    red, blue = (200, 30, 30), (30, 30, 200)
    png = tmp_path / "scene2.png"
    Image.fromarray(_thumb(blue)).save(png)
    level, rate = loudness_curve(audio, SR)
    picture = draw_fit_picture(facts, thumbnails=[(0.5, _thumb(red)), (12.0, png)], loudness=level, loudness_rate=rate)
    first, second = picture.of("thumbnail")
    assert _pixel(picture, first.box) == red and _pixel(picture, second.box) == blue
    assert first.box[2] <= second.box[0]
    assert picture.of("loudness") and picture.of("target")


SCENES = ((200, 30, 30), (30, 160, 60), (30, 30, 200), (230, 200, 40))    # one flat colour per scene of CUES


def _strip_like(facts: dict, frame: tuple[int, int] = (16, 9), tiles: int = 12) -> list[tuple[float, np.ndarray]]:
    """Frames as the workspace's strip gives them: one at the middle of each twelfth of the clip,
    the frame (``frame`` = its width x height) fitted into a 160x90 tile with black bars."""
    out = []
    for k in range(tiles):
        at = (k + 0.5) * facts["duration_s"] / tiles
        tile = np.zeros((90, 160, 3), dtype=np.uint8)
        scale = min(160 / frame[0], 90 / frame[1])
        w, h = int(frame[0] * scale), int(frame[1] * scale)
        x, y = (160 - w) // 2, (90 - h) // 2
        tile[y:y + h, x:x + w] = SCENES[sum(c <= at for c in CUES.cuts)]
        out.append((at, tile))
    return out


def test_the_video_lane_changes_picture_at_each_cut_line(piece: tuple[dict, np.ndarray]) -> None:
    """Just left of a cut line the earlier scene shows, just right of it the later one: the
    picture change is where the cut is drawn, not a tile's width early."""
    facts, _ = piece
    picture = draw_fit_picture(facts, cuts=CUES.cuts, thumbnails=_strip_like(facts))
    _, top, _, bottom = picture.lanes["video"]
    for n, cut in enumerate(picture.of("cut")):
        x = (cut.box[0] + cut.box[2]) // 2
        for y in (top + 10, (top + bottom) // 2, bottom - 10):
            assert picture.image.getpixel((x - 4, y)) == SCENES[n]
            assert picture.image.getpixel((x + 4, y)) == SCENES[n + 1]


def test_thumbnails_tile_the_lane_without_covering_each_other(piece: tuple[dict, np.ndarray]) -> None:
    facts, _ = piece
    thumbs = _strip_like(facts)
    picture = draw_fit_picture(facts, cuts=CUES.cuts, thumbnails=thumbs)
    tiles = picture.of("thumbnail")
    left, _, right, _ = picture.lanes["video"]
    assert len(tiles) == len(thumbs)
    assert all(a.box[2] <= b.box[0] for a, b in zip(tiles, tiles[1:]))                  # disjoint, in time order
    assert tiles[0].box[0] <= left + 2 and tiles[-1].box[2] >= right - 2                  # the whole clip shown
    for tile, (at, _) in zip(tiles, thumbs):
        x = left + (right - left) * at / facts["duration_s"]
        assert tile.box[0] <= x <= tile.box[2] and tile.start_s <= at < tile.end_s        # in the time it shows


def test_a_portrait_clips_tiles_show_its_picture_not_black_bars(piece: tuple[dict, np.ndarray]) -> None:
    facts, _ = piece
    picture = draw_fit_picture(facts, thumbnails=_strip_like(facts, frame=(9, 16)))
    pixels = np.asarray(picture.image)
    for tile in picture.of("thumbnail"):
        x0, y0, x1, y1 = tile.box
        area = pixels[y0:y1, x0:x1].reshape(-1, 3)
        assert (area.max(axis=1) < 40).mean() < 0.05                                      # hardly any black


def test_a_piece_without_duration_is_refused() -> None:
    with pytest.raises(ValueError):
        draw_fit_picture({"duration_s": 0})


def test_the_key_change_into_the_climax_is_marked_on_the_sections_lane() -> None:
    """Corporate pieces lift the key a whole step into their last big section: the picture labels
    the opening key, and the new key on a marker where that section starts."""
    from engine.export.fit_picture import KEY_CHANGE
    from engine.music.styles import STYLES

    cues = Cues(40.0, cuts=(7.3, 15.2, 23.1, 31.0))
    facts = make_music(Brief(genre="corporate", seed=3), cues).describe()
    [change] = facts["key_changes"]
    assert change["semitones"] == STYLES["corporate"].lift and change["key"] != facts["key"]
    picture = draw_fit_picture(facts, cuts=cues.cuts)
    keys = picture.of("key")
    assert [k.label for k in keys] == [facts["key"], change["key"]]
    assert keys[0].start_s == 0.0 and keys[1].start_s == change["start_s"] == keys[0].end_s
    lifted = next(s for s in picture.of("section") if s.label == change["section"])
    assert lifted.start_s == pytest.approx(change["start_s"], abs=1e-3)
    [marker] = picture.of("key_change")
    left, top, right, bottom = picture.lanes["sections"]
    assert top < marker.box[1] and marker.box[3] < bottom                              # on the sections lane
    assert abs((marker.box[0] + marker.box[2]) // 2 - lifted.box[0]) <= 2              # at the section's start
    assert _pixel(picture, (marker.box[0], marker.box[1] + 8, marker.box[2], marker.box[3])) == KEY_CHANGE
    assert keys[1].box[0] >= marker.box[2] and keys[1].colour == KEY_CHANGE


def test_a_piece_that_stays_in_its_key_shows_one_key_and_no_change(piece: tuple[dict, np.ndarray]) -> None:
    facts, _ = piece
    facts = {**facts, "key_changes": []}
    picture = draw_fit_picture(facts)
    assert [k.label for k in picture.of("key")] == [facts["key"]] and not picture.of("key_change")


def test_the_title_joins_only_the_facts_the_piece_has(piece: tuple[dict, np.ndarray]) -> None:
    """No empty field between two separators; and the loudness is named, because in the picture's font
    "· -16.01 LUFS" read as "· ·" (the minus is a dot-sized dash)."""
    facts, _ = piece
    title = draw_fit_picture(facts).title
    assert title == (f"How the music fits: corporate · {facts['mood']} · {facts['bpm']:.0f} BPM · {facts['key']}"
                     f" · loudness {facts['lufs']:.1f} LUFS")
    fields = title.split(": ", 1)[1].split(" · ")
    assert all(f.strip() and f[0] not in "-+·" for f in fields)
    some = {**facts, "mood": " ", "key": None, "lufs": None}
    assert draw_fit_picture(some).title == f"How the music fits: corporate · {facts['bpm']:.0f} BPM"
    assert draw_fit_picture({"duration_s": 10.0}).title == "How the music fits"


def test_the_loudness_lane_has_a_db_scale_to_read_levels_off(piece: tuple[dict, np.ndarray]) -> None:
    facts, audio = piece
    level, rate = loudness_curve(audio, SR)
    picture = draw_fit_picture(facts, loudness=level, loudness_rate=rate, target_lufs=-16.0)
    ticks = picture.of("db_tick")
    assert [t.label for t in ticks] == ["-10 dB", "-20 dB", "-30 dB", "-40 dB"]
    left, top, _, bottom = picture.lanes["loudness"]
    ys = [(t.box[1] + t.box[3]) / 2 for t in ticks]
    assert all(t.box[2] <= left for t in ticks) and all(top < y < bottom for y in ys)    # in the margin, on the lane
    assert np.allclose(np.diff(ys), ys[1] - ys[0], atol=1) and ys[1] - ys[0] > 20        # even steps, top is loud
    [target] = picture.of("target")
    assert target.box[1] == pytest.approx(ys[0] + 0.6 * (ys[1] - ys[0]), abs=1.5)     # -16 sits 6/10 of the way
    assert picture.image.getpixel((left - 3, round(ys[1]))) == INK                     # the tick is drawn


def test_the_legend_names_each_mark_as_it_is_drawn() -> None:
    from engine.export.fit_picture import DUCK, FILL, HIT, KEY_CHANGE, LOUDNESS
    from PIL import ImageFont

    cues = Cues(40.0, cuts=(7.3, 15.2, 23.1, 31.0), speech=((2.0, 6.0),))
    music = make_music(Brief(genre="corporate", seed=3, hits=(12.0,)), cues)
    facts = music.describe()
    level, rate = loudness_curve(music.audio, SR)
    picture = draw_fit_picture(facts, cuts=cues.cuts, speech=cues.speech, loudness=level, loudness_rate=rate)
    legend = picture.of("legend")
    assert [e.label for e in legend] == ["cut", "section", "fill", "key change", "downbeat", "beat", "final chord",
                                         "hit", "speech", "ducking", "loudness", "target"]
    colours = {e.label: e.colour for e in legend}
    assert (colours["cut"], colours["fill"], colours["key change"], colours["hit"], colours["speech"],
            colours["ducking"], colours["loudness"]) == (CUT, FILL, KEY_CHANGE, HIT, SPEECH, DUCK, LOUDNESS)
    assert colours["section"] == picture.of("section")[0].colour
    for e in legend:                                                   # the swatch shows the mark's colour
        swatch = np.asarray(picture.image.crop((e.box[0], e.box[1], e.box[0] + 15, e.box[3]))).reshape(-1, 3)
        assert (swatch == e.colour).all(axis=1).any(), e.label
    title_end = 110 + ImageFont.load_default(size=18).getlength(picture.title)
    assert all(e.box[0] > title_end and e.box[3] < picture.lanes["video"][1] for e in legend)   # above the lanes
    assert not any(a.box[0] < b.box[2] and b.box[0] < a.box[2] and a.box[1] < b.box[3] and b.box[1] < a.box[3]
                   for i, a in enumerate(legend) for b in legend[i + 1:])                     # none covers another
    bare = draw_fit_picture(facts)                                     # nothing drawn that the legend names
    assert {e.label for e in bare.of("legend")} == {"section", "fill", "key change", "downbeat", "beat",
                                                    "final chord", "hit", "ducking", "target"}
