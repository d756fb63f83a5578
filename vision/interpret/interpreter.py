"""The interpret stage: lines of text (with per-character alternatives) to marks a tracing form needs.

Built once by :func:`build_interpreter`; immutable afterwards, so one instance serves concurrent
requests. Per-request inputs are arguments, never state.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vision.geometry import continues
from vision.headstamp import VARIANT as HEADSTAMP_VARIANT
from vision.interpret.calibre import CalibreParser
from vision.interpret.dates import DateReader
from vision.interpret.lexicon import Dictionaries, Entry, Lexicon, Match, SlotCache
from vision.interpret.proof import ProofMarkMatcher
from vision.interpret.resources import GALLERY_DIR, load_json
from vision.interpret.serial import SerialReader, SerialToken, ncic_key, score4, script_note
from vision.interpret.text import LineView, ScriptRules, digit_fixed, is_cyrillic, script_of, token_spans
from vision.types import CharChoice, MarkCandidate, MarkKind, Quad, TextLine

KIND_ORDER = (
    MarkKind.SERIAL, MarkKind.MAKER, MarkKind.MODEL, MarkKind.CALIBRE, MarkKind.COUNTRY,
    MarkKind.IMPORTER, MarkKind.PROOF, MarkKind.DATE, MarkKind.OTHER,
)


@dataclass(frozen=True, slots=True)
class InterpretConfig:
    """Tunable limits of the stage (the rules themselves live in the data files)."""

    max_serials: int = 8
    # a weakly read serial is still offered, far down the list, so that it can be looked up and
    # corrected; negatives get none (their lines hold no serial-shaped token)
    min_serial_score: float = 0.001
    max_alternatives: int = 7
    join_short_tokens: int = 4  # a token this short may be a prefix/suffix group of its neighbour
    join_factor: float = 0.92
    # a number read without the letter prefix standing right before it (prefix letters, Cyrillic ones
    # above all, are read less surely than digits: the factor has to outweigh that; 0.85 until
    # 2026-11-29, when 0.7 put two Cyrillic-prefixed serials first on the synthetic set)
    split_factor: float = 0.7
    # a serial the detector cut in two boxes along one line (a prefix stamped apart, a worn
    # stretch): the end of one box read with the start of the next, at this factor
    # (vision.geometry.continues: at most ``piece_gap`` line heights apart, or overlapping)
    piece_factor: float = 0.9
    piece_gap: float = 1.5
    min_dictionary_score: float = 0.45


@dataclass(slots=True)
class _LineFacts:
    """What one line turned out to hold (built per request, never shared)."""

    view: LineView
    claimed: list[tuple[int, int]] = field(default_factory=list)
    excluded_from: int | None = None  # char offset after which tokens are not serials
    exclusion: str = ""
    keyword_ends: list[int] = field(default_factory=list)  # char offsets where a serial label ends
    maker_spans: list[tuple[int, int]] = field(default_factory=list)  # claimed after models are read
    cache: SlotCache = field(default_factory=dict)  # Latin slots of windows, shared by the dictionaries

    def free(self, a: int, b: int) -> bool:
        return not any(a < y and x < b for x, y in self.claimed)

    def free_of_all_but_makers(self, a: int, b: int) -> bool:
        """An importer's name may contain a maker's ('ZASTAVA USA')."""
        return not any(a < y and x < b for x, y in self.claimed if (x, y) not in self.maker_spans)


class Interpreter:
    def __init__(
        self,
        rules: ScriptRules,
        dictionaries: Dictionaries,
        calibres: CalibreParser,
        serials: SerialReader,
        dates: DateReader,
        labels: Lexicon,
        serial_keywords: Lexicon,
        label_patterns: Sequence[tuple[str, re.Pattern[str]]],
        keyword_prefix: re.Pattern[str],
        measurement: re.Pattern[str] | None = None,
        units: frozenset[str] = frozenset(),
        proof_matcher: ProofMarkMatcher | None = None,
        config: InterpretConfig | None = None,
    ):
        self._rules = rules
        self._dicts = dictionaries
        self._calibres = calibres
        self._serials = serials
        self._separators = "".join(sorted(serials.rules.separators))
        self._dates = dates
        self._labels = labels
        self._serial_keywords = serial_keywords
        self._label_patterns = tuple(label_patterns)
        self._keyword_prefix = keyword_prefix
        self._measurement = measurement
        self._units = units
        self.proof_matcher = proof_matcher
        self.config = config or InterpretConfig()

    # --- public ---------------------------------------------------------------------------------

    def interpret(
        self,
        lines: Sequence[TextLine],
        image: npt.NDArray[np.uint8] | None = None,
        symbol_regions: Sequence[Quad] = (),
    ) -> tuple[MarkCandidate, ...]:
        """Marks found in ``lines``, grouped by kind (serial, maker, model, calibre, country, importer,
        proof, date, other) and best first within each kind. ``image`` (BGR, original pixels) enables
        proof-mark matching on ``symbol_regions`` and on short unreadable lines."""
        facts = [_LineFacts(LineView.of(i, line)) for i, line in enumerate(lines)]
        marks: list[MarkCandidate] = []

        makers = self._makers(facts, marks)
        maker_ids = {m.entry.id for m in makers}
        models = self._models(facts, marks, maker_ids)
        for f in facts:
            f.claimed.extend(f.maker_spans)
        for model in models:
            if model.entry.attrs.get("maker"):
                maker_ids.add(model.entry.attrs["maker"])
        self._makers_from_models(models, makers, marks)
        self._calibre(facts, marks)
        self._importers(facts, marks)
        countries = self._countries(facts, marks, makers)
        _doubt_makers_implied_against_stated_country(marks)
        self._proof_letters(facts, marks)
        self._labels_and_keywords(facts, marks)
        self._dates_found(facts, marks, countries, maker_ids,
                          frozenset(i for i, line in enumerate(lines) if line.variant == HEADSTAMP_VARIANT))
        seen_countries = countries | {str(m.entry.attrs.get("country", "")) for m in makers}
        cyrillic = any(is_cyrillic(ch) for line in lines for ch in line.text)
        self._serial(facts, marks, maker_ids, cyrillic or self._serials.cyrillic_context(seen_countries),
                     self._pieces(lines))
        if image is not None and self.proof_matcher is not None:
            marks.extend(self.proof_matcher.marks(image, lines, symbol_regions))
        return _ordered(marks)

    # --- dictionaries ---------------------------------------------------------------------------

    def _makers(self, facts: list[_LineFacts], marks: list[MarkCandidate]) -> list[Match]:
        found: list[Match] = []
        for f in facts:
            for m in self._dicts.makers.find(f.view, cache=f.cache):
                if m.weak and (m.cost > 0.0 or _before_number(f.view, m.span)):
                    continue
                score = m.score * (0.85 if m.weak else 1.0)
                if score < self.config.min_dictionary_score:
                    continue
                found.append(m)
                f.maker_spans.append(m.span)
        best: dict[str, tuple[float, Match]] = {}
        for m in found:
            score = m.score * (0.85 if m.weak else 1.0)
            if m.entry.id not in best or score > best[m.entry.id][0]:
                best[m.entry.id] = (score, m)
        for f in facts:
            for m in self._dicts.headstamps.find(f.view, cache=f.cache):
                # a headstamp code counts only as a token read on its own
                if m.cost > 0.0 or f.view.text.strip() != m.read.strip() or not f.free(*m.span):
                    continue
                f.maker_spans.append(m.span)
                marks.append(MarkCandidate(
                    MarkKind.MAKER, m.entry.name, round(0.6 * m.score, 4), (), (m.line,),
                    _detail(read=m.read, headstamp=m.entry.id, country=m.entry.attrs.get("country", ""),
                            extra=script_note(m.read)),
                ))
        for score, m in best.values():
            lines = tuple(sorted({x.line for x in found if x.entry.id == m.entry.id}))
            marks.append(MarkCandidate(
                MarkKind.MAKER, m.entry.name, round(score, 4), (), lines,
                _detail(read=m.read, id=m.entry.id, country=m.entry.attrs.get("country", ""),
                        kind=m.entry.attrs.get("kind", ""), extra=script_note(m.read)),
            ))
        return [m for _, m in best.values()]

    def _models(self, facts: list[_LineFacts], marks: list[MarkCandidate], maker_ids: set[str]) -> list[Match]:
        best: dict[str, Match] = {}
        for f in facts:
            for m in self._dicts.models.find(f.view, cache=f.cache):
                maker = m.entry.attrs.get("maker", "")
                if m.weak and maker not in maker_ids:
                    whole_line = (m.cost == 0.0 and f.view.text.strip() == m.read.strip()
                                  and not m.read.replace(".", "").isdigit())
                    if not whole_line:
                        continue  # '92' or 'PM' in running text is a model only beside its maker
                    m = replace(m, score=round(m.score * 0.55, 4))
                if m.score < self.config.min_dictionary_score or not f.free(*m.span):
                    continue
                f.claimed.append(m.span)
                old = best.get(m.entry.id)
                if old is None or m.score > old.score:
                    best[m.entry.id] = m
        for f in facts:
            for a, b in f.view.tokens:
                token = self._rules.compact(f.view.text[a:b], visual=True)
                for name, regex in self._dicts.designations:
                    if regex.match(token) and f.free(a, b):
                        f.claimed.append((a, b))
                        entry = Entry(token, token, {"pattern": name})
                        m = Match(entry, token, f.view.index, (a, b), f.view.text[a:b], 0.0,
                                  round(0.7 * f.view.mean_p(a, b), 4), False)
                        best.setdefault(token, m)
                        break
        ranked = sorted(best.values(), key=lambda m: -m.score)
        for m in ranked:
            alts = tuple((o.entry.name, o.score) for o in ranked if o is not m and o.span == m.span)
            marks.append(MarkCandidate(
                MarkKind.MODEL, m.entry.name, m.score, alts, (m.line,),
                _detail(read=m.read, maker=m.entry.attrs.get("maker", ""), type=m.entry.attrs.get("type", ""),
                        pattern=m.entry.attrs.get("pattern", ""), extra=script_note(m.read)),
            ))
        return ranked

    def _makers_from_models(self, models: list[Match], makers: list[Match], marks: list[MarkCandidate]) -> None:
        have = {m.entry.id for m in makers}
        for model in models:
            maker = model.entry.attrs.get("maker", "")
            if not maker or maker in have:
                continue
            have.add(maker)
            name = self._dicts.maker_names.get(maker, maker)
            country = self._dicts.maker_country.get(maker, "")
            marks.append(MarkCandidate(
                MarkKind.MAKER, name, round(0.7 * model.score, 4), (), (model.line,),
                _detail(via=f"model {model.entry.name}", id=maker, country=country),
            ))
            makers.append(Match(Entry(maker, name, {"country": country}), model.spelling, model.line,
                                model.span, model.read, model.cost, round(0.7 * model.score, 4), False))

    def _countries(self, facts: list[_LineFacts], marks: list[MarkCandidate], makers: list[Match]) -> set[str]:
        best: dict[str, tuple[float, str, tuple[int, ...]]] = {}

        def offer(code: str, score: float, how: str, lines: tuple[int, ...]) -> None:
            if code not in best or score > best[code][0]:
                best[code] = (round(score, 4), how, lines)

        for f in facts:
            found_prefixes = self._dicts.made_in.find(f.view, cache=f.cache)
            prefix = [m for m in found_prefixes if m.score >= self.config.min_dictionary_score]
            for m in prefix:
                f.claimed.append(m.span)
            for m in self._dicts.countries.find(f.view, cache=f.cache):
                if (m.weak and m.cost > 0.0) or m.score < self.config.min_dictionary_score:
                    continue
                if m.weak and _before_number(f.view, m.span):
                    continue  # 'UK 263444': two letters before a number are its prefix
                if not f.free(*m.span):
                    continue
                after_prefix = any(p.span[1] <= m.span[0] for p in prefix)
                f.claimed.append(m.span)
                how = "made in" if after_prefix else "named"
                offer(m.entry.id, m.score * (1.0 if after_prefix else 0.85), _detail(how=how, read=m.read,
                      extra=script_note(m.read)), (f.view.index,))
        for m in makers:
            code = m.entry.attrs.get("country", "")
            if code:
                offer(code, 0.5 * m.score, _detail(how=f"maker {m.entry.name}"), (m.line,))
        ranked = sorted(best.items(), key=lambda kv: -kv[1][0])
        for code, (score, how, lines) in ranked:
            alts = tuple((self._dicts.country_names.get(c, c), s) for c, (s, _, _) in ranked if c != code)
            marks.append(MarkCandidate(
                MarkKind.COUNTRY, self._dicts.country_names.get(code, code), score,
                alts[: self.config.max_alternatives], lines, f"code={code}; {how}".rstrip("; "),
            ))
        return {code for code, (score, _, _) in ranked if score >= 0.5}

    def _importers(self, facts: list[_LineFacts], marks: list[MarkCandidate]) -> None:
        best: dict[str, MarkCandidate] = {}
        for f in facts:
            for m in self._dicts.importers.find(f.view, cache=f.cache):
                if (m.weak and m.cost > 0.0) or m.score < self.config.min_dictionary_score:
                    continue
                if not f.free_of_all_but_makers(*m.span):
                    continue
                f.claimed.append(m.span)
                cand = MarkCandidate(MarkKind.IMPORTER, m.entry.name, m.score, (), (m.line,),
                                     _detail(read=m.read, country=m.entry.attrs.get("country", "")))
                if m.entry.id not in best or cand.score > best[m.entry.id].score:
                    best[m.entry.id] = cand
            for p in self._dicts.import_prefixes.find(f.view, cache=f.cache):
                if p.score < self.config.min_dictionary_score:
                    continue
                f.claimed.append(p.span)
                rest = f.view.text[p.span[1]:].strip(" :.,")
                if f.excluded_from is None or p.span[0] < f.excluded_from:
                    f.excluded_from, f.exclusion = p.span[0], "import mark"
                if rest and not any(c.line_indices == (f.view.index,) for c in best.values()):
                    key = "text:" + rest
                    best[key] = MarkCandidate(MarkKind.IMPORTER, rest, round(0.7 * p.score, 4), (),
                                              (f.view.index,), _detail(read=f.view.text))
        marks.extend(best.values())

    def _calibre(self, facts: list[_LineFacts], marks: list[MarkCandidate]) -> None:
        best: dict[str, MarkCandidate] = {}
        for f in facts:
            for m in self._calibres.find(f.view):
                if not f.free(*m.span) and m.how != "alias":
                    continue
                f.claimed.append(m.span)
                cand = MarkCandidate(MarkKind.CALIBRE, m.info.name, m.score, (), (m.line,),
                                     _detail(read=m.read, type=m.info.type, how=m.how))
                if m.info.name not in best or cand.score > best[m.info.name].score:
                    best[m.info.name] = cand
            for a, b in f.view.tokens:
                if f.free(a, b) and self._calibres.is_prefix(f.view.text[a:b]):
                    f.claimed.append((a, b))  # a calibre label whose value was not read
        marks.extend(best.values())

    def _proof_letters(self, facts: list[_LineFacts], marks: list[MarkCandidate]) -> None:
        for f in facts:
            if len(f.view.tokens) > self._dicts.proof_max_tokens:
                continue
            for m in self._dicts.proof_letters.find(f.view, cache=f.cache):
                whole = any(m.span == t for t in f.view.tokens) or m.read.replace(" ", "") == m.entry.id
                if m.cost > 0.0 or not whole or not f.free(*m.span) or _before_number(f.view, m.span):
                    continue
                f.claimed.append(m.span)
                marks.append(MarkCandidate(
                    MarkKind.PROOF, m.entry.name, round(self._dicts.proof_score * m.score, 4), (), (m.line,),
                    _detail(read=m.read, code=m.entry.id, country=m.entry.attrs.get("country", "")),
                ))

    # --- labels, dates ----------------------------------------------------------------------------

    def _labels_and_keywords(self, facts: list[_LineFacts], marks: list[MarkCandidate]) -> None:
        for f in facts:
            for m in self._labels.find(f.view, cache=f.cache):
                if m.cost > 0.3 or not f.free(*m.span):
                    continue
                f.claimed.append(m.span)
                if f.excluded_from is None or m.span[0] < f.excluded_from:
                    f.excluded_from, f.exclusion = m.span[0], m.entry.id
            for m in self._serial_keywords.find(f.view, cache=f.cache):
                if m.cost > 0.3 or not f.free(*m.span):
                    continue
                f.claimed.append(m.span)
                f.keyword_ends.append(m.span[1])
            previous: tuple[int, int] | None = None
            for a, b in f.view.tokens:
                token = self._rules.to_latin(f.view.text[a:b], visual=True)
                compact = self._rules.compact(f.view.text[a:b], visual=True)
                if self._measurement is not None and self._measurement.match(compact):
                    f.claimed.append((a, b))  # 2000KG, 35PSI, 7.5J: a measurement, not a serial
                elif (compact in self._units and previous is not None
                      and any(c.isdigit() for c in f.view.text[previous[0]:previous[1]])):
                    f.claimed.extend([previous, (a, b)])  # '2000 kg'
                previous = (a, b)
                if f.excluded_from is not None and a >= f.excluded_from:
                    continue
                for name, regex in self._label_patterns:
                    if (regex.match(token) or regex.match(digit_fixed(token))) and f.free(a, b):
                        f.claimed.append((a, b))
                        marks.append(MarkCandidate(MarkKind.OTHER, token, round(0.8 * f.view.mean_p(a, b), 4), (),
                                                   (f.view.index,), _detail(what=name, read=f.view.text[a:b])))
                        break
            if f.excluded_from is not None:
                rest = f.view.text[f.excluded_from:].strip()
                if f.exclusion == "model label":
                    # 'MODEL: K15543', 'TYP 3B': the designation after the label is a model
                    label_end = max((m.span[1] for m in self._labels.find(f.view, cache=f.cache)
                                     if m.span[0] == f.excluded_from), default=f.excluded_from)
                    value = f.view.text[label_end:].strip(" :.")
                    if value:
                        marks.append(MarkCandidate(MarkKind.MODEL, value, round(0.6 * f.view.confidence, 4), (),
                                                   (f.view.index,), _detail(read=rest, what="after a model label")))
                    continue
                marks.append(MarkCandidate(MarkKind.OTHER, rest, round(f.view.confidence, 4), (), (f.view.index,),
                                           _detail(what=f.exclusion)))

    def _dates_found(self, facts: list[_LineFacts], marks: list[MarkCandidate], countries: set[str],
                     makers: set[str], headstamp_lines: frozenset[int] = frozenset()) -> None:
        for f in facts:
            if f.view.index in headstamp_lines:
                for d in self._dates.headstamp_years(f.view):
                    if f.free(*d.span):
                        f.claimed.append(d.span)
                        marks.append(MarkCandidate(MarkKind.DATE, d.value, d.score, (), (d.line,),
                                                   _detail(read=d.read, what=d.detail)))
            for d in self._dates.find(f.view, countries, makers):
                if not f.free(*d.span):
                    continue
                bare_year = d.read.strip(".").isdigit()
                if (d.detail == "date" and not bare_year) or (d.detail != "date" and d.score >= 0.5):
                    # a bare year or a speculative year code leaves the token to a serial beside it
                    f.claimed.append(d.span)
                marks.append(MarkCandidate(MarkKind.DATE, d.value, d.score, (), (d.line,),
                                           _detail(read=d.read, what=d.detail)))

    # --- serials --------------------------------------------------------------------------------

    def _serial(self, facts: list[_LineFacts], marks: list[MarkCandidate], makers: set[str],
                cyrillic: bool = False, pieces: Sequence[tuple[int, int, float]] = ()) -> None:
        """Serial candidates from the tokens left free; ``cyrillic``: the image shows Cyrillic text or a
        maker that writes serial letters in Cyrillic; ``pieces``: (line, next line, overlap) for
        boxes that continue one another along one line (``_pieces``)."""
        tokens: list[tuple[SerialToken, float, tuple[int, ...]]] = []  # token, factor, lines read
        frees: list[list[tuple[int, int, bool]]] = []
        for f in facts:
            view = f.view
            free: list[tuple[int, int, bool]] = []
            for a, b in view.tokens:
                if f.excluded_from is not None and a >= f.excluded_from:
                    continue
                a2, keyword = self._strip_keyword_prefix(view.text, a, b)
                if not f.free(a2, b):
                    continue
                keyword = keyword or any(0 <= a - end <= 2 for end in f.keyword_ends)
                free.append((a2, b, keyword))
            frees.append(free)
            prefixed: set[int] = set()  # tokens read better together with a letter prefix before them
            for k in range(len(free) - 1):
                a, b, keyword = free[k]
                a_next, b_next, kw_next = free[k + 1]
                if view.text[b:a_next].strip(" :;|#-.") != "":
                    continue  # only spaces or a separator misread between a prefix and its number
                first, second = view.text[a:b], view.text[a_next:b_next]
                # a hyphen or dot read before or after the letters ('-РГ 60153') leaves them a prefix
                letters = first.strip(self._separators)
                letter_prefix = letters.isalpha() and len(letters) <= 3 and any(c.isdigit() for c in second)
                if not (letter_prefix or min(len(first), len(second)) <= self.config.join_short_tokens):
                    continue
                joined = self._serials.read(view, a, b_next, makers, keyword or kw_next, "joined", cyrillic, b)
                if joined is not None:
                    tokens.append((joined, 1.0 if letter_prefix else self.config.join_factor, (view.index,)))
                    if letter_prefix:
                        prefixed.add(k + 1)
            for k, (a, b, keyword) in enumerate(free):
                tok = self._serials.read(view, a, b, makers, keyword, "label" if keyword else "", cyrillic)
                if tok is not None:
                    tokens.append((tok, self.config.split_factor if k in prefixed else 1.0, (view.index,)))
        for i, j, overlap in pieces:
            tok = self._across(facts[i], frees[i], facts[j], frees[j], overlap, makers, cyrillic)
            if tok is not None:
                tokens.append((tok, self.config.piece_factor, (i, j)))
        best_by_value: dict[str, MarkCandidate] = {}
        for tok, factor, lines_read in tokens:
            cand = self._serial_mark(tok, factor)
            if len(lines_read) > 1:
                cand = replace(cand, line_indices=lines_read)
            if cand.score < self.config.min_serial_score:
                continue
            old = best_by_value.get(cand.value)
            if old is None or cand.score > old.score:
                best_by_value[cand.value] = cand
        ranked = sorted(best_by_value.values(), key=lambda c: -c.score)
        marks.extend(ranked[: self.config.max_serials])

    def _pieces(self, lines: Sequence[TextLine]) -> list[tuple[int, int, float]]:
        """Pairs of lines whose boxes continue one another along one line: (first, next, how many
        characters of the next the two boxes share, from their overlap and the next line's pitch);
        for each line only the nearest next piece."""
        out: list[tuple[int, int, float]] = []
        for i, first in enumerate(lines):
            nearest: tuple[float, int] | None = None
            for j, second in enumerate(lines):
                if j == i or not first.text.strip() or not second.text.strip():
                    continue
                gap = continues(first.quad, second.quad, self.config.piece_gap)
                if gap is not None and (nearest is None or gap < nearest[0]):
                    nearest = (gap, j)
            if nearest is not None:
                gap, j = nearest
                pitch = lines[j].quad.width / max(1, len(lines[j].text.replace(" ", "")))
                out.append((i, j, max(0.0, -gap) / max(pitch, 1e-9)))
        return out

    def _across(self, fi: _LineFacts, free_i: list[tuple[int, int, bool]], fj: _LineFacts,
                free_j: list[tuple[int, int, bool]], overlap: float, makers: set[str],
                cyrillic: bool) -> SerialToken | None:
        """The last token of one line read with the first token of the line that continues it. Boxes
        apart join a letter prefix to the number after it; overlapping
        boxes both read the characters they share, which are taken once, and only where the two
        readings agree on them."""
        vi, vj = fi.view, fj.view
        if not free_i or not free_j or not vi.tokens or not vj.tokens:
            return None
        a, b, kw = free_i[-1]
        a2, b2, kw2 = free_j[0]
        if b != vi.tokens[-1][1] or a2 != vj.tokens[0][0]:
            return None  # only the end of one box runs on into the start of the next
        first, second = vi.text[a:b], vj.text[a2:b2]
        if overlap >= 0.5:
            skip = _shared(first, second, overlap)
            if skip is None:
                return None
            sep = ""
        else:
            # apart, only a letter prefix before its number: on plates, fields of one row stand in
            # boxes side by side ('EAAN16  2116', '1995  kg')
            if not (first.isalpha() and len(first) <= 3 and any(c.isdigit() for c in second)):
                return None
            skip, sep = 0, " "
        text = first + sep + second[skip:]
        chars = (*vi.chars[a:b], *((CharChoice(((" ", 1.0),)),) if sep else ()), *vj.chars[a2 + skip:b2])
        # the other readings of each box, where they read these tokens, with the other box as read
        rest = second[skip:]
        alternates = (*((alt + sep + rest, w) for alt, w in vi.alternates_of(a, b)),
                      *((first + sep + alt[skip:], w) for alt, w in vj.alternates_of(a2, b2) if len(alt) > skip))
        view = LineView(vi.index, text, chars, token_spans(text), min(vi.confidence, vj.confidence), alternates)
        return self._serials.read(view, 0, len(text), makers, kw or kw2, "pieces", cyrillic, len(first))

    def _strip_keyword_prefix(self, text: str, a: int, b: int) -> tuple[int, bool]:
        m = self._keyword_prefix.match(text[a:b])
        if m and m.end() < b - a:
            return a + m.end(), True
        return a, False

    def _serial_mark(self, tok: SerialToken, factor: float) -> MarkCandidate:
        readings = [(r.value, score4(r.score * factor)) for r in tok.readings]
        latin_note = ""
        if tok.cyrillic:
            # the value keeps the script as stamped; the Latin form follows as an alternative
            original = [(tok.in_original_script(v, self._serials.latin), s) for v, s in readings]
            latin_note = f"latin={readings[0][0]}"
            merged: list[tuple[str, float]] = []
            for (o, s), (v, _) in zip(original, readings, strict=True):
                merged.append((o, s))
                if v != o:
                    merged.append((v, score4(s * 0.98)))
            readings = merged
        if tok.wildcard:
            value, score = tok.wildcard, score4(tok.wildcard_score * factor)
            alts = readings
        else:
            value, score = readings[0]
            alts = readings[1:]
        unread = ",".join(f"{i + 1}:" + "/".join(c for c, _ in a) for i, a in tok.unreadable)
        detail = _detail(
            read=tok.read, pattern=tok.best.pattern, ncic=ncic_key(tok.best.value),
            unreadable=unread, context=tok.context, latin=latin_note.removeprefix("latin="),
            extra=script_note(tok.read),
        )
        return MarkCandidate(MarkKind.SERIAL, value, score, tuple(alts[: self.config.max_alternatives]),
                             (tok.line,), detail)


def _before_number(view: LineView, span: tuple[int, int]) -> bool:
    """The token right after ``span`` on the line carries at least three digits."""
    for a, b in view.tokens:
        if a >= span[1]:
            return sum(c.isdigit() for c in view.text[a:b]) >= 3
    return False


def _detail_value(detail: str, key: str) -> str:
    for part in detail.split("; "):
        k, sep, v = part.partition("=")
        if sep and k == key:
            return v
    return ""


def _doubt_makers_implied_against_stated_country(marks: list[MarkCandidate]) -> None:
    """A maker known only from a model designation ('M57' -> Zastava) is doubtful when the marking
    itself states another country of manufacture ('MADE IN BELGIUM'): model designations are shared
    between makers and copies. Its score is halved (below the confident range) and the conflict noted."""
    stated = {
        _detail_value(m.detail, "code") for m in marks
        if m.kind is MarkKind.COUNTRY and _detail_value(m.detail, "how") == "made in" and m.score >= 0.8
    }
    stated.discard("")
    if not stated:
        return
    for i, m in enumerate(marks):
        if m.kind is not MarkKind.MAKER or not _detail_value(m.detail, "via").startswith("model "):
            continue
        country = _detail_value(m.detail, "country")
        if country and country not in stated:
            note = f"conflicts=made in {','.join(sorted(stated))}"
            marks[i] = replace(m, score=round(m.score * 0.5, 4), detail=f"{m.detail}; {note}")


def _detail(extra: str = "", **fields: str) -> str:
    parts = [f"{k}={v}" for k, v in fields.items() if v]
    if extra:
        parts.append(extra)
    return "; ".join(parts)


def _ordered(marks: list[MarkCandidate]) -> tuple[MarkCandidate, ...]:
    rank = {k: i for i, k in enumerate(KIND_ORDER)}
    return tuple(sorted(marks, key=lambda m: (rank[m.kind], -m.score)))


def serial_readings(marks: Sequence[MarkCandidate], k: int = 5) -> list[tuple[str, float]]:
    """Top-k concrete serial readings across all serial candidates (wildcard values skipped),
    best first: what a benchmark's top-1/top-5 or a lookup should try in order."""
    pool: dict[str, float] = {}
    for m in marks:
        if m.kind != MarkKind.SERIAL:
            continue
        for value, score in ((m.value, m.score), *m.alternatives):
            if "?" in value:
                continue
            pool[value] = max(pool.get(value, 0.0), score)
    return sorted(pool.items(), key=lambda kv: -kv[1])[:k]


# --- factory --------------------------------------------------------------------------------------


def _keyword_lexicons(rules: ScriptRules, data: dict[str, Any]) -> tuple[Lexicon, Lexicon, re.Pattern[str]]:
    labels = Lexicon(
        rules,
        [(Entry(kind, kind), [str(w) for w in words]) for kind, words in data["exclusion_keywords"].items()],
        weak_len=0,
    )
    keywords = [str(w) for w in data["serial_keywords"]]
    serial_kw = Lexicon(rules, [(Entry("serial label", "serial label"), keywords)], weak_len=0)
    # a label glued to its number: 'NO.77001', 'S/N123', '№5521', 'SN:123' (never 'NR730US')
    marked = [re.escape(w) for w in keywords if len(w) <= 5 and not w.isalnum()]
    plain = [re.escape(w) + "[:.#]" for w in keywords if len(w) <= 5 and w.isalnum()]
    alternatives = sorted(marked + plain, key=len, reverse=True)
    prefix = re.compile(r"^(?:" + "|".join(alternatives) + r")[:.#]?(?=[0-9A-Za-z])", re.IGNORECASE)
    return labels, serial_kw, prefix


def build_interpreter(
    data_dir: Path | None = None,
    gallery_dir: Path | None = GALLERY_DIR,
    config: InterpretConfig | None = None,
) -> Interpreter:
    """Load every data file once and assemble the stage. ``gallery_dir=None`` disables proof marks."""
    rules = ScriptRules.load(data_dir)
    serial_data = load_json("serials.json", data_dir)
    labels, serial_kw, prefix = _keyword_lexicons(rules, serial_data)
    label_patterns = [(str(p["name"]), re.compile(str(p["regex"]))) for p in serial_data["label_patterns"]]
    measurement = re.compile(str(serial_data["measurement_pattern"])) if "measurement_pattern" in serial_data else None
    units = frozenset(str(u) for u in serial_data.get("measurement_units", []))
    matcher = ProofMarkMatcher.from_folder(gallery_dir) if gallery_dir is not None else None
    return Interpreter(
        rules=rules,
        dictionaries=Dictionaries.load(rules, data_dir),
        calibres=CalibreParser.load(rules, data_dir),
        serials=SerialReader.load(rules, data_dir),
        dates=DateReader.load(rules, data_dir),
        labels=labels,
        serial_keywords=serial_kw,
        label_patterns=label_patterns,
        keyword_prefix=prefix,
        measurement=measurement,
        units=units,
        proof_matcher=matcher,
        config=config,
    )


__all__ = ["InterpretConfig", "Interpreter", "build_interpreter", "script_of", "serial_readings"]


def _shared(first: str, second: str, overlap: float) -> int | None:
    """How many characters at the start of ``second`` repeat the end of ``first`` (two boxes that
    overlap by about ``overlap`` characters both read them): the count of ``second``'s characters to
    skip, separators included; ``None`` when the readings do not agree on any such count near it."""
    a = [c.upper() for c in first if c.isalnum()]
    idx = [k for k, c in enumerate(second) if c.isalnum()]
    b = [second[k].upper() for k in idx]
    near = round(overlap)
    for k in sorted(range(1, min(len(a), len(b) - 1) + 1), key=lambda k: (abs(k - near), k)):
        if abs(k - overlap) > 1.5:
            break
        if a[-k:] == b[:k]:
            return idx[k - 1] + 1
    return None
