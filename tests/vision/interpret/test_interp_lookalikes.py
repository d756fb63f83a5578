"""Look-alike readings of serials: the ranked alternatives hold the readings an overconfident
recogniser does not rank second (8/B/3, 0/O/D, 5/S ...), and Cyrillic readings of a letter prefix
read as Latin look-alikes; the best reading and its score stay as the beam gave them."""

from __future__ import annotations

import pytest

from vision.interpret import Interpreter, build_interpreter, serial_readings
from vision.interpret.resources import load_json
from vision.interpret.serial import Lookalikes
from vision.interpret.text import ScriptRules, is_cyrillic
from vision.types import MarkCandidate, MarkKind


@pytest.fixture(scope="module")
def plain() -> Interpreter:
    """The same interpreter without look-alike readings."""
    interp = build_interpreter(gallery_dir=None)
    interp._serials.lookalikes = None  # the switch under test
    return interp


def _serials(marks: tuple[MarkCandidate, ...]) -> list[MarkCandidate]:
    return [m for m in marks if m.kind == MarkKind.SERIAL]


def _lookalike(rules: ScriptRules, a: str, b: str) -> bool:
    return len(a) == len(b) and all(rules.canonical(x) == rules.canonical(y) or {x, y} <= set("38B")
                                    for x, y in zip(a, b, strict=True))


def test_data_file_is_symmetric_and_in_the_serial_alphabet() -> None:
    la = Lookalikes.from_data(load_json("lookalikes.json"))
    alphabet = ScriptRules.load().serial_alphabet
    for ch, alts in la.neighbours.items():
        assert ch in alphabet
        for alt, w in alts:
            assert 0.0 < w <= 1.0 and alt in alphabet
            assert dict(la.neighbours[alt])[ch] == w
    for ch, cyr in la.cyrillic_read_as.items():
        assert ch in alphabet and cyr and all(is_cyrillic(c) for c, _ in cyr)
    assert 0.0 < la.floor < 0.2  # a share, not a second opinion


@pytest.mark.parametrize("text", ["1631188972", "AB123456", "K356710", "38314V", "BDE4821"])
def test_best_reading_and_its_score_are_unchanged(interpreter: Interpreter, plain: Interpreter, line,  # type: ignore[no-untyped-def]
                                                  text: str) -> None:
    new = _serials(interpreter.interpret([line(text, p=0.995)]))[0]
    old = _serials(plain.interpret([line(text, p=0.995)]))[0]
    assert (new.value, new.score) == (old.value, old.score)


def test_confident_read_offers_its_look_alikes(interpreter: Interpreter, plain: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    rules = ScriptRules.load()
    lines = [line("1631188972", p=0.995)]
    assert [v for v, _ in serial_readings(plain.interpret(lines), k=5)] == ["1631188972"]
    ranked = [v for v, _ in serial_readings(interpreter.interpret(lines), k=5)]
    assert ranked[0] == "1631188972" and len(ranked) == 5
    assert all(_lookalike(rules, v, "1631188972") for v in ranked)
    assert {"1631138972", "1631183972"} & set(ranked)  # 8 read where 3 was stamped
    assert all(s < 0.1 for v, s in serial_readings(interpreter.interpret(lines), k=5)[1:])


def test_look_alike_that_fixes_the_character_classes_ranks_first_among_them(interpreter: Interpreter,
                                                                           line) -> None:  # type: ignore[no-untyped-def]
    ranked = serial_readings(interpreter.interpret([line("52O417", p=0.99)]), k=5)
    assert ranked[0][0] == "52O417"
    assert ranked[1][0] == "520417"  # O between digits is the usual misread of 0


def test_look_alike_never_outranks_its_parent(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    ranked = serial_readings(interpreter.interpret([line("B8O417", p=0.99)]), k=8)
    assert ranked[0][0] == "B8O417"
    assert all(s <= ranked[0][1] for _, s in ranked)


def test_cyrillic_prefix_read_as_latin_look_alikes(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    marks = interpreter.interpret([line("WT 10077", p=0.99)])
    values = [v for v, _ in serial_readings(marks, k=8)]
    assert values[0] == "WT10077"
    assert "ШТ10077" in values  # Ш read as W, Т as T
    assert not any(is_cyrillic(c) for v in values if v.isdigit() for c in v)


def test_prefix_read_apart_is_the_whole_cyrillic_prefix(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    values = [v for v, _ in serial_readings(interpreter.interpret([line("K3 5167", p=0.99)]), k=20)]
    assert "КЗ5167" in values  # К and З stamped apart from the number, З read as the digit 3
    assert "К35167" not in values  # the space says where the prefix ends
    assert "К35167" in [v for v, _ in serial_readings(interpreter.interpret([line("K35167", p=0.99)]), k=20)]


def test_cyrillic_context_raises_cyrillic_readings(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    def score(lines: list[str]) -> float:
        ranked = dict(serial_readings(interpreter.interpret([line(t, p=0.99) for t in lines]), k=20))
        return ranked.get("РЦ076", 0.0)

    without = score(["PU 076"])
    assert 0.0 < without < 0.5
    assert score(["PU 076", "КРАГУЈЕВАЦ"]) > without  # Cyrillic text on the same marking
    assert score(["PU 076", "ZASTAVA"]) > without  # a maker that writes Cyrillic letters


def test_plain_numbers_get_no_cyrillic_readings(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    values = [v for v, _ in serial_readings(interpreter.interpret([line("5369473", p=0.99)]), k=20)]
    assert values and not any(is_cyrillic(c) for v in values for c in v)


@pytest.mark.parametrize(
    "lines",
    [["MADE IN USA"], ["CAL. 9 MM"], ["SAFE FIRE"], ["PROOF TESTED"], ["SIG SAUER"], ["BOSS BASS"]],
)
def test_look_alikes_make_no_confident_serial_of_words(interpreter: Interpreter, line, lines: list[str]) -> None:  # type: ignore[no-untyped-def]
    marks = interpreter.interpret([line(t, p=0.99) for t in lines])
    assert all(s < 0.5 for _, s in serial_readings(marks, k=50))


@pytest.mark.parametrize("text", ["РГ 60153", "-РГ 60153", "РГ. 60153"])
def test_a_prefix_with_a_stray_hyphen_or_dot_is_still_read_with_its_number(interpreter: Interpreter, line,  # type: ignore[no-untyped-def]
                                                                            text: str) -> None:
    # the prefix letters read less surely than the digits, as Cyrillic letters are
    g = text.index("Г")
    ranked = serial_readings(interpreter.interpret([line(text, p=0.97, alts={g: [("Г", 0.45), ("Ґ", 0.2)]})]), k=8)
    assert ranked[0][0] == "РГ60153"
    assert "60153" in [v for v, _ in ranked]  # the number alone is still offered, below
