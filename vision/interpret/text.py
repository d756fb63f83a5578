"""Script handling, look-alike costs and the line view every interpreter works on.

Rules (look-alike groups, homoglyphs, transliteration) come from ``vision/data/script.json``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vision.fusion import align_positions
from vision.interpret.resources import load_json
from vision.types import CharChoice, TextLine

TOKEN_BREAKS = frozenset(" \t:;|#")
COMPACT_DROP = frozenset(" .-_'’&/,:;|#()\"")


def is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff"


def is_greek(ch: str) -> bool:
    return "\u0370" <= ch <= "\u03ff"


def _is_latin_letter(ch: str) -> bool:
    return ch.isalpha() and ch.isascii()


def script_of(text: str) -> str:
    """'latin', 'cyrillic', 'mixed' or 'none' (no letters)."""
    cyr = any(is_cyrillic(c) for c in text)
    lat = any(c.isalpha() and not is_cyrillic(c) and not is_greek(c) for c in text)
    if cyr and lat:
        return "mixed"
    if cyr:
        return "cyrillic"
    if lat:
        return "latin"
    return "none"


@dataclass(frozen=True, slots=True)
class ScriptRules:
    """Look-alike groups and script conversion, loaded once."""

    groups: tuple[frozenset[str], ...]
    confusion_cost: float
    homoglyphs: Mapping[str, str]
    transliteration: Mapping[str, str]
    ascii_fold: Mapping[str, str]
    serial_alphabet: frozenset[str]
    canon: Mapping[str, str]

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ScriptRules:
        groups = tuple(frozenset(str(c) for c in g) for g in data["confusion_groups"])
        # canonical representative: union of overlapping groups, smallest member
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            while parent.setdefault(x, x) != x:
                x = parent[x]
            return x

        for g in groups:
            members = sorted(g)
            for m in members[1:]:
                a, b = find(members[0]), find(m)
                if a != b:
                    parent[max(a, b)] = min(a, b)
        canon = {c: find(c) for c in parent}
        return cls(
            groups=groups,
            confusion_cost=float(data["confusion_cost"]),
            homoglyphs=dict(data["homoglyphs"]),
            transliteration=dict(data["transliteration"]),
            ascii_fold=dict(data["ascii_fold"]),
            serial_alphabet=frozenset(str(data["serial_alphabet"])),
            canon=canon,
        )

    @classmethod
    def load(cls, data_dir: Path | None = None) -> ScriptRules:
        return cls.from_data(load_json("script.json", data_dir))

    # --- conversion -------------------------------------------------------------------------

    def fold(self, text: str) -> str:
        """Upper-case, strip accents (Č -> C, Đ -> D)."""
        out: list[str] = []
        for ch in text.upper():
            if ch in self.ascii_fold:
                out.append(self.ascii_fold[ch])
                continue
            decomposed = unicodedata.normalize("NFKD", ch)
            out.append("".join(c for c in decomposed if not unicodedata.combining(c)))
        return "".join(out)

    def char_to_latin(self, ch: str, visual: bool) -> str:
        """One character to Latin. ``visual`` prefers the look-alike (Cyrillic В -> B), otherwise the
        sound (В -> V). Characters outside Cyrillic/Greek are only upper-cased and folded."""
        if ch.isascii():
            return ch.upper()
        up = ch.upper()
        if is_cyrillic(up) or is_greek(up) or up in self.homoglyphs:
            first, second = (
                (self.homoglyphs, self.transliteration) if visual else (self.transliteration, self.homoglyphs)
            )
            if up in first:
                return self.fold(first[up])
            if up in second:
                return self.fold(second[up])
        return self.fold(up)

    def to_latin(self, text: str, visual: bool | None = None) -> str:
        """Whole string to upper-case Latin. With ``visual`` None, mixed-script text is taken as Latin
        text with Cyrillic look-alikes mixed in (visual), pure Cyrillic text is transliterated."""
        if visual is None:
            visual = script_of(text) == "mixed"
        return "".join(self.char_to_latin(c, visual) for c in text)

    def compact(self, text: str, visual: bool | None = None) -> str:
        """Latin key without spaces and punctuation used as separators."""
        return "".join(c for c in self.to_latin(text, visual) if c not in COMPACT_DROP)

    def canonical(self, key: str) -> str:
        """Look-alike-insensitive key: every character replaced by its group representative."""
        return "".join(self.canon.get(c, c) for c in key)

    # --- costs ------------------------------------------------------------------------------

    def sub_cost(self, a: str, b: str) -> float:
        if a == b:
            return 0.0
        canon = self.canon
        if canon.get(a, a) == canon.get(b, b):
            return self.confusion_cost
        return 1.0


Slot = tuple[str, Mapping[str, float]]


def slot_cost(rules: ScriptRules, want: str, slot: Slot) -> float:
    """Cost of reading ``want`` where OCR gave ``slot`` (best char, alternatives)."""
    best, alts = slot
    cost = rules.sub_cost(want, best)
    if cost and want in alts:
        cost = min(cost, max(0.0, 1.0 - 2.0 * alts[want]))
    return cost


def weighted_distance(rules: ScriptRules, key: str, slots: Sequence[Slot], limit: float) -> float:
    """Edit distance between a dictionary key and OCR slots; look-alikes and read alternatives are
    cheap substitutions. Returns a value > ``limit`` as soon as the limit cannot be met."""
    n, m = len(key), len(slots)
    if abs(n - m) > limit:
        return limit + 1.0
    prev = [float(j) for j in range(m + 1)]
    for i in range(1, n + 1):
        cur = [float(i)] + [0.0] * m
        want = key[i - 1]
        row_min = cur[0]
        for j in range(1, m + 1):
            cur[j] = min(
                prev[j] + 1.0,
                cur[j - 1] + 1.0,
                prev[j - 1] + slot_cost(rules, want, slots[j - 1]),
            )
            row_min = min(row_min, cur[j])
        if row_min > limit:
            return limit + 1.0
        prev = cur
    return prev[m]


_TO_DIGIT = {"O": "0", "D": "0", "Q": "0", "I": "1", "L": "1", "T": "7", "Z": "2", "S": "5", "B": "8",
             "G": "6", "A": "4"}


def digit_fixed(token: str) -> str:
    """A token that is mostly digits with its letter look-alikes read as digits ('1996-0Z-2O' ->
    '1996-02-20'); other tokens unchanged."""
    alnum = [c for c in token if c.isalnum()]
    digits = sum(c.isdigit() for c in alnum)
    if not alnum or digits * 2 < len(alnum):
        return token
    return "".join(_TO_DIGIT.get(c.upper(), c) for c in token)


# --- line view ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineView:
    """A text line with one CharChoice per character of ``text`` and its token spans."""

    index: int
    text: str
    chars: tuple[CharChoice, ...]
    tokens: tuple[tuple[int, int], ...]
    confidence: float
    alternates: tuple[tuple[str, float], ...] = ()  # other readings of the whole line (TextLine)

    @classmethod
    def of(cls, index: int, line: TextLine) -> LineView:
        text = line.text
        chars = _align(text, line.chars, line.confidence)
        return cls(index, text, chars, token_spans(text), float(line.confidence), tuple(line.alternates))

    def alternates_of(self, a: int, b: int) -> list[tuple[str, float]]:
        """What each other reading of the line reads where ``text[a:b]`` stands, with its weight:
        the characters aligned to ``a..b`` (edit distance), and next to them, up to a space, those
        it reads in addition or where this reading has a symbol ('76626:' read '766261')."""
        out: list[tuple[str, float]] = []
        for alt, weight in self.alternates:
            pairs = align_positions(self.text, alt)
            inside = [j for j in pairs[a:b] if j is not None]
            if not inside:
                continue
            main_of = {j: i for i, j in enumerate(pairs) if j is not None}
            lo, hi = min(inside), max(inside)
            while lo > 0 and self._joins(alt, lo - 1, main_of):
                lo -= 1
            while hi + 1 < len(alt) and self._joins(alt, hi + 1, main_of):
                hi += 1
            out.append((alt[lo:hi + 1], weight))
        return out

    def _joins(self, alt: str, j: int, main_of: Mapping[int, int]) -> bool:
        """Whether ``alt[j]``, next to a token's characters, belongs to the token: it is not a space,
        and this reading has nothing there or a symbol."""
        if alt[j].isspace():
            return False
        i = main_of.get(j)
        return i is None or not (self.text[i].isalnum() or self.text[i].isspace())

    def token(self, k: int) -> str:
        a, b = self.tokens[k]
        return self.text[a:b]

    def span_text(self, first: int, last: int) -> tuple[int, int]:
        """Character span covering tokens first..last (inclusive)."""
        return self.tokens[first][0], self.tokens[last][1]

    def mean_p(self, a: int, b: int) -> float:
        ps = [c.p for c, ch in zip(self.chars[a:b], self.text[a:b], strict=True) if not ch.isspace()]
        return sum(ps) / len(ps) if ps else 0.0

    def slots(self, rules: ScriptRules, a: int, b: int, visual: bool | None = None) -> list[Slot]:
        """Latin slots for characters a..b with separators dropped (for dictionary matching)."""
        segment = self.text[a:b]
        if visual is None:
            visual = script_of(segment) == "mixed"
        out: list[Slot] = []
        for ch, choice in zip(segment, self.chars[a:b], strict=True):
            if ch in COMPACT_DROP:
                continue
            latin = rules.char_to_latin(ch, visual)
            if len(latin) != 1:
                out.extend((c, {}) for c in latin)
                continue
            alts: dict[str, float] = {}
            for alt, p in choice.alternatives:
                key = rules.char_to_latin(alt, visual)
                if len(key) == 1 and key not in COMPACT_DROP:
                    alts[key] = max(alts.get(key, 0.0), p)
            out.append((latin, alts))
        return out


def _align(text: str, chars: Sequence[CharChoice], confidence: float) -> tuple[CharChoice, ...]:
    if len(chars) == len(text):
        return tuple(chars)
    stripped = [i for i, c in enumerate(text) if not c.isspace()]
    if len(chars) == len(stripped):
        out = [CharChoice(((c, 1.0),)) for c in text]
        for i, choice in zip(stripped, chars, strict=True):
            out[i] = choice
        return tuple(out)
    p = max(0.0, min(1.0, float(confidence)))
    return tuple(CharChoice(((c, 1.0 if c.isspace() else p),)) for c in text)


def token_spans(text: str) -> tuple[tuple[int, int], ...]:
    spans: list[tuple[int, int]] = []
    start = -1
    for i, ch in enumerate(text):
        if ch in TOKEN_BREAKS or ch.isspace():
            if start >= 0:
                spans.append((start, i))
                start = -1
        elif start < 0:
            start = i
    if start >= 0:
        spans.append((start, len(text)))
    return tuple(spans)
