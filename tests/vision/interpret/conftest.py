"""Fixtures for the interpret stage: one shared interpreter and a builder of hand-made TextLines."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pytest

from vision.interpret import Interpreter, build_interpreter
from vision.types import CharChoice, Quad, TextLine

Alts = Mapping[int, Sequence[tuple[str, float]]]
LineMaker = Callable[..., TextLine]


def make_line(text: str, p: float = 0.99, alts: Alts | None = None, y: float = 0.0) -> TextLine:
    """A line read with probability ``p`` per character; ``alts`` overrides positions with
    explicit (char, probability) alternatives, best first."""
    alts = alts or {}
    chars = tuple(
        CharChoice(tuple(alts[i]) if i in alts else ((c, p),)) for i, c in enumerate(text)
    )
    quad = Quad.from_points([[0, y], [10 * max(1, len(text)), y], [10 * max(1, len(text)), y + 12], [0, y + 12]])
    return TextLine(text, p if not alts else min(p, *(a[0][1] for a in alts.values())), quad, chars)


@pytest.fixture(scope="session")
def interpreter() -> Interpreter:
    return build_interpreter()


@pytest.fixture()
def line() -> LineMaker:
    return make_line
