"""Dates and proof-house year codes (Italian two-letter codes, Roman numerals)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from vision.headstamp import VARIANT as HEADSTAMP_VARIANT
from vision.interpret import Interpreter
from vision.interpret.dates import DateReader, roman_to_int
from vision.interpret.text import ScriptRules
from vision.types import MarkKind, TextLine


@pytest.fixture(scope="module")
def reader() -> DateReader:
    return DateReader.load(ScriptRules.load())


@pytest.mark.parametrize(
    ("code", "year"),
    [
        ("AA", 1975), ("AZ", 1990), ("BA", 1991), ("BZ", 2005), ("CA", 2006), ("CS", 2017),
        ("CZ", 2020), ("DA", 2021), ("X", 1954), ("XV", 1959), ("XXIV", 1968), ("XX8", 1972), ("XXX", 1974),
    ],
)
def test_italian_year_codes(reader: DateReader, code: str, year: int) -> None:
    decoded = reader.decode_year_code(code)
    assert decoded is not None and decoded[0] == year and decoded[2] == "IT"


@pytest.mark.parametrize("code", ["AG", "AO", "AQ", "BE", "IX", "XL", "ZZ", "12"])
def test_not_year_codes(reader: DateReader, code: str) -> None:
    assert reader.decode_year_code(code) is None


@pytest.mark.parametrize(("text", "value"), [("XIV", 14), ("IX", 9), ("XXXIX", 39), ("IIII", None), ("", None)])
def test_roman(text: str, value: int | None) -> None:
    assert roman_to_int(text) == value


@pytest.mark.parametrize(
    ("token", "value"),
    [("12.03.2019", "2019-03-12"), ("2019-03-12", "2019-03-12"), ("03/2019", "2019-03"), ("1987", "1987"),
     ("31.13.2019", None), ("123456", None)],
)
def test_calendar_dates(reader: DateReader, token: str, value: str | None) -> None:
    parsed = reader.parse_date(token)
    assert (parsed[0] if parsed else None) == value


def test_year_code_is_confident_only_with_italian_context(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    with_context = interpreter.interpret([line("P.BERETTA GARDONE V.T."), line("CA")])
    without = interpreter.interpret([line("SOME TEXT CA")])
    dates_with = [m for m in with_context if m.kind == MarkKind.DATE]
    dates_without = [m for m in without if m.kind == MarkKind.DATE]
    assert dates_with[0].value == "2006" and dates_with[0].score >= 0.5
    assert all(m.score < 0.5 for m in dates_without)


def _polar(line: TextLine) -> TextLine:
    return replace(line, variant=HEADSTAMP_VARIANT)


@pytest.mark.parametrize(
    ("tokens", "year"),
    [(["IMI", "88"], "1988"), (["ППУ", "9-Д", "91"], "1991"), (["MEN", "03"], "2003"), (["WIN", "O6"], "2006")],
)
def test_two_digit_year_on_a_headstamp(interpreter: Interpreter, line, tokens: list[str], year: str) -> None:  # type: ignore[no-untyped-def]
    marks = interpreter.interpret([_polar(line(t)) for t in tokens])
    dates = [m for m in marks if m.kind == MarkKind.DATE]
    assert [d.value for d in dates] == [year]
    assert "headstamp year" in dates[0].detail
    assert not any(m.kind == MarkKind.SERIAL and m.score >= 0.5 for m in marks)


def test_two_digits_off_a_headstamp_are_no_year(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    marks = interpreter.interpret([line("IMI"), line("88")])
    assert not any(m.kind == MarkKind.DATE for m in marks)
    calibre = interpreter.interpret([_polar(line("9")), _polar(line("7.62")), _polar(line("123"))])
    assert not any(m.kind == MarkKind.DATE for m in calibre)
