"""Costs of the serial search, read from ``data/confusions.json``.

All costs are kept internally as integers in hundredths ("centi-costs") so that scores add up
exactly and the index, the verifier and any brute-force scan agree to the last digit.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

SCALE = 100  # 1.0 cost == 100 centi-costs


def to_centi(x: float) -> int:
    return round(x * SCALE)


def from_centi(c: int) -> float:
    return c / SCALE


@dataclass(frozen=True, slots=True)
class ConfusionModel:
    default_substitution: int
    insertion: int
    deletion: int
    wildcard: int
    ncic_embedded_letters: int
    alternative_weight: float
    alternative_max: int
    alternative_min_p: float
    make_mismatch: int
    model_mismatch: int
    calibre_mismatch: int
    pairs: dict[tuple[str, str], int]
    homoglyphs: dict[str, str]
    classes: dict[str, str]  # character -> representative of its look-alike class

    def substitution(self, read: str, record: str) -> int:
        if read == record:
            return 0
        return self.pairs.get((read, record), self.default_substitution)

    def is_look_alike(self, read: str, record: str) -> bool:
        return (read, record) in self.pairs

    def rep(self, ch: str) -> str:
        return self.classes.get(ch, ch)

    @property
    def min_skeleton_edit(self) -> int:
        """Lowest cost of an edit that changes the look-alike skeleton and that the index does not
        enumerate on the reading's side.

        Substitutions inside a class are free in the skeleton; listed pairs across classes are
        tried as alternatives of the reading (tracing.keys); what is left is an insertion, a
        deletion or an unrelated substitution.
        """
        return max(1, min(self.insertion, self.deletion, self.default_substitution))

    def alternative_cost(self, p: float, p_best: float) -> int:
        """Cost of taking a lower-ranked alternative instead of the best reading."""
        if p <= 0.0:
            return self.alternative_max
        if p >= p_best:
            return 0
        return min(self.alternative_max, to_centi(self.alternative_weight * math.log(p_best / p)))

    def classes_list(self) -> list[str]:
        """Distinct skeleton symbols of the ASCII serial alphabet (O is normalised to 0)."""
        alphabet = "0123456789ABCDEFGHIJKLMNPQRSTUVWXYZ"
        return sorted({self.rep(c) for c in alphabet})


def _classes(pairs: dict[tuple[str, str], int]) -> dict[str, str]:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = {}
    for ch in list(parent):
        groups.setdefault(find(ch), []).append(ch)
    out: dict[str, str] = {}
    for members in groups.values():
        rep = min(members)
        for m in members:
            out[m] = rep
    return out


def parse_model(data: dict[str, Any]) -> ConfusionModel:
    pairs: dict[tuple[str, str], int] = {}
    for a, b, cost in data.get("pairs", []):
        a, b = str(a).upper(), str(b).upper()
        if len(a) != 1 or len(b) != 1 or a == b:
            raise ValueError(f"bad confusion pair {a!r}/{b!r}")
        c = to_centi(float(cost))
        if c < 0:
            raise ValueError("confusion costs must not be negative")
        pairs[(a, b)] = c
        pairs[(b, a)] = c
    attrs = data.get("attributes", {})
    class_max = to_centi(float(data.get("class_max_cost", 0.3)))
    model = ConfusionModel(
        default_substitution=to_centi(float(data.get("default_substitution", 1.0))),
        insertion=to_centi(float(data.get("insertion", 1.0))),
        deletion=to_centi(float(data.get("deletion", 1.0))),
        wildcard=to_centi(float(data.get("wildcard", 0.0))),
        ncic_embedded_letters=to_centi(float(data.get("ncic_embedded_letters", 0.25))),
        alternative_weight=float(data.get("alternative_weight", 0.25)),
        alternative_max=to_centi(float(data.get("alternative_max", 1.0))),
        alternative_min_p=float(data.get("alternative_min_p", 0.05)),
        make_mismatch=to_centi(float(attrs.get("make_mismatch", 0.5))),
        model_mismatch=to_centi(float(attrs.get("model_mismatch", 0.3))),
        calibre_mismatch=to_centi(float(attrs.get("calibre_mismatch", 0.3))),
        pairs=pairs,
        homoglyphs={str(k): str(v) for k, v in data.get("homoglyphs", {}).items()},
        classes=_classes({p: c for p, c in pairs.items() if c <= class_max}),
    )
    if min(model.insertion, model.deletion, model.default_substitution) <= 0:
        raise ValueError("insertion, deletion and default substitution must cost more than 0")
    return model


def load_model(path: Path | None = None) -> ConfusionModel:
    if path is None:
        text = resources.files("tracing").joinpath("data/confusions.json").read_text("utf-8")
    else:
        text = path.read_text("utf-8")
    return parse_model(json.loads(text))


_DEFAULT: ConfusionModel | None = None


def default_model() -> ConfusionModel:
    """The packaged model, read once on first use."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load_model()
    return _DEFAULT
