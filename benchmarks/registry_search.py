"""Registry search benchmark: indexed search against a brute-force scan, SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.registry_search                # 1,000,000 records, both databases
    .venv/bin/python -m benchmarks.registry_search --records 50000 --backends sqlite

Builds a synthetic registry (benchmarks/registry_synth.py), loads it into each database (kept
under benchmarks/data/ and in a PostgreSQL schema for reuse), makes OCR-like readings of its
serials, and for every reading compares the records the index finds within the score threshold
with the exact set from a brute-force scoring of every record. Prints times and recall.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from benchmarks.registry_bruteforce import BruteForce
from benchmarks.registry_synth import Reading, generate, readings
from tracing import scoring
from tracing.bulk import bulk_insert, rebuild_index
from tracing.confusions import default_model
from tracing.db import create_engine, migrate
from tracing.records import FirearmRecord
from tracing.registry import Registry
from tracing.scoring import Scorer

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass
class Row:
    backend: str
    method: str
    times: list[float] = field(default_factory=list)
    candidates: list[int] = field(default_factory=list)
    found: int = 0
    expected: int = 0
    queries: int = 0
    fallbacks: int = 0
    extra: int = 0  # records returned that the brute force rejects (must be 0)
    per_kind: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = min(len(s) - 1, max(0, round(q / 100 * len(s) + 0.5) - 1))
    return s[k]


def open_backend(name: str, n: int, seed: int, args: argparse.Namespace) -> tuple[Registry, str]:
    if name == "sqlite":
        path = Path(args.data_dir) / f"registry_{n}_{seed}.sqlite3"
        if args.rebuild and path.exists():
            for p in path.parent.glob(path.name + "*"):
                p.unlink()
        engine = create_engine(f"sqlite:///{path}")
        where = str(path)
    else:
        schema = f"bench_registry_{n}_{seed}"
        admin = create_engine(args.pg_url)
        with admin.begin() as conn:
            if args.rebuild:
                conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        admin.dispose()
        engine = create_engine(args.pg_url, connect_args={"options": f"-csearch_path={schema}"})
        where = f"{args.pg_url} schema {schema}"
    migrate(engine)
    return Registry(engine), where


def ensure_loaded(reg: Registry, records: list[FirearmRecord], out: list[str]) -> None:
    have = reg.count()
    with reg.engine.connect() as conn:
        keys = conn.execute(sa.text("SELECT count(*) FROM (SELECT 1 FROM registry_keys LIMIT 1) k")).scalar_one()
    if have == len(records) and keys:
        out.append("  reused the loaded registry")
        return
    if have:
        raise SystemExit(f"the database holds {have} records, expected {len(records)}: use --rebuild")
    t = time.perf_counter()
    bulk_insert(reg, records)
    t1 = time.perf_counter()
    nkeys = rebuild_index(reg)
    t2 = time.perf_counter()
    out.append(f"  loaded {len(records):,} records in {t1 - t:.0f} s, {nkeys:,} index keys in {t2 - t1:.0f} s")


def check_ids(reg: Registry, records: list[FirearmRecord]) -> None:
    """Record i of the generator must have id i + 1 (fresh table, loaded in order)."""
    for i in (0, len(records) // 2, len(records) - 1):
        rec = reg.get(i + 1)
        if rec is None or rec.reference != records[i].reference:
            raise SystemExit("record ids do not follow the generator's order: use --rebuild")


def run_index(reg: Registry, name: str, qs: list[Reading], truth: list[dict[int, int]], warm: int) -> Row:
    row = Row(name, "index (deletion-neighbourhood keys)")
    for q in qs[:warm]:
        reg.search(q.query, make=q.make)
    for q, exp in zip(qs, truth, strict=True):
        t = time.perf_counter()
        res = reg.search(q.query, make=q.make)  # 20 best hits explained; matched_ids holds all
        ms = (time.perf_counter() - t) * 1000
        got = {i - 1 for i in res.matched_ids}
        row.times.append(ms)
        row.per_kind[q.kind].append(ms)
        row.candidates.append(res.candidates)
        row.queries += 1
        row.expected += len(exp)
        row.found += len(got & exp.keys())
        row.extra += len(got - exp.keys())
        if res.strategy != "index":
            row.fallbacks += 1
    return row


def run_scan(reg: Registry, name: str, qs: list[Reading], truth: list[dict[int, int]], count: int) -> Row:
    row = Row(name, "scan (SQL read + Python score)")
    for q, exp in list(zip(qs, truth, strict=True))[:count]:
        t = time.perf_counter()
        res = reg.search(q.query, make=q.make, use_index=False)
        row.times.append((time.perf_counter() - t) * 1000)
        got = {i - 1 for i in res.matched_ids}
        row.candidates.append(res.candidates)
        row.queries += 1
        row.expected += len(exp)
        row.found += len(got & exp.keys())
        row.extra += len(got - exp.keys())
    return row


def fmt_row(r: Row) -> str:
    recall = 100.0 * r.found / r.expected if r.expected else 100.0
    cand = statistics.mean(r.candidates) if r.candidates else 0
    return (f"{r.backend:<11} {r.method:<37} {r.queries:>7} {pct(r.times, 50):>8.1f} {pct(r.times, 95):>8.1f} "
            f"{max(r.times) if r.times else 0:>9.1f} {cand:>10.0f} {recall:>8.2f} {r.extra:>6} {r.fallbacks:>5}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=400)
    ap.add_argument("--scan-queries", type=int, default=5, help="readings also answered by a full SQL scan")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--data-dir", default=os.path.join("benchmarks", "data"))
    ap.add_argument("--pg-url", default=os.environ.get("CALIBER_BENCH_PG_URL", DEFAULT_PG))
    ap.add_argument("--rebuild", action="store_true", help="rebuild the databases even if loaded")
    ap.add_argument("--warm", type=int, default=20, help="readings run once before timing")
    args = ap.parse_args(argv)

    model = default_model()
    t = time.perf_counter()
    records = list(generate(args.records, seed=args.seed))
    qs = readings(records, args.queries, model, seed=args.seed + 1)
    notes = [f"generated {len(records):,} records and {len(qs)} readings in {time.perf_counter() - t:.0f} s"]

    bf_row = Row("in-memory", "brute force (numpy, every record)")
    # the reference depends on the costs and on the scoring code (thresholds, views)
    costs = hashlib.sha256((repr(model) + inspect.getsource(scoring)).encode()).hexdigest()[:12]
    cache = Path(args.data_dir) / f"truth_{args.records}_{args.seed}_{args.queries}_{costs}.json"
    truth: list[dict[int, int]] = []
    if cache.exists() and not args.rebuild:
        saved = json.loads(cache.read_text("utf-8"))
        truth = [{int(k): v for k, v in t.items()} for t in saved["truth"]]
        bf_row.times = saved["times"]
        notes.append(f"brute-force results read from {cache}")
    else:
        t = time.perf_counter()
        bf = BruteForce(records, model)
        notes.append(f"brute-force arrays built in {time.perf_counter() - t:.0f} s")
        for q in qs:
            t = time.perf_counter()
            truth.append(bf.search(Scorer.build(q.query, model), q.make))
            bf_row.times.append((time.perf_counter() - t) * 1000)
        del bf
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({"truth": truth, "times": bf_row.times}), "utf-8")
    for exp in truth:
        bf_row.candidates.append(len(records))
        bf_row.queries += 1
        bf_row.expected += len(exp)
        bf_row.found += len(exp)
    rows = [bf_row]
    missing_truth = sum(1 for q, e in zip(qs, truth, strict=True) if q.truth_index >= 0 and q.truth_index not in e)
    kinds: dict[str, list[float]] = {}
    for name in [b.strip() for b in args.backends.split(",") if b.strip()]:
        notes.append(f"{name}:")
        try:
            reg, where = open_backend(name, args.records, args.seed, args)
        except sa.exc.OperationalError as exc:
            notes.append(f"  not reachable, skipped ({str(exc).splitlines()[0]})")
            continue
        notes.append(f"  {where}")
        ensure_loaded(reg, records, notes)
        check_ids(reg, records)
        r = run_index(reg, name, qs, truth, args.warm)
        rows.append(r)
        for k, v in r.per_kind.items():
            kinds[f"{name}/{k}"] = v
        if args.scan_queries:
            rows.append(run_scan(reg, name, qs, truth, args.scan_queries))
        reg.engine.dispose()

    out = sys.stdout
    out.write(f"\nRegistry search: {len(records):,} records, {len(qs)} OCR-like readings, seed {args.seed}\n")
    for n in notes:
        out.write(n + "\n")
    out.write("\n" + f"{'backend':<11} {'method':<37} {'queries':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>9} "
              f"{'candidates':>10} {'recall %':>8} {'extra':>6} {'scan':>5}\n")
    for r in rows:
        out.write(fmt_row(r) + "\n")
    total = sum(len(e) for e in truth)
    out.write(f"\nrecall = records found by the method / records within the threshold by brute force "
              f"({total:,} over all readings; extra = returned but over the threshold; scan = readings the "
              f"index handed to a full scan)\n")
    out.write(f"readings whose source record lies beyond the threshold: {missing_truth} "
              f"(of {sum(1 for q in qs if q.truth_index >= 0)} made from a record)\n")
    out.write(f"\n{'reading kind':<40} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'mean hits':>9}\n")
    hits_by_kind: dict[str, list[int]] = defaultdict(list)
    for q, e in zip(qs, truth, strict=True):
        hits_by_kind[q.kind].append(len(e))
    for k in sorted(kinds):
        kind = k.split("/", 1)[1]
        out.write(f"{k:<40} {len(kinds[k]):>4} {pct(kinds[k], 50):>8.1f} {pct(kinds[k], 95):>8.1f} "
                  f"{statistics.mean(hits_by_kind[kind]):>9.1f}\n")
    ok = all(r.found == r.expected and r.extra == 0 for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
