"""An audio-only upload is the user's soundtrack: ``ai-music run speech.wav "add calm piano music"``.

Nothing the user made is lost: the MP4 lasts as long as the recording (a visualiser for the
picture), the voice is in it, and the music is ducked under the voice as under a video's own
sound. The voice is espeak-ng's when installed, else media.fixtures' voice-like track, with
LEAD_S of silence first so the music can be heard alone.
"""
from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from media.audio import decode_audio
from media.fixtures import make_audio
from media.probe import probe
from support import run_cli

SR = 16000
LEAD_S = 2.0
TEXT = "Hello, this is my voice over. Please keep it, and put some calm music under it."


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("speech")
    raw = folder / "raw.wav"
    if shutil.which("espeak-ng"):
        subprocess.run(["espeak-ng", "-s", "150", "-w", str(raw), TEXT], check=True, capture_output=True)
    else:
        make_audio(raw, seconds=5.0, kind="voice")
    voice = decode_audio(str(raw), 48000, 1)[:, 0]
    voice = np.concatenate([np.zeros(int(LEAD_S * 48000)), 0.5 * voice / np.abs(voice).max()])
    out = folder / "speech.wav"
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes((voice * 32767).astype("<i2").tobytes())
    return out


def _rms_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x.astype(np.float64))) + 1e-12))


@pytest.mark.slow
def test_a_voice_upload_is_kept_and_the_music_ducks_under_it(cli_env, speech: Path, tmp_path: Path) -> None:
    result = run_cli("run", str(speech), "add calm piano music", env=cli_env, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    mp4 = Path(result.stdout.split("MP4: ", 1)[1].strip().splitlines()[0])
    seconds = probe(speech).duration_s
    info = probe(mp4)
    assert info.video is not None and abs(info.duration_s - seconds) < 0.3, (info.duration_s, seconds)

    voice = decode_audio(str(speech), SR, 1)[:, 0].astype(np.float64)
    out = decode_audio(str(mp4), SR, 1)[:, 0].astype(np.float64)
    n = min(len(voice), len(out))
    voice, out = voice[:n], out[:n]
    spoken = np.abs(voice) > 0.05 * np.abs(voice).max()
    spoken = np.convolve(spoken, np.ones(SR // 10), mode="same") > 0  # speech regions, 100 ms wide
    gain = float(np.dot(out[spoken], voice[spoken]) / np.dot(voice[spoken], voice[spoken]))
    music = out - gain * voice  # what is left is the music
    assert float(np.corrcoef(out[spoken], voice[spoken])[0, 1]) > 0.6, "the voice is not in the video"
    alone = music[int(0.5 * SR):int((LEAD_S - 0.5) * SR)]   # before the voice starts
    assert _rms_db(alone) > -50, "no music before the voice"
    # How deep the music ducks under the voice is held by the fit facts below (the mix's own curve):
    # measured on the MP4, the piece's own swells (its seed follows the random session id) moved the
    # music under the voice against its intro by 5.6-10 dB from run to run.


def test_the_fit_shows_the_voice_and_a_song_used_as_music_is_not_kept_twice(api, speech: Path) -> None:
    assert api.upload(speech).status_code == 200
    api.chat("add calm piano music")
    facts = api.get(f"/workspace/api/fit/{api.session_id}").json()["data"]
    assert facts["duration_s"] == pytest.approx(probe(speech).duration_s, abs=0.1)
    assert facts["speech"] and facts["speech"][0][0] >= LEAD_S - 0.3 and facts["duck"]
    a, b = facts["speech"][0]
    under = [db for curve in facts["duck"] for t, db in curve if a + 0.3 <= t <= b - 0.3]
    assert under and max(under) <= -10, under   # held ≥ 10 dB under the voice (issue 14 item 6)

    api.chat("use my uploaded audio as the music")
    sounds = [t for t in api.state()["draft"]["t"] if t["tt"] == 1]
    assert [t["m"]["kind"] for t in sounds] == ["upload"]


def test_muting_the_original_audio_mutes_an_uploaded_voice(api, speech: Path) -> None:
    assert api.upload(speech).status_code == 200
    api.chat("add calm piano music")
    api.chat("mute the original audio")
    voice = next(t for t in api.state()["draft"]["t"] if t["m"].get("kind") == "voice")
    assert voice["m"]["mute"] is True
    facts = api.get(f"/workspace/api/fit/{api.session_id}").json()["data"]
    assert facts["speech"] == [] and facts["duck"] == []  # no voice left to duck under


def test_a_muted_voice_is_not_in_the_soundtrack(speech: Path) -> None:
    from engine.export.mix import Source, build_soundtrack

    seconds = probe(speech).duration_s
    sources = {"f1": Source(path=str(speech), kind="audio", has_audio=True, duration_s=seconds)}
    voice = {"id": "voice", "tt": 1, "m": {"kind": "voice", "volume": 1.0, "duck": False},
             "sg": [{"id": "voice-1", "st": 0, "d": int(seconds * 1000), "ss": 0, "src": "f1"}]}
    draft = {"d": int(seconds * 1000), "m": {}, "t": [voice]}
    assert np.abs(build_soundtrack(draft, sources, lambda key: Path(key), [])).max() > 0.1
    voice["m"]["mute"] = True
    assert np.abs(build_soundtrack(draft, sources, lambda key: Path(key), [])).max() == 0


# ----------------------------------------------------------------------------- a song, not a voice
# An audio upload whose analysis hears no speech is the user's music: the soundtrack itself,
# never a "voice" with a second, composed piece ducked under it.

@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s of an A major chord (three sines) pulsing on a 120 BPM beat: music, no speech."""
    from media.ffmpeg import pathlike, run

    out = tmp_path_factory.mktemp("song") / "song.mp3"
    tones = [a for f in (220, 277.18, 329.63) for a in ("-f", "lavfi", "-i", f"sine=f={f}:d=12")]
    beat = "volume='0.9*(0.35+0.65*exp(-8*mod(t\\,0.5)))':eval=frame"
    run([*tones, "-filter_complex", f"[0][1][2]amix=inputs=3,{beat}", "-y", pathlike(out)], timeout=60, what="song")
    return out


@pytest.fixture(scope="module")
def silence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 s of near silence (a recording where nobody spoke yet): no speech, and no music either."""
    from media.ffmpeg import pathlike, run

    out = tmp_path_factory.mktemp("silence") / "quiet.wav"
    run(["-f", "lavfi", "-i", "anoisesrc=a=0.0003:d=8", "-y", pathlike(out)], timeout=60, what="silence")
    return out


def _said(events: list[dict]) -> str:
    return next(p["text"] for e in events if e.get("turnComplete") for p in e["content"]["parts"] if "text" in p)


def _sounds(api) -> list[dict]:
    return [t for t in api.state()["draft"]["t"] if t["tt"] == 1]


def test_a_song_uploaded_alone_is_the_music_and_no_piece_is_composed_over_it(api, song: Path) -> None:
    assert api.upload(song).status_code == 200
    said = _said(api.chat("add calm piano music"))
    sounds = _sounds(api)
    assert [(t["m"]["kind"], t["m"]["name"], t["m"]["volume"]) for t in sounds] == [("upload", "song.mp3", 1.0)], sounds
    assert "no speech" in said and "compose calm solo piano music instead" in said, said
    # an edit was made, no piece composed: the edit's 5 credits, not composing's 10 more
    assert api.get("/api/credits/balance/simple").json()["data"]["available"] == 95
    picture = api.get(f"/api/fit/{api.session_id}/picture.png")  # no "ask for music first": they have music
    assert picture.status_code == 409 and "your own song.mp3" in picture.json()["message"], picture.text

    said = _said(api.chat("compose calm solo piano music instead"))  # the way out the reply offers
    sounds = _sounds(api)
    assert [t["m"]["kind"] for t in sounds] == ["bgm"] and sounds[0]["m"]["music"]["resolved"]["genre"] == "piano"
    assert sounds[0]["sg"][0]["d"] == pytest.approx(probe(song).duration_s * 1000, abs=100)  # as long as the song
    assert "replaced the music" in said, said


def test_a_song_taken_as_the_music_is_not_brought_back_as_a_voice_by_undo(api, song: Path) -> None:
    assert api.upload(song).status_code == 200
    api.chat("fade out over 2 seconds")
    api.chat("undo")
    assert [t["m"]["kind"] for t in _sounds(api)] == ["upload"]


@pytest.mark.slow
def test_run_with_a_song_makes_the_song_the_soundtrack(cli_env, song: Path, tmp_path: Path) -> None:
    result = run_cli("run", str(song), "add calm piano music", env=cli_env, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "no speech" in result.stdout, result.stdout
    mp4 = Path(result.stdout.split("MP4: ", 1)[1].strip().splitlines()[0])
    theirs = decode_audio(str(song), SR, 1)[:, 0].astype(np.float64)
    out = decode_audio(str(mp4), SR, 1)[:, 0].astype(np.float64)
    n = min(len(theirs), len(out))
    # the MP4's sound is the song (mastered: scaled and limited), not the song plus a piano piece
    assert float(np.corrcoef(out[:n], theirs[:n])[0, 1]) > 0.95


# ----------------------------------------------------------------------------- a voice-over beside a video

@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from media.fixtures import VideoSpec, make_video

    return make_video(tmp_path_factory.mktemp("video") / "clip.mp4", VideoSpec(seconds=10.0, audio="tone"))


def _track(api, kind: str) -> dict:
    return next(t for t in api.state()["draft"]["t"] if (t["m"].get("kind") == "voice") == (kind == "voice")
                and t["tt"] == (1 if kind == "voice" else 0))


def test_a_voice_uploaded_after_a_video_is_a_voice_over_of_its_own(api, video: Path, speech: Path) -> None:
    assert api.upload(video).status_code == 200
    assert api.upload(speech).status_code == 200
    api.chat("add calm piano music")
    assert _track(api, "voice")["m"]["name"] == "speech.wav"
    music = next(t for t in _sounds(api) if t["m"]["kind"] == "bgm")
    assert music["m"]["volume"] == 0.35  # under a voice, as under a speaking video
    facts = api.get(f"/workspace/api/fit/{api.session_id}").json()["data"]
    assert facts["speech"] and facts["duck"]  # the music ducks under the voice-over

    said = _said(api.chat("lower the narration"))
    assert _track(api, "voice")["m"]["volume"] == 0.7 and _track(api, "video")["m"]["volume"] == 1.0
    assert "Voice-over (speech.wav) volume: 100% → 70%" in said, said
    said = _said(api.chat("mute the voiceover"))
    assert _track(api, "voice")["m"]["mute"] is True and _track(api, "video")["m"]["mute"] is False
    assert "Muted the voice-over (speech.wav)" in said, said
    api.chat("mute the original audio")  # the video's own sound; the voice-over is addressed by name
    api.chat("unmute the voice-over")
    assert _track(api, "voice")["m"]["mute"] is False and _track(api, "video")["m"]["mute"] is True


def test_removing_the_music_keeps_the_voice_over(api, speech: Path) -> None:
    assert api.upload(speech).status_code == 200
    api.chat("add calm piano music")
    api.chat("remove the music")
    assert [t["m"]["kind"] for t in _sounds(api)] == ["voice"]


def test_a_song_uploaded_after_a_video_is_not_laid_over_it_as_a_voice(api, video: Path, song: Path) -> None:
    assert api.upload(video).status_code == 200
    assert api.upload(song).status_code == 200
    said = _said(api.chat("add calm piano music"))
    assert [t["m"]["kind"] for t in _sounds(api)] == ["bgm"]
    assert "no speech" in said and "use my song as the music" in said, said
    api.chat("use my song as the music")
    assert [(t["m"]["kind"], t["m"]["name"]) for t in _sounds(api)] == [("upload", "song.mp3")]


def test_trimming_the_video_cuts_its_voice_over_with_it(api, video: Path, speech: Path) -> None:
    assert api.upload(video).status_code == 200
    assert api.upload(speech).status_code == 200
    before = _track(api, "voice")["sg"][0]
    api.chat("cut the first 2 seconds")
    after = _track(api, "voice")["sg"][0]
    # the words stay on the picture they were recorded for: the voice-over starts 2 s into itself
    assert (after["st"], after["ss"], after["d"]) == (0, 2000, before["d"] - 2000)


def test_the_chinese_replies_offer_what_the_director_reads_back(api, song: Path) -> None:
    assert api.upload(song).status_code == 200
    said = _said(api.chat("添加舒缓的钢琴音乐"))
    assert [t["m"]["kind"] for t in _sounds(api)] == ["upload"] and "换成新生成的音乐" in said, said
    api.chat("换成新生成的音乐")
    assert [t["m"]["kind"] for t in _sounds(api)] == ["bgm"]


def test_naming_a_voice_over_that_is_not_there_leaves_the_video_sound_alone() -> None:
    from engine.chat.edits import EditError, Editor
    from engine.chat.director import Edit
    from engine.chat.edit_names import EditName

    infos = [{"file_id": "v", "filename": "clip.mp4", "file_type": "video", "duration": 10.0,
              "width": 640, "height": 360, "fps": 30}]
    session = {"session_id": "s", "state": {"video_infos": infos,
                                            "video_analyses": {"v": {"speech": [[1, 3]], "has_audio": True}}}}
    editor = Editor(session)
    editor.add_upload(infos[0])
    with pytest.raises(EditError, match="no voice-over"):
        editor.apply(Edit(EditName.SET_ORIGINAL_AUDIO, {"mute": True, "voice": True}))
    assert not any(t["m"].get("mute") for t in session["state"]["draft"]["t"])


def test_a_music_change_asked_of_the_users_own_song_keeps_it_and_costs_nothing(api, song: Path) -> None:
    assert api.upload(song).status_code == 200
    api.chat("add calm piano music")  # settles the song as the music
    before = api.get("/api/credits/balance/simple").json()["data"]["available"]
    said = _said(api.chat("change the music to jazz"))
    sounds = _sounds(api)
    assert [(t["m"]["kind"], t["m"]["name"]) for t in sounds] == [("upload", "song.mp3")], sounds
    assert "music" not in sounds[0]["m"]
    assert "is the music" in said and "music instead\"" in said, said  # the way to a composed piece
    assert api.get("/api/credits/balance/simple").json()["data"]["available"] == before


def test_a_silent_upload_is_not_taken_for_a_song(api, silence: Path) -> None:
    """No speech is not evidence of music: a near-silent recording stays the user's sound, and the music
    asked for is composed (it used to become "the music" itself, with nothing composed)."""
    assert api.upload(silence).status_code == 200
    said = _said(api.chat("add calm piano music"))
    kinds = sorted(t["m"]["kind"] for t in _sounds(api))
    assert kinds == ["bgm", "voice"], (kinds, said)
    assert "no speech" not in said, said


@pytest.mark.parametrize("photo_first", [True, False])
def test_a_photo_is_held_for_the_whole_narration(api, speech: Path, tmp_path: Path, photo_first: bool) -> None:
    """A narration over a photo was cut to the photo's 3 s; the photo is held until the voice ends,
    whichever of the two was sent first."""
    from media.fixtures import make_image

    photo = make_image(tmp_path / "photo.png")
    for upload in ((photo, speech) if photo_first else (speech, photo)):
        assert api.upload(upload).status_code == 200
    draft = api.state()["draft"]
    voice = next(t for t in draft["t"] if t["m"].get("kind") == "voice")
    picture = next(t for t in draft["t"] if t["tt"] == 0)
    spoken = voice["sg"][0]["d"]
    assert spoken > 3000, voice  # the whole narration, not the photo's 3 s
    assert picture["sg"][-1]["st"] + picture["sg"][-1]["d"] == spoken and draft["d"] == spoken, draft


def test_a_sound_muted_before_it_was_heard_stays_muted_as_the_music() -> None:
    """Muted while its analysis was still running, then heard as a song: the music it becomes is muted too."""
    from engine.chat.edits import Editor

    infos = [{"file_id": "a", "filename": "song.mp3", "file_type": "audio", "duration": 12.0}]
    heard = {"speech": [], "has_audio": True, "duration_s": 12.0, "loudness_lufs": -14.0, "energy": [0.8] * 24}
    session = {"session_id": "s", "state": {"video_infos": infos, "video_analyses": {}}}
    editor = Editor(session)
    editor.add_upload(infos[0])
    next(t for t in session["state"]["draft"]["t"] if t["m"].get("kind") == "voice")["m"]["mute"] = True
    session["state"]["video_analyses"]["a"] = heard
    assert editor.settle_sounds() == {"name": "song.mp3", "placed": True, "picture": False}
    (music,) = [t for t in session["state"]["draft"]["t"] if t["tt"] == 1]
    assert music["m"]["kind"] == "upload" and music["m"]["mute"] is True
