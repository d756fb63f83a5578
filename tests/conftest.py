from __future__ import annotations

from collections.abc import Callable

import pytest
from PIL import Image

from tests.imaging import render_text_image
from vision.pipeline import Pipeline, build_pipeline


@pytest.fixture(scope="session")
def pipeline() -> Pipeline:
    p = build_pipeline()
    p.warm_up()
    return p


@pytest.fixture()
def make_image() -> Callable[..., Image.Image]:
    return render_text_image
