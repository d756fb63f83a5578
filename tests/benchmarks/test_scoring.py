"""The scorer on hand-made predictions."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmarks.datasets import ImageEntry, TruthRow
from benchmarks.scoring import (
    OVERALL,
    Prediction,
    cer,
    coerce_prediction,
    edit_distance,
    norm_alnum,
    norm_exact,
    prediction_from_recognition,
    score_image,
    score_row,
    summarise,
)


@pytest.mark.parametrize(
    ("text", "exact", "alnum"),
    [
        ("5.56 NATO", "5.56NATO", "556NATO"),
        ("  ab 12 ", "AB12", "AB12"),
        ("9-Д", "9-Д", "9Д"),
        ("ппу", "ППУ", "ППУ"),
        ("12345678-ab12", "12345678-AB12", "12345678AB12"),
        ("Cal. .22 L.R.", "CAL..22L.R.", "CAL22LR"),
        ("FABRIČKI BROJ", "FABRIČKIBROJ", "FABRIČKIBROJ"),
        ("XXIV\t1975", "XXIV1975", "XXIV1975"),
    ],
)
def test_normalisation(text: str, exact: str, alnum: str) -> None:
    assert norm_exact(text) == exact
    assert norm_alnum(text) == alnum


@pytest.mark.parametrize(
    ("a", "b", "d"),
    [("", "", 0), ("ABC", "", 3), ("ABC", "ABC", 0), ("ABC", "ABD", 1), ("ABC", "AC", 1),
     ("KITTEN", "SITTING", 3), ("0O1I", "O0I1", 3)],
)
def test_edit_distance(a: str, b: str, d: int) -> None:
    assert edit_distance(a, b) == d
    assert edit_distance(b, a) == d


@pytest.mark.parametrize(
    ("truth", "lines", "expected"),
    [
        ("ABC", [], 1.0),
        ("ABC", ["ABD"], 1 / 3),
        ("AB12", ["ab 12"], 0.0),
        ("ABC", ["XYZ", "ABX", "A"], 1 / 3),  # best-matching line
        ("ABC", ["XYZXYZABCXYZ"], 1.0),  # capped at 1
        ("AB123US", ["A8123US"], 1 / 7),
    ],
)
def test_cer(truth: str, lines: list[str], expected: float) -> None:
    assert cer(truth, lines) == pytest.approx(expected)


def _row(truth: str, kind: str = "serial", group: str = "stamped", notes: str = "") -> TruthRow:
    return TruthRow("a.jpg", kind, truth, notes, group)


@pytest.mark.parametrize(
    ("row", "pred", "exact", "alnum", "top1", "top5", "cer_value"),
    [
        # exact read of a serial, first candidate
        (_row("AB123US"), Prediction(("AB123US",), (("AB123US", 0.9),)), True, True, True, True, 0.0),
        # whitespace and case do not matter
        (_row("BA 12345"), Prediction(("ba12345",), (("BA12345", 0.9),)), True, True, True, True, 0.0),
        # punctuation matters only for the exact variant; serials compare alnum
        (_row("91-12345"), Prediction(("91 12345",), (("9112345", 0.8),)), False, True, True, True, 1 / 8),
        # truth is the 3rd candidate: top-5 but not top-1
        (_row("K12345"), Prediction(("K12346",), (("K12346", .5), ("K1234S", .3), ("K12345", .1))),
         False, False, False, True, 1 / 6),
        # truth is the 6th distinct candidate: neither
        (_row("K12345"), Prediction((), (*((f"K1234{i}", 0.5) for i in range(6, 10)), ("X", 0.1),
                                         ("K12345", 0.05))), False, False, False, False, 1.0),
        # duplicates (after normalising) do not push the truth out of the top 5
        (_row("K12345"), Prediction((), (("K1-2", .9), ("K12", .8), ("k 12", .7), ("K-1-2", .6),
                                         ("Z", .5), ("K12345", .4))), False, False, False, True, 1.0),
        # a maker line: no serial metrics
        (_row("ZASTAVA ARMS", "maker"), Prediction(("ZASTAVA ARMS", "M70")), True, True, None, None, 0.0),
        # Cyrillic survives the alnum variant
        (_row("ППУ", "maker"), Prediction(("П.П.У",)), False, True, None, None, 2 / 3),
        # nothing read
        (_row("12345"), Prediction(), False, False, False, False, 1.0),
    ],
)
def test_score_row(row: TruthRow, pred: Prediction, exact: bool, alnum: bool, top1: bool | None,
                   top5: bool | None, cer_value: float) -> None:
    s = score_row(row, pred)
    assert (s.exact, s.alnum, s.top1, s.top5) == (exact, alnum, top1, top5)
    assert s.cer == pytest.approx(cer_value)


HS = "ammunition-headstamp"


@pytest.mark.parametrize(
    ("truth", "notes", "lines", "exact", "alnum"),
    [
        ("CBC 5.56 10", "domain=ammunition-headstamp", ["10 CBC", "5.56"], True, True),
        ("CBC 5.56 10", "domain=ammunition-headstamp", ["CBC 556 10"], False, True),
        ("CBC 5.56 10", "domain=ammunition-headstamp", ["CBC 10"], False, False),
        # a token set must match: an extra token is wrong on a complete headstamp
        ("CBC 5.56 10", "domain=ammunition-headstamp", ["CBC 5.56 10 89"], False, False),
        # punctuation-only tokens vanish in the alnum variant
        ("LC 89", "domain=ammunition-headstamp", ["LC", "+", "89"], False, True),
        # PARTIAL: truth tokens among the tokens read is enough
        ("IMI", "PARTIAL: year not legible; domain=ammunition-headstamp", ["IMI 89"], True, True),
        ("LC", "domain=ammunition-headstamp; PARTIAL", ["L C 07"], False, False),
        ("ППУ 9-Д", "domain=headstamp", ["9-Д", "ППУ"], True, True),
    ],
)
def test_headstamps_as_token_sets(truth: str, notes: str, lines: list[str], exact: bool,
                                  alnum: bool) -> None:
    group = "headstamp" if "domain=headstamp" in notes else HS
    s = score_row(TruthRow("h.jpg", "marking", truth, notes, group), Prediction(tuple(lines)))
    assert (s.exact, s.alnum) == (exact, alnum)


def test_headstamp_cer_per_token() -> None:
    row = TruthRow("h.jpg", "marking", "CBC 5.56 10", "domain=ammunition-headstamp", HS)
    s = score_row(row, Prediction(("C8C", "5.56", "10")))
    assert s.cer == pytest.approx(1 / 9)  # one wrong character in 3 + 4 + 2


def _entry(rows: list[TruthRow]) -> ImageEntry:
    return ImageEntry(rows[0].file, Path(rows[0].file), tuple(rows))


@pytest.mark.parametrize(
    ("serials", "threshold", "false_serial"),
    [((), 0.5, False), ((("X1", 0.3),), 0.5, False), ((("X1", 0.3), ("X2", 0.6)), 0.5, True),
     ((("X1", 0.5),), 0.5, True), ((("X1", 0.5),), 0.8, False)],
)
def test_false_serials_on_negatives(serials: tuple[tuple[str, float], ...], threshold: float,
                                    false_serial: bool) -> None:
    entry = _entry([TruthRow("n.jpg", "negative", "", "domain=negative", "negative")])
    rows, image = score_image(entry, Prediction(("SOME TEXT",), serials), threshold)
    assert rows == []
    assert image.negative and image.false_serial == false_serial


def test_serials_on_marked_images_are_not_false() -> None:
    entry = _entry([_row("12345")])
    _rows, image = score_image(entry, Prediction((), (("99999", 0.99),)))
    assert not image.negative and not image.false_serial


def test_symbols_are_counted_not_scored() -> None:
    entry = _entry([TruthRow("h.jpg", "marking", "LC", "PARTIAL; domain=ammunition-headstamp", HS),
                    TruthRow("h.jpg", "proofmark", "NATO cross", "domain=ammunition-headstamp", HS)])
    rows, image = score_image(entry, Prediction(("LC 07",)))
    assert [r.truth for r in rows] == ["LC"] and image.symbols == 1


def test_summary_per_group_and_overall() -> None:
    images = [
        (_entry([_row("A1"), _row("MAKER", "maker")]), Prediction(("A1", "MAKFR"), (("A1", 0.9),), 0.5)),
        (_entry([TruthRow("b.jpg", "serial", "B2", "", "laser")]), Prediction((), (), 0.25, "boom")),
        (_entry([TruthRow("c.jpg", "negative", "", "", "negative")]), Prediction((), (("Q", 0.7),), 0.25)),
    ]
    all_rows, all_images = [], []
    for entry, pred in images:
        r, i = score_image(entry, pred)
        all_rows += r
        all_images.append(i)
    s = summarise(all_rows, all_images)
    assert list(s) == ["stamped", "laser", "negative", OVERALL]
    st, total = s["stamped"], s[OVERALL]
    assert (st.lines, st.exact, st.serials, st.top1) == (2, 1, 1, 1)
    assert st.cer == pytest.approx((0 + 1 / 5) / 2)
    assert (total.images, total.lines, total.serials, total.top1, total.top5) == (3, 3, 2, 1, 1)
    assert (total.negatives, total.false_serials, total.errors) == (1, 1, 1)
    assert total.images_per_second == pytest.approx(3 / 1.0)
    d = total.as_dict()
    assert d["top1_rate"] == 0.5 and d["false_serial_rate"] == 1.0


def _line(text: str, conf: float) -> SimpleNamespace:
    return SimpleNamespace(text=text, confidence=conf)


def _mark(kind: str, value: str, score: float, alts: tuple[tuple[str, float], ...] = ()) -> SimpleNamespace:
    return SimpleNamespace(kind=SimpleNamespace(value=kind), value=value, score=score, alternatives=alts)


@pytest.mark.parametrize(
    ("lines", "marks", "interpreted", "serials"),
    [
        # serial marks and their alternatives, ranked by score, duplicates dropped
        ([_line("S/N AB123US", 0.9), _line("GLOCK", 0.95)],
         [_mark("maker", "GLOCK", 0.9), _mark("serial", "AB123US", 0.8, (("A8123US", 0.15), ("AB123US", 0.1))),
          _mark("serial", "12345", 0.5)],
         True,
         [("AB123US", 0.8), ("12345", 0.5), ("A8123US", 0.15)]),
        # a value with unknown positions is not a complete reading; its alternatives are
        ([_line("12X456", 0.9)], [_mark("serial", "12?456", 0.6, (("123456", 0.3), ("12X456", 0.2)))], True,
         [("123456", 0.3), ("12X456", 0.2)]),
        # interpreted, no serial mark: no serial offered
        ([_line("MADE IN ITALY", 0.7), _line("BERETTA", 0.9)], [_mark("maker", "BERETTA", 0.9)], True, []),
        # not interpreted: the lines by confidence
        ([_line("MADE IN ITALY", 0.7), _line("BERETTA", 0.9)], [], False,
         [("BERETTA", 0.9), ("MADE IN ITALY", 0.7)]),
        ([], [], False, []),
    ],
)
def test_prediction_from_recognition(lines: list[SimpleNamespace], marks: list[SimpleNamespace], interpreted: bool,
                                     serials: list[tuple[str, float]]) -> None:
    steps = (SimpleNamespace(name="detect"),) + ((SimpleNamespace(name="interpret"),) if interpreted else ())
    rec = SimpleNamespace(lines=tuple(lines), marks=tuple(marks), provenance=SimpleNamespace(steps=steps))
    p = prediction_from_recognition(rec, 0.25)
    assert p.lines == tuple(ln.text for ln in lines)
    assert list(p.serials) == serials
    assert p.seconds == 0.25 and p.error is None
    assert coerce_prediction(rec, 0.5).serials == p.serials


def test_coerce_keeps_prediction_and_takes_measured_time() -> None:
    p = coerce_prediction(Prediction(("A",), (("A", 1.0),), 9.0, None), 0.5)
    assert p == Prediction(("A",), (("A", 1.0),), 0.5, None)
    duck = SimpleNamespace(lines=["X"], serials=[("X", 0.4)])
    assert coerce_prediction(duck, 0.1) == Prediction(("X",), (("X", 0.4),), 0.1, None)
