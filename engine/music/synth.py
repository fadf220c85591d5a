"""synthesize(): render a Score to five stereo stems and their mix; mixdown(): the mix alone.

Per note we only slice-add a cached waveform (see voices.py); everything that touches
the whole timeline (sidechain pump, stem level, reverb, the end fade) happens once per
stem, in place. Stems carry their own share of the room, so they sum to the mix exactly.

Memory: a stem is one (2, N) buffer, five times what the mix needs together. mixdown()
renders two stems at a time, the heaviest as early as the buffers allow, and sums each into
the mix as soon as its turn comes, always in STEMS order, so the sum does not depend on which
thread finished first. A long piece
(over PARALLEL_MAX_S) renders one stem at a time into a stem file on disk: its notes a
span at a time, every stem-wide pass a chunk at a time, each released behind it, so
what is resident does not grow with the length (issue 13 item 6: 5.9 GB for 3 hours).
"""
from __future__ import annotations

import dataclasses
import functools
import tempfile
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from . import bus
from . import constants as C
from .brief import STEMS
from .drumkit import PAN, PIECE_OF, sampled_hit
from .fx import effect, vinyl_loop
from .instruments import VOICINGS
from .patches import PATCHES, Patch
from .reverb import add_answer, add_reverb, send_of
from .sampler import layer_of as sampled_layer
from .sampler import render as sample
from .score import Note, Part, Score
from .stream import ahead, planar_chunks, release_planar
from .voices import layer_of, render


@dataclass(frozen=True, eq=False)
class Rendered:
    """Channel-first buffers (2, N); ``mix`` and ``stems`` expose them as (N, 2) views.

    Why channel-first: every note is two contiguous slice-adds into a stem.
    """

    planar_mix: np.ndarray                                        # (2, N) float32
    planar_stems: dict[str, np.ndarray] = field(default_factory=dict)
    sample_rate: int = C.SAMPLE_RATE

    @property
    def mix(self) -> np.ndarray:
        return self.planar_mix.T

    @property
    def stems(self) -> dict[str, np.ndarray]:
        return {name: buf.T for name, buf in self.planar_stems.items()}


def _pan_gains(pan: float) -> tuple[float, float]:
    theta = (min(max(pan, -1.0), 1.0) + 1.0) * np.pi / 4.0
    return float(np.cos(theta) * np.sqrt(2.0)), float(np.sin(theta) * np.sqrt(2.0))


Span = tuple[int, int]


def _add2(buf: np.ndarray, start: int, wave: np.ndarray, gl: float, gr: float, lo: int = 0,
          hi: int | None = None) -> None:
    """Add the (2, L) ``wave`` at ``start``: only its samples inside [lo, hi) and the buffer.

    A CHUNK at a time: a long note's scaled copy stays in cache for the add (a pad's
    whole-length temporary cost twice the time: allocated afresh, then read back from memory).
    """
    first = max(start, lo)
    end = min(start + wave.shape[1], buf.shape[1] if hi is None else min(hi, buf.shape[1]))
    for s in range(first, end, C.CHUNK):
        e = min(s + C.CHUNK, end)
        w = wave[:, s - start:e - start]
        buf[0, s:e] += gl * w[0]
        buf[1, s:e] += gr * w[1]


class _Waves:
    """The waveforms of a part's note groups while its spans render, within a byte budget.

    Why: a long piece renders its notes a span at a time, and a group's notes are spread
    over the whole piece. A waveform is kept only if a later span needs it; over budget,
    the one needed furthest ahead goes first (rendering it again gives the same samples).
    A piece rendered in one span keeps none: one waveform is alive at a time, as before.
    """

    def __init__(self, make: Callable[[int], np.ndarray], uses: list[np.ndarray], budget: float) -> None:
        self._make, self._uses, self._budget = make, uses, budget
        self._kept: dict[int, np.ndarray] = {}

    def _next_use(self, group: int, span: int) -> float:
        uses = self._uses[group]
        i = int(np.searchsorted(uses, span, side="right"))
        return float(uses[i]) if i < len(uses) else np.inf

    def get(self, group: int, span: int) -> np.ndarray:
        """Group ``group``'s waveform, asked for while rendering span number ``span``."""
        wave = self._kept.pop(group, None)
        if wave is None:
            wave = self._make(group)
        if self._next_use(group, span) < np.inf:
            self._kept[group] = wave
            while sum(w.nbytes for w in self._kept.values()) > self._budget:
                del self._kept[max(self._kept, key=lambda g: self._next_use(g, span))]
        return wave


def _render_tonal(buf: np.ndarray, part: Part, notes: list[Note], sr: int, brightness: float,
                  spans: list[Span]) -> None:
    """Recorded instruments through the sampler, synthesizers through voices.py.

    One rendering per (pitch, velocity layer, take) at the longest length any of its notes
    needs; a note plays a prefix of it and a release ramp. Repeated notes of one pitch
    cycle through the voicing's takes, each with its own pitch drift, so no two in a row
    are the same recording of the same performance. Span by span, every note adds the
    samples it has inside the span (see _Waves for the renderings kept between spans).
    """
    voicing = VOICINGS.get(part.patch)
    patch = PATCHES.get(part.patch)
    release = voicing.release if voicing is not None else patch.release
    rel = max(int(release * sr), 1)
    ramp = np.linspace(1.0, 0.0, rel, dtype=np.float32) ** 2
    takes = voicing.takes if voicing is not None else 1
    by_wave: dict[tuple[int, int, int], list[Note]] = defaultdict(list)
    count: dict[int, int] = defaultdict(int)
    for n in notes:
        layer = sampled_layer(voicing, n.velocity) if voicing is not None else layer_of(n.velocity, patch)
        by_wave[(n.pitch, layer, count[n.pitch] % takes)].append(n)
        count[n.pitch] += 1
    gain = 10 ** (part.gain_db / 20.0)
    groups = list(by_wave.items())

    def make(i: int) -> np.ndarray:
        (pitch, layer, take), group = groups[i]
        length = max(int(n.duration * sr) for n in group) + rel
        if voicing is not None:
            loudest = max(group, key=lambda n: n.velocity).velocity
            return sample(voicing, pitch, loudest, length, sr, take, brightness)
        if part.stem == "bass":                        # bass stays centred and mono
            mono = render(patch, pitch, layer, length, sr, brightness)
            return np.stack([mono, mono])
        return np.stack([render(p, pitch, layer, length, sr, brightness) for p in _players(patch)])

    starts = [np.array([int(round(n.time * sr)) for n in g], dtype=np.int64) for _, g in groups]
    ends = [s + np.array([int(n.duration * sr) for n in g], dtype=np.int64) + rel for s, (_, g) in zip(starts, groups)]
    edges = np.array([a for a, _ in spans[1:]], dtype=np.int64)
    uses = [np.unique(np.concatenate([np.arange(f, t + 1) for f, t in zip(np.searchsorted(edges, s, side="right"),
                                                                        np.searchsorted(edges, e - 1, side="right"))]))
            for s, e in zip(starts, ends)]                  # the spans each group's notes sound in
    waves = _Waves(make, uses, C.WAVE_CACHE_MB * 1e6)
    for k, (a, b) in enumerate(spans):
        sounding = [(i, np.flatnonzero((starts[i] < b) & (ends[i] > a))) for i in range(len(groups))]
        sounding = [(i, inside) for i, inside in sounding if len(inside)]
        order = [i for i, _ in sounding]
        if len(spans) == 1:              # nothing kept between spans: the next waveform renders alongside
            made = ahead(make, order, lambda i: int((ends[i] - starts[i]).max()) * 8 <= C.AHEAD_MAX_BYTES)
        else:
            made = (waves.get(i, k) for i in order)
        for (i, inside), wave in zip(sounding, made):
            group = groups[i][1]
            for j in inside:
                n = group[j]
                on = min(int(n.duration * sr), wave.shape[1])
                g = gain * n.velocity ** 1.6
                spread = part.spread * float(np.clip((n.pitch - 66) / 18.0, -1.0, 1.0))
                gl, gr = _pan_gains(part.pan + spread)
                start = int(starts[i][j])
                _add2(buf, start, wave[:, :on], g * gl, g * gr, a, b)
                tail = wave[:, on:on + rel]
                if tail.shape[1] and start + on < b:
                    _add2(buf, start + on, tail * ramp[: tail.shape[1]], g * gl, g * gr, a, b)
        release_planar(buf, a, b)


@lru_cache(maxsize=64)
def _players(patch: Patch) -> tuple[Patch, Patch]:
    """A synth part as two players, one per side: oscillators detuned apart, each with its own slow wobble.

    Why: one waveform panned is mono however it is panned; two slightly different ones are
    width that survives mono fold-down (their sum only beats gently).
    """
    def player(sign: float, rate: float) -> Patch:
        oscs = tuple(dataclasses.replace(o, detune=o.detune + sign * 5.0) for o in patch.oscs)
        return dataclasses.replace(patch, oscs=oscs, vibrato=patch.vibrato or 4.0,
                                   vibrato_hz=patch.vibrato_hz * rate if patch.vibrato else 0.35 * rate,
                                   vibrato_delay=patch.vibrato_delay if patch.vibrato else 0.0)
    return player(-1.0, 0.93), player(1.0, 1.07)


def _render_drums(buf: np.ndarray, part: Part, notes: list[Note], sr: int, brightness: float,
                  spans: list[Span]) -> None:
    """Recorded kit hits; each piece cycles through its takes (see drumkit.sampled_hit)."""
    kit = part.patch.split(":", 1)[1]
    metal = 0.55 * (1.0 + 0.4 * brightness)        # darker pieces play their cymbals softer
    count: dict[str, int] = defaultdict(int)
    hits: list[tuple[int, int, float, int, float, float]] = []
    for n in notes:
        piece = PIECE_OF.get(n.pitch, "snare")
        gl, gr = _pan_gains(PAN.get(piece, 0.0))
        g = n.velocity ** 1.4 * (metal if piece in ("hat", "ohat", "shaker", "ride", "tamb") else 1.0)
        take = count[piece] % C.DRUM_TAKES
        count[piece] += 1
        hits.append((int(round(n.time * sr)), n.pitch, n.velocity, take, g * gl, g * gr))
    starts = np.array([h[0] for h in hits], dtype=np.int64)
    ends = starts + np.array([sampled_hit(kit, p, v, t, sr).shape[1] for _, p, v, t, _, _ in hits], dtype=np.int64)
    for a, b in spans:
        for i in np.flatnonzero((starts < b) & (ends > a)):
            start, pitch, velocity, take, gl, gr = hits[i]
            _add2(buf, start, sampled_hit(kit, pitch, velocity, take, sr), gl, gr, a, b)
        release_planar(buf, a, b)


def _render_fx(buf: np.ndarray, part: Part, notes: list[Note], sr: int, spans: list[Span]) -> None:
    starts = np.array([int(round(n.time * sr)) for n in notes], dtype=np.int64)
    ends = starts + np.array([max(int(n.duration * sr), 1) for n in notes], dtype=np.int64)
    for a, b in spans:
        for i in np.flatnonzero((starts < b) & (ends > a)):
            wave = effect(notes[i].pitch, int(ends[i] - starts[i]), sr)
            v = notes[i].velocity
            _add2(buf, int(starts[i]), np.broadcast_to(wave, (2, wave.shape[0])), v, v, a, b)
        release_planar(buf, a, b)


def _render_vinyl(buf: np.ndarray, notes: list[Note], sr: int, spans: list[Span]) -> None:
    """The loop laid end to end, one loop-length piece at a time (no full-length bed).

    The right channel reads the loop half a loop later: crackle on both sides, never the same.
    """
    loop = vinyl_loop(sr)
    pair = np.stack([loop, np.roll(loop, -(len(loop) // 2))])
    for a, b in spans:
        for n in notes:
            start, length = int(round(n.time * sr)), int(n.duration * sr)
            fade = min(length // 2, int(0.5 * sr))
            rise = np.linspace(0.0, 1.0, fade, dtype=np.float32)
            fall = rise[::-1]
            first_off = max(a - start, 0) // len(loop) * len(loop)     # the pieces that reach into [a, b)
            for off in range(first_off, min(length, b - start), len(loop)):
                m = min(len(loop), length - off)
                piece = pair[:, :m] * np.float32(n.velocity)
                end = off + m
                if off < fade:
                    piece[:, : min(end, fade) - off] *= rise[off:end]
                if end > length - fade:
                    first = max(off, length - fade)
                    piece[:, first - off:] *= fall[first - (length - fade):end - (length - fade)]
                _add2(buf, start + off, piece, 0.9, 1.0, a, b)
        release_planar(buf, a, b)


def _pump(buf: np.ndarray, kicks: list[float], sr: int) -> None:
    """Sidechain gain, in place: duck to 35% on every kick, recover over ~180 ms."""
    length = int(0.3 * sr)
    t = np.arange(length, dtype=np.float32) / sr
    curve = 1.0 - 0.65 * np.exp(-t / 0.09) * np.minimum(1.0, t / 0.004 + 0.3)
    starts = np.sort(np.array([int(k * sr) for k in kicks], dtype=np.int64))
    for a, b in planar_chunks(buf):
        lo, hi = np.searchsorted(starts, (a - length + 1, b))      # kicks whose curve reaches [a, b)
        if lo == hi:
            continue
        env = np.ones(b - a, dtype=np.float32)
        for s in starts[lo:hi]:
            i, j = max(s, a), min(s + length, b)
            np.minimum(env[i - a:j - a], curve[i - s:j - s], out=env[i - a:j - a])
        buf[:, a:b] *= env


def _active_level_db(stem: np.ndarray, sr: int) -> float | None:
    """Loudness while the stem plays: mean power of blocks within 20 dB of its loudest.

    Measured a few hundred blocks at a time: the decimated mono sum of a whole long stem
    would be another quarter of its size (and a stem on disk is paged in that much at a time).
    """
    step = 8                                   # every 8th sample is plenty for a level
    block = int(C.STEM_BLOCK_S * sr) // step
    size = -(-stem.shape[1] // step)           # decimated samples
    if size < block:
        sq = np.square(stem[0, ::step] + stem[1, ::step])
        power = sq.reshape(1, -1).sum(axis=1) / sq.shape[0]
    else:
        m = size // block
        power = np.empty(m, dtype=np.float32)
        for r0 in range(0, m, 256):
            r1 = min(r0 + 256, m)
            span = slice(r0 * block * step, r1 * block * step, step)
            sq = np.square(stem[0, span] + stem[1, span])
            power[r0:r1] = sq.reshape(r1 - r0, block).sum(axis=1) / (m * block) * m
            release_planar(stem, span.start, span.stop)
    top = power.max()
    if top <= 1e-12:
        return None
    return float(10 * np.log10(power[power > top * 0.01].mean() / 4.0))


class Stopped(Exception):
    """Whoever wanted the piece asked to stop (``stop()`` said so between two parts)."""


def _never() -> bool:
    return False


@dataclass(frozen=True, eq=False)
class _Job:
    """What every stem of one score needs: its notes by part, the kick times, the length, and
    ``stop``, asked before each part (why: an engine shutting down waited 10-25 s on a loaded
    machine for a piece nobody wanted any more to finish)."""

    score: Score
    sr: int
    by_part: dict[str, list[Note]]
    kicks: list[float]
    n_out: int
    stop: Callable[[], bool] = _never

    @classmethod
    def of(cls, score: Score, sr: int, stop: Callable[[], bool] = _never) -> _Job:
        by_part: dict[str, list[Note]] = defaultdict(list)
        for note in score.notes:
            by_part[note.part].append(note)
        kicks = [nt.time for nt in score.notes if nt.pitch == 36 and score.part(nt.part).role == "drums"]
        return cls(score, sr, dict(by_part), kicks, int(round(score.duration_s * sr)), stop)

    @property
    def length(self) -> int:
        """Samples a stem renders: loops run on past the end and fold their overhang back."""
        return self.n_out + (int(C.LOOP_OVERHANG_S * self.sr) if self.score.loopable else 0)

    @property
    def spans(self) -> list[Span]:
        """The stretches notes are rendered in: the whole stem, or RENDER_SPAN at a time for long pieces
        (whose stem lies on disk and is paged in a span at a time, see _mixdown_spilled)."""
        n = self.length
        step = n if not self.long else C.RENDER_SPAN
        return [(a, min(a + step, n)) for a in range(0, n, max(step, 1))]

    def cost(self, stem: str) -> float:
        """A rough measure of a stem's render time: seconds of notes it plays (a drum hit is a short copy)."""
        parts = [p for p in self.score.parts if p.stem == stem]
        return sum(0.05 if p.role == "drums" else n.duration + 0.5 for p in parts for n in self.by_part.get(p.name, ()))

    @property
    def long(self) -> bool:
        return self.n_out > C.PARALLEL_MAX_S * self.sr

    def __call__(self, stem: str, out: np.ndarray | None = None,
                 room: Callable[[np.ndarray], None] | None = None) -> np.ndarray:
        """One stem, levelled to its target, with its share of the room, faded or folded.

        ``out`` is a (2, length) buffer to render into (it is cleared first), else a new one.
        ``room`` takes the stem's decimated reverb send instead (the caller answers the
        summed sends once, see mixdown).
        """
        score, sr = self.score, self.sr
        parts = [p for p in score.parts if p.stem == stem and self.by_part.get(p.name)]
        pumped = [p for p in parts if p.sidechain and self.kicks]
        if out is None:
            buf = np.zeros((2, self.length), dtype=np.float32)
        else:
            buf = out
            for a, b in planar_chunks(buf):
                buf[:, a:b] = 0.0
        for part in pumped:                  # pumped parts first, so the pump needs no buffer of its own
            self._render_part(buf, part)
        if pumped:
            _pump(buf, self.kicks, sr)
        for part in parts:
            if part not in pumped:
                self._render_part(buf, part)
        if parts:
            bus.process(buf, stem, sr)
        level = _active_level_db(buf, sr) if parts else None
        if level is not None:
            scale = np.float32(10 ** ((dict(score.stem_levels).get(stem, -18.0) - level) / 20.0))
            for a, b in planar_chunks(buf):
                buf[:, a:b] *= scale
            send = float(np.mean([p.send for p in parts]))
            if send > 0 and room is not None:
                room(send_of(buf, send))
            elif send > 0:
                add_reverb(buf, send, score.reverb_s, sr)
        return _finish(buf, score, self.n_out, sr)

    def _render_part(self, buf: np.ndarray, part: Part) -> None:
        if self.stop():
            raise Stopped
        notes, sr, brightness, spans = self.by_part[part.name], self.sr, self.score.brightness, self.spans
        if part.role == "drums":
            _render_drums(buf, part, notes, sr, brightness, spans)
        elif part.role == "fx":
            _render_fx(buf, part, notes, sr, spans)
        elif part.role == "vinyl":
            _render_vinyl(buf, notes, sr, spans)
        else:
            _render_tonal(buf, part, notes, sr, brightness, spans)


def render_stem(score: Score, stem: str, sample_rate: int = C.SAMPLE_RATE) -> np.ndarray:
    """One stem as a new (2, N) float32 buffer, exactly as synthesize() and mixdown() sum it."""
    return _Job.of(score, sample_rate)(stem)


def synthesize(score: Score, sample_rate: int = C.SAMPLE_RATE) -> Rendered:
    """Render every stem (two at a time: numpy releases the GIL in the heavy loops)."""
    job = _Job.of(score, sample_rate)
    with ThreadPoolExecutor(max_workers=C.THREADS) as pool:
        bufs = list(pool.map(job, STEMS))
    mix = np.zeros((2, job.n_out), dtype=np.float32)
    for buf in bufs:
        mix += buf
    return Rendered(planar_mix=mix, planar_stems=dict(zip(STEMS, bufs)), sample_rate=sample_rate)


def mixdown(score: Score, sample_rate: int = C.SAMPLE_RATE, stop: Callable[[], bool] | None = None) -> np.ndarray:
    """The (N, 2) float32 mix, equal to synthesize()'s, in the mix plus THREADS stem buffers
    (pieces longer than PARALLEL_MAX_S: one buffer at a time, see _mixdown_spilled).

    Stems are summed into the mix strictly in STEMS order (the same bits every run), but
    rendered in the order that keeps both cores busy: a freed buffer goes to the next stem
    to sum if it has not started, else to the heaviest stem left (see _Job.cost). Why: in
    STEMS order the heavy harmony stem held its buffer while the idle core waited for it,
    and the heavy texture stem could only start after it (a third of the time idle).
    A stem renders into a freed buffer (allocating five and freeing them leaves the
    allocator holding far more than is alive).
    ``stop()`` true before a part raises :class:`Stopped`.
    """
    job = _Job.of(score, sample_rate, stop or _never)
    if job.long:
        return _mixdown_spilled(job)
    threads = C.THREADS
    mix = np.zeros((job.n_out, 2), dtype=np.float32)
    planar = mix.T
    free = [np.empty((2, job.length), dtype=np.float32) for _ in range(threads)]
    # one shared room, except where loops fold and swells fade whole, and for long pieces (its
    # sends would hold another 0.15 MB per second)
    shared = threads > 1 and not score.loopable and score.bars > 0
    sends: dict[str, np.ndarray] = {}
    room: np.ndarray | None = None
    running: dict[str, tuple[np.ndarray, Future[np.ndarray]]] = {}
    left = sorted(STEMS, key=job.cost, reverse=True)           # not started, heaviest first
    summed = 0                                                  # STEMS[:summed] are in the mix

    with ThreadPoolExecutor(max_workers=threads) as pool:
        while summed < len(STEMS):
            while free and left:
                following = STEMS[summed]
                stem = following if following in left else left[0]
                left.remove(stem)
                feed = functools.partial(sends.__setitem__, stem) if shared else None
                buf = free.pop()
                running[stem] = (buf, pool.submit(job, stem, buf, feed))
            buf, future = running.pop(STEMS[summed])
            np.add(planar, future.result(), out=planar)
            send = sends.pop(STEMS[summed], None)
            if send is not None:
                room = send if room is None else np.add(room, send, out=room)
            free.append(buf)
            summed += 1
    del free
    if room is not None:
        _add_room(planar, room, score, sample_rate)
    return mix


def _mixdown_spilled(job: _Job) -> np.ndarray:
    """The mix of a long piece, which never shares memory with a stem: the sum waits in a temp file.

    Why: a stem buffer and the mix are each 0.37 MB per second (460 MB for ten minutes, the
    composition's peak, issue 13 item 6). One stem at a time is rendered and added to the
    sum on disk chunk by chunk, in STEMS order (the same bits as mixdown's in-memory sum);
    once the stem buffer is gone, the mix is mastered in that file (media.paged). Long pieces
    have no shared room (each stem answers its own send), so nothing else is summed.
    The stem buffer lies in a second temp file (a whole-length stem was 4 GB for 3 hours):
    job renders it span by span and every pass over it releases the pages behind it.
    """
    chunk = np.empty((C.CHUNK, 2), dtype=np.float32)
    with tempfile.TemporaryFile() as spill, tempfile.TemporaryFile() as stem_file:
        buf = np.memmap(stem_file, dtype=np.float32, mode="w+", shape=(2, job.length))
        for i, stem in enumerate(STEMS):
            planar = job(stem, buf)
            for a, b in planar_chunks(planar, job.n_out):
                part = chunk[: b - a]
                if i == 0:
                    part.fill(0.0)
                else:
                    spill.seek(a * 8)
                    spill.readinto(memoryview(part).cast("B"))
                np.add(part, planar[:, a:b].T, out=part)
                spill.seek(a * 8)
                spill.write(memoryview(part).cast("B"))
        del buf, planar
        spill.flush()
        # the sum is mastered and written where it lies, paged in a chunk at a time (media.paged): read back
        # whole, it and the master's scratch were the composition's peak; the mapping outlives the file handle
        return np.memmap(spill, dtype=np.float32, mode="r+", shape=(job.n_out, 2))


def _add_room(planar: np.ndarray, room: np.ndarray, score: Score, sr: int) -> None:
    """Answer the stems' summed (decimated) reverb sends once and add them to the faded mix.

    Why one room: the reverb is linear, so the sum of five answers is the answer to the
    sum (a fifth of the convolution work). The stems were faded already; the room's answer
    gets the same fade by re-fading only the span the fade touches.
    """
    start, end = _fade_span(planar.shape[1], score, sr)
    dry = planar[:, start:].copy()
    add_answer(planar, room, score.reverb_s, sr)
    wet = planar[:, start:] - dry
    _envelope(wet, end - start)
    planar[:, start:] = dry + wet


def _finish(buf: np.ndarray, score: Score, n_out: int, sr: int) -> np.ndarray:
    """Fold a loop's overhang onto its start, or fade the tail to exact silence."""
    if score.loopable:
        for start in range(n_out, buf.shape[1], n_out):   # a loop shorter than the overhang wraps more than once
            seg = buf[:, start:start + n_out]
            buf[:, : seg.shape[1]] += seg
        return buf[:, :n_out]
    _fade(buf, score, sr)
    return buf


def _fade_span(n: int, score: Score, sr: int) -> tuple[int, int]:
    """Where the final fade starts and where exact silence begins, in a buffer of n samples."""
    end = max(n - int(C.END_SILENCE_S * sr), 1)
    if score.bars == 0:          # swell: rise over the first 40%, fall over the rest
        start = max(int(0.4 * end), 1)
    else:
        start = int((score.final_chord_s + C.FADE_START_SHARE * score.tail_s) * sr)
    return min(start, end - 1), end


def _envelope(buf: np.ndarray, length: int) -> None:
    """Raised-cosine fall over the first ``length`` samples of ``buf``, zeros after (in place)."""
    if length > 0:
        buf[:, :length] *= np.cos(0.5 * np.pi * np.linspace(0.0, 1.0, length, dtype=np.float32)) ** 2
    buf[:, max(length, 0):] = 0.0


def _fade(buf: np.ndarray, score: Score, sr: int) -> None:
    """Raised-cosine fade over the end of the final chord's ring, then exact zeros."""
    start, end = _fade_span(buf.shape[1], score, sr)
    if score.bars == 0:          # swell: rise over the first 40%
        rise = max(int(0.4 * max(buf.shape[1] - int(C.END_SILENCE_S * sr), 1)), 1)
        buf[:, :rise] *= np.sin(0.5 * np.pi * np.linspace(0.0, 1.0, rise, dtype=np.float32)) ** 2
    _envelope(buf[:, start:], end - start)
