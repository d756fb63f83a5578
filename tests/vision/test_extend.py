from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from tests.imaging import to_bytes
from vision.ctc import DecodedText
from vision.detection import DetectorConfig, Region, TextDetector
from vision.extend import ExtendConfig, extend_lines, extend_quad, grow, joined
from vision.geometry import crop_quad
from vision.pipeline import Pipeline, ReadOptions
from vision.types import CharChoice, Quad


def _dec(text: str, spans: list[tuple[float, float]], p: float = 0.95) -> DecodedText:
    chars = tuple(CharChoice(((ch, p), ("?", 1 - p)), span) for ch, span in zip(text, spans, strict=True))
    return DecodedText(text, p, chars)


def _evenly(text: str, start: float, pitch: float, total: float) -> list[tuple[float, float]]:
    """Spans (fractions of ``total`` px) of characters one ``pitch`` apart from ``start`` px."""
    return [((start + i * pitch) / total, (start + i * pitch + 0.6 * pitch) / total) for i in range(len(text))]


# A box 100 px long and 20 px high holding '57214' at a 20 px pitch; the longer crop reaches 30 px
# (1.5 heights) further at both ends, 160 px in all.
BOX = _dec("57214", _evenly("57214", 0, 20, 100))


def test_characters_read_just_before_the_box_are_added() -> None:
    # '57214' read where the box read it (30 px into the longer crop), 'ZG ' before it
    longer = _dec("ZG 57214", [((30 + (i - 3) * 20) / 160, (30 + (i - 3) * 20 + 12) / 160) for i in range(8)])
    g = grow(BOX, longer, width=100, height=20, before_px=30, after_px=30, cfg=ExtendConfig())
    assert g is not None
    assert "".join(c.best for c in g.head) == "ZG "
    assert g.tail == ()
    assert 0 < g.before <= 30 and g.after == 0


def test_the_other_readings_of_the_box_get_the_same_characters() -> None:
    longer = _dec("ZG 57214", [((30 + (i - 3) * 20) / 160, (30 + (i - 3) * 20 + 12) / 160) for i in range(8)])
    box = replace(BOX, alternates=(("572714", 0.4), ("S7214", 0.2)))
    g = grow(box, longer, width=100, height=20, before_px=30, after_px=30, cfg=ExtendConfig())
    assert g is not None
    out = joined(box, g, width=100)
    assert out.text == "ZG 57214"
    assert out.alternates == (("ZG 572714", 0.4), ("ZG S7214", 0.2))


def test_a_character_far_along_the_line_is_not_part_of_it() -> None:
    # '9' sits 5 pitches after the last character: another mark further along, not this line
    # (the longer crop reaches 100 px further at both ends: 300 px in all)
    far = 100 + 4 * 20 + 5 * 20
    longer = _dec("572149", [*_evenly("57214", 100, 20, 300), (far / 300, (far + 12) / 300)])
    assert grow(BOX, longer, width=100, height=20, before_px=100, after_px=100, cfg=ExtendConfig()) is None


def test_a_weakly_read_character_is_not_added() -> None:
    longer_chars = list(_dec("57214", _evenly("57214", 30, 20, 160)).chars)
    longer_chars.append(CharChoice((("1", 0.4), ("I", 0.3)), ((30 + 100) / 160, (30 + 112) / 160)))
    longer = DecodedText("572141", 0.9, tuple(longer_chars))
    assert grow(BOX, longer, width=100, height=20, before_px=30, after_px=30,
                cfg=ExtendConfig(min_p=0.6, alternate_p=0.0)) is None
    g = grow(BOX, longer, width=100, height=20, before_px=30, after_px=30, cfg=ExtendConfig(min_p=0.6))
    assert g is not None and g.head == g.tail == ()
    # the line with it stays one of the line's other readings, weighted by its probability
    assert g.maybe("57214") == ("572141", 0.4)
    assert g.maybe("57214", after=False) is None


def test_a_weakly_read_character_becomes_an_other_reading_of_the_line() -> None:
    longer_chars = [*_dec("57214", _evenly("57214", 30, 20, 160)).chars,
                    CharChoice((("1", 0.4), ("I", 0.3)), ((30 + 100) / 160, (30 + 112) / 160))]
    box = replace(BOX, alternates=(("S7214", 0.2),))

    def crop(q: Quad) -> np.ndarray:
        return np.zeros((20, int(q.width)), np.uint8)

    def read(crops: list[np.ndarray]) -> list[DecodedText]:
        return [DecodedText("572141", 0.9, tuple(longer_chars)) for _ in crops]

    quad = Quad.from_points([(0, 0), (100, 0), (100, 20), (0, 20)])
    quads, decoded, grown = extend_lines([quad], [box], crop, read)
    assert grown == 0 and quads == [quad]
    assert decoded[0].text == "57214"
    assert decoded[0].alternates == (("572141", 0.4), ("S7214", 0.2))


def test_a_longer_read_shifted_by_a_frame_adds_nothing() -> None:
    # the same five characters, placed 14 px (0.7 pitch) later by the longer crop's own frames
    longer = _dec("57214", _evenly("57214", 30 + 14, 20, 160))
    assert grow(BOX, longer, width=100, height=20, before_px=30, after_px=30, cfg=ExtendConfig()) is None


def test_a_longer_read_that_disagrees_inside_the_box_changes_nothing() -> None:
    longer = _dec("ZG 99999", [((30 + (i - 3) * 20) / 160, (30 + (i - 3) * 20 + 12) / 160) for i in range(8)])
    assert grow(BOX, longer, width=100, height=20, before_px=30, after_px=30, cfg=ExtendConfig()) is None


def test_extend_quad_lengthens_along_the_text_direction() -> None:
    # a box running down the page (text read top to bottom): lengthening moves along y, not x
    q = Quad.from_points([(100, 100), (100, 200), (80, 200), (80, 100)])
    longer = extend_quad(q, 10, 30)
    assert longer.points[0] == pytest.approx((100, 90))
    assert longer.points[1] == pytest.approx((100, 230))
    assert longer.width == pytest.approx(q.width + 40)
    assert longer.height == pytest.approx(q.height)


@pytest.fixture()
def prefix_photo(make_image: Callable[..., Image.Image]) -> tuple[np.ndarray, Quad, Quad]:
    """A photo of 'ZG 57214' and, far along the same line, 'CAL 9': a quad around '57214' only, as a
    detector whose box ended early would give, and one around 'CAL 9'."""
    from tests.imaging import _font

    font = _font(64)
    img = make_image([("ZG 57214", (300, 400), 64), ("CAL 9", (1150, 400), 64)], size=(1600, 900))
    x0 = 300 + font.getlength("ZG ")
    x1 = 300 + font.getlength("ZG 57214")
    top, bottom = 400 + 8, 400 + 72
    serial = Quad.from_points([(x0 - 4, top), (x1 + 4, top), (x1 + 4, bottom), (x0 - 4, bottom)])
    cal_x1 = 1150 + font.getlength("CAL 9")
    cal = Quad.from_points([(1146, top), (cal_x1 + 4, top), (cal_x1 + 4, bottom), (1146, bottom)])
    bgr = np.ascontiguousarray(np.asarray(img)[:, :, ::-1])
    return bgr, serial, cal


def test_the_recogniser_reads_the_rest_of_a_line_cut_short(
    pipeline: Pipeline, prefix_photo: tuple[np.ndarray, Quad, Quad]
) -> None:
    bgr, serial, cal = prefix_photo
    crop = lambda q: crop_quad(bgr, q)  # noqa: E731
    read = lambda crops: pipeline.recognizer.recognize(crops, top_k=5, temperature=2.0)  # noqa: E731
    first = read([crop(serial), crop(cal)])
    assert first[0].text.replace(" ", "") == "57214"
    quads, decoded, grown = extend_lines([serial, cal], first, crop, read)
    assert grown == 1
    assert decoded[0].text.replace(" ", "") == "ZG57214"
    assert decoded[1].text == first[1].text  # 'CAL 9' is complete: nothing before or after it
    assert quads[0].points[0][0] < serial.points[0][0] - 60  # the box now starts before 'ZG'
    assert quads[0].points[1][0] < cal.points[0][0]  # and does not reach into 'CAL 9'
    # the first reading's characters are kept as they were read
    assert [c.alternatives for c in decoded[0].chars[-5:]] == [c.alternatives for c in first[0].chars]


class _EarlyEnd(TextDetector):
    """A detector whose boxes start 40 % of their length late (a glint over the first characters)."""

    def detect_reduced(self, small: np.ndarray, full_size: tuple[int, int],
                       config: DetectorConfig | None = None) -> list[Region]:
        out = []
        for r in super().detect_reduced(small, full_size, config):
            out.append(Region(extend_quad(r.quad, -0.4 * r.quad.width, 0.0), r.score))
        return out


def test_the_pipeline_recovers_a_serial_whose_box_ended_early(
    pipeline: Pipeline, make_image: Callable[..., Image.Image]
) -> None:
    data = to_bytes(make_image([("KP 983062", (300, 400), 72)], size=(1400, 900)), quality=92)
    early = _EarlyEnd(pipeline.detector.model, pipeline.detector.config)
    cut_short = replace(pipeline, detector=early)
    without = cut_short.read_bytes(data, ReadOptions(extend_lines=False, headstamps=False))
    assert not any("KP" in line.text for line in without.lines)
    rec = cut_short.read_bytes(data, ReadOptions(headstamps=False))
    assert any(line.text.replace(" ", "") == "KP983062" for line in rec.lines)
    step = dict(next(s for s in rec.provenance.steps if s.name == "extend").params)
    assert int(step["grown"]) >= 1



def test_a_line_cut_in_two_by_the_detector_can_be_read_whole_once(
    pipeline: Pipeline, make_image: Callable[..., Image.Image]
) -> None:
    from tests.imaging import _font

    font = _font(64)
    img = make_image([("75832-14055", (300, 400), 64), ("MADE IN SERBIA", (300, 520), 64)], size=(1600, 900))
    bgr = np.ascontiguousarray(np.asarray(img)[:, :, ::-1])
    top, bottom = 400 + 8, 400 + 72
    split = 300 + font.getlength("758")

    def box(x0: float, x1: float, y0: float = top, y1: float = bottom) -> Quad:
        return Quad.from_points([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])

    head = box(296, split + 2)  # '758' found apart from the rest of the serial
    rest = box(split - 2, 300 + font.getlength("75832-14055") + 4)
    below = box(296, 300 + font.getlength("MADE IN SERBIA") + 4, 520 + 8, 520 + 72)
    crop = lambda q: crop_quad(bgr, q)  # noqa: E731
    read = lambda crops: pipeline.recognizer.recognize(crops, top_k=5, temperature=2.0)  # noqa: E731
    first = read([crop(head), crop(rest), crop(below)])
    assert [d.text.replace(" ", "") for d in first] == ["758", "32-14055", "MADEINSERBIA"]
    quads, decoded, grown = extend_lines([head, rest, below], first, crop, read, ExtendConfig(join_pieces=True))
    texts = [d.text.replace(" ", "") for d in decoded]
    # one of the two pieces now holds the whole serial and the other is gone; the line below stays
    assert sorted(texts[:2]) == ["", "75832-14055"]
    assert texts[2] == "MADEINSERBIA"
    assert grown == 1
    whole = quads[texts.index("75832-14055")]
    assert whole.points[0][0] < (head.points[0][0] + head.points[1][0]) / 2  # it holds '758'
    assert whole.points[1][0] >= rest.points[1][0] - 8
    # by default (off) a box in the way stops the line: both pieces stay as they were read
    _q, apart, grown = extend_lines([head, rest, below], first, crop, read)
    assert [d.text for d in apart] == [d.text for d in first] and grown == 0


def test_a_line_that_grew_keeps_the_box_reading_among_its_other_readings() -> None:
    # '1' read after the box at 0.65: added (above min_p), but it may be a scratch
    longer_chars = [*_dec("57214", _evenly("57214", 30, 20, 160)).chars,
                    CharChoice((("1", 0.65), ("I", 0.2)), ((30 + 100) / 160, (30 + 112) / 160))]
    calls = []

    def crop(q: Quad) -> np.ndarray:
        return np.zeros((20, int(q.width)), np.uint8)

    def read(crops: list[np.ndarray]) -> list[DecodedText]:
        calls.append(len(crops))
        # the first round reads the '1'; later rounds read nothing more
        return [DecodedText("572141", 0.9, tuple(longer_chars)) if len(calls) == 1 else DecodedText("", 0.0, ())
                for _ in crops]

    quad = Quad.from_points([(0, 0), (100, 0), (100, 20), (0, 20)])
    _quads, decoded, grown = extend_lines([quad], [BOX], crop, read)
    assert grown == 1 and decoded[0].text == "572141"
    assert decoded[0].alternates == (("57214", pytest.approx(0.35)),)
    # a character read surely is not doubted
    sure = [*longer_chars[:-1], CharChoice((("1", 0.99),), longer_chars[-1].span)]
    calls.clear()
    longer_chars[:] = sure
    _quads, decoded, _n = extend_lines([quad], [BOX], crop, read)
    assert decoded[0].text == "572141" and decoded[0].alternates == ()
