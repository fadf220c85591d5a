"""Genre, mood and tempo words, English and Chinese: what people say → what the composer plays.

"给我的视频配上轻快的背景音乐" (light, brisk background music) used to get the default dreamy ambient
piece. Each phrasing below names a genre, mood and/or tempo; the director must read exactly
those (no more: a guessed mood is as wrong as a missed one).
"""
from __future__ import annotations

import pytest

from engine.chat.director import Context, Director
from engine.chat.edits import Editor
from engine.music.brief import GENRES, MOODS
from engine.music.styles import STYLES
from engine.chat.tempo import apply_tempo, tempo_bpm
from engine.chat.vocabulary import GENRE_WORDS, MOOD_WORDS, tempo

VIDEO = Context(has_video=True, has_music=False, duration_ms=60_000, uploads=("demo.mp4",))
MUSIC = Context(has_video=True, has_music=True, duration_ms=60_000, uploads=("demo.mp4",))

ENGLISH: list[tuple[str, dict[str, str]]] = [
    ('add light-hearted music', {'mood': 'happy'}),
    ('give it a cheerful, bouncy soundtrack', {'mood': 'happy'}),
    ('something sunny and carefree', {'mood': 'happy'}),
    ('make the music feel-good and catchy', {'genre': 'upbeat'}),
    ('an inspiring track for a product launch', {'mood': 'happy'}),
    ('motivational background music', {'mood': 'happy'}),
    ('whimsical, quirky music for the cat video', {'mood': 'happy'}),
    ('festive music for the holiday promo', {'genre': 'corporate', 'mood': 'happy'}),
    ('add laid-back lo-fi beats', {'genre': 'lofi', 'mood': 'calm'}),
    ('chill vibes please', {'mood': 'calm'}),
    ('soothing background music', {'mood': 'calm'}),
    ('serene, tranquil music for the spa tour', {'genre': 'ambient', 'mood': 'calm'}),
    ('add cozy coffee shop jazz', {'genre': 'lofi', 'mood': 'calm'}),
    ('mellow acoustic guitar', {'genre': 'acoustic', 'mood': 'calm'}),
    ('gentle piano for the tutorial', {'genre': 'piano', 'mood': 'calm'}),
    ('add triumphant orchestral music', {'genre': 'cinematic', 'mood': 'epic'}),
    ('epic trailer music', {'genre': 'cinematic', 'mood': 'epic'}),
    ('heroic, majestic soundtrack', {'mood': 'epic'}),
    ('anthemic music for the finale', {'mood': 'epic'}),
    ('suspenseful music for the reveal', {'mood': 'tense'}),
    ('add ominous, dark music', {'mood': 'tense'}),
    ('tense thriller score', {'mood': 'tense'}),
    ('scary horror music', {'mood': 'tense'}),
    ('urgent, edgy music for the countdown', {'mood': 'tense'}),
    ('add sentimental piano music', {'genre': 'piano', 'mood': 'sad'}),
    ('bittersweet, nostalgic music', {'mood': 'sad'}),
    ('a somber, melancholic track', {'mood': 'sad'}),
    ('heartfelt music for the tribute', {'mood': 'sad'}),
    ('dreamy ambient music', {'genre': 'ambient', 'mood': 'dreamy'}),
    ('ethereal, floaty soundscape', {'genre': 'ambient', 'mood': 'dreamy'}),
    ('something hazy and dreamlike', {'mood': 'dreamy'}),
    ('magical, celestial music', {'mood': 'dreamy'}),
    ('lively music for the opening', {'mood': 'energetic'}),
    ('vibrant, punchy track', {'mood': 'energetic'}),
    ('high-energy workout music', {'mood': 'energetic'}),
    ('hype music for the sports highlights', {'mood': 'energetic'}),
    ('adrenaline-fuelled electronic track', {'genre': 'electronic', 'mood': 'energetic'}),
    ('add romantic music for the wedding video', {'mood': 'romantic'}),
    ('warm, tender music', {'mood': 'romantic'}),
    ('a heartwarming love song instrumental', {'mood': 'romantic'}),
    ('mysterious, spooky music', {'mood': 'mysterious'}),
    ('eerie, haunting music', {'mood': 'mysterious'}),
    ('add fast-paced electronic music', {'genre': 'electronic', 'tempo': 'fast'}),
    ('upbeat, up-tempo pop music', {'genre': 'upbeat', 'tempo': 'fast'}),
    ('a brisk corporate track', {'genre': 'corporate', 'tempo': 'fast'}),
    ('slow sad piano', {'genre': 'piano', 'mood': 'sad', 'tempo': 'slow'}),
    ('something slow and dreamy', {'mood': 'dreamy', 'tempo': 'slow'}),
    ('downtempo chill music', {'mood': 'calm', 'tempo': 'slow'}),
    ('mid-tempo acoustic music', {'genre': 'acoustic', 'tempo': 'medium'}),
    ('fast hip-hop beat', {'genre': 'hiphop', 'tempo': 'fast'}),
    ('add a slow, gentle guitar tune', {'genre': 'acoustic', 'mood': 'calm', 'tempo': 'slow'}),
    ('make it an upbeat dance track', {'genre': 'upbeat'}),
    ('synthwave music with a retro feel', {'genre': 'electronic'}),
    ('add some funky music', {'genre': 'upbeat'}),
    ('boom bap beat for the skate clip', {'genre': 'hiphop'}),
    ('cinematic film music for the documentary', {'genre': 'cinematic'}),
    ('corporate music for the explainer video', {'genre': 'corporate'}),
    ('trap beat', {'genre': 'hiphop'}),
    ('folk music with ukulele', {'genre': 'acoustic'}),
    ('EDM for the product teaser', {'genre': 'electronic'}),
    ('not too sad, add calm music', {'mood': 'calm'}),
    ('add happy music, nothing dark', {'mood': 'happy'}),
    ('leisurely unhurried music', {'tempo': 'slow'}),
    ('add music that is fast-paced and exciting', {'mood': 'energetic', 'tempo': 'fast'}),
]
CHINESE: list[tuple[str, dict[str, str]]] = [
    ('给我的视频配上轻快的背景音乐', {'mood': 'happy', 'tempo': 'fast'}),
    ('加一段欢快的音乐', {'mood': 'happy'}),
    ('来点活泼可爱的配乐', {'mood': 'happy'}),
    ('配一首阳光明快的曲子', {'mood': 'happy', 'tempo': 'fast'}),
    ('需要喜庆的背景音乐', {'mood': 'happy'}),
    ('积极乐观的励志配乐', {'mood': 'happy'}),
    ('加点俏皮的音乐', {'mood': 'happy'}),
    ('配上开心的背景乐', {'mood': 'happy'}),
    ('舒缓的背景音乐', {'mood': 'calm'}),
    ('来一段轻松惬意的音乐', {'mood': 'calm'}),
    ('安静柔和的钢琴曲', {'genre': 'piano', 'mood': 'calm'}),
    ('治愈系的背景音乐', {'mood': 'calm'}),
    ('温柔的吉他曲', {'genre': 'acoustic', 'mood': 'calm'}),
    ('宁静悠闲的氛围音乐', {'genre': 'ambient', 'mood': 'calm'}),
    ('放松的冥想音乐', {'genre': 'ambient', 'mood': 'calm'}),
    ('史诗感的配乐', {'mood': 'epic'}),
    ('来一段宏大震撼的音乐', {'mood': 'epic'}),
    ('磅礴大气的交响乐', {'genre': 'cinematic', 'mood': 'epic'}),
    ('热血的背景音乐', {'mood': 'epic'}),
    ('霸气一点的配乐', {'mood': 'epic'}),
    ('紧张悬疑的配乐', {'mood': 'tense'}),
    ('惊悚恐怖的音乐', {'mood': 'tense'}),
    ('紧迫感强的背景音乐', {'mood': 'tense'}),
    ('伤感的钢琴曲', {'genre': 'piano', 'mood': 'sad'}),
    ('怀旧的背景音乐', {'mood': 'sad'}),
    ('感人催泪的配乐', {'mood': 'sad'}),
    ('忧郁的音乐', {'mood': 'sad'}),
    ('梦幻的背景音乐', {'mood': 'dreamy'}),
    ('空灵飘渺的音乐', {'mood': 'dreamy'}),
    ('唯美的配乐', {'mood': 'dreamy'}),
    ('充满活力的背景音乐', {'mood': 'energetic'}),
    ('激情澎湃的音乐', {'mood': 'energetic'}),
    ('劲爆的电音', {'genre': 'electronic', 'mood': 'energetic'}),
    ('动感的舞曲', {'genre': 'upbeat'}),
    ('燃一点的配乐', {'mood': 'energetic'}),
    ('浪漫温馨的音乐', {'mood': 'romantic'}),
    ('婚礼用的甜蜜音乐', {'mood': 'romantic'}),
    ('深情的抒情音乐', {'mood': 'romantic'}),
    ('神秘的背景音乐', {'mood': 'mysterious'}),
    ('诡异阴森的音乐', {'mood': 'mysterious'}),
    ('快节奏的电子音乐', {'genre': 'electronic', 'tempo': 'fast'}),
    ('慢节奏的钢琴曲', {'genre': 'piano', 'tempo': 'slow'}),
    ('节奏明快的流行音乐', {'genre': 'upbeat', 'mood': 'happy', 'tempo': 'fast'}),
    ('中速的民谣', {'genre': 'acoustic', 'tempo': 'medium'}),
    ('节奏舒缓的配乐', {'mood': 'calm', 'tempo': 'slow'}),
    ('来一首慢歌', {'tempo': 'slow'}),
    ('加一段嘻哈说唱', {'genre': 'hiphop'}),
    ('配点爵士乐', {'genre': 'lofi'}),
    ('低保真的学习音乐', {'genre': 'lofi'}),
    ('电影感的配乐', {'genre': 'cinematic'}),
    ('企业宣传片配乐', {'genre': 'corporate'}),
    ('科技感的背景音乐', {'genre': 'electronic'}),
    ('产品发布会的配乐', {'genre': 'corporate'}),
    ('赛博朋克风的音乐', {'genre': 'electronic'}),
    ('尤克里里的轻快音乐', {'genre': 'acoustic', 'mood': 'happy', 'tempo': 'fast'}),
    ('乡村民谣风格', {'genre': 'acoustic'}),
    ('不要太紧张，来点轻松的音乐', {'mood': 'calm'}),
    ('给视频加个欢乐的BGM', {'mood': 'happy'}),
    ('想要一段节奏感强的运动音乐', {'mood': 'energetic', 'tempo': 'fast'}),
    ('换成抒情的钢琴曲', {'genre': 'piano', 'mood': 'romantic'}),
    ('背景音乐要温暖一点', {'mood': 'romantic'}),
    ('配一段纪录片风格的音乐', {'genre': 'cinematic'}),
]


def _music_args(text: str, ctx: Context = VIDEO) -> dict[str, object]:
    plan = Director().plan(text, ctx)
    music = [e.args for e in plan.edits if e.name in ("add_background_music", "update_music", "regenerate_music")]
    assert music, (text, plan)
    return music[0]


@pytest.mark.parametrize("text, want", ENGLISH + CHINESE, ids=[t for t, _ in ENGLISH + CHINESE])
def test_phrasing_names_genre_mood_and_tempo(text: str, want: dict[str, str]) -> None:
    args = _music_args(text)
    assert {k: args[k] for k in ("genre", "mood", "tempo") if k in args} == want


def test_at_least_60_phrasings_per_language() -> None:
    assert len(ENGLISH) >= 60 and len(CHINESE) >= 60


def test_tables_speak_the_composers_terms() -> None:
    assert set(GENRE_WORDS) <= set(GENRES) and set(MOOD_WORDS) <= set(MOODS)


def test_light_and_brisk_is_not_the_default_dreamy_piece() -> None:
    """The issue's request, through the editor: a happy piece at a brisk tempo for its style."""
    session = {"session_id": "s", "state": {"video_infos": []}, "history": []}
    editor = Editor(session)
    plan = Director().plan("给我的视频配上轻快的背景音乐", VIDEO)
    for edit in plan.edits:
        editor.apply(edit)
    brief = session["state"]["draft"]["t"][-1]["m"]["music"]["brief"]
    low, preferred, high = STYLES[brief["genre"]].tempo
    assert brief["mood"] == "happy" and brief["genre"] != "ambient"
    assert preferred < brief["bpm"] <= high


@pytest.mark.parametrize("genre", sorted(STYLES))
def test_tempo_words_stay_inside_the_genre(genre: str) -> None:
    low, preferred, high = STYLES[genre].tempo
    assert low <= tempo_bpm(genre, "slow") <= preferred <= tempo_bpm(genre, "fast") <= high
    assert tempo_bpm(genre, "medium") == preferred


def test_an_explicit_bpm_beats_a_tempo_word() -> None:
    brief = {"genre": "lofi", "bpm": 75.0}
    apply_tempo(brief, "fast")
    assert brief["bpm"] == 75.0


def test_slow_without_genre_or_mood_chooses_a_calm_slow_style() -> None:
    brief: dict[str, object] = {}
    apply_tempo(brief, "slow")
    assert brief["mood"] == "calm" and brief["bpm"] == tempo_bpm(str(brief["genre"]), "slow")
    assert STYLES[str(brief["genre"])].tempo[1] <= min(STYLES[g].tempo[1] for g in ("lofi", "piano"))


def test_tempo_word_on_a_composed_piece_uses_its_genre() -> None:
    args = _music_args("make it fast-paced", MUSIC)
    assert args == {"tempo": "fast"}
    session = {"session_id": "s", "state": {"video_infos": []}, "history": []}
    editor = Editor(session)
    editor.apply(Director().plan("add lo-fi music", VIDEO).edits[0])
    music = session["state"]["draft"]["t"][-1]
    music["m"]["music"]["resolved"] = {"genre": "lofi", "bpm": 82.0}
    editor.apply(Director().plan("make it fast-paced", MUSIC).edits[0])
    assert music["m"]["music"]["brief"]["bpm"] == tempo_bpm("lofi", "fast")


@pytest.mark.parametrize("text", [
    "upload speed was slow, anyway add piano music",
    "the slow-motion part needs music",
    "quick question: add music",
])
def test_slow_and_fast_about_other_things_are_not_a_tempo(text: str) -> None:
    assert tempo(text.lower()) is None


@pytest.mark.parametrize("text, mood", [("not too sad, add calm music", "calm"), ("不要太紧张，来点轻松的音乐", "calm"),
                                        ("不错的欢快音乐", "happy")])
def test_negated_words_are_skipped(text: str, mood: str) -> None:
    assert _music_args(text)["mood"] == mood


def test_more_cheerful_is_not_faster() -> None:
    """"欢快一点" (more cheerful) contains 快一点 (faster); it changes the mood, not the tempo."""
    assert _music_args("更欢快一点", MUSIC) == {"mood": "happy"}


@pytest.mark.parametrize("text", ["the export looked too dark last time, add warmer music", "太伤感了，加一段音乐"])
def test_a_complaint_is_not_a_wish(text: str) -> None:
    """"too dark", "太伤感了" say what the user does not want."""
    assert "mood" not in _music_args(text)


def test_add_piano_music_is_the_genre_not_an_extra_part() -> None:
    assert _music_args("add piano music") == {"genre": "piano"}
    assert _music_args("加点钢琴曲") == {"genre": "piano"}
