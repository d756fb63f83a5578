"""The generator's ground truth: quads enclose the ink, same seed same bytes, balanced plans."""

from __future__ import annotations

import re
from collections import Counter

import cv2
import numpy as np
import pytest

from benchmarks.synth import GROUP_SURFACES, GROUPS, Spec, content, generate_sample, plan_spec

TEXT_GROUPS = [g for g in GROUPS if g != "negative"]


def _quad_mask(shape: tuple[int, ...], quads: list[np.ndarray], grow: int) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    for q in quads:
        cv2.fillPoly(mask, [np.round(q).astype(np.int32)], 255)
    if grow:
        mask = np.asarray(cv2.dilate(mask, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)), np.uint8)
    return mask > 0


def _ink(seed: int, spec: Spec) -> tuple[np.ndarray, list[np.ndarray], tuple[int, int]]:
    """Pixels changed by drawing the markings, and the truth quads."""
    with_text = generate_sample(seed, spec)
    without = generate_sample(seed, Spec(spec.group, spec.surface, spec.size, True, False))
    diff = np.abs(with_text.image.astype(np.int16) - without.image.astype(np.int16)).max(axis=2)
    quads = [np.array(t.quad, np.float64) for t in with_text.lines]
    return diff > 12, quads, (with_text.width, with_text.height)


@pytest.mark.parametrize("group", TEXT_GROUPS)
@pytest.mark.parametrize("seed", [11, 12])
def test_quads_enclose_the_ink(group: str, seed: int) -> None:
    ink, quads, (w, h) = _ink(seed, Spec(group=group, size="closeup", clean=True))
    assert quads, "a text group always has truth lines"
    assert ink.sum() > 30, "the markings changed the image"
    inside = _quad_mask(ink.shape, quads, grow=2)
    outside = ink & ~inside
    assert outside.sum() <= 0.002 * ink.sum(), f"{outside.sum()} of {ink.sum()} ink pixels outside"
    for q in quads:
        assert (q[:, 0] >= -1).all() and (q[:, 0] <= w + 1).all()
        assert (q[:, 1] >= -1).all() and (q[:, 1] <= h + 1).all()
        one = _quad_mask(ink.shape, [q], grow=0)
        assert (ink & one).sum() > 0, "every quad holds some ink"


def test_quads_follow_a_curved_surface() -> None:
    for seed in range(60):
        spec = Spec(group="stamped", size="closeup", clean=True)
        s = generate_sample(seed, spec)
        if "curved" in s.details:
            break
    else:
        pytest.fail("no curved sample in 60 seeds")
    ink, quads, _ = _ink(seed, spec)
    outside = ink & ~_quad_mask(ink.shape, quads, grow=2)
    assert outside.sum() <= 0.002 * ink.sum()


@pytest.mark.parametrize("group", GROUPS)
def test_same_seed_same_bytes(group: str) -> None:
    a = generate_sample(5, Spec(group=group, size="closeup"))
    b = generate_sample(5, Spec(group=group, size="closeup"))
    assert a.jpeg == b.jpeg
    assert a.lines == b.lines
    assert a.notes == b.notes


def test_different_seeds_differ() -> None:
    a = generate_sample(1, Spec(group="laser", size="closeup"))
    b = generate_sample(2, Spec(group="laser", size="closeup"))
    assert a.jpeg != b.jpeg


def test_negatives_have_no_lines() -> None:
    s = generate_sample(3, Spec(group="negative", size="closeup"))
    assert s.lines == ()
    assert s.jpeg[:2] == b"\xff\xd8"


def test_quad_starts_at_the_text_top_left() -> None:
    # an upright, flat, clean sample: first corner is up-left of the third
    for seed in range(40):
        s = generate_sample(seed, Spec(group="printed", size="closeup", clean=True))
        if abs(float(s.details["rotation"])) < 20:
            break
    q = np.array(s.lines[0].quad)
    assert q[0, 0] < q[1, 0] and q[0, 1] < q[3, 1]


def test_plan_is_balanced() -> None:
    plans = [plan_spec(i) for i in range(600)]
    per_group = Counter(p.group for p in plans)
    assert set(per_group.values()) == {75}
    for group, surfaces in GROUP_SURFACES.items():
        counts = Counter(p.surface for p in plans if p.group == group)
        assert set(counts) == set(surfaces)
        assert max(counts.values()) - min(counts.values()) <= 1


@pytest.mark.parametrize(
    ("fmt", "pattern"),
    [
        ("two_letters_us", r"[A-Z]{2}\d{3}US"),
        ("four_letters_three", r"[A-Z]{4}\d{3}"),
        ("licence_prefix", r"\d{5,8}-\d{5}"),
        ("letter_suffix", r"\d{4,7}[A-Z]"),
        ("prefix_suffix", r"[A-Z]\d{4,6}[A-Z]"),
        ("cyrillic_prefix", r"[А-Я]{2} \d{3,6}"),
        ("letters_embedded", r"\d{3}[A-Z]\d{3}"),
        ("digits", r"[1-9]\d{4,7}"),
    ],
)
def test_serial_formats(fmt: str, pattern: str) -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert re.fullmatch(pattern, content.serial(rng, fmt))


def test_content_covers_the_domain() -> None:
    rng = np.random.default_rng(1)
    kinds: Counter[str] = Counter()
    texts: list[str] = []
    for _ in range(400):
        for ln in content.firearm_lines(rng):
            kinds[ln.kind] += 1
            texts.append(ln.text)
    assert {"serial", "maker", "model", "calibre", "country", "importer", "proof", "date"} <= set(kinds)
    assert any(re.search("[А-Яа-яЈЉЊЋЏЂ]", t) for t in texts), "some Cyrillic"
    assert any(t.startswith("MADE IN") for t in texts)
    labels = [ln for _ in range(20) for ln in content.evidence_label_lines(rng)]
    assert all(ln.kind in ("label", "date") for ln in labels)
