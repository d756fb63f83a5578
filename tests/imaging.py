"""Helpers that make test images."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def _font(size: int) -> ImageFont.FreeTypeFont:
    """Roboto Bold from the project's own font package (the same on every machine)."""
    from benchmarks.synth.fonts import available_fonts, load

    face = next(f for f in available_fonts() if f.name == "Roboto-Bold")
    return load(face.path, size)


def render_text_image(
    lines: list[tuple[str, tuple[int, int], int]],
    size: tuple[int, int] = (1600, 1000),
    background: tuple[int, int, int] = (70, 74, 80),
    ink: tuple[int, int, int] = (215, 215, 220),
    noise: float = 8.0,
) -> Image.Image:
    """An image with text lines at given positions: (text, (x, y), font size), on a background
    with mild sensor-like noise (perfectly flat synthetic backgrounds are unlike any photo)."""
    img = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(img)
    for text, xy, font_size in lines:
        draw.text(xy, text, font=_font(font_size), fill=ink)
    if noise > 0:
        rng = np.random.default_rng(len(lines) * 7919 + size[0])
        arr = np.asarray(img).astype(np.float32) + rng.normal(0, noise, (size[1], size[0], 1)).astype(np.float32)
        img = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
    return img


def to_bytes(img: Image.Image, fmt: str = "JPEG", **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()
