"""Helpers that make test images."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_CANDIDATES = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
]


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        import font_roboto  # type: ignore[import-untyped]

        roboto = Path(font_roboto.__file__).parent / "files" / "Roboto-Bold.ttf"
        return ImageFont.truetype(str(roboto), size)
    except (ImportError, OSError):
        pass
    for path in FONT_CANDIDATES:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


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
