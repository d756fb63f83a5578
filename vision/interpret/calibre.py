"""Calibre parser: the many ways a calibre is stamped, to one canonical name (``vision/data/calibres.json``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vision.interpret.resources import load_json
from vision.interpret.text import LineView, ScriptRules

_MM_AFTER_NUMBER = re.compile(r"^(\.?\d+(?:\.\d+)?)mm")
_BARE_INTEGER = re.compile(r"^\d+$")
_METRIC = re.compile(r"^(\d{1,2}(?:\.\d{1,2})?)(?:mm)?x(\d{2,3})(mmr|r|mm|sr|is)?$")
_GAUGE = re.compile(r"^(\d{1,3})/(\d{2})$")
_NUMERIC_LOOKALIKE = {"o": "0", "d": "0", "q": "0", "i": "1", "l": "1", "s": "5", "b": "8", "z": "2", "g": "6"}


@dataclass(frozen=True, slots=True)
class CalibreInfo:
    name: str
    type: str


@dataclass(frozen=True, slots=True)
class CalibreMatch:
    info: CalibreInfo
    line: int
    span: tuple[int, int]
    read: str
    score: float
    how: str  # alias | alias-fixed | metric | gauge


class CalibreParser:
    """Immutable; ``parse`` reads one string, ``find`` scans a line for calibre notations."""

    def __init__(self, rules: ScriptRules, data: Mapping[str, Any]):
        self._rules = rules
        self._prefixes = tuple(
            sorted({self._base_key(str(p)) for p in data["prefixes"]}, key=len, reverse=True)
        )
        self._gauges = frozenset(int(g) for g in data["gauges"])
        self._chambers = frozenset(int(c) for c in data["chambers_mm"])
        table: dict[str, CalibreInfo] = {}
        self._by_name: dict[str, CalibreInfo] = {}
        for item in data["calibres"]:
            info = CalibreInfo(str(item["name"]), str(item.get("type", "")))
            self._by_name[info.name] = info
            for alias in [info.name, *item["aliases"]]:
                for key in self._variants(self._key(str(alias))[0]):
                    table.setdefault(key, info)
        self._table = table

    @classmethod
    def load(cls, rules: ScriptRules, data_dir: Path | None = None) -> CalibreParser:
        return cls(rules, load_json("calibres.json", data_dir))

    # --- keys -------------------------------------------------------------------------------

    def _base_key(self, text: str) -> str:
        s = self._rules.to_latin(text).lower()
        s = s.replace(",", ".").replace("×", "x").replace("*", "x")
        s = s.replace("m.m.", "mm").replace("m.m", "mm")
        return re.sub(r"\s+", "", s)

    def _key(self, text: str) -> tuple[str, bool]:
        """Normalised key and whether a calibre prefix (CAL., KAL., ...) was present."""
        s = self._base_key(text)
        prefixed = False
        for p in self._prefixes:
            if p and s.startswith(p) and len(s) > len(p):
                s = s[len(p):]
                prefixed = True
                break
        s = s.rstrip(".:").lstrip(":")
        return s, prefixed

    @staticmethod
    def _variants(key: str) -> list[str]:
        out = [key]
        bare = _MM_AFTER_NUMBER.sub(r"\1", key)
        if bare != key:
            out.append(bare)
        return out

    @staticmethod
    def _fix_digits(key: str) -> str:
        chars = list(key)
        for i, c in enumerate(chars):
            if c in _NUMERIC_LOOKALIKE:
                left = chars[i - 1] if i > 0 else ""
                right = chars[i + 1] if i + 1 < len(chars) else ""
                after_number = (left.isdigit() or left == ".") and (right.isdigit() or right in {"", ".", "x", "m"})
                before_number = left in {"", ".", "x"} and right.isdigit()
                if after_number or before_number:
                    chars[i] = _NUMERIC_LOOKALIKE[c]
        return "".join(chars)

    # --- parsing ----------------------------------------------------------------------------

    def parse(self, text: str) -> tuple[CalibreInfo, float, str] | None:
        """Canonical calibre of one notation, with a quality in [0, 1] and how it was found."""
        key, prefixed = self._key(text)
        if not key:
            return None
        has_mm = "mm" in key
        for candidate, quality, how in ((key, 1.0, "alias"), (self._fix_digits(key), 0.85, "alias-fixed")):
            for variant in self._variants(candidate):
                info = self._table.get(variant)
                if info is None:
                    continue
                if _BARE_INTEGER.match(variant) and not (prefixed or has_mm):
                    continue  # a bare whole number is a calibre only when marked as one
                return info, quality, how
            metric = _METRIC.match(candidate)
            if metric:
                a, b, suffix = metric.group(1), metric.group(2), metric.group(3) or ""
                rimmed = "R" if suffix in {"r", "mmr"} else ""
                name = f"{a}x{b}mm{rimmed}"
                known = self._table.get(f"{a}x{b}{suffix if suffix != 'mm' else ''}") or self._table.get(
                    f"{a}x{b}"
                )
                if known is not None:
                    return known, quality * 0.95, "metric"
                return CalibreInfo(name, ""), quality * 0.75, "metric"
            gauge = _GAUGE.match(candidate)
            if gauge and int(gauge.group(1)) in self._gauges and int(gauge.group(2)) in self._chambers:
                g = int(gauge.group(1))
                info = self._by_name.get(f"{g} gauge") or CalibreInfo(f"{g} gauge", "shotgun")
                return CalibreInfo(f"{info.name} ({gauge.group(2)} mm)", "shotgun"), quality * 0.95, "gauge"
        return None

    def is_prefix(self, token: str) -> bool:
        """True for a calibre label on its own (CAL., KAL., КАЛИБАР)."""
        return self._base_key(token).strip(":") in {p.strip(":") for p in self._prefixes}

    def find(self, view: LineView, max_tokens: int = 4) -> list[CalibreMatch]:
        found: list[CalibreMatch] = []
        n = len(view.tokens)
        for first in range(n):
            for last in range(first, min(n, first + max_tokens)):
                a, b = view.span_text(first, last)
                segment = view.text[a:b]
                numeric = any(c.isdigit() or c in "OoSsIlBZ" for c in segment)
                if not numeric and "pak" not in segment.lower():
                    continue
                parsed = self.parse(segment)
                if parsed is None:
                    continue
                info, quality, how = parsed
                score = round(max(0.0, min(1.0, 0.97 * quality * view.mean_p(a, b))), 4)
                found.append(CalibreMatch(info, view.index, (a, b), segment, score, how))
        ordered = sorted(found, key=lambda m: (-(m.span[1] - m.span[0]), -m.score))
        kept: list[CalibreMatch] = []
        for m in ordered:
            if any(m.span[0] < k.span[1] and k.span[0] < m.span[1] for k in kept):
                continue
            kept.append(m)
        return kept
