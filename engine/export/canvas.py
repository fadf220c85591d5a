"""The output picture's shape and rate, chosen from the picture the user sent.

A phone video is portrait, a screen recording landscape, a social clip square or 4:5; a
1080×1920 upload pillarboxed into 1920×1080 wastes two thirds of the frame. So the canvas
follows the picture (the size it is *shown* at, after its rotation) until the user names
an aspect ratio, and the frame rate follows the source up to 60 fps — 1080p60 is a normal
deliverable; above 60 (slow-motion captures at 120/240) players and platforms drop frames
anyway, so the output is 60 and the reply says so.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Iterable

#: The canvases the engine renders, by aspect name (the user may ask for any of them).
ASPECTS = {"16:9": (1920, 1080), "9:16": (1080, 1920), "1:1": (1080, 1080), "4:5": (1080, 1350)}
MAX_FPS = 60
DEFAULT_FPS = Fraction(30)
#: A source with at least this many times the canvas's pixels (4K onto 1080p: 4×) is shrunk by
#: area averaging: on 20 s of 4K60 it costs ~25 % less CPU than swscale's default bicubic, and
#: unlike fast_bilinear (no cheaper there) it does not alias fine detail.
AREA_DOWNSCALE = 2


def aspect_for(width: int, height: int) -> str:
    """The canvas a picture of this shown size belongs on: landscape → 16:9, square → 1:1,
    portrait → 9:16 (4:5 for the 3:4…5:6 portraits photo apps write). Within 10 % of
    square counts as square."""
    if width <= 0 or height <= 0:
        return "16:9"
    ratio = width / height
    if ratio > 1.1:
        return "16:9"
    if ratio >= 1 / 1.1:
        return "1:1"
    return "4:5" if ratio >= 0.72 else "9:16"


def rate_of(fps: float) -> Fraction:
    """ffmpeg prints 29.97 for 30000/1001: recover the exact rational (NTSC rates included)."""
    exact = Fraction(fps).limit_denominator(1001)
    for base in (24, 30, 48, 60, 120, 240):
        ntsc = Fraction(base * 1000, 1001)
        if abs(float(ntsc) - fps) < 0.006:
            return ntsc
    return exact


def output_rate(source_rates: Iterable[float]) -> Fraction:
    """The highest source rate, capped at :data:`MAX_FPS`; 30 when nothing has a rate (stills)."""
    rates = [rate_of(r) for r in source_rates if r and r > 0]
    if not rates:
        return DEFAULT_FPS
    return min(max(rates), Fraction(MAX_FPS))


def fps_value(rate: Fraction) -> float | int:
    """A rate as the draft stores it: 30 stays 30, 30000/1001 becomes 29.97."""
    return int(rate) if rate.denominator == 1 else round(float(rate), 3)


HDR_TRANSFERS = ("arib-std-b67", "smpte2084")  # HLG (phones), PQ (HDR10)
#: HDR → SDR BT.709: linear light, BT.709 primaries, Hable's curve (keeps highlights
#: instead of clipping them), then 8-bit BT.709 video range. zscale reads the source's
#: transfer and primaries from the frames.
TONE_MAP = ("zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=hable:desat=0,"
            "zscale=t=bt709:m=bt709:r=tv,format=yuv420p")


def is_hdr(transfer: str | None) -> bool:
    return (transfer or "") in HDR_TRANSFERS


def fit_filter(width: int, height: int, source: tuple[int, int] | None = None) -> str:
    """Scale to fit inside the canvas and pad the rest black: never stretched, never cropped.

    ``source`` (its shown size) picks the scaler: area averaging for a big downscale."""
    big = source is not None and source[0] * source[1] >= AREA_DOWNSCALE * width * height
    return (f"scale={width}:{height}:force_original_aspect_ratio=decrease{':flags=area' if big else ''},"
            f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1")


def fit_chain(width: int, height: int, rate: Fraction, source: tuple[int, int] | None = None,
              source_fps: float = 0.0) -> str:
    """The filters that put one source on the canvas at the output rate, yuv420p.

    A source faster than the output (120 fps slow motion into 60) drops its extra frames
    before they are scaled, not after: half the 4K frames never reach the scaler."""
    fps = f"fps={rate.numerator if rate.denominator == 1 else f'{rate.numerator}/{rate.denominator}'}"
    fit = fit_filter(width, height, source)
    return f"{fps},{fit},format=yuv420p" if source_fps > float(rate) + 0.01 else f"{fit},{fps},format=yuv420p"
