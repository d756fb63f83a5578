from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
from PIL import Image

from tests.imaging import to_bytes
from vision.detection import DetectorConfig, Region, TextDetector
from vision.pipeline import Pipeline, ReadOptions
from vision.types import Quad


class _Swallowed(TextDetector):
    """A detector that, on the reduced copy, sees a textured patch where the serial is: one coarse
    region there instead of the line (the tiles, seen closer, still find the line)."""

    PATCH = Quad.from_points([(900, 600), (2300, 600), (2300, 1500), (900, 1500)])

    def detect_reduced(self, small: np.ndarray, full_size: tuple[int, int],
                       config: DetectorConfig | None = None) -> list[Region]:
        from vision.detection import overlapping

        found = super().detect_reduced(small, full_size, config)
        return [r for r in found if not overlapping(r.quad, self.PATCH)] + [Region(self.PATCH, 0.8)]


def test_lines_inside_a_coarse_patch_are_found_by_a_closer_look(
    pipeline: Pipeline, make_image: Callable[..., Image.Image]
) -> None:
    img = make_image([("CAL 9x19", (200, 150), 64), ("SN 4817305", (1300, 1000), 64),
                      ("MADE IN SERBIA", (200, 1800), 64)], size=(2800, 2000))
    data = to_bytes(img, quality=92)
    patched = replace(pipeline, detector=_Swallowed(pipeline.detector.model, pipeline.detector.config))
    first_only = patched.read_bytes(data, ReadOptions(second_pass=False, headstamps=False))
    assert len(first_only.lines) >= 2  # enough lines that sparseness alone would not look again
    assert not any("4817305" in line.text for line in first_only.lines)
    rec = patched.read_bytes(data, ReadOptions(headstamps=False))
    assert any("4817305" in line.text for line in rec.lines)
    tiles = dict(next(s for s in rec.provenance.steps if s.name == "detect_tiles").params)
    assert "coarse" in tiles["reason"]
    # the patch itself is not read as a line any more
    assert not any(line.quad.height > 500 for line in rec.lines)
