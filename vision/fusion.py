"""Per-character fusion of several readings of the same line (aligned voting).

The readings come from enhanced variants of one crop (or from a second model). One reading is
taken as the pivot: the weighted medoid, the reading closest in edit distance to all the others,
so its length is the one most readings agree on. Every other reading is aligned to it
(Levenshtein); at each pivot position the aligned characters' alternative distributions are
summed, weighted by their reading's confidence. A position that most of the weight deletes is
dropped. The result keeps each position's fused alternatives, best first, so a character the
variants disagree on comes back with its rivals and their shares.
"""

from __future__ import annotations

from collections.abc import Sequence

from vision.ctc import DecodedText
from vision.types import CharChoice


def align_positions(a: str, b: str) -> list[int | None]:
    """For each position of ``a``, the aligned position of ``b`` (match or substitution) or None."""
    n, m = len(a), len(b)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        d[i][0] = i
    for j in range(m + 1):
        d[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
    out: list[int | None] = [None] * n
    i, j = n, m
    while i > 0 and j > 0:
        if d[i][j] == d[i - 1][j - 1] + (a[i - 1] != b[j - 1]):
            out[i - 1] = j - 1
            i, j = i - 1, j - 1
        elif d[i][j] == d[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    return out


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions and substitutions cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def fuse(reads: Sequence[DecodedText], weights: Sequence[float] | None = None, top_k: int = 5) -> DecodedText:
    """Fuse readings of one line. ``weights`` default to the readings' confidences."""
    if weights is None:
        weights = [r.confidence for r in reads]
    pairs = [(r, max(float(w), 1e-6)) for r, w in zip(reads, weights, strict=True) if r.text]
    if not pairs:
        return DecodedText("", 0.0, ())
    if len(pairs) == 1:
        return pairs[0][0]
    total = sum(w for _r, w in pairs)
    # weighted medoid: the reading the others are closest to; ties go to the higher weight
    pivot, _pivot_w = min(
        pairs,
        key=lambda rw: (sum(w * edit_distance(rw[0].text, r.text) for r, w in pairs), -rw[1]),
    )

    mass: list[dict[str, float]] = [{} for _ in pivot.chars]
    present = [0.0] * len(pivot.chars)
    agreement: list[float] = []
    for read, w in pairs:
        aligned = list(range(len(pivot.chars))) if read is pivot else align_positions(pivot.text, read.text)
        same = 0
        for i, j in enumerate(aligned):
            if j is None:
                continue
            present[i] += w
            choice = read.chars[j]
            for ch, p in choice.alternatives:
                mass[i][ch] = mass[i].get(ch, 0.0) + w * p
            same += read.chars[j].best == pivot.chars[i].best
        agreement.append(same / max(len(pivot.chars), len(read.chars), 1))

    chars: list[CharChoice] = []
    for i, choice in enumerate(pivot.chars):
        if present[i] < 0.5 * total or not mass[i]:
            continue
        norm = sum(mass[i].values())
        ranked = sorted(mass[i].items(), key=lambda cp: (-cp[1], cp[0] != choice.best))[:top_k]
        chars.append(CharChoice(tuple((c, round(p / norm * (present[i] / total), 6)) for c, p in ranked),
                                span=choice.span))
    text = "".join(c.best for c in chars)
    confidence = sum(w * r.confidence * a for (r, w), a in zip(pairs, agreement, strict=True)) / total
    return DecodedText(text=text, confidence=float(confidence), chars=tuple(chars))


def disagreement(reads: Sequence[DecodedText]) -> float:
    """Mean normalised edit distance between the readings and their fusion's text (0 = all agree)."""
    texts = [r.text for r in reads if r.text]
    if len(texts) < 2:
        return 0.0
    fused = fuse(reads).text
    return sum(edit_distance(t, fused) / max(len(t), len(fused), 1) for t in texts) / len(texts)
