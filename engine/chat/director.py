"""Chat text → timeline edits, in English or Chinese, deterministically.

The cloud backend is an LLM agent; the local engine has no model, so this module reads
requests the way a careful editor would: it looks for the things a music-for-video
session asks for (genre, mood, tempo, volume, fades, timing, original audio, ducking,
titles, trims, aspect ratio, removals, undo) and turns each into an :class:`Edit` — the
"function call" the backend streams. It never guesses silently: what it could not map
to an edit is reported back as not understood, with what it can do instead.

Parsing is pure (text + a little context in, edits out); ``engine.chat.edits`` applies them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from engine.chat.vocabulary import INSTRUMENTS, MOOD_WORDS, MUSIC_WORDS, pick, pick_genre, tempo
from engine.chat.edit_names import EditName
from protocol.language import Language, language_of
from protocol.scripts import UNSPACED as _CJK

MIN_BPM, MAX_BPM = 30.0, 250.0  # what the composer plays (engine.music.brief)

_MATCH_VIDEO = re.compile(
    r"match(?:es|ing)?\s+(?:the\s+)?(?:mood|length|vibe|pace|feel|energy|style|video)|fits?\s+(?:the|my)\s+video|"
    r"匹配|契合|适合(?:视频|画面)|配合(?:视频|画面)|根据视频", re.I)
# "show me how the music fits": the fit picture (engine.workspace.plan), answered with its link
_SHOW_FIT = re.compile(
    r"\b(?:show|see|draw|picture|visuali[sz]e)\b[^.?!]{0,20}\bhow (?:the |my |this )?(?:music|soundtrack|song|track) "
    r"(?:fits|lines up|matches|syncs)|\bhow (?:does|do) (?:the |my |this )?(?:music|soundtrack|song) (?:fit|line up)\b|"
    r"\bwhy (?:does )?(?:the |my |this )?(?:music|soundtrack|song) fits?\b|\bfit picture\b|"
    r"(?:看看|显示|画出?)音乐(?:怎么|如何|是怎样)(?:配合|契合|贴合|对上)|音乐(?:和|与)画面(?:怎么|如何)(?:配合|对上|契合)", re.I)
#: An uploaded voice-over by name ("lower the narration", "mute the voiceover"), not the video's own sound.
_VOICE_OVER = re.compile(r"(?:voice[- ]?overs?|\bvo\b|narration|narrator|voice(?:\s+track)?\b|配音(?!乐)|旁白)")
_VIDEO_SOUND = re.compile(r"original|video|source|camera|dialog|原声")
_OWN_SOUND = re.compile(r"original|voice|speech|dialog|narrat(?:ion|or)|source audio|原声|人声|旁白|配音(?!乐)")
#: 配 as "set to music" (给视频配乐, 配一段音乐), not the 配 of 配乐 named to be removed or turned up or down
_SCORE_VERB = r"(?<!去掉)(?<!删除)(?<!移除)(?<!关掉)(?<!不要)配(?!乐\s*(?:小|大|轻|响|低|高|调|音量|静音))"
_MUSIC_SOUND = re.compile(r"\b(?:music|bgm|song|soundtrack)\b|音乐|配乐")


def _volume_noun(lower: str) -> bool | None:
    """Which sound a volume verb changes, by the noun nearest to it: the one after an English verb
    ("lower the music"), the one before a Chinese one (音乐调小); True for the user's own sound,
    False for the music, None when no verb has a noun beside it."""
    verb = re.search(r"\b(?:lower|reduce|raise|boost|turn\s+(?:down|up))\b", lower)
    if verb:
        after = lower[verb.end():]
        found = [(m.start(), own) for rx, own in ((_OWN_SOUND, True), (_MUSIC_SOUND, False)) if (m := rx.search(after))]
        return min(found)[1] if found else None
    word = re.search(r"调小|调大|调低|调高|小一点|大一点|小声|低一点|轻一点", lower)
    if word:
        before = lower[:word.start()]
        found = [(m.end(), own) for rx, own in ((_OWN_SOUND, True), (_MUSIC_SOUND, False))
                 for m in list(rx.finditer(before))[-1:]]
        return max(found)[1] if found else None
    return None
_TIME = r"(?:(\d{1,2}):(\d{2})(?:\.(\d+))?|(\d+(?:\.\d+)?)\s*(?:s\b|sec\b|secs\b|seconds?\b|秒)|(\d+(?:\.\d+)?)\s*(?:min(?:ute)?s?\b|分钟))"
_TIME_RX = re.compile(_TIME, re.I)
_QUOTES = {'"': '"', "“": "”", "'": "'", "‘": "’", "「": "」", "『": "』", "《": "》"}


def parse_time_ms(text: str) -> int | None:
    """"0:42" / "42s" / "1.5 seconds" / "2 min" / "3秒" → milliseconds."""
    match = _TIME_RX.search(text)
    return _time_from_match(match) if match else None


def _time_from_match(match: re.Match[str]) -> int:
    mins, secs, frac, plain, minutes = match.groups()
    if mins is not None:
        value = int(mins) * 60 + int(secs) + (float(f"0.{frac}") if frac else 0.0)
    elif plain is not None:
        value = float(plain)
    else:
        value = float(minutes) * 60
    return int(round(value * 1000))


@dataclass(frozen=True)
class Edit:
    """One change to the timeline, named as the backend's tool would be."""

    name: EditName
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    edits: tuple[Edit, ...]
    language: Language             # "en" | "zh"
    question: str | None = None    # a question to answer instead of editing ("how do I export?")
    unknown: str | None = None     # the part of the request we could not act on


@dataclass(frozen=True)
class Context:
    """What the director needs to know about the session to read a request."""

    has_video: bool
    has_music: bool
    duration_ms: int | None
    uploads: tuple[str, ...] = ()      # uploaded file names, in order
    audio_uploads: tuple[str, ...] = ()


def quoted_text(text: str, after: int = 0) -> tuple[str, int, int] | None:
    """The first quoted span after ``after``: (content, start, end). The closing quote is
    the last matching one, so titles may contain quotes, colons and backslashes."""
    for i in range(after, len(text)):
        ch = text[i]
        if ch in _QUOTES:
            close = _QUOTES[ch]
            end = text.rfind(close)
            if ch == "'" and end > i:
                # an apostrophe in "let's" is not a quote: need a closing quote before a boundary
                candidates = [m.start() for m in re.finditer(r"'(?=\W|$)", text) if m.start() > i]
                end = candidates[-1] if candidates else -1
            if end > i + 0:
                return text[i + 1:end], i, end + 1
    return None


class Director:
    """Reads one chat message in the context of a session."""

    def plan(self, message: str, ctx: Context) -> Plan:
        text = " ".join(message.split())
        lang = language_of(text)
        if not text:
            return Plan((), lang, question="empty")  # nothing asked: say what can be asked
        lower = text.lower()
        edits: list[Edit] = []

        if re.search(r"\bundo\b|revert (?:that|the last)|take that back|撤销|撤回|还原", lower):
            return Plan((Edit(EditName.UNDO),), lang)
        if re.search(r"what can you do|\bhelp\b|capabilit|你能做什么|怎么用|帮助", lower) and not MUSIC_WORDS.search(lower):
            return Plan((), lang, question="capabilities")
        if re.search(r"what'?s (?:on|in) (?:the|my) timeline|show (?:me )?(?:the|my) timeline|时间线上有什么|看看时间线", lower):
            return Plan((), lang, question="timeline")
        fit = _SHOW_FIT.search(lower)
        if fit:  # a picture of the music already there — unless the rest of the message asks for a change
            rest = self.plan(text[:fit.start()] + " " + text[fit.end():], ctx)
            return rest if rest.edits else Plan((), lang, question="fit")
        if re.search(r"\b(?:nudge|fine-?tune|adjust)\b[^.]{0,30}\b(?:position|placement|timing)\b|"
                     r"move (?:the )?(?:title|music|clip|text) (?:a bit|slightly|a little)|微调", lower):
            return Plan((), lang, question="position")
        question = re.search(r"\bhow (?:do|can) i (export|download|render|upload)|如何(导出|下载|上传)|怎么(导出|下载|上传)", lower)
        if question:
            return Plan((), lang, question="export" if "upload" not in question.group(0) and "上传" not in question.group(0)
                        else "upload")

        raw = message.strip()  # titles keep the user's own line breaks and spacing
        title = self._title(raw)
        title_span = (title.args.pop("_span") if title else None)
        rest = text if not title_span else " ".join((raw[:title_span[0]] + " " + raw[title_span[1]:]).split())
        rest_lower = rest.lower()

        edits += self._media(rest_lower, ctx)
        edits += self._music(rest, rest_lower, ctx)
        edits += self._volume(rest_lower, ctx)
        edits += self._fades(rest_lower)
        edits += self._music_timing(rest_lower)
        edits += self._original_audio(rest_lower)
        edits += self._ducking(rest_lower)
        if not any(e.name in ("set_music_volume", "set_ducking") for e in edits):
            edits += self._balance(rest_lower)
        if title:
            edits.append(title)
        edits += self._trim(rest_lower, ctx)
        edits += self._loudness(rest_lower)
        edits += self._aspect(rest_lower)
        edits += self._remove(rest_lower)
        if not edits:
            return Plan((), lang, unknown=text)
        return Plan(tuple(edits), lang)

    # ------------------------------------------------------------------ media

    def _media(self, lower: str, ctx: Context) -> list[Edit]:
        edits: list[Edit] = []
        if len(ctx.uploads) > 1 and re.search(r"\b(?:merge|combine|join|concatenate|stitch)\b|合并|拼接", lower):
            edits.append(Edit(EditName.MERGE_CLIPS, {}))
            return edits
        ordinal = re.search(r"\b(?:use|work on|switch to|select|edit|take)\s+(?:the\s+)?"
                            r"(first|second|third|fourth|fifth|last|\d+(?:st|nd|rd|th)?)\s+(?:video|clip|file|one)",
                            lower)
        if ordinal and ctx.uploads:
            word = ordinal.group(1)
            order = {"first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "last": len(ctx.uploads) - 1}
            index = order.get(word, int(re.sub(r"\D", "", word) or 1) - 1)
            edits.append(Edit(EditName.USE_MEDIA, {"index": index}))
            return edits
        for i, name in enumerate(ctx.uploads):
            stem = name.rsplit(".", 1)[0].lower()
            if len(stem) >= 3 and re.search(rf"\b(?:use|work on|switch to|select|edit)\s+(?:the\s+)?{re.escape(stem)}",
                                            lower):
                edits.append(Edit(EditName.USE_MEDIA, {"index": i}))
                break
        return edits

    # ------------------------------------------------------------------ music

    def _music(self, text: str, lower: str, ctx: Context) -> list[Edit]:
        regenerate = re.search(r"regenerate|another (?:one|version|track|take)|try (?:again|another)|"
                               r"different (?:one|version|track|music)|new version|重新生成|再来一[个首]|换一首", lower)
        genre, described = pick_genre(lower)
        mood = pick(lower, MOOD_WORDS) or described
        pace = tempo(lower)
        bpm = re.search(r"(?<![\d.])(\d{1,9}(?:\.\d+)?)\s*bpm", lower)
        match_video = bool(_MATCH_VIDEO.search(lower))
        music_words = bool(MUSIC_WORDS.search(lower))
        args: dict[str, Any] = {}
        # "add piano" to a piece is an instrument; "add piano music" is the genre
        if genre and not (genre == "piano" and re.search(
                r"\badd (?:some |a )?piano\b(?!\s+(?:music|piece|track|only))|加(?:点|入)?钢琴(?!曲)", lower)):
            args["genre"] = genre
        if mood:
            args["mood"] = mood
        if bpm:
            args["bpm"] = min(MAX_BPM, max(MIN_BPM, float(bpm.group(1))))  # "100000 bpm": the fastest we play
        elif re.search(r"\bfaster\b|speed (?:it|the music) up|(?<![欢轻愉明畅凉痛爽])快一点|加快", lower) and ctx.has_music:
            args["tempo_scale"] = 1.15
        elif re.search(r"\bslower\b|slow (?:it|the music) down|慢一点|放慢", lower) and ctx.has_music:
            args["tempo_scale"] = 0.87
        elif pace:
            args["tempo"] = pace
        key = re.search(r"\bin ([a-g](?:#|♯|b|♭)?)\s*(major|minor|maj|min|m)?\b", lower)
        if key and music_words:
            mode = key.group(2) or ""
            args["key"] = key.group(1).upper().replace("♯", "#").replace("♭", "b") + (
                " minor" if mode in ("minor", "min", "m") else " major" if mode else "")
        if re.search(r"\bdarker\b|更暗|暗一点|低沉", lower):
            args["brightness"] = -0.7
        elif re.search(r"\bbrighter\b|更明亮|明亮一点|亮一点", lower):
            args["brightness"] = 0.7
        add = [name for name, words in INSTRUMENTS.items()
               if re.search(rf"\b(?:add|with|more|include)\s+(?:some\s+|a\s+|more\s+)?(?:{'|'.join(map(re.escape, words))})\b",
                            lower) or any(f"加{w}" in lower or f"加入{w}" in lower or f"加点{w}" in lower
                                          for w in words if _CJK.search(w))]
        remove = [name for name, words in INSTRUMENTS.items()
                  if re.search(rf"\b(?:no|without|remove|drop|lose|mute|cut)\s+(?:the\s+)?(?:{'|'.join(map(re.escape, words))})\b",
                               lower) or any(f"不要{w}" in lower or f"去掉{w}" in lower for w in words if _CJK.search(w))]
        add = [a for a in add if a != args.get("genre")]  # "add piano music" names the genre, not a part
        if add:
            args["add"] = add
        if remove:
            args["remove"] = remove
            args["add"] = [a for a in add if a not in remove]
            if not args["add"]:
                args.pop("add")
        if re.search(r"start (?:calm|soft|quiet|slow)[^.]*build|build(?:s|ing)? (?:up )?(?:to|towards)(?: the)? end|"
                     r"gradually (?:build|grow)|crescendo|逐渐|渐强|越来越", lower):
            args["intensity"] = "build"
        elif re.search(r"keep it (?:calm|low|subtle)|stay(?:s)? (?:calm|subtle)|subtle|understated|低调", lower):
            args["intensity"] = "calm"
        elif re.search(r"high energy all|full energy|intense throughout|全程激昂", lower):
            args["intensity"] = "high"
        elif re.search(r"\bsteady\b|constant energy|平稳", lower):
            args["intensity"] = "steady"
        if re.search(r"\bloop(?:able|ing)?\b|seamless", lower):
            args["loopable"] = True
        hits = [_time_from_match(list(_TIME_RX.finditer(m.group(0)))[-1])
                for m in re.finditer(r"\bhit\b[^.,;]*?\bat\s+" + _TIME, lower)]
        if hits:
            args["hits"] = hits
        if match_video:
            args["match_video"] = True
        if not ctx.has_video and (music_words or genre or mood):
            duration = self._length(lower)
            if duration:
                args["duration_ms"] = duration
            if re.search(r"visuali[sz]er|video|mp4|1080p|可视化|视频", lower):
                args["visualizer"] = True

        creating = re.search(r"\b(?:add|generate|create|make|compose|put|give|want|wants|need|needs|use|replace|"
                             r"swap|new|different|score|play|pick|choose|find|would like)\b|"
                             r"添加|加|生成|制作|来|换|想要|需要|用|选|整|" + _SCORE_VERB, lower)
        if regenerate and (ctx.has_music or args or music_words):
            return [Edit(EditName.REGENERATE_MUSIC, {k: v for k, v in args.items() if k != "match_video"})]
        own = r"(?:my|uploaded|this)\s+(?:own\s+)?(?:track|song|audio|music|mp3|wav)\b"
        if ctx.audio_uploads and music_words and re.search(rf"\b{own}|我的(?:音乐|歌)", lower) and not re.search(
                rf"\b(?:replace|swap|change)\s+{own}\s+(?:with|for|to)\b|\b(?:instead\s+of|rather\s+than)\s+{own}|"
                r"(?:代替|替换|换掉)我的(?:音乐|歌)", lower):  # "replace my song with piano", "jazz instead of my song"
            return [Edit(EditName.USE_UPLOADED_MUSIC, {"index": len(ctx.audio_uploads) - 1})]
        # "make the music louder" is about the piece playing; "add some music" asks for a new one
        the_piece = re.search(r"\b(?:the|this|that|my|our|current|existing)\s+(?:background\s+)?(?:music|bgm|"
                              r"soundtrack|track|song|tune|score|melody|piece)\b|(?:这首|这段|现在的|当前的)(?:音乐|配乐|曲子|歌)|"
                              r"把(?:背景)?(?:音乐|配乐)", lower)
        replacing = re.search(r"\b(?:replace|swap|switch|change)\b|换|替换|代替", lower)
        new_piece = creating and ("genre" in args or replacing or (music_words and not the_piece))
        if ctx.has_music and not new_piece:
            # "more epic", "no drums", "at 90 bpm": change the current piece, keep its seed
            return [Edit(EditName.UPDATE_MUSIC, args)] if args else []
        if not args and not (music_words and creating):
            return []
        if replacing or re.search(r"\binstead\b", lower):  # also over the user's own song (Editor keeps it else)
            args["replace"] = True
        return [Edit(EditName.ADD_BACKGROUND_MUSIC, args)]

    @staticmethod
    def _length(lower: str) -> int | None:
        m = re.search(r"(\d+(?:\.\d+)?)\s*(?:-|\s)?(?:second|sec|s)\b|(\d+(?:\.\d+)?)\s*秒", lower)
        if m:
            return int(float(m.group(1) or m.group(2)) * 1000)
        m = re.search(r"(\d+(?:\.\d+)?)\s*(?:-|\s)?(?:minute|min)s?\b|(\d+(?:\.\d+)?)\s*分钟", lower)
        if m:
            return int(float(m.group(1) or m.group(2)) * 60_000)
        return None

    # ------------------------------------------------------------------ levels & timing

    def _volume(self, lower: str, ctx: Context) -> list[Edit]:
        own = re.search(_OWN_SOUND, lower)
        music = re.search(_MUSIC_SOUND, lower)
        original = bool(own) and not (music and music.start() < own.start())  # "lower the music under the voice"
        nearest = _volume_noun(lower)
        if nearest is not None:  # "keep the voice-over but lower the music", 人声太小，音乐调小一点
            original = nearest
        name = EditName.SET_ORIGINAL_VOLUME if original else EditName.SET_MUSIC_VOLUME
        # "lower the narration": an uploaded voice-over (the Editor refuses when there is none)
        target = {"voice": True} if original and _VOICE_OVER.search(lower) and not _VIDEO_SOUND.search(lower) else {}
        percent = re.search(r"(\d{1,3}(?:\.\d+)?)\s*%|volume\s+(?:to\s+|at\s+)?(0?\.\d+|1(?:\.0+)?)\b|音量\s*(\d{1,3})", lower)
        if percent and (re.search(r"volume|level|loud|quiet|%|音量", lower)):
            raw = percent.group(1) or percent.group(3)
            value = float(raw) / 100 if raw else float(percent.group(2))
            return [Edit(name, {"volume": round(max(0.0, min(value, 2.0)), 3), **target})]
        if re.search(r"\b(?:quieter|softer|lower|turn (?:it |the music )?down|less loud|too loud|reduce)\b|"
                     r"小声|调小|小一点|低一点|轻一点|太吵", lower) and (ctx.has_music or original):
            return [Edit(name, {"scale": 0.7, **target})]
        if re.search(r"\b(?:louder|turn (?:it |the music )?up|boost|more volume|too quiet)\b|大声|调大|大一点|响一点",
                     lower) and (ctx.has_music or original):
            return [Edit(name, {"scale": 1.4, **target})]
        return []

    def _fades(self, lower: str) -> list[Edit]:
        args: dict[str, int] = {}
        both = re.search(r"fade (?:it )?in and (?:fade )?out|fade in/out|淡入淡出", lower)
        piece = r"(?:the\s+)?(?:music|bgm|track|song|it)"
        for kind, pattern in (("fade_in_ms", rf"fade[- ]?in|fade\s+{piece}\s+in\b|淡入"),
                              ("fade_out_ms", rf"fade[- ]?out|fade\s+{piece}\s+out\b|淡出")):
            m = re.search(rf"(?:{pattern})(?:\s+(?:over|of|for|in))?\s*{_TIME}", lower)
            if m:
                args[kind] = _time_from_match(_TIME_RX.search(m.group(0)))
            elif re.search(pattern, lower) or both:
                args[kind] = 2000
        return [Edit(EditName.SET_MUSIC_FADES, args)] if args else []

    def _music_timing(self, lower: str) -> list[Edit]:
        args: dict[str, int] = {}
        span = re.search(rf"music\s+(?:from|between)\s+{_TIME}\s+(?:to|and|until|-)\s+{_TIME}", lower)
        if span:
            times = [_time_from_match(m) for m in _TIME_RX.finditer(span.group(0))]
            args = {"start_ms": times[0], "end_ms": times[1]}
        else:
            start = re.search(rf"(?:start|begin)s?\s+(?:the\s+)?music\s+(?:at|from)\s+{_TIME}|music\s+(?:start|begin)s?\s+(?:at|from)\s+{_TIME}|音乐从\s*{_TIME}\s*开始", lower)
            end = re.search(rf"(?:stop|end)s?\s+(?:the\s+)?music\s+(?:at|by)\s+{_TIME}|music\s+(?:stop|end)s?\s+(?:at|by)\s+{_TIME}|音乐在\s*{_TIME}\s*(?:结束|停止)", lower)
            if start:
                args["start_ms"] = _time_from_match(_TIME_RX.search(start.group(0)))
            if end:
                args["end_ms"] = _time_from_match(_TIME_RX.search(end.group(0)))
        return [Edit(EditName.SET_MUSIC_TIMING, args)] if args else []

    def _original_audio(self, lower: str) -> list[Edit]:
        named = rf"(?:the\s+|my\s+)?{_VOICE_OVER.pattern}"
        # "music with no voice" describes the music (no vocals), it does not silence the voice-over
        lower = re.sub(rf"\b(?:music|song|track|piano|beat)\b[^.;!?]*?\b(?:with\s+no|without|no)\s+{named}", "", lower)
        if re.search(rf"\b(?:mute|remove|drop|kill|silence|no|turn off)\s+{named}|静音(?:配音(?!乐)|旁白)|去掉(?:配音(?!乐)|旁白)", lower):
            return [Edit(EditName.SET_ORIGINAL_AUDIO, {"mute": True, "voice": True})]
        if re.search(rf"\b(?:unmute|keep|bring back)\s+{named}|恢复(?:配音(?!乐)|旁白)|保留(?:配音(?!乐)|旁白)", lower):
            return [Edit(EditName.SET_ORIGINAL_AUDIO, {"mute": False, "voice": True})]
        if re.search(r"\b(?:mute|remove|drop|kill|silence|no)\s+(?:the\s+)?(?:original|video'?s?|source|camera)\s+"
                     r"(?:audio|sound)|\bmute the video\b|静音原声|去掉原声|关闭原声|去除原声", lower):
            return [Edit(EditName.SET_ORIGINAL_AUDIO, {"mute": True})]
        if re.search(r"\bkeep (?:the )?(?:original|video'?s?) (?:audio|sound)|\bunmute\b|保留原声|恢复原声", lower):
            return [Edit(EditName.SET_ORIGINAL_AUDIO, {"mute": False})]
        return []

    def _ducking(self, lower: str) -> list[Edit]:
        if re.search(r"\b(?:no|disable|turn off|without|stop)\s+(?:the\s+)?(?:auto-?)?duck", lower) or "关闭闪避" in lower:
            return [Edit(EditName.SET_DUCKING, {"enabled": False})]
        if re.search(r"\bduck(?:ing)?\b|lower (?:the )?music (?:under|when|during) (?:the )?(?:voice|speech|talking)|"
                     r"说话时降低", lower):
            return [Edit(EditName.SET_DUCKING, {"enabled": True})]
        return []

    def _balance(self, lower: str) -> list[Edit]:
        """"balance out the voice and the music": the music sits under the voice and ducks."""
        if re.search(r"\bbalance\b[^.!?]{0,40}\b(?:voice|voices|speech|narration|narrator|dialog|dialogue|vocals?|"
                     r"talking|speaker)\b|\b(?:voice|speech|narration|dialog|dialogue)\b[^.!?]{0,30}\bbalance|"
                     r"平衡[^。！？]{0,10}(?:人声|说话|旁白|解说|对白)|(?:人声|旁白|解说|对白)[^。！？]{0,10}平衡", lower):
            return [Edit(EditName.BALANCE_LEVELS, {})]
        return []

    # ------------------------------------------------------------------ title

    def _title(self, text: str) -> Edit | None:
        lower = text.lower()
        trigger = re.search(r"\b(?:title|caption|text|heading|subtitle|lower third)\b|标题|字幕|文字", lower)
        put = re.search(r"\b(?:put|add|show|display|write|insert)\b|添加|加上|显示|写", lower)
        if not (trigger or put):
            return None
        found = quoted_text(text, (trigger or put).start())
        if not found and trigger:
            colon = re.search(r"(?:title|caption|标题|字幕)\s*[:：]\s*(.+?)(?:\s+(?:for|from|at)\b|$)", text, re.I)
            if colon:
                found = (colon.group(1).strip(), colon.start(1), colon.end(1))
        if not found:
            return None
        content, start, end = found
        if not trigger and not re.search(r"\b(?:at the (?:start|beginning|end)|for \d|from \d|on screen)\b|开头|结尾",
                                         lower[end:] + " " + lower[:start]):
            return None
        after = text[end:].lower()
        args: dict[str, Any] = {"text": content}
        span = re.search(rf"from\s+{_TIME}\s+(?:to|until|-)\s+{_TIME}|从\s*{_TIME}\s*到\s*{_TIME}", after)
        if span:
            times = [_time_from_match(m) for m in _TIME_RX.finditer(span.group(0))]
            args["start_ms"], args["end_ms"] = times[0], times[1]
        else:
            duration = re.search(rf"(?:for|lasting)\s+{_TIME}|持续\s*{_TIME}", after)
            if duration:
                args["duration_ms"] = _time_from_match(_TIME_RX.search(duration.group(0)))
            at = re.search(rf"\bat\s+{_TIME}|在\s*{_TIME}", after)
            if at:
                args["start_ms"] = _time_from_match(_TIME_RX.search(at.group(0)))
            if re.search(r"at the end|end of the video|结尾|最后", after + lower[:start]):
                args["anchor"] = "end"
        position = re.search(r"\b(top|bottom|center|centre|middle|upper|lower)\b|(顶部|底部|居中|中间|上方|下方)", after)
        if position:
            word = position.group(1) or position.group(2)
            args["position"] = {"centre": "center", "middle": "center", "upper": "top", "lower": "bottom",
                                "顶部": "top", "上方": "top", "底部": "bottom", "下方": "bottom", "居中": "center",
                                "中间": "center"}.get(word, word)
        args["_span"] = (start, end)
        return Edit(EditName.ADD_TITLE, args)

    # ------------------------------------------------------------------ picture

    def _trim(self, lower: str, ctx: Context) -> list[Edit]:
        if not ctx.has_video:
            return []
        first = re.search(rf"(?:trim|cut|remove|drop|skip)\s+(?:off\s+)?(?:the\s+)?first\s+{_TIME}|剪掉前\s*{_TIME}|去掉前\s*{_TIME}", lower)
        last = re.search(rf"(?:trim|cut|remove|drop)\s+(?:off\s+)?(?:the\s+)?last\s+{_TIME}|剪掉(?:最)?后\s*{_TIME}|去掉(?:最)?后\s*{_TIME}", lower)
        args: dict[str, int] = {}
        if first:
            args["cut_start_ms"] = _time_from_match(_TIME_RX.search(first.group(0)))
        if last:
            args["cut_end_ms"] = _time_from_match(_TIME_RX.search(last.group(0)))
        span = re.search(rf"(?:trim|cut)\s+(?:it\s+|the\s+video\s+)?to\s+{_TIME}\s*(?:-|to|until)\s*{_TIME}", lower)
        if span:
            times = [_time_from_match(m) for m in _TIME_RX.finditer(span.group(0))]
            args = {"keep_from_ms": times[0], "keep_to_ms": times[1]}
        length = re.search(rf"(?:make|trim|cut|shorten)\s+(?:it|the video)\s+(?:to\s+)?{_TIME}(?:\s+long)?|只保留前\s*{_TIME}", lower)
        if length and not args:
            args = {"keep_from_ms": 0, "keep_to_ms": _time_from_match(_TIME_RX.search(length.group(0)))}
        return [Edit(EditName.TRIM_VIDEO, args)] if args else []

    def _loudness(self, lower: str) -> list[Edit]:
        """-16 LUFS suits web video; streaming platforms normalise to -14."""
        m = re.search(r"(-|−)\s*(1[0-9]|2[0-4])\s*lufs", lower)
        if m:
            return [Edit(EditName.SET_LOUDNESS, {"lufs": -float(m.group(2))})]
        if re.search(r"\bfor (?:youtube|spotify|streaming|tiktok)\b|streaming platforms?|流媒体", lower) and \
                re.search(r"\bloud|master|level|响度", lower):
            return [Edit(EditName.SET_LOUDNESS, {"lufs": -14.0})]
        return []

    def _aspect(self, lower: str) -> list[Edit]:
        m = re.search(r"\b(16:9|9:16|1:1|4:5)\b", lower)
        if m:
            return [Edit(EditName.SET_ASPECT_RATIO, {"aspect": m.group(1)})]
        if re.search(r"\b(?:vertical|portrait|tiktok|reels?|shorts)\b|竖屏|竖版", lower):
            return [Edit(EditName.SET_ASPECT_RATIO, {"aspect": "9:16"})]
        if re.search(r"\bsquare\b|instagram post|方形|正方形", lower):
            return [Edit(EditName.SET_ASPECT_RATIO, {"aspect": "1:1"})]
        if re.search(r"\b(?:landscape|widescreen|horizontal)\b|横屏|横版", lower):
            return [Edit(EditName.SET_ASPECT_RATIO, {"aspect": "16:9"})]
        return []

    def _remove(self, lower: str) -> list[Edit]:
        m = re.search(r"\b(?:remove|delete|drop|take out|get rid of|lose)\s+(?:the\s+)?(?:background\s+)?"
                      r"(music|bgm|soundtrack|track|title|text|caption|heading)\b|(?:删除|去掉|移除)(音乐|配乐|背景音乐|标题|字幕|文字)",
                      lower)
        if not m:
            return []
        word = m.group(1) or m.group(2)
        kind = "title" if word in ("title", "text", "caption", "heading", "标题", "字幕", "文字") else "music"
        return [Edit(EditName.REMOVE_TRACK, {"kind": kind})]
