"""Serial-number candidates: a beam over each token's per-character alternatives, scored by OCR
probability and by format priors (``vision/data/serials.json``).

Score of a reading h of a token::

    w(h)     = prod_i p_i(h_i) * consistency(h) * shape(h)
    post(h)  = w(h) / sum over the beam of w
    score(h) = post(h) * coverage * shape(h)

``coverage`` is the OCR probability mass the beam holds (product over positions of the mass on
serial characters, truncated to the beam), ``shape(h)`` the prior that a token of that shape is the
frame serial (generic and per-maker patterns, raised by a label such as "SN", "FAB. BR."). So a clean
read of a serial-shaped token scores about 0.9, an ambiguous or odd-shaped one far less.
Positions whose best character holds less than ``unreadable_below`` of the posterior come back
as ``?`` in a wildcard value, with their alternatives in the detail.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vision.interpret.resources import load_json
from vision.interpret.text import LineView, ScriptRules, is_cyrillic, script_of


@dataclass(frozen=True, slots=True)
class Pattern:
    name: str
    regex: re.Pattern[str]
    prior: float
    maker: str = ""
    final: bool = False  # maker patterns cannot raise this shape


@dataclass(frozen=True, slots=True)
class Reading:
    value: str
    score: float
    pattern: str


@dataclass(frozen=True, slots=True)
class SerialToken:
    """Readings of one token that may be a serial, best first."""

    line: int
    span: tuple[int, int]
    read: str  # as OCR gave it
    readings: tuple[Reading, ...]
    wildcard: str  # best reading with '?' at unreadable positions ('' if none)
    wildcard_score: float
    unreadable: tuple[tuple[int, tuple[tuple[str, float], ...]], ...]
    context: str  # e.g. "label SN", "maker glock"
    originals: tuple[str, ...] = ()  # per position, the character as read (Cyrillic kept)

    @property
    def best(self) -> Reading:
        return self.readings[0]

    @property
    def cyrillic(self) -> bool:
        """Every letter of the best reading was read as a Cyrillic letter (digits may have been
        misread as Latin letters: 'ВЗ 2TO7')."""
        value = self.readings[0].value if self.readings else ""
        if len(value) != len(self.originals):
            return False
        letters = [o for v, o in zip(value, self.originals, strict=True) if v.isalpha() or is_cyrillic(o)]
        return bool(letters) and all(is_cyrillic(o) for o in letters)

    def in_original_script(self, value: str, latin_of: Callable[[str], str]) -> str:
        """``value`` with each position that agrees with the OCR's own Cyrillic letter written in
        Cyrillic again (a serial stamped АБ 1234 stays АБ1234); other positions stay Latin."""
        if not self.cyrillic or len(value) != len(self.originals):
            return value
        out = []
        for ch, orig in zip(value, self.originals, strict=True):
            out.append(orig if is_cyrillic(orig) and latin_of(orig) == ch else ch)
        return "".join(out)


@dataclass(frozen=True, slots=True)
class SerialRules:
    generic: tuple[Pattern, ...]
    maker_patterns: tuple[Pattern, ...]
    default_prior: float
    keyword_prior: float
    max_length: int
    min_length: int
    class_switch_penalty: float
    embedded_penalty: float
    unreadable_below: float
    min_alternative_p: float
    beam_width: int
    readings_per_token: int
    ocr_sharpen: float
    coverage_length_cap: int
    separators: frozenset[str]

    @classmethod
    def from_data(cls, data: Mapping[str, Any], separators: str) -> SerialRules:
        def pat(item: Mapping[str, Any]) -> Pattern:
            return Pattern(str(item["name"]), re.compile(str(item["regex"])), float(item["prior"]),
                           str(item.get("maker", "")), bool(item.get("final", False)))

        return cls(
            generic=tuple(pat(p) for p in data["generic_patterns"]),
            maker_patterns=tuple(pat(p) for p in data["maker_patterns"]),
            default_prior=float(data["default_prior"]),
            keyword_prior=float(data["serial_keyword_prior"]),
            max_length=int(data["max_length"]),
            min_length=int(data["min_length"]),
            class_switch_penalty=float(data["class_switch_penalty"]),
            embedded_penalty=float(data["embedded_confusion_penalty"]),
            unreadable_below=float(data["unreadable_below"]),
            min_alternative_p=float(data["min_alternative_p"]),
            beam_width=int(data["beam_width"]),
            readings_per_token=int(data["readings_per_token"]),
            ocr_sharpen=float(data.get("ocr_sharpen", 1.0)),
            coverage_length_cap=int(data.get("coverage_length_cap", 0)),
            separators=frozenset(separators),
        )


def ncic_key(value: str) -> str:
    """NCIC search form: letter O as zero, letters embedded between digits dropped."""
    v = value.replace("O", "0")
    return re.sub(r"(?<=[0-9])[A-Z?]+(?=[0-9])", "", v)


def _cls(ch: str) -> str:
    return "d" if ch.isdigit() else ("?" if ch == "?" else "a")


class SerialReader:
    """Immutable; one instance serves every request."""

    def __init__(self, rules: ScriptRules, serial_rules: SerialRules):
        self._script = rules
        self.rules = serial_rules
        self._alphabet = rules.serial_alphabet

    @classmethod
    def load(cls, rules: ScriptRules, data_dir: Path | None = None) -> SerialReader:
        data = load_json("serials.json", data_dir)
        script = load_json("script.json", data_dir)
        return cls(rules, SerialRules.from_data(data, str(script["separators"])))

    # --- priors -------------------------------------------------------------------------------

    def shape_prior(self, value: str, makers: Collection[str] = (), keyword: bool = False) -> tuple[float, str]:
        """Prior that ``value`` (normalised) is the frame serial, and the pattern that gave it."""
        r = self.rules
        if not (r.min_length <= len(value) <= r.max_length):
            return 0.0, "length"
        best, name, final = r.default_prior, "other", False
        for p in r.generic:
            if p.regex.match(value):
                best, name, final = p.prior, p.name, p.final
                break  # generic patterns are ordered: first match decides the shape
        for p in r.maker_patterns:
            if not final and p.maker in makers and p.regex.match(value) and p.prior > best:
                best, name = p.prior, p.name
        if keyword and any(c.isdigit() for c in value):
            best = max(best, r.keyword_prior)
            name = f"{name}+label"
        return best, name

    def consistency(self, value: str) -> float:
        """Penalty for character-class patterns typical of look-alike misreads (12O45, A8CD)."""
        r = self.rules
        runs: list[tuple[str, int]] = []
        for ch in value:
            c = _cls(ch)
            if runs and runs[-1][0] == c:
                runs[-1] = (c, runs[-1][1] + 1)
            else:
                runs.append((c, 1))
        factor = 1.0
        for k in range(1, len(runs) - 1):
            if runs[k][1] == 1 and runs[k - 1][0] == runs[k + 1][0] != runs[k][0]:
                factor *= r.embedded_penalty
        switches = max(0, len(runs) - 3)
        return factor * (r.class_switch_penalty ** switches)

    # --- reading ------------------------------------------------------------------------------

    def positions(self, view: LineView, a: int, b: int) -> list[list[tuple[str, float]]]:
        """Per position, the serial-alphabet alternatives (Latin look-alikes of Cyrillic merged)."""
        return [alts for alts, _ in self._positions(view, a, b)]

    def latin(self, ch: str) -> str:
        return self._script.char_to_latin(ch, visual=True)

    def _positions(self, view: LineView, a: int, b: int) -> list[tuple[list[tuple[str, float]], str]]:
        out: list[tuple[list[tuple[str, float]], str]] = []
        sharpen = self.rules.ocr_sharpen
        for ch, choice in zip(view.text[a:b], view.chars[a:b], strict=True):
            if ch.isspace():
                continue
            merged: dict[str, float] = {}
            for alt, p in choice.alternatives:
                latin = self._script.char_to_latin(alt, visual=True)  # 'e', 'É' and 'E' are one letter
                if len(latin) == 1 and latin in self._alphabet:
                    merged[latin] = merged.get(latin, 0.0) + p
            kept = sum(merged.values())
            best_latin = self._script.char_to_latin(ch, visual=True)
            if kept < 0.5 and (ch in self.rules.separators or best_latin not in self._alphabet):
                continue  # hyphens, slashes, dots, stars are omitted from serials (NCIC)
            if not merged:
                continue  # a stray symbol
            # undo the recogniser's temperature; mass outside the serial alphabet or the top-k
            # stays as one 'other' outcome, so a weak read stays weak
            other = max(0.0, 1.0 - kept)
            powered = {c: p ** sharpen for c, p in merged.items()}
            norm = sum(powered.values()) + other ** sharpen
            dist = sorted(((c, p / norm) for c, p in powered.items()), key=lambda kv: -kv[1])
            dist = [dist[0]] + [(c, p) for c, p in dist[1:] if p >= self.rules.min_alternative_p]
            out.append((dist, ch))
        return out

    def read(
        self,
        view: LineView,
        a: int,
        b: int,
        makers: Collection[str] = (),
        keyword: bool = False,
        context: str = "",
    ) -> SerialToken | None:
        with_originals = self._positions(view, a, b)
        pos = [alts for alts, _ in with_originals]
        if not (self.rules.min_length <= len(pos) <= self.rules.max_length):
            return None
        beam = self._beam(pos)
        coverage = sum(math.exp(lp) for _, lp in beam)
        cap = self.rules.coverage_length_cap
        if len(pos) > cap > 0:
            # a long, specific token is not taken as less likely to be the serial than a short one:
            # its read confidence counts as that of a token of ``cap`` characters
            coverage = coverage ** (cap / len(pos))
        weighted: list[tuple[str, float, float, str]] = []
        for value, lp in beam:
            shape, name = self.shape_prior(value, makers, keyword)
            w = math.exp(lp) * self.consistency(value) * shape
            weighted.append((value, w, shape, name))
        total = sum(w for _, w, _, _ in weighted)
        if total <= 0.0:
            return None
        readings: list[Reading] = []
        posts: list[tuple[str, float]] = []
        for value, w, shape, name in weighted:
            post = w / total
            posts.append((value, post))
            readings.append(Reading(value, round(min(1.0, post * coverage * shape), 4), name))
        readings.sort(key=lambda r: -r.score)
        best = readings[0]
        # per-position marginals for wildcards
        unreadable: list[tuple[int, tuple[tuple[str, float], ...]]] = []
        wildcard = list(best.value)
        for i in range(len(best.value)):
            marg: dict[str, float] = {}
            for value, post in posts:
                marg[value[i]] = marg.get(value[i], 0.0) + post
            if marg.get(best.value[i], 0.0) < self.rules.unreadable_below:
                wildcard[i] = "?"
                alts = tuple(sorted(((c, round(p, 3)) for c, p in marg.items()), key=lambda kv: -kv[1])[:4])
                unreadable.append((i, alts))
        wild = "".join(wildcard) if unreadable else ""
        wild_score = 0.0
        if wild:
            agree = sum(post for value, post in posts
                        if all(w == "?" or w == c for w, c in zip(wild, value, strict=True)))
            shape, _ = self.shape_prior(best.value, makers, keyword)
            wild_score = round(min(1.0, agree * coverage * shape * (0.9 ** len(unreadable))), 4)
        return SerialToken(
            line=view.index,
            span=(a, b),
            read=view.text[a:b],
            readings=tuple(readings[: self.rules.readings_per_token]),
            wildcard=wild,
            wildcard_score=wild_score,
            unreadable=tuple(unreadable),
            context=context,
            originals=tuple(ch for _, ch in with_originals),
        )

    def _beam(self, pos: Sequence[Sequence[tuple[str, float]]]) -> list[tuple[str, float]]:
        beam: list[tuple[str, float]] = [("", 0.0)]
        width = self.rules.beam_width
        for alts in pos:
            nxt = [(s + c, lp + math.log(max(p, 1e-9))) for s, lp in beam for c, p in alts]
            nxt.sort(key=lambda x: -x[1])
            beam = nxt[:width]
        return beam


def script_note(read: str) -> str:
    sc = script_of(read)
    return f"script={sc}; original={read}" if sc in {"cyrillic", "mixed"} else ""
