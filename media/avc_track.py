"""The H.264 video track of an MP4, read from its boxes: what a smart render must know.

Why our own reader: imageio-ffmpeg ships ffmpeg without ffprobe, and deciding whether a
file can be cut between GOPs needs facts ffmpeg's summary does not print — which samples
are sync samples, whether each of them is an IDR picture (an open GOP's recovery-point
I-frame is marked "sync" too, but the B-frames after it lean on the previous GOP), each
sample's presentation time, and the parameter sets (profile, level, progressive or not,
their ids). All of it sits in the ``moov`` box and in the first bytes of each sync sample,
so reading it costs milliseconds whatever the file's length.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

MAX_MOOV = 256 * 1024 * 1024   # a sample table bigger than this is not a file we cut
HIGH_PROFILES = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}
IDR, SPS_NAL, PPS_NAL = 5, 7, 8


class TrackError(ValueError):
    """The file is not an MP4 with an H.264 track we can read; ``str()`` says what is missing."""


@dataclass(frozen=True)
class Sps:
    """The fields of a sequence parameter set a splice has to match."""

    id: int
    profile: int
    level: int
    chroma_format: int
    bit_depth: int
    frame_mbs_only: bool   # False: interlaced (field or MBAFF) coding


@dataclass(frozen=True)
class AvcTrack:
    codec: str                       # the sample entry: avc1, avc3, hvc1…
    timescale: int
    sps: tuple[bytes, ...]
    pps: tuple[bytes, ...]
    sample_count: int
    sync: tuple[int, ...]            # decode-order indices of the sync samples
    sync_is_idr: tuple[bool, ...]
    pts: tuple[int, ...]             # presentation time of each sample, decode order, timescale units
    edits: int                       # edit-list entries (0 or 1 is a plain file)
    edit_start: int | None           # media time the (single) edit starts at: the B-frame delay
    fragmented: bool
    descriptions: int                # sample descriptions (more than one: the codec setup changes)

    def parsed_sps(self) -> list[Sps]:
        return [parse_sps(raw) for raw in self.sps]

    def pps_ids(self) -> set[int]:
        return {_Bits(_unescape(raw[1:])).ue() for raw in self.pps}


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) of each box in ``data[start:end]``."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", data[pos + 8:pos + 16])[0], 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise TrackError("a box in the file is cut short")
        yield kind, pos + header, pos + size
        pos += size


def _top_level(f: BinaryIO) -> Iterator[tuple[bytes, int, int]]:
    """Top-level boxes by seeking, so a multi-gigabyte ``mdat`` is never read."""
    f.seek(0, 2)
    length = f.tell()
    pos = 0
    while pos + 8 <= length:
        f.seek(pos)
        size, kind = struct.unpack(">I4s", f.read(8))
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", f.read(8))[0], 16
        elif size == 0:
            size = length - pos
        if size < header:
            raise TrackError("the file's box structure is broken")
        yield kind, pos + header, pos + size
        pos += size


def _find(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    return next(((s, e) for k, s, e in _boxes(data, start, end) if k == kind), None)


def _video_trak(moov: bytes) -> tuple[int, int]:
    for kind, start, end in _boxes(moov, 0, len(moov)):
        if kind != b"trak":
            continue
        mdia = _find(moov, start, end, b"mdia")
        hdlr = mdia and _find(moov, *mdia, b"hdlr")
        if hdlr and moov[hdlr[0] + 8:hdlr[0] + 12] == b"vide":
            return start, end
    raise TrackError("the file has no video track")


def read_track(path: str | Path) -> AvcTrack:
    """The first video track of the MP4/MOV at ``path``."""
    with open(path, "rb") as f:
        moov_at = None
        fragmented = False
        for kind, start, end in _top_level(f):
            if kind == b"moov":
                moov_at = (start, end)
            elif kind == b"moof":
                fragmented = True
        if moov_at is None:
            raise TrackError("not an MP4 file (no moov box)")
        if moov_at[1] - moov_at[0] > MAX_MOOV:
            raise TrackError("the file's sample table is too large")
        f.seek(moov_at[0])
        moov = f.read(moov_at[1] - moov_at[0])
        fragmented = fragmented or _find(moov, 0, len(moov), b"mvex") is not None
        trak = _video_trak(moov)
        return _track(f, moov, trak, fragmented)


def _full_box(moov: bytes, at: tuple[int, int] | None) -> bytes:
    """Payload of a full box (after version and flags), empty when absent."""
    return moov[at[0] + 4:at[1]] if at else b""


def _track(f: BinaryIO, moov: bytes, trak: tuple[int, int], fragmented: bool) -> AvcTrack:
    mdia = _find(moov, *trak, b"mdia")
    minf = mdia and _find(moov, *mdia, b"minf")
    stbl = minf and _find(moov, *minf, b"stbl")
    mdhd = mdia and _find(moov, *mdia, b"mdhd")
    if not (stbl and mdhd):
        raise TrackError("the video track has no sample table")
    version = moov[mdhd[0]]
    timescale = struct.unpack(">I", moov[mdhd[0] + (20 if version == 1 else 12):][:4])[0]
    edts = _find(moov, *trak, b"edts")
    elst_at = edts and _find(moov, *edts, b"elst")
    elst = _full_box(moov, elst_at)
    edits = struct.unpack(">I", elst[:4])[0] if elst else 0
    edit_start = None
    if edits and elst_at:
        wide = moov[elst_at[0]] == 1   # version 1: 64-bit durations and times
        edit_start = struct.unpack(">q", elst[12:20])[0] if wide else struct.unpack(">i", elst[8:12])[0]

    stsd = _full_box(moov, _find(moov, *stbl, b"stsd"))
    descriptions = struct.unpack(">I", stsd[:4])[0] if stsd else 0
    if not descriptions:
        raise TrackError("the video track has no sample description")
    entry_size, codec = struct.unpack(">I4s", stsd[4:12])
    sps: list[bytes] = []
    pps: list[bytes] = []
    length_size = 4
    if codec in (b"avc1", b"avc3"):
        avcc = _find(stsd, 4 + 8 + 78, 4 + entry_size, b"avcC")
        if avcc:
            length_size, sps, pps = parse_avcc(stsd[avcc[0]:avcc[1]])

    sizes = _sizes(_full_box(moov, _find(moov, *stbl, b"stsz")))
    count = len(sizes)
    stss = _full_box(moov, _find(moov, *stbl, b"stss"))
    if stss:
        n = struct.unpack(">I", stss[:4])[0]
        sync = tuple(i - 1 for i in struct.unpack(f">{n}I", stss[4:4 + 4 * n]))
    else:
        sync = tuple(range(count))
    offsets = _offsets(moov, stbl, sizes)
    deltas = _runs(_full_box(moov, _find(moov, *stbl, b"stts")), count, signed=False)
    shifts = _runs(_full_box(moov, _find(moov, *stbl, b"ctts")), count, signed=True)
    dts, pts = 0, []
    for i in range(count):
        pts.append(dts + (shifts[i] if shifts else 0))
        dts += deltas[i] if deltas else 0
    is_idr = tuple(_has_idr(f, offsets[i], sizes[i], length_size) for i in sync) if codec in (b"avc1", b"avc3") else ()
    return AvcTrack(codec.decode("latin-1"), timescale, tuple(sps), tuple(pps), count, sync, is_idr, tuple(pts),
                    edits, edit_start, fragmented, descriptions)


def parse_avcc(box: bytes) -> tuple[int, list[bytes], list[bytes]]:
    """NAL length size and parameter sets of an ``avcC`` record."""
    if len(box) < 7 or box[0] != 1:
        raise TrackError("the H.264 configuration record is malformed")
    length_size = (box[4] & 3) + 1
    pos = 5
    out: list[list[bytes]] = [[], []]
    for which in (0, 1):
        n = box[pos] & (0x1F if which == 0 else 0xFF)
        pos += 1
        for _ in range(n):
            size = struct.unpack(">H", box[pos:pos + 2])[0]
            out[which].append(box[pos + 2:pos + 2 + size])
            pos += 2 + size
    return length_size, out[0], out[1]


def _sizes(stsz: bytes) -> list[int]:
    if not stsz:
        raise TrackError("the video track has no sample sizes")
    uniform, count = struct.unpack(">II", stsz[:8])
    return [uniform] * count if uniform else list(struct.unpack(f">{count}I", stsz[8:8 + 4 * count]))


def _offsets(moov: bytes, stbl: tuple[int, int], sizes: list[int]) -> list[int]:
    """File offset of every sample, from the chunk offsets and the sample-to-chunk runs."""
    stco = _full_box(moov, _find(moov, *stbl, b"stco"))
    co64 = _full_box(moov, _find(moov, *stbl, b"co64"))
    if stco:
        n = struct.unpack(">I", stco[:4])[0]
        chunks = list(struct.unpack(f">{n}I", stco[4:4 + 4 * n]))
    elif co64:
        n = struct.unpack(">I", co64[:4])[0]
        chunks = list(struct.unpack(f">{n}Q", co64[4:4 + 8 * n]))
    else:
        raise TrackError("the video track has no chunk offsets")
    stsc = _full_box(moov, _find(moov, *stbl, b"stsc"))
    n = struct.unpack(">I", stsc[:4])[0] if stsc else 0
    runs = [struct.unpack(">III", stsc[4 + 12 * i:16 + 12 * i]) for i in range(n)]
    offsets: list[int] = []
    sample = 0
    for r, (first, per_chunk, _) in enumerate(runs):
        last = runs[r + 1][0] - 1 if r + 1 < len(runs) else len(chunks)
        for chunk in range(first - 1, last):
            pos = chunks[chunk]
            for _ in range(per_chunk):
                if sample >= len(sizes):
                    return offsets
                offsets.append(pos)
                pos += sizes[sample]
                sample += 1
    if len(offsets) != len(sizes):
        raise TrackError("the sample table does not add up")
    return offsets


def _runs(box: bytes, count: int, *, signed: bool) -> list[int]:
    """Expand an stts/ctts run table to one value per sample (empty when the box is absent)."""
    if not box:
        return []
    n = struct.unpack(">I", box[:4])[0]
    values: list[int] = []
    fmt = ">Ii" if signed else ">II"
    for i in range(n):
        repeat, value = struct.unpack(fmt, box[4 + 8 * i:12 + 8 * i])
        values.extend([value] * repeat)
    return (values + [values[-1] if values else 0] * count)[:count]


def _has_idr(f: BinaryIO, offset: int, size: int, length_size: int) -> bool:
    """Whether the sample holds an IDR slice (walks NAL headers only)."""
    pos = 0
    while pos + length_size < size:
        f.seek(offset + pos)
        head = f.read(length_size + 1)
        if len(head) < length_size + 1:
            return False
        nal_len = int.from_bytes(head[:length_size], "big")
        if head[length_size] & 0x1F == IDR:
            return True
        pos += length_size + nal_len
    return False


def _unescape(rbsp: bytes) -> bytes:
    """Drop H.264 emulation-prevention bytes (00 00 03 → 00 00)."""
    return rbsp.replace(b"\x00\x00\x03", b"\x00\x00")


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def u(self, n: int) -> int:
        value = 0
        for _ in range(n):
            byte = self.data[self.pos // 8] if self.pos // 8 < len(self.data) else 0
            value = (value << 1) | ((byte >> (7 - self.pos % 8)) & 1)
            self.pos += 1
        return value

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise TrackError("a parameter set is malformed")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k % 2 else -(k // 2)


def parse_sps(raw: bytes) -> Sps:
    """The profile, level, chroma format, bit depth and frame coding of an SPS NAL unit."""
    bits = _Bits(_unescape(raw[1:]))
    profile, _, level = bits.u(8), bits.u(8), bits.u(8)
    sps_id = bits.ue()
    chroma, depth = 1, 8
    if profile in HIGH_PROFILES:
        chroma = bits.ue()
        if chroma == 3:
            bits.u(1)
        depth = bits.ue() + 8
        bits.ue()
        bits.u(1)
        if bits.u(1):  # scaling matrices: skip the lists
            for i in range(12 if chroma == 3 else 8):
                if bits.u(1):
                    last = nxt = 8
                    for _ in range(16 if i < 6 else 64):
                        if nxt:
                            nxt = (last + bits.se() + 256) % 256
                        last = nxt or last
    bits.ue()                       # log2_max_frame_num_minus4
    poc_type = bits.ue()
    if poc_type == 0:
        bits.ue()
    elif poc_type == 1:
        bits.u(1)
        bits.se()
        bits.se()
        for _ in range(bits.ue()):
            bits.se()
    bits.ue()                       # max_num_ref_frames
    bits.u(1)
    bits.ue()
    bits.ue()                       # picture size in macroblocks
    return Sps(sps_id, profile, level, chroma, depth, bool(bits.u(1)))
