"""The local engine's director: chat text → edits, English and Chinese, deterministic."""
from __future__ import annotations

import pytest

from engine.chat.director import Context, Director, parse_time_ms, quoted_text

VIDEO = Context(has_video=True, has_music=False, duration_ms=60_000, uploads=("demo.mp4",))
MUSIC = Context(has_video=True, has_music=True, duration_ms=60_000, uploads=("demo.mp4",))
NOTHING = Context(has_video=False, has_music=False, duration_ms=None)
VOICED = Context(has_video=True, has_music=True, duration_ms=60_000, uploads=("demo.mp4",), audio_uploads=("vo.wav",))
SONG = Context(has_video=False, has_music=True, duration_ms=12_000, audio_uploads=("song.mp3",))
CLIPS = Context(has_video=True, has_music=False, duration_ms=10_000,
                uploads=("intro.mp4", "main.mp4", "outro.mp4"))

CASES = [
    (VIDEO, "generate background music that matches the mood and length of my video",
     [("add_background_music", {"match_video": True})]),
    (VIDEO, "add lo-fi music at 35%", [("add_background_music", {"genre": "lofi"}),
                                       ("set_music_volume", {"volume": 0.35})]),
    (VIDEO, "add some calm piano music", [("add_background_music", {"genre": "piano", "mood": "calm"})]),
    (VIDEO, "cinematic epic soundtrack please", [("add_background_music", {"genre": "cinematic", "mood": "epic"})]),
    # "upbeat" describes the genre beside it: corporate music that is upbeat, not pop
    (VIDEO, "upbeat corporate track at 120 bpm",
     [("add_background_music", {"genre": "corporate", "mood": "happy", "bpm": 120.0})]),
    (VIDEO, "upbeat music please", [("add_background_music", {"genre": "upbeat"})]),
    (VIDEO, "upbeat pop song with a corporate feel", [("add_background_music", {"genre": "upbeat"})]),
    (VIDEO, "upbeat but calm lo-fi", [("add_background_music", {"genre": "lofi", "mood": "calm"})]),
    (VIDEO, "upbeat corporate track at 100000 bpm", [("add_background_music", {"bpm": 250.0})]),
    (VIDEO, "upbeat corporate track at 5 bpm", [("add_background_music", {"bpm": 30.0})]),
    (VIDEO, "add a tense electronic beat", [("add_background_music", {"genre": "electronic", "mood": "tense"})]),
    (VIDEO, "add sad acoustic music", [("add_background_music", {"genre": "acoustic", "mood": "sad"})]),
    (VIDEO, "add ambient happy music", [("add_background_music", {"genre": "ambient", "mood": "happy"})]),
    (VIDEO, "add hip-hop music", [("add_background_music", {"genre": "hiphop"})]),
    (MUSIC, "make it quieter", [("set_music_volume", {"scale": 0.7})]),
    (MUSIC, "louder", [("set_music_volume", {"scale": 1.4})]),
    (MUSIC, "set the music volume to 20%", [("set_music_volume", {"volume": 0.2})]),
    (MUSIC, "fade in over 2 seconds and fade out 3s", [("set_music_fades", {"fade_in_ms": 2000, "fade_out_ms": 3000})]),
    (MUSIC, "fade in and out", [("set_music_fades", {"fade_in_ms": 2000, "fade_out_ms": 2000})]),
    (MUSIC, "start the music at 0:05", [("set_music_timing", {"start_ms": 5000})]),
    (MUSIC, "music from 0:05 to 0:40", [("set_music_timing", {"start_ms": 5000, "end_ms": 40000})]),
    (MUSIC, "stop the music at 50 seconds", [("set_music_timing", {"end_ms": 50000})]),
    (VIDEO, "mute the original audio", [("set_original_audio", {"mute": True})]),
    (VIDEO, "keep the original audio", [("set_original_audio", {"mute": False})]),
    (MUSIC, "turn off ducking", [("set_ducking", {"enabled": False})]),
    (MUSIC, "duck the music under the voice", [("set_ducking", {"enabled": True})]),
    (VIDEO, 'add a title "Urban Dreams" for 3 seconds at the top',
     [("add_title", {"text": "Urban Dreams", "duration_ms": 3000, "position": "top"})]),
    (VIDEO, 'add a title "Launch" from 0:02 to 0:05 at the bottom',
     [("add_title", {"text": "Launch", "start_ms": 2000, "end_ms": 5000, "position": "bottom"})]),
    (VIDEO, "put 'Chapter 1' at the start for 3 seconds", [("add_title", {"text": "Chapter 1", "duration_ms": 3000})]),
    (VIDEO, 'add a title "Thanks" at the end', [("add_title", {"text": "Thanks", "anchor": "end"})]),
    (VIDEO, "trim the first 5 seconds", [("trim_video", {"cut_start_ms": 5000})]),
    (VIDEO, "cut the last 3 seconds", [("trim_video", {"cut_end_ms": 3000})]),
    (VIDEO, "trim it to 0:05-0:45", [("trim_video", {"keep_from_ms": 5000, "keep_to_ms": 45000})]),
    (VIDEO, "make it vertical for TikTok", [("set_aspect_ratio", {"aspect": "9:16"})]),
    (VIDEO, "square please", [("set_aspect_ratio", {"aspect": "1:1"})]),
    (VIDEO, "make it 16:9", [("set_aspect_ratio", {"aspect": "16:9"})]),
    (MUSIC, "remove the music", [("remove_track", {"kind": "music"})]),
    (MUSIC, "delete the title", [("remove_track", {"kind": "title"})]),
    (MUSIC, "undo", [("undo", {})]),
    (MUSIC, "no drums", [("update_music", {"remove": ["drums"]})]),
    (MUSIC, "add piano", [("update_music", {"add": ["piano"]})]),
    (MUSIC, "start calm and build to the end", [("update_music", {"mood": "calm", "intensity": "build"})]),
    (MUSIC, "make it darker", [("update_music", {"brightness": -0.7})]),
    (MUSIC, "hit the logo reveal at 0:42", [("update_music", {"hits": [42000]})]),
    (MUSIC, "another one", [("regenerate_music", {})]),
    (MUSIC, "make it loopable", [("update_music", {"loopable": True})]),
    (NOTHING, "make a 30 second upbeat track for a product launch",
     [("add_background_music", {"genre": "upbeat", "duration_ms": 30000})]),
    (CLIPS, "merge these clips", [("merge_clips", {})]),
    (CLIPS, "use the second video", [("use_media", {"index": 1})]),
    # edits whose words are also routing keywords (issue #11): the edit is read, not lost
    (MUSIC, "balance out the voice and the music", [("balance_levels", {})]),
    (MUSIC, "平衡一下人声和音乐", [("balance_levels", {})]),
    (VIDEO, "the credits roll at the end needs music", [("add_background_music", {})]),
    (VIDEO, "status quo is boring, make it epic", [("add_background_music", {"mood": "epic"})]),
    (VIDEO, "upload speed was slow, anyway add piano music", [("add_background_music", {"genre": "piano"})]),
    (MUSIC, "fade the music out before the credits", [("set_music_fades", {"fade_out_ms": 2000})]),
    (MUSIC, "the end credits need something calmer", [("update_music", {"mood": "calm"})]),
    (MUSIC, "the download took forever, make the music louder", [("set_music_volume", {"scale": 1.4})]),
    # the piece playing is changed, not replaced; a new piece is asked for with "add some…"/"换"
    (MUSIC, "make the music louder", [("set_music_volume", {"scale": 1.4})]),
    (MUSIC, "这段音乐加点鼓", [("update_music", {"add": ["drums"]})]),
    (MUSIC, "add some jazz", [("add_background_music", {"genre": "lofi"})]),
    (MUSIC, "replace the music with something calmer", [("add_background_music", {"mood": "calm"})]),
    # Chinese
    (VIDEO, "添加舒缓的背景音乐，音量30%", [("add_background_music", {"mood": "calm"}),
                                    ("set_music_volume", {"volume": 0.3})]),
    (VIDEO, "加一段电影感的配乐", [("add_background_music", {"genre": "cinematic"})]),
    (MUSIC, "音乐小一点", [("set_music_volume", {"scale": 0.7})]),
    (VIDEO, "静音原声", [("set_original_audio", {"mute": True})]),
    (VIDEO, "保留原声", [("set_original_audio", {"mute": False})]),
    (VIDEO, "添加标题“城市之夜”", [("add_title", {"text": "城市之夜"})]),
    (MUSIC, "淡入3秒", [("set_music_fades", {"fade_in_ms": 3000})]),
    (VIDEO, "改成竖屏", [("set_aspect_ratio", {"aspect": "9:16"})]),
    (MUSIC, "删除音乐", [("remove_track", {"kind": "music"})]),
    (MUSIC, "撤销", [("undo", {})]),
    (MUSIC, "换一首", [("regenerate_music", {})]),
    (VIDEO, "剪掉前5秒", [("trim_video", {"cut_start_ms": 5000})]),
    # an uploaded voice-over by name; the video's own sound by its names
    (VOICED, "mute the voiceover", [("set_original_audio", {"mute": True, "voice": True})]),
    (VOICED, "unmute the voice-over", [("set_original_audio", {"mute": False, "voice": True})]),
    (VOICED, "lower the narration", [("set_original_volume", {"scale": 0.7, "voice": True})]),
    (VOICED, "narrator at 60% volume", [("set_original_volume", {"volume": 0.6, "voice": True})]),
    (VOICED, "静音配音", [("set_original_audio", {"mute": True, "voice": True})]),
    (VOICED, "旁白小一点", [("set_original_volume", {"scale": 0.7, "voice": True})]),
    (VOICED, "给视频配音乐", [("add_background_music", {})]),  # 配音乐 is music, not a voice-over (配音)
    # 配 sets a video to music (给视频配乐), but 配乐 turned down or removed is the piece playing, not a new one
    (VIDEO, "给视频配乐", [("add_background_music", {})]),
    (MUSIC, "配乐小一点", [("set_music_volume", {"scale": 0.7})]),
    (MUSIC, "配乐大声一点", [("set_music_volume", {"scale": 1.4})]),
    (MUSIC, "去掉配乐", [("remove_track", {"kind": "music"})]),
    (MUSIC, "删除配乐", [("remove_track", {"kind": "music"})]),
    (VOICED, "lower the music under the voice", [("set_music_volume", {"scale": 0.7}), ("set_ducking", {"enabled": True})]),
    (VOICED, "make the voice louder than the music", [("set_original_volume", {"scale": 1.4, "voice": True})]),
    # a volume word changes the sound nearest to it
    (VOICED, "keep the voice-over but lower the music", [("set_music_volume", {"scale": 0.7}),
                                                          ("set_original_audio", {"mute": False, "voice": True})]),
    (VOICED, "把人声下面的音乐调小", [("set_music_volume", {"scale": 0.7})]),
    (VOICED, "人声太小，音乐调小一点", [("set_music_volume", {"scale": 0.7})]),
    (VOICED, "mute the original audio", [("set_original_audio", {"mute": True, "voice": None})]),
    (VOICED, "lower the video's voice", [("set_original_volume", {"scale": 0.7, "voice": None})]),
    # "no voice" inside a music request describes the music; it does not mute the voice-over
    (VOICED, "add calm piano music with no voice", [("add_background_music", {"genre": "piano"})]),
    (VIDEO, "add music with no narration", [("add_background_music", {})]),
    (VOICED, "add instrumental music, no vocals, no voice", [("add_background_music", {})]),
    (VOICED, "add music without the voiceover", [("add_background_music", {})]),
    # the user's song is kept unless a composed piece is asked for in its place
    (SONG, "add calm piano music", [("add_background_music", {"genre": "piano", "replace": None})]),
    (SONG, "compose calm solo piano music instead", [("add_background_music", {"genre": "piano", "replace": True})]),
    (SONG, "replace my song with calm piano music", [("add_background_music", {"genre": "piano", "replace": True})]),
    (SONG, "use my song as the music", [("use_uploaded_music", {"index": 0})]),
    (SONG, "use jazz instead of my song", [("add_background_music", {"replace": True})]),
    (SONG, "make piano music instead of my song", [("add_background_music", {"genre": "piano", "replace": True})]),
    (SONG, "用钢琴音乐代替我的歌", [("add_background_music", {"genre": "piano", "replace": True})]),
]


@pytest.mark.parametrize("ctx, text, expected", CASES, ids=[c[1][:40] for c in CASES])
def test_requests_become_edits(ctx: Context, text: str, expected: list[tuple[str, dict]]) -> None:
    plan = Director().plan(text, ctx)
    got = [(e.name, e.args) for e in plan.edits]
    assert [name for name, _ in got] == [name for name, _ in expected]
    for (_, args), (_, want) in zip(got, expected):
        for key, value in want.items():
            assert args.get(key) == value, (text, args)


def test_language_follows_the_message() -> None:
    assert Director().plan("添加背景音乐", VIDEO).language == "zh"
    assert Director().plan("add music", VIDEO).language == "en"


def test_korean_or_japanese_text_gets_an_english_reply_not_a_chinese_one() -> None:
    """The client opens a Chinese session only for Han text; the engine must agree (one rule)."""
    from protocol.language import language_of

    for text in ("배경 음악 추가해 주세요", "音楽をつけて".replace("音楽", "おんがく")):
        assert Director().plan(text, VIDEO).language == "en" == language_of(text)


def test_unknown_requests_are_reported_not_guessed() -> None:
    plan = Director().plan("add a fade between scenes", VIDEO)
    assert not plan.edits and plan.unknown == "add a fade between scenes"


def test_questions_are_answered_not_edited() -> None:
    assert Director().plan("how do I export?", VIDEO).question == "export"
    assert Director().plan("what can you do?", VIDEO).question == "capabilities"


def test_deterministic() -> None:
    text = "add upbeat corporate music at 110 bpm, fade out 2s and add a title 'Go' for 2 seconds"
    assert Director().plan(text, VIDEO) == Director().plan(text, VIDEO)


@pytest.mark.parametrize("text, ms", [("0:42", 42000), ("1:05.5", 65500), ("42s", 42000), ("1.5 seconds", 1500),
                                      ("2 min", 120000), ("3秒", 3000)])
def test_times(text: str, ms: int) -> None:
    assert parse_time_ms(text) == ms


def test_title_quotes_keep_inner_quotes_and_apostrophes() -> None:
    found = quoted_text('add a title "He said "hi": it\'s 100%" for 2 seconds')
    assert found is not None and found[0] == 'He said "hi": it\'s 100%'


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_an_empty_message_is_asked_about_not_refused(text: str) -> None:
    plan = Director().plan(text, VIDEO)
    assert not plan.edits and plan.question == "empty" and plan.unknown is None


def test_balance_puts_the_music_under_the_voice_and_ducks_it() -> None:
    from engine.chat.edits import SPEECH_LEVEL, Editor

    session = {"session_id": "s", "state": {"video_infos": []}, "history": []}
    editor = Editor(session)
    editor.apply(Director().plan("add lo-fi music", VIDEO).edits[0])
    music = session["state"]["draft"]["t"][-1]
    music["m"].update({"volume": 0.9, "duck": False})
    result = editor.apply(Director().plan("balance out the voice and the music", MUSIC).edits[0])
    assert result.facts == {"before": 0.9, "after": SPEECH_LEVEL}
    assert music["m"]["volume"] == SPEECH_LEVEL and music["m"]["duck"] is True
