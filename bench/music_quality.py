"""Music that fits the video, measured: does each track do what the engine promises?

Run: .venv/bin/python bench/music_quality.py [--out bench/out]
Generates demo videos (scene cuts and a voice track, media.fixtures), analyses them
(engine.analysis.analyze), builds the cues the way the engine does (engine.analysis.cues + engine.composing),
makes music for a fixed set of briefs on each, and measures on the rendered audio:

  dur      length error against the video, in frames at 30 fps          target <= 1
  tempo    librosa's beat tracker on the audio; its beats fitted by least squares
           give the tracked bpm (librosa's own tempo, quantised to ~2 % steps, is shown
           beside it). "=" within 2 % of the score's bpm, "x2" / "/2" within 2 % of
           double / half (an octave error, reported as such), "miss" otherwise
  cuts     scene cuts (>= 4 s apart) with a section start or fill within +-1 beat  >= 80 %
  LUFS/TP  pyloudnorm's integrated loudness; true peak from 4x resample_poly (an
           independent oversampler, not the engine's own meter)        -16 +-1, <= -1
  duck     music mixed under the video's voice with engine.export.mix.duck_envelope: level
           where the analysis found speech vs level >= one ramp away from it, both
           inside the piece's body (before the final chord)            >= 10 dB
  v/m      voice over ducked music inside speech (information, no target)
  end      the last note ends before the clip does

then checks that calm and energetic briefs separate (score tempo, onset density and
spectral centroid all lower for calm) and that two seeds of one brief differ (waveform
correlation < 0.5); onsets there are counted with one absolute threshold for all tracks
(see onset_density). A spectrogram per track goes to --out (cuts red, section starts
cyan, fills yellow, speech as a green bar, tracked beats as ticks). Needs librosa and matplotlib.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import librosa  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from scipy import signal  # noqa: E402

from engine.analysis.analyze import Analysis, analyze  # noqa: E402
from media.audio import decode_audio  # noqa: E402
from engine.analysis.cues import timeline_cues  # noqa: E402
from engine.export.mix import duck_envelope  # noqa: E402
from engine.music import Brief, Cues, Music, integrated_lufs, make_music  # noqa: E402
from engine.composing import to_cues  # noqa: E402
from media.fixtures import VideoSpec, make_video  # noqa: E402
from protocol.draft import VIDEO  # noqa: E402

SR = 48000
FPS = 30
BEAT_SR = 22050
MIN_CUT_GAP_S = 4.0
TEMPO_TOLERANCE = 0.02
ONSET_DELTA = 0.5            # dB of mel spectral flux (averaged over bands) that counts as an attack

VIDEOS = {
    "demo30": VideoSpec(seconds=30.0, audio="voice", scene_seconds=(5.0, 7.0, 4.0, 6.0, 8.0)),
    "demo45": VideoSpec(seconds=45.0, audio="voice", scene_seconds=(6.0, 4.5, 8.0, 5.0, 7.0, 4.5, 10.0)),
}
BRIEFS = {
    "lofi": Brief(genre="lofi", seed=1),
    "lofi/seed2": Brief(genre="lofi", seed=2),
    "corporate/calm": Brief(genre="corporate", mood="calm", intensity="calm", seed=1),
    "corporate/energetic": Brief(genre="corporate", mood="energetic", intensity="high", seed=1),
    "ambient/calm": Brief(genre="ambient", mood="calm", seed=1),
    "electronic/energetic": Brief(genre="electronic", mood="energetic", intensity="high", seed=1),
    "cinematic/epic": Brief(genre="cinematic", mood="epic", seed=1),
    "acoustic/happy": Brief(genre="acoustic", mood="happy", seed=1),
}
CALM_VS_ENERGETIC = (("corporate/calm", "corporate/energetic"), ("ambient/calm", "electronic/energetic"))
SEED_PAIR = ("lofi", "lofi/seed2")


@dataclass(frozen=True)
class Clip:
    """A generated video, its analysis and its voice track."""

    name: str
    path: Path
    analysis: Analysis
    voice: np.ndarray                 # (N, 2) float32 at SR


@dataclass(frozen=True)
class Measured:
    brief: str
    clip: str
    music: Music
    dur_frames: float
    bpm: float
    detected_bpm: float
    librosa_bpm: float
    tempo_match: str
    beats: np.ndarray
    cuts_hit: int
    cuts: int
    lufs: float
    true_peak: float
    duck_db: float
    voice_over_music_db: float
    ends_early: bool
    onsets_per_s: float
    onsets_normalised: float
    centroid_hz: float


def make_clip(name: str, spec: VideoSpec, folder: Path) -> Clip:
    path = make_video(folder / f"{name}.mp4", spec)
    analysis = analyze(path)
    return Clip(name, path, analysis, decode_audio(path, SR, 2))


def cues_of(clip: Clip) -> Cues:
    """The cues the engine would build for this video as the only clip on the timeline."""
    ms = int(round(clip.analysis.duration_s * 1000))
    draft = {"d": ms, "t": [{"tt": VIDEO, "sg": [{"src": "v", "st": 0, "d": ms, "ss": 0}]}]}
    return to_cues(timeline_cues(draft, {"v": clip.analysis.to_json()}, 0, ms))


def tempo_match(detected: float, bpm: float) -> str:
    for label, target in (("=", bpm), ("x2", 2 * bpm), ("/2", bpm / 2)):
        if abs(detected / target - 1.0) <= TEMPO_TOLERANCE:
            return label
    return "miss"


def track_beats(y: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(bpm from a least-squares fit to the tracked beats, librosa's own tempo, beat times) of mono ``y``.

    The fit, because librosa's tempo is quantised to its onset frames (~2 % steps at 125 bpm).
    """
    tempo, frames = librosa.beat.beat_track(y=y, sr=BEAT_SR)
    times = librosa.frames_to_time(frames, sr=BEAT_SR)
    raw = float(np.atleast_1d(tempo)[0])
    if times.size < 4:
        return raw, raw, times
    slope = np.polyfit(np.arange(times.size), times, 1)[0]
    return 60.0 / slope, raw, times


def spaced_cuts(cuts: tuple[float, ...]) -> list[float]:
    """Cuts at least MIN_CUT_GAP_S after the previous kept one (and after the start)."""
    kept: list[float] = []
    for c in cuts:
        if c - (kept[-1] if kept else 0.0) >= MIN_CUT_GAP_S:
            kept.append(c)
    return kept


def cut_hits(music: Music, cuts: list[float]) -> int:
    s = music.score
    marks = [x.start_s for x in s.sections[1:]] + list(s.fills)
    return sum(1 for c in cuts if marks and min(abs(m - c) for m in marks) <= s.beat_s)


def true_peak_dbtp(audio: np.ndarray) -> float:
    up = max(float(np.abs(signal.resample_poly(audio[:, ch].astype(np.float64), 4, 1)).max()) for ch in range(2))
    return 20 * np.log10(max(up, 1e-12))


def ducking(music: Music, clip: Clip) -> tuple[float, float]:
    """(music level clear of speech minus inside speech, voice minus ducked music in speech), dB."""
    n = music.audio.shape[0]
    env = duck_envelope(n, list(clip.analysis.speech), SR)
    ducked = music.audio * env[:, None]
    voice = np.zeros_like(ducked)
    m = min(n, clip.voice.shape[0])
    voice[:m] = clip.voice[:m]
    t = np.arange(n) / SR
    body = t < music.score.final_chord_s
    speech = np.zeros(n, dtype=bool)
    for a, b in clip.analysis.speech:
        speech[int(a * SR):int(b * SR)] = True
    clear = body & (env >= 1.0 - 1e-6)
    inside = body & speech

    def power(x: np.ndarray, mask: np.ndarray) -> float:
        return float(np.mean(np.square(x[mask], dtype=np.float64))) if mask.any() else float("nan")

    p_in = power(ducked, inside)
    return 10 * np.log10(power(ducked, clear) / p_in), 10 * np.log10(power(voice, inside) / p_in)


def onset_density(y: np.ndarray, seconds: float, normalize: bool = False) -> float:
    """Onsets per second: librosa's detector with an absolute threshold by default.

    Every track is at -16 LUFS, so one threshold (ONSET_DELTA of mel flux) fits all;
    librosa's default normalises each track to its own strongest attack, which makes a
    beating pad with no attacks at all look as busy as a drum groove.
    """
    if normalize:
        return librosa.onset.onset_detect(y=y, sr=BEAT_SR, units="time").size / seconds
    env = librosa.onset.onset_strength(y=y, sr=BEAT_SR)
    return librosa.onset.onset_detect(onset_envelope=env, sr=BEAT_SR, units="time", normalize=False,
                                      delta=ONSET_DELTA).size / seconds


def centroid(y: np.ndarray) -> float:
    """Spectral centroid averaged over frames, weighted by frame energy (silence does not count)."""
    spec = np.abs(librosa.stft(y, n_fft=2048, hop_length=512)) ** 2
    freqs = librosa.fft_frequencies(sr=BEAT_SR, n_fft=2048)
    return float((spec * freqs[:, None]).sum() / spec.sum())


def measure(brief_name: str, clip: Clip) -> Measured:
    music = make_music(BRIEFS[brief_name], cues_of(clip), sample_rate=SR)
    y = librosa.resample(music.audio.mean(axis=1), orig_sr=SR, target_sr=BEAT_SR)
    detected, raw, beats = track_beats(y)
    cuts = spaced_cuts(clip.analysis.scene_cuts)
    duck, vm = ducking(music, clip)
    seconds = music.audio.shape[0] / SR
    return Measured(
        brief=brief_name, clip=clip.name, music=music,
        dur_frames=abs(seconds - clip.analysis.duration_s) * FPS,
        bpm=music.score.bpm, detected_bpm=detected, librosa_bpm=raw,
        tempo_match=tempo_match(detected, music.score.bpm), beats=beats,
        cuts_hit=cut_hits(music, cuts), cuts=len(cuts),
        lufs=integrated_lufs(music.audio, SR), true_peak=true_peak_dbtp(music.audio),
        duck_db=duck, voice_over_music_db=vm,
        ends_early=music.score.last_note_end_s < music.score.duration_s,
        onsets_per_s=onset_density(y, seconds), onsets_normalised=onset_density(y, seconds, normalize=True),
        centroid_hz=centroid(y),
    )


def spectrogram(m: Measured, clip: Clip, out: Path) -> Path:
    y = librosa.resample(m.music.audio.mean(axis=1), orig_sr=SR, target_sr=BEAT_SR)
    mel = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=BEAT_SR, n_mels=128), ref=np.max)
    seconds = y.size / BEAT_SR
    fig, ax = plt.subplots(figsize=(14, 5), dpi=100)
    ax.imshow(mel, origin="lower", aspect="auto", cmap="magma", vmin=-80, vmax=0, extent=(0, seconds, 0, 128))
    for i, (a, b) in enumerate(clip.analysis.speech):
        ax.axvspan(a, b, ymin=0.96, ymax=1.0, color="lime", lw=0, label="speech" if i == 0 else None)
    for i, c in enumerate(clip.analysis.scene_cuts):
        ax.axvline(c, color="red", lw=1.6, label="scene cut" if i == 0 else None)
    s = m.music.score
    for i, x in enumerate(s.sections[1:]):
        ax.axvline(x.start_s, color="cyan", lw=1.0, ls="--", label="section" if i == 0 else None)
    for i, f in enumerate(s.fills):
        ax.axvline(f, color="yellow", lw=1.0, ls=":", label="fill" if i == 0 else None)
    ax.plot(m.beats, np.full(m.beats.size, 3.0), "|", color="white", ms=8, label="tracked beat")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=8, ncol=5, facecolor="0.2", labelcolor="white")
    ax.set_xlim(0, seconds)
    ax.set_xlabel("seconds")
    ax.set_ylabel("mel band")
    ax.set_title(f"{m.brief} on {m.clip}: {s.genre}/{s.mood}, {s.bpm:.1f} bpm (tracked {m.detected_bpm:.1f}, "
                 f"{m.tempo_match}), {m.lufs:.1f} LUFS, {m.true_peak:.1f} dBTP, cuts {m.cuts_hit}/{m.cuts}, "
                 f"duck {m.duck_db:.1f} dB", fontsize=9)
    path = out / f"music_{m.clip}_{m.brief.replace('/', '-')}.png"
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _ok(flag: bool) -> str:
    return "ok" if flag else "FAIL"


def report(results: list[Measured]) -> bool:
    print(f"{'track':<32} {'dur fr':>6} {'bpm':>6} {'tracked':>7} {'librosa':>7} {'tempo':>5} {'cuts':>5} "
          f"{'LUFS':>6} {'dBTP':>6} {'duck':>5} {'v/m':>5} {'end':>4} {'on/s':>5} {'cent Hz':>7}")
    for m in results:
        print(f"{m.brief + ' @ ' + m.clip:<32} {m.dur_frames:>6.3f} {m.bpm:>6.1f} {m.detected_bpm:>7.1f} "
              f"{m.librosa_bpm:>7.1f} {m.tempo_match:>5} {m.cuts_hit:>2}/{m.cuts:<2} {m.lufs:>6.2f} {m.true_peak:>6.2f} "
              f"{m.duck_db:>5.1f} {m.voice_over_music_db:>5.1f} {'yes' if m.ends_early else 'NO':>4} "
              f"{m.onsets_per_s:>5.2f} {m.centroid_hz:>7.0f}")
    n = len(results)
    matches = {label: sum(m.tempo_match == label for m in results) for label in ("=", "x2", "/2", "miss")}
    hit, total = sum(m.cuts_hit for m in results), sum(m.cuts for m in results)
    checks = {
        "duration within 1 frame": all(m.dur_frames <= 1.0 for m in results),
        f"tempo: {matches['=']}/{n} exact, {matches['x2']} at x2, {matches['/2']} at /2 (octave errors), "
        f"{matches['miss']} missed; exact or octave": matches["miss"] == 0,
        f"cuts with a section/fill within 1 beat: {hit}/{total} = {hit / max(total, 1):.0%} (>= 80 %)":
            hit >= 0.8 * total,
        f"loudness {min(m.lufs for m in results):.2f}..{max(m.lufs for m in results):.2f} LUFS (-16 +-1)":
            all(abs(m.lufs + 16.0) <= 1.0 for m in results),
        f"true peak <= {max(m.true_peak for m in results):.2f} dBTP (<= -1)": all(m.true_peak <= -1.0 for m in results),
        f"ducking depth >= {min(m.duck_db for m in results):.1f} dB (>= 10)": all(m.duck_db >= 10.0 for m in results),
        "last note ends before the clip": all(m.ends_early for m in results),
    }
    by = {(m.brief, m.clip): m for m in results}
    for clip in sorted({m.clip for m in results}):
        for calm, hot in CALM_VS_ENERGETIC:
            a, b = by[(calm, clip)], by[(hot, clip)]
            checks[f"{clip}: {calm} < {hot} in tempo {a.bpm:.0f}<{b.bpm:.0f}, onsets/s {a.onsets_per_s:.2f}"
                   f"<{b.onsets_per_s:.2f} (librosa-normalised {a.onsets_normalised:.2f}, {b.onsets_normalised:.2f}), "
                   f"centroid {a.centroid_hz:.0f}<{b.centroid_hz:.0f} Hz"] = (
                a.bpm < b.bpm and a.onsets_per_s < b.onsets_per_s and a.centroid_hz < b.centroid_hz)
        x, y = (by[(name, clip)].music.audio.mean(axis=1) for name in SEED_PAIR)
        r = float(np.corrcoef(x, y)[0, 1])
        checks[f"{clip}: {SEED_PAIR[0]} vs {SEED_PAIR[1]} waveform correlation {r:.3f} (< 0.5)"] = r < 0.5
    print()
    for text, passed in checks.items():
        print(f"{_ok(passed):>4}  {text}")
    return all(checks.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        clips = [make_clip(name, spec, Path(tmp)) for name, spec in VIDEOS.items()]
    results = []
    for clip in clips:
        a = clip.analysis
        print(f"{clip.name}: {a.duration_s:.3f} s, cuts found {', '.join(f'{c:.2f}' for c in a.scene_cuts)} "
              f"(made at {', '.join(f'{c:g}' for c in VIDEOS[clip.name].cut_times())}), {len(a.speech)} speech regions")
        for name in BRIEFS:
            m = measure(name, clip)
            spectrogram(m, clip, args.out)
            results.append(m)
    print()
    passed = report(results)
    print(f"\n{len(results)} tracks, spectrograms in {args.out}, {time.perf_counter() - started:.0f} s")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
