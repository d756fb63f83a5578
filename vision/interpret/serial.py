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

The recogniser is overconfident about characters drawn alike (8/B, 0/O/D, 5/S), so its own
runner-ups do not always hold the right reading. Look-alike readings (``vision/data/lookalikes.json``)
are added to a token's ranked readings: a reading h' that puts c' where a parent reading h has c
scores::

    score(h') = score(h) * floor * weight(c, c') * consistency(h') / consistency(h) * shape(h') / shape(h)

the same formula as above with c' given ``floor * weight`` of c's probability, applied after the
beam so that the parent's own score is left as it was. A token that may be a Cyrillic letter prefix
read as Latin look-alikes ('PU 076' for 'РЦ 076') also gets Cyrillic readings of that prefix.
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
    any_classes: bool = False  # a standard that mixes letters and digits at will: no consistency penalty


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
class Lookalikes:
    """Characters drawn alike, with weights (``vision/data/lookalikes.json``)."""

    floor: float
    neighbours: Mapping[str, tuple[tuple[str, float], ...]]
    parents: int  # how many of a token's best readings lend look-alike readings
    rounds: int  # look-alike readings of look-alike readings (2: two substitutions)
    cyrillic_read_as: Mapping[str, tuple[tuple[str, float], ...]]
    cyrillic_prior: float
    cyrillic_context_prior: float
    cyrillic_max_letters: int
    cyrillic_per_token: int
    cyrillic_countries: frozenset[str]

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Lookalikes:
        neighbours: dict[str, dict[str, float]] = {}
        for a, b, w in data["pairs"]:
            a, b, weight = str(a), str(b), float(w)
            if a == b or weight <= 0.0:
                continue
            for x, y in ((a, b), (b, a)):
                neighbours.setdefault(x, {})[y] = max(weight, neighbours.get(x, {}).get(y, 0.0))
        cyr = data.get("cyrillic") or {}
        read_as = {
            str(k): tuple(sorted(((str(c), float(w)) for c, w in v), key=lambda cw: -cw[1]))
            for k, v in (cyr.get("read_as") or {}).items()
        }
        return cls(
            floor=float(data["floor"]),
            neighbours={k: tuple(sorted(v.items(), key=lambda cw: -cw[1])) for k, v in neighbours.items()},
            parents=int(data.get("parents", 3)),
            rounds=int(data.get("rounds", 1)),
            cyrillic_read_as=read_as,
            cyrillic_prior=float(cyr.get("prior", 0.0)),
            cyrillic_context_prior=float(cyr.get("context_prior", cyr.get("prior", 0.0))),
            cyrillic_max_letters=int(cyr.get("max_letters", 0)),
            cyrillic_per_token=int(cyr.get("per_token", 0)),
            cyrillic_countries=frozenset(str(c) for c in cyr.get("context_countries", ())),
        )


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
    line_alternate_weight: float = 0.0

    @classmethod
    def from_data(cls, data: Mapping[str, Any], separators: str) -> SerialRules:
        def pat(item: Mapping[str, Any]) -> Pattern:
            return Pattern(str(item["name"]), re.compile(str(item["regex"])), float(item["prior"]),
                           str(item.get("maker", "")), bool(item.get("final", False)),
                           bool(item.get("any_classes", False)))

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
            line_alternate_weight=float(data.get("line_alternate_weight", 0.0)),
        )


def score4(x: float) -> float:
    """A score kept to four significant digits: a weakly read token's readings keep their order
    (0.00012 above 0.00009) where four decimals would make them all 0."""
    return float(f"{x:.4g}")


def ncic_key(value: str) -> str:
    """NCIC search form: letter O as zero, letters embedded between digits dropped."""
    v = value.replace("O", "0")
    return re.sub(r"(?<=[0-9])[A-Z?]+(?=[0-9])", "", v)


def _cls(ch: str) -> str:
    return "d" if ch.isdigit() else ("?" if ch == "?" else "a")


class SerialReader:
    """Immutable; one instance serves every request."""

    def __init__(self, rules: ScriptRules, serial_rules: SerialRules, lookalikes: Lookalikes | None = None):
        self._script = rules
        self.rules = serial_rules
        self.lookalikes = lookalikes
        self._alphabet = rules.serial_alphabet

    @classmethod
    def load(cls, rules: ScriptRules, data_dir: Path | None = None) -> SerialReader:
        data = load_json("serials.json", data_dir)
        script = load_json("script.json", data_dir)
        lookalikes = Lookalikes.from_data(load_json("lookalikes.json", data_dir))
        return cls(rules, SerialRules.from_data(data, str(script["separators"])), lookalikes)

    def cyrillic_context(self, countries: Collection[str]) -> bool:
        """A maker of one of these countries writes its serials' letters in Cyrillic."""
        return self.lookalikes is not None and bool(self.lookalikes.cyrillic_countries & set(countries))

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
        if any(p.any_classes and p.regex.match(value) for p in r.generic):
            return 1.0  # a VIN mixes letters and digits by its standard, not by misreading
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
        cyrillic_context: bool = False,
        head_end: int | None = None,
    ) -> SerialToken | None:
        """Readings of the token ``view.text[a:b]``. ``head_end``: where the first of two tokens read
        together ends (a letter prefix stamped apart from its number, 'АБ 1234'). What the line's
        other readings read there (``view.alternates_of``) is offered too, below the best reading."""
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
            readings.append(Reading(value, score4(min(1.0, post * coverage * shape)), name))
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
            wild_score = score4(min(1.0, agree * coverage * shape * (0.9 ** len(unreadable))))
        if self.lookalikes is not None:
            head = len(self._positions(view, a, head_end)) if head_end is not None else None
            readings = self._with_lookalikes(readings, self.lookalikes, makers, keyword, cyrillic_context, head)
        if self.rules.line_alternate_weight > 0.0 and view.alternates:
            readings = self._with_alternates(readings, view.alternates_of(a, b), makers, keyword)
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

    def _prior(self, value: str, makers: Collection[str], keyword: bool) -> tuple[float, str]:
        """Shape prior times class consistency of a reading (Cyrillic letters count as letters)."""
        latin = "".join("A" if is_cyrillic(c) else c for c in value)
        shape, name = self.shape_prior(latin, makers, keyword)
        return shape * self.consistency(latin), name

    def _with_lookalikes(
        self,
        readings: list[Reading],
        la: Lookalikes,
        makers: Collection[str],
        keyword: bool,
        cyrillic_context: bool,
        head: int | None = None,
    ) -> list[Reading]:
        """``readings`` (best first) with look-alike readings of the best few added, best first.
        A reading already in the beam keeps the higher of its two scores."""
        pool: dict[str, Reading] = {r.value: r for r in readings}
        parents = readings[: la.parents]
        for _ in range(max(1, la.rounds)):
            for parent in parents:
                prior, _name = self._prior(parent.value, makers, keyword)
                if parent.score <= 0.0 or prior <= 0.0:
                    continue
                for i, ch in enumerate(parent.value):
                    for alt, weight in la.neighbours.get(ch, ()):
                        if alt not in self._alphabet:
                            continue
                        value = parent.value[:i] + alt + parent.value[i + 1:]
                        self._offer(pool, value, parent.score * la.floor * weight / prior, makers, keyword,
                                    parent.score)
            ranked = sorted(pool.values(), key=lambda r: -r.score)
            parents = [r for r in ranked[: la.parents] if r not in parents]
        for parent in readings[: la.parents]:
            prior, _name = self._prior(parent.value, makers, keyword)
            q = la.cyrillic_context_prior if cyrillic_context else la.cyrillic_prior
            if parent.score <= 0.0 or prior <= 0.0 or q <= 0.0:
                continue
            for value, weight in self._cyrillic_prefixes(parent.value, la, head)[: la.cyrillic_per_token]:
                self._offer(pool, value, parent.score * q * weight / prior, makers, keyword, parent.score)
        return sorted(pool.values(), key=lambda r: -r.score)

    def _with_alternates(self, readings: list[Reading], alternates: Sequence[tuple[str, float]],
                         makers: Collection[str], keyword: bool) -> list[Reading]:
        """``readings`` with what the line's other readings read in the token's place. Such a
        reading scores the best reading's score times ``line_alternate_weight``, its weight and the
        change of prior, and never above the best reading: a model that reads the token otherwise,
        or a reading a character longer or shorter, is an alternative to try, not a correction."""
        best = readings[0]
        prior_best, _name = self._prior(best.value, makers, keyword)
        if best.score <= 0.0 or prior_best <= 0.0:
            return readings
        pool: dict[str, Reading] = {r.value: r for r in readings}
        for text, weight in alternates:
            value = self.value_of(text)
            if not self.rules.min_length <= len(value) <= self.rules.max_length:
                continue
            base = best.score * self.rules.line_alternate_weight * weight / prior_best
            self._offer(pool, value, base, makers, keyword, best.score)
        return sorted(pool.values(), key=lambda r: -r.score)

    def value_of(self, text: str) -> str:
        """A token as a serial value: Latin look-alikes of Cyrillic letters, separators and symbols
        dropped (NCIC)."""
        out = []
        for ch in text:
            latin = self.latin(ch)
            if len(latin) == 1 and latin in self._alphabet:
                out.append(latin)
        return "".join(out)

    def _offer(self, pool: dict[str, Reading], value: str, base: float, makers: Collection[str],
               keyword: bool, parent: float) -> None:
        """Add ``value`` at ``base`` times its prior: never above its parent's score (a look-alike is
        an alternative to try next, not a correction of the beam)."""
        prior, name = self._prior(value, makers, keyword)
        score = score4(min(parent, base * prior))
        old = pool.get(value)
        if score > 0.0 and (old is None or score > old.score):
            pool[value] = Reading(value, score, name)

    @staticmethod
    def _cyrillic_prefixes(value: str, la: Lookalikes, head: int | None = None) -> list[tuple[str, float]]:
        """Cyrillic readings of a letter prefix read as Latin look-alikes ('PU076' -> 'РЦ076'),
        most likely first: a prefix of 1..max_letters characters that each may be a Cyrillic
        letter, at least one of them read as a letter, and only digits after it. With ``head`` (the
        prefix was read as a token of its own) only that prefix."""
        out: list[tuple[str, float]] = []
        lengths = [head] if head is not None else range(1, la.cyrillic_max_letters + 1)
        for k in lengths:
            if not 1 <= k <= min(la.cyrillic_max_letters, len(value) - 1):
                continue
            prefix, rest = value[:k], value[k:]
            if not rest.isdigit() or not any(c.isalpha() for c in prefix):
                continue
            options = [la.cyrillic_read_as.get(c, ()) for c in prefix]
            if not all(options):
                continue
            combos: list[tuple[str, float]] = [("", 1.0)]
            for opts in options:
                combos = [(p + c, w * cw) for p, w in combos for c, cw in opts]
            out.extend((p + rest, w) for p, w in combos)
        out.sort(key=lambda vw: -vw[1])
        return out

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
