"""The score of a record against a reading, and its explanation.

score = min(plain, ncic + ncic_embedded_letters) + attribute penalties, where ``plain`` is a
weighted edit distance between the reading's positions and the record's normal-form serial:
a position matches a record character at the cheapest (alternative cost + substitution cost),
a wildcard matches anything, a read character missing from the record costs ``insertion``
and a record character missing from the reading costs ``deletion``. ``ncic`` is the same
distance with letters embedded between digits removed from both sides.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracing.confusions import ConfusionModel, from_centi
from tracing.normalise import (
    makes_agree,
    normalise_calibre,
    normalise_label,
)
from tracing.query import SerialQuery, strip_query

INF = 1 << 30


def default_max_cost(query: SerialQuery) -> int:
    """Threshold in centi-costs: a quarter of a character per known position, at most 2.0.

    Without unknown positions the floor is 1.0 (one unrelated character on a short serial).
    Each unknown position takes a quarter off, floor 0.5: a reading with holes carries less
    evidence, and ``1?3??`` within a whole unrelated character would match most short serials.
    """
    w = query.wildcards
    return max(100 if w == 0 else 50, min(200, 25 * query.known) - 25 * w)


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """Per-position match costs, ready for the dynamic programme."""

    query: SerialQuery
    tables: tuple[dict[str, int], ...]
    defaults: tuple[int, ...]
    insertion: int
    deletion: int

    def __len__(self) -> int:
        return len(self.tables)


def compile_query(query: SerialQuery, model: ConfusionModel) -> CompiledQuery:
    tables: list[dict[str, int]] = []
    defaults: list[int] = []
    for pos in query.positions:
        if pos.wildcard:
            tables.append({})
            defaults.append(model.wildcard)
            continue
        table: dict[str, int] = {}
        default = INF
        for ch, alt_cost in pos.alternatives:
            default = min(default, alt_cost + model.default_substitution)
            cands = {ch: alt_cost}
            for (a, b), c in model.pairs.items():
                if a == ch:
                    cands[b] = alt_cost + c
            for k, v in cands.items():
                if v < table.get(k, INF):
                    table[k] = v
        tables.append({k: v for k, v in table.items() if v < default})
        defaults.append(default)
    return CompiledQuery(query, tuple(tables), tuple(defaults), model.insertion, model.deletion)


def distance(cq: CompiledQuery, record: str, limit: int = INF) -> int:
    """Weighted edit distance, or a value > ``limit`` as soon as it is certain to exceed it.

    Only cells within ``limit / min(insertion, deletion)`` of the diagonal are computed: a path
    through any other cell pays more than ``limit`` in insertions or deletions alone.
    """
    ins, dele = cq.insertion, cq.deletion
    n, m = len(cq.tables), len(record)
    band = max(n, m) if limit >= INF else limit // min(ins, dele)
    if abs(n - m) > band:
        return INF
    prev = [j * dele if j <= band else INF for j in range(m + 1)]
    for i, (table, default) in enumerate(zip(cq.tables, cq.defaults, strict=True), start=1):
        cur = [INF] * (m + 1)
        best = cur[0] = i * ins if i <= band else INF
        get = table.get
        for j in range(max(1, i - band), min(m, i + band) + 1):
            v = prev[j - 1] + get(record[j - 1], default)
            w = prev[j] + ins
            if w < v:
                v = w
            w = cur[j - 1] + dele
            if w < v:
                v = w
            cur[j] = v
            if v < best:
                best = v
        if best > limit:
            return INF
        prev = cur
    return prev[m] if prev[m] <= limit else INF


@dataclass(frozen=True, slots=True)
class Attributes:
    make: str = ""
    model: str = ""
    calibre: str = ""

    @classmethod
    def of(cls, make: str | None, model: str | None, calibre: str | None) -> Attributes:
        return cls(normalise_label(make), normalise_label(model), normalise_calibre(calibre))


def attribute_penalty(want: Attributes, have: Attributes, model: ConfusionModel) -> int:
    pen = 0
    if want.make and have.make and not makes_agree(want.make, have.make):
        pen += model.make_mismatch
    if want.model and have.model and want.model != have.model:
        pen += model.model_mismatch
    if want.calibre and have.calibre and want.calibre != have.calibre:
        pen += model.calibre_mismatch
    return pen


@dataclass(frozen=True, slots=True)
class Scorer:
    """Scores normal-form record serials against one query in both views."""

    model: ConfusionModel
    query: SerialQuery
    plain: CompiledQuery
    stripped: CompiledQuery | None  # None when the reading has no embedded letters
    max_cost: int
    min_indel: int
    plain_len: int
    stripped_len: int

    @classmethod
    def build(cls, query: SerialQuery, model: ConfusionModel, max_cost: int | None = None) -> Scorer:
        sq = strip_query(query)
        stripped = compile_query(sq, model) if len(sq) != len(query) else None
        return cls(
            model,
            query,
            compile_query(query, model),
            stripped,
            default_max_cost(query) if max_cost is None else max_cost,
            min(model.insertion, model.deletion),
            len(query),
            len(sq),
        )

    def serial_score(self, norm: str, ncic: str, limit: int | None = None) -> tuple[int, str]:
        """(score, view) with view 'plain' or 'ncic'; score > limit means 'too far'."""
        lim = self.max_cost if limit is None else limit
        far = abs(len(norm) - self.plain_len) * self.min_indel > lim
        best = INF if far else distance(self.plain, norm, lim)
        view = "plain"
        if self.stripped is not None or ncic != norm:
            pen = self.model.ncic_embedded_letters
            cq = self.stripped if self.stripped is not None else self.plain
            n = self.stripped_len if self.stripped is not None else self.plain_len
            if lim - pen >= 0 and abs(len(ncic) - n) * self.min_indel <= lim - pen:
                d = distance(cq, ncic, min(lim - pen, best - pen - 1))
                if d < INF and d + pen < best:
                    best, view = d + pen, "ncic"
        return best, view

# ---------------------------------------------------------------------------------------------
# Explanations


def _fmt(c: int) -> str:
    return f"{from_centi(c):.2f}"


def explain_alignment(cq: CompiledQuery, record: str, model: ConfusionModel) -> list[str]:
    """Walk back through the full DP matrix and say what each step did, in reading order."""
    n, m = len(cq), len(record)
    ins, dele = cq.insertion, cq.deletion
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for j in range(m + 1):
        d[0][j] = j * dele
    for i in range(1, n + 1):
        d[i][0] = i * ins
        t, df = cq.tables[i - 1], cq.defaults[i - 1]
        for j in range(1, m + 1):
            d[i][j] = min(d[i - 1][j - 1] + t.get(record[j - 1], df), d[i - 1][j] + ins, d[i][j - 1] + dele)
    steps: list[str] = []
    i, j = n, m
    positions = cq.query.positions
    while i > 0 or j > 0:
        if i > 0 and j > 0:
            c = cq.tables[i - 1].get(record[j - 1], cq.defaults[i - 1])
            if d[i][j] == d[i - 1][j - 1] + c:
                pos = positions[i - 1]
                rec = record[j - 1]
                if pos.wildcard:
                    steps.append(f"position {i}: unknown (?), record has {rec}")
                elif c > 0 or pos.best != rec:
                    alts = dict(pos.alternatives)
                    if rec in alts and rec != pos.best:
                        steps.append(
                            f"position {i}: read {pos.best}, record has {rec}"
                            f" (the reading's alternative, +{_fmt(c)})"
                        )
                    elif model.is_look_alike(pos.best, rec):
                        steps.append(f"position {i}: read {pos.best}, record has {rec} (look-alike, +{_fmt(c)})")
                    else:
                        steps.append(f"position {i}: read {pos.best}, record has {rec} (+{_fmt(c)})")
                i, j = i - 1, j - 1
                continue
        if i > 0 and d[i][j] == d[i - 1][j] + ins:
            steps.append(f"position {i}: read {positions[i - 1].best}, not in the record (extra, +{_fmt(ins)})")
            i -= 1
            continue
        steps.append(f"after position {i}: record has {record[j - 1]}, missing from the reading (lost, +{_fmt(dele)})")
        j -= 1
    steps.reverse()
    return steps


def explain(
    scorer: Scorer,
    norm: str,
    ncic: str,
    view: str,
    want: Attributes,
    have: Attributes,
    raw_make: str | None,
    raw_model: str | None,
    raw_calibre: str | None,
) -> list[str]:
    model = scorer.model
    lines: list[str] = []
    if view == "ncic":
        cq = scorer.stripped if scorer.stripped is not None else scorer.plain
        if scorer.stripped is not None:
            cq = CompiledQuery(strip_query(scorer.query), cq.tables, cq.defaults, cq.insertion, cq.deletion)
        read = scorer.query.best
        lines.append(
            f"letters between digits ignored (NCIC): reading {read}"
            + (f" as {cq.query.best}" if cq.query.best != read else "")
            + f", record {norm}" + (f" as {ncic}" if ncic != norm else "")
            + f" (+{_fmt(model.ncic_embedded_letters)})"
        )
        lines.extend(explain_alignment(cq, ncic, model))
    else:
        lines.extend(explain_alignment(scorer.plain, norm, model))
    if not lines:
        lines.append("serial matches exactly")
    if "O" in (scorer.query.text or "").upper() and "0" in norm:
        lines.append("letter O taken as zero (NCIC)")
    for label, w, h, raw, agree, pen in (
        ("make", want.make, have.make, raw_make, makes_agree(want.make, have.make), model.make_mismatch),
        ("model", want.model, have.model, raw_model, want.model == have.model, model.model_mismatch),
        ("calibre", want.calibre, have.calibre, raw_calibre, want.calibre == have.calibre, model.calibre_mismatch),
    ):
        if not w:
            continue
        if not h:
            lines.append(f"{label} not recorded")
        elif agree:
            lines.append(f"{label} agrees: {raw}")
        else:
            lines.append(f"{label} differs: record has {raw} (+{_fmt(pen)})")
    return lines
