from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageFilter

from tests.imaging import to_bytes
from vision.intake import IntakeError
from vision.pipeline import ENHANCED_VARIANTS, Pipeline, ReadOptions
from vision.recognition import DirectionClassifier, DirectionConfig


def _compact(s: str) -> str:
    return "".join(s.split()).upper()


def test_reads_known_text_from_a_generated_photo(pipeline: Pipeline, make_image: Callable[..., Image.Image]) -> None:
    img = make_image([("SN AB12345", (300, 400), 64), ("CAL. 7,62x39", (300, 600), 64)], size=(2000, 1500))
    rec = pipeline.read_bytes(to_bytes(img, quality=92))
    texts = [_compact(line.text) for line in rec.lines]
    assert "SNAB12345" in texts
    assert "CAL.7,62X39" in texts
    for line in rec.lines:
        assert len(line.chars) == len(line.text)
        assert all(c.alternatives[0][0] == ch for c, ch in zip(line.chars, line.text, strict=True))
    serial = next(line for line in rec.lines if "12345" in line.text)
    x0, y0, x1, y1 = serial.quad.bounds()
    assert 250 < x0 < 320 and 380 < y0 < 430 and x1 > 600 and y1 < 500
    names = [s.name for s in rec.provenance.steps]
    assert names[:2] == ["intake", "detect"] and "recognise" in names
    assert {m.task for m in rec.provenance.models} == {"det", "rec", "cls"}


def test_small_text_in_a_large_photo_is_found(pipeline: Pipeline, make_image: Callable[..., Image.Image]) -> None:
    # 12 MP photo, capitals about 35 px high: in the 1280 px reduced copy they are 11 px high
    img = make_image([("M70AB2 123456", (1800, 1500), 48)], size=(4000, 3000))
    rec = pipeline.read_bytes(to_bytes(img, quality=90))
    assert any("123456" in line.text for line in rec.lines), [line.text for line in rec.lines]


def test_upside_down_photo_is_read_upright(pipeline: Pipeline, make_image: Callable[..., Image.Image]) -> None:
    img = make_image([("ZASTAVA M57", (300, 400), 72)]).rotate(180)
    rec = pipeline.read_bytes(to_bytes(img))
    line = next(line for line in rec.lines if "M57" in line.text)
    assert line.angle == 180
    assert line.quad.points[0][0] > line.quad.points[1][0]  # text starts on the right in the photo


def test_a_line_turned_by_mistake_is_read_the_right_way_up(
    pipeline: Pipeline, make_image: Callable[..., Image.Image]
) -> None:
    # the 0/180 classifier turns every line here (threshold 0): reading each line both ways up
    # puts it right again; without that check the turned line reads as nonsense
    img = make_image([("SN 4817305", (300, 400), 64)], size=(1400, 900))
    data = to_bytes(img, quality=92)
    always_turn = replace(pipeline, direction=DirectionClassifier(pipeline.direction.model,
                                                                   DirectionConfig(threshold=0.0)))
    unchecked = always_turn.read_bytes(data, ReadOptions(direction_check=False))
    assert not any("4817305" in line.text for line in unchecked.lines)
    rec = always_turn.read_bytes(data)
    line = next(line for line in rec.lines if "4817305" in line.text)
    assert line.angle == 0
    assert line.quad.points[0][0] < line.quad.points[1][0]  # the text starts on the left
    check = dict(next(s for s in rec.provenance.steps if s.name == "direction_check").params)
    assert int(check["changed"]) >= 1


def test_digits_that_read_either_way_up_keep_the_other_way_as_an_other_reading(
    pipeline: Pipeline, make_image: Callable[..., Image.Image]
) -> None:
    # '60890' upside down reads '06809' as well: alone on the photo, nothing says which way is up
    alone = pipeline.read_bytes(to_bytes(make_image([("60890", (300, 400), 64)], size=(1400, 900)), quality=92))
    line = next(line for line in alone.lines if line.text == "60890")
    assert "06809" in dict(line.alternates)
    check = dict(next(s for s in alone.provenance.steps if s.name == "direction_check").params)
    assert check["either_way"] == "1"
    # a word beside it, running the same way, shows which way is up
    beside = pipeline.read_bytes(to_bytes(make_image(
        [("60890", (300, 400), 64), ("MADE IN SERBIA", (300, 550), 64)], size=(1400, 900)), quality=92))
    line = next(line for line in beside.lines if line.text == "60890")
    assert "06809" not in dict(line.alternates)
    # without the check the other way is never read
    off = pipeline.read_bytes(to_bytes(make_image([("60890", (300, 400), 64)], size=(1400, 900)), quality=92),
                              ReadOptions(direction_check=False))
    assert "06809" not in dict(next(line for line in off.lines if line.text == "60890").alternates)


def test_exif_rotated_photo_is_read_and_quads_are_upright(
    pipeline: Pipeline, make_image: Callable[..., Image.Image]
) -> None:
    upright = make_image([("CZ 75 B", (300, 400), 72)])
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # stored turned; EXIF 6 turns it back
    exif = Image.Exif()
    exif[0x0112] = 6
    rec = pipeline.read_bytes(to_bytes(stored, exif=exif.tobytes()))
    assert rec.provenance.exif_orientation == 6
    assert (rec.provenance.width, rec.provenance.height) == upright.size
    line = next(line for line in rec.lines if "75" in line.text)
    x0, y0, _, _ = line.quad.bounds()
    assert 250 < x0 < 320 and 380 < y0 < 430


def test_no_text_is_a_result_with_a_warning(pipeline: Pipeline) -> None:
    flat = Image.fromarray(np.full((600, 800, 3), 120, dtype=np.uint8))
    rec = pipeline.read_bytes(to_bytes(flat))
    assert rec.lines == ()
    assert [w.code for w in rec.warnings] == ["no_text"]


def test_alternatives_follow_per_call_options(pipeline: Pipeline, make_image: Callable[..., Image.Image]) -> None:
    data = to_bytes(make_image([("B80O", (300, 400), 72)]))
    few = pipeline.read_bytes(data, ReadOptions(top_k=2))
    many = pipeline.read_bytes(data, ReadOptions(top_k=5))
    assert all(len(c.alternatives) == 2 for line in few.lines for c in line.chars)
    assert any(len(c.alternatives) == 5 for line in many.lines for c in line.chars)
    # the shared pipeline was not changed by the first call
    assert pipeline.recognizer.config.top_k == 5


def test_bad_bytes_raise_intake_error(pipeline: Pipeline) -> None:
    with pytest.raises(IntakeError):
        pipeline.read_bytes(b"not an image")


@pytest.mark.parametrize(
    "turn",
    [Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270, 15.0, 35.0, -25.0, 150.0],
    ids=["vertical-up", "vertical-down", "tilt-15", "tilt-35", "tilt-minus-25", "tilt-150"],
)
def test_rotated_and_vertical_text_is_read(
    pipeline: Pipeline, make_image: Callable[..., Image.Image], turn: Image.Transpose | float
) -> None:
    upright = make_image([("ZASTAVA M57 A12345", (300, 400), 64)])
    grey = (70, 74, 80)
    turned = upright.rotate(turn, expand=True, fillcolor=grey) if isinstance(turn, float) else upright.transpose(turn)
    rec = pipeline.read_bytes(to_bytes(turned))
    assert "ZASTAVAM57A12345" in [_compact(line.text) for line in rec.lines]


def test_second_pass_finds_marks_too_small_for_the_first(
    pipeline: Pipeline, make_image: Callable[..., Image.Image]
) -> None:
    # capitals ~23 px high in a 12 MP photo: 7 px in the reduced copy, below what the detector finds
    # on the photo itself (the flattened copy may find the line: it is left out here)
    data = to_bytes(make_image([("M70AB2 123456", (1800, 1500), 32)], size=(4000, 3000)), quality=90)
    first_only = pipeline.read_bytes(data, ReadOptions(second_pass=False, flat_pass=False))
    assert not any("123456" in line.text for line in first_only.lines)
    rec = pipeline.read_bytes(data)
    assert any("123456" in line.text for line in rec.lines)
    tiles = next(s for s in rec.provenance.steps if s.name == "detect_tiles")
    assert dict(tiles.params)["tiles"] == "4"
    x0, y0, _, _ = next(line for line in rec.lines if "123456" in line.text).quad.bounds()
    assert 1750 < x0 < 2100 and 1480 < y0 < 1530  # in full-resolution pixels, not tile pixels


def test_uncertain_lines_are_read_from_enhanced_variants_and_fused(
    pipeline: Pipeline, make_image: Callable[..., Image.Image]
) -> None:
    # soft and noisy; variant_below above 1 makes every line count as uncertain
    img = make_image([("SN 7R45102", (300, 400), 44)], size=(1400, 900), background=(90, 92, 96),
                     ink=(160, 162, 166), noise=10.0)
    img = img.filter(ImageFilter.GaussianBlur(1.2))
    data = to_bytes(img, quality=70)
    always = ReadOptions(variants=(*ENHANCED_VARIANTS, "relief"), variant_below=1.01)
    rec = pipeline.read_bytes(data, always)
    step = next(s for s in rec.provenance.steps if s.name == "variants")
    params = dict(step.params)
    assert int(params["lines"]) >= 1
    assert params["relief"].startswith("relief(kernel=")  # each operator's parameters are recorded
    fused = [line for line in rec.lines if line.variant.startswith("fused(original+")]
    assert [_compact(line.text) for line in fused] == ["SN7R45102"]
    plain = pipeline.read_bytes(data, ReadOptions(variants=()))
    assert "variants" not in [s.name for s in plain.provenance.steps]
    assert all(line.variant == "original" for line in plain.lines)


def test_unknown_variant_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown variants"):
        ReadOptions(variants=("no-such-operator",))


def test_quality_advice_comes_with_the_reading(pipeline: Pipeline, make_image: Callable[..., Image.Image]) -> None:
    sharp = make_image([("ZASTAVA M70 AB2", (200, 300), 60), ("SN 8B0O1IZ2", (200, 420), 60)], size=(1200, 800))
    rec = pipeline.read_bytes(to_bytes(sharp, quality=92))
    quality = next(s for s in rec.provenance.steps if s.name == "quality")
    assert dict(quality.params)["advice"] == ""
    arr = np.asarray(sharp).astype(np.float32)
    kernel = 31
    smeared = sum(np.roll(arr, k - kernel // 2, axis=1) for k in range(kernel)) / kernel
    moved = Image.fromarray(smeared.clip(0, 255).astype(np.uint8))
    codes = {w.code for w in pipeline.read_bytes(to_bytes(moved, quality=92)).warnings}
    assert "motion_blur" in codes


def test_a_headstamp_photo_is_read_round_its_rim(pipeline: Pipeline) -> None:
    import cv2

    from benchmarks.synth.scene import Spec, generate_sample

    sample = generate_sample(6, Spec(group="headstamp", size="closeup", clean=True))
    data = cv2.imencode(".jpg", cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])[1]
    rec = pipeline.read_bytes(data.tobytes())
    names = [s.name for s in rec.provenance.steps]
    assert "headstamp_find" in names and names.index("headstamp_match") < names.index("interpret")
    polar = {w.upper() for line in rec.lines if line.variant == "polar" for w in line.text.split()}
    assert polar == {w.upper() for w in sample.lines[0].text.split()}
    assert all(line.variant == "polar" for line in rec.lines)  # straight reads of the rim gave way
    off = pipeline.read_bytes(data.tobytes(), ReadOptions(headstamps=False))
    assert not any(line.variant == "polar" for line in off.lines)


def test_faint_relief_under_uneven_light_is_found_on_the_flattened_copy(
    pipeline: Pipeline, make_image: Callable[..., Image.Image]
) -> None:
    # faint characters on a ground lit strongly from one side
    img = make_image([("ZB 47113", (700, 520), 56)], size=(1600, 1200), background=(120, 120, 120),
                     ink=(112, 112, 112), noise=2.0)
    arr = np.asarray(img).astype(np.float32)
    light = np.linspace(0.15, 1.9, arr.shape[1], dtype=np.float32)[None, :, None]
    data = to_bytes(Image.fromarray((arr * light).clip(0, 255).astype(np.uint8)), quality=95)
    rec = pipeline.read_bytes(data)
    step = next(s for s in rec.provenance.steps if s.name == "detect_flat")
    assert dict(step.params)["enhance"].startswith("flatten_photo(sigma=")
    off = pipeline.read_bytes(data, ReadOptions(flat_pass=False))
    assert "detect_flat" not in [s.name for s in off.provenance.steps]
    found_on = any("47113" in line.text for line in rec.lines)
    found_off = any("47113" in line.text for line in off.lines)
    assert found_on and not found_off
