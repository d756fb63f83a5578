"""The project's own markings recogniser: shipped, pinned, loadable, and reading Cyrillic."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from models.registry import ModelStore, OrtConfig, load_manifest, locate, sha256_file
from vision.charset import CYRILLIC, DIGITS, FIREARM_MARKINGS, LATIN_LOWER, LATIN_UPPER
from vision.ctc import DecodedText
from vision.recognition import (
    MARKINGS_REC,
    FusedRecognizer,
    TextRecognizer,
    align,
    build_recognizer,
    fuse,
    harmonise_script,
)
from vision.types import CharChoice


@pytest.fixture(scope="module")
def store() -> ModelStore:
    return ModelStore(config=OrtConfig(intra_op_threads=1))


def test_the_model_is_in_the_manifest_and_its_file_matches_the_hash() -> None:
    spec = load_manifest()[MARKINGS_REC]
    assert spec.task == "rec" and spec.charset == "metadata:character"
    path = locate(spec)
    assert path.parent.name == "models" and path.is_file()
    assert sha256_file(path) == spec.sha256
    assert path.stat().st_size < 20_000_000


def test_the_character_list_in_its_metadata_covers_markings(store: ModelStore) -> None:
    model = store.get(MARKINGS_REC)
    chars = model.metadata()["character"].split("\n")
    assert len(chars) == len(set(chars))
    assert set(DIGITS + LATIN_UPPER + LATIN_LOWER + CYRILLIC) <= set(chars)
    assert set(",.-/") <= set(chars)
    assert set(chars) <= set(FIREARM_MARKINGS)
    out_classes = model.session().get_outputs()[0].shape[-1]
    assert out_classes == len(chars) + 2  # CTC blank and space


def _engraved_line(text: str, seed: int = 3) -> np.ndarray:
    """One line engraved on stainless steel by the benchmark's generator, as a BGR crop."""
    import cv2

    from benchmarks.synth import fonts, render
    from benchmarks.synth.surfaces import make_surface

    rng = np.random.default_rng(seed)
    face = next(f for f in fonts.available_fonts() if f.name == "DejaVuSans-Bold")
    size = 40
    mask = render.render_line(text, render.TextStyle(face.path, size, 0.15 * size, pad=8), rng).mask
    h, w = mask.shape
    full = np.zeros((h + 24, w + 48), np.float32)
    full[12 : 12 + h, 24 : 24 + w] = mask
    ph, pw = full.shape
    maps = make_surface("stainless", ph, pw, rng)
    render.apply_method(maps, full, "engraved", size, rng)
    img = render.shade(maps, 0.8, 0.6, 0.25)
    rgb = cv2.convertScaleAbs(img, alpha=255.0)
    return np.ascontiguousarray(rgb[:, :, ::-1])


CYRILLIC_LINES = ["ЗАСТАВА КРАГУЈЕВАЦ", "ПРВИ ПАРТИЗАН", "ДБ 48213"]


@pytest.mark.parametrize("text", CYRILLIC_LINES)
def test_a_generated_cyrillic_line_is_read_in_cyrillic(store: ModelStore, text: str) -> None:
    rec = build_recognizer(store, "markings")
    (got,) = rec.recognize([_engraved_line(text)])
    assert got.text.replace(" ", "") == text.replace(" ", "")
    assert all(c.best in CYRILLIC + DIGITS + " " for c in got.chars)


def test_the_bundled_model_cannot_read_the_same_line_in_cyrillic(store: ModelStore) -> None:
    (got,) = build_recognizer(store, "bundled").recognize([_engraved_line(CYRILLIC_LINES[0])])
    assert not any(c in CYRILLIC for c in got.text)


def test_both_models_fused_keep_the_cyrillic_reading(store: ModelStore) -> None:
    rec = build_recognizer(store, "both")
    assert isinstance(rec, FusedRecognizer)
    assert {m.spec.name for m in rec.models} == {"PP-OCRv6_rec_small", MARKINGS_REC}
    (got,) = rec.recognize([_engraved_line(CYRILLIC_LINES[0])])
    assert got.text.replace(" ", "") == CYRILLIC_LINES[0].replace(" ", "")


def test_an_unknown_choice_is_refused(store: ModelStore) -> None:
    with pytest.raises(ValueError, match="bundled, markings, both"):
        build_recognizer(store, "best")
    assert type(build_recognizer(store, "bundled")) is TextRecognizer


def _decoded(text: str, p: float, alts: dict[str, list[tuple[str, float]]] | None = None) -> DecodedText:
    alts = alts or {}
    chars = tuple(CharChoice(tuple(alts.get(c, [(c, p)])), span=(i / len(text), (i + 1) / len(text)))
                  for i, c in enumerate(text))
    return DecodedText(text, p, chars)


@pytest.mark.parametrize(
    ("a", "b", "pairs"),
    [
        ("AB12", "AB12", [(0, 0), (1, 1), (2, 2), (3, 3)]),
        ("PPU", "ППУ", [(0, 0), (1, 1), (2, 2)]),  # Latin P is the twin of Cyrillic Р only, not П
        ("K123", "К1234", [(0, 0), (1, 1), (2, 2), (3, 3), (None, 4)]),
        ("A0B", "AB", [(0, 0), (1, None), (2, 1)]),
    ],
)
def test_alignment_pairs_twins_and_gaps(a: str, b: str, pairs: list[tuple[int | None, int | None]]) -> None:
    assert align(a, b) == pairs


def test_fusion_takes_the_cyrillic_letter_the_bundled_model_reads_as_its_latin_twin() -> None:
    bundled = _decoded("KA 12", 0.99)
    markings = _decoded("КА 12", 0.7, {"К": [("К", 0.6), ("K", 0.3)], "А": [("А", 0.55), ("A", 0.4)]})
    fused = fuse(bundled, markings, weight=0.6)
    assert fused.text == "КА 12"
    assert fused.chars[0].alternatives[0][0] == "К" and fused.chars[0].p > 0.7


def test_where_both_models_agree_the_bundled_reading_stands() -> None:
    bundled = _decoded("AB123", 0.99, {"1": [("1", 0.7), ("I", 0.3)]})
    markings = _decoded("AB123", 0.8, {"1": [("1", 0.5), ("7", 0.5)]})
    assert fuse(bundled, markings) is bundled
    mixed = fuse(bundled, _decoded("AB128", 0.8))
    assert mixed.text == "AB123" and mixed.chars[2] is bundled.chars[2]


def test_fusion_leaves_a_cyrillic_line_to_the_markings_model() -> None:
    bundled = _decoded("3ACTABA", 0.99)
    markings = _decoded("ЗАСТАВА", 0.6)
    assert fuse(bundled, markings, weight=0.6) is markings


def test_fusion_settles_a_disagreement_by_weighted_probability() -> None:
    bundled = _decoded("B8", 0.9, {"8": [("8", 0.9), ("B", 0.1)]})
    markings = _decoded("BB", 0.9, {"B": [("B", 0.9), ("8", 0.1)]})
    assert fuse(bundled, markings, weight=0.6).text == "BB"
    assert fuse(bundled, markings, weight=0.2).text == "B8"


def test_fusion_keeps_an_extra_character_only_from_the_leading_model() -> None:
    bundled = _decoded("1234", 0.95)
    markings = _decoded("12345", 0.5)
    assert fuse(bundled, markings, weight=0.6).text == "1234"
    assert fuse(_decoded("1234", 0.4), _decoded("12345", 0.9), weight=0.6).text == "12345"


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        ("СAL. 9 mm", "CAL. 9 mm"),  # Cyrillic С in a Latin line (L, m only Latin)
        ("ЗАВОД ЦРВЕHА", "ЗАВОД ЦРВЕНА"),  # Latin H in a Cyrillic line
        ("СIР", "CIP"),  # only twins: Latin
        ("ШТ 10077", "ШТ 10077"),  # Ш decides: Т stays Cyrillic
        ("9-Д", "9-Д"),
        ("ДL", "ДL"),  # as many of each: left as read
    ],
)
def test_twin_letters_follow_the_script_of_the_line(read: str, expected: str) -> None:
    assert harmonise_script(_decoded(read, 0.9)).text == expected


def test_twin_probabilities_are_added_up_for_the_letter_kept() -> None:
    dec = _decoded("СAL", 0.9, {"С": [("С", 0.6), ("C", 0.3), ("G", 0.1)]})
    out = harmonise_script(dec)
    assert out.chars[0].alternatives == (("C", 0.9), ("G", 0.1))
    assert out.confidence == dec.confidence


def test_the_reading_fusion_leaves_out_stays_as_an_alternate_of_the_line() -> None:
    # the markings model reads a fifth character the bundled model, leading, does not
    fused = fuse(_decoded("1234", 0.95), _decoded("12345", 0.5), weight=0.4)
    assert fused.text == "1234"
    # each model's share, the larger counting as 1: markings 0.4 / 0.6
    assert dict(fused.alternates) == {"12345": pytest.approx(0.4 / 0.6, abs=1e-4)}
    # and each model's own other readings, at its share
    with_own = fuse(_decoded("1234", 0.95), replace(_decoded("1234", 0.9), alternates=(("1Z34", 0.5),)), weight=0.4)
    assert with_own.text == "1234"
    assert dict(with_own.alternates) == {"1Z34": pytest.approx(0.5 * 0.4 / 0.6, abs=1e-4)}


def test_alternates_are_written_in_the_script_of_the_line_and_merged() -> None:
    dec = replace(_decoded("CAL 9", 0.9), alternates=(("САL 9", 0.3), ("CAL 9", 0.2), ("CAL 8", 0.25), ("CA L8", 0.1)))
    out = harmonise_script(dec)
    assert out.text == "CAL 9"
    # the Cyrillic twins' reading is the line itself; 'CA L8' is 'CAL 8' but for a space
    assert out.alternates == (("CAL 8", 0.35),)
