"""Enhancement operators (pure, shape-keeping, doing what they claim) and per-character fusion."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.imaging import render_text_image
from vision.ctc import DecodedText
from vision.enhance import OPERATORS, VARIANTS, describe, ink_is_dark, join_dots, variant
from vision.fusion import disagreement, fuse
from vision.types import CharChoice


def _line(text: str = "SN 8B0O1IZ2", dark_ink: bool = True) -> np.ndarray:
    bg, ink = ((200, 200, 200), (40, 40, 40)) if dark_ink else ((60, 60, 60), (220, 220, 220))
    img = render_text_image([(text, (10, 8), 48)], size=(420, 70), background=bg, ink=ink, noise=3.0)
    return cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_operators_are_pure_and_keep_the_shape(name: str) -> None:
    crop = _line()
    before = crop.copy()
    fn, params = OPERATORS[name]
    out = fn(crop, params)
    assert np.array_equal(crop, before)  # the input is never changed
    assert out.shape == crop.shape and out.dtype == np.uint8
    assert out is not crop


def test_invert_flips_polarity() -> None:
    crop = _line(dark_ink=True)
    assert ink_is_dark(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY))
    out = VARIANTS["invert"].apply(crop)
    assert not ink_is_dark(cv2.cvtColor(out, cv2.COLOR_BGR2GRAY))


def test_flatten_removes_an_illumination_ramp() -> None:
    crop = _line().astype(np.float32)
    ramp = np.linspace(0.25, 1.0, crop.shape[1], dtype=np.float32)[None, :, None]
    shaded = (crop * ramp).clip(0, 255).astype(np.uint8)
    grey = cv2.cvtColor(shaded, cv2.COLOR_BGR2GRAY)
    flat = cv2.cvtColor(VARIANTS["flatten"].apply(shaded), cv2.COLOR_BGR2GRAY)
    # the ground (the top rows, above the text) varies far less from left to right once flattened
    def spread(g: np.ndarray) -> float:
        ground = g[:4].astype(np.float32).mean(axis=0)
        return float(ground[-40:].mean() - ground[:40].mean())
    assert spread(grey) > 80
    assert abs(spread(flat)) < 0.3 * spread(grey)


def test_join_dots_connects_a_dot_matrix_stroke() -> None:
    img = np.full((60, 200), 210, np.uint8)
    for x in range(20, 180, 9):  # a horizontal stroke made of separate dots
        cv2.circle(img, (x, 30), 3, 40, -1)
    crop = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    def pieces(bgr: np.ndarray) -> int:
        g = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        _t, ink = cv2.threshold(g, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
        return cv2.connectedComponents(ink)[0] - 1
    assert pieces(crop) == 18
    assert pieces(join_dots(crop)) == 1


def test_parameters_are_described_for_the_provenance() -> None:
    v = variant("x", "flatten", "clahe")
    assert describe(v.chain) == "flatten(sigma=1.0)+clahe(clip=2.0,tiles=4)"


def _read(text: str, conf: float = 0.9, p: float = 0.9, alt: dict[int, str] | None = None) -> DecodedText:
    alt = alt or {}
    chars = tuple(
        CharChoice(((c, p), (alt.get(i, "#"), round(1 - p, 6))), span=(i / len(text), (i + 1) / len(text)))
        for i, c in enumerate(text)
    )
    return DecodedText(text, conf, chars)


def test_fusion_votes_per_character_and_keeps_the_rival() -> None:
    fused = fuse([_read("AB0123"), _read("A80123"), _read("AB0123")])
    assert fused.text == "AB0123"
    pos1 = dict(fused.chars[1].alternatives)
    assert pos1["B"] > pos1["8"] > 0.2  # one reading in three said 8: it stays as the alternative


def test_fusion_drops_a_character_most_readings_lack_and_ignores_a_lone_insertion() -> None:
    assert fuse([_read("7R45"), _read("7R45"), _read("7RX45")]).text == "7R45"
    assert fuse([_read("7R45"), _read("745"), _read("745")]).text == "745"


def test_fusion_weights_confident_readings() -> None:
    fused = fuse([_read("K1", conf=0.2), _read("KI", conf=0.95)], weights=[0.2, 0.95])
    assert fused.text == "KI"
    assert fuse([_read("K1", conf=0.95), _read("KI", conf=0.2)], weights=[0.95, 0.2]).text == "K1"


def test_fusion_of_one_or_none() -> None:
    one = _read("ABC")
    assert fuse([one]) is one
    assert fuse([DecodedText("", 0.0, ())]).text == ""
    assert disagreement([_read("ABC"), _read("ABC")]) == 0.0
    assert disagreement([_read("ABC"), _read("XYZ"), _read("ABC")]) > 0.2
