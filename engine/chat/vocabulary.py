"""The words people use for a genre, a mood and a tempo, in English and Chinese.

The composer knows nine genres, nine moods (``engine.music.brief``) and any tempo; people say
"light and breezy", "laid-back", "something for a wedding", "轻快", "热血", "慢节奏". These tables
map the common words and collocations onto the composer's terms, so a request is understood
rather than answered with the default piece. :func:`pick` finds the entry a text names first,
skipping words the user negated or complained about ("not too sad", "too dark", "不要太紧张",
"太伤感了").

Latin words match whole words (case-insensitive); Chinese words match as substrings. Where
two words of a table start at the same place the longer one wins ("科技感" over "科技").
"""
from __future__ import annotations

import re
from functools import lru_cache

from protocol.scripts import UNSPACED as _CJK

GENRE_WORDS: dict[str, tuple[str, ...]] = {
    "lofi": ("lo-fi", "lofi", "lo fi", "chillhop", "chill hop", "chill beats", "study beats", "jazzy", "jazz",
             "bossa nova", "coffee shop", "café", "cafe", "低保真", "爵士", "咖啡馆"),
    "cinematic": ("cinematic", "film score", "film music", "filmic", "orchestral", "orchestra", "symphonic",
                  "trailer", "movie", "hollywood", "documentary", "电影", "大片", "管弦", "交响", "影视",
                  "纪录片", "预告片"),
    "corporate": ("corporate", "business", "presentation", "commercial", "advert", "advertising", "explainer",
                  "product demo", "product video", "startup", "saas", "marketing", "promo", "企业", "商务", "宣传",
                  "广告", "产品", "科技", "公司", "发布会"),
    "upbeat": ("upbeat", "pop music", "pop song", "pop track", "pop-style", "pop style", "poppy", "k-pop",
               "feel-good", "feel good", "dance", "disco", "funk", "funky", "catchy", "动感", "流行", "舞曲", "律动"),
    "ambient": ("ambient", "atmospheric", "drone music", "soundscape", "ambience", "new age", "meditation", "spa",
                "氛围", "环境音", "冥想", "白噪音"),
    "acoustic": ("acoustic", "folk", "guitar", "ukulele", "country music", "singer-songwriter", "unplugged", "民谣",
                 "吉他", "木吉他", "尤克里里", "乡村"),
    "electronic": ("electronic", "edm", "house music", "deep house", "techno", "synthwave", "electro", "synth-pop",
                   "synthpop", "dubstep", "drum and bass", "trance", "future bass", "cyberpunk", "retrowave",
                   "chiptune", "8-bit", "电子", "电音", "赛博朋克", "科技感", "合成器"),
    "hiphop": ("hip-hop", "hip hop", "hiphop", "boom bap", "boom-bap", "trap", "rap", "嘻哈", "说唱", "饶舌",
               "街头"),
    "piano": ("piano", "solo piano", "piano music", "piano piece", "piano track", "piano only", "just piano", "钢琴曲",
              "钢琴", "纯钢琴"),
}
MOOD_WORDS: dict[str, tuple[str, ...]] = {
    "calm": ("calm", "calmer", "gentler", "mellower", "chill", "chilled", "relaxed", "relaxing", "peaceful", "gentle", "soft", "mellow", "soothing",
             "serene", "tranquil", "laid-back", "laid back", "easygoing", "easy-going", "low-key", "cozy", "cosy",
             "quiet", "zen", "舒缓", "平静", "安静", "轻松", "放松", "温柔", "柔和", "恬静", "宁静", "安宁", "悠闲",
             "惬意", "慵懒", "治愈", "清新", "舒服"),
    "happy": ("happy", "happier", "cheerier", "cheerful", "joyful", "joyous", "fun", "playful", "uplifting", "positive", "sunny", "bouncy",
              "carefree", "light-hearted", "lighthearted", "breezy", "optimistic", "hopeful", "inspiring",
              "inspirational", "motivational", "whimsical", "quirky", "cute", "festive", "celebratory", "summery",
              "快乐", "开心", "欢快", "愉快", "轻快", "欢乐", "活泼", "俏皮", "可爱", "阳光", "明快", "喜庆", "愉悦",
              "积极", "乐观", "励志"),
    "epic": ("epic", "powerful", "heroic", "grand", "majestic", "triumphant", "victorious", "anthemic", "massive",
             "史诗", "宏大", "震撼", "大气", "磅礴", "壮丽", "恢弘", "热血", "霸气"),
    "tense": ("tense", "suspense", "suspenseful", "thriller", "dramatic", "ominous", "anxious", "nervous", "urgent",
              "edgy", "scary", "horror", "creepy", "action-packed", "紧张", "悬疑", "惊悚", "恐怖", "紧迫", "压迫",
              "不安"),
    "sad": ("sad", "sadder", "melancholic", "melancholy", "emotional", "nostalgic", "sentimental", "bittersweet", "somber",
            "sombre", "gloomy", "wistful", "heartfelt", "touching", "tearjerker", "悲伤", "伤感", "忧伤", "难过",
            "感伤", "怀旧", "忧郁", "催泪", "感人", "煽情", "哀伤"),
    "dreamy": ("dreamy", "ethereal", "floaty", "dreamlike", "hazy", "spacey", "spacy", "airy", "celestial", "magical",
               "otherworldly", "梦幻", "空灵", "飘渺", "朦胧", "唯美", "奇幻"),
    "energetic": ("energetic", "exciting", "driving", "hype", "hyped", "intense", "high-energy", "high energy",
                  "lively", "vibrant", "dynamic", "punchy", "pumping", "sporty", "workout", "adrenaline",
                  "adrenaline-fuelled", "adrenaline-fueled", "adrenaline-pumping", "激情", "活力", "激昂", "劲爆", "燃",
                  "带感", "嗨", "振奋", "刺激", "运动"),
    "romantic": ("romantic", "warm", "tender", "loving", "love song", "intimate", "heartwarming", "wedding", "浪漫",
                 "温暖", "温馨", "甜蜜", "深情", "爱情", "婚礼", "抒情"),
    "mysterious": ("mysterious", "mystery", "dark", "mystical", "enigmatic", "eerie", "haunting", "spooky", "神秘",
                   "诡异", "暗黑", "黑暗", "阴森", "悬念"),
}
# Words that name a tempo by themselves. Bare "fast"/"slow"/"quick" are read only next to a
# music noun (see :func:`tempo`): "upload speed was slow" says nothing about the music.
TEMPO_WORDS: dict[str, tuple[str, ...]] = {
    "fast": ("fast-paced", "fast paced", "up-tempo", "uptempo", "high-tempo", "high tempo", "quick-paced", "brisk",
             "快节奏", "节奏快", "节奏明快", "明快", "轻快", "快速", "速度快", "节奏感强", "快歌", "急促"),
    "slow": ("slow-paced", "slow paced", "downtempo", "down-tempo", "low-tempo", "leisurely", "unhurried",
             "慢节奏", "节奏慢", "慢速", "缓慢", "节奏舒缓", "慢歌", "舒缓的节奏"),
    "medium": ("mid-tempo", "midtempo", "medium tempo", "moderate tempo", "medium pace", "moderate pace", "中速",
               "中等节奏", "节奏适中", "不快不慢"),
}
INSTRUMENTS: dict[str, tuple[str, ...]] = {
    "drums": ("drums", "drum", "beat", "percussion", "鼓"),
    "piano": ("piano", "keys", "钢琴"),
    "strings": ("strings", "violin", "cello", "弦乐", "小提琴"),
    "guitar": ("guitar", "吉他"),
    "bass": ("bass", "贝斯", "低音"),
    "pad": ("pad", "pads", "synth pad"),
    "synth": ("synth", "synths", "synthesizer", "合成器"),
    "lead": ("melody", "lead", "旋律"),
}
MUSIC_WORDS = re.compile(
    r"\b(?:music|bgm|soundtrack|score|track|tune|song|beat|beats|melody|jingle|background|instrumental|vibes?)\b|"
    r"音乐|配乐|背景乐|曲子|乐曲|曲|歌|旋律|bgm", re.I)

_MUSIC_NOUN = (r"(?:music|track|song|tune|beat|beats|piece|bgm|soundtrack|tempo|pace|rhythm|groove|melody|jingle|"
               r"instrumental|piano|guitar|drums|" + "|".join(
                   re.escape(w) for words in GENRE_WORDS.values() for w in words if not _CJK.search(w)) + ")")
# "slow, gentle guitar" describes the guitar; "slow, anyway add piano" does not
_NOT_A_VERB = r"(?!(?:add|anyway|but|so|then|now|please|make|put|use|give|just|ok|okay|also)\b)"
_BARE_TEMPO = re.compile(
    rf"\b(fast|quick|slow),?\s+(?:{_NOT_A_VERB}[\w-]+,?\s+){{0,2}}?{_MUSIC_NOUN}\b|"
    r"\b(?:make|keep)\s+it\s+(fast|quick|slow)\b|\bsomething\s+(fast|quick|slow)\b", re.I)
_NEGATION_LATIN = re.compile(
    r"\b(?:not|no|never|without|nothing|too|don'?t\s+(?:want|need|make\s+it))\s+(?:[\w-]+\s+){0,2}$", re.I)
_NEGATION_CJK = re.compile(r"(?:不要|别|不想|不用|避免|不(?!错)|没有|太)\S{0,2}$")


@lru_cache(maxsize=None)
def _word_pattern(word: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w-])", re.I)


def _negated(text: str, start: int, word: str) -> bool:
    before = text[max(0, start - 40):start]
    return bool((_NEGATION_CJK if _CJK.search(word) else _NEGATION_LATIN).search(before))


def _first(text: str, table: dict[str, tuple[str, ...]]) -> tuple[int, str] | None:
    """(position, entry) of the first word of ``table`` in ``text``, the longer word on a tie."""
    best: tuple[int, int, str] | None = None
    for key, words in table.items():
        for word in words:
            found = re.finditer(re.escape(word), text) if _CJK.search(word) else _word_pattern(word).finditer(text)
            pos = next((m.start() for m in found if not _negated(text, m.start(), word)), -1)
            if pos >= 0 and (best is None or (pos, -len(word)) < (best[0], -best[1])):
                best = (pos, len(word), key)
    return (best[0], best[2]) if best else None


def pick(text: str, table: dict[str, tuple[str, ...]]) -> str | None:
    """The entry whose word appears first in ``text`` (not negated), or None."""
    found = _first(text, table)
    return found[1] if found else None


# Words that name the "upbeat" genre when they stand alone but describe another genre beside
# them: "upbeat corporate music" is corporate music that is upbeat, not pop.
DESCRIBING_UPBEAT = ("upbeat", "feel-good", "feel good", "catchy", "动感")


def pick_genre(text: str) -> tuple[str | None, str | None]:
    """The genre ``text`` asks for and the mood a describing word implies (None when none).

    "upbeat corporate music" → corporate, happy; "upbeat music" and "upbeat pop" → upbeat."""
    genre = pick(text, GENRE_WORDS)
    if genre != "upbeat":
        return genre, None
    others = {name: words for name, words in GENRE_WORDS.items() if name != "upbeat"}
    nouns = {"upbeat": tuple(w for w in GENRE_WORDS["upbeat"] if w not in DESCRIBING_UPBEAT)}
    other = pick(text, others)
    if other and not pick(text, nouns):
        return other, "happy"
    return genre, None


def tempo(text: str) -> str | None:
    """"fast", "slow" or "medium" when the text names a tempo for the music; else None."""
    candidates = [c for c in (_first(text, TEMPO_WORDS),) if c]
    for m in _BARE_TEMPO.finditer(text):
        if not _negated(text, m.start(), m.group(0)):
            word = next(g for g in m.groups() if g).lower()
            candidates.append((m.start(), "slow" if word == "slow" else "fast"))
            break
    return min(candidates)[1] if candidates else None
