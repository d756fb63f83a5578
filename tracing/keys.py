"""Index keys: deletion neighbourhoods of look-alike skeletons.

Every record is indexed under each string obtained by deleting up to ``INDEX_DELETIONS``
characters from the skeleton of its serial (look-alike classes collapsed to one symbol), in the
plain view and in the NCIC view. If a reading is within ``k`` skeleton edits of a record
(substitutions across classes, insertions, deletions), deleting at most ``k`` characters from
each side makes them equal, so a lookup of the reading's own deletion variants finds the record.
A wildcard either is expanded into every class or is deleted from the reading, which spends one
of the record's deletions. Each skeleton edit costs at least ``min_skeleton_edit``, so a cost
budget turns into an edit budget and the lookup misses nothing within the threshold.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations, product

from tracing.confusions import ConfusionModel
from tracing.normalise import skeleton, skeleton_char, strip_embedded_letters
from tracing.query import Position, SerialQuery, strip_query
from tracing.scoring import CompiledQuery, compile_query

INDEX_DELETIONS = 2
MAX_PATHS = 4096
MAX_KEYS = 20_000
KEY_TARGET = 2_000


def pack(s: str) -> int:
    """Exact 64-bit key for skeletons up to 11 characters; a hash beyond that."""
    if len(s) <= 11:
        return int("1" + s, 36)
    digest = hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def deletion_variants(s: str, k: int) -> set[str]:
    out = {s}
    n = len(s)
    if k >= 1:
        out.update(s[:i] + s[i + 1 :] for i in range(n))
    if k >= 2:
        for i in range(n):
            a = s[:i]
            for j in range(i + 1, n):
                out.add(a + s[i + 1 : j] + s[j + 1 :])
    for size in range(3, k + 1):
        for idx in combinations(range(n), size):
            drop = set(idx)
            out.add("".join(c for t, c in enumerate(s) if t not in drop))
    return out


def record_keys(norm: str, model: ConfusionModel) -> dict[int, int]:
    """{key: fewest deletions that produce it} over the plain and the NCIC skeleton."""
    out: dict[int, int] = {}
    for sk in {skeleton(norm, model), skeleton(strip_embedded_letters(norm), model)}:
        n = len(sk)
        for v in deletion_variants(sk, INDEX_DELETIONS):
            k = pack(v)
            d = n - len(v)
            if d < out.get(k, 99):
                out[k] = d
    return out


def fingerprint(model: ConfusionModel) -> str:
    """Identifies what the stored keys depend on: the look-alike classes and the index depth."""
    doc = json.dumps({"classes": sorted(model.classes.items()), "deletions": INDEX_DELETIONS, "pack": 1})
    return hashlib.sha256(doc.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class KeyPlan:
    keys: dict[int, int]  # key -> most record-side deletions worth looking at
    fallback: str = ""  # why the index cannot answer this query; empty when it can

    @property
    def use_index(self) -> bool:
        return not self.fallback


def _paths(cq: CompiledQuery, model: ConfusionModel, budget: int) -> list[tuple[list[str | None], int]]:
    """Skeleton readings of the query with their cost, cheapest per class and position.

    A position offers every character its compiled table prices below an unrelated substitution:
    its own alternatives and their look-alikes across classes (e.g. 3 for a read 8), so that such
    substitutions cost nothing in the skeleton and only the costlier edits count against it.
    """
    slots: list[list[tuple[str | None, int]]] = []
    for pos, table in zip(cq.query.positions, cq.tables, strict=True):
        if pos.wildcard:
            slots.append([(None, 0)])
            continue
        per_class: dict[str, int] = {}
        for ch, cost in table.items():
            rep = skeleton_char(ch, model)
            if cost <= budget and cost < per_class.get(rep, 1 << 30):
                per_class[rep] = cost
        slots.append(sorted(per_class.items(), key=lambda kv: kv[1]))
    out: list[tuple[list[str | None], int]] = []

    def walk(i: int, acc: list[str | None], cost: int) -> None:
        if len(out) > MAX_PATHS:
            return
        if i == len(slots):
            out.append((list(acc), cost))
            return
        for sym, c in slots[i]:
            if cost + c <= budget:
                acc.append(sym)
                walk(i + 1, acc, cost + c)
                acc.pop()

    walk(0, [], 0)
    return out


def _view_keys(query: SerialQuery, model: ConfusionModel, budget: int, keys: dict[int, int]) -> str:
    if budget < 0:
        return ""
    m = model.min_skeleton_edit
    paths = _paths(compile_query(query, model), model, budget)
    relaxed = 0
    while len(paths) > MAX_PATHS and relaxed < INDEX_DELETIONS:
        # Too many readings: plan the most ambiguous position as unknown. A wildcard matches
        # whatever the position could, at no cost, so the keys still cover every record.
        cq = compile_query(query, model)
        widest = max(
            (i for i, p in enumerate(query.positions) if not p.wildcard),
            key=lambda i: len({skeleton_char(c, model) for c in cq.tables[i]}),
        )
        positions = list(query.positions)
        positions[widest] = Position()
        query = SerialQuery(tuple(positions), text=query.text)
        paths = _paths(compile_query(query, model), model, budget)
        relaxed += 1
    if len(paths) > MAX_PATHS:
        return f"more than {MAX_PATHS} readings of the alternatives"
    classes = model.classes_list()
    plans: list[tuple[list[str | None], int, list[int]]] = []
    for syms, cost in paths:
        k = (budget - cost) // m
        if k > INDEX_DELETIONS:
            return f"threshold allows {k} edits, the index covers {INDEX_DELETIONS}"
        plans.append((syms, k, [i for i, s in enumerate(syms) if s is None]))
    # Expanded unknowns give precise keys (one per class); unexpanded ones cost a record deletion
    # each and match loosely. Expand as many as a modest total key count allows.
    wild_max = max((len(w) for _, _, w in plans), default=0)

    def unexpanded(k: int, wild: list[int], pref: int) -> int:
        return min(len(wild), INDEX_DELETIONS - k, pref)

    def estimate(pref: int) -> int:
        total = 0
        for syms, k, wild in plans:
            u = unexpanded(k, wild, pref)
            total += len(classes) ** (len(wild) - u) * sum(_comb(len(syms) - u, t) for t in range(k + 1))
        return total

    pref = 0
    need = estimate(pref)
    while need > KEY_TARGET and pref < wild_max:
        pref += 1
        need = estimate(pref)
    if len(keys) + need > MAX_KEYS:
        return f"unknown positions and alternatives need about {need} index keys"
    for syms, k, wild in plans:
        u = unexpanded(k, wild, pref)
        drop = set(wild[:u])
        expanded = wild[u:]
        # the record gives up to k + u characters: k edits and the unexpanded unknowns
        allowed = k + u
        for fill in product(classes, repeat=len(expanded)):
            filled = list(syms)
            for idx, sym in zip(expanded, fill, strict=True):
                filled[idx] = sym
            s = "".join(c for t, c in enumerate(filled) if t not in drop and c is not None)
            for v in deletion_variants(s, k):
                key = pack(v)
                if allowed > keys.get(key, -1):
                    keys[key] = allowed
    return ""


def _comb(n: int, k: int) -> int:
    if k < 0 or k > n:
        return 0
    r = 1
    for t in range(k):
        r = r * (n - t) // (t + 1)
    return r


def plan_keys(query: SerialQuery, model: ConfusionModel, max_cost: int) -> KeyPlan:
    """Keys whose lookup finds every record within ``max_cost`` (serial part of the score)."""
    keys: dict[int, int] = {}
    why = _view_keys(query, model, max_cost, keys)
    if not why:
        sq = strip_query(query)
        # The NCIC view also compares the plain reading with the record's stripped serial,
        # whose keys are indexed too; the stripped reading needs its own keys when it differs.
        if len(sq) != len(query):
            why = _view_keys(sq, model, max_cost - model.ncic_embedded_letters, keys)
    return KeyPlan(keys, why)


def plan_many(plans: Iterable[KeyPlan]) -> KeyPlan:
    keys: dict[int, int] = {}
    for p in plans:
        if not p.use_index:
            return p
        for k, d in p.keys.items():
            if d > keys.get(k, -1):
                keys[k] = d
    return KeyPlan(keys)
