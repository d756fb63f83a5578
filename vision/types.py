"""Frozen records passed between the stages of the pipeline.

Geometry is always in pixels of the original image *after* EXIF orientation has been
applied (the image as a person sees it). Converters to wire formats live outside these types.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Quad:
    """Four corner points, clockwise from the top-left of the text as read."""

    points: tuple[Point, Point, Point, Point]

    def __post_init__(self) -> None:
        if len(self.points) != 4:
            raise ValueError("a Quad has exactly four points")

    @classmethod
    def from_points(cls, pts: Sequence[Sequence[float]]) -> Quad:
        if len(pts) != 4:
            raise ValueError(f"a Quad has exactly four points, got {len(pts)}")
        p = tuple((float(x), float(y)) for x, y in pts)
        return cls((p[0], p[1], p[2], p[3]))

    def __iter__(self) -> Iterator[Point]:
        return iter(self.points)

    @property
    def width(self) -> float:
        """Mean length of the top and bottom edges (along the text)."""
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = self.points
        top = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
        bottom = ((x2 - x3) ** 2 + (y2 - y3) ** 2) ** 0.5
        return float(top + bottom) / 2

    @property
    def height(self) -> float:
        """Mean length of the left and right edges (across the text)."""
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = self.points
        left = ((x3 - x0) ** 2 + (y3 - y0) ** 2) ** 0.5
        right = ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5
        return float(left + right) / 2

    def bounds(self) -> tuple[float, float, float, float]:
        xs = [p[0] for p in self.points]
        ys = [p[1] for p in self.points]
        return min(xs), min(ys), max(xs), max(ys)

    def as_lists(self) -> list[list[float]]:
        return [[round(x, 1), round(y, 1)] for x, y in self.points]


@dataclass(frozen=True, slots=True)
class CharChoice:
    """Top-k alternatives for one character position, best first.

    ``alternatives`` holds (character, probability) pairs; probabilities are after the
    alphabet restriction and temperature of the decoder, so they sum to at most 1.
    """

    alternatives: tuple[tuple[str, float], ...]
    # Where the character lies along the line, as fractions of the line's length (start, end).
    span: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        if not self.alternatives:
            raise ValueError("a CharChoice needs at least one alternative")

    @property
    def best(self) -> str:
        return self.alternatives[0][0]

    @property
    def p(self) -> float:
        return self.alternatives[0][1]


@dataclass(frozen=True, slots=True)
class TextLine:
    text: str
    confidence: float
    quad: Quad
    chars: tuple[CharChoice, ...]
    variant: str = "original"
    angle: int = 0  # rotation (degrees, clockwise) applied to the crop before reading
    # Other readings of the whole line (text, weight against ``text``), best first: where the
    # recognisers disagree, or a reading a character longer or shorter is nearly as likely.
    alternates: tuple[tuple[str, float], ...] = ()


class MarkKind(StrEnum):
    SERIAL = "serial"
    MAKER = "maker"
    MODEL = "model"
    CALIBRE = "calibre"
    COUNTRY = "country"
    IMPORTER = "importer"
    PROOF = "proof"
    DATE = "date"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class MarkCandidate:
    kind: MarkKind
    value: str
    score: float
    alternatives: tuple[tuple[str, float], ...] = ()
    line_indices: tuple[int, ...] = ()
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ReadWarning:
    """A condition worth telling the user about; ``code`` is stable, ``message`` is for people."""

    code: str
    message: str
    # The figures the message quotes, by name (e.g. ``char_height_px``), for translated messages.
    values: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    ms: float
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ModelInfo:
    task: str
    name: str
    version: str
    sha256: str
    source: str


@dataclass(frozen=True, slots=True)
class Provenance:
    sha256: str
    size_bytes: int
    format: str
    width: int
    height: int
    exif_orientation: int
    steps: tuple[Step, ...] = ()
    models: tuple[ModelInfo, ...] = ()
    libraries: tuple[tuple[str, str], ...] = ()
    code_version: str = ""


@dataclass(frozen=True, slots=True)
class Recognition:
    lines: tuple[TextLine, ...]
    provenance: Provenance
    marks: tuple[MarkCandidate, ...] = ()
    warnings: tuple[ReadWarning, ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)
