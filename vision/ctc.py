"""CTC decoding that keeps, for every character, its top-k alternatives.

Greedy (best-path) decoding over the classes a marking may contain: classes outside the
allowed alphabet are removed and each frame renormalised before anything is chosen, so a glyph
such as a CJK character the model knows is never emitted. Each emitted character is a run of
frames with the same best class; its alternatives are the run's mean distribution over the
non-blank classes. A temperature T (p ** (1 / T), renormalised) flattens an overconfident model's
distribution so that the look-alikes (0/O, 1/I, 8/B) keep a useful share.

Per-character alternatives cannot say that a character may not be there at all, or that one was
missed between two others (a worn dot-peen digit, a scratch read as a stroke). :meth:`CtcDecoder.nbest`
gives whole-line readings for that: a prefix beam search over the same frames, which sums every
frame path of a reading, so readings one character longer or shorter than the best path compete.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vision.types import CharChoice


@dataclass(frozen=True, slots=True)
class DecodedText:
    text: str
    confidence: float
    chars: tuple[CharChoice, ...]
    # Other readings of the whole line, best first, each with its weight against ``text`` (1.0: as
    # likely). They may differ in length, which ``chars`` cannot express.
    alternates: tuple[tuple[str, float], ...] = ()


class CtcDecoder:
    """Stateless after construction: safe to share between threads and requests."""

    def __init__(self, vocabulary: Sequence[str], allowed: np.ndarray | None = None) -> None:
        if not vocabulary or vocabulary[0] != "":
            raise ValueError("vocabulary[0] must be the CTC blank ('')")
        self.vocabulary = tuple(vocabulary)
        mask = np.ones(len(vocabulary), dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool)
        if mask.shape != (len(vocabulary),):
            raise ValueError("allowed mask must have one entry per vocabulary class")
        mask = mask.copy()
        mask[0] = True
        self._keep = np.flatnonzero(mask)  # kept class indices; position 0 is the blank
        self._chars = tuple(self.vocabulary[i] for i in self._keep)

    def decode(
        self,
        probs: np.ndarray,
        *,
        top_k: int = 5,
        temperature: float = 1.0,
        frames: int | None = None,
        alternates: int = 0,
        beam: int = 8,
    ) -> DecodedText:
        """Decode one line. ``probs`` has shape (T, classes) and rows that are distributions.

        ``frames`` limits decoding to the first frames (those covering the image, not padding).
        Spans in the result are fractions of those frames. ``alternates`` > 0 adds that many other
        readings of the whole line (:meth:`nbest`, a beam of ``beam`` prefixes).
        """
        if temperature <= 0:
            raise ValueError("temperature must be > 0")
        p = self._frames(probs, frames)
        t_total = p.shape[0]
        best = p.argmax(axis=1)

        chars: list[CharChoice] = []
        line_scores: list[float] = []
        t = 0
        while t < t_total:
            cls = best[t]
            end = t + 1
            while end < t_total and best[end] == cls:
                end += 1
            if cls != 0:
                run = p[t:end]
                line_scores.append(float(run[:, cls].max()))
                dist = run[:, 1:].mean(axis=0)
                dist /= max(float(dist.sum()), 1e-12)
                if temperature != 1.0:
                    dist = np.power(dist, 1.0 / temperature)
                    dist /= max(float(dist.sum()), 1e-12)
                k = min(top_k, dist.shape[0])
                top = np.argpartition(-dist, k - 1)[:k]
                top = top[np.argsort(-dist[top], kind="stable")]
                # the best-path character leads, whatever the averaged distribution says
                lead = int(cls) - 1
                order = [lead, *[int(i) for i in top if int(i) != lead][: k - 1]]
                alternatives = tuple((self._chars[i + 1], round(float(dist[i]), 6)) for i in order)
                chars.append(CharChoice(alternatives, span=(t / t_total, end / t_total)))
            t = end

        text = "".join(c.best for c in chars)
        confidence = float(np.mean(line_scores)) if line_scores else 0.0
        others: tuple[tuple[str, float], ...] = ()
        if alternates > 0 and chars:
            # readings that differ only in spaces count as one, so ask the beam for more
            ranked = self._beam_search(p, n=2 * alternates + 1, beam=max(beam, 2 * alternates + 1))
            best_lp = ranked[0][1] if ranked else 0.0
            # the model's own odds: the temperature that spreads a character's alternatives would
            # make every reading of a long line look nearly as likely as the best
            weighted = [(t, math.exp(lp - best_lp)) for t, lp in ranked]
            others = merge_alternates(text, weighted, alternates)
        return DecodedText(text=text, confidence=confidence, chars=tuple(chars), alternates=others)

    def nbest(
        self, probs: np.ndarray, *, n: int = 5, beam: int = 8, frames: int | None = None
    ) -> list[tuple[str, float]]:
        """The ``n`` most probable readings of one line, as (text, log probability), best first."""
        return self._beam_search(self._frames(probs, frames), n=n, beam=max(beam, n))

    def _frames(self, probs: np.ndarray, frames: int | None) -> np.ndarray:
        """The first ``frames`` rows over the allowed classes, each renormalised."""
        if probs.ndim != 2 or probs.shape[1] != len(self.vocabulary):
            raise ValueError(f"expected (T, {len(self.vocabulary)}) probabilities, got {probs.shape}")
        t_total = probs.shape[0] if frames is None else max(1, min(frames, probs.shape[0]))
        p = probs[:t_total, self._keep].astype(np.float64)
        p /= np.maximum(p.sum(axis=1, keepdims=True), 1e-12)
        return p

    def _beam_search(self, p: np.ndarray, *, n: int, beam: int, floor: float = 1e-3) -> list[tuple[str, float]]:
        """CTC prefix beam search. Each prefix carries the probability of the frame paths that end in
        a blank and of those that end in its last character, so that a repeated character needs a
        blank between its two runs. Classes under ``floor`` in a frame are not extended."""
        # prefix -> [ends in blank, ends in its last character]; scaled each frame, the scale kept in log
        beams: dict[str, list[float]] = {"": [1.0, 0.0]}
        log_scale = 0.0
        for row in p:
            cand = [int(c) for c in np.flatnonzero(row >= floor) if c != 0]
            blank = float(row[0])
            nxt: dict[str, list[float]] = {}
            for prefix, (pb, pnb) in beams.items():
                total = pb + pnb
                slot = nxt.setdefault(prefix, [0.0, 0.0])
                slot[0] += total * blank
                last = prefix[-1] if prefix else None
                for c in cand:
                    ch = self._chars[c]
                    pc = float(row[c])
                    if ch == last:
                        slot[1] += pnb * pc  # the same run goes on
                        if pb > 0.0:
                            nxt.setdefault(prefix + ch, [0.0, 0.0])[1] += pb * pc  # a new run after a blank
                    else:
                        nxt.setdefault(prefix + ch, [0.0, 0.0])[1] += total * pc
            kept = sorted(nxt.items(), key=lambda kv: -(kv[1][0] + kv[1][1]))[:beam]
            peak = max(kept[0][1][0] + kept[0][1][1], 1e-300)
            log_scale += math.log(peak)
            beams = {k: [v[0] / peak, v[1] / peak] for k, v in kept}
        ranked = sorted(beams.items(), key=lambda kv: -(kv[1][0] + kv[1][1]))[:n]
        return [(k, log_scale + math.log(max(v[0] + v[1], 1e-300))) for k, v in ranked]


def merge_alternates(text: str, readings: Sequence[tuple[str, float]], limit: int) -> tuple[tuple[str, float], ...]:
    """Other readings of a line, each once (weights of one reading added up, at most 1), best
    first, at most ``limit``. Readings that differ from ``text`` or from one another only in spaces
    or letter case are one reading, the first (markings are cut in capitals; a model's lower-case
    reading of one is the same reading)."""
    weights: dict[str, float] = {}
    first: dict[str, str] = {reading_key(text): text}
    for t, w in readings:
        t = first.setdefault(reading_key(t), t)
        if t != text and t.strip():
            weights[t] = min(1.0, weights.get(t, 0.0) + w)
    ranked = sorted(weights.items(), key=lambda tw: -tw[1])[: max(0, limit)]
    return tuple((t, round(w, 6)) for t, w in ranked)


def reading_key(text: str) -> str:
    """What two readings of a line share when they differ only in spaces or letter case."""
    return "".join(text.split()).casefold()
