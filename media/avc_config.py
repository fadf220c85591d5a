"""Put extra H.264 parameter sets into an MP4's ``avcC`` record, in place.

Why: a smart render joins GOPs that use the source's SPS/PPS with GOPs that use x264's (under
other ids). ffmpeg's concat demuxer carries the second set in band, which decoders follow, but
an ``avc1`` track is meant to declare every parameter set in its sample entry, and some
players only read it from there. The joined file takes its ``avcC`` from the first piece, so
the first piece gets both sets before the join.

Only a file whose ``moov`` is its last box is patched (ffmpeg writes it last unless asked for
faststart): growing it then moves no sample, so no chunk offset changes.
"""
from __future__ import annotations

import os
import struct
from typing import Sequence

from media.avc_track import parse_avcc

_PATH = (b"trak", b"mdia", b"minf", b"stbl", b"stsd")
_HEADER = 8


def _children(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, box start, box end) of plain 32-bit-size boxes in ``data[start:end]``."""
    out = []
    pos = start
    while pos + _HEADER <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + _HEADER])
        if size < _HEADER or pos + size > end:
            raise ValueError("unexpected box layout")
        out.append((kind, pos, pos + size))
        pos += size
    return out


def _tail(record: bytes) -> bytes:
    """What follows the PPS array in an ``avcC`` (the High-profile chroma and bit-depth fields)."""
    pos = 5
    for mask in (0x1F, 0xFF):
        count = record[pos] & mask
        pos += 1
        for _ in range(count):
            pos += 2 + struct.unpack(">H", record[pos:pos + 2])[0]
    return record[pos:]


def _record(old: bytes, length_size: int, sps: Sequence[bytes], pps: Sequence[bytes]) -> bytes:
    """An ``avcC`` payload with these parameter sets; profile, level and the extension fields
    are kept from the existing record ``old``."""
    out = bytearray(old[:4])
    out.append(0xFC | (length_size - 1))
    out.append(0xE0 | len(sps))
    for nal in sps:
        out += struct.pack(">H", len(nal)) + nal
    out.append(len(pps))
    for nal in pps:
        out += struct.pack(">H", len(nal)) + nal
    return bytes(out) + _tail(old)


def add_parameter_sets(path: str | os.PathLike[str], sps: Sequence[bytes], pps: Sequence[bytes]) -> bool:
    """Append ``sps``/``pps`` (those not already there) to the video track's ``avcC``.
    Returns False, leaving the file as it was, when its layout is not one we patch."""
    with open(path, "r+b") as f:
        f.seek(0, 2)
        length = f.tell()
        pos, moov_at = 0, None
        while pos + _HEADER <= length:
            f.seek(pos)
            size, kind = struct.unpack(">I4s", f.read(_HEADER))
            if size < _HEADER:
                return False
            if kind == b"moov":
                moov_at = (pos, size)
            pos += size
        if moov_at is None or sum(moov_at) != length:
            return False
        f.seek(moov_at[0])
        moov = bytearray(f.read(moov_at[1]))
        try:
            patched = _patch(moov, sps, pps)
        except (ValueError, IndexError, struct.error):
            return False
        if patched is None:
            return False
        f.seek(moov_at[0])
        f.write(patched)
        f.truncate()
    return True


def _patch(moov: bytearray, sps: Sequence[bytes], pps: Sequence[bytes]) -> bytearray | None:
    for kind, trak_start, trak_end in _children(bytes(moov), _HEADER, len(moov)):
        if kind != b"trak":
            continue
        chain = [(b"moov", 0, len(moov)), (kind, trak_start, trak_end)]
        for want in _PATH[1:]:
            found = next((c for c in _children(bytes(moov), chain[-1][1] + _HEADER, chain[-1][2]) if c[0] == want), None)
            if found is None:
                break
            chain.append(found)
        else:
            stsd = chain[-1]
            entries = _children(bytes(moov), stsd[1] + _HEADER + 8, stsd[2])
            if len(entries) != 1 or entries[0][0] not in (b"avc1", b"avc3"):
                continue
            entry = entries[0]
            avcc = next((c for c in _children(bytes(moov), entry[1] + _HEADER + 78, entry[2]) if c[0] == b"avcC"),
                        None)
            if avcc is None:
                return None
            old = bytes(moov[avcc[1] + _HEADER:avcc[2]])
            length_size, have_sps, have_pps = parse_avcc(old)
            all_sps = have_sps + [s for s in sps if s not in have_sps]
            all_pps = have_pps + [p for p in pps if p not in have_pps]
            if len(all_sps) > 31 or len(all_pps) > 255:
                return None
            record = _record(old, length_size, all_sps, all_pps)
            delta = len(record) + _HEADER - (avcc[2] - avcc[1])
            moov[avcc[1]:avcc[2]] = struct.pack(">I4s", len(record) + _HEADER, b"avcC") + record
            for _, start, end in [*chain, entry]:   # every box around the avcC grows by the same amount
                struct.pack_into(">I", moov, start, end - start + delta)
            return moov
    return None
