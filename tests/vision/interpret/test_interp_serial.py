"""Serial candidates: beam over per-character alternatives, format priors, what is not a serial."""

from __future__ import annotations

import pytest

from vision.interpret import Interpreter, serial_readings
from vision.interpret.serial import ncic_key
from vision.types import MarkCandidate, MarkKind

CONFIDENT = 0.5


def serials(marks: tuple[MarkCandidate, ...]) -> list[MarkCandidate]:
    return [m for m in marks if m.kind == MarkKind.SERIAL]


def confident(marks: tuple[MarkCandidate, ...]) -> list[str]:
    return [m.value for m in serials(marks) if m.score >= CONFIDENT]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["123456"], "123456"),
        (["AB123456"], "AB123456"),
        (["12345AB"], "12345AB"),
        (["A1234567"], "A1234567"),
        (["SN: 45123"], "45123"),
        (["S/N 4521"], "4521"),  # short, but labelled
        (["No. 77001"], "77001"),
        (["NO.77001"], "77001"),
        (["FAB. BR. 882211"], "882211"),
        (["Бр. 45123"], "45123"),
        (["GLOCK", "AB123US"], "AB123US"),
        (["GLOCK", "BCDE123"], "BCDE123"),
        (["12345678-AB123"], "12345678AB123"),  # licence-prefixed US serial, hyphen omitted
        (["АБ 1234"], "АБ1234"),  # Cyrillic prefix kept in its script, joined to its number
        (["BA 123456"], "BA123456"),  # spaced letter prefix
        (["1HGCM82633A004352"], "1HGCM82633A004352"),  # VIN-like, no context says otherwise
    ],
)
def test_clean_serial_is_top_and_confident(interpreter: Interpreter, line, lines: list[str], expected: str) -> None:  # type: ignore[no-untyped-def]
    marks = interpreter.interpret([line(t) for t in lines])
    found = serials(marks)
    assert found and found[0].value == expected
    assert found[0].score >= CONFIDENT


def test_cyrillic_serial_keeps_script_and_offers_latin(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    top = serials(interpreter.interpret([line("АВ12345")]))[0]
    assert top.value == "АВ12345"
    assert top.alternatives[0][0] == "AB12345"
    assert "script=cyrillic" in top.detail and "latin=AB12345" in top.detail


def test_clean_read_scores_near_point_nine(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    best = serials(interpreter.interpret([line("AB123456", p=0.995)]))[0]
    assert 0.88 <= best.score <= 1.0


def test_lookalike_alternative_ranked(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    # third character O 0.6 / 0 0.4: a letter O between digits is the classic misread
    marks = interpreter.interpret([line("12O456", alts={2: [("O", 0.6), ("0", 0.4)]})])
    top = serials(marks)[0]
    assert top.value == "120456"
    assert "12O456" in [v for v, _ in top.alternatives]
    assert serial_readings(marks)[:2] == [("120456", top.score), ("12O456", top.alternatives[0][1])]


def test_alternatives_carry_the_truth_when_top1_is_wrong(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    # 8 read with B 0.55 / 8 0.45 inside letters: the beam keeps both
    marks = interpreter.interpret([line("AB8CD1234", alts={2: [("B", 0.55), ("8", 0.45)]})])
    values = [v for v, _ in serial_readings(marks, k=5)]
    assert "AB8CD1234" in values and "ABBCD1234" in values


def test_unreadable_position_is_a_wildcard(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    marks = interpreter.interpret([line("123456", alts={2: [("3", 0.35), ("8", 0.33), ("B", 0.3)]})])
    top = serials(marks)[0]
    assert top.value == "12?456"
    alternatives = [v for v, _ in top.alternatives]
    assert alternatives[:2] == ["123456", "128456"]
    assert "unreadable=3:3/8" in top.detail


@pytest.mark.parametrize(
    ("read", "ncic"),
    [("369J257", "369257"), ("O12345", "012345"), ("AB12C34", "AB1234"), ("12345AB", "12345AB")],
)
def test_ncic_key(read: str, ncic: str) -> None:
    assert ncic_key(read) == ncic


def test_only_the_serial_is_offered_among_other_markings(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    lines = [
        line("ZASTAVA ARMS KRAGUJEVAC"),
        line("M70AB2 CAL. 7,62x39"),
        line("MADE IN SERBIA"),
        line("12.03.2019"),
        line("EVIDENCE KU 2023-0045"),
        line("EXHIBIT 12345"),
        line("P/N 55231-7"),
        line("VIN 1HGCM82633A004352"),
        line("A123456"),
    ]
    marks = interpreter.interpret(lines)
    assert confident(marks) == ["A123456"]
    offered = {v for m in serials(marks) for v in (m.value, *(a for a, _ in m.alternatives))}
    for not_serial in ("12032019", "20230045", "12345", "552317", "1HGCM82633A004352", "M70AB2", "762X39"):
        assert not_serial not in offered
    kinds = {m.kind for m in marks}
    assert {MarkKind.MAKER, MarkKind.MODEL, MarkKind.CALIBRE, MarkKind.COUNTRY, MarkKind.DATE, MarkKind.OTHER} <= kinds
    other = [m.value for m in marks if m.kind == MarkKind.OTHER]
    assert any("EXHIBIT" in v for v in other)


@pytest.mark.parametrize(
    "texts",
    [
        ["MADE IN ITALY", "PIETRO BERETTA", "CAL. 9x19"],
        ["ILLI", "TT"],
        ["STAINLESS STEEL", "READ MANUAL BEFORE USE"],
        ["2019"],
        ["EVIDENCE 2023-0045"],
        ["LOT 4471-B"],
    ],
)
def test_no_confident_serial_on_negatives(interpreter: Interpreter, line, texts: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert confident(interpreter.interpret([line(t) for t in texts])) == []


def test_garbage_read_is_not_confident(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    spread = {i: [(c, 0.3), ("8", 0.25), ("B", 0.2)] for i, c in enumerate("X7Q2K")}
    assert confident(interpreter.interpret([line("X7Q2K", p=0.3, alts=spread)])) == []


def test_label_raises_a_short_number(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    plain = serials(interpreter.interpret([line("4521")]))
    labelled = serials(interpreter.interpret([line("SN 4521")]))
    assert plain[0].score < CONFIDENT <= labelled[0].score


def test_maker_pattern_needs_the_maker(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    with_maker = serials(interpreter.interpret([line("GLOCK"), line("AB123US")]))[0]
    without = serials(interpreter.interpret([line("AB123US")]))[0]
    assert "glock" in with_maker.detail and with_maker.score > without.score


def test_serial_split_by_a_space_is_joined(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    values = [v for v, _ in serial_readings(interpreter.interpret([line("AB 123456")]))]
    assert "AB123456" in values


def test_repeatable(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    lines = [line("GLOCK"), line("AB123US"), line("9x19")]
    assert interpreter.interpret(lines) == interpreter.interpret(lines)


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["ИЧ 441397"], "ИЧ441397"),
        (["UK 263444"], "UK263444"),  # two letters before a number are its prefix, not a country
        (["VI 1995", "85047638"], "85047638"),  # Roman numeral + year is a date, not a serial
        (["CRVENA ZASTAVA", "1956", "CS138US"], "CS138US"),  # a year stays a year beside a maker
    ],
)
def test_top_serial_in_context(interpreter: Interpreter, line, texts: list[str], expected: str) -> None:  # type: ignore[no-untyped-def]
    assert serials(interpreter.interpret([line(t) for t in texts]))[0].value == expected


def test_cyrillic_prefix_with_digits_misread_as_latin(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    read = line("ВЗ 2TO7", alts={4: [("T", 0.5), ("7", 0.45)], 5: [("O", 0.5), ("0", 0.45)]})
    assert serials(interpreter.interpret([read]))[0].value == "ВЗ2707"


@pytest.mark.parametrize("texts", [["1996-0Z-2O"], ["ITEM 630/I4"], ["2022-0A-05"]])
def test_misread_dates_and_labels_are_not_serials(interpreter: Interpreter, line, texts: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert confident(interpreter.interpret([line(t) for t in texts])) == []


def test_vehicle_plate_numbers_around_a_vin(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    lines = [line("VOLKSWAGEN AG"), line("e1*2001/116*0211"), line("WVGZZZ1TZ9W061581"), line("2190 kg"),
             line("1- 1110 kg"), line("3700KG"), line("35PSI"), line("MODEL: K15543")]
    marks = interpreter.interpret(lines)
    assert confident(marks) == ["WVGZZZ1TZ9W061581"]
    assert "K15543" in [m.value for m in marks if m.kind == MarkKind.MODEL]


@pytest.mark.parametrize("text", ["7.5J", "<7,5 J", "4,5 mm", "200 BAR"])
def test_air_gun_markings_are_not_serials(interpreter: Interpreter, line, text: str) -> None:  # type: ignore[no-untyped-def]
    assert confident(interpreter.interpret([line(text)])) == []
