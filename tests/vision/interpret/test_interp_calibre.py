"""Calibre notations as stamped, to canonical names."""

from __future__ import annotations

import pytest

from vision.interpret.calibre import CalibreParser
from vision.interpret.text import ScriptRules
from vision.types import MarkKind


@pytest.fixture(scope="module")
def parser() -> CalibreParser:
    return CalibreParser.load(ScriptRules.load())


@pytest.mark.parametrize(
    ("notation", "canonical"),
    [
        ("7,62x39", "7.62x39mm"),
        ("7.62×39", "7.62x39mm"),
        ("7.62 x 39", "7.62x39mm"),
        ("7,62X39mm", "7.62x39mm"),
        ("KAL. 7,62x39", "7.62x39mm"),
        ("M43", "7.62x39mm"),
        ("CAL. .45 ACP", ".45 ACP"),
        (".45 AUTO", ".45 ACP"),
        ("9mm Para", "9x19mm Parabellum"),
        ("9 mm PARA", "9x19mm Parabellum"),
        ("9x19", "9x19mm Parabellum"),
        ("9mm Luger", "9x19mm Parabellum"),
        ("CAL. 9 PARABELLUM", "9x19mm Parabellum"),
        ("9 mm P.A.K.", "9mm P.A.K."),
        ("9mm PAK", "9mm P.A.K."),
        ("12/70", "12 gauge (70 mm)"),
        ("CAL. 12", "12 gauge"),
        (".22 LR", ".22 LR"),
        ("22LR", ".22 LR"),
        ("7.65 Browning", ".32 ACP (7.65mm Browning)"),
        ("7,65 mm", ".32 ACP (7.65mm Browning)"),
        ("CAL. 7,65", ".32 ACP (7.65mm Browning)"),
        (".32 ACP", ".32 ACP (7.65mm Browning)"),
        ("9mm Kurz", ".380 ACP"),
        ("9x17", ".380 ACP"),
        ("9x18", "9x18mm Makarov"),
        ("7.62x25", "7.62x25mm Tokarev"),
        ("7,62 TT", "7.62x25mm Tokarev"),
        ("7.62X54R", "7.62x54mmR"),
        ("8x57 IS", "7.92x57mm Mauser"),
        ("7,9 mm", "7.92x57mm Mauser"),
        (".223 REM", "5.56x45mm NATO"),
        ("5.56x45", "5.56x45mm NATO"),
        (".357 MAG", ".357 Magnum"),
        (".38 SPL", ".38 Special"),
        ("6,35 mm", ".25 ACP (6.35mm Browning)"),
        ("КАЛ. 7,62x39", "7.62x39mm"),
        ("7.6S mm", ".32 ACP (7.65mm Browning)"),  # S read for 5
        ("6.5x52", "6.5x52mm"),  # metric form not in the table
    ],
)
def test_calibre_notations(parser: CalibreParser, notation: str, canonical: str) -> None:
    parsed = parser.parse(notation)
    assert parsed is not None, notation
    assert parsed[0].name == canonical


@pytest.mark.parametrize("text", ["123456", "M70", "2019", "765", "GLOCK", "AB123US", "12.03.2019", "12"])
def test_not_a_calibre(parser: CalibreParser, text: str) -> None:
    assert parser.parse(text) is None


def test_calibre_found_in_a_line(interpreter, line) -> None:  # type: ignore[no-untyped-def]
    marks = interpreter.interpret([line("M70AB2 CAL. 7,62x39")])
    calibres = [m for m in marks if m.kind == MarkKind.CALIBRE]
    assert [m.value for m in calibres] == ["7.62x39mm"]
    assert calibres[0].score > 0.9
