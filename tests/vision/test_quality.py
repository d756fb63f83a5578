"""Quality assessment: each warning fires on the fault it names and not on a good photo."""

from __future__ import annotations

import cv2
import numpy as np

from tests.imaging import render_text_image
from vision.quality import QualityConfig, advise, assess, edge_measures


def _photo(font: int = 60) -> np.ndarray:
    img = render_text_image([("ZASTAVA M70 AB2", (200, 300), font), ("SN 8B0O1IZ2", (200, 420), font)],
                            size=(1200, 800), background=(120, 124, 130), ink=(20, 20, 24), noise=4.0)
    return cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)


def _text_crop(photo: np.ndarray) -> np.ndarray:
    return photo[400:500, 190:800]


def _codes(photo: np.ndarray, height: float = 60.0) -> set[str]:
    q = assess(photo, crops=[_text_crop(photo)], line_heights=[height])
    return {w.code for w in advise(q)}


def test_a_good_photo_gets_no_advice() -> None:
    assert _codes(_photo()) == set()


def test_defocus_is_out_of_focus_and_motion_is_hold_still() -> None:
    photo = _photo()
    defocused = cv2.GaussianBlur(photo, (0, 0), 4.0)
    assert "out_of_focus" in _codes(defocused)
    kernel = np.zeros((1, 25), np.float32)
    kernel[0, :] = 1 / 25
    moved = cv2.filter2D(photo, -1, kernel)
    codes = _codes(moved)
    assert "motion_blur" in codes and "out_of_focus" not in codes


def test_edge_width_grows_with_blur() -> None:
    crop = _text_crop(_photo())
    widths = [edge_measures(cv2.GaussianBlur(crop, (0, 0), s) if s else crop)[0] for s in (0, 2, 4)]  # type: ignore[index]
    assert widths[0] < widths[1] < widths[2]
    assert widths[0] < 3.0


def test_small_characters_ask_to_move_closer_with_the_height() -> None:
    q = assess(_photo(), crops=[], line_heights=[9.0])
    small = [w for w in advise(q) if w.code == "small_text"]
    assert small and dict(small[0].values)["char_height_px"] == "9"
    assert "9 px" in small[0].message


def test_glare_on_the_text_is_reported() -> None:
    photo = _photo()
    glared = photo.copy()
    cv2.ellipse(glared, (480, 450), (260, 70), 0, 0, 360, (255, 255, 255), -1)
    grey_side = 640 / max(photo.shape[:2])
    mask = np.zeros((round(photo.shape[0] * grey_side), round(photo.shape[1] * grey_side)), bool)
    mask[round(400 * grey_side):round(500 * grey_side), round(190 * grey_side):round(800 * grey_side)] = True
    q_clean = assess(photo, text_masks=[mask])
    q_glare = assess(glared, text_masks=[mask])
    assert q_clean.glare_text is not None and q_clean.glare_text < 0.01
    assert q_glare.glare_text is not None and q_glare.glare_text > 0.3
    assert "glare" in {w.code for w in advise(q_glare)}
    assert "glare" not in {w.code for w in advise(q_clean)}


def test_exposure() -> None:
    dark = (_photo().astype(np.float32) * 0.2).astype(np.uint8)
    assert "too_dark" in {w.code for w in advise(assess(dark))}
    burnt = np.clip(_photo().astype(np.int16) + 180, 0, 255).astype(np.uint8)
    assert "overexposed" in {w.code for w in advise(assess(burnt))}
    assert {w.code for w in advise(assess(_photo()))} == set()


def test_thresholds_are_configurable() -> None:
    q = assess(_photo(), crops=[], line_heights=[20.0])
    assert not advise(q)
    assert [w.code for w in advise(q, QualityConfig(small_chars_px=24))] == ["small_text"]
