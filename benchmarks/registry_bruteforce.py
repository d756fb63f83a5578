"""Brute-force reference for the registry search: the exact score of every record, vectorised.

Same scoring as tracing.scoring (integer centi-costs, both views, attribute penalties), computed
over all records at once with numpy, grouped by serial length. The only shortcut is the length
bound (each character of length difference needs an insertion or a deletion), which is exact.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from tracing.confusions import ConfusionModel
from tracing.normalise import normalise_serial, strip_embedded_letters
from tracing.records import FirearmRecord
from tracing.scoring import Attributes, CompiledQuery, Scorer, attribute_penalty

BIG = 1 << 28


@dataclass
class _Group:
    idx: np.ndarray  # record indices
    codes: np.ndarray  # (n, L) uint16 codes of characters


class BruteForce:
    def __init__(self, records: list[FirearmRecord], model: ConfusionModel) -> None:
        self.model = model
        self.records = records
        self.norm = [normalise_serial(r.serial, model) for r in records]
        self.ncic = [strip_embedded_letters(s) for s in self.norm]
        chars = sorted({c for s in self.norm for c in s})
        self.alphabet = chars
        self.code = {c: i for i, c in enumerate(chars)}
        self.attrs = [Attributes.of(r.make, r.model, r.calibre) for r in records]
        self.plain = self._groups(range(len(records)), self.norm)
        differ = [i for i in range(len(records)) if self.ncic[i] != self.norm[i]]
        self.ncic_groups = self._groups(differ, self.ncic)
        self.all_ncic = self._groups(range(len(records)), self.ncic)

    def _groups(self, indices: range | list[int], strings: list[str]) -> dict[int, _Group]:
        by_len: dict[int, list[int]] = defaultdict(list)
        for i in indices:
            by_len[len(strings[i])].append(i)
        out = {}
        for length, idx in by_len.items():
            arr = np.array([[self.code[c] for c in strings[i]] for i in idx], dtype=np.int32).reshape(len(idx), length)
            out[length] = _Group(np.array(idx, dtype=np.int64), arr)
        return out

    def _cost_rows(self, cq: CompiledQuery) -> list[np.ndarray]:
        return [
            np.array([t.get(c, d) for c in self.alphabet], dtype=np.int32)
            for t, d in zip(cq.tables, cq.defaults, strict=True)
        ]

    def _distances(self, cq: CompiledQuery, groups: dict[int, _Group], limit: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self._cost_rows(cq)
        n = len(cq)
        low = min(cq.insertion, cq.deletion)
        idx_out, d_out = [], []
        for length, g in groups.items():
            if abs(length - n) * low > limit:
                continue
            size = len(g.idx)
            prev = [np.full(size, j * cq.deletion, dtype=np.int32) for j in range(length + 1)]
            for i in range(n):
                cost = rows[i][g.codes]  # (size, L)
                cur = [prev[0] + cq.insertion]
                for j in range(length):
                    v = prev[j] + cost[:, j]
                    np.minimum(v, prev[j + 1] + cq.insertion, out=v)
                    np.minimum(v, cur[j] + cq.deletion, out=v)
                    cur.append(v)
                prev = cur
            d = prev[length]
            keep = d <= limit
            idx_out.append(g.idx[keep])
            d_out.append(d[keep])
        if not idx_out:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int32)
        return np.concatenate(idx_out), np.concatenate(d_out)

    def search(self, scorer: Scorer, make: str | None = None) -> dict[int, int]:
        """{record index: score} for every record within the scorer's threshold."""
        limit = scorer.max_cost
        best: dict[int, int] = {}
        idx, d = self._distances(scorer.plain, self.plain, limit)
        for i, s in zip(idx.tolist(), d.tolist(), strict=True):
            best[i] = s
        pen = self.model.ncic_embedded_letters
        if limit - pen >= 0:
            if scorer.stripped is not None:
                idx, d = self._distances(scorer.stripped, self.all_ncic, limit - pen)
            else:
                idx, d = self._distances(scorer.plain, self.ncic_groups, limit - pen)
            for i, s in zip(idx.tolist(), d.tolist(), strict=True):
                if s + pen < best.get(i, BIG):
                    best[i] = s + pen
        want = Attributes.of(make, None, None)
        out = {}
        for i, s in best.items():
            total = s + attribute_penalty(want, self.attrs[i], self.model)
            if total <= limit:
                out[i] = total
        return out
