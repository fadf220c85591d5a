"""Apply the director's edits to a session's state (the draft and its settings).

Each edit changes the draft in the canonical shape of ``protocol.draft`` and returns a
:class:`Result` — what was done, as facts a reply can be written from. Nothing here does
I/O or heavy work: music is only *described* (a brief and a seed); ``engine.chat.turn``
composes it after the turn's edits are applied, so one request that changes genre,
volume and length composes once.
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable

from engine.composing import GENRE_NAMES
from engine.export.canvas import ASPECTS, MAX_FPS, aspect_for, fps_value, output_rate, rate_of
from engine.chat.director import Edit
from engine.chat.edit_names import EditName
from engine.chat.tempo import apply_tempo
from protocol.draft import (AUDIO, TEXT, VIDEO, VOICE, as_volume, material_duration, music_track, timeline_duration,
                            track, video_duration, voice_track)

DEFAULT_TITLE_MS = 3000
SPEECH_LEVEL = 0.35  # music volume under a voice: the words stay clear over the whole mix
MAX_UNDO = 20


#: EditName → the Editor method that applies it (filled by :func:`handles`).
HANDLERS: dict[EditName, Callable[..., "Result"]] = {}
#: The edits that compose new music: they cost more and make the turn wait for the composer.
COMPOSES_MUSIC: set[EditName] = set()


def handles(name: EditName, *, composes_music: bool = False) -> Callable[[Callable[..., "Result"]], Callable[..., "Result"]]:
    """Register an Editor method as the handler of ``name``."""
    def register(method: Callable[..., "Result"]) -> Callable[..., "Result"]:
        if name in HANDLERS:
            raise ValueError(f"two handlers for {name}")
        HANDLERS[name] = method
        if composes_music:
            COMPOSES_MUSIC.add(name)
        return method
    return register


class EditError(ValueError):
    """An edit that cannot apply to this session (no music to change, no video to trim…)."""

    def __init__(self, reason: str, reason_zh: str | None = None) -> None:
        super().__init__(reason)
        self.reason_zh = reason_zh or reason


@dataclass
class Result:
    name: EditName
    facts: dict[str, Any] = field(default_factory=dict)


def new_draft(width: int = 1920, height: int = 1080, aspect: str = "16:9", title: str = "project") -> dict[str, Any]:
    return {"d": 0, "m": {"title": title, "width": width, "height": height, "fps": 30, "aspect": aspect}, "t": []}


def refresh_duration(draft: dict[str, Any]) -> None:
    """``d`` follows the picture; without a picture, the music."""
    draft["d"] = video_duration(draft) or timeline_duration(draft)


def music_seed(session_id: str, turn: int) -> int:
    digest = hashlib.sha256(f"{session_id}:{turn}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def video_from_uploads(infos: list[dict[str, Any]], indices: list[int]) -> dict[str, Any]:
    """A video track playing the chosen uploads one after another."""
    segments = []
    start = 0
    for i in indices:
        info = infos[i]
        duration = int(round((info.get("duration") or 3.0) * 1000)) if info["file_type"] == "video" else 3000
        segments.append({"id": f"v{i}", "st": start, "d": duration, "ss": 0, "src": info["file_id"],
                         "m": {"name": info["filename"]}})
        start += duration
    name = infos[indices[0]]["filename"].rsplit(".", 1)[0] if len(indices) == 1 else f"{len(indices)} clips"
    return {"id": "video", "tt": VIDEO, "m": {"name": name, "mute": False, "volume": 1.0}, "sg": segments}


class Editor:
    """Applies edits to one session dict (mutating it); see :meth:`apply`."""

    def __init__(self, session: dict[str, Any]) -> None:
        self.session = session
        self.state = session["state"]
        if not self.state.get("draft"):
            self.state["draft"] = new_draft(title=session.get("task_name") or "project")
        self.draft: dict[str, Any] = self.state["draft"]

    # ------------------------------------------------------------------ plumbing

    def snapshot(self) -> None:
        """Remember the draft as it was before this turn, for "undo"."""
        history = self.session.setdefault("history", [])
        history.append(copy.deepcopy(self.draft))
        del history[:-MAX_UNDO]

    def apply(self, edit: Edit) -> Result:
        handler = HANDLERS.get(edit.name)  # type: ignore[call-overload] - a str enum: a plain name looks up too
        if handler is None:
            raise EditError(f"I can't do '{edit.name}' yet", f"暂不支持“{edit.name}”")
        result = handler(self, **edit.args)
        refresh_duration(self.draft)
        self._fit_tracks()
        return result

    def _fit_tracks(self) -> None:
        """Music and titles never run past the picture."""
        end = video_duration(self.draft)
        if not end:
            return
        for t in self.draft["t"]:
            if t["tt"] == VIDEO:
                continue
            for seg in t.get("sg", []):
                seg["st"] = min(int(seg["st"]), max(0, end - 500))
                seg["d"] = max(1, min(int(seg["d"]), end - int(seg["st"])))

    def _music_track(self, required: bool = True) -> dict[str, Any] | None:
        found = music_track(self.draft)
        if found is None and required:
            raise EditError("there is no background music yet — ask me to add some first",
                            "还没有背景音乐，请先让我添加")
        return found

    def _video_track(self) -> dict[str, Any]:
        found = track(self.draft, VIDEO)
        if found is None or not found.get("sg"):
            raise EditError("there is no video in this project yet — send a video first", "项目里还没有视频，请先发送视频")
        return found

    def _original_track(self, voice: bool = False) -> dict[str, Any]:
        """The user's own sound: the video's, or an uploaded voice-over's when it is named (``voice``:
        "mute the voiceover") or there is no picture."""
        video = track(self.draft, VIDEO)
        over = voice_track(self.draft)
        if over is not None and (voice or video is None or not video.get("sg")):
            return over
        if voice:  # never turn the video's sound down for a voice-over that is not there
            raise EditError("there is no voice-over in this project — send one first, or say "
                            "\"the video's sound\" to change the video's own audio",
                            "项目里没有配音——请先发送配音，或说“原声”来调整视频自带的声音")
        return self._video_track()

    # ------------------------------------------------------------------ media

    def add_upload(self, info: dict[str, Any]) -> None:
        """A new upload becomes the picture when it is a video (or the first image); a sound is the
        user's voice-over until its analysis says otherwise (:meth:`settle_sounds`): kept, and with
        no picture the music is made to its length."""
        infos = self.state["video_infos"]
        index = infos.index(info)
        if info["file_type"] == "audio" and voice_track(self.draft) is None:
            length = int(round((info.get("duration") or 0) * 1000))
            picture = video_duration(self.draft)
            length = min(length, picture) if picture and not self._stills_only() else length
            if length > 0:
                self.draft["t"].insert(0, {"id": "voice", "tt": AUDIO,
                                           "m": {"name": info["filename"], "kind": VOICE, "volume": 1.0,
                                                 "duck": False, "fade_in_ms": 0, "fade_out_ms": 0},
                                           "sg": [{"id": "voice-1", "st": 0, "d": length, "ss": 0,
                                                   "src": info["file_id"]}]})
                self._hold_stills_for_voice()
                self._refit_music()
                refresh_duration(self.draft)
            return
        if info["file_type"] == "video" or (info["file_type"] == "image" and track(self.draft, VIDEO) is None):
            existing = track(self.draft, VIDEO)
            if existing is not None:
                self.draft["t"].remove(existing)
            self.draft["t"].insert(0, video_from_uploads(infos, [index]))
            self._hold_stills_for_voice()
            refresh_duration(self.draft)
            self._refit_music()
            self._follow_picture()

    def _stills_only(self) -> bool:
        """Whether the picture is made of photos only (no video clip): a still lasts as long as it is shown."""
        video = track(self.draft, VIDEO)
        kinds = {i["file_id"]: i["file_type"] for i in self.state.get("video_infos", [])}
        return bool(video and video["sg"]) and all(kinds.get(s.get("src")) == "image" for s in video["sg"])

    def _hold_stills_for_voice(self) -> None:
        """A narration over photos is not cut to a photo's 3 s: the last photo is held until the voice ends."""
        voice = voice_track(self.draft)
        if voice is None or not self._stills_only():
            return
        last = track(self.draft, VIDEO)["sg"][-1]
        voice_end = max(s["st"] + s["d"] for s in voice["sg"])
        if voice_end > last["st"] + last["d"]:
            last["d"] = voice_end - last["st"]
            refresh_duration(self.draft)

    def settle_sounds(self) -> dict[str, Any] | None:
        """An uploaded sound is what its analysis hears: with speech it stays the voice-over; with none
        it is the user's music, not a voice — with no picture and no music yet it becomes the
        soundtrack at its own level, otherwise it leaves the timeline (still uploaded: "use my song as
        the music" places it). Returns what became of a sound with no speech, for the reply; None when
        nothing changed (no sound waiting, or its analysis not in or failed: it stays as it is)."""
        voice = voice_track(self.draft)
        if voice is None or voice["m"].get("speech"):
            return None
        analyses = self.state.get("video_analyses", {})
        heard = [analyses.get(s.get("src")) for s in voice["sg"]]
        if not heard or any(a is None or a.get("error") for a in heard):
            return None
        if any(a.get("speech") for a in heard):
            voice["m"]["speech"] = True
            return None
        if not all(_sounds_like_music(a) for a in heard):  # silence, a murmur, a blip: no evidence of a song
            return None
        picture = track(self.draft, VIDEO) is not None
        placed = not picture and music_track(self.draft) is None
        self.draft["t"].remove(voice)
        if placed:
            self.draft["t"].append({"id": "bgm", "tt": AUDIO,
                                    "m": {"name": voice["m"]["name"], "kind": "upload", "volume": voice["m"]["volume"],
                                          "mute": bool(voice["m"].get("mute")),  # muted before it was heard
                                          "fade_in_ms": 0, "fade_out_ms": 0, "duck": True},
                                    "sg": [{**voice["sg"][0], "id": "bgm-1"}]})
        refresh_duration(self.draft)
        return {"name": voice["m"]["name"], "placed": placed, "picture": picture}

    def _follow_picture(self) -> None:
        """The canvas takes the shape of the picture (portrait, square, landscape) unless the
        user chose an aspect ratio; the frame rate follows the source up to 60 fps."""
        video = track(self.draft, VIDEO)
        by_id = {i["file_id"]: i for i in self.state.get("video_infos", [])}
        shown = [by_id[s["src"]] for s in (video or {}).get("sg", []) if s.get("src") in by_id]
        if not shown:
            return
        meta = self.draft["m"]
        if not meta.get("aspect_chosen"):
            first = shown[0]
            aspect = aspect_for(int(first.get("width") or 0), int(first.get("height") or 0))
            width, height = ASPECTS[aspect]
            meta.update({"aspect": aspect, "width": width, "height": height})
            self.state["canvas_config"] = {"width": width, "height": height, "aspect": aspect}
        rates = [float(i.get("fps") or 0) for i in shown if i.get("file_type") == "video"]
        meta["fps"] = fps_value(output_rate(rates))
        fastest = max(rates, default=0.0)
        if fastest > MAX_FPS + 0.01:
            meta["fps_source"] = fps_value(rate_of(fastest))  # the reply says the rate was lowered
        else:
            meta.pop("fps_source", None)

    @handles(EditName.USE_MEDIA)
    def _use_media(self, index: int) -> Result:
        infos = [i for i in self.state["video_infos"] if i["file_type"] in ("video", "image")]
        if not infos:
            raise EditError("no video has been uploaded yet", "还没有上传视频")
        index = max(0, min(index, len(infos) - 1))
        all_infos = self.state["video_infos"]
        existing = track(self.draft, VIDEO)
        if existing is not None:
            self.draft["t"].remove(existing)
        self.draft["t"].insert(0, video_from_uploads(all_infos, [all_infos.index(infos[index])]))
        refresh_duration(self.draft)
        self._refit_music()
        self._follow_picture()
        return Result(EditName.USE_MEDIA, {"name": infos[index]["filename"]})

    @handles(EditName.MERGE_CLIPS)
    def _merge_clips(self) -> Result:
        infos = self.state["video_infos"]
        picks = [i for i, info in enumerate(infos) if info["file_type"] in ("video", "image")]
        if len(picks) < 2:
            raise EditError("there is only one clip to work with", "只有一个片段")
        existing = track(self.draft, VIDEO)
        if existing is not None:
            self.draft["t"].remove(existing)
        self.draft["t"].insert(0, video_from_uploads(infos, picks))
        refresh_duration(self.draft)
        self._refit_music()
        self._follow_picture()
        return Result(EditName.MERGE_CLIPS, {"count": len(picks), "seconds": self.draft["d"] / 1000})

    def _refit_music(self) -> None:
        music = music_track(self.draft)
        end = material_duration(self.draft)
        if music is not None and end and music.get("m", {}).get("kind") == "bgm":
            seg = music["sg"][0]
            seg["d"] = max(1, end - int(seg["st"]))

    # ------------------------------------------------------------------ music

    @handles(EditName.ADD_BACKGROUND_MUSIC, composes_music=True)
    def _add_background_music(self, **brief: Any) -> Result:
        duration = brief.pop("duration_ms", None)
        visualizer = brief.pop("visualizer", False)
        replace = brief.pop("replace", False)
        existing = music_track(self.draft)
        own = existing if existing is not None and existing["m"].get("kind") == "upload" else None
        if own is not None and not video_duration(self.draft):
            if not replace:  # the user's song is the soundtrack: no second piece composed over it
                return Result(EditName.ADD_BACKGROUND_MUSIC, {"kept": own["m"]["name"], "wanted": _wanted(brief)})
            duration = duration or int(own["sg"][0]["d"])  # the piece replacing a song lasts as long
        apply_tempo(brief, brief.pop("tempo", None) or "")
        replaced = existing is not None
        volume = None
        if existing is not None:
            if existing["m"].get("volume_set"):  # a level the user chose survives a new piece
                volume = existing["m"].get("volume")
            self.draft["t"].remove(existing)
        length = material_duration(self.draft) or int(duration or 30_000)
        brief.setdefault("genre", "auto")
        brief.setdefault("mood", "auto")
        brief["seed"] = music_seed(self.session["session_id"], len(self.session.get("history", [])))
        chosen = volume is not None
        if volume is None:
            volume = self._default_volume()
        music = {"id": "bgm", "tt": AUDIO,
                 "m": {"name": GENRE_NAMES.get(brief["genre"], brief["genre"].title()), "kind": "bgm",
                       "volume": volume, "volume_set": chosen, "fade_in_ms": 0, "fade_out_ms": 0, "duck": True,
                       "music": {"brief": brief}},
                 "sg": [{"id": "bgm-1", "st": 0, "d": length, "ss": 0, "src": "music:pending"}]}
        self.draft["t"].append(music)
        if visualizer and track(self.draft, VIDEO) is None:
            self.draft["m"]["visualizer"] = True
        return Result(EditName.ADD_BACKGROUND_MUSIC, {"replaced": replaced, "volume": volume, "seconds": length / 1000,
                                               "match_video": bool(brief.get("match_video"))})

    def _default_volume(self) -> float:
        """Under a voice (the video's, or a voice-over's) the music sits low; with no original sound
        it carries the video."""
        video = track(self.draft, VIDEO)
        analyses = self.state.get("video_analyses", {})
        sources = [analyses.get(s.get("src"), {}) for s in (video or {}).get("sg", [])]
        spoken = sources + [analyses.get(s.get("src"), {}) for s in (voice_track(self.draft) or {}).get("sg", [])]
        if any(a.get("speech") for a in spoken):
            return SPEECH_LEVEL
        if video is None:  # no picture: the music carries it (beside a sound file with no speech too)
            return 1.0
        if any(a.get("has_audio") for a in sources):
            return 0.5
        return 0.9

    @handles(EditName.UPDATE_MUSIC, composes_music=True)
    def _update_music(self, **changes: Any) -> Result:
        music = self._music_track()
        if music["m"].get("kind") != "bgm":  # the user's own song: nothing of it can be recomposed
            return Result(EditName.UPDATE_MUSIC, {"kept": music["m"]["name"], "wanted": _wanted(changes)})
        changed = sorted(changes)
        brief = music["m"].setdefault("music", {}).setdefault("brief", {})
        resolved = music["m"]["music"].get("resolved", {})
        if "tempo_scale" in changes:
            bpm = float(resolved.get("bpm") or brief.get("bpm") or 100)
            brief["bpm"] = round(bpm * changes.pop("tempo_scale"), 1)
        pace = changes.pop("tempo", None)
        for key in ("add", "remove"):
            if key in changes:
                merged = [x for x in brief.get(key, []) if x not in changes[key]] + list(changes.pop(key))
                other = "remove" if key == "add" else "add"
                brief[other] = [x for x in brief.get(other, []) if x not in merged]
                brief[key] = merged
        brief.update(changes)
        if pace and "bpm" not in changes:
            brief.pop("bpm", None)  # a new tempo word replaces the old tempo
            apply_tempo(brief, pace, genre=resolved.get("genre"))
        if brief.get("genre", "auto") != "auto":
            music["m"]["name"] = GENRE_NAMES.get(brief["genre"], brief["genre"].title())
        return Result(EditName.UPDATE_MUSIC, {"changes": changed, "brief": dict(brief)})

    @handles(EditName.REGENERATE_MUSIC, composes_music=True)
    def _regenerate_music(self, **changes: Any) -> Result:
        music = music_track(self.draft)
        if music is None or music["m"].get("kind") != "bgm":
            return self._add_background_music(**changes)
        brief = music["m"]["music"]["brief"]
        pace = changes.pop("tempo", None)
        brief.update({k: v for k, v in changes.items() if k not in ("duration_ms", "visualizer")})
        if pace and "bpm" not in changes:
            brief.pop("bpm", None)
            apply_tempo(brief, pace, genre=music["m"]["music"].get("resolved", {}).get("genre"))
        brief["seed"] = music_seed(self.session["session_id"], len(self.session.get("history", [])) + 7919)
        return Result(EditName.REGENERATE_MUSIC, {"seed": brief["seed"]})

    @handles(EditName.USE_UPLOADED_MUSIC)
    def _use_uploaded_music(self, index: int) -> Result:
        audio = [i for i in self.state["video_infos"] if i["file_type"] == "audio"]
        if not audio:
            raise EditError("no audio file has been uploaded", "还没有上传音频文件")
        info = audio[max(0, min(index, len(audio) - 1))]
        existing = music_track(self.draft)
        if existing is not None:
            self.draft["t"].remove(existing)
        voice = voice_track(self.draft)
        if voice is not None and any(s.get("src") == info["file_id"] for s in voice["sg"]):
            self.draft["t"].remove(voice)  # the upload is the music after all, not a voice to keep
        length = material_duration(self.draft) or int((info.get("duration") or 30) * 1000)
        self.draft["t"].append({"id": "bgm", "tt": AUDIO,
                                "m": {"name": info["filename"], "kind": "upload", "volume": self._default_volume(),
                                      "fade_in_ms": 0, "fade_out_ms": 2000, "duck": True},
                                "sg": [{"id": "bgm-1", "st": 0, "d": length, "ss": 0, "src": info["file_id"]}]})
        return Result(EditName.USE_UPLOADED_MUSIC, {"name": info["filename"]})

    @handles(EditName.SET_MUSIC_VOLUME)
    def _set_music_volume(self, volume: float | None = None, scale: float | None = None) -> Result:
        music = self._music_track()
        before = as_volume(music["m"].get("volume")) or 1.0
        after = before * scale if scale is not None else float(volume if volume is not None else before)
        after = round(max(0.0, min(after, 2.0)), 3)
        music["m"]["volume"] = after
        music["m"]["volume_set"] = True
        return Result(EditName.SET_MUSIC_VOLUME, {"before": before, "after": after})

    @handles(EditName.BALANCE_LEVELS)
    def _balance_levels(self) -> Result:
        """Music under the voice: the level a speaking video gets by default, and ducking on."""
        music = self._music_track()
        before = as_volume(music["m"].get("volume")) or 1.0
        after = min(before, SPEECH_LEVEL)
        music["m"].update({"volume": after, "volume_set": True, "duck": True})
        return Result(EditName.BALANCE_LEVELS, {"before": before, "after": after})

    @handles(EditName.SET_MUSIC_FADES)
    def _set_music_fades(self, fade_in_ms: int | None = None, fade_out_ms: int | None = None) -> Result:
        music = self._music_track()
        length = int(music["sg"][0]["d"])
        if fade_in_ms is not None:
            music["m"]["fade_in_ms"] = max(0, min(int(fade_in_ms), length // 2))
        if fade_out_ms is not None:
            music["m"]["fade_out_ms"] = max(0, min(int(fade_out_ms), length // 2))
        return Result(EditName.SET_MUSIC_FADES, {"fade_in": music["m"]["fade_in_ms"] / 1000,
                                          "fade_out": music["m"]["fade_out_ms"] / 1000})

    @handles(EditName.SET_MUSIC_TIMING)
    def _set_music_timing(self, start_ms: int | None = None, end_ms: int | None = None) -> Result:
        music = self._music_track()
        seg = music["sg"][0]
        end_limit = video_duration(self.draft) or (int(seg["st"]) + int(seg["d"]))
        start = int(start_ms) if start_ms is not None else int(seg["st"])
        end = int(end_ms) if end_ms is not None else end_limit
        end = min(end, end_limit) if video_duration(self.draft) else end
        if end - start < 1000:
            raise EditError("the music would be shorter than a second", "音乐时长不足一秒")
        seg["st"], seg["d"] = start, end - start
        return Result(EditName.SET_MUSIC_TIMING, {"start": start / 1000, "end": end / 1000})

    @handles(EditName.SET_ORIGINAL_AUDIO)
    def _set_original_audio(self, mute: bool, voice: bool = False) -> Result:
        sound = self._original_track(voice)
        sound["m"]["mute"] = bool(mute)
        return Result(EditName.SET_ORIGINAL_AUDIO, {"mute": bool(mute), **_voice_fact(sound)})

    @handles(EditName.SET_ORIGINAL_VOLUME)
    def _set_original_volume(self, volume: float | None = None, scale: float | None = None,
                             voice: bool = False) -> Result:
        sound = self._original_track(voice)
        before = as_volume(sound["m"].get("volume")) or 1.0
        after = before * scale if scale is not None else float(volume if volume is not None else before)
        sound["m"]["volume"] = round(max(0.0, min(after, 2.0)), 3)
        sound["m"]["mute"] = sound["m"]["volume"] == 0
        return Result(EditName.SET_ORIGINAL_VOLUME, {"before": before, "after": sound["m"]["volume"],
                                                     **_voice_fact(sound)})

    @handles(EditName.SET_DUCKING)
    def _set_ducking(self, enabled: bool) -> Result:
        music = self._music_track()
        music["m"]["duck"] = bool(enabled)
        return Result(EditName.SET_DUCKING, {"enabled": bool(enabled)})

    # ------------------------------------------------------------------ titles

    @handles(EditName.ADD_TITLE)
    def _add_title(self, text: str, start_ms: int | None = None, end_ms: int | None = None,
                   duration_ms: int | None = None, position: str = "center", anchor: str | None = None) -> Result:
        if not text.strip():
            raise EditError("the title text is empty", "标题内容为空")
        total = self.draft.get("d") or video_duration(self.draft) or timeline_duration(self.draft)
        duration = int(duration_ms) if duration_ms else (int(end_ms) - int(start_ms or 0) if end_ms else DEFAULT_TITLE_MS)
        if anchor == "end" and total:
            start = max(0, total - duration)
        else:
            start = int(start_ms or 0)
        if total:
            start = min(start, max(0, total - 500))
            duration = max(500, min(duration, total - start))
        titles = track(self.draft, TEXT)
        if titles is None:
            titles = {"id": "titles", "tt": TEXT, "m": {"name": "Titles"}, "sg": []}
            self.draft["t"].append(titles)
        index = len(titles["sg"]) + 1
        titles["sg"].append({"id": f"title-{index}", "st": start, "d": duration,
                             "m": {"text": text, "position": position, "size": "large", "color": "white"}})
        return Result(EditName.ADD_TITLE, {"text": text, "start": start / 1000, "end": (start + duration) / 1000,
                                    "position": position})

    # ------------------------------------------------------------------ picture

    @handles(EditName.TRIM_VIDEO)
    def _trim_video(self, cut_start_ms: int | None = None, cut_end_ms: int | None = None,
                    keep_from_ms: int | None = None, keep_to_ms: int | None = None) -> Result:
        video = self._video_track()
        total = video_duration(self.draft)
        if keep_from_ms is not None or keep_to_ms is not None:
            start, end = int(keep_from_ms or 0), int(keep_to_ms or total)
        else:
            start, end = int(cut_start_ms or 0), total - int(cut_end_ms or 0)
        end = min(end, total)
        if end - start < 500:
            raise EditError("that would leave less than half a second of video", "剪辑后视频不足半秒")
        over = voice_track(self.draft)
        for cut in (video, over) if over is not None else (video,):  # a voice-over is cut with its picture
            kept: list[dict[str, Any]] = []
            for seg in cut["sg"]:
                s0, s1 = int(seg["st"]), int(seg["st"]) + int(seg["d"])
                a, b = max(s0, start), min(s1, end)
                if b <= a:
                    continue
                kept.append({**seg, "st": a - start, "d": b - a, "ss": int(seg.get("ss", 0)) + (a - s0)})
            cut["sg"] = kept
        if over is not None and not over["sg"]:
            self.draft["t"].remove(over)  # it was all in the part cut away
        for t in self.draft["t"]:
            if t["tt"] == VIDEO or t is over:
                continue
            for seg in t.get("sg", []):
                seg["st"] = max(0, int(seg["st"]) - start)
        refresh_duration(self.draft)
        self._refit_music()
        return Result(EditName.TRIM_VIDEO, {"from": start / 1000, "to": end / 1000, "seconds": (end - start) / 1000})

    @handles(EditName.SET_LOUDNESS)
    def _set_loudness(self, lufs: float) -> Result:
        lufs = max(-24.0, min(-10.0, float(lufs)))
        self.draft["m"]["loudness"] = lufs
        return Result(EditName.SET_LOUDNESS, {"lufs": lufs})

    @handles(EditName.SET_ASPECT_RATIO)
    def _set_aspect_ratio(self, aspect: str) -> Result:
        if aspect not in ASPECTS:
            raise EditError(f"aspect ratio {aspect} is not supported (16:9, 9:16, 1:1, 4:5)",
                            f"不支持 {aspect} 比例（支持 16:9、9:16、1:1、4:5）")
        width, height = ASPECTS[aspect]
        # the user's choice wins over the shape of later uploads
        self.draft["m"].update({"aspect": aspect, "width": width, "height": height, "aspect_chosen": True})
        self.state["canvas_config"] = {"width": width, "height": height, "aspect": aspect}
        return Result(EditName.SET_ASPECT_RATIO, {"aspect": aspect, "width": width, "height": height})

    @handles(EditName.REMOVE_TRACK)
    def _remove_track(self, kind: str) -> Result:
        found = music_track(self.draft) if kind == "music" else track(self.draft, TEXT)  # never the voice-over
        if found is None:
            raise EditError(f"there is no {kind} to remove", "没有可删除的" + ("音乐" if kind == "music" else "标题"))
        self.draft["t"].remove(found)
        return Result(EditName.REMOVE_TRACK, {"kind": kind})

    @handles(EditName.UNDO)
    def _undo(self) -> Result:
        history = self.session.get("history", [])
        # the snapshot taken for this very turn is on top; the state to restore is below it
        if len(history) < 2:
            raise EditError("there is nothing to undo yet", "还没有可以撤销的操作")
        history.pop()
        previous = history.pop()
        self.state["draft"] = previous
        self.draft = previous
        return Result(EditName.UNDO, {})


def _voice_fact(sound: dict[str, Any]) -> dict[str, Any]:
    """For the reply: the voice-over's file name when the edit reached it rather than the video's sound."""
    return {"voice": sound["m"].get("name")} if sound.get("m", {}).get("kind") == VOICE else {}


def _wanted(brief: dict[str, Any]) -> str:
    """The piece a request asked for, in words the director reads back ("calm solo piano music")."""
    mood, genre = brief.get("mood"), brief.get("genre")
    words = [mood if mood != "auto" else None, GENRE_NAMES.get(genre, genre).lower() if genre not in (None, "auto") else None]
    return " ".join([w for w in words if w] + ["music"])


def music_key(track_json: dict[str, Any], cues_key: str) -> str:
    """Cache key for a composed piece: same brief, length and picture → same audio."""
    brief = track_json["m"]["music"]["brief"]
    payload = json.dumps([brief, int(track_json["sg"][0]["d"]), cues_key], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


#: a song has sound through most of it: loud enough (integrated loudness) and long enough to be music
SONG_MIN_LUFS = -45.0
SONG_MIN_S = 3.0
SONG_SOUNDING = 0.8      # share of the analysis' energy points above a tenth of the loudest


def _sounds_like_music(analysis: dict[str, Any]) -> bool:
    """Positive evidence that a sound with no speech in it is a song, not a quiet or silent voice
    recording: no speech alone would take silence, noise floors and a few seconds' blip for music
    (and a song decides whether a piece is composed at all)."""
    lufs = analysis.get("loudness_lufs")
    energy = [float(e) for e in analysis.get("energy") or []]
    if lufs is None or lufs < SONG_MIN_LUFS or float(analysis.get("duration_s") or 0) < SONG_MIN_S or not energy:
        return False
    loudest = max(energy)
    return loudest > 0 and sum(e > loudest / 10 for e in energy) >= SONG_SOUNDING * len(energy)
