from __future__ import annotations

import pytest

from benchmarks.registry_bruteforce import BruteForce
from benchmarks.registry_synth import generate, readings
from tracing.bulk import bulk_insert, rebuild_index
from tracing.confusions import default_model
from tracing.keys import plan_keys
from tracing.query import parse_serial, query_from_choices
from tracing.records import FirearmRecord as R
from tracing.registry import Registry
from tracing.scoring import Scorer, distance

M = default_model()

RECORDS = [
    R("B2345678", make="Zastava", model="M70", calibre="7.65 mm", status="stolen", reference="1"),
    R("B2345679", make="Zastava", model="M70", calibre="7.65 mm", status="registered", reference="2"),
    R("82345678", make="CZ", model="CZ 75", calibre="9x19", status="lost", reference="3"),
    R("369J257", make="Glock", model="17", calibre="9x19", status="stolen", reference="4"),
    R("DAGG638", make="Glock", model="19", calibre="9x19", status="seized", reference="5"),
    R("58A123456", make="SIG Sauer", model="P226", calibre="9x19", status="trafficked", reference="6"),
    R("10-026288", make="Heckler & Koch", model="G3", calibre="7.62x51", status="registered", reference="7"),
    R("AB123US", make="Glock", model="17", calibre="9x19", status="lost", reference="8"),
]


@pytest.fixture
def loaded(registry: Registry) -> Registry:
    registry.upsert(RECORDS)
    return registry


@pytest.mark.parametrize(
    ("reading", "record", "cost"),
    [
        ("B2345678", "B2345678", 0),
        ("82345678", "B2345678", 20),  # look-alike
        ("8Z34567", "B2345678", 140),  # two look-alikes and a lost character
        ("B2345X78", "B2345678", 100),  # unrelated character
        ("B23456789", "B2345678", 100),  # extra character
        ("B2345?78", "B2345678", 0),  # wildcard
        ("[8B]2345678", "B2345678", 0),  # typed alternatives
    ],
)
def test_distance_table(reading: str, record: str, cost: int) -> None:
    sc = Scorer.build(parse_serial(reading, M), M, max_cost=500)
    assert distance(sc.plain, record) == cost


def test_two_confusions_and_a_lost_character_find_the_record_first(loaded: Registry) -> None:
    # B2345678 read as 8Z34567: B->8 and 2->Z confused, the final 8 lost
    res = loaded.search("8Z34567", make="Zastava")
    assert res.strategy == "index"
    assert res.hits[0].record.serial == "B2345678"
    assert res.hits[0].score == pytest.approx(1.4)
    text = " | ".join(res.hits[0].explanation)
    assert "position 1: read 8, record has B" in text
    assert "position 2: read Z, record has 2" in text
    assert "lost" in text


@pytest.mark.parametrize(
    ("reading", "make", "first", "view"),
    [
        ("369257", None, "369J257", "ncic"),  # letters between digits ignored
        ("369J257", None, "369J257", "plain"),
        ("58123456", None, "58A123456", "ncic"),
        ("DAGG63B", "Glock", "DAGG638", "plain"),
        ("0AGG638", None, "DAGG638", "plain"),  # O/0/D
        ("1O-O26288", None, "10-026288", "plain"),  # O taken as zero, hyphen dropped
        ("AB1?3US", None, "AB123US", "plain"),
        ("82345678", "CZ", "82345678", "plain"),  # make decides between two close records
        ("82345678", "Zastava", "B2345678", "plain"),
    ],
)
def test_first_hit(loaded: Registry, reading: str, make: str | None, first: str, view: str) -> None:
    res = loaded.search(reading, make=make)
    assert res.hits, res
    assert res.hits[0].record.serial == first
    assert res.hits[0].view == view


def test_make_disagreement_is_explained(loaded: Registry) -> None:
    hit = next(h for h in loaded.search("82345678", make="CZ").hits if h.record.make == "Zastava")
    assert any("make differs" in line for line in hit.explanation)


def test_nothing_close(loaded: Registry) -> None:
    assert loaded.search("ZZZZZZZZ").hits == ()


def test_lattice_reading_uses_second_choice(loaded: Registry) -> None:
    choices = [[("8", 0.55), ("B", 0.40)]] + [[(c, 0.9)] for c in "2345678"]
    q = query_from_choices(choices, M)
    res = loaded.search(q, make="Zastava")
    assert res.hits[0].record.serial == "B2345678"
    assert "alternative" in res.hits[0].explanation[0]


def test_changed_serial_moves_its_keys(loaded: Registry) -> None:
    loaded.upsert([R("B2345678", make="Zastava", model="M70", calibre="7.65 mm", status="stolen", reference="7",
                     source="")])
    moved = R("Q9999999", make="Heckler & Koch", model="G3", status="registered", reference="7")
    counts = loaded.upsert([moved])
    assert counts.updated == 1
    assert [h.record.serial for h in loaded.search("Q9999999").hits] == ["Q9999999"]
    assert all(h.record.reference != "7" for h in loaded.search("10026288").hits)


def test_delete(loaded: Registry) -> None:
    rid = loaded.search("DAGG638").hits[0].record.id
    assert rid is not None and loaded.delete(rid)
    assert loaded.search("DAGG638").hits == ()


def test_high_threshold_falls_back_to_a_scan(loaded: Registry) -> None:
    res = loaded.search("B2345678", max_cost=4.0)
    assert res.strategy == "scan" and "index covers" in res.note
    assert res.hits[0].record.serial == "B2345678"


def test_many_unknown_positions_plan() -> None:
    q = parse_serial("1???????9", M)
    plan = plan_keys(q, M, Scorer.build(q, M).max_cost)
    assert not plan.use_index


def test_index_equals_brute_force_on_a_synthetic_registry(registry: Registry) -> None:
    records = list(generate(3000, seed=5))
    bulk_insert(registry, records)
    rebuild_index(registry)
    bf = BruteForce(records, M)
    qs = readings(records, 120, M, seed=9)
    found_self = 0
    for q in qs:
        expected = bf.search(Scorer.build(q.query, M), q.make)
        res = registry.search(q.query, make=q.make, limit=None)
        assert {i - 1 for i in res.matched_ids} == set(expected), (q.kind, q.query.text)
        if q.truth_index in expected:
            found_self += 1
    assert found_self > 80


def test_scan_equals_index(registry: Registry) -> None:
    records = list(generate(800, seed=6))
    registry.upsert(records)
    for q in readings(records, 25, M, seed=2):
        a = registry.search(q.query, make=q.make, limit=None)
        b = registry.search(q.query, make=q.make, limit=None, use_index=False)
        assert a.matched_ids == b.matched_ids
        assert [h.score for h in a.hits] == [h.score for h in b.hits]


def _full_distance(reading: str, record: str) -> int:
    cq = Scorer.build(parse_serial(reading, M), M).plain
    n, m = len(cq), len(record)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for j in range(m + 1):
        d[0][j] = j * cq.deletion
    for i in range(1, n + 1):
        d[i][0] = i * cq.insertion
        for j in range(1, m + 1):
            sub = cq.tables[i - 1].get(record[j - 1], cq.defaults[i - 1])
            d[i][j] = min(d[i - 1][j - 1] + sub, d[i - 1][j] + cq.insertion, d[i][j - 1] + cq.deletion)
    return d[n][m]


def test_banded_distance_agrees_with_the_full_matrix() -> None:
    import random

    rnd = random.Random(4)
    alphabet = "0123456789ABDSZGW"
    for _ in range(1500):
        reading = "".join(rnd.choice(alphabet + "?") for _ in range(rnd.randint(1, 9)))
        record = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 9)))
        cq = Scorer.build(parse_serial(reading, M), M).plain
        exact = _full_distance(reading, record)
        for limit in (0, 100, 175, 200, 300):
            got = distance(cq, record, limit)
            assert got == exact if exact <= limit else got > limit


@pytest.mark.parametrize(
    ("choices", "record"),
    [
        # every position unsure between three look-alike groups: planned with relaxed positions
        ([[("8", 0.4), ("B", 0.35), ("3", 0.25)]] * 2 + [[(c, 0.5), ("S", 0.3), ("6", 0.2)] for c in "345678"],
         "B8345678"),
        ([[(c, 0.5), ("Z", 0.3), ("7", 0.2)] for c in "B2345678"], "B2345678"),
    ],
)
def test_ambiguous_lattices_agree_with_a_scan(
    loaded: Registry, choices: list[list[tuple[str, float]]], record: str
) -> None:
    loaded.upsert([R(record, make="Zastava", reference="L")])
    q = query_from_choices(choices, M)
    a = loaded.search(q, limit=None)
    b = loaded.search(q, limit=None, use_index=False)
    assert a.matched_ids == b.matched_ids
    assert record in {h.record.serial for h in a.hits}
