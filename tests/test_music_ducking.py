"""Music under a real voice: at least 10 dB down while someone speaks, back up in the pauses, no jumps.

The voice is espeak-ng's when it is installed (a real synthetic voice, with its own
syllables, pauses and breaths); otherwise the generated voice-like track of media.fixtures.
Speech is found by the engine's own detector (engine.analysis.analyze.detect_speech), the music is
ducked by engine.export.mix.duck_envelope, and the soundtrack (voice + ducked music) is mastered
as a render masters it; the music's share of that master is measured where the voice
really sounds (its own 20 ms level within 30 dB of its loudest) against where the music
plays alone at full level.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from engine.analysis.analyze import detect_speech
from media.audio import decode_audio
from engine.export.mix import DUCK_DB, DUCK_RAMP_S, duck_envelope
from engine.music import Brief, Cues, make_music
from engine.music.mastering import master_inplace
from media.fixtures import make_audio

SR = 48000
LEAD_S = 2.0                    # music alone before the voice starts, and after it ends
TEXT = ("Welcome to the new editor. Drop your clips on the timeline, and the music follows every cut. "
        "Pick a mood. When you are happy, export it in one click.")


@pytest.fixture(scope="module")
def voice(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """Mono voice at 48 kHz with LEAD_S of silence either side."""
    path = tmp_path_factory.mktemp("voice") / "voice.wav"
    if shutil.which("espeak-ng"):
        subprocess.run(["espeak-ng", "-s", "155", "-w", str(path), TEXT], check=True, capture_output=True)
    else:
        make_audio(Path(path), seconds=10.0, kind="voice")
    x = decode_audio(str(path), SR, 1)[:, 0].astype(np.float32)
    x *= 0.5 / np.abs(x).max()
    pad = np.zeros(int(LEAD_S * SR), dtype=np.float32)
    return np.concatenate([pad, x, pad])


def _frames_db(x: np.ndarray, frame: int) -> np.ndarray:
    k = len(x) // frame
    return 10 * np.log10(np.square(x[: k * frame].astype(np.float64)).reshape(k, frame).mean(axis=1) + 1e-12)


@pytest.mark.parametrize("genre", ["corporate", "cinematic", "lofi", "acoustic"])
def test_music_holds_10_db_under_a_real_voice(voice: np.ndarray, genre: str) -> None:
    regions = detect_speech(decode_audio_16k(voice), 16000)
    assert regions, "the detector found no speech in the voice"
    duration = len(voice) / SR
    music = make_music(Brief(genre=genre, seed=2), Cues(duration, speech=regions))
    n = music.audio.shape[0]
    env = duck_envelope(n, list(regions), SR)
    ducked = music.audio * env[:, None]
    soundtrack = ducked + voice[:n, None]
    gain = master_inplace(soundtrack, SR)                  # the render's master acts on voice and music together
    heard = ducked.mean(axis=1) * gain.segment(0, n)

    frame = int(0.02 * SR)
    music_db = _frames_db(heard, frame)
    voice_db = _frames_db(voice[:n], frame)
    k = len(music_db)
    body = np.arange(k) * frame < music.score.final_chord_s * SR
    speaking = body & (voice_db > voice_db.max() - 30)
    alone = body & (env[::frame][:k] >= 1.0 - 1e-6)
    assert speaking.sum() > 50 and alone.sum() > 50
    depth = 10 * np.log10(np.mean(10 ** (music_db[alone] / 10)) / np.mean(10 ** (music_db[speaking] / 10)))
    assert depth >= 10.0, f"music only {depth:.1f} dB under the voice"


def test_ducking_ramps_are_smooth() -> None:
    """No step anywhere: the gain moves at most as fast as a raised-cosine ramp of DUCK_RAMP_S allows."""
    env = duck_envelope(10 * SR, [(2.0, 4.0), (4.3, 6.0), (7.5, 8.0)], SR)
    span = 1.0 - 10 ** (DUCK_DB / 20)
    steepest = span * np.pi / 2 / (DUCK_RAMP_S * SR)
    assert np.abs(np.diff(env)).max() <= 1.05 * steepest
    assert env.min() == pytest.approx(10 ** (DUCK_DB / 20), rel=1e-3)
    assert env[int(4.15 * SR)] == pytest.approx(env.min(), rel=1e-3)     # a 0.3 s breath between phrases stays ducked


def decode_audio_16k(x: np.ndarray) -> np.ndarray:
    from scipy.signal import resample_poly

    return resample_poly(x, 1, 3).astype(np.float32)
