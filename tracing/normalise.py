"""Normal forms of serials and of make/model/calibre text.

NCIC rules applied here: spaces, hyphens and symbols are dropped, letters are upper-cased, the
letter O is taken as zero, and (in a second view) letters embedded between digits are ignored.
"""

from __future__ import annotations

import re
import unicodedata

from tracing.confusions import ConfusionModel

_ASCII_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def normalise_char(ch: str, model: ConfusionModel) -> str:
    """One character of a serial in normal form, or '' when it is dropped (space, hyphen, symbol)."""
    ch = model.homoglyphs.get(ch, ch)
    ch = unicodedata.normalize("NFKC", ch).upper()
    if len(ch) != 1 or not ch.isalnum():
        return ""
    ch = model.homoglyphs.get(ch, ch)
    if ch == "O":
        return "0"
    return ch


def normalise_serial(text: str, model: ConfusionModel) -> str:
    return "".join(normalise_char(ch, model) for ch in text)


def is_digit(ch: str) -> bool:
    return ch in "0123456789"


def is_letter(ch: str) -> bool:
    return ch.isalpha()


def embedded_letter_mask(chars: str) -> list[bool]:
    """True for letters inside a run of letters that has a digit right before and right after it."""
    n = len(chars)
    mask = [False] * n
    i = 0
    while i < n:
        if is_letter(chars[i]):
            j = i
            while j < n and is_letter(chars[j]):
                j += 1
            if i > 0 and j < n and is_digit(chars[i - 1]) and is_digit(chars[j]):
                for k in range(i, j):
                    mask[k] = True
            i = j
        else:
            i += 1
    return mask


def strip_embedded_letters(norm: str) -> str:
    """NCIC view: ``369J257`` -> ``369257``; prefix and suffix letters stay."""
    mask = embedded_letter_mask(norm)
    return "".join(c for c, m in zip(norm, mask, strict=True) if not m)


def skeleton_char(ch: str, model: ConfusionModel) -> str:
    """Representative of the look-alike class; any character outside A-Z0-9 shares W's class."""
    if ch not in _ASCII_ALNUM:
        ch = "W"
    return model.rep(ch)


def skeleton(norm: str, model: ConfusionModel) -> str:
    return "".join(skeleton_char(c, model) for c in norm)


_WORD = re.compile(r"[^0-9A-Z]+")


def normalise_label(text: str | None) -> str:
    """Make or model in comparable form: upper-case, letters and digits only."""
    if not text:
        return ""
    t = unicodedata.normalize("NFKD", text)
    t = "".join(c for c in t if not unicodedata.combining(c)).upper()
    return _WORD.sub("", t)


def normalise_calibre(text: str | None) -> str:
    """``7,62 x 39 mm`` and ``7.62x39`` compare equal; ``.45 ACP`` and ``45 ACP`` too."""
    if not text:
        return ""
    t = text.upper().replace(",", ".").replace("×", "X")
    t = re.sub(r"\bMM\b|MM$", "", t)
    t = re.sub(r"[^0-9A-Z.]+", "", t).lstrip(".")
    return t.rstrip(".")


def makes_agree(a: str, b: str) -> bool:
    """Normalised makes agree when equal or when one contains the other (CRVENAZASTAVA / ZASTAVA)."""
    if not a or not b:
        return True
    return a == b or (min(len(a), len(b)) >= 3 and (a in b or b in a))
