"""Title cards as transparent PNG overlays, drawn with Pillow.

Why images and not ffmpeg's ``drawtext``: a title is user text, and drawtext parses its
text through two layers of ffmpeg escaping (filter graph and ``%{…}`` expansion) — one
missed quote or colon and the user's words become filter syntax. A PNG carries pixels
only, so any text (quotes, colons, backslashes, ``%{pts}``, newlines) renders literally
and nothing can be injected. The font is Pillow's bundled scalable font, so a fresh
install renders titles with no system fonts; for CJK and other non-ASCII text a system
font that has the glyphs is used when one exists (without one, such glyphs show as boxes
— a known limit of a fresh machine with no fonts installed).

White letters with a soft shadow vanish on a white dashboard recording, so the style is
picked from the picture under the title: shadow and outline on dark pictures, a
translucent dark box on bright ones — the letters keep a 4.5:1 contrast (WCAG AA) on both.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

_CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/System/Library/Fonts/PingFang.ttc",
)
_WIDE_FONTS = (  # broad Unicode coverage (dashes, accents, Greek, Cyrillic) where present
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
)
MAX_CHARS = 300
MIN_CONTRAST = 4.5   # WCAG AA for text
BOX_ALPHA = 170      # 67 % black: white on it is ≥ 6.5:1 even over a white picture
Style = Literal["shadow", "box"]


def _needs_cjk(text: str) -> bool:
    return any("\u3040" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" for ch in text)


def _font_file(text: str) -> str | None:
    """A font that has the text's glyphs: CJK fonts for CJK, a wide font beyond ASCII."""
    if _needs_cjk(text):
        found = next((p for p in _CJK_FONTS if os.path.exists(p)), None)
        if found:
            return found
    if any(ord(ch) > 127 for ch in text):
        return next((p for p in _WIDE_FONTS if os.path.exists(p)), None)
    return None


@lru_cache(maxsize=16)
def _font(size: int, path: str | None) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if path:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)  # Pillow's bundled scalable font: always there


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.ImageFont, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        words = paragraph.split(" ") if " " in paragraph else list(paragraph) if _needs_cjk(paragraph) else [paragraph]
        joiner = " " if " " in paragraph else ""
        line = ""
        for word in words:
            candidate = f"{line}{joiner}{word}" if line else word
            if draw.textlength(candidate, font=font) <= width or not line:
                line = candidate
            else:
                lines.append(line)
                line = word
        lines.append(line)
    return lines


@dataclass(frozen=True)
class Layout:
    """Where each line of a title goes on a ``width``×``height`` frame."""

    font: ImageFont.FreeTypeFont | ImageFont.ImageFont
    size: int
    lines: tuple[str, ...]
    origins: tuple[tuple[int, int], ...]   # top-left of each line
    widths: tuple[int, ...]

    @property
    def box(self) -> tuple[int, int, int, int]:
        """The text block, padded: where the backing box goes on a bright picture."""
        pad = int(self.size * 0.45)
        left = min(x for x, _ in self.origins) - pad
        right = max(x + w for (x, _), w in zip(self.origins, self.widths)) + pad
        top = self.origins[0][1] - int(pad * 0.7)
        bottom = self.origins[-1][1] + int(self.size * 1.25) + int(pad * 0.5)
        return left, top, right, bottom


def layout(text: str, width: int, height: int, position: str = "center") -> Layout:
    text = text.replace("\r\n", "\n").replace("\r", "\n")[:MAX_CHARS]
    size = max(24, int(min(width, height) * 0.075))
    font = _font(size, _font_file(text))
    draw = ImageDraw.Draw(Image.new("L", (1, 1)))
    lines = _wrap(draw, text, font, int(width * 0.86))
    line_height = int(size * 1.25)
    block = line_height * len(lines)
    if position == "top":
        y = int(height * 0.08)
    elif position == "bottom":
        y = int(height * 0.92) - block
    else:
        y = (height - block) // 2
    widths = tuple(int(draw.textlength(line, font=font)) for line in lines)
    origins = tuple((int((width - w) / 2), y + i * line_height) for i, w in enumerate(widths))
    return Layout(font, size, tuple(lines), origins, widths)


def glyph_mask(text: str, width: int, height: int, position: str = "center") -> Image.Image:
    """The title's letters alone (255) on the frame (0): what has to stay readable."""
    spec = layout(text, width, height, position)
    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    for line, origin in zip(spec.lines, spec.origins):
        draw.text(origin, line, font=spec.font, fill=255)
    return mask


def relative_luminance(luma: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of 8-bit video-range luma (16…235), as sRGB."""
    value = np.clip((luma.astype(np.float32) - 16.0) / 219.0, 0.0, 1.0)
    return np.where(value <= 0.04045, value / 12.92, ((value + 0.055) / 1.055) ** 2.4)


def contrast_ratio(lighter: float, darker: float) -> float:
    high, low = max(lighter, darker), min(lighter, darker)
    return (high + 0.05) / (low + 0.05)


def pick_style(spec: Layout, width: int, height: int, backdrop: Sequence[np.ndarray]) -> Style:
    """``shadow`` where white letters already stand out (≥ 4.5:1 against the brightest tenth of
    the picture right around them, in every sampled frame), else ``box``: a translucent dark
    panel behind the letters. No sample (the picture could not be read) means ``box``, which
    reads on anything."""
    if not backdrop:
        return "box"
    left, top, right, bottom = spec.box
    for frame in backdrop:
        sy, sx = frame.shape[0] / height, frame.shape[1] / width
        area = frame[max(0, int(top * sy)):max(1, int(bottom * sy)), max(0, int(left * sx)):max(1, int(right * sx))]
        if area.size == 0:
            continue
        bright = float(np.percentile(relative_luminance(area), 90))
        if contrast_ratio(1.0, bright) < MIN_CONTRAST:
            return "box"
    return "shadow"


def render_title(path: str | os.PathLike[str], text: str, width: int, height: int,
                 position: str = "center", backdrop: Sequence[np.ndarray] | None = None) -> tuple[Path, int, int]:
    """Write an RGBA PNG of ``text`` laid out for a ``width``×``height`` frame at ``position``
    (top/center/bottom), cropped to the text; return (path, x, y) of where it goes on the frame.

    ``backdrop`` is the picture under the title (grey frames, see ``engine.export.backdrop``): on a
    dark picture the letters get a soft shadow and a thin outline; on a bright one (a white
    dashboard) a translucent dark box, so the letters keep 4.5:1 contrast either way.

    Cropping matters for speed: the overlay then blends a few hundred thousand pixels per
    frame instead of two million."""
    spec = layout(text, width, height, position)
    style = pick_style(spec, width, height, backdrop or [])
    canvas = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    if style == "box":
        left, top, right, bottom = spec.box
        draw.rounded_rectangle((max(0, left), max(0, top), min(width - 1, right), min(height - 1, bottom)),
                               radius=spec.size // 4, fill=(0, 0, 0, BOX_ALPHA))
        for line, origin in zip(spec.lines, spec.origins):
            draw.text(origin, line, font=spec.font, fill=(255, 255, 255, 255))
        composed = canvas
    else:
        shadow = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        shadow_draw = ImageDraw.Draw(shadow)
        offset = spec.size // 16
        for line, (x, y) in zip(spec.lines, spec.origins):
            shadow_draw.text((x + offset, y + offset), line, font=spec.font, fill=(0, 0, 0, 200))
            draw.text((x, y), line, font=spec.font, fill=(255, 255, 255, 255),
                      stroke_width=max(1, spec.size // 30), stroke_fill=(0, 0, 0, 160))
        shadow = shadow.filter(ImageFilter.GaussianBlur(radius=max(1, spec.size // 20)))
        composed = Image.alpha_composite(shadow, canvas)
    box = composed.getbbox() or (0, 0, 2, 2)
    left, top = box[0] - box[0] % 2, box[1] - box[1] % 2
    right, bottom = min(width, box[2] + box[2] % 2), min(height, box[3] + box[3] % 2)
    out = Path(path)
    composed.crop((left, top, right, bottom)).save(out, format="PNG")
    return out, left, top
