"""Intake: photo bytes to an upright BGR image, with the hash and facts of the original.

The original bytes are never changed. The decoded array is a new, read-only buffer.
"""

from __future__ import annotations

import hashlib
import io
import threading
import warnings
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 60_000_000  # 60 MP: above any phone camera, far below a decompression bomb
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


class IntakeCode(StrEnum):
    EMPTY = "empty"
    NOT_AN_IMAGE = "not_an_image"
    CORRUPT = "corrupt"
    UNSUPPORTED_FORMAT = "unsupported_format"
    TOO_MANY_PIXELS = "too_many_pixels"
    TOO_LARGE = "too_large"


class IntakeError(ValueError):
    """The bytes cannot be taken in. ``code`` is stable; the message is for people."""

    def __init__(self, code: IntakeCode, message: str) -> None:
        super().__init__(message)
        self.code = code


SUPPORTED = ("JPEG", "PNG", "WEBP", "TIFF", "HEIF")

_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif")
_OTHER_IMAGES = {
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"BM": "BMP",
    b"\x00\x00\x01\x00": "ICO",
    b"8BPS": "PSD",
    b"\xff\x0a": "JPEG XL",
    b"\x00\x00\x00\x0cJXL ": "JPEG XL",
}


def sniff_format(data: bytes) -> str | None:
    """Container format from the leading bytes; never from a file name or a declared type."""
    head = data[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "AVIF" if head[8:12] == b"avif" else "HEIF"
    for magic, name in _OTHER_IMAGES.items():
        if head.startswith(magic):
            return name
    return None


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """An upright 8-bit BGR image plus the facts of the bytes it came from."""

    bgr: np.ndarray
    sha256: str
    size_bytes: int
    format: str
    exif_orientation: int  # 1..8; 1 = stored upright
    stored_size: tuple[int, int]  # (width, height) as stored, before orientation

    @property
    def width(self) -> int:
        return int(self.bgr.shape[1])

    @property
    def height(self) -> int:
        return int(self.bgr.shape[0])


_heif_lock = threading.Lock()
_heif_registered = False


def _register_heif() -> None:
    global _heif_registered
    with _heif_lock:
        if not _heif_registered:
            from pillow_heif import register_heif_opener

            register_heif_opener()
            _heif_registered = True


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _to_bgr(img: Image.Image) -> np.ndarray:
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float32)
        peak = float(arr.max()) or 1.0
        grey = np.clip(arr * (255.0 / max(peak, 255.0)), 0, 255).astype(np.uint8)
        rgb = np.stack([grey] * 3, axis=-1)
    elif img.mode == "F":
        arr = np.asarray(img, dtype=np.float32)
        lo, hi = float(arr.min()), float(arr.max())
        grey = ((arr - lo) / ((hi - lo) or 1.0) * 255).astype(np.uint8)
        rgb = np.stack([grey] * 3, axis=-1)
    else:
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            rgba = img.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            img = Image.alpha_composite(background, rgba)
        rgb = np.asarray(img.convert("RGB"))
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    bgr.setflags(write=False)
    return bgr


def decode(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, max_bytes: int = DEFAULT_MAX_BYTES
) -> DecodedImage:
    """Decode photo bytes into an upright image. Raises :class:`IntakeError` with a stable code."""
    if not data:
        raise IntakeError(IntakeCode.EMPTY, "the file is empty")
    if len(data) > max_bytes:
        raise IntakeError(
            IntakeCode.TOO_LARGE, f"the file has {len(data):,} bytes; the limit is {max_bytes:,}"
        )
    fmt = sniff_format(data)
    if fmt is None:
        raise IntakeError(
            IntakeCode.NOT_AN_IMAGE,
            "the file is not an image (expected JPEG, PNG, WebP, TIFF or HEIC/HEIF)",
        )
    if fmt not in SUPPORTED:
        raise IntakeError(
            IntakeCode.UNSUPPORTED_FORMAT,
            f"{fmt} images are not supported; send JPEG, PNG, WebP, TIFF or HEIC/HEIF",
        )
    if fmt == "HEIF":
        _register_heif()
    digest = sha256_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
            width, height = img.size
            if width * height > max_pixels:
                raise IntakeError(
                    IntakeCode.TOO_MANY_PIXELS,
                    f"the image has {width}x{height} = {width * height:,} pixels; "
                    f"the limit is {max_pixels:,}",
                )
            if width <= 0 or height <= 0:
                raise IntakeError(IntakeCode.CORRUPT, "the image has no pixels")
            img.load()
            exif_orientation = int(img.getexif().get(0x0112, 1) or 1)
            if not 1 <= exif_orientation <= 8:
                exif_orientation = 1
            upright = ImageOps.exif_transpose(img) if exif_orientation != 1 else img
            bgr = _to_bgr(upright)
        except IntakeError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise IntakeError(IntakeCode.TOO_MANY_PIXELS, f"the image is too large to decode: {exc}") from exc
        except UnidentifiedImageError as exc:
            raise IntakeError(
                IntakeCode.CORRUPT, f"the file looks like {fmt} but cannot be decoded"
            ) from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise IntakeError(IntakeCode.CORRUPT, f"the {fmt} file is truncated or corrupt: {exc}") from exc
    return DecodedImage(
        bgr=bgr,
        sha256=digest,
        size_bytes=len(data),
        format=fmt,
        exif_orientation=exif_orientation,
        stored_size=(width, height),
    )
