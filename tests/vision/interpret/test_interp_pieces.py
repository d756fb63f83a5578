"""A serial the detector cut into two boxes along one line (a letter prefix stamped apart from its
number, two boxes that overlap over a worn stretch): the two are read together as one more
candidate, and only where the boxes continue one another."""

from __future__ import annotations

from dataclasses import replace

from tests.vision.interpret.conftest import make_line
from vision.geometry import continues
from vision.interpret import Interpreter, serial_readings
from vision.types import MarkKind, Quad, TextLine


def _at(text: str, x0: float, y0: float = 0.0, pitch: float = 10.0, height: float = 12.0,
        p: float = 0.97) -> TextLine:
    w = pitch * len(text)
    return replace(make_line(text, p=p), quad=Quad.from_points([[x0, y0], [x0 + w, y0], [x0 + w, y0 + height],
                                                               [x0, y0 + height]]))


def _values(interpreter: Interpreter, lines: list[TextLine]) -> list[str]:
    return [v for v, _ in serial_readings(interpreter.interpret(lines), k=20)]


def test_a_prefix_in_its_own_box_is_read_with_the_number_after_it(interpreter: Interpreter) -> None:
    lines = [_at("KP", 0), _at("983062", 34)]  # 14 px apart: about a line height
    values = _values(interpreter, lines)
    assert "KP983062" in values
    assert "983062" in values  # the number alone is still offered
    joined = next(m for m in interpreter.interpret(lines) if m.kind == MarkKind.SERIAL and
                  "KP983062" in (m.value, *(v for v, _ in m.alternatives)))
    assert joined.line_indices == (0, 1)


def test_overlapping_boxes_take_the_characters_they_share_once(interpreter: Interpreter) -> None:
    # '42-27' and '270166' overlap by two characters, which both boxes read
    values = _values(interpreter, [_at("42-27", 0), _at("270166", 30)])
    assert "42270166" in values
    assert "4227270166" not in values


def test_overlapping_boxes_that_read_their_shared_part_otherwise_are_not_joined(interpreter: Interpreter) -> None:
    values = _values(interpreter, [_at("42-27", 0), _at("510166", 30)])
    assert not any(v.startswith("4227") and len(v) > 5 for v in values)


def test_boxes_on_other_rows_or_far_apart_are_not_joined(interpreter: Interpreter) -> None:
    below = _values(interpreter, [_at("KP", 0), _at("983062", 34, y0=30)])
    far = _values(interpreter, [_at("KP", 0), _at("983062", 80)])  # five line heights on
    assert not any("KP98" in v for v in below + far)


def test_fields_side_by_side_on_a_plate_are_not_one_serial(interpreter: Interpreter) -> None:
    # apart, only a letter prefix joins the number after it: a plate's row holds separate fields
    assert "123456789012" not in _values(interpreter, [_at("123456", 0), _at("789012", 70)])
    assert "EAAN162116" not in _values(interpreter, [_at("EAAN16", 0), _at("2116", 70)])
    assert not any(v.endswith("KG") for v in _values(interpreter, [_at("1995", 0), _at("kg", 50)]))


def test_continues_wants_the_same_row_and_direction() -> None:
    a = Quad.from_points([[0, 0], [50, 0], [50, 12], [0, 12]])
    after = Quad.from_points([[60, 0], [120, 0], [120, 12], [60, 12]])
    assert continues(a, after) == 10.0
    assert continues(after, a) is None  # it comes before, not after
    turned = Quad.from_points([[120, 12], [60, 12], [60, 0], [120, 0]])  # read the other way
    assert continues(a, turned) is None
    taller = Quad.from_points([[60, -10], [120, -10], [120, 22], [60, 22]])
    assert continues(a, taller) is None
    overlapping = Quad.from_points([[30, 1], [90, 1], [90, 13], [30, 13]])
    assert continues(a, overlapping) == -20.0
