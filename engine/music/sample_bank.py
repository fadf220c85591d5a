"""The shipped sample set (samples/, built by tools/build_samples.py): regions, loaded lazily.

Why lazy and per region: the whole set decodes to several hundred MB, a piece plays a
few dozen regions. A region is read from its instrument's FLAC (a seek and a read) the
first time a note needs it and kept for the life of the process, up to CACHE_BYTES
(least recently used out first), so the second piece in a server costs no decoding.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import signal

from .cache import read_only

ROOT = Path(__file__).resolve().parent / "samples"
CACHE_BYTES = 64 << 20


@dataclass(frozen=True)
class Region:
    """One recorded sample and where on the keyboard and in velocity it plays."""

    instrument: str
    index: int
    keys: tuple[int, int]
    vel: tuple[int, int]
    root: float                  # MIDI pitch the recording sounds at (fractional: tuned)
    loop: tuple[int, int] | None  # frames, relative to the region start
    gain: float
    rate: int
    offset: int
    frames: int
    stereo: bool


@dataclass(frozen=True)
class Instrument:
    name: str
    file: Path
    rate: int
    velocities: tuple[int, ...]
    regions: tuple[Region, ...]

    def pick(self, pitch: int, velocity: int) -> tuple[Region, ...]:
        """Regions sounding for (pitch, MIDI velocity): the font's layers at the nearest kept velocity."""
        v = min(self.velocities, key=lambda x: abs(x - velocity))
        hit = tuple(r for r in self.regions if r.keys[0] <= pitch <= r.keys[1] and r.vel[0] <= v <= r.vel[1])
        if hit:
            return hit
        near = min(self.regions, key=lambda r: min(abs(pitch - r.keys[0]), abs(pitch - r.keys[1])))
        return tuple(r for r in self.regions if r.keys == near.keys and r.vel[0] <= v <= r.vel[1]) or (near,)


@lru_cache(maxsize=1)
def _index() -> dict[str, Instrument]:
    data = json.loads((ROOT / "index.json").read_text())["instruments"]
    out = {}
    for name, d in data.items():
        scale = float(d["scale"])
        regions = tuple(Region(name, i, tuple(r["keys"]), tuple(r["vel"]), float(r["root"]),
                               tuple(r["loop"]) if r["loop"] else None,
                               float(np.clip(10 ** (r["gain_db"] / 20), 0.1, 2.0)) * scale, int(d["rate"]),
                               int(r["offset"]), int(r["frames"]), bool(r["stereo"]))
                        for i, r in enumerate(d["regions"]))
        out[name] = Instrument(name, ROOT / d["file"], int(d["rate"]), tuple(d["velocities"]), regions)
    return out


def instrument(name: str) -> Instrument:
    return _index()[name]


def names() -> tuple[str, ...]:
    return tuple(_index())


_cache: OrderedDict[tuple[str, int, int], tuple[np.ndarray, float]] = OrderedDict()
_cached_bytes = 0
_lock = threading.Lock()


def audio(region: Region, lowpass_hz: float = 0.0) -> tuple[np.ndarray, float]:
    """The region's (2, frames + 1) int16 samples at its own rate and the factor that
    scales them to float (its gain included), low-passed at ``lowpass_hz`` if given
    (filtering the recording once is far cheaper than filtering every note played from it).

    Kept as int16, as shipped: half the memory of float32 and no loss (the FLAC is 16-bit).
    One extra frame (a copy of the last) lets interpolation read index + 1 anywhere.
    """
    global _cached_bytes
    key = (region.instrument, region.index, round(lowpass_hz))
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    import soundfile

    with soundfile.SoundFile(str(_index()[region.instrument].file)) as f:
        f.seek(region.offset)
        x = f.read(region.frames, dtype="int16", always_2d=True)
    x = np.ascontiguousarray(np.concatenate([x, x[-1:]]).T)
    scale = region.gain / 32768.0
    if 0.0 < lowpass_hz < 0.45 * region.rate:
        sos = signal.butter(2, lowpass_hz, fs=region.rate, output="sos").astype(np.float32)
        y = signal.sosfilt(sos, x.astype(np.float32), axis=1)
        peak = float(np.abs(y).max()) or 1.0
        x = np.round(y * (32767.0 / peak)).astype(np.int16)
        scale *= peak / 32767.0
    read_only(x)
    entry = (x, scale)
    with _lock:
        _cache[key] = entry
        _cached_bytes += x.nbytes
        while _cached_bytes > CACHE_BYTES and len(_cache) > 1:
            _, (old, _) = _cache.popitem(last=False)
            _cached_bytes -= old.nbytes
    return entry
