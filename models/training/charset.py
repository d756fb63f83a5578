"""The characters the markings recogniser emits, and how its new head starts from the bundled one.

Kept: digits, Latin upper and lower case, the region's Latin letters with diacritics used in
Serbian, Croatian and Bosnian (Č Ć Š Ž Đ), the Cyrillic letters of :mod:`vision.charset` (Serbian,
Macedonian, Russian, Ukrainian, Belarusian, Bulgarian), and the punctuation of markings. The
space is the last class, as in every PP-OCR recogniser (the decoder appends it).
"""

from __future__ import annotations

from vision.charset import CYRILLIC, DIGITS, LATIN_LOWER, LATIN_UPPER, PUNCTUATION

REGION_LATIN = "ČĆŠŽĐčćšžđ"
PUNCT_NO_SPACE = PUNCTUATION.replace(" ", "")

# Order matters: it is the order of the model's output classes (after the CTC blank).
MARKING_CHARS: str = DIGITS + LATIN_UPPER + LATIN_LOWER + REGION_LATIN + CYRILLIC + PUNCT_NO_SPACE

# Cyrillic letters whose printed shape is (nearly) that of a Latin letter: their classifier rows
# start as copies of the Latin ones, so the network starts by reading them as the look-alike and
# training only has to teach it which script a line is in.
CYRILLIC_LOOKALIKE: dict[str, str] = {
    **dict(zip("АВЕКМНОРСТХЈЅІ", "ABEKMHOPCTXJSI", strict=True)),
    **dict(zip("аеорсхујѕі", "aeopcxyjsi", strict=True)),
    "Ё": "E", "ё": "e", "Ї": "I", "ї": "i", "к": "k", "в": "B", "н": "H", "м": "M", "т": "T",
}


def vocabulary() -> list[str]:
    """Output classes of the head: CTC blank, :data:`MARKING_CHARS`, space."""
    return ["", *MARKING_CHARS, " "]


def check_unique() -> None:
    if len(set(MARKING_CHARS)) != len(MARKING_CHARS) or " " in MARKING_CHARS:
        raise ValueError("MARKING_CHARS must be unique and hold no space")
