"""Title cards as transparent PNG overlays, drawn with Pillow.

Why images and not ffmpeg's ``drawtext``: a title is user text, and drawtext parses its
text through two layers of ffmpeg escaping (filter graph and ``%{…}`` expansion) — one
missed quote or colon and the user's words become filter syntax. A PNG carries pixels
only, so any text (quotes, colons, backslashes, ``%{pts}``, newlines) renders literally
and nothing can be injected. The font is Pillow's bundled scalable font, so a fresh
install renders titles with no system fonts; for CJK and other non-ASCII text a system
font that has the glyphs is used when one exists (without one, such glyphs show as boxes
— a known limit of a fresh machine with no fonts installed).
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

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


def render_title(path: str | os.PathLike[str], text: str, width: int, height: int,
                 position: str = "center") -> tuple[Path, int, int]:
    """Write an RGBA PNG of ``text`` laid out for a ``width``×``height`` frame at ``position``
    (top/center/bottom), cropped to the text; return (path, x, y) of where it goes on the frame.

    Cropping matters for speed: the overlay then blends a few hundred thousand pixels per
    frame instead of two million."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")[:MAX_CHARS]
    size = max(24, int(min(width, height) * 0.075))
    font = _font(size, _font_file(text))
    canvas = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    lines = _wrap(draw, text, font, int(width * 0.86))
    line_height = int(size * 1.25)
    block = line_height * len(lines)
    if position == "top":
        y = int(height * 0.08)
    elif position == "bottom":
        y = int(height * 0.92) - block
    else:
        y = (height - block) // 2
    shadow = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    shadow_draw = ImageDraw.Draw(shadow)
    for i, line in enumerate(lines):
        w = draw.textlength(line, font=font)
        x = int((width - w) / 2)
        shadow_draw.text((x + size // 16, y + i * line_height + size // 16), line, font=font, fill=(0, 0, 0, 200))
        draw.text((x, y + i * line_height), line, font=font, fill=(255, 255, 255, 255))
    shadow = shadow.filter(ImageFilter.GaussianBlur(radius=max(1, size // 20)))
    composed = Image.alpha_composite(shadow, canvas)
    box = composed.getbbox() or (0, 0, 2, 2)
    left, top = box[0] - box[0] % 2, box[1] - box[1] % 2
    right, bottom = min(width, box[2] + box[2] % 2), min(height, box[3] + box[3] % 2)
    out = Path(path)
    composed.crop((left, top, right, bottom)).save(out, format="PNG")
    return out, left, top
