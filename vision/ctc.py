"""CTC decoding that keeps, for every character, its top-k alternatives.

Greedy (best-path) decoding over the classes a marking may contain: classes outside the
allowed alphabet are removed and each frame renormalised before anything is chosen, so a glyph
such as a CJK character the model knows is never emitted. Each emitted character is a run of
frames with the same best class; its alternatives are the run's mean distribution over the
non-blank classes. A temperature T (p ** (1 / T), renormalised) flattens an overconfident model's
distribution so that the look-alikes (0/O, 1/I, 8/B) keep a useful share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vision.types import CharChoice


@dataclass(frozen=True, slots=True)
class DecodedText:
    text: str
    confidence: float
    chars: tuple[CharChoice, ...]


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
    ) -> DecodedText:
        """Decode one line. ``probs`` has shape (T, classes) and rows that are distributions.

        ``frames`` limits decoding to the first frames (those covering the image, not padding).
        Spans in the result are fractions of those frames.
        """
        if temperature <= 0:
            raise ValueError("temperature must be > 0")
        if probs.ndim != 2 or probs.shape[1] != len(self.vocabulary):
            raise ValueError(f"expected (T, {len(self.vocabulary)}) probabilities, got {probs.shape}")
        t_total = probs.shape[0] if frames is None else max(1, min(frames, probs.shape[0]))
        p = probs[:t_total, self._keep].astype(np.float64)
        p /= np.maximum(p.sum(axis=1, keepdims=True), 1e-12)
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
        return DecodedText(text=text, confidence=confidence, chars=tuple(chars))
