"""Synthetic firearm registries and OCR-like readings of their serials, for the search benchmark.

Serial formats follow makers' published patterns loosely (Zastava numeric runs, CZ letter plus
digits, early Glock US imports two letters + three digits + US, later four letters + three digits,
SIG's embedded-letter prefixes, H&K and Ruger hyphenated groups ...). Serials are drawn from
dense ranges, as a registry holds a good share of a maker's production, so near neighbours exist.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass

from tracing.confusions import ConfusionModel
from tracing.query import Position, SerialQuery
from tracing.records import FirearmRecord

LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # I, O and Q are avoided by most makers

# maker, country, weight, [(model, type, calibre)], [serial formats]
# format: D digit, L letter, anything else literal; a number range keeps digits dense.
MAKERS: list[tuple[str, str, float, list[tuple[str, str, str]], list[str]]] = [
    ("Zastava", "Serbia", 0.20,
     [("M70", "pistol", "7.65 mm"), ("M57", "pistol", "7.62x25"), ("M70AB2", "rifle", "7.62x39"),
      ("M48", "rifle", "7.92x57"), ("M88A", "pistol", "9x19"), ("CZ99", "pistol", "9x19")],
     ["DDDDDD", "DDDDDDD", "DDDDD"]),
    ("CZ", "Czech Republic", 0.10,
     [("CZ 75", "pistol", "9x19"), ("CZ 83", "pistol", "9x17"), ("vz. 58", "rifle", "7.62x39")],
     ["LDDDDDD", "DDDDDDD", "LLDDDDD"]),
    ("Glock", "Austria", 0.10,
     [("17", "pistol", "9x19"), ("19", "pistol", "9x19"), ("22", "pistol", ".40 S&W")],
     ["LLDDDUS", "LLLLDDD", "LLLDDD"]),
    ("Beretta", "Italy", 0.08,
     [("92FS", "pistol", "9x19"), ("M9", "pistol", "9x19"), ("PX4", "pistol", "9x19")],
     ["LDDDDDL", "BERDDDDDD", "PXDDDDD"]),
    ("Izhmash", "Russia", 0.08,
     [("AKM", "rifle", "7.62x39"), ("AK-74", "rifle", "5.45x39"), ("Saiga", "rifle", "7.62x39")],
     ["DDDDDDDD", "LLDDDD", "DDDD DDDDD"]),
    ("Tula", "Russia", 0.05, [("TT-33", "pistol", "7.62x25"), ("SKS", "rifle", "7.62x39")], ["LLDDDD", "DDDD"]),
    ("Makarov", "Russia", 0.04, [("PM", "pistol", "9x18")], ["LLDDD", "LLLDDD"]),
    ("Heckler & Koch", "Germany", 0.05, [("G3", "rifle", "7.62x51"), ("P30", "pistol", "9x19")], ["DD-DDDDDD"]),
    ("Smith & Wesson", "USA", 0.05, [("M&P9", "pistol", "9x19"), ("686", "revolver", ".357 Magnum")],
     ["LLLDDDD", "DDDDDDD"]),
    ("Walther", "Germany", 0.04, [("PP", "pistol", "7.65 mm"), ("P99", "pistol", "9x19")], ["DDDDDDL", "LLDDDDD"]),
    ("Ruger", "USA", 0.03, [("10/22", "rifle", ".22 LR"), ("GP100", "revolver", ".357 Magnum")], ["DDD-DDDDD"]),
    ("Colt", "USA", 0.03, [("1911", "pistol", ".45 ACP"), ("Python", "revolver", ".357 Magnum")], ["DDDDDDL"]),
    ("FN Herstal", "Belgium", 0.04, [("FAL", "rifle", "7.62x51"), ("Five-seveN", "pistol", "5.7x28")],
     ["DDDLLDDDDD"]),
    ("SIG Sauer", "Germany", 0.04, [("P226", "pistol", "9x19"), ("P320", "pistol", "9x19")],
     ["LDDDDDD", "DDLDDDDDD"]),
    ("Norinco", "China", 0.04, [("Type 56", "rifle", "7.62x39"), ("Type 54", "pistol", "7.62x25")],
     ["DDDDDDDD", "DDDDDDDDDD"]),
    ("unknown", "", 0.03, [("", "pistol", ""), ("", "rifle", "")], ["AAAAAA", "LLDDDDDDD"]),
]

STATUSES = [("registered", 0.55), ("stolen", 0.15), ("lost", 0.08), ("seized", 0.12), ("trafficked", 0.04),
            ("recovered", 0.03), ("destroyed", 0.03)]
SOURCES = ["national-register", "stolen-list", "customs", "factory-ledger"]


def _fill(fmt: str, rnd: random.Random, blocks: list[tuple[int, int]] | None = None) -> str:
    """A serial of format ``fmt``; its number falls in one of the production ``blocks``."""
    digits = fmt.count("D")
    if blocks:
        start, width = rnd.choice(blocks)
        number = str(start + rnd.randrange(width)).zfill(digits)[-digits:]
    else:
        number = str(rnd.randrange(10**digits)).zfill(digits)
    out = []
    k = 0
    for ch in fmt:
        if ch == "D":
            out.append(number[k])
            k += 1
        elif ch == "L":
            out.append(rnd.choice(LETTERS[:10]) if rnd.random() < 0.7 else rnd.choice(LETTERS))
        elif ch == "A":
            out.append(rnd.choice(LETTERS + "0123456789"))
        else:
            out.append(ch)
    return "".join(out)


def _blocks(digits: int, rnd: random.Random, count: int = 20) -> list[tuple[int, int]]:
    """Production runs: ``count`` blocks, together 40 % of the number space."""
    space = 10**digits
    width = max(1, space // (count * 5 // 2))
    return [(rnd.randrange(max(1, space - width)), width) for _ in range(count)]


def generate(n: int, seed: int = 7) -> Iterator[FirearmRecord]:
    rnd = random.Random(seed)
    weights = [m[2] for m in MAKERS]
    st_names = [s for s, _ in STATUSES]
    st_w = [w for _, w in STATUSES]
    start = dt.date(1995, 1, 1)
    runs: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for i in range(n):
        make, country, _, models, fmts = rnd.choices(MAKERS, weights)[0]
        mdl, typ, cal = rnd.choice(models)
        fmt = rnd.choice(fmts)
        if (make, fmt) not in runs:
            runs[(make, fmt)] = _blocks(fmt.count("D"), random.Random(f"{seed}/{make}/{fmt}"))
        serial = _fill(fmt, rnd, runs[(make, fmt)])
        yield FirearmRecord(
            serial=serial,
            make=None if make == "unknown" else make,
            model=mdl or None,
            calibre=cal or None,
            type=typ,
            country=country or None,
            importer="Uvoz d.o.o." if rnd.random() < 0.05 else None,
            status=rnd.choices(st_names, st_w)[0],
            source=rnd.choice(SOURCES),
            reference=f"R{i:08d}",
            date=start + dt.timedelta(days=rnd.randrange(11000)),
        )


@dataclass(frozen=True, slots=True)
class Reading:
    kind: str
    query: SerialQuery
    make: str | None
    truth_index: int  # index of the record it was made from, -1 for a serial not in the registry


def _look_alikes(model: ConfusionModel) -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}
    for (a, b), c in model.pairs.items():
        out.setdefault(a, []).append((b, c))
    return out


KINDS = [
    ("exact", 0.05), ("1 look-alike", 0.15), ("2 look-alikes", 0.15), ("2 look-alikes + lost", 0.15),
    ("extra character", 0.05), ("1 unknown (?)", 0.10), ("2 unknown (?)", 0.05), ("top-k lattice", 0.15),
    ("NCIC letter dropped", 0.05), ("not in registry", 0.10),
]


def _confuse(
    s: list[str], alts: list[list[tuple[str, int]]], alike: dict[str, list[tuple[str, int]]],
    rnd: random.Random, times: int,
) -> None:
    spots = [i for i, c in enumerate(s) if c in alike]
    rnd.shuffle(spots)
    for i in spots[:times]:
        s[i] = rnd.choice(alike[s[i]])[0]
        alts[i] = [(s[i], 0)]


def readings(records: list[FirearmRecord], count: int, model: ConfusionModel, seed: int = 11) -> list[Reading]:
    from tracing.normalise import normalise_serial

    rnd = random.Random(seed)
    alike = _look_alikes(model)
    out: list[Reading] = []
    names = [k for k, _ in KINDS]
    w = [x for _, x in KINDS]
    while len(out) < count:
        kind = rnd.choices(names, w)[0]
        idx = rnd.randrange(len(records))
        rec = records[idx]
        s = list(normalise_serial(rec.serial, model))
        make = rec.make if rnd.random() < 0.5 else None
        if make and rnd.random() < 0.1:
            make = rnd.choice([m[0] for m in MAKERS if m[0] != make])
        alts: list[list[tuple[str, int]]] = [[(c, 0)] for c in s]

        if kind == "1 look-alike":
            _confuse(s, alts, alike, rnd, 1)
        elif kind.startswith("2 look-alikes"):
            _confuse(s, alts, alike, rnd, 2)
            if kind.endswith("lost"):
                i = rnd.randrange(len(s))
                del s[i]
                del alts[i]
        elif kind == "extra character":
            i = rnd.randrange(len(s) + 1)
            c = rnd.choice("0123456789ABCDEFGH")
            s.insert(i, c)
            alts.insert(i, [(c, 0)])
        elif kind.endswith("unknown (?)"):
            for i in rnd.sample(range(len(s)), min(len(s), int(kind[0]))):
                alts[i] = []
        elif kind == "top-k lattice":
            spots = [i for i, c in enumerate(s) if c in alike]
            rnd.shuffle(spots)
            for i in spots[:2]:
                wrong = rnd.choice(alike[s[i]])[0]
                alts[i] = [(wrong, 0), (s[i], rnd.choice((10, 20, 35)))]
        elif kind == "NCIC letter dropped":
            from tracing.normalise import embedded_letter_mask

            mask = embedded_letter_mask("".join(s))
            if not any(mask):
                continue
            keep = [i for i, m in enumerate(mask) if not m]
            alts = [alts[i] for i in keep]
        elif kind == "not in registry":
            fmt = rnd.choice(rnd.choice(MAKERS)[4])
            alts = [[(c, 0)] for c in normalise_serial(_fill(fmt, rnd), model)]
            idx = -1
        if not alts:
            continue
        positions = tuple(Position(tuple(a)) for a in alts)
        text = "".join(a[0][0] if a else "?" for a in alts)
        out.append(Reading(kind, SerialQuery(positions, text=text), make, idx))
    return out
