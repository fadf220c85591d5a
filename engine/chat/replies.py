"""The engine's replies, worded the way the cloud backend words them.

The real backend believes its user has a web editor, so it ends edits with "Click
**Export**…" and "Preview in the timeline…". The local engine keeps that habit on
purpose: the client's GUI translation (SKILL.md §4) then runs on real replies, locally
and in tests, exactly as it must against the cloud. Replies are specific — genre, tempo,
key, volume, timing — because the skill asks for "specifics (what/name/timing)".
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from engine.chat.edit_names import EditName
from engine.chat.edits import COMPOSES_MUSIC, Result
from engine.composing import GENRE_NAMES
from protocol.language import Language

CAPABILITIES_EN = (
    "I can: add or replace background music (lo-fi, cinematic, corporate, upbeat, ambient, acoustic, "
    "electronic, hip-hop, piano; moods like calm, happy, epic, tense, sad; a tempo such as \"at 90 bpm\" or "
    "\"fast-paced\"; or \"music that matches the mood and length of my video\"), change its volume (\"35%\", "
    "\"quieter\"), fades, start and end times, instruments (\"no drums\", \"add piano\") and energy (\"start calm, "
    "build to the end\"); mute or keep the original audio, balance the voice and the music, duck the music under "
    "speech; master to -14 LUFS for streaming; add a title (\"add a title 'Launch Day' for 3 seconds at the "
    "top\"); trim the video; switch to 16:9, 9:16 or 1:1; remove a track; undo.")
CAPABILITIES_ZH = (
    "我可以：添加或更换背景音乐（Lo-fi、电影感、企业、动感、氛围、原声民谣、电子、嘻哈、钢琴；舒缓、欢快、史诗、紧张、伤感等情绪；"
    "快节奏、慢节奏等速度；或“匹配视频情绪和长度的音乐”），调整音量（“30%”“小一点”）、淡入淡出、起止时间；静音或保留原声、"
    "平衡人声和音乐；添加标题；剪辑视频；"
    "切换 16:9、9:16、1:1 画幅；删除轨道；撤销。")


def _s(seconds: float) -> str:
    return f"{seconds:g}s"


def _times(times: list[float], lang: Language, limit: int = 6) -> str:
    """"3.1s, 9.8s and 16s" — the first ``limit``, then how many more."""
    shown = [f"{t:g} 秒" if lang == "zh" else f"{t:g}s" for t in times[:limit]]
    more = len(times) - len(shown)
    if lang == "zh":
        return "、".join(shown) + (f" 等 {len(times)} 处" if more else "")
    if more:
        return ", ".join(shown) + f" and {more} more"
    return ", ".join(shown[:-1]) + " and " + shown[-1] if len(shown) > 1 else shown[0]


def _cuts_clause(sync: dict[str, Any] | None, lang: Language) -> str:
    """What the music does at the video's cuts — only what ``engine.chat.cut_sync`` counted."""
    if not sync or not sync.get("cuts"):
        return ""
    sections, fills = sync.get("sections") or [], sync.get("fills") or []
    marked = len(sections) + len(fills)
    if not marked:
        return ""
    if lang == "zh":
        parts = ([f"段落转换：{_times(sections, lang)}"] if sections else []) + (
            [f"过门：{_times(fills, lang)}"] if fills else [])
        return f"，视频的 {sync['cuts']} 个镜头切换中有 {marked} 个有音乐呼应（{'；'.join(parts)}）"
    parts = ([f"section change{'s' if len(sections) > 1 else ''} at {_times(sections, lang)}"] if sections else []) + (
        [f"fill{'s' if len(fills) > 1 else ''} at {_times(fills, lang)}"] if fills else [])
    cuts = sync["cuts"]
    return f", marking {marked} of your {cuts} scene cut{'s' if cuts > 1 else ''} ({'; '.join(parts)})"


GENRE_NAMES_ZH = {"lofi": "Lo-fi", "cinematic": "电影感配乐", "corporate": "企业宣传风", "upbeat": "动感流行",
                  "ambient": "氛围音乐", "acoustic": "原声民谣", "electronic": "电子音乐", "hiphop": "嘻哈",
                  "piano": "钢琴独奏"}
MOOD_NAMES_ZH = {"calm": "舒缓", "happy": "欢快", "epic": "史诗", "tense": "紧张", "sad": "伤感", "dreamy": "梦幻",
                 "energetic": "活力", "romantic": "浪漫", "mysterious": "神秘"}


STEP_NAMES = {1: "a half step", 2: "a whole step", 3: "a minor third", 4: "a major third", 5: "a fourth"}
STEP_NAMES_ZH = {1: "半音", 2: "一个全音", 3: "小三度", 4: "大三度", 5: "纯四度"}
SECTION_NAMES_ZH = {"climax": "高潮", "main": "主段", "variation": "变奏段"}  # the sections a lift lands on


def _key_clause(resolved: dict[str, Any], lang: Language) -> str:
    """", modulating up a whole step to F# minor into the climax at 62s" — the lift a listener hears."""
    out = []
    for change in resolved.get("key_changes") or []:
        step = int(change.get("semitones", 0))
        at, key, section = round(float(change.get("start_s", 0.0)), 1), change.get("key", ""), change.get("section", "")
        if lang == "zh":
            into = f"进入{SECTION_NAMES_ZH.get(section, section)}时" if section else ""
            out.append(f"，{at:g} 秒{into}升{STEP_NAMES_ZH.get(step, f'{step} 个半音')}转到 {key}")
        else:
            into = f" into the {section}{'' if section == 'climax' else ' section'}" if section else ""
            out.append(f", modulating up {STEP_NAMES.get(step, f'{step} semitones')} to {key}{into} at {at:g}s")
    return "".join(out)


def music_line(resolved: dict[str, Any], lang: Language) -> str:
    """The piece in one clause: genre, mood, tempo, key, length, sections, what it does at the cuts."""
    genre = GENRE_NAMES.get(resolved.get("genre", ""), resolved.get("genre", "music"))
    sections = resolved.get("sections") or []
    cuts = _cuts_clause(resolved.get("cut_sync"), lang)
    if lang == "zh":
        genre = GENRE_NAMES_ZH.get(resolved.get("genre", ""), genre)
        mood = MOOD_NAMES_ZH.get(resolved.get("mood", ""), resolved.get("mood", ""))
        text = (f"{genre}（{mood}，{resolved.get('bpm', 0):.0f} BPM，{resolved.get('key', '')}），"
                f"时长 {resolved.get('duration_s', 0):g} 秒，共 {len(sections)} 段")
        return text + _key_clause(resolved, lang) + cuts + "，结尾落在最后一帧"
    count = len(sections)
    described = f"{resolved.get('mood', '')} {genre.lower()}".strip()
    text = (f"{'an' if described[:1] in 'aeiou' and described else 'a'} {described} piece at {resolved.get('bpm', 0):.0f} BPM in "
            f"{resolved.get('key', '')}, {resolved.get('duration_s', 0):g}s long in {count} "
            f"section{'s' if count != 1 else ''}")
    return text + _key_clause(resolved, lang) + cuts + ", ending on the last frame"


Words = Callable[[Mapping[str, Any]], str]


def _added_en(f: Mapping[str, Any]) -> str:
    if f.get("kept"):
        return (f"Your {f['kept']} is the music, so I composed no second piece to play over it; to replace it "
                f"with a composed piece, say \"compose {f['wanted']} instead\".")
    verb = "replaced the music with" if f.get("replaced") else "added"
    return f"Done! I {verb} {f['line']}, at {round(f.get('volume', 1) * 100)}% volume."


def _added_zh(f: Mapping[str, Any]) -> str:
    if f.get("kept"):
        return f"你的 {f['kept']} 就是背景音乐，没有再叠加一首新曲子；想换成新生成的音乐，请说“换成新生成的音乐”。"
    return f"已{'替换' if f.get('replaced') else '添加'}背景音乐：{f['line']}，音量 {round(f.get('volume', 1) * 100)}%。"


def _whose(f: Mapping[str, Any]) -> str:
    """Which sound an original-audio edit reached: the video's own, or the uploaded voice-over."""
    return f"Voice-over ({f['voice']})" if f.get("voice") else "Original audio"


def _whose_zh(f: Mapping[str, Any]) -> str:
    return f"配音 {f['voice']}" if f.get("voice") else "原声"


def song_settled(facts: Mapping[str, Any], lang: Language) -> str:
    """What became of an uploaded sound its analysis found no speech in (``Editor.settle_sounds``)."""
    name = facts["name"]
    if lang == "zh":
        if facts["placed"]:
            return f"{name} 里没有人声，所以它就是你的音乐：按原音量作为配乐，画面用可视化效果。"
        return f"{name} 里没有人声，所以没有把它当作配音；想用它作背景音乐，请说“用我的歌作为背景音乐”。"
    if facts["placed"]:
        return (f"{name} has no speech in it, so I took it as your music: it is the soundtrack at its own level "
                "(nothing ducked under it), with a visualiser for the picture.")
    kept = "lay it over the video as a voice-over" if facts["picture"] else "keep it as a voice-over"
    return f"{name} has no speech in it, so I did not {kept}; say \"use my song as the music\" to make it the music."


def _percent(f: Mapping[str, Any]) -> str:
    return f"{round(f['before'] * 100)}% → {round(f['after'] * 100)}%"


#: One sentence per applied edit, in both languages. Music edits get the piece's
#: description as ``facts["line"]`` (see :func:`describe`).
WORDING: dict[EditName, dict[Language, Words]] = {
    EditName.ADD_BACKGROUND_MUSIC: {"en": _added_en, "zh": _added_zh},
    EditName.REGENERATE_MUSIC: {"en": lambda f: f"Here's a fresh take: {f['line']}.",
                                "zh": lambda f: f"换了一版新的：{f['line']}。"},
    EditName.UPDATE_MUSIC: {"en": lambda f: _added_en(f) if f.get("kept") else f"Reworked the music: {f['line']}.",
                            "zh": lambda f: _added_zh(f) if f.get("kept") else f"已按要求调整音乐：{f['line']}。"},
    EditName.USE_UPLOADED_MUSIC: {"en": lambda f: f"Using your {f['name']} as the background music.",
                                  "zh": lambda f: f"已使用你上传的 {f['name']} 作为背景音乐。"},
    EditName.SET_MUSIC_VOLUME: {"en": lambda f: f"Music volume: {_percent(f)}.",
                                "zh": lambda f: f"音乐音量：{_percent(f)}。"},
    EditName.SET_ORIGINAL_VOLUME: {
        "en": lambda f: f"{_whose(f)} volume: {_percent(f)}.",
        "zh": lambda f: f"{_whose_zh(f)}音量：{_percent(f)}。"},
    EditName.BALANCE_LEVELS: {
        "en": lambda f: f"Balanced the voice and the music: music volume {_percent(f)}, and it ducks whenever "
                        "someone speaks.",
        "zh": lambda f: f"已平衡人声和音乐：音乐音量 {_percent(f)}，有人说话时自动压低。"},
    EditName.SET_MUSIC_FADES: {"en": lambda f: f"Fade-in {_s(f['fade_in'])}, fade-out {_s(f['fade_out'])}.",
                               "zh": lambda f: f"淡入 {_s(f['fade_in'])}，淡出 {_s(f['fade_out'])}。"},
    EditName.SET_MUSIC_TIMING: {"en": lambda f: f"The music now plays from {_s(f['start'])} to {_s(f['end'])}.",
                                "zh": lambda f: f"音乐从 {_s(f['start'])} 播放到 {_s(f['end'])}。"},
    EditName.SET_ORIGINAL_AUDIO: {
        "en": lambda f: f"{'Muted' if f['mute'] else 'Kept'} the {_whose(f)[0].lower()}{_whose(f)[1:]}.",
        "zh": lambda f: f"已{'静音' if f['mute'] else '保留'}{_whose_zh(f)}。"},
    EditName.SET_DUCKING: {
        "en": lambda f: ("The music now ducks under speech." if f["enabled"]
                         else "Ducking is off: the music keeps its level under speech."),
        "zh": lambda f: "说话时自动压低音乐。" if f["enabled"] else "已关闭自动压低。"},
    EditName.ADD_TITLE: {
        "en": lambda f: f"Added the title \"{f['text']}\" ({_s(f['start'])}-{_s(f['end'])}, {f['position']}).",
        "zh": lambda f: f"已添加标题“{f['text']}”（{_s(f['start'])}–{_s(f['end'])}，{f['position']}）。"},
    EditName.TRIM_VIDEO: {
        "en": lambda f: f"Trimmed the video to {_s(f['from'])}-{_s(f['to'])}; it is now {_s(f['seconds'])} long.",
        "zh": lambda f: f"已剪辑视频：保留 {_s(f['from'])}–{_s(f['to'])}，现在时长 {_s(f['seconds'])}。"},
    EditName.SET_LOUDNESS: {
        "en": lambda f: f"The final mix will be mastered to {f['lufs']:g} LUFS (true peak ≤ -1 dBTP).",
        "zh": lambda f: f"成片响度目标：{f['lufs']:g} LUFS。"},
    EditName.SET_ASPECT_RATIO: {
        "en": lambda f: f"Aspect ratio set to {f['aspect']} ({f['width']}x{f['height']}).",
        "zh": lambda f: f"画幅改为 {f['aspect']}（{f['width']}×{f['height']}）。"},
    EditName.REMOVE_TRACK: {
        "en": lambda f: f"Removed the {'music' if f['kind'] == 'music' else 'title'}.",
        "zh": lambda f: f"已删除{'音乐' if f['kind'] == 'music' else '标题'}。"},
    EditName.UNDO: {"en": lambda f: "Undid the last edit.", "zh": lambda f: "已撤销上一步。"},
    EditName.USE_MEDIA: {"en": lambda f: f"Now working on {f['name']}.", "zh": lambda f: f"现在编辑 {f['name']}。"},
    EditName.MERGE_CLIPS: {
        "en": lambda f: f"Joined {f['count']} clips into one {_s(f['seconds'])} video.",
        "zh": lambda f: f"已把 {f['count']} 个片段连在一起，共 {_s(f['seconds'])}。"},
}


def describe(result: Result, lang: Language, music: dict[str, Any] | None) -> str:
    """One sentence for one applied edit (``music``: the composed piece, for edits that compose)."""
    facts: Mapping[str, Any] = result.facts
    if result.name in COMPOSES_MUSIC and not facts.get("kept"):
        if music is None:
            return "已更新音乐。" if lang == "zh" else "Updated the music."
        facts = {**facts, "line": music_line(music, lang)}
    return WORDING[result.name][lang](facts)


def closing(lang: Language, has_timeline: bool) -> str:
    """The GUI-flavoured ending the cloud backend uses (translated by the client)."""
    if not has_timeline:
        return ""
    if lang == "zh":
        return "可以在时间线中预览效果，满意后点击**导出**即可生成视频。"
    return "Preview in timeline to check the sync, then click **Export** to render your video."


def answer(question: str, lang: Language) -> str:
    if question == "capabilities":
        return CAPABILITIES_ZH if lang == "zh" else CAPABILITIES_EN
    if question == "empty":
        return (f"想让我为视频做点什么？比如“配上匹配视频情绪和长度的背景音乐”。{CAPABILITIES_ZH}" if lang == "zh" else
                "What would you like me to do with your video? For example, \"generate background music that "
                f"matches the mood and length of my video\". {CAPABILITIES_EN}")
    if question == "timeline":
        return ("打开时间线面板即可查看所有轨道：视频、音乐和标题。" if lang == "zh"
                else "Open the timeline panel to review all your tracks — video, music and titles side by side.")
    if question == "position":
        return ("在时间线上拖拽该元素即可微调位置。" if lang == "zh"
                else "Drag the item along the timeline to fine-tune its position.")
    if question == "upload":
        return "点击**上传**按钮选择视频文件即可。" if lang == "zh" else "Click the **Upload** button and pick your video file."
    return ("满意后点击右上角的**导出**按钮，即可生成 1080p MP4。" if lang == "zh"
            else "When you're happy, click the **Export** button in the top right to render a 1080p MP4.")


def fit_link(url: str | None, lang: Language) -> str:
    """The answer to "show me how the music fits": where the fit picture is (None: no music yet)."""
    if url is None:
        return ("还没有生成音乐：先让我配一段音乐，再来看它怎么契合画面。" if lang == "zh"
                else "There is no generated music yet: ask me for music first, then I can show how it fits.")
    if lang == "zh":
        return f"这张图展示了音乐如何契合画面（镜头切换、段落、节拍、人声下的闪避和响度）：{url}"
    return (f"Here is how the music fits the video — cuts, sections, beats and hits, the ducking under speech "
            f"and the loudness on one time axis: {url}")


def low_credits(lang: Language) -> str:
    return ("积分快用完了，可以查看账户余额并充值。" if lang == "zh"
            else "You're running low on credits — check your account billing to top up.")


def not_understood(text: str, lang: Language) -> str:
    if lang == "zh":
        return f"抱歉，“{text[:80]}”我还做不到。{CAPABILITIES_ZH}"
    return f"Sorry — I can't do \"{text[:80]}\" here. {CAPABILITIES_EN}"


def failed(reason: str, lang: Language) -> str:
    return f"没能完成：{reason}。" if lang == "zh" else f"I couldn't do that: {reason}."


def frame_rate_note(session: dict[str, Any], lang: Language) -> str:
    """Once per session: the picture's frame rate is above what the MP4 gets (``engine.export.canvas``
    caps it at 60 fps). A changed frame rate is never silent."""
    meta = (session.get("state", {}).get("draft") or {}).get("m") or {}
    source, output = meta.get("fps_source"), meta.get("fps")
    if not source or not output or float(source) <= float(output):
        return ""
    note = (f"你的视频是 {source:g} fps，成片为 {output:g} fps（播放器和平台支持的最高帧率）。" if lang == "zh"
            else f"Your video is {source:g} fps; the MP4 will be {output:g} fps, the most players and platforms show.")
    said = [m.get("text", "") for m in session.get("messages", []) if m.get("role") == "model"]
    return "" if any(note in text for text in said) else note
