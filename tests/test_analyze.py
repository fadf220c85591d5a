"""Analysing an uploaded video: where it cuts, how busy it is, where people talk, how loud.

Media is generated with ``media.fixtures`` (real H.264/AAC files with known cut times and
a voice track of 2.6 s phrases and 1.4 s pauses); detector edge cases use synthetic
frames and samples so the expected answer is exact.
"""
from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from engine.analysis.analyze import Analysis, analyze, detect_cuts, detect_speech
from media.audio import decode_audio, read_wav, write_wav
from media.ffmpeg import FFmpegError, pathlike, run
from media.fixtures import VideoSpec, make_audio, make_video

FRAME = 1 / 30 + 1e-3  # "within one frame" at 30 fps


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory):
    """Generate each clip once per module: ``media(name, spec)`` -> path."""
    root = tmp_path_factory.mktemp("media")
    made: dict[str, Path] = {}

    def get(name: str, spec: VideoSpec) -> Path:
        if name not in made:
            made[name] = make_video(root / f"{name}.mp4", spec)
        return made[name]

    return get


def small(**kw: object) -> VideoSpec:
    kw.setdefault("width", 320)
    kw.setdefault("height", 180)
    return VideoSpec(**kw)


def overlap(regions: tuple[tuple[float, float], ...], spans: list[tuple[float, float]]) -> float:
    return sum(max(0.0, min(b, d) - max(a, c)) for a, b in regions for c, d in spans)


# --- cuts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scenes, fps",
    [([1.5] * 6, 30), ([2.0, 3.5, 1.0, 2.5, 3.0], 30), ([2.0, 1.5, 2.5], 24),
     ([5.0, 7.0, 4.0, 6.0], 30)],  # 22 s: decoded in parallel spans, seam at 11 s
)
def test_cuts_land_within_one_frame_of_the_real_cuts(media, scenes, fps):
    spec = small(seconds=sum(scenes), fps=fps, audio="none", scene_seconds=scenes)
    result = analyze(media(f"cuts-{fps}-{len(scenes)}-{scenes[0]}", spec))
    expected = spec.cut_times()
    assert len(result.scene_cuts) == len(expected)
    for found, real in zip(result.scene_cuts, expected):
        assert abs(found - real) <= 1 / fps + 1e-3
    assert all(0.0 < s <= 1.0 for s in result.cut_strength)


def test_one_continuous_scene_has_no_cuts(media):
    result = analyze(media("one-scene", small(seconds=8, audio="none", scene_seconds=[8])))
    assert result.scene_cuts == ()
    assert max(result.motion) > 0.1  # testsrc2 moves, and that is motion, not cuts


def test_full_hd_clip_is_analysed_at_its_real_size(media):
    spec = VideoSpec(seconds=4, width=1920, height=1080, audio="voice", scene_seconds=[1.5, 2.5])
    result = analyze(media("hd", spec))
    assert (result.width, result.height, result.fps) == (1920, 1080, 30.0)
    assert len(result.scene_cuts) == 1 and abs(result.scene_cuts[0] - 1.5) <= FRAME


def texture(seed: int, size: tuple[int, int] = (72, 128)) -> np.ndarray:
    """A smooth random picture bigger than the frame, so it can be panned across."""
    noise = np.random.default_rng(seed).random(size)
    smooth = ndimage.gaussian_filter(noise, 3)
    return (255 * (smooth - smooth.min()) / np.ptp(smooth)).astype(np.uint8)


def test_panning_and_a_flash_are_not_cuts_but_a_hard_cut_is():
    a, b = texture(1), texture(2)
    frames = [a[:36, i:i + 64] for i in range(60)]  # pan one pixel a frame
    frames[30] = np.full((36, 64), 255, np.uint8)  # a one-frame flash
    frames += [b[:36, i:i + 64] for i in range(60)]
    cuts, strengths = detect_cuts(np.stack(frames), 30.0)
    assert cuts == (pytest.approx(2.0),)
    assert strengths[0] > 0.2


def test_a_fade_through_black_is_one_cut_in_the_black():
    a, b = texture(3)[:36, :64], texture(4)[:36, :64]
    ramp = np.linspace(1, 0, 15)
    frames = [a] * 30 + [(a * k).astype(np.uint8) for k in ramp]
    frames += [np.zeros_like(a)] * 4 + [(b * k).astype(np.uint8) for k in ramp[::-1]] + [b] * 30
    cuts, strengths = detect_cuts(np.stack(frames), 30.0)
    assert len(cuts) == 1 and 1.4 <= cuts[0] <= 1.65
    assert 0.5 <= strengths[0] <= 1.0


def test_a_single_frame_or_nothing_has_no_cuts():
    assert detect_cuts(np.zeros((1, 36, 64), np.uint8), 30.0) == ((), ())
    assert detect_cuts(np.zeros((0, 36, 64), np.uint8), 30.0) == ((), ())


# --- speech --------------------------------------------------------------------------------


def test_speech_regions_cover_the_phrases_and_not_the_pauses(media):
    seconds = 14.0
    result = analyze(media("voice", small(seconds=seconds, audio="voice", scene_seconds=[7, 7])))
    phrases = [(t, min(t + 2.6, seconds)) for t in np.arange(0, seconds, 4.0)]
    pauses = [(t + 2.6, min(t + 4.0, seconds)) for t in np.arange(0, seconds - 2.6, 4.0)]
    spoken = overlap(result.speech, phrases) / sum(b - a for a, b in phrases)
    false = overlap(result.speech, pauses) / sum(b - a for a, b in pauses)
    assert spoken >= 0.85 and false < 0.10, (result.speech, spoken, false)
    assert result.has_audio and result.loudness_lufs == pytest.approx(-23.4, abs=1.0)


@pytest.mark.parametrize("kind", ["silence", "tone", "noise"])
def test_no_speech_in_silence_a_steady_tone_or_noise(media, kind):
    result = analyze(media(f"audio-{kind}", small(seconds=5, audio=kind, scene_seconds=[5])))
    assert result.speech == ()
    assert result.has_audio
    assert (result.loudness_lufs is None) == (kind == "silence")


def test_a_video_without_audio_has_no_speech_and_no_loudness(media):
    result = analyze(media("mute", small(seconds=3, audio="none", scene_seconds=[3])))
    assert (result.has_audio, result.speech, result.loudness_lufs) == (False, (), None)


def voice_like(seconds: float, rate: int = 16000) -> np.ndarray:
    """Harmonic buzz with syllables, like the fixture's voice, in numpy."""
    t = np.arange(int(seconds * rate)) / rate
    buzz = sum(a * np.sin(2 * np.pi * f * t) for f, a in [(125, .5), (500, .5), (750, .4), (1250, .25)])
    return (0.2 * buzz * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) ** 2).astype(np.float32)


def test_a_steady_beep_is_foreground_sound_but_not_speech():
    rate = 16000
    quiet = np.zeros(rate, np.float32)
    beep = 0.3 * np.sin(2 * np.pi * 1000 * np.arange(int(1.5 * rate)) / rate).astype(np.float32)
    assert detect_speech(np.concatenate([quiet, beep, quiet]), rate) == ()
    talk = detect_speech(np.concatenate([quiet, voice_like(1.5), quiet]), rate)
    assert len(talk) == 1 and talk[0] == pytest.approx((1.0, 2.5), abs=0.1)


def test_clicks_and_hiss_bursts_are_not_speech():
    rate = 16000
    rng = np.random.default_rng(0)
    t = np.arange(3 * rate) / rate
    typing = (rng.standard_normal(len(t)) * (np.sin(2 * np.pi * 6 * t) > 0.8) * 0.2).astype(np.float32)
    assert detect_speech(typing, rate) == ()


# --- curves, pace, JSON ---------------------------------------------------------------------


def test_curves_have_one_sample_per_half_second_in_range(media):
    spec = small(seconds=7.3, audio="voice", scene_seconds=[3, 4.3])
    result = analyze(media("curves", spec))
    expected = spec.seconds * result.energy_rate
    for curve in (result.motion, result.brightness, result.energy):
        assert abs(len(curve) - expected) <= 1
        assert all(0.0 <= v <= 1.0 for v in curve)


def test_fast_cutting_has_more_pace_than_long_takes(media):
    fast = analyze(media("fast", small(seconds=12, audio="none", scene_seconds=[1.5] * 8)))
    slow = analyze(media("slow", small(seconds=16, audio="none", scene_seconds=[8, 8])))
    assert fast.pace > slow.pace + 0.2
    assert max(fast.energy) > max(slow.energy)


def test_analysis_survives_a_json_round_trip(media):
    result = analyze(media("voice", small(seconds=14.0, audio="voice", scene_seconds=[7, 7])))
    again = Analysis.from_json(json.loads(json.dumps(result.to_json())))
    assert again == result


# --- odd inputs ------------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [1 / 30, 0.5])
def test_tiny_videos_still_give_an_analysis(media, seconds):
    result = analyze(media(f"tiny-{seconds:.2f}", small(seconds=seconds, audio="voice", scene_seconds=[seconds])))
    assert result.scene_cuts == () and len(result.energy) == 1
    assert result.duration_s == pytest.approx(seconds, abs=0.05)


def test_portrait_phone_video_reports_its_displayed_size(media, tmp_path):
    stored = media("landscape", small(seconds=4, audio="none", scene_seconds=[2, 2]))
    rotated = tmp_path / "rotated.mp4"
    run(["-display_rotation", "90", "-i", pathlike(stored), "-c", "copy", pathlike(rotated)],
        timeout=30, what="rotate")
    result = analyze(rotated)
    assert (result.width, result.height) == (180, 320)
    assert len(result.scene_cuts) == 1 and abs(result.scene_cuts[0] - 2.0) <= FRAME


def test_audio_only_file_gets_curves_from_its_sound(tmp_path):
    path = make_audio(tmp_path / "voice.m4a", 6.0)
    result = analyze(path)
    assert (result.width, result.height, result.scene_cuts) == (0, 0, ())
    assert abs(len(result.energy) - 12) <= 1 and max(result.energy) > 0.3
    assert result.speech and result.loudness_lufs is not None


def test_a_long_video_is_analysed_with_bounded_work(media):
    spec = VideoSpec(seconds=610, width=64, height=36, fps=5, audio="silence", scene_seconds=[300, 310])
    result = analyze(media("long", spec))
    assert len(result.scene_cuts) == 1 and abs(result.scene_cuts[0] - 300) <= 0.25
    assert abs(len(result.energy) - 1220) <= 1


def test_a_file_that_is_not_media_raises_ffmpeg_error(tmp_path):
    junk = tmp_path / "notes.mp4"
    junk.write_text("not a video")
    with pytest.raises(FFmpegError) as err:
        analyze(junk)
    assert "\n" not in str(err.value)


@pytest.mark.slow
def test_a_long_upload_is_analysed_without_holding_its_whole_sound(tmp_path):
    """20 minutes of sound is 77 MB at 16 kHz and pyloudnorm made float64 copies of it:
    the analysis must hold a bounded amount, not the decode (issue 13 item 6: 3 hours took 4 GB)."""
    path = tmp_path / "long.mp4"
    minutes = 20
    run(["-f", "lavfi", "-i", f"testsrc2=s=16x16:r=2:d={minutes * 60}",
         "-f", "lavfi", "-i", f"sine=f=440:sample_rate=16000:d={minutes * 60}",
         "-c:v", "libx264", "-preset", "ultrafast", "-crf", "40", "-c:a", "aac", "-b:a", "16k", "-ac", "1",
         "-y", pathlike(path)], timeout=120, what="make the long input")
    tracemalloc.start()
    try:
        result = analyze(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.duration_s == pytest.approx(minutes * 60, abs=0.1) and result.loudness_lufs is not None
    assert peak < 80e6, f"analysing {minutes} minutes held {peak / 1e6:.0f} MB"


# --- audio_io ---------------------------------------------------------------------------------


def test_wav_round_trip_keeps_the_samples(tmp_path):
    rate = 48000
    t = np.arange(rate // 2) / rate
    audio = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.25 * np.sin(2 * np.pi * 660 * t)], 1)
    write_wav(tmp_path / "f.wav", audio, rate, sample_format="f32")
    back, back_rate = read_wav(tmp_path / "f.wav")
    assert back_rate == rate and back.dtype == np.float32
    np.testing.assert_allclose(back, audio, atol=1e-7)
    write_wav(tmp_path / "s.wav", audio, rate)
    back16, _ = read_wav(tmp_path / "s.wav")
    np.testing.assert_allclose(back16, audio, atol=1 / 16000)
    decoded = decode_audio(tmp_path / "s.wav", rate, 2)
    assert decoded.shape == audio.shape and decoded.flags.writeable
    np.testing.assert_allclose(decoded, audio, atol=1 / 16000)
    window = decode_audio(tmp_path / "s.wav", rate, 1, start_s=0.1, duration_s=0.2)
    assert window.shape == (int(0.2 * rate), 1)


def test_writing_a_long_piece_as_wav_holds_no_copy_of_it(tmp_path):
    """Ten minutes of music is 230 MB of float32: converting it to 16-bit must not cost that again (issue 13 item 6)."""
    rate = 48000
    audio = np.zeros((rate * 60, 2), np.float32)
    audio[::7] = 0.5
    tracemalloc.start()
    try:
        write_wav(tmp_path / "long.wav", audio, rate)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < audio.nbytes / 8, f"writing {audio.nbytes / 1e6:.0f} MB of audio held {peak / 1e6:.0f} MB more"
    back, back_rate = read_wav(tmp_path / "long.wav")
    assert back_rate == rate and back.shape == audio.shape
    np.testing.assert_allclose(back, audio, atol=1 / 16000)


def test_decoding_a_video_without_audio_says_so(media):
    with pytest.raises(FFmpegError, match="no audio stream"):
        decode_audio(media("mute", small(seconds=3, audio="none", scene_seconds=[3])))


def test_a_failed_wav_write_leaves_no_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    def broken(fh, data, rate, sample_format):
        fh.write(b"RIFF\x00\x00")
        raise OSError("disk full")

    import media.audio

    monkeypatch.setattr(media.audio, "_write_frames", broken)
    with pytest.raises(OSError):
        write_wav(tmp_path / "new.wav", np.zeros((10, 2)), 48000)
    assert list(tmp_path.iterdir()) == []

    old = tmp_path / "old.wav"
    old.write_bytes(b"previous")
    with pytest.raises(OSError):
        write_wav(old, np.zeros((10, 2)), 48000)
    assert old.read_bytes() == b"previous" and list(tmp_path.iterdir()) == [old]
