"""Fonts for the generator, all from Python packages of the ``bench`` extra, so that the same seed
gives the same image on every machine: Roboto (``font_roboto``) and the DejaVu family that the
``matplotlib`` wheel carries (found on disk without importing matplotlib). System fonts are
never used."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

# file stem -> (weight, monospaced, condensed, serif)
_DEJAVU: dict[str, tuple[str, bool, bool, bool]] = {
    "DejaVuSans": ("regular", False, False, False),
    "DejaVuSans-Bold": ("bold", False, False, False),
    "DejaVuSansMono": ("regular", True, False, False),
    "DejaVuSansMono-Bold": ("bold", True, False, False),
    "DejaVuSerif": ("regular", False, False, True),
    "DejaVuSerif-Bold": ("bold", False, False, True),
}
_ROBOTO: dict[str, str] = {
    "Roboto-Thin": "light",
    "Roboto-Light": "light",
    "Roboto-Regular": "regular",
    "Roboto-Medium": "regular",
    "Roboto-Bold": "bold",
    "Roboto-Black": "bold",
}


@dataclass(frozen=True, slots=True)
class FontFace:
    path: str
    name: str
    weight: str  # light | regular | bold
    mono: bool = False
    condensed: bool = False
    serif: bool = False


def _package_subdir(package: str, *parts: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    d = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    return d if d.is_dir() else None


def roboto_dir() -> Path | None:
    return _package_subdir("font_roboto", "files")


def dejavu_dir() -> Path | None:
    return _package_subdir("matplotlib", "mpl-data", "fonts", "ttf")


@lru_cache(maxsize=1)
def available_fonts() -> tuple[FontFace, ...]:
    """All usable faces, in a fixed order (the order matters for determinism)."""
    faces: list[FontFace] = []
    rdir = roboto_dir()
    if rdir is not None:
        for stem, weight in _ROBOTO.items():
            p = rdir / f"{stem}.ttf"
            if p.is_file():
                faces.append(FontFace(str(p), stem, weight))
    ddir = dejavu_dir()
    if ddir is not None:
        for stem, (weight, mono, cond, serif) in _DEJAVU.items():
            p = ddir / f"{stem}.ttf"
            if p.is_file():
                faces.append(FontFace(str(p), stem, weight, mono, cond, serif))
    if not faces:
        raise RuntimeError(
            "no fonts found: install the bench extra (pip install -e '.[bench]') for font_roboto and matplotlib"
        )
    return tuple(faces)


def faces_with(weight: str | None = None, mono: bool | None = None) -> tuple[FontFace, ...]:
    """Faces matching the wish; all faces when none match."""
    found = tuple(
        f
        for f in available_fonts()
        if (weight is None or f.weight == weight) and (mono is None or f.mono == mono)
    )
    return found or available_fonts()


@lru_cache(maxsize=256)
def load(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, max(4, int(size)))
