from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from benchmarks.synth.scene import Spec, generate_sample
from vision.headstamp import (
    HeadstampConfig,
    Vocabulary,
    default_vocabulary,
    find_heads,
    parse,
    read_headstamp,
    unroll,
)
from vision.pipeline import Pipeline
from vision.types import CharChoice, Quad, TextLine

CFG = HeadstampConfig()


def _bgr(seed: int, group: str, size: str | None = "closeup") -> tuple[np.ndarray, list[str]]:
    sample = generate_sample(seed, Spec(group=group, size=size, clean=True))
    return cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR), [t.text for t in sample.lines]


def _case_head(size: tuple[int, int], centre: tuple[int, int], axes: tuple[int, int], angle: float,
               primer: float | None) -> np.ndarray:
    """A bright disc (or ellipse) on a dark, noisy background, with a darker primer inside."""
    rng = np.random.default_rng(0)
    img = np.full((size[1], size[0], 3), 40, np.uint8)
    cv2.ellipse(img, centre, axes, angle, 0, 360, (120, 170, 200), -1, cv2.LINE_AA)
    if primer is not None:
        inner = (round(axes[0] * primer), round(axes[1] * primer))
        cv2.ellipse(img, centre, inner, angle, 0, 360, (70, 100, 120), -1, cv2.LINE_AA)
    noise = rng.normal(0, 4, img.shape)
    return np.clip(img.astype(np.float64) + noise, 0, 255).astype(np.uint8)


def _reads(text: str, p: float = 0.9) -> list[tuple[tuple[str, float], ...]]:
    return [((ch, p),) for ch in text]


# --- finding the head ------------------------------------------------------------------------


def test_a_drawn_case_head_is_found_with_its_primer() -> None:
    img = _case_head((1200, 900), (640, 430), (300, 300), 0.0, 0.32)
    heads = find_heads(img, CFG)
    assert len(heads) == 1
    h = heads[0]
    assert math.hypot(h.cx - 640, h.cy - 430) < 4
    assert abs(h.radius - 300) < 0.03 * 300
    assert abs(h.primer - 0.32) < 0.04


def test_a_head_seen_at_an_angle_is_fitted_as_an_ellipse() -> None:
    img = _case_head((1000, 1000), (500, 520), (320, 240), 30.0, 0.3)
    heads = find_heads(img, CFG)
    assert heads, "no head found"
    h = heads[0]
    assert abs(max(h.a, h.b) - 320) < 0.04 * 320 and abs(min(h.a, h.b) - 240) < 0.04 * 240
    # the fitted ellipse passes through the drawn rim at its ends
    x, y = h.point(np.linspace(0, 2 * math.pi, 8, endpoint=False), 1.0)
    ca, sa = math.cos(math.radians(30)), math.sin(math.radians(30))
    u = ((x - 500) * ca + (y - 520) * sa) / 320
    v = (-(x - 500) * sa + (y - 520) * ca) / 240
    assert np.all(np.abs(np.hypot(u, v) - 1) < 0.05)


@pytest.mark.parametrize(
    "img",
    [
        np.full((600, 800, 3), 128, np.uint8),  # nothing at all
        _case_head((900, 900), (450, 450), (300, 300), 0.0, None),  # a plain disc (a coin): no primer
    ],
    ids=["blank", "disc-without-primer"],
)
def test_no_head_without_rim_and_primer(img: np.ndarray) -> None:
    assert find_heads(img, CFG) == []


def test_unrolled_strip_puts_the_band_in_a_straight_strip() -> None:
    img, _truth = _bgr(6, "headstamp")
    head = find_heads(img, CFG)[0]
    strip = unroll(img, head, CFG)
    assert strip.width > 4 * strip.height
    assert 0.4 <= strip.inner < strip.outer <= 1.0
    assert strip.frac(0) == pytest.approx(strip.outer) and strip.frac(strip.height - 1) == pytest.approx(strip.inner)


# --- matching reads against the vocabulary -----------------------------------------------------


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        ("CBC", ["CBC"]),
        ("C B C", ["CBC"]),  # widely stamped letters, spaces read between them
        ("NNY", ["ППУ"]),  # Cyrillic П read as N by a recogniser without Cyrillic
        ("ΠΠY", ["ППУ"]),  # ... or as Greek Π
        ("9-Δ", ["9-Д"]),
        ("5.5610", ["5.56", "10"]),  # two tokens read as one: split by the vocabulary
        ("PMC7.62x39", ["PMC", "7.62x39"]),
        ("CBG", ["CBC"]),  # one look-alike in a three-letter code
        ("IX", ["IX"]),  # a confident Roman numeral is not turned into the code IK
        ("VIII", ["VIII"]),
        ("380", ["380"]),  # calibre .380: the unread point is not invented
        ("7 9", ["79"]),  # a two-digit year read with a gap
    ],
)
def test_parse_reads(read: str, expected: list[str]) -> None:
    _gain, pieces = parse(default_vocabulary(), _reads(read), CFG.min_token_conf)
    assert [p.text for p in pieces] == expected


def test_recogniser_alternatives_make_a_match() -> None:
    vocab = default_vocabulary()
    offered = [(("C", 0.9),), (("A", 0.5), ("B", 0.4)), (("C", 0.9),)]
    _gain, pieces = parse(vocab, offered, CFG.min_token_conf)
    assert [(p.text, p.code) for p in pieces] == [("CBC", "CBC")]
    not_offered = [(("C", 0.9),), (("A", 0.9), ("R", 0.05)), (("C", 0.9),)]
    _gain, pieces = parse(vocab, not_offered, CFG.min_token_conf)
    assert all(p.code != "CBC" for p in pieces)


def test_unsure_reads_are_not_kept() -> None:
    _gain, pieces = parse(default_vocabulary(), _reads("QX", 0.4), CFG.min_token_conf)
    assert pieces == []


def test_vocabulary_from_data() -> None:
    vocab = Vocabulary.from_data({
        "codes": [{"code": "ZZ", "aliases": ["ZZ", "ЗЗ"], "maker": "Test", "country": "RS"}],
        "calibres": ["7.62"],
        "reads_as": {"З": ["3"]},
        "confusions": ["2Z"],
        "patterns": [{"kind": "date", "regex": "^[0-9]{2}$", "weight": 0.9}],
    })
    _gain, pieces = parse(vocab, _reads("33"), 0.75)
    assert [(p.text, p.kind, p.code) for p in pieces] == [("ЗЗ", "maker", "ZZ")]


# --- reading generated headstamps ----------------------------------------------------------------


@pytest.mark.parametrize("seed", [2, 6, 9, 12])
def test_generated_headstamps_are_read(pipeline: Pipeline, seed: int) -> None:
    sample = generate_sample(seed, Spec(group="headstamp", size="closeup", clean=True))
    img = cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR)
    truth = sample.lines[0]
    read = read_headstamp(img, pipeline.recognizer)
    assert read is not None
    got = {w.upper() for line in read.lines for w in line.text.split()}
    assert got == {w.upper() for w in truth.text.split()}
    # the head is where the generator put it (truth quad = the rim's square)
    q = np.array(truth.quad)
    cx, cy = q.mean(axis=0)
    radius = float(np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[1])) / 4
    assert math.hypot(read.head.cx - cx, read.head.cy - cy) < 0.05 * radius
    assert abs(read.head.radius - radius) < 0.06 * radius
    for line in read.lines:
        assert line.variant == "polar" and line.angle in (0, 180)
        assert len(line.chars) == len(line.text)
        assert all(c.best == ch for c, ch in zip(line.chars, line.text, strict=True))
        assert all(sum(p for _c, p in c.alternatives) <= 1.0001 for c in line.chars)
        # each token's box lies on the band round the primer
        mx, my = np.mean(line.quad.points, axis=0)
        assert 0.35 * radius < math.hypot(mx - cx, my - cy) < 1.0 * radius
    assert [s.name for s in read.steps] == [
        "headstamp_find", "headstamp_unroll", "headstamp_recognise", "headstamp_match"]


@pytest.mark.parametrize(("seed", "group"), [(3, "stamped"), (4, "printed"), (5, "negative"), (7, "engraved")])
def test_other_photos_are_not_headstamps(pipeline: Pipeline, seed: int, group: str) -> None:
    img, _truth = _bgr(seed, group, size=None)
    assert read_headstamp(img, pipeline.recognizer) is None


def test_lines_on_the_head_are_covered(pipeline: Pipeline) -> None:
    img, _truth = _bgr(9, "headstamp")
    read = read_headstamp(img, pipeline.recognizer)
    assert read is not None
    h = read.head
    for line in read.lines:
        assert read.covers(line.quad)
    far = Quad.from_points([(h.cx + 2 * h.a, h.cy + 2 * h.a), (h.cx + 2.5 * h.a, h.cy + 2 * h.a),
                            (h.cx + 2.5 * h.a, h.cy + 2.2 * h.a), (h.cx + 2 * h.a, h.cy + 2.2 * h.a)])
    assert not read.covers(far)
    on_head = TextLine("3 C", 0.9, read.lines[0].quad, (CharChoice((("3", 0.9),)), CharChoice(((" ", 0.9),)),
                                                         CharChoice((("C", 0.9),))))
    elsewhere = TextLine("SN 123", 0.9, far, tuple(CharChoice(((ch, 0.9),)) for ch in "SN 123"))
    merged = read.merged_with([on_head, elsewhere])
    assert merged == (elsewhere, *read.lines)


def test_a_grey_photo_is_read_too(pipeline: Pipeline) -> None:
    img, truth = _bgr(12, "headstamp")
    read = read_headstamp(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), pipeline.recognizer)
    assert read is not None
    assert {w.upper() for line in read.lines for w in line.text.split()} == {w.upper() for w in truth[0].split()}
