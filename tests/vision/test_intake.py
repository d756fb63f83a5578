from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.imaging import to_bytes
from vision.intake import IntakeCode, IntakeError, decode, sniff_format


def _png(w: int = 40, h: int = 30) -> bytes:
    return to_bytes(Image.new("RGB", (w, h), (10, 20, 30)), "PNG")


def _jpeg(w: int = 40, h: int = 30) -> bytes:
    return to_bytes(Image.new("RGB", (w, h), (10, 20, 30)), "JPEG")


def _heif() -> bytes:
    from pillow_heif import from_pillow

    buf = io.BytesIO()
    from_pillow(Image.new("RGB", (64, 48), (200, 10, 10))).save(buf, quality=90)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", IntakeCode.EMPTY),
        (b"hello, this is text", IntakeCode.NOT_AN_IMAGE),
        (b"%PDF-1.7\n...", IntakeCode.NOT_AN_IMAGE),
        (b"GIF89a" + b"\x00" * 20, IntakeCode.UNSUPPORTED_FORMAT),
        (b"BM" + b"\x00" * 40, IntakeCode.UNSUPPORTED_FORMAT),
        (_jpeg(400, 300)[:300], IntakeCode.CORRUPT),  # truncated
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, IntakeCode.CORRUPT),  # PNG signature, garbage body
        (_png(3000, 3000), IntakeCode.TOO_MANY_PIXELS),  # with the 1 MP limit below
    ],
    ids=["empty", "text", "pdf", "gif", "bmp", "truncated-jpeg", "garbage-png", "too-many-pixels"],
)
def test_intake_errors_have_stable_codes(data: bytes, code: IntakeCode) -> None:
    with pytest.raises(IntakeError) as err:
        decode(data, max_pixels=1_000_000)
    assert err.value.code == code
    assert str(err.value)  # a message for people


def test_too_large_file_is_refused() -> None:
    with pytest.raises(IntakeError) as err:
        decode(_jpeg(), max_bytes=100)
    assert err.value.code == IntakeCode.TOO_LARGE


def test_pixel_limit_is_checked_before_decoding() -> None:
    # A 20000 x 20000 PNG of one colour is small on disk; decoding it would take 1.2 GB.
    data = to_bytes(Image.new("L", (20000, 20000), 0), "PNG", optimize=True)
    assert len(data) < 2_000_000
    with pytest.raises(IntakeError) as err:
        decode(data)
    assert err.value.code == IntakeCode.TOO_MANY_PIXELS


@pytest.mark.parametrize(
    ("fmt", "kwargs"),
    [("JPEG", {}), ("PNG", {}), ("WEBP", {"lossless": True}), ("TIFF", {})],
)
def test_supported_formats_decode_to_bgr(fmt: str, kwargs: dict[str, object]) -> None:
    img = Image.new("RGB", (50, 20), (200, 100, 10))  # R, G, B
    data = to_bytes(img, fmt, **kwargs)
    out = decode(data)
    assert out.format == fmt
    assert (out.width, out.height) == (50, 20)
    b, g, r = out.bgr[10, 25].tolist()
    assert abs(r - 200) < 6 and abs(g - 100) < 6 and abs(b - 10) < 6
    assert not out.bgr.flags.writeable


def test_heic_from_phones_decodes() -> None:
    data = _heif()
    assert sniff_format(data) == "HEIF"
    out = decode(data)
    assert (out.width, out.height) == (64, 48)
    assert out.bgr[20, 20, 2] > 150  # red


def test_sha256_is_of_the_original_bytes_and_bytes_are_untouched() -> None:
    import hashlib

    data = _jpeg()
    before = bytes(data)
    out = decode(data)
    assert out.sha256 == hashlib.sha256(before).hexdigest()
    assert data == before
    assert out.size_bytes == len(before)


def test_sixteen_bit_and_alpha_images() -> None:
    arr = (np.arange(64 * 32, dtype=np.uint16).reshape(32, 64) * 30).astype(np.uint16)
    out16 = decode(to_bytes(Image.fromarray(arr), "PNG"))
    assert out16.bgr.dtype == np.uint8 and out16.bgr.shape == (32, 64, 3)
    rgba = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    out_a = decode(to_bytes(rgba, "PNG"))
    assert out_a.bgr[5, 5].tolist() == [255, 255, 255]  # transparent becomes white
