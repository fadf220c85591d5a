"""A minimal SoundFont 2/3 reader for the sample-set builder (not used at run time).

Reads the preset -> instrument -> sample tree and the generators a sampler needs (key and
velocity ranges, root key, tuning, loop, volume envelope, attenuation, pan). SF3 files
(MuseScore) store each sample as its own Ogg Vorbis stream: ``start``/``end`` are byte
offsets into the sample chunk and the loop points count decoded frames from the start.
"""
from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field

import numpy as np

KEY_RANGE, VEL_RANGE, INSTRUMENT, SAMPLE_ID = 43, 44, 41, 53
UNSIGNED = (KEY_RANGE, VEL_RANGE, INSTRUMENT, SAMPLE_ID)    # ranges: lo byte, hi byte; indices
# defaults of the generators the builder reads (SF2 2.04 section 8.1.3); preset-level values add to them
DEFAULTS = {58: -1}


@dataclass(frozen=True)
class SampleHeader:
    name: str
    start: int
    end: int
    loop_start: int
    loop_end: int
    rate: int
    root: int
    correction: int
    link: int
    kind: int

    @property
    def ogg(self) -> bool:
        return bool(self.kind & 0x10)


@dataclass
class Zone:
    """One playable region: a sample and the merged generators that shape it."""

    sample: SampleHeader
    sample_index: int
    key: tuple[int, int]
    vel: tuple[int, int]
    gens: dict[int, int] = field(default_factory=dict)

    def gen(self, op: int) -> int:
        return self.gens.get(op, DEFAULTS.get(op, 0))


def _chunks(data: bytes, start: int, end: int) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    pos = start
    while pos + 8 <= end:
        cid, size = data[pos:pos + 4].decode("latin1"), struct.unpack_from("<I", data, pos + 4)[0]
        if cid == "LIST":
            out.update({f"{data[pos + 8:pos + 12].decode('latin1')}/{k}": v
                        for k, v in _chunks(data, pos + 12, pos + 8 + size).items()})
            out[data[pos + 8:pos + 12].decode("latin1")] = (pos + 12, pos + 8 + size)
        else:
            out[cid] = (pos + 8, pos + 8 + size)
        pos += 8 + size
        if size & 1 and not data[pos:pos + 4].isalpha():    # RIFF pads odd chunks; some writers do not
            pos += 1
    return out


class SoundFont:
    def __init__(self, path: str) -> None:
        with open(path, "rb") as f:
            self.data = f.read()
        c = _chunks(self.data, 12, len(self.data))
        self._smpl = c["sdta/smpl"]
        self._rec = {k.split("/")[1]: c[k] for k in c if k.startswith("pdta/")}
        self.samples = [SampleHeader(r[0].split(b"\0")[0].decode("latin1"), *r[1:])
                        for r in self._records("shdr", "<20sIIIIIBbHH")]
        self.presets = {(r[2], r[1]): (r[0].split(b"\0")[0].decode("latin1"), r[3])
                        for r in self._records("phdr", "<20sHHHIII")}
        self._decoded: dict[int, np.ndarray] = {}

    def _records(self, name: str, fmt: str) -> list[tuple]:
        a, b = self._rec[name]
        size = struct.calcsize(fmt)
        return [struct.unpack_from(fmt, self.data, p) for p in range(a, b, size)]

    def _zones(self, hdr: str, bag: str, gen: str, index: int) -> list[dict[int, int]]:
        """Generator dicts of the zones of preset/instrument ``index``; the global zone first if any."""
        heads = self._records(hdr, "<20sHHHIII" if hdr == "phdr" else "<20sH")
        bags = self._records(bag, "<HH")
        gens = self._records(gen, "<HH")
        first, last = heads[index][-4 if hdr == "phdr" else -1], heads[index + 1][-4 if hdr == "phdr" else -1]
        zones = []
        for z in range(first, last):
            d: dict[int, int] = {}
            for op, amount in gens[bags[z][0]:bags[z + 1][0]]:
                d[op] = amount if op in UNSIGNED else struct.unpack("<h", struct.pack("<H", amount))[0]
            zones.append(d)
        return zones

    def zones(self, bank: int, program: int) -> list[Zone]:
        """Every (instrument zone x preset zone) of a preset, generators merged as SF2 says."""
        pzones = self._zones("phdr", "pbag", "pgen", self._phdr_index(bank, program))
        pglobal = pzones[0] if pzones and INSTRUMENT not in pzones[0] else {}
        out: list[Zone] = []
        for pz in pzones:
            if INSTRUMENT not in pz:
                continue
            izones = self._zones("inst", "ibag", "igen", pz[INSTRUMENT])
            iglobal = izones[0] if izones and SAMPLE_ID not in izones[0] else {}
            for iz in izones:
                if SAMPLE_ID not in iz:
                    continue
                gens = {**iglobal, **iz}
                for op, amount in {**pglobal, **pz}.items():
                    if op in UNSIGNED:
                        continue
                    gens[op] = gens.get(op, DEFAULTS.get(op, 0)) + amount
                key = _intersect(_range(gens.get(KEY_RANGE)), _range(pz.get(KEY_RANGE, pglobal.get(KEY_RANGE))))
                vel = _intersect(_range(gens.get(VEL_RANGE)), _range(pz.get(VEL_RANGE, pglobal.get(VEL_RANGE))))
                if key[0] > key[1] or vel[0] > vel[1]:
                    continue
                out.append(Zone(self.samples[iz[SAMPLE_ID]], iz[SAMPLE_ID], key, vel, gens))
        return out

    def _phdr_index(self, bank: int, program: int) -> int:
        for i, r in enumerate(self._records("phdr", "<20sHHHIII")):
            if (r[2], r[1]) == (bank, program):
                return i
        raise KeyError((bank, program))

    def audio(self, index: int) -> np.ndarray:
        """The decoded sample as float32 mono."""
        if index not in self._decoded:
            import soundfile

            h = self.samples[index]
            a = self._smpl[0]
            if h.ogg:
                x, _ = soundfile.read(io.BytesIO(self.data[a + h.start:a + h.end]), dtype="float32")
            else:
                x = np.frombuffer(self.data, "<i2", h.end - h.start, a + 2 * h.start).astype(np.float32) / 32768
            self._decoded[index] = x if x.ndim == 1 else x[:, 0]
        return self._decoded[index]


def _range(v: int | None) -> tuple[int, int]:
    return (0, 127) if v is None else (v & 0xFF, v >> 8)


def _intersect(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return max(a[0], b[0]), min(a[1], b[1])
