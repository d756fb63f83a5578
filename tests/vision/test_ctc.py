from __future__ import annotations

import numpy as np
import pytest

from vision.charset import allowed_mask
from vision.ctc import CtcDecoder

VOCAB = ["", "0", "O", "1", "I", "8", "B", "字", " "]
IDX = {c: i for i, c in enumerate(VOCAB)}


def frames(*specs: dict[str, float]) -> np.ndarray:
    """One row per frame; unspecified mass goes to nothing (rows are renormalised)."""
    out = np.full((len(specs), len(VOCAB)), 1e-6)
    for t, spec in enumerate(specs):
        for ch, p in spec.items():
            out[t, IDX[ch]] = p
    return out / out.sum(axis=1, keepdims=True)


B = {"": 0.99}  # a blank frame


@pytest.mark.parametrize(
    ("probs", "text"),
    [
        (frames(B, B), ""),
        (frames({"8": 0.9}, {"8": 0.9}, B), "8"),  # repeats collapse
        (frames({"8": 0.9}, B, {"8": 0.9}), "88"),  # a blank separates two equal characters
        (frames({"1": 0.9}, {"0": 0.9}, {"0": 0.8}, B, {"0": 0.9}), "100"),
        (frames({"B": 0.9}, {" ": 0.9}, {"8": 0.9}), "B 8"),
    ],
)
def test_best_path(probs: np.ndarray, text: str) -> None:
    assert CtcDecoder(VOCAB).decode(probs).text == text


def test_top_k_alternatives_are_ordered_and_carry_the_look_alike() -> None:
    probs = frames({"0": 0.6, "O": 0.35}, {"0": 0.55, "O": 0.4}, B, {"1": 0.7, "I": 0.25})
    out = CtcDecoder(VOCAB).decode(probs, top_k=3)
    assert out.text == "01"
    first, second = out.chars
    assert [c for c, _ in first.alternatives[:2]] == ["0", "O"]
    assert [c for c, _ in second.alternatives[:2]] == ["1", "I"]
    ps = [p for _, p in first.alternatives]
    assert ps == sorted(ps, reverse=True) and sum(ps) <= 1.0 + 1e-6
    assert first.alternatives[1][1] == pytest.approx(0.375 / 0.95, abs=0.01)


def test_temperature_spreads_probability_to_alternatives() -> None:
    probs = frames({"8": 0.98, "B": 0.02})
    cold = CtcDecoder(VOCAB).decode(probs, temperature=1.0).chars[0].alternatives
    warm = CtcDecoder(VOCAB).decode(probs, temperature=2.0).chars[0].alternatives
    assert cold[0][0] == warm[0][0] == "8"
    assert dict(warm)["B"] > 3 * dict(cold)["B"]
    with pytest.raises(ValueError):
        CtcDecoder(VOCAB).decode(probs, temperature=0)


def test_glyphs_outside_the_alphabet_are_never_emitted() -> None:
    mask = allowed_mask(VOCAB, "01OI8B ")
    probs = frames({"字": 0.9, "8": 0.08}, B)
    out = CtcDecoder(VOCAB, mask).decode(probs)
    assert out.text == "8"
    assert all(c != "字" for c, _ in out.chars[0].alternatives)
    # without the mask, the model's best guess would be the CJK glyph
    assert CtcDecoder(VOCAB).decode(probs).text == "字"


def test_frames_limit_ignores_padding_and_spans_are_fractions() -> None:
    probs = frames({"1": 0.9}, B, {"0": 0.9}, B, {"8": 0.9}, {"8": 0.9})
    out = CtcDecoder(VOCAB).decode(probs, frames=4)
    assert out.text == "10"
    assert out.chars[0].span == (0.0, 0.25) and out.chars[1].span == (0.5, 0.75)


# --- whole-line readings (prefix beam search) -----------------------------------------------------
def test_nbest_sums_the_paths_of_a_reading_and_needs_a_blank_between_equal_characters() -> None:
    # '8' then a frame that is nearly as much blank as '8': '8' and '88' (a blank, then '8') compete
    probs = frames({"8": 0.9}, {"": 0.55, "8": 0.45}, {"8": 0.9})
    ranked = CtcDecoder(VOCAB).nbest(probs, n=3)
    texts = [t for t, _ in ranked]
    assert texts[:2] == ["88", "8"]
    # rows are renormalised, so the first and last frames are '8' for certain: '88' is the path
    # 8 - 8 alone, '8' the path 8 8 8 alone
    p88, p8 = 0.55, 0.45
    lp = dict(ranked)
    assert lp["88"] == pytest.approx(np.log(p88), abs=0.01)
    assert lp["8"] == pytest.approx(np.log(p8), abs=0.01)


def test_a_character_the_best_path_drops_comes_back_as_an_alternate() -> None:
    # the middle '0' is read under a blank: the best path says '18', but '108' is nearly as likely
    probs = frames({"1": 0.95}, B, {"": 0.6, "0": 0.4}, B, {"8": 0.95})
    out = CtcDecoder(VOCAB).decode(probs, alternates=3)
    assert out.text == "18"
    alts = dict(out.alternates)
    assert "108" in alts
    # weight against the best reading: the model's own odds, whatever temperature spreads the
    # characters' alternatives
    assert alts["108"] == pytest.approx(0.4 / 0.6, abs=0.02)
    warm = dict(CtcDecoder(VOCAB).decode(probs, alternates=3, temperature=2.0).alternates)
    assert warm["108"] == pytest.approx(0.4 / 0.6, abs=0.02)
    # and none by default
    assert CtcDecoder(VOCAB).decode(probs).alternates == ()


def test_alternates_that_differ_only_in_spaces_are_one() -> None:
    probs = frames({"B": 0.9}, {"": 0.5, " ": 0.5}, {"8": 0.6, "B": 0.4})
    out = CtcDecoder(VOCAB).decode(probs, alternates=4)
    texts = [t for t, _ in out.alternates]
    squeezed = ["".join(t.split()) for t in [out.text, *texts]]
    assert len(squeezed) == len(set(squeezed))
    assert any("".join(t.split()) == "BB" for t in texts)  # the look-alike reading of the last glyph
