"""File-backed audio buffers (media.paged): a pass over one keeps only its chunk resident."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.music.mastering import master_inplace
from media.paged import file_buffer, release

SR = 48000


def _resident_kb(path: Path) -> int:
    """Rss of this process's mapping of ``path`` (from /proc/self/smaps)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        if line[:1].isdigit() or line[:1] in "abcdef" and "-" in line.split()[0]:
            inside = line.endswith(str(path))
        elif inside and line.startswith("Rss:"):
            total += int(line.split()[1])
    return total


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="reads /proc/self/smaps (Linux)")
def test_mastering_a_file_buffer_leaves_only_a_chunk_resident(tmp_path: Path) -> None:
    """Mastering walks the whole soundtrack several times; on a file buffer, the pages behind each step go back."""
    audio = (np.random.default_rng(2).standard_normal((SR * 60, 2)) * 0.1).astype(np.float32)
    path = tmp_path / "s.f32"
    buf = file_buffer(path, len(audio), 2)
    buf[:] = audio
    release(buf)
    assert _resident_kb(path) < 1024
    master_inplace(buf, SR)
    master_inplace(audio, SR)
    assert _resident_kb(path) < 8 * 1024, f"{_resident_kb(path) // 1024} MB of a {buf.nbytes >> 20} MB buffer resident"
    assert np.array_equal(buf, audio)


def test_release_leaves_ordinary_arrays_and_data_alone(tmp_path: Path) -> None:
    plain = np.ones((1000, 2), dtype=np.float32)
    release(plain)
    buf = file_buffer(tmp_path / "s.f32", 1 << 20, 2)
    buf += 0.5
    release(buf[10:], 0, 1 << 19)
    assert plain.sum() == 2000 and float(buf.sum()) == (1 << 20) * 2 * 0.5


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="reads /proc/self/smaps (Linux)")
def test_the_true_peak_pass_leaves_nothing_resident_behind_it(tmp_path: Path) -> None:
    """Its chunks overlap by the interpolator's margin: releasing only each chunk's own span left pages behind."""
    from engine.music.loudness import envelopes

    path = tmp_path / "s.f32"
    buf = file_buffer(path, SR * 60, 2)
    buf += np.float32(0.1)
    release(buf)
    readings: list[int] = []                # watched from both cores: list.append is atomic

    def watch(_a: int, _env: np.ndarray) -> None:
        readings.append(_resident_kb(path))

    envelopes(buf, 0.05, watch)
    most = max(readings)
    assert most < 4 * 1024 and _resident_kb(path) < 1024, f"{most // 1024} MB of {buf.nbytes >> 20} MB resident"
