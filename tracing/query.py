"""What is searched for: a serial as a sequence of positions, each with ranked alternatives.

A position is either a wildcard (an unknown or obliterated character, typed as ``?``) or a set of
(character, cost) alternatives in normal form, the best one costing 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tracing.confusions import ConfusionModel
from tracing.normalise import embedded_letter_mask, normalise_char

WILDCARD = "?"


@dataclass(frozen=True, slots=True)
class Position:
    alternatives: tuple[tuple[str, int], ...] = ()  # (character, centi-cost), best first

    @property
    def wildcard(self) -> bool:
        return not self.alternatives

    @property
    def best(self) -> str:
        return self.alternatives[0][0] if self.alternatives else WILDCARD


@dataclass(frozen=True, slots=True)
class SerialQuery:
    positions: tuple[Position, ...]
    text: str = ""  # as read or typed, for explanations

    @property
    def best(self) -> str:
        return "".join(p.best for p in self.positions)

    @property
    def wildcards(self) -> int:
        return sum(1 for p in self.positions if p.wildcard)

    @property
    def known(self) -> int:
        return len(self.positions) - self.wildcards

    def __len__(self) -> int:
        return len(self.positions)


def _position(alts: Iterable[tuple[str, int]]) -> Position | None:
    best: dict[str, int] = {}
    for ch, cost in alts:
        if ch and (ch not in best or cost < best[ch]):
            best[ch] = cost
    if not best:
        return None
    ranked = sorted(best.items(), key=lambda kv: (kv[1], kv[0]))
    base = ranked[0][1]
    return Position(tuple((c, k - base) for c, k in ranked))


def parse_serial(text: str, model: ConfusionModel) -> SerialQuery:
    """A typed serial: ``?`` marks an unknown position, ``[8B]`` lists equally likely alternatives.

    Spaces, hyphens and symbols are dropped (NCIC), O is taken as 0.
    """
    positions: list[Position] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == WILDCARD:
            positions.append(Position())
        elif ch == "[":
            end = text.find("]", i)
            if end < 0:
                raise ValueError(f"unclosed '[' in {text!r}")
            choices = [normalise_char(c, model) for c in text[i + 1 : end]]
            pos = _position((c, 0) for c in choices)
            if pos is None:
                raise ValueError(f"empty alternatives in {text!r}")
            positions.append(pos)
            i = end
        else:
            n = normalise_char(ch, model)
            if n:
                positions.append(Position(((n, 0),)))
        i += 1
    if not positions:
        raise ValueError(f"no serial characters in {text!r}")
    return SerialQuery(tuple(positions), text=text)


def query_from_choices(
    choices: Sequence[Sequence[tuple[str, float]]], model: ConfusionModel, text: str = ""
) -> SerialQuery:
    """Per-position (character, probability) alternatives, e.g. from a CTC decoder's top-k.

    A lower-ranked alternative costs ``alternative_weight * ln(p_best / p)``; alternatives less
    likely than ``alternative_min_p`` are left out (the look-alike costs still apply); a position whose best
    reading is a space, hyphen or symbol is dropped; ``?`` as best reading is a wildcard.
    """
    positions: list[Position] = []
    for alts in choices:
        if not alts:
            continue
        if alts[0][0] == WILDCARD:
            positions.append(Position())
            continue
        if not normalise_char(alts[0][0], model):
            continue
        p_best = max(p for _, p in alts)
        pos = _position(
            (normalise_char(c, model), model.alternative_cost(p, p_best))
            for k, (c, p) in enumerate(alts)
            if c != WILDCARD and (k == 0 or p >= model.alternative_min_p)
        )
        if pos is not None:
            positions.append(pos)
    if not positions:
        raise ValueError("no serial characters in the reading")
    q = SerialQuery(tuple(positions), text=text)
    return q if text else SerialQuery(q.positions, text=q.best)


def queries_from_strings(values: Sequence[tuple[str, float]], model: ConfusionModel) -> list[SerialQuery]:
    """Whole-string alternatives (value, score), best first.

    Alternatives of the best value's length are merged into its positions (a cheap alternative
    where they differ); alternatives of another length become queries of their own.
    """
    parsed: list[tuple[SerialQuery, float]] = []
    for value, score in values:
        try:
            parsed.append((parse_serial(value, model), max(score, 1e-6)))
        except ValueError:
            continue
    if not parsed:
        return []
    head, head_score = parsed[0]
    merged: list[list[tuple[str, int]]] = [list(p.alternatives) for p in head.positions]
    others: list[SerialQuery] = []
    for q, score in parsed[1:]:
        if len(q) == len(head) and not any(p.wildcard for p in q.positions):
            cost = model.alternative_cost(score, head_score)
            for slot, pos in zip(merged, q.positions, strict=True):
                if slot:
                    slot.append((pos.best, cost))
        else:
            others.append(q)
    positions = tuple(_position(slot) or Position() for slot in merged)
    return [SerialQuery(positions, text=head.text), *others]


def embedded_position_mask(query: SerialQuery) -> list[bool]:
    """NCIC view of a reading: letters (by best reading) between digits; wildcards break runs."""
    best = "".join(p.best if not p.wildcard else "?" for p in query.positions)
    return embedded_letter_mask(best)


def strip_query(query: SerialQuery) -> SerialQuery:
    mask = embedded_position_mask(query)
    return SerialQuery(
        tuple(p for p, m in zip(query.positions, mask, strict=True) if not m), text=query.text
    )
