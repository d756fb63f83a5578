"""Synthetic photos of firearm markings with exact ground truth.

``generate_sample(seed, spec)`` draws one image: same seed and spec, same bytes.
"""

from benchmarks.synth.render import METHODS
from benchmarks.synth.scene import (
    GROUP_SURFACES,
    GROUPS,
    Sample,
    Spec,
    TruthLine,
    generate_sample,
    plan_spec,
)
from benchmarks.synth.surfaces import SURFACES

__all__ = [
    "GROUPS",
    "GROUP_SURFACES",
    "METHODS",
    "SURFACES",
    "Sample",
    "Spec",
    "TruthLine",
    "generate_sample",
    "plan_spec",
]
