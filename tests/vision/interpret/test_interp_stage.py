"""The stage as the pipeline uses it: factory, ordering, robustness, data-driven rules, threads."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from vision.interpret import Interpreter, build_interpreter
from vision.interpret.interpreter import KIND_ORDER
from vision.interpret.resources import DATA_DIR
from vision.types import CharChoice, MarkKind, Quad, TextLine


def test_no_lines_no_marks(interpreter: Interpreter) -> None:
    assert interpreter.interpret([]) == ()


def test_marks_grouped_by_kind_best_first(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    marks = interpreter.interpret([line("GLOCK 17"), line("AB123US"), line("BC 4455"), line("9x19 MADE IN AUSTRIA")])
    order = [KIND_ORDER.index(m.kind) for m in marks]
    assert order == sorted(order)
    for kind in KIND_ORDER:
        scores = [m.score for m in marks if m.kind == kind]
        assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= m.score <= 1.0 for m in marks)
    assert all(m.line_indices for m in marks)


def test_chars_not_aligned_with_text_are_tolerated(interpreter: Interpreter) -> None:
    quad = Quad.from_points([[0, 0], [50, 0], [50, 10], [0, 10]])
    # the decoder gave choices for the characters only, not for the space
    spaced = TextLine("AB 123456", 0.9, quad, tuple(CharChoice(((c, 0.9),)) for c in "AB123456"))
    # or something else entirely: the line confidence is used for every character
    odd = TextLine("445566", 0.8, quad, (CharChoice((("4", 0.8),)),))
    marks = interpreter.interpret([spaced, odd])
    values = [m.value for m in marks if m.kind == MarkKind.SERIAL]
    assert "AB123456" in values and "445566" in values


def test_rules_are_data(tmp_path: Path, line) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    makers = json.loads((data / "makers.json").read_text(encoding="utf-8"))
    makers["makers"].append({"id": "acme", "name": "Acme Arms", "country": "RS", "aliases": ["ACME ARMS", "АКМЕ"]})
    (data / "makers.json").write_text(json.dumps(makers, ensure_ascii=False), encoding="utf-8")
    serials = json.loads((data / "serials.json").read_text(encoding="utf-8"))
    serials["maker_patterns"].append({"maker": "acme", "name": "acme", "regex": "^X[0-9]{2}$", "prior": 0.96})
    (data / "serials.json").write_text(json.dumps(serials, ensure_ascii=False), encoding="utf-8")
    interpreter = build_interpreter(data_dir=data, gallery_dir=None)
    marks = interpreter.interpret([line("АКМЕ"), line("X12")])
    assert [m.value for m in marks if m.kind == MarkKind.MAKER] == ["Acme Arms"]
    serial = next(m for m in marks if m.kind == MarkKind.SERIAL)
    assert serial.value == "X12" and serial.score > 0.8 and "pattern=acme" in serial.detail


def test_shared_between_threads(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    inputs = [
        [line("ZASTAVA"), line("M70AB2 7,62x39"), line("123456")],
        [line("GLOCK"), line("AB123US")],
        [line("12O456", alts={2: [("O", 0.6), ("0", 0.4)]})],
        [line("ЦРВЕНА ЗАСТАВА"), line("Бр. 45123")],
    ] * 8
    expected = [interpreter.interpret(x) for x in inputs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(interpreter.interpret, inputs))
    assert got == expected


@pytest.mark.parametrize(
    ("texts", "confident"),
    [
        (["M57"], True),  # the model alone points to its maker
        (["M57", "MADE IN SERBIA"], True),  # the stated country agrees
        (["M57", "MADE IN BELGIUM"], False),  # the stated country contradicts the implied maker
    ],
)
def test_maker_implied_by_a_model_yields_to_a_stated_country(
    interpreter: Interpreter, line: Callable[..., TextLine], texts: list[str], confident: bool
) -> None:
    marks = interpreter.interpret([line(t, y=20.0 * i) for i, t in enumerate(texts)])
    maker = next(m for m in marks if m.kind is MarkKind.MAKER)
    assert "zastava" in maker.value.lower()
    assert (maker.score >= 0.5) is confident
    assert ("conflicts=" in maker.detail) is not confident
