"""Scoring a reader's output against a manifest's truth.

Conventions (shared DESIGN.md and real-dev README):
- *exact*: upper-case, drop whitespace; *alnum*: also drop everything that is not a letter (any
  script: Latin, Cyrillic, Greek) or a digit, so ``5.56`` = ``556`` and ``9-Д`` = ``9Д``.
- A line is *found* when some predicted line equals it after normalising.
- Character error rate: edit distance to the best-matching predicted line / truth length
  (exact normalisation), capped at 1.
- Serial top-1 / top-5: the truth (alnum) is among the first 1 / 5 serial candidates.
- Headstamps are compared as token sets: a row is found when its tokens equal the set of tokens
  read from the image; a ``PARTIAL`` row when all its tokens are among them.
- Negatives: a *false serial* is a serial candidate scoring at least the threshold.
- Symbol rows (kind ``proofmark``) have no text and are counted, not scored.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks.datasets import ImageEntry, TruthRow
from vision.fusion import edit_distance

DEFAULT_SERIAL_THRESHOLD = 0.5
OVERALL = "overall"


@dataclass(frozen=True, slots=True)
class Prediction:
    """What a reader returned for one image. ``serials`` are ranked (value, score), best first."""

    lines: tuple[str, ...] = ()
    serials: tuple[tuple[str, float], ...] = ()
    seconds: float = 0.0
    error: str | None = None


# --- normalisation and distances ---------------------------------------------------------------
def norm_exact(text: str) -> str:
    return "".join(unicodedata.normalize("NFC", text).upper().split())


def norm_alnum(text: str) -> str:
    return "".join(ch for ch in norm_exact(text) if ch.isalnum())


def cer(truth: str, candidates: Iterable[str]) -> float:
    """Best (lowest) character error rate of ``truth`` against any candidate, in 0..1."""
    t = norm_exact(truth)
    if not t:
        return 0.0
    best = 1.0
    for c in candidates:
        best = min(best, edit_distance(t, norm_exact(c)) / len(t))
        if best == 0.0:
            break
    return min(1.0, best)


def tokens(texts: Iterable[str], alnum: bool = False) -> list[str]:
    out: list[str] = []
    for text in texts:
        for tok in text.split():
            t = norm_alnum(tok) if alnum else norm_exact(tok)
            if t:
                out.append(t)
    return out


def serial_candidates(pred: Prediction) -> list[str]:
    """Ranked serial candidates, alnum-normalised, duplicates removed."""
    seen: dict[str, None] = {}
    for value, _score in pred.serials:
        v = norm_alnum(value)
        if v:
            seen.setdefault(v, None)
    return list(seen)


# --- per row and per image ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RowScore:
    file: str
    group: str
    kind: str
    truth: str
    exact: bool
    alnum: bool
    cer: float
    top1: bool | None = None  # None: not a serial row
    top5: bool | None = None


@dataclass(frozen=True, slots=True)
class ImageScore:
    file: str
    group: str
    negative: bool
    false_serial: bool
    seconds: float
    error: str | None
    symbols: int = 0


def score_row(row: TruthRow, pred: Prediction) -> RowScore:
    if row.headstamp:
        want_e, want_a = set(tokens([row.truth])), set(tokens([row.truth], alnum=True))
        got_e, got_a = set(tokens(pred.lines)), set(tokens(pred.lines, alnum=True))
        if row.partial:
            exact, alnum = want_e <= got_e, want_a <= got_a
        else:
            exact, alnum = want_e == got_e, want_a == got_a
        total = sum(len(t) for t in want_e)
        if not got_e:
            c = 1.0
        else:
            dist = sum(min(edit_distance(t, g) for g in got_e) for t in want_e)
            c = min(1.0, dist / total) if total else 0.0
        exact, alnum = exact and bool(want_e), alnum and bool(want_a)
    else:
        t_e, t_a = norm_exact(row.truth), norm_alnum(row.truth)
        exact = bool(t_e) and any(norm_exact(ln) == t_e for ln in pred.lines)
        alnum = bool(t_a) and any(norm_alnum(ln) == t_a for ln in pred.lines)
        c = cer(row.truth, pred.lines) if pred.lines else 1.0
    top1 = top5 = None
    if row.kind == "serial":
        cands = serial_candidates(pred)
        t = norm_alnum(row.truth)
        top1, top5 = t in cands[:1], t in cands[:5]
    return RowScore(row.file, row.group, row.kind, row.truth, exact, alnum, c, top1, top5)


def score_image(entry: ImageEntry, pred: Prediction,
                threshold: float = DEFAULT_SERIAL_THRESHOLD) -> tuple[list[RowScore], ImageScore]:
    rows = [score_row(r, pred) for r in entry.rows if not r.negative and not r.symbol]
    negative = entry.negative
    false_serial = negative and any(score >= threshold for _v, score in pred.serials)
    symbols = sum(1 for r in entry.rows if r.symbol)
    return rows, ImageScore(entry.file, entry.group, negative, false_serial, pred.seconds, pred.error,
                            symbols)


# --- summaries ----------------------------------------------------------------------------------
@dataclass(slots=True)
class Summary:
    group: str
    images: int = 0
    lines: int = 0
    exact: int = 0
    alnum: int = 0
    cer_sum: float = 0.0
    serials: int = 0
    top1: int = 0
    top5: int = 0
    negatives: int = 0
    false_serials: int = 0
    errors: int = 0
    symbols: int = 0
    seconds: float = 0.0
    kinds: dict[str, int] = field(default_factory=dict)

    @property
    def cer(self) -> float | None:
        return self.cer_sum / self.lines if self.lines else None

    @property
    def images_per_second(self) -> float | None:
        return self.images / self.seconds if self.seconds > 0 else None

    def add_row(self, r: RowScore) -> None:
        self.lines += 1
        self.exact += r.exact
        self.alnum += r.alnum
        self.cer_sum += r.cer
        self.kinds[r.kind] = self.kinds.get(r.kind, 0) + 1
        if r.top1 is not None:
            self.serials += 1
            self.top1 += bool(r.top1)
            self.top5 += bool(r.top5)

    def add_image(self, im: ImageScore) -> None:
        self.images += 1
        self.negatives += im.negative
        self.false_serials += im.false_serial
        self.errors += im.error is not None
        self.symbols += im.symbols
        self.seconds += im.seconds

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("cer_sum")
        d["cer"] = self.cer
        d["images_per_second"] = self.images_per_second
        d["exact_rate"] = self.exact / self.lines if self.lines else None
        d["alnum_rate"] = self.alnum / self.lines if self.lines else None
        d["top1_rate"] = self.top1 / self.serials if self.serials else None
        d["top5_rate"] = self.top5 / self.serials if self.serials else None
        d["false_serial_rate"] = self.false_serials / self.negatives if self.negatives else None
        return d


def summarise(rows: Sequence[RowScore], images: Sequence[ImageScore]) -> dict[str, Summary]:
    """Per group (in order of first appearance) and ``overall``."""
    out: dict[str, Summary] = {}
    total = Summary(OVERALL)
    for im in images:
        out.setdefault(im.group, Summary(im.group)).add_image(im)
        total.add_image(im)
    for r in rows:
        out.setdefault(r.group, Summary(r.group)).add_row(r)
        total.add_row(r)
    out[OVERALL] = total
    return out


# --- adapters -----------------------------------------------------------------------------------
def prediction_from_recognition(rec: Any, seconds: float) -> Prediction:
    """Convert a ``vision.types.Recognition``: serial marks (and their alternatives) ranked by
    score. Values with unknown positions (``?``) are not complete readings and are left out.
    A recognition that was interpreted and holds no serial mark offers no serial; one that was
    not interpreted offers its line texts, ranked by line confidence."""
    lines = tuple(str(ln.text) for ln in rec.lines)
    interpreted = any(getattr(step, "name", "") == "interpret" for step in rec.provenance.steps)
    ranked: list[tuple[str, float]] = []
    for mark in getattr(rec, "marks", ()):
        kind = getattr(mark.kind, "value", mark.kind)
        if str(kind) != "serial":
            continue
        ranked.append((str(mark.value), float(mark.score)))
        ranked.extend((str(v), float(s)) for v, s in getattr(mark, "alternatives", ()))
    ranked = [(v, s) for v, s in ranked if "?" not in v]
    if ranked or interpreted:
        ranked.sort(key=lambda vs: -vs[1])  # stable: a mark's value stays before equal alternatives
    else:
        ranked = sorted(((str(ln.text), float(ln.confidence)) for ln in rec.lines), key=lambda vs: -vs[1])
    seen: set[str] = set()
    serials: list[tuple[str, float]] = []
    for v, s in ranked:
        if v not in seen:
            seen.add(v)
            serials.append((v, s))
    return Prediction(lines, tuple(serials), seconds, None)


def coerce_prediction(obj: Any, seconds: float) -> Prediction:
    """Accept a :class:`Prediction`, a ``Recognition`` or anything with ``lines``/``serials``;
    ``seconds`` (the wall time measured by the caller) replaces whatever the reader reported."""
    if isinstance(obj, Prediction):
        return Prediction(obj.lines, obj.serials, seconds, obj.error)
    if hasattr(obj, "provenance") and hasattr(obj, "lines"):
        return prediction_from_recognition(obj, seconds)
    lines = tuple(str(getattr(ln, "text", ln)) for ln in getattr(obj, "lines", ()))
    serials = tuple((str(v), float(s)) for v, s in getattr(obj, "serials", ()))
    return Prediction(lines, serials, seconds, getattr(obj, "error", None))
