"""Proof marks: the starter gallery, matching symbol crops, unknown symbols, user-added marks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.interpret import UNKNOWN_MARK, ProofMarkMatcher, build_interpreter
from vision.interpret.resources import GALLERY_DIR
from vision.interpret.starter_gallery import MARKS, render, write_gallery
from vision.types import MarkKind, Quad, TextLine


def photo_with(symbol: np.ndarray, angle: float = 6.0, invert: bool = False, seed: int = 0) -> tuple[np.ndarray, Quad]:
    """A grey 'metal' photo with the symbol stamped at (140, 60), scaled, rotated, blurred, noisy."""
    rng = np.random.default_rng(seed)
    h, w = symbol.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 0.7)
    g = cv2.warpAffine(symbol, m, (w, h), borderValue=255)
    g = cv2.GaussianBlur(g, (5, 5), 1.0).astype(np.float32) / 255.0
    patch = 120 - (1 - g) * 70 if not invert else 120 + (1 - g) * 70  # stamped: darker, or lit edges
    img = np.full((260, 360), 120, np.float32) + rng.normal(0, 10, (260, 360))
    img[60: 60 + h, 140: 140 + w] = patch + rng.normal(0, 10, patch.shape)
    bgr = cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    return bgr, Quad.from_points([[140, 60], [140 + w, 60], [140 + w, 60 + h], [140, 60 + h]])


@pytest.fixture(scope="module")
def matcher() -> ProofMarkMatcher:
    return ProofMarkMatcher.from_folder(GALLERY_DIR)


def test_shipped_gallery_loads(matcher: ProofMarkMatcher) -> None:
    assert {m.id for m in matcher.references} == set(MARKS)
    assert all(m.name for m in matcher.references)


@pytest.mark.parametrize("mark_id", sorted(MARKS))
@pytest.mark.parametrize(("thickness", "angle", "invert"), [(2, -9.0, False), (4, 7.0, True)])
def test_drawn_marks_are_recognised(matcher: ProofMarkMatcher, mark_id: str, thickness: int, angle: float,
                                    invert: bool) -> None:
    img, quad = photo_with(render(mark_id, thickness), angle, invert)
    marks = matcher.marks(img, (), [quad])
    assert [m.value for m in marks] == [next(r.name for r in matcher.references if r.id == mark_id)]
    assert marks[0].kind == MarkKind.PROOF and marks[0].score >= 0.8
    assert "box=" in marks[0].detail


@pytest.mark.parametrize("shape", ["ring", "square", "Q"])
def test_unknown_symbol_is_reported_not_dropped(matcher: ProofMarkMatcher, shape: str) -> None:
    g = np.full((128, 128), 255, np.uint8)
    if shape == "ring":
        cv2.circle(g, (64, 64), 40, 0, 4)
    elif shape == "square":
        cv2.rectangle(g, (30, 30), (98, 98), 0, 4)
    else:
        cv2.putText(g, "Q", (30, 100), cv2.FONT_HERSHEY_SIMPLEX, 3, 0, 6)
    img, quad = photo_with(g)
    marks = matcher.marks(img, (), [quad])
    assert [m.value for m in marks] == [UNKNOWN_MARK]
    assert "box=" in marks[0].detail and "nearest=" in marks[0].detail


def test_blank_region_gives_nothing(matcher: ProofMarkMatcher) -> None:
    img = np.full((100, 100, 3), 128, np.uint8)
    assert matcher.marks(img, (), [Quad.from_points([[10, 10], [60, 10], [60, 60], [10, 60]])]) == []


def test_user_adds_a_mark_without_code(tmp_path: Path) -> None:
    write_gallery(tmp_path)
    folder = tmp_path / "xx-house-mark"
    folder.mkdir()
    (folder / "mark.json").write_text(json.dumps({"name": "House mark", "country": "RS", "kind": "import"}))
    ref = np.full((128, 128), 255, np.uint8)
    cv2.rectangle(ref, (20, 20), (108, 108), 0, 5)
    cv2.line(ref, (20, 20), (108, 108), 0, 5)
    cv2.circle(ref, (64, 40), 10, 0, -1)
    cv2.imwrite(str(folder / "ref.png"), ref)
    interpreter = build_interpreter(gallery_dir=tmp_path)
    img, quad = photo_with(ref, angle=-5.0, invert=True)
    marks = interpreter.interpret([], image=img, symbol_regions=[quad])
    assert [(m.kind, m.value) for m in marks] == [(MarkKind.IMPORTER, "House mark")]
    shutil.rmtree(folder)


def test_symbol_like_line_is_matched(line) -> None:  # type: ignore[no-untyped-def]
    interpreter = build_interpreter()
    img, quad = photo_with(render("ru-tula-star", 3))
    symbol_line = TextLine("*", 0.2, quad, line("*").chars)
    marks = interpreter.interpret([line("ТУЛА"), symbol_line], image=img)
    proof = [m for m in marks if m.kind == MarkKind.PROOF]
    assert proof and proof[0].value == "Tula arsenal: star" and proof[0].line_indices == (1,)


def test_no_image_no_proof_marks(line) -> None:  # type: ignore[no-untyped-def]
    interpreter = build_interpreter()
    assert not [m for m in interpreter.interpret([line("*")]) if m.kind == MarkKind.PROOF]


@pytest.mark.parametrize(
    ("text", "proof"),
    [
        ("BNP", "Birmingham nitro proof"),
        ("CIP", "C.I.P. proof"),
        ("B C P", "Birmingham proof (crossed sceptres, B C P)"),
        ("N", "German nitro proof (eagle over N)"),
    ],
)
def test_proof_letters_read_as_text(line, text: str, proof: str) -> None:  # type: ignore[no-untyped-def]
    marks = build_interpreter(gallery_dir=None).interpret([line(text)])
    assert [m.value for m in marks if m.kind == MarkKind.PROOF] == [proof]


def test_letters_before_a_number_are_a_serial_prefix(line) -> None:  # type: ignore[no-untyped-def]
    marks = build_interpreter(gallery_dir=None).interpret([line("GP 1234567")])
    assert not [m for m in marks if m.kind == MarkKind.PROOF]
    assert next(m for m in marks if m.kind == MarkKind.SERIAL).value == "GP1234567"
