"""What the analysis hears: loudness, speech regions and a level curve, in one streamed decode.

16 kHz mono is what speech detection needs, and measuring loudness there too keeps the
decode small (content above 8 kHz moves speech and most soundtracks by well under 1 LU;
the figure is informational: renders are mastered on their own). The decode is read
block by block and every measure keeps only its per-frame results, so memory does not
grow with the length of the file: three hours of 16 kHz audio would be 700 MB as one
array, and a BS.1770 meter on it several float64 copies more (4 GB, issue 13 item 6).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from media.audio import stream_audio

SPEECH_RATE = 16000
#: Audio quieter than this everywhere is silence, whatever its noise floor.
SILENCE_DBFS = -55.0
#: Samples decoded and measured at once (20 s at 16 kHz: whole level hops and speech frames).
BLOCK = 320_000
_GATE_S, _ABS_GATE, _REL_GATE = 0.4, -70.0, -10.0


@dataclass(frozen=True)
class Sound:
    loudness_lufs: float | None
    speech: tuple[tuple[float, float], ...]
    level: np.ndarray  # 0..1 loudness per level sample, for audio-only files
    duration_s: float


def listen(path: str | os.PathLike[str], level_rate: float, timeout: float) -> Sound:
    """Loudness, speech regions and a level curve (``level_rate`` values a second) of ``path``'s sound."""
    loudness = _Loudness(SPEECH_RATE)
    features = _Features(SPEECH_RATE)
    level = _Level(int(SPEECH_RATE / level_rate))
    total = 0
    for block in stream_audio(path, SPEECH_RATE, 1, BLOCK, timeout=timeout):
        mono = block[:, 0]
        total += len(mono)
        loudness.feed(mono)
        features.feed(mono)
        level.feed(mono)
    return Sound(loudness_lufs=loudness.lufs(), speech=_speech_regions(*features.finish(total), SPEECH_RATE),
                 level=level.finish(), duration_s=total / SPEECH_RATE)


class _Loudness:
    """Integrated loudness (ITU-R BS.1770, pyloudnorm's filters and gating) of samples fed in order.

    Keeps the K-weighted power of each 100 ms quarter of a gating block, nothing per sample.
    """

    def __init__(self, rate: int) -> None:
        from engine import scipy_signal

        scipy_signal.load()  # the warm-up's, usually: this waits for it (see engine.scipy_signal)
        import pyloudnorm  # with scipy.signal, ~0.3 s to import: paid here, while the picture is already decoding
        from scipy.signal import lfilter

        self.rate = rate
        self.lfilter = lfilter
        self.stages = [(np.asarray(f.b, float), np.asarray(f.a, float), f.passband_gain)
                       for f in pyloudnorm.Meter(rate)._filters.values()]
        self.state = [np.zeros(max(len(b), len(a)) - 1) for b, a, _ in self.stages]
        self.sums: list[float] = []   # power of each finished quarter
        self.partial = 0.0
        self.count = 0

    def _edge(self, j: int) -> int:
        return int(_GATE_S * (j * 0.25) * self.rate)   # pyloudnorm's block bounds, to the sample

    def feed(self, x: np.ndarray) -> None:
        k = np.asarray(x, np.float64)
        for i, (b, a, gain) in enumerate(self.stages):
            k, self.state[i] = self.lfilter(b, a, k, zi=self.state[i])
            k = (k * gain).astype(np.float32).astype(np.float64)   # pyloudnorm keeps float32 input as float32
        power = np.square(k)
        start = 0
        while True:
            end = self._edge(len(self.sums) + 1) - self.count
            if end > len(power):
                self.partial += float(power[start:].sum())
                break
            self.sums.append(self.partial + float(power[start:end].sum()))
            self.partial, start = 0.0, end
        self.count += len(power)

    def lufs(self) -> float | None:
        """LUFS rounded to 0.01; ``None`` if silent or shorter than one 400 ms block."""
        if self.count < int(_GATE_S * self.rate) + 1:
            return None
        blocks = int(np.round((self.count / self.rate - _GATE_S) / (_GATE_S * 0.25))) + 1
        quarters = np.zeros(blocks + 3)
        known = np.array([*self.sums, self.partial])[: blocks + 3]
        quarters[: len(known)] = known
        z = (quarters[:blocks] + quarters[1:blocks + 1] + quarters[2:blocks + 2] + quarters[3:blocks + 3])
        z /= _GATE_S * self.rate
        with np.errstate(divide="ignore", invalid="ignore"):
            loud = -0.691 + 10 * np.log10(z)
            gated = z[loud >= _ABS_GATE]
            if not gated.size:
                return None
            rel = -0.691 + 10 * np.log10(gated.mean()) + _REL_GATE
            final = z[(loud > rel) & (loud > _ABS_GATE)]
            lufs = -0.691 + 10 * np.log10(final.mean()) if final.size else float("-inf")
        return round(float(lufs), 2) if math.isfinite(lufs) else None


class _Level:
    """RMS level per ``hop`` samples mapped -60..-10 dBFS -> 0..1 (the last hop padded with silence)."""

    def __init__(self, hop: int) -> None:
        self.hop = hop
        self.rms: list[np.ndarray] = []
        self.rest = np.zeros(0, np.float32)

    def feed(self, x: np.ndarray) -> None:
        x = np.concatenate([self.rest, x]) if len(self.rest) else x
        whole = len(x) // self.hop * self.hop
        if whole:
            rows = x[:whole].reshape(-1, self.hop).astype(np.float64)
            self.rms.append(np.sqrt((rows ** 2).mean(axis=1)))
        self.rest = x[whole:].copy()

    def finish(self) -> np.ndarray:
        if len(self.rest) or not self.rms:
            self.feed(np.zeros(self.hop - len(self.rest) if len(self.rest) else self.hop, np.float32))
        db = 20.0 * np.log10(np.concatenate(self.rms) + 1e-9)
        return np.clip((db + 60.0) / 50.0, 0.0, 1.0)


class _Features:
    """Per 10 ms frame: energy (dBFS), speech-band energy share, speech-band flatness, fed in order.

    Frames are 10 ms, not the usual 25, so region edges land within 10 ms of the truth;
    the spectra are taken over 32 ms windows centred on each frame (zeros before the
    first sample and after the last).
    """

    def __init__(self, rate: int) -> None:
        self.hop = int(0.01 * rate)
        self.n = 1 << math.ceil(math.log2(0.032 * rate))
        from engine import scipy_signal

        scipy_signal.load()  # whichever of the two asks first (see _Loudness)
        from scipy.signal import get_window

        self.window = get_window("hann", self.n).astype(np.float32)
        self.band = (np.fft.rfftfreq(self.n, 1.0 / rate) >= 300) & (np.fft.rfftfreq(self.n, 1.0 / rate) <= 3400)
        self.pending = np.zeros(self.n // 2 - self.hop // 2, np.float32)   # samples from frame `done` on
        self.done = 0
        self.out: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def feed(self, x: np.ndarray) -> None:
        self.pending = np.concatenate([self.pending, np.asarray(x, np.float32)])
        if len(self.pending) >= self.n:
            self._frames((len(self.pending) - self.n) // self.hop + 1)

    def finish(self, samples: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every frame of ``samples`` samples: (energy_db, band_ratio, flatness)."""
        self.pending = np.concatenate([self.pending, np.zeros(self.n, np.float32)])
        self._frames(samples // self.hop - self.done)
        if not self.out:
            return np.zeros(0), np.zeros(0), np.zeros(0)
        return tuple(np.concatenate(column) for column in zip(*self.out))  # type: ignore[return-value]

    def _frames(self, count: int) -> None:
        hop, n = self.hop, self.n
        for first in range(0, max(count, 0), 4096):  # blocks bound the FFT's memory
            idx = np.arange(first, min(first + 4096, count)) * hop
            block = self.pending[idx[:, None] + np.arange(n)]
            core = block[:, n // 2 - hop // 2: n // 2 + hop - hop // 2]
            energy = 10 * np.log10((core.astype(np.float64) ** 2).mean(axis=1) + 1e-12)
            power = np.abs(np.fft.rfft(block * self.window, axis=1)) ** 2 + 1e-12
            in_band = power[:, self.band]
            ratio = in_band.sum(axis=1) / power[:, 1:].sum(axis=1)
            flat = np.exp(np.log(in_band).mean(axis=1)) / in_band.mean(axis=1)
            self.out.append((energy, ratio, flat))
        if count > 0:
            self.done += count
            self.pending = self.pending[count * hop:].copy()


def detect_speech(samples: np.ndarray, sample_rate: int) -> tuple[tuple[float, float], ...]:
    """Where speech (or other foreground sound with voice-like structure) is, for ducking.

    Frames are active when their energy stands clear of the noise floor (hysteresis:
    enter 12 dB above, stay while 6 dB above). Active runs are bridged over gaps under
    0.3 s (syllable breaks) and kept only if they look like speech: enough energy in the
    300-3400 Hz band, a harmonic rather than noise-like spectrum (low spectral
    flatness), and a level that moves with syllables. A *steady* tone or hum is
    therefore not reported: it is foreground sound but not speech, and ducking the music
    under a constant tone would only make the music quiet for as long as the tone lasts.
    Typing clicks and hiss fail the flatness test for the same reason.
    """
    features = _Features(sample_rate)
    features.feed(samples)
    return _speech_regions(*features.finish(len(samples)), sample_rate)


def _speech_regions(energy_db: np.ndarray, band_ratio: np.ndarray, flatness: np.ndarray,
                    sample_rate: int) -> tuple[tuple[float, float], ...]:
    hop = int(0.01 * sample_rate)
    if len(energy_db) < 4:
        return ()
    peak = float(np.percentile(energy_db, 99))
    if peak < SILENCE_DBFS:
        return ()
    floor = float(np.percentile(energy_db, 10))
    enter = max(floor + 12.0, peak - 40.0, SILENCE_DBFS)
    stay = enter - 6.0
    labels, _ = ndimage.label(energy_db > stay)
    entered = np.unique(labels[energy_db > enter])
    active = np.isin(labels, entered[entered > 0])
    bridge = round(0.3 * sample_rate / hop)
    # Padded so that the closing's erosion does not eat regions touching either end.
    active = ndimage.binary_closing(np.pad(active, bridge), np.ones(bridge))[bridge:-bridge]
    regions = []
    labels, _ = ndimage.label(active)
    for (s,) in ndimage.find_objects(labels):
        seg = slice(s.start, s.stop)
        speechy = (
            np.median(band_ratio[seg]) > 0.25
            and np.median(flatness[seg]) < 0.35
            and np.std(energy_db[seg]) > 3.0
        )
        start, stop = s.start * hop / sample_rate, s.stop * hop / sample_rate
        if speechy and stop - start >= 0.25:
            regions.append((round(start, 3), round(stop, 3)))
    return tuple(regions)
