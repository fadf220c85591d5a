"""Build the shipped sample set (engine/music/samples/) from MuseScore General Lite.

Run: .venv/bin/python tools/build_samples.py [--sf3 PATH]
Without --sf3 it fetches the Debian package ``musescore-general-soundfont-small`` by name
(``apt-get download``) into a temporary directory. The output is committed: the engine
never downloads anything at run time.

What it keeps, and why: only the presets the genres play (instruments.py names them),
only the velocity layers nearest the velocities the composer uses, only as much of each
sample as a note in our music lasts (decaying sounds are cut with a fade; looped ones are
kept through their loop). Each instrument becomes one FLAC file (lossless, so loop points
stay exact) plus its regions in index.json; stereo pairs of the font become stereo regions.
The licence and the font's sample credits are copied beside them. Envelopes are not
taken from the font: decaying recordings carry their own decay, and how we play each
instrument (attack, release, drift, vibrato) is ours, in engine/music/instruments.py.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
from scipy import signal

sys.path.insert(0, str(Path(__file__).resolve().parent))
from soundfont import SoundFont, Zone  # noqa: E402

PACKAGE = "musescore-general-soundfont-small"
SF3 = "usr/share/sounds/sf3/MuseScore_General_Lite.sf3"
DOC = "usr/share/doc/musescore-general-soundfont-small"
OUT = Path(__file__).resolve().parents[1] / "engine" / "music" / "samples"


@dataclass(frozen=True)
class Pick:
    """One shipped instrument: where it comes from and how much of it we keep."""

    bank: int
    program: int
    keys: tuple[int, int]              # pitch range the genres play on it
    velocities: tuple[int, ...]        # velocity layers kept (MIDI velocity points)
    max_s: float                       # longest kept sample (looped samples: through the loop)
    every: int = 1                     # keep every n-th root (sparser for big multi-sampled sets)


TONAL: dict[str, Pick] = {
    "piano": Pick(0, 0, (28, 96), (58, 100), 6.0, 2),
    "epiano": Pick(0, 4, (40, 84), (60, 100), 4.0),
    "nylon": Pick(0, 24, (38, 80), (90,), 3.5),
    "steel": Pick(0, 25, (52, 88), (90,), 3.0),
    "upright": Pick(0, 32, (28, 56), (90,), 2.5),
    "finger_bass": Pick(0, 33, (28, 56), (90,), 2.5),
    "strings": Pick(0, 48, (28, 86), (90,), 6.0),
    "choir": Pick(0, 52, (52, 84), (90,), 6.0),
    "horn": Pick(0, 60, (48, 80), (90,), 6.0),
    "flute": Pick(0, 73, (60, 96), (90,), 6.0),
    "marimba": Pick(0, 12, (55, 96), (70, 100), 2.5),
    "vibraphone": Pick(0, 11, (60, 96), (70, 100), 3.5),
    "celesta": Pick(0, 8, (60, 100), (70,), 3.0),
    "warm_pad": Pick(0, 89, (28, 84), (90,), 6.0),
    "halo_pad": Pick(0, 94, (28, 84), (90,), 6.0),
}
# GM drum keys the composer writes (drums.PIECES) and how long each rings
DRUM_KEYS = {35: 1.2, 36: 1.2, 37: 0.6, 38: 1.2, 39: 1.0, 41: 1.5, 42: 0.5, 45: 1.5, 46: 1.5, 48: 1.5, 49: 3.0,
             50: 1.2, 51: 2.5, 54: 0.8, 70: 0.6}
KITS: dict[str, tuple[int, int]] = {
    "kit_standard": (128, 0), "kit_room": (128, 8), "kit_electronic": (128, 24), "kit_jazz": (128, 32),
    "kit_brush": (128, 40), "kit_orchestra": (128, 48),
}
DRUM_VELOCITIES = (70, 95, 115)


def _pairs(zones: list[Zone]) -> list[tuple[Zone, Zone | None]]:
    """Stereo pairs (left, right) by equal ranges and root; mono zones stand alone."""
    lefts = [z for z in zones if z.sample.kind & 4]
    rights = [z for z in zones if z.sample.kind & 2]
    out: list[tuple[Zone, Zone | None]] = [(z, None) for z in zones if not z.sample.kind & 6]
    for left in lefts:
        right = next((r for r in rights if (r.key, r.vel, r.sample.root) == (left.key, left.vel, left.sample.root)), None)
        out.append((left, right))
    return out


def _region(sf: SoundFont, left: Zone, right: Zone | None, max_s: float, rate: int) -> tuple[dict, np.ndarray]:
    """One region: its (n, 2) audio at ``rate`` and the facts the sampler needs."""
    h = left.sample
    chans = [sf.audio(left.sample_index), sf.audio(right.sample_index) if right else sf.audio(left.sample_index)]
    n = min(len(c) for c in chans)
    looped = left.gen(54) in (1, 3) and 0 < h.loop_start < h.loop_end <= n
    start = left.gen(0) + 32768 * left.gen(4)
    loop = (h.loop_start + left.gen(2) + 32768 * left.gen(45) - start, h.loop_end + left.gen(3) + 32768 * left.gen(50) - start)
    keep = min(n - start, int(max_s * h.rate))
    if looped and loop[1] <= int(max_s * h.rate) + 1:
        keep = min(n - start, loop[1] + 8)
    else:
        looped = False
    audio = np.stack([c[start:start + keep] for c in chans], axis=1).astype(np.float64)
    if not looped:                                  # a cut decaying sample ends without a click
        fade = min(keep // 4, int(0.08 * h.rate))
        audio[keep - fade:] *= np.linspace(1.0, 0.0, fade)[:, None]
    scale = 1.0
    if h.rate != rate:
        audio = signal.resample_poly(audio, rate, h.rate, axis=0)
        scale = rate / h.rate
    root = left.gen(58) if left.gen(58) >= 0 else h.root
    tune = root - left.gen(51) - left.gen(52) / 100.0 - h.correction / 100.0
    facts = {
        "keys": list(left.key), "vel": list(left.vel), "root": round(tune, 3),
        "loop": [round(loop[0] * scale), round(loop[1] * scale)] if looped else None,
        "gain_db": round(-0.04 * left.gen(48), 2),       # cB, with the EMU 0.4 factor fonts are voiced for
        "stereo": right is not None,
    }
    return facts, audio.astype(np.float32)


def _wanted(z: Zone, keys: tuple[int, int], velocities: tuple[int, ...]) -> bool:
    return z.key[1] >= keys[0] and z.key[0] <= keys[1] and any(z.vel[0] <= v <= z.vel[1] for v in velocities)


def _write(name: str, regions: list[tuple[dict, np.ndarray]], rate: int, velocities: tuple[int, ...]) -> dict:
    offset, parts, facts = 0, [], []
    for f, audio in regions:
        f = {**f, "offset": offset, "frames": len(audio)}
        parts.append(audio)
        parts.append(np.zeros((64, 2), dtype=np.float32))
        offset += len(audio) + 64
        facts.append(f)
    data = np.concatenate(parts)
    peak = float(np.abs(data).max())
    soundfile.write(OUT / f"{name}.flac", np.clip(data / peak * 0.99, -1, 1), rate, subtype="PCM_16")
    return {"file": f"{name}.flac", "rate": rate, "velocities": list(velocities), "scale": round(peak / 0.99, 6),
            "regions": facts}


def build(sf3: Path) -> dict:
    sf = SoundFont(str(sf3))
    _PRESETS.update({k: (v[0].strip() or "Grand Piano") for k, v in sf.presets.items()})
    index: dict[str, dict] = {}
    for name, pick in TONAL.items():
        zones = [z for z in sf.zones(pick.bank, pick.program) if _wanted(z, pick.keys, pick.velocities)]
        roots = sorted({z.sample.root for z in zones})
        keep_roots = set(roots[::pick.every]) | {roots[-1]}
        pairs = [p for p in _pairs(zones) if p[0].sample.root in keep_roots]
        if pick.every > 1:                        # widen kept key ranges to cover the dropped roots
            pairs = _cover(pairs, pick.keys)
        rate = max(p[0].sample.rate for p in pairs)
        index[name] = _write(name, [_region(sf, lo, r, pick.max_s, rate) for lo, r in pairs], rate, pick.velocities)
        print(f"{name:<14} {len(pairs):>3} regions", file=sys.stderr)
    for name, (bank, program) in KITS.items():
        regions = []
        have = {z.key[0] for z in sf.zones(bank, program)}
        for key, max_s in DRUM_KEYS.items():
            source = (bank, program) if key in have else (128, 0)
            zones = [z for z in sf.zones(*source) if z.key[0] <= key <= z.key[1] and _wanted(z, (key, key), DRUM_VELOCITIES)]
            for left, right in _pairs(zones):
                facts, audio = _region(sf, left, right, max_s, 44100)
                regions.append(({**facts, "keys": [key, key]}, audio))
        index[name] = _write(name, regions, 44100, DRUM_VELOCITIES)
        print(f"{name:<14} {len(regions):>3} regions", file=sys.stderr)
    return index


def _cover(pairs: list, keys: tuple[int, int]) -> list:
    """Stretch each kept region's key range halfway to its neighbours' roots."""
    by_root = sorted({p[0].sample.root for p in pairs})
    out = []
    for left, right in pairs:
        i = by_root.index(left.sample.root)
        lo = keys[0] if i == 0 else (by_root[i - 1] + left.sample.root) // 2 + 1
        hi = keys[1] if i == len(by_root) - 1 else (left.sample.root + by_root[i + 1]) // 2
        for z in (left, right):
            if z is not None:
                z.key = (lo, hi)
        out.append((left, right))
    return out


def _credits() -> dict[tuple[int, int], str]:
    """Per preset, the font's own sample credit (SAMPLE_SOURCES.csv); blank means Fluid R3 (MIT)."""
    import csv

    rows = list(csv.reader((OUT / "SAMPLE_SOURCES.csv").open(encoding="utf-8-sig")))
    out = {}
    for r in rows[2:]:
        if len(r) > 5 and r[0].strip().isdigit() and r[2].strip().isdigit():
            out[(int(r[0]), int(r[2]))] = " ".join(r[5].split())
    return out


def _sources(deb: str, digest: str) -> str:
    credits = _credits()
    lines = [
        "# Where every shipped sample comes from",
        "",
        f"All files here were made by `tools/build_samples.py` from `{SF3}` in the Debian package",
        f"`{PACKAGE}` ({deb}; sha256 of the .sf3: `{digest}`). Its licence, copied unchanged to",
        "`COPYRIGHT`: MuseScore_General is MIT, with parts public domain or CC0; the Fluid (R3) samples",
        "it is built on are MIT (Frank Wen). `SAMPLE_SOURCES.csv` is the font's own per-preset credit list.",
        "The rendered audio may be used commercially and these files redistributed under those terms;",
        "keep `COPYRIGHT` beside them.",
        "",
        "| file | preset (bank:program) | sample credit |",
        "|---|---|---|",
    ]
    picks = {**{n: (p.bank, p.program) for n, p in TONAL.items()}, **KITS}
    sf_names = _preset_names()
    for name, (bank, program) in picks.items():
        credit = credits.get((bank, program)) or "no separate credit: MuseScore_General (MIT), built on Fluid (R3), MIT"
        lines.append(f"| `{name}.flac` | {bank}:{program} {sf_names.get((bank, program), '')} | {credit} |")
    lines += ["", "Drum keys missing from a kit are taken from Standard (128:0)."]
    return "\n".join(lines) + "\n"


_PRESETS: dict[tuple[int, int], str] = {}


def _preset_names() -> dict[tuple[int, int], str]:
    return _PRESETS


def _version(root: Path) -> str:
    """The package version of an extracted copy, from its Debian changelog's first line."""
    import gzip

    with gzip.open(root / DOC / "changelog.Debian.gz", "rt") as f:
        first = f.readline()
    return f"{PACKAGE}_{first.split('(')[1].split(')')[0]}_all.deb"


def fetch(tmp: Path) -> tuple[Path, str]:
    subprocess.run(["apt-get", "download", PACKAGE], cwd=tmp, check=True, capture_output=True)
    deb = next(tmp.glob(f"{PACKAGE}_*.deb"))
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp / "x")], check=True)
    return tmp / "x", deb.name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, help="an extracted copy of the Debian package (default: fetch it)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as t:
        root, deb = (args.root, _version(args.root)) if args.root else fetch(Path(t))
        sf3 = root / SF3
        shutil.rmtree(OUT, ignore_errors=True)
        OUT.mkdir(parents=True)
        index = build(sf3)
        digest = hashlib.sha256(sf3.read_bytes()).hexdigest()
        (OUT / "index.json").write_text(json.dumps({"source": {"package": PACKAGE, "deb": deb, "file": SF3,
                                                               "sha256": digest}, "instruments": index}, indent=1))
        shutil.copy(root / DOC / "copyright", OUT / "COPYRIGHT")
        subprocess.run(f"zcat {root / DOC / 'MuseScore_General_Sample_Sources.csv.gz'} > {OUT / 'SAMPLE_SOURCES.csv'}",
                       shell=True, check=True)
        (OUT / "SOURCES.md").write_text(_sources(deb, digest))
    size = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"{size / 1e6:.1f} MB in {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
