"""Does our music measure like produced music? Ours per genre beside real recordings.

Run: .venv/bin/python bench/music_realism.py [--out bench/out] [--seconds 90]
Ours are --seconds long (90 s by default: long enough for the arrangement's breakdown,
the counter-melody after the first statement and the fills to be part of what is
measured); the references are excerpts of min(--seconds, 40) s, so their set stays the
same whatever the length asked (several of them are shorter than 90 s). References are fetched at run time by Debian package name (bench/music_references.py;
cached in bench/out/refs, never committed). Every track, ours and theirs, is measured
by the same code here (librosa + numpy; essentia's key strength beside ours when it is
installed), and the medians are compared with the issue's targets:

  corr     left/right correlation                            <= 0.80
  fold     level lost folding to mono (dB)                   <= 3
  cents    pitch movement of sustained partials (median std) 2 .. 8
  centroid spectral centroid (Hz)                            <= 2000
  >8k      share of energy above 8 kHz (%)                   <= 0.3
  beatvar  beat-interval variation (std / mean of tracked beats, %)  2 .. 3
  tempo    tracker finds the intended tempo or an octave of it, of 16 tracks  >= 14
  repeat   consecutive hits of one drum that are sample-identical (ours only)  0
  key      key strength (best Krumhansl profile correlation of the mean chroma)  <= 0.80
  LUFS/TP  the delivery targets of bench/music_quality.py: -16 +-1 LUFS, <= -1 dBTP

A spectrogram of one of ours beside two references goes to --out/realism_spectrograms.png.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import librosa  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from scipy import signal  # noqa: E402

from bench.music_references import reference_tracks  # noqa: E402
from engine.music import GENRES, Brief, Cues, integrated_lufs, make_music  # noqa: E402
from engine.music.drumkit import PIECE_OF, sampled_hit  # noqa: E402
from engine.music import constants as C  # noqa: E402

SR = 48000
REF_SECONDS = 40.0          # longest reference excerpt: most reference tracks are longer
PER_GENRE = ("corr", "fold_db", "cents", "centroid", "above_8k", "beat_var", "key")
KS_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KS_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


@dataclass
class Row:
    name: str
    corr: float
    fold_db: float
    cents: float
    centroid: float
    above_8k: float
    beat_var: float
    tempo_ok: bool | None
    repeats: int | None
    key: float
    key_essentia: float | None
    lufs: float
    tp: float


def lr_correlation(x: np.ndarray) -> float:
    return float(np.corrcoef(x[:, 0], x[:, 1])[0, 1])


def fold_loss_db(x: np.ndarray) -> float:
    mono = x.mean(axis=1)
    return float(-10 * np.log10(np.mean(mono ** 2) / np.mean(x ** 2) + 1e-20))


def partial_movement_cents(mono: np.ndarray, sr: int) -> float:
    """Median pitch wobble of sustained partials: spectral peaks followed frame to frame.

    4096-point frames, hop 512; in each frame the strongest peaks between 150 and 2000 Hz
    (parabolic interpolation); a peak continues a track when within 35 cents of its last
    frequency; tracks of >= 16 frames (~170 ms) count, their std in cents around a linear
    trend (a glide is not wobble) is the movement.
    """
    n_fft, hop = 4096, 512
    spec = np.abs(librosa.stft(mono, n_fft=n_fft, hop_length=hop))
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    band = np.flatnonzero((freqs >= 150) & (freqs <= 2000))
    floor = spec[band].max() * 10 ** (-50 / 20)
    live: list[list[float]] = []
    done: list[list[float]] = []
    for frame in spec.T:
        mag = frame[band]
        idx, _ = signal.find_peaks(mag, height=max(floor, mag.max() * 0.05), distance=3)
        idx = idx[np.argsort(mag[idx])[::-1][:12]]
        found = []
        for i in idx:
            k = band[i]
            a, b, c = np.log(frame[k - 1] + 1e-12), np.log(frame[k] + 1e-12), np.log(frame[k + 1] + 1e-12)
            off = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c != 0 else 0.0
            found.append((k + off) * sr / n_fft)
        nxt: list[list[float]] = []
        used = set()
        for track in live:
            best = min(((abs(1200 * np.log2(f / track[-1])), j) for j, f in enumerate(found) if j not in used),
                       default=(1e9, -1))
            if best[0] < 35:
                used.add(best[1])
                track.append(found[best[1]])
                nxt.append(track)
            else:
                done.append(track)
        nxt.extend([f] for j, f in enumerate(found) if j not in used)
        live = nxt
    done.extend(live)
    moves = []
    for track in done:
        if len(track) >= 16:
            cents = 1200 * np.log2(np.array(track) / track[0])
            t = np.arange(len(cents))
            resid = cents - np.polyval(np.polyfit(t, cents, 1), t)
            moves.append(float(resid.std()))
    return float(np.median(moves)) if moves else float("nan")


def centroid_and_highs(mono: np.ndarray, sr: int) -> tuple[float, float]:
    spec = np.abs(librosa.stft(mono, n_fft=2048, hop_length=1024)) ** 2
    freqs = np.fft.rfftfreq(2048, 1 / sr)
    power = spec.sum(axis=0)
    loud = power > power.max() * 1e-4
    mag = np.sqrt(spec[:, loud])
    centroid = float(np.median((freqs[:, None] * mag).sum(axis=0) / mag.sum(axis=0)))
    return centroid, float(100 * spec[freqs > 8000].sum() / spec.sum())


def beats(mono: np.ndarray, sr: int) -> tuple[float, np.ndarray]:
    y = librosa.resample(mono, orig_sr=sr, target_sr=22050)
    tempo, frames = librosa.beat.beat_track(y=y, sr=22050)
    return float(np.atleast_1d(tempo)[0]), librosa.frames_to_time(frames, sr=22050)


def beat_variation(times: np.ndarray) -> float:
    """std / mean of beat intervals (%), octave slips (intervals off the median by > 25 %) left out."""
    iv = np.diff(times)
    if len(iv) < 4:
        return float("nan")
    med = np.median(iv)
    iv = iv[np.abs(iv / med - 1) < 0.25]
    return float(100 * iv.std() / iv.mean())


def tempo_matches(times: np.ndarray, bpm: float) -> bool:
    iv = np.diff(times)
    if len(iv) < 4:
        return False
    tracked = 60.0 / np.median(iv)
    return any(abs(tracked / (bpm * m) - 1) <= 0.04 for m in (0.5, 1.0, 2.0, 2 / 3, 1.5))


def key_strength(mono: np.ndarray, sr: int) -> float:
    y = librosa.resample(mono, orig_sr=sr, target_sr=22050)
    chroma = librosa.feature.chroma_cqt(y=y, sr=22050).mean(axis=1)
    best = -1.0
    for profile in (KS_MAJOR, KS_MINOR):
        for k in range(12):
            best = max(best, float(np.corrcoef(chroma, np.roll(profile, k))[0, 1]))
    return best


def key_strength_essentia(mono: np.ndarray, sr: int) -> float | None:
    try:
        import essentia.standard as es
    except ImportError:
        return None
    y = librosa.resample(mono, orig_sr=sr, target_sr=44100).astype(np.float32)
    _, _, strength = es.KeyExtractor()(y)
    return float(strength)


def true_peak(x: np.ndarray) -> float:
    return float(20 * np.log10(np.abs(signal.resample_poly(x, 4, 1, axis=0)).max() + 1e-12))


def repeated_hits(music: object) -> int:
    """Consecutive hits of one drum piece that would add the very same samples (as synth.py renders them)."""
    score = music.score  # type: ignore[attr-defined]
    same = 0
    for part in score.parts:
        if part.role != "drums":
            continue
        kit = part.patch.split(":", 1)[1]
        last: dict[str, np.ndarray] = {}
        count: dict[str, int] = {}
        for n in score.notes_of(part.name):
            piece = PIECE_OF.get(n.pitch, "snare")
            take = count.get(piece, 0) % C.DRUM_TAKES
            count[piece] = count.get(piece, 0) + 1
            wave = sampled_hit(kit, n.pitch, n.velocity, take, SR)
            if piece in last and last[piece].shape == wave.shape and np.array_equal(last[piece], wave):
                same += 1
            last[piece] = wave
    return same


def measure(name: str, x: np.ndarray, bpm: float | None, repeats: int | None) -> Row:
    x = x.astype(np.float64)
    mono = x.mean(axis=1).astype(np.float32)
    centroid, highs = centroid_and_highs(mono, SR)
    _, times = beats(mono, SR)
    return Row(name, lr_correlation(x), fold_loss_db(x), partial_movement_cents(mono, SR), centroid, highs,
               beat_variation(times), tempo_matches(times, bpm) if bpm else None, repeats, key_strength(mono, SR),
               key_strength_essentia(mono, SR), integrated_lufs(x, SR), true_peak(x))


def ours(seconds: float) -> list[tuple[Row, np.ndarray]]:
    cues = Cues(seconds, cuts=tuple(float(t) for t in np.arange(7.3, seconds - 3, 7.9)),
                energy=tuple(0.35 + 0.3 * ((i // 16) % 3) / 2 for i in range(int(seconds * 2))), pace=0.55)
    briefs = [(g, Brief(genre=g, seed=1)) for g in GENRES]
    briefs += [(f"{g}#2", Brief(genre=g, seed=2)) for g in GENRES[:7]]          # 16 tracks for the tempo count
    out = []
    for name, brief in briefs:
        music = make_music(brief, cues)
        out.append((measure(name, music.audio, music.score.bpm, repeated_hits(music)), music.audio))
        print(f"  measured {name}", file=sys.stderr)
    return out


def _fmt(v: float | bool | None, spec: str) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return format(v, spec)


def table(title: str, rows: list[Row]) -> None:
    print(f"\n{title}")
    print(f"{'track':<24} {'corr':>5} {'fold':>5} {'cents':>6} {'centroid':>8} {'>8k%':>6} {'beatvar':>7} "
          f"{'tempo':>5} {'repeat':>6} {'key':>5} {'key(es)':>7} {'LUFS':>6} {'TP':>6}")
    for r in rows:
        print(f"{r.name[:24]:<24} {r.corr:>5.2f} {r.fold_db:>5.2f} {r.cents:>6.2f} {r.centroid:>8.0f} "
              f"{r.above_8k:>6.3f} {r.beat_var:>7.2f} {_fmt(r.tempo_ok, ''):>5} {_fmt(r.repeats, 'd'):>6} "
              f"{r.key:>5.2f} {_fmt(r.key_essentia, '.2f'):>7} {r.lufs:>6.1f} {r.tp:>6.1f}")


def median(rows: list[Row], attr: str) -> float:
    vals = [getattr(r, attr) for r in rows if getattr(r, attr) is not None and np.isfinite(getattr(r, attr))]
    return float(statistics.median(vals)) if vals else float("nan")


def genre_table(rows: list[Row]) -> None:
    """One line per genre: the median over its seeds of each realism measure."""
    genres: dict[str, list[Row]] = {}
    for r in rows:
        genres.setdefault(r.name.split("#")[0], []).append(r)
    print(f"\nper genre (median over seeds){'':<4}" + "".join(f"{a:>10}" for a in PER_GENRE))
    for name, rs in genres.items():
        print(f"{name:<34}" + "".join(f"{median(rs, a):>10.3f}" for a in PER_GENRE))


def load() -> str:
    return "load average " + " ".join(f"{v:.1f}" for v in os.getloadavg())


def spectrograms(out: Path, panels: list[tuple[str, np.ndarray]]) -> Path:
    import librosa.display
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), sharey=True)
    for ax, (title, x) in zip(np.atleast_1d(axes), panels):
        mono = x[: 30 * SR].mean(axis=1)
        db = librosa.amplitude_to_db(np.abs(librosa.stft(mono, n_fft=4096, hop_length=1024)), ref=np.max)
        librosa.display.specshow(db, sr=SR, hop_length=1024, x_axis="time", y_axis="log", ax=ax, vmin=-80)
        ax.set_title(title)
    fig.tight_layout()
    path = out / "realism_spectrograms.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    parser.add_argument("--seconds", type=float, default=90.0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    print(f"start: {load()}")
    ref_seconds = min(args.seconds, REF_SECONDS)
    refs = reference_tracks(args.out / "refs", SR, ref_seconds)
    ref_sets: dict[str, list[Row]] = {}
    ref_audio: list[tuple[str, np.ndarray]] = []
    for set_name, tracks in refs.items():
        ref_sets[set_name] = [measure(name, x, None, None) for name, x in tracks]
        ref_audio.append((f"{set_name}: {tracks[0][0]}", tracks[0][1]))
        table(f"reference set {set_name} ({len(tracks)} excerpts of {ref_seconds:.0f} s)", ref_sets[set_name])
    measured = ours(args.seconds)
    rows = [r for r, _ in measured]
    table(f"ours ({len(rows)} tracks of {args.seconds:.0f} s)", rows)
    genre_rows = [r for r in rows if "#" not in r.name]
    genre_table(rows)

    print("\nmedians            " + "".join(f"{name:>19}" for name in ["ours", *ref_sets]))
    for attr in ("corr", "fold_db", "cents", "centroid", "above_8k", "beat_var", "key", "key_essentia"):
        print(f"{attr:<19}" + "".join(f"{median(rs, attr):>19.3f}" for rs in [genre_rows, *ref_sets.values()]))

    tempo_hits = sum(1 for r in rows if r.tempo_ok)
    targets = [
        ("L/R correlation <= 0.80", median(genre_rows, "corr") <= 0.80),
        ("mono fold-down loss <= 3 dB", median(genre_rows, "fold_db") <= 3.0 and max(r.fold_db for r in rows) <= 3.0),
        ("pitch movement 2..8 cents", 2.0 <= median(genre_rows, "cents") <= 8.0),
        ("centroid <= 2000 Hz", median(genre_rows, "centroid") <= 2000.0),
        ("energy above 8 kHz <= 0.3 %", median(genre_rows, "above_8k") <= 0.3),
        ("beat-interval variation 2..3 %", 2.0 <= median(genre_rows, "beat_var") <= 3.0),
        (f"tempo (or an octave) found in >= 14 of {len(rows)} tracks: {tempo_hits}", tempo_hits >= 14),
        ("no sample-identical consecutive drum hits", all(not r.repeats for r in rows)),
        ("key strength <= 0.80", median(genre_rows, "key") <= 0.80),
        ("loudness -16 +-1 LUFS on every track", all(abs(r.lufs + 16) <= 1 for r in rows)),
        ("true peak <= -1 dBTP on every track", all(r.tp <= -1.0 for r in rows)),
    ]
    print()
    for label, ok in targets:
        print(f"{'met   ' if ok else 'MISSED'} {label}")
    best = next(x for r, x in measured if r.name == "cinematic")
    print(f"\nspectrograms: {spectrograms(args.out, [('ours: cinematic', best), *ref_audio[:2]])}")
    print(f"end: {load()}; {time.monotonic() - began:.0f} s wall")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
