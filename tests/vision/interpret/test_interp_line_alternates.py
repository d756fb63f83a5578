"""Other readings of a whole line (a second recogniser's, or one a character longer or shorter):
what they read in a serial's place is offered among the serial's alternatives, never above the
best reading, and only where the token stands."""

from __future__ import annotations

from dataclasses import replace

from vision.interpret import Interpreter, serial_readings
from vision.interpret.text import LineView
from vision.types import MarkCandidate, MarkKind


def _serials(marks: tuple[MarkCandidate, ...]) -> list[MarkCandidate]:
    return [m for m in marks if m.kind == MarkKind.SERIAL]


def test_the_token_is_found_in_each_other_reading(line) -> None:  # type: ignore[no-untyped-def]
    view = LineView.of(0, replace(line("ПХ 76626:"), alternates=(
        ("ПХ 766261", 0.4),   # a character more at the end of the number
        ("TX 7G626", 0.2),    # another reading of the same length
        ("ПХ76626", 0.3),     # the space not read
        ("ПХ", 0.1),          # nothing where the number stands
    )))
    a, b = view.tokens[1]
    assert view.alternates_of(a, b) == [("766261", 0.4), ("7G626", 0.2), ("76626", 0.3)]
    a, b = view.tokens[0]
    assert view.alternates_of(a, b) == [("ПХ", 0.4), ("TX", 0.2), ("ПХ", 0.3), ("ПХ", 0.1)]


def test_a_reading_with_a_character_more_is_offered_below_the_best(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    base = line("51649", p=0.9)
    longer = replace(base, alternates=(("516349", 0.6),))
    before = [v for v, _ in serial_readings(interpreter.interpret([base]), k=8)]
    after = [v for v, _ in serial_readings(interpreter.interpret([longer]), k=8)]
    assert "516349" not in before
    assert after[0] == before[0] == "51649"
    assert "516349" in after
    best = _serials(interpreter.interpret([longer]))[0]
    assert dict(best.alternatives)["516349"] <= best.score


def test_an_other_reading_counts_only_where_the_token_stands(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    # the other reading differs in the first token only: the second token gets nothing from it
    two = replace(line("AK47 516490", p=0.9), alternates=(("AK17 516490", 0.8),))
    values = [v for m in _serials(interpreter.interpret([two])) for v in (m.value, *(x for x, _ in m.alternatives))]
    assert "516490" in values
    assert not any(v.startswith("AK17") and v != "AK17" for v in values)
    assert not any(v.endswith("516490") and v.startswith("AK1") for v in values)


def test_a_second_model_reading_a_dot_peen_digit_otherwise_is_an_alternative(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    base = line("38314X", p=0.95)
    with_alt = replace(base, alternates=(("38314V", 0.67),))
    ranked = [v for v, _ in serial_readings(interpreter.interpret([with_alt]), k=5)]
    assert ranked[0] == "38314X" and "38314V" in ranked
    assert "38314V" not in [v for v, _ in serial_readings(interpreter.interpret([base]), k=5)]


def test_without_the_weight_the_alternates_are_not_used(line) -> None:  # type: ignore[no-untyped-def]
    from vision.interpret import build_interpreter

    interp = build_interpreter(gallery_dir=None)
    interp._serials.rules = replace(interp._serials.rules, line_alternate_weight=0.0)  # the switch under test
    with_alt = replace(line("38314X", p=0.95), alternates=(("38314V", 0.67),))
    assert "38314V" not in [v for v, _ in serial_readings(interp.interpret([with_alt]), k=8)]
