"""Alphabets used on firearm markings, and the mask that keeps a recogniser inside them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

DIGITS = "0123456789"
LATIN_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LATIN_LOWER = LATIN_UPPER.lower()
# Letters of the region's Latin alphabets (Serbian, Croatian, Bosnian, Slovene, Albanian,
# Macedonian transliteration, Czech, Slovak, Hungarian, Polish, Romanian, German, Italian, Turkish).
LATIN_EXTENDED = "ČĆŠŽĐÇËÄÖÜßÁÉÍÓÚÝĚŘŤŇŮĹĽŔÔŐŰĄĘŁŃŚŹŻĂÂÎȘȚŞĞİ"
LATIN_EXTENDED += "".join(c.lower() for c in LATIN_EXTENDED if len(c.lower()) == 1 and c.lower() != c)
CYRILLIC_UPPER = "АБВГДЂЕЁЖЗИЙЈКЛЉМНЊОПРСТЋУФХЦЧЏШЩЪЫЬЭЮЯЃЌЅІЇЄҐЎ"
CYRILLIC = CYRILLIC_UPPER + CYRILLIC_UPPER.lower()
GREEK_UPPER = "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ"
GREEK = GREEK_UPPER + GREEK_UPPER.lower()
ROMAN_NUMERALS = "ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩⅪⅫⅬⅭⅮⅯ"
# Punctuation and symbols that appear in markings: calibres (7,62x39 / .45 / 12/70), licence
# prefixes (12345678-), model names (TT-33), proof marks (+P), degrees, multiplication sign.
PUNCTUATION = " -./,:;()'\"&+#*×°№_"

FIREARM_MARKINGS = (
    DIGITS + LATIN_UPPER + LATIN_LOWER + LATIN_EXTENDED + CYRILLIC + GREEK + ROMAN_NUMERALS + PUNCTUATION
)


def allowed_mask(vocabulary: Sequence[str], allowed: Iterable[str] = FIREARM_MARKINGS) -> np.ndarray:
    """Boolean mask over ``vocabulary`` (index 0 = CTC blank) of the classes that may be emitted."""
    keep = set(allowed)
    mask = np.zeros(len(vocabulary), dtype=bool)
    mask[0] = True
    for i, ch in enumerate(vocabulary[1:], start=1):
        mask[i] = ch in keep
    return mask
