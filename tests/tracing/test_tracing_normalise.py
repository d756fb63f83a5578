from __future__ import annotations

import pytest

from tracing.confusions import default_model
from tracing.normalise import (
    makes_agree,
    normalise_calibre,
    normalise_label,
    normalise_serial,
    skeleton,
    strip_embedded_letters,
)

M = default_model()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("b2345678", "B2345678"),
        ("A-123 456", "A123456"),
        ("OO12", "0012"),  # letter O taken as zero (NCIC)
        ("12345678-AB", "12345678AB"),
        ("№ 12/34.5", "12345"),
        ("АВ123", "AB123"),  # Cyrillic homoglyphs
        ("ДЖ12", "ДЖ12"),  # other Cyrillic letters kept
        ("", ""),
    ],
)
def test_normalise_serial(raw: str, expected: str) -> None:
    assert normalise_serial(raw, M) == expected


@pytest.mark.parametrize(
    ("norm", "expected"),
    [
        ("369J257", "369257"),
        ("AB12C34D", "AB1234D"),  # prefix and suffix letters count
        ("12AB34", "1234"),
        ("ABC", "ABC"),
        ("123", "123"),
        ("1A", "1A"),
    ],
)
def test_strip_embedded_letters(norm: str, expected: str) -> None:
    assert strip_embedded_letters(norm) == expected


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [("82345678", "B2345678", True), ("5Z1", "S21", True), ("1234", "1235", False), ("ДЖ", "WW", True)],
)
def test_skeleton_joins_look_alikes(a: str, b: str, same: bool) -> None:
    assert (skeleton(a, M) == skeleton(b, M)) is same


@pytest.mark.parametrize(
    ("a", "b", "agree"),
    [("Crvena Zastava", "ZASTAVA", True), ("CZ", "Zastava", False), ("", "Glock", True), ("Glock", "glock", True)],
)
def test_makes_agree(a: str, b: str, agree: bool) -> None:
    assert makes_agree(normalise_label(a), normalise_label(b)) is agree


@pytest.mark.parametrize(
    ("a", "b"),
    [("7,62 x 39 mm", "7.62x39"), (".45 ACP", "45 acp"), ("9mm", "9 MM"), ("7.65 mm", "7.65")],
)
def test_calibre_forms(a: str, b: str) -> None:
    assert normalise_calibre(a) == normalise_calibre(b)
