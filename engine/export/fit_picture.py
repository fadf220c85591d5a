"""The fit picture: why the music fits the video, at a glance, on one time axis.

Lanes, top to bottom: the video's thumbnails with its scene cuts (red lines running down
through every lane), the music's sections (one colour each, the key under their names, a
marker where the key rises into the climax) with fills (yellow marks),
beats (ticks, downbeats taller) and hits (diamonds), speech regions (green) with the
ducking curve the mix applies over them, and the music's loudness over time against
its target on a dB scale. A legend above the lanes names each kind of mark as it is drawn,
only the kinds this picture has. Built only from facts the engine already has: Music.describe(), the cuts
and speech regions of the analysis, thumbnails as paths, arrays or images.

Pure: no files written, nothing read but the thumbnails it is given. Pillow draws it
(a runtime dependency already); the laid-out elements are returned beside the image so
callers and tests can tell what is where without reading pixels.
"""
from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from engine.export.mix import DUCK_DB, DUCK_RAMP_S, duck_envelope

Thumbnail = Union[str, Path, np.ndarray, Image.Image]
Box = tuple[int, int, int, int]                       # left, top, right, bottom

BACKGROUND = (250, 250, 247)
INK = (40, 40, 40)
GRID = (215, 215, 210)
CUT = (220, 30, 30)
FILL = (240, 190, 0)
HIT = (150, 20, 160)
SPEECH = (120, 200, 120)
DUCK = (20, 110, 40)
LOUDNESS = (30, 80, 200)
TARGET = (120, 120, 120)
KEY_CHANGE = (200, 60, 0)
SECTION_COLOURS = {
    "intro": (168, 200, 236), "verse": (150, 214, 170), "build": (255, 206, 140), "chorus": (246, 150, 140),
    "drop": (240, 120, 120), "bridge": (196, 170, 230), "breakdown": (180, 220, 220), "outro": (200, 200, 200),
    "ending": (170, 170, 170), "swell": (190, 210, 240),
}
_SPARE = ((230, 190, 220), (200, 230, 160), (250, 220, 170), (170, 210, 230))
_FONTS = threading.local()
LANES = (("video", 0.22), ("sections", 0.14), ("beats", 0.12), ("speech", 0.22), ("loudness", 0.22))


@dataclass(frozen=True)
class Element:
    """One drawn thing: its kind, its time span in seconds, its box in pixels, its label and colour."""

    kind: str                 # thumbnail | cut | section | key | key_change | fill | beat | downbeat | final_chord | hit | speech |
    #                           duck | loudness | target | db_tick | legend
    start_s: float
    end_s: float
    box: Box
    label: str = ""
    colour: tuple[int, int, int] = INK


@dataclass(frozen=True)
class FitPicture:
    image: Image.Image
    lanes: dict[str, Box]
    elements: tuple[Element, ...] = field(default_factory=tuple)
    title: str = ""

    def of(self, kind: str) -> list[Element]:
        return [e for e in self.elements if e.kind == kind]

    def save(self, path: str | Path) -> None:
        self.image.save(path)


def section_colour(name: str, index: int = 0) -> tuple[int, int, int]:
    base = name.rstrip("0123456789 ").lower()
    return SECTION_COLOURS.get(base, _SPARE[index % len(_SPARE)])


def loudness_curve(audio: np.ndarray, sample_rate: int, window_s: float = 0.4) -> tuple[np.ndarray, float]:
    """Level in dBFS (RMS of both channels) per ``window_s`` block, and the blocks per second.

    A cheap stand-in for momentary loudness that is enough for a picture.
    """
    mono = np.asarray(audio, dtype=np.float32)
    mono = mono.mean(axis=1) if mono.ndim == 2 else mono
    block = max(int(window_s * sample_rate), 1)
    m = max(len(mono) // block, 1)
    power = np.square(mono[: m * block].astype(np.float64)).reshape(m, -1).mean(axis=1)
    return 10 * np.log10(power + 1e-10), 1.0 / window_s


def draw_fit_picture(facts: Mapping[str, Any], *, cuts: Sequence[float] = (),
                     speech: Sequence[tuple[float, float]] = (),
                     thumbnails: Sequence[tuple[float, Thumbnail]] = (),
                     loudness: Sequence[float] | np.ndarray | None = None, loudness_rate: float = 2.5,
                     target_lufs: float = -16.0, duck_db: float = DUCK_DB, size: tuple[int, int] = (1600, 900),
                     title: str | None = None) -> FitPicture:
    """Draw how the music fits the video.

    facts: Music.describe() (duration_s, bpm, sections, fills, hits, final_chord_s, key and
    key_changes; genre, mood, key for the title). cuts: scene cuts in seconds. speech: (start, end) seconds.
    thumbnails: (time in seconds, image path / HxWx3 array / PIL image). loudness: the
    music's level in dB at ``loudness_rate`` values per second (see loudness_curve).
    """
    width, height = size
    duration = float(facts.get("duration_s") or 0.0)
    if duration <= 0:
        raise ValueError("facts need a positive duration_s")
    image = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = _font(14)
    left, right, top = 110, width - 20, 44
    lanes = _lanes(left, right, top, height - 30)
    elements: list[Element] = []

    def x_of(t: float) -> int:
        return int(round(left + (right - left) * min(max(t / duration, 0.0), 1.0)))

    title = title or _title(facts)
    draw.text((left, 12), title, fill=INK, font=_font(18))
    for name, (left, t, r, b) in lanes.items():
        draw.rectangle((left, t, r, b), outline=GRID)
        draw.text((10, (t + b) // 2 - 8), name, fill=INK, font=font)
    _axis(draw, lanes["loudness"], duration, x_of, font)

    elements += _thumbnails(image, lanes["video"], thumbnails, cuts, duration, x_of)
    elements += _sections(draw, lanes["sections"], facts, x_of, font)
    elements += _beats(draw, lanes["beats"], facts, duration, x_of)
    elements += _speech_and_ducking(draw, lanes["speech"], speech, duration, duck_db, x_of, font)
    elements += _loudness(draw, lanes["loudness"], loudness, loudness_rate, target_lufs, x_of, font)
    top_all, bottom_all = lanes["video"][1], lanes["loudness"][3]
    for c in cuts:
        if 0.0 <= c <= duration:
            x = x_of(c)
            draw.line((x, top_all, x, bottom_all), fill=CUT, width=2)
            elements.append(Element("cut", c, c, (x - 1, top_all, x + 1, bottom_all), colour=CUT))
    title_right = left + int(draw.textlength(title, font=_font(18)))
    elements += _legend(draw, (title_right + 40, 4, right, top - 4), elements)
    return FitPicture(image, lanes, tuple(elements), title)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """The default font at ``size``, made once per thread and kept: a fresh face costs ~0.15 ms before
    its first text, a dozen times a picture; per thread because a FreeType face is not thread-safe."""
    fonts = _FONTS.__dict__.setdefault("by_size", {})
    if size not in fonts:
        try:
            fonts[size] = ImageFont.load_default(size=size)
        except TypeError:                              # Pillow < 10.1 has one size
            fonts[size] = ImageFont.load_default()
    return fonts[size]


def _title(facts: Mapping[str, Any]) -> str:
    """The facts the piece has, joined by " · ": a missing or blank one is left out, not an empty field.

    The loudness is named ("loudness -16.0 LUFS"): in the picture's font a minus sign is a dot-sized
    dash, so "A major · -16.01 LUFS" read as an empty field between two separators.
    """
    bits = [str(facts.get(k) or "").strip() for k in ("genre", "mood", "key")]
    if facts.get("bpm"):
        bits.insert(2, f"{float(facts['bpm']):.0f} BPM")
    if facts.get("lufs") is not None:
        bits.append(f"loudness {float(facts['lufs']):.1f} LUFS")
    present = [b for b in bits if b]
    return "How the music fits: " + " · ".join(present) if present else "How the music fits"


def _lanes(left: int, right: int, top: int, bottom: int) -> dict[str, Box]:
    out, y = {}, top
    gap = 8
    usable = bottom - top - gap * (len(LANES) - 1)
    for name, share in LANES:
        h = int(usable * share / sum(s for _, s in LANES))
        out[name] = (left, y, right, y + h)
        y += h + gap
    return out


def _axis(draw: ImageDraw.ImageDraw, lane: Box, duration: float, x_of: Any, font: Any) -> None:
    step = next(s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600, 1e9) if duration / s <= 12)
    t = 0.0
    while t <= duration + 1e-9:
        x = x_of(t)
        draw.line((x, lane[3], x, lane[3] + 5), fill=INK)
        label = f"{int(t // 60)}:{int(t % 60):02d}" if duration >= 60 else f"{t:.0f}s"
        draw.text((x - 10, lane[3] + 7), label, fill=INK, font=font)
        t += step


def _as_image(thumb: Thumbnail) -> Image.Image:
    if isinstance(thumb, Image.Image):
        return thumb.convert("RGB")
    if isinstance(thumb, np.ndarray):
        return Image.fromarray(np.asarray(thumb, dtype=np.uint8)).convert("RGB")
    with Image.open(thumb) as im:
        return im.convert("RGB")


def _slots(times: Sequence[float], cuts: Sequence[float], duration: float) -> list[tuple[float, float]]:
    """The span of time each thumbnail stands for: from halfway to its neighbour's time (the
    slice it was sampled in, for evenly sampled frames), or from the cut between the two when
    there is one, so the picture changes where the cut line is drawn. Disjoint, in time order."""
    edges = []
    for a, b in zip(times, times[1:]):
        between = [c for c in cuts if a < c <= b]
        mid = (a + b) / 2
        edges.append(min(between, key=lambda c: abs(c - mid)) if between else mid)
    if len(times) > 1:
        first = max(times[0] - (times[1] - times[0]) / 2, 0.0)
        last = min(times[-1] + (times[-1] - times[-2]) / 2, duration)
    else:
        first, last = 0.0, duration
    return list(zip([first, *edges], [*edges, last]))


def _content(im: Image.Image) -> Image.Image:
    """The frame without black letterbox or pillarbox bars (the strip pads every frame to 16:9),
    so a portrait video's tile shows its picture, not the bars; an all-black frame stays as it is."""
    box = im.convert("L").point(lambda v: 255 if v > 24 else 0).getbbox()
    return im.crop(box) if box else im


def _cover(im: Image.Image, w: int, h: int) -> Image.Image:
    """Scaled to fill w x h, the overflow cut off evenly on both sides (centre crop)."""
    scale = max(w / max(im.width, 1), h / max(im.height, 1))
    sw, sh = max(int(round(im.width * scale)), w), max(int(round(im.height * scale)), h)
    x, y = (sw - w) // 2, (sh - h) // 2
    return im.resize((sw, sh)).crop((x, y, x + w, y + h))


def _thumbnails(image: Image.Image, lane: Box, thumbs: Sequence[tuple[float, Thumbnail]], cuts: Sequence[float],
                duration: float, x_of: Any) -> list[Element]:
    """One tile per slot of time, cropped to fill it: tiles never cover each other, and a frame's
    edge on the picture is the edge of the time it shows."""
    left, t, r, b = lane
    top, bottom = t + 4, b - 4
    ordered = sorted(thumbs, key=lambda p: p[0])
    out = []
    for (time_s, thumb), (start, end) in zip(ordered, _slots([p[0] for p in ordered], cuts, duration)):
        x0, x1 = max(x_of(start), left + 1), min(x_of(end), r - 1)
        if x1 <= x0:
            continue
        image.paste(_cover(_content(_as_image(thumb)), x1 - x0, bottom - top), (x0, top))
        out.append(Element("thumbnail", start, end, (x0, top, x1, bottom), f"{time_s:g}"))
    return out


def _sections(draw: ImageDraw.ImageDraw, lane: Box, facts: Mapping[str, Any], x_of: Any, font: Any) -> list[Element]:
    left, t, r, b = lane
    out = []
    for i, (name, start, end) in enumerate(facts.get("sections", [])):
        colour = section_colour(str(name), i)
        box = (x_of(float(start)), t + 4, max(x_of(float(end)) - 1, x_of(float(start))), b - 4)
        draw.rectangle(box, fill=colour, outline=BACKGROUND)
        draw.text((box[0] + 4, t + 6), str(name), fill=INK, font=font)
        out.append(Element("section", float(start), float(end), box, str(name), colour))
    out += _keys(draw, lane, facts, out, x_of, font)
    for f in facts.get("fills", []):
        x = x_of(float(f))
        box = (x - 4, b - 14, x + 4, b - 4)
        draw.rectangle(box, fill=FILL)
        out.append(Element("fill", float(f), float(f), box, colour=FILL))
    return out


def _keys(draw: ImageDraw.ImageDraw, lane: Box, facts: Mapping[str, Any], sections: list[Element], x_of: Any,
          font: Any) -> list[Element]:
    """The key under the section names: the opening key on the first section, and at a key change
    (the climax lift) the new key with how far it rose, on a marker at the boundary.

    Why: the lift is the biggest change a listener hears; without it the picture shows a
    climax that looks like any other section.
    """
    left, t, r, b = lane
    changes = sorted(facts.get("key_changes") or [], key=lambda c: float(c.get("start_s", 0.0)))
    if not sections or not facts.get("key"):
        return []
    end = sections[-1].end_s
    stretches = [(sections[0].start_s, str(facts["key"]), 0)]
    stretches += [(float(c["start_s"]), str(c.get("key", "")), int(c.get("semitones", 0))) for c in changes]
    out = []
    y = t + 24
    for i, (start, key, step) in enumerate(stretches):
        stop = stretches[i + 1][0] if i + 1 < len(stretches) else end
        x = x_of(start)
        label = key if not step else f"key +{step}: {key}"
        if step:                                       # a marker on the boundary the lift lands on
            marker = (x - 5, y, x + 5, y + 12)
            draw.polygon([(x - 5, y + 12), (x + 5, y + 12), (x, y)], fill=KEY_CHANGE)
            out.append(Element("key_change", start, start, marker, key, KEY_CHANGE))
        width = int(draw.textlength(label, font=font))
        box = (x + (8 if step else 4), y - 1, x + (8 if step else 4) + width, y + 15)
        draw.text((box[0], y - 1), label, fill=KEY_CHANGE if step else INK, font=font)
        out.append(Element("key", start, stop, box, key, KEY_CHANGE if step else INK))
    return out


def _beats(draw: ImageDraw.ImageDraw, lane: Box, facts: Mapping[str, Any], duration: float, x_of: Any) -> list[Element]:
    left, t, r, b = lane
    out = []
    bpm = float(facts.get("bpm") or 0.0)
    end = float(facts.get("final_chord_s") or duration) or duration
    if bpm > 0 and facts.get("bars", 1):
        beat = 60.0 / bpm
        k = 0
        while k * beat <= end + 1e-6:
            x = x_of(k * beat)
            down = k % 4 == 0
            box = (x, b - (30 if down else 16), x, b - 2)
            draw.line(box, fill=INK if down else TARGET, width=2 if down else 1)
            out.append(Element("downbeat" if down else "beat", k * beat, k * beat, box, colour=INK if down else TARGET))
            k += 1
        if end < duration:       # the beats stop at the final chord, but it rings on to the music's end
            x0, x1, y = x_of(end), x_of(duration), b - 10
            draw.line((x0, y, x1, y), fill=INK, width=3)
            draw.text((x0 + 4, y - 22), "final chord", fill=INK, font=_font(12))
            out.append(Element("final_chord", end, duration, (x0, y - 1, x1, y + 1), "final chord"))
    for h in facts.get("hits", []):
        x, y = x_of(float(h)), t + 14
        box = (x - 7, y - 7, x + 7, y + 7)
        draw.polygon([(x, y - 7), (x + 7, y), (x, y + 7), (x - 7, y)], fill=HIT)
        out.append(Element("hit", float(h), float(h), box, colour=HIT))
    return out


def _speech_and_ducking(draw: ImageDraw.ImageDraw, lane: Box, speech: Sequence[tuple[float, float]], duration: float,
                        duck_db: float, x_of: Any, font: Any) -> list[Element]:
    left, t, r, b = lane
    out = []
    for a, e in speech:
        box = (x_of(a), b - 16, max(x_of(e), x_of(a) + 1), b - 4)
        draw.rectangle(box, fill=SPEECH)
        out.append(Element("speech", float(a), float(e), box, "speech", SPEECH))
    rate = 200
    n = max(int(duration * rate), 2)
    gain_db = 20 * np.log10(np.maximum(duck_envelope(n, list(speech), rate, depth_db=duck_db,
                                                     ramp_s=DUCK_RAMP_S), 1e-6))
    top, bottom = t + 8, b - 22
    xs = np.linspace(left, r, min(r - left, n)).astype(int)
    idx = np.minimum(((xs - left) / max(r - left, 1) * (n - 1)).astype(int), n - 1)
    # a whole-array pass, not a Python call per point: the ~1500 points cost under 0.1 ms, not ~2 ms
    depth = np.clip(gain_db[idx] / duck_db, 0.0, 1.0) if duck_db else np.zeros(len(idx))
    points = list(zip(xs.tolist(), np.round(top + (bottom - top) * depth).astype(int).tolist()))
    draw.line(points, fill=DUCK, width=2)
    draw.text((left + 4, top - 6), f"music gain (0 .. {duck_db:.0f} dB)", fill=DUCK, font=font)
    out.append(Element("duck", 0.0, duration, (left, top, r, bottom), f"{duck_db:.0f} dB", DUCK))
    for x, y in points[:: max(len(points) // 400, 1)]:
        out.append(Element("duck_point", (x - left) / max(r - left, 1) * duration, 0.0, (x, y, x, y), colour=DUCK))
    return out


def _loudness(draw: ImageDraw.ImageDraw, lane: Box, loudness: Sequence[float] | np.ndarray | None, rate: float,
              target: float, x_of: Any, font: Any) -> list[Element]:
    left, t, r, b = lane
    lo, hi = target - 30.0, target + 12.0

    def y_of(db: float) -> int:
        return int(round(b - 4 - (b - t - 8) * (min(max(db, lo), hi) - lo) / (hi - lo)))

    out = _db_axis(draw, lane, lo, hi, y_of)
    y = y_of(target)
    draw.line((left, y, r, y), fill=TARGET, width=1)
    draw.text((r - 150, y - 16), f"target {target:.0f} LUFS", fill=TARGET, font=font)
    out.append(Element("target", 0.0, 0.0, (left, y, r, y), f"{target:.0f} LUFS", TARGET))
    if loudness is not None and len(loudness):
        values = np.asarray(loudness, dtype=float)
        # a whole mix reads ~3 dB over its integrated loudness in RMS: draw it relative to its own median
        shift = target - float(np.median(values[values > values.max() - 30])) if values.size else 0.0
        points = [(x_of((i + 0.5) / rate), y_of(v + shift)) for i, v in enumerate(values)]
        if len(points) > 1:
            draw.line(points, fill=LOUDNESS, width=2)
        out.append(Element("loudness", 0.0, len(values) / rate, (left, t, r, b), "level", LOUDNESS))
    return out


def _db_axis(draw: ImageDraw.ImageDraw, lane: Box, lo: float, hi: float, y_of: Any) -> list[Element]:
    """A tick, a faint grid line and its value every 10 dB, in the margin left of the loudness lane,
    so a level on the curve can be read off (the curve sits on the LUFS scale of its target)."""
    left, _, r, _ = lane
    font = _font(12)
    out = []
    for db in range(int(np.floor((hi - 2) / 10)) * 10, int(lo + 2) - 1, -10):       # top (loud) down
        y = y_of(db)
        draw.line((left + 1, y, r - 1, y), fill=GRID)
        draw.line((left - 5, y, left, y), fill=INK)
        label = f"{db} dB"
        w = int(draw.textlength(label, font=font))
        box = (left - 8 - w, y - 7, left - 8, y + 7)
        draw.text((box[0], y - 7), label, fill=INK, font=font)
        out.append(Element("db_tick", 0.0, 0.0, box, label))
    return out


# the legend: (kind drawn, its name, how its swatch is drawn), in the lanes' order
LEGEND = (("cut", "cut", "vline"), ("section", "section", "band"), ("fill", "fill", "square"),
          ("key_change", "key change", "triangle"), ("downbeat", "downbeat", "tall"), ("beat", "beat", "short"),
          ("final_chord", "final chord", "bar"), ("hit", "hit", "diamond"), ("speech", "speech", "band"),
          ("duck", "ducking", "line"), ("loudness", "loudness", "line"), ("target", "target", "thin"))


def _legend(draw: ImageDraw.ImageDraw, area: Box, elements: Sequence[Element]) -> list[Element]:
    """One swatch and name per kind of mark the picture has, drawn as the lanes draw it, in rows
    across ``area`` (right of the title): a reader need not guess what a yellow square or a
    diamond means."""
    font = _font(12)
    colours: dict[str, tuple[int, int, int]] = {}
    for e in elements:
        colours.setdefault(e.kind, e.colour)
    entries = [(kind, name, swatch) for kind, name, swatch in LEGEND if kind in colours]
    widths = [22 + int(draw.textlength(name, font=font)) for _, name, _ in entries]
    rows: list[list[int]] = [[]]
    for i, w in enumerate(widths):
        if rows[-1] and sum(widths[j] + 14 for j in rows[-1]) + w > area[2] - area[0]:
            rows.append([])
        rows[-1].append(i)
    out = []
    for n, row in enumerate(rows):
        x = area[2] - sum(widths[i] + 14 for i in row) + 14        # right-aligned, like the lanes' end
        y = area[1] + n * 17
        for i in row:
            kind, name, swatch = entries[i]
            _swatch(draw, swatch, (x, y + 1, x + 14, y + 13), colours[kind])
            draw.text((x + 20, y), name, fill=INK, font=font)
            out.append(Element("legend", 0.0, 0.0, (x, y, x + widths[i], y + 14), name, colours[kind]))
            x += widths[i] + 14
    return out


def _swatch(draw: ImageDraw.ImageDraw, shape: str, box: Box, colour: tuple[int, int, int]) -> None:
    x0, y0, x1, y1 = box
    xm, ym = (x0 + x1) // 2, (y0 + y1) // 2
    if shape == "vline":
        draw.line((xm, y0, xm, y1), fill=colour, width=2)
    elif shape == "band":
        draw.rectangle((x0, y0 + 3, x1, y1 - 3), fill=colour)
    elif shape == "square":
        draw.rectangle((xm - 4, y0 + 2, xm + 4, y1 - 1), fill=colour)
    elif shape == "triangle":
        draw.polygon([(xm - 5, y1), (xm + 5, y1), (xm, y0)], fill=colour)
    elif shape in ("tall", "short"):
        draw.line((xm, y0 if shape == "tall" else ym, xm, y1), fill=colour, width=2 if shape == "tall" else 1)
    elif shape == "diamond":
        draw.polygon([(xm, y0), (xm + 6, ym), (xm, y1), (xm - 6, ym)], fill=colour)
    else:                                              # bar | line | thin: a horizontal stroke, as thick as drawn
        draw.line((x0, ym, x1, ym), fill=colour, width={"bar": 3, "line": 2}.get(shape, 1))
