"""Dates and proof-house year codes (``vision/data/serials.json`` date patterns,
``vision/data/year_codes.json``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vision.interpret.resources import load_json
from vision.interpret.text import LineView, ScriptRules, digit_fixed

_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}
_ROMAN_RE = re.compile(r"^(X{0,3})(IX|IV|V?I{0,3})$")
_YEAR = re.compile(r"^(19|20)[0-9]{2}$")


def roman_to_int(text: str) -> int | None:
    """Value of a well-formed Roman numeral up to XXXIX, else None."""
    if not text or not _ROMAN_RE.match(text):
        return None
    total = 0
    for i, ch in enumerate(text):
        v = _ROMAN[ch]
        nxt = _ROMAN[text[i + 1]] if i + 1 < len(text) else 0
        total += -v if v < nxt else v
    return total


@dataclass(frozen=True, slots=True)
class DateMatch:
    value: str
    line: int
    span: tuple[int, int]
    read: str
    score: float
    detail: str


@dataclass(frozen=True, slots=True)
class _YearSystem:
    id: str
    country: str
    name: str
    codes: Mapping[str, int]
    roman_offset: int
    roman_min: int
    roman_max: int


class DateReader:
    """Immutable: calendar dates in text, and proof year codes (letters, Roman numerals)."""

    def __init__(self, rules: ScriptRules, serial_data: Mapping[str, Any], year_data: Mapping[str, Any]):
        self._rules = rules
        self._patterns = tuple(
            (re.compile(str(p["regex"])), str(p["format"]), float(p.get("score", 0.9)))
            for p in serial_data["date_patterns"]
        )
        systems = []
        for s in year_data["systems"]:
            roman = s.get("roman") or {"offset": 0, "min_year": 1, "max_year": 0}
            systems.append(_YearSystem(
                str(s["id"]), str(s["country"]), str(s["name"]),
                {str(k).upper(): int(v) for k, v in s["codes"].items()},
                int(roman["offset"]), int(roman["min_year"]), int(roman["max_year"]),
            ))
        self._systems = tuple(systems)
        self.context_countries = frozenset(str(c) for c in year_data["context_countries"])
        self.context_makers = frozenset(str(m) for m in year_data["context_makers"])
        self._with_context = float(year_data["with_context_score"])
        self._without_context = float(year_data["without_context_score"])
        hs = serial_data.get("headstamp_year") or {}
        self._headstamp_pivot = int(hs.get("pivot", 30))
        self._headstamp_score = float(hs.get("score", 0.7))

    @classmethod
    def load(cls, rules: ScriptRules, data_dir: Path | None = None) -> DateReader:
        return cls(rules, load_json("serials.json", data_dir), load_json("year_codes.json", data_dir))

    def parse_date(self, token: str) -> tuple[str, float] | None:
        t = token.strip().rstrip(",;")
        for regex, fmt, score in self._patterns:
            m = regex.match(t)
            if not m:
                continue
            parts: dict[str, Any] = {}
            for k, v in m.groupdict().items():
                if v is not None:
                    parts[k] = int(v) if k in {"m", "d"} else v
            if not (1 <= int(parts.get("m", 1)) <= 12 and 1 <= int(parts.get("d", 1)) <= 31):
                continue
            return fmt.format(**parts), score
        return None

    def decode_year_code(self, token: str) -> tuple[int, str, str] | None:
        """(year, system name, country) of a proof year code such as 'CA', 'XXIV' or 'XX8'."""
        if any(not c.isascii() for c in token):
            return None  # the codes are Latin letters and Arabic/Roman numerals
        key = self._rules.to_latin(token, visual=True).strip(".")
        for s in self._systems:
            if key in s.codes:
                return s.codes[key], s.name, s.country
            n = roman_to_int(key)
            if n is not None and s.roman_min <= s.roman_offset + n <= s.roman_max:
                return s.roman_offset + n, s.name, s.country
        return None

    def find(self, view: LineView, countries: set[str], makers: set[str]) -> list[DateMatch]:
        out: list[DateMatch] = []
        context = bool(countries & self.context_countries or makers & self.context_makers)
        paired: set[int] = set()
        for k in range(len(view.tokens) - 1):
            a, b2 = view.tokens[k][0], view.tokens[k + 1][1]
            first, second = view.token(k), view.token(k + 1)
            if first.isascii() and roman_to_int(first) is not None and _YEAR.match(second):
                # 'VI 1995': a Roman numeral (month or quarter) before a year
                out.append(DateMatch(f"{first}-{second}", view.index, (a, b2), view.text[a:b2],
                                     round(0.8 * view.mean_p(a, b2), 4), "date"))
                paired.update((k, k + 1))
        for k, (a, b) in enumerate(view.tokens):
            if k in paired:
                continue
            token = view.text[a:b]
            conf = view.mean_p(a, b)
            parsed = self.parse_date(token)
            fixed = digit_fixed(token)
            if parsed is None and fixed != token:
                parsed = self.parse_date(fixed)
                conf *= 0.9
            if parsed is not None:
                value, q = parsed
                out.append(DateMatch(value, view.index, (a, b), token, round(q * conf, 4), "date"))
                continue
            code = self.decode_year_code(token)
            if code is None:
                continue
            year, name, country = code
            alone = len(view.tokens) == 1
            base = self._with_context if context else self._without_context
            if alone and not context:
                base = (base + self._with_context) / 2
            detail = f"{name}: {token} = {year}; country={country}"
            out.append(DateMatch(str(year), view.index, (a, b), token, round(base * conf, 4), detail))
        return out

    def headstamp_years(self, view: LineView) -> list[DateMatch]:
        """Two-digit years on a cartridge head ('IMI 88', 'ППУ 9-Д 91'): the year of manufacture is
        stamped as its last two digits. A year up to ``pivot`` is taken as 20xx, a later one as 19xx
        (the read is kept in the detail). Only for tokens read from a headstamp, where a lone pair of
        digits is a year; calibres ('9', '7.62') and lot numbers with more digits are not."""
        out: list[DateMatch] = []
        for a, b in view.tokens:
            token = view.text[a:b]
            fixed = digit_fixed(token)
            if not (len(fixed) == 2 and fixed.isdigit()):
                continue
            yy = int(fixed)
            year = (2000 if yy <= self._headstamp_pivot else 1900) + yy
            conf = view.mean_p(a, b) * (0.9 if fixed != token else 1.0)
            out.append(DateMatch(str(year), view.index, (a, b), token, round(self._headstamp_score * conf, 4),
                                 f"headstamp year: {fixed}"))
        return out
