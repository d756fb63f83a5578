"""Dictionary matching (makers, models, countries, importers) with a look-alike-aware distance."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vision.interpret.resources import load_json
from vision.interpret.text import LineView, ScriptRules, Slot, is_cyrillic, script_of, weighted_distance

SlotCache = dict[tuple[int, int, bool | None], list[Slot]]


@dataclass(frozen=True, slots=True)
class Entry:
    """One thing a dictionary knows: an id, the name to report and its attributes."""

    id: str
    name: str
    attrs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Alias:
    entry: Entry
    spelling: str
    key: str  # compact upper-case Latin
    words: int
    weak: bool  # only counts with supporting context (short or purely numeric keys)
    cyrillic: bool  # spelled in Cyrillic


@dataclass(frozen=True, slots=True)
class Match:
    entry: Entry
    spelling: str
    line: int
    span: tuple[int, int]
    read: str  # the text as read
    cost: float
    score: float
    weak: bool

    @property
    def script(self) -> str:
        return script_of(self.read)


def _allowed_cost(key_len: int) -> float:
    if key_len <= 3:
        return 0.21  # exact, or one substitution the OCR itself offered as an alternative
    if key_len == 4:
        return 0.26  # one look-alike
    return 0.2 * key_len


class Lexicon:
    """Immutable index of aliases; ``find`` returns non-overlapping best matches in a line."""

    def __init__(
        self,
        rules: ScriptRules,
        entries: Iterable[tuple[Entry, Sequence[str]]],
        weak_len: int = 2,
    ):
        self._rules = rules
        self.max_key = 0
        by_canon: dict[str, list[Alias]] = defaultdict(list)
        by_len: dict[tuple[int, str], list[Alias]] = defaultdict(list)
        max_words = 1
        for entry, spellings in entries:
            for spelling in spellings:
                key = rules.compact(spelling)
                if not key:
                    continue
                words = len(spelling.split())
                numeric = key.replace(".", "").isdigit()
                weak = len(key) <= weak_len or numeric
                alias = Alias(entry, spelling, key, words, weak, script_of(spelling) == "cyrillic")
                by_canon[rules.canonical(key)].append(alias)
                if len(key) >= 5:
                    # fuzzy candidates: same length +-1 and the same first or last character class
                    # (one or two edits in a word of five or more leave one end intact)
                    canon = rules.canonical(key)
                    by_len[(len(key), "^" + canon[0])].append(alias)
                    by_len[(len(key), "$" + canon[-1])].append(alias)
                max_words = max(max_words, words)
                self.max_key = max(self.max_key, len(key))
        self._by_canon = {k: tuple(v) for k, v in by_canon.items()}
        self._by_len = {k: tuple(v) for k, v in by_len.items()}
        self.max_words = min(max_words + 1, 6)

    def find(self, view: LineView, allow_weak: bool = True, cache: SlotCache | None = None) -> list[Match]:
        """Best non-overlapping matches in a line. ``cache`` (one per line and request) shares the
        Latin slots of each window between dictionaries."""
        found: list[Match] = []
        n = len(view.tokens)
        if cache is None:
            cache = {}
        for first in range(n):
            for last in range(first, min(n, first + self.max_words)):
                a, b = view.span_text(first, last)
                found.extend(self._match_window(view, a, b, cache))
        if not allow_weak:
            found = [m for m in found if not m.weak]
        return _non_overlapping(found)

    def _match_window(self, view: LineView, a: int, b: int, cache: SlotCache) -> list[Match]:
        rules = self._rules
        segment = view.text[a:b]
        if b - a > 2 * self.max_key + 8:
            return []
        cyrillic_read = script_of(segment) == "cyrillic"
        # a Cyrillic read matches Cyrillic spellings by transliteration, and Latin spellings only when
        # every Cyrillic letter in it is a look-alike of a Latin one (СССР ~ CCCP), never by sound
        modes: list[bool | None] = [None]
        if cyrillic_read and all(not is_cyrillic(c) or c.upper() in rules.homoglyphs for c in segment):
            modes.append(True)
        best: dict[str, Match] = {}
        conf = view.mean_p(a, b)
        for visual in modes:
            key = (a, b, visual)
            slots = cache.get(key)
            if slots is None:
                slots = cache[key] = view.slots(rules, a, b, visual)
            if not slots:
                continue
            read_key = "".join(s[0] for s in slots)
            if len(read_key) > self.max_key + 1:
                continue
            canon = rules.canonical(read_key)
            candidates: list[Alias] = list(self._by_canon.get(canon, ()))
            if len(read_key) >= 5:
                for length in (len(read_key) - 1, len(read_key), len(read_key) + 1):
                    candidates.extend(self._by_len.get((length, "^" + canon[0]), ()))
                    candidates.extend(self._by_len.get((length, "$" + canon[-1]), ()))
            seen: set[tuple[str, str]] = set()
            for alias in candidates:
                if cyrillic_read and alias.cyrillic != (visual is None):
                    continue
                if (alias.entry.id, alias.key) in seen:
                    continue
                seen.add((alias.entry.id, alias.key))
                limit = _allowed_cost(len(alias.key))
                cost = weighted_distance(rules, alias.key, slots, limit)
                if cost > limit:
                    continue
                sim = 1.0 - cost / max(len(alias.key), len(slots))
                score = round(max(0.0, min(1.0, sim * conf)), 4)
                m = Match(alias.entry, alias.spelling, view.index, (a, b), segment, cost, score, alias.weak)
                old = best.get(alias.entry.id)
                if old is None or (m.score, -m.cost) > (old.score, -old.cost):
                    best[alias.entry.id] = m
        return list(best.values())


def _non_overlapping(matches: list[Match]) -> list[Match]:
    """Greedy: best score first, longer spans first on ties; a kept match blocks overlapping ones."""
    ordered = sorted(matches, key=lambda m: (-m.score, -(m.span[1] - m.span[0]), m.cost))
    kept: list[Match] = []
    for m in ordered:
        if any(m.span[0] < k.span[1] and k.span[0] < m.span[1] for k in kept):
            continue
        kept.append(m)
    return kept


# --- loaders ---------------------------------------------------------------------------------


def _entries(items: Sequence[Mapping[str, Any]], id_key: str, name_key: str) -> list[tuple[Entry, list[str]]]:
    out: list[tuple[Entry, list[str]]] = []
    for item in items:
        attrs = {
            k: str(v) for k, v in item.items() if k not in {"aliases", id_key, name_key} and v is not None
        }
        entry = Entry(str(item[id_key]), str(item[name_key]), attrs)
        spellings = [str(a) for a in item.get("aliases", [])]
        out.append((entry, spellings))
    return out


@dataclass(frozen=True, slots=True)
class Dictionaries:
    makers: Lexicon
    models: Lexicon
    countries: Lexicon
    importers: Lexicon
    made_in: Lexicon
    headstamps: Lexicon
    proof_letters: Lexicon
    proof_max_tokens: int
    proof_score: float
    import_prefixes: Lexicon
    designations: tuple[tuple[str, re.Pattern[str]], ...]
    maker_country: Mapping[str, str]
    maker_names: Mapping[str, str]
    country_names: Mapping[str, str]

    @classmethod
    def load(cls, rules: ScriptRules, data_dir: Path | None = None) -> Dictionaries:
        makers = load_json("makers.json", data_dir)["makers"]
        models = load_json("models.json", data_dir)["models"]
        countries = load_json("countries.json", data_dir)
        importers = load_json("importers.json", data_dir)["importers"]
        headstamps = load_json("headstamps.json", data_dir)["codes"]
        proofs = load_json("proof_letters.json", data_dir)
        model_entries = [
            (Entry(str(m["name"]), str(m["name"]), {k: str(v) for k, v in m.items() if k in {"maker", "type"}
                                                    and v is not None}),
             [str(a) for a in m["aliases"]])
            for m in models
        ]
        made_in = [(Entry("made-in", "MADE IN"), [str(p) for p in countries["made_in_prefixes"]])]
        imports = [(Entry("import", "IMPORTED BY"), [str(p) for p in countries["import_prefixes"]])]
        country_items = countries["countries"]
        return cls(
            makers=Lexicon(rules, _entries(makers, "id", "name")),
            models=Lexicon(rules, model_entries, weak_len=2),
            designations=tuple((str(p["name"]), re.compile(str(p["regex"])))
                               for p in load_json("models.json", data_dir).get("designation_patterns", [])),
            countries=Lexicon(rules, _entries(country_items, "code", "name")),
            importers=Lexicon(rules, _entries(importers, "id", "name")),
            made_in=Lexicon(rules, made_in, weak_len=0),
            headstamps=Lexicon(rules, _entries(headstamps, "code", "maker"), weak_len=0),
            proof_letters=Lexicon(rules, _entries(proofs["codes"], "code", "name"), weak_len=0),
            proof_max_tokens=int(proofs["max_tokens"]),
            proof_score=float(proofs["score"]),
            import_prefixes=Lexicon(rules, imports, weak_len=0),
            maker_country={str(m["id"]): str(m["country"]) for m in makers},
            maker_names={str(m["id"]): str(m["name"]) for m in makers},
            country_names={str(c["code"]): str(c["name"]) for c in country_items},
        )
