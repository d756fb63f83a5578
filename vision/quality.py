"""Photo quality assessment, with advice an officer can act on before (re)taking the photo.

Measured on a small grey copy of the whole photo (exposure, glare) and on the text regions the
detector found, at full resolution (sharpness, blur direction, character height):

- *edge width*: the contrast of a text crop divided by its strongest gradients (99th percentile).
  A step edge blurred by a Gaussian of sigma s has a peak gradient of contrast / (2.5 s), so the
  edge width is about 2.5 s pixels: about 1-2 px for a sharp photo, more for a blurred one.
  Compared with the character height it says whether the characters are still legible.
- *blur direction*: motion blur smears along one direction, so the gradient energy becomes
  anisotropic (structure tensor eigenvalue ratio); defocus is isotropic. The advice differs:
  "hold still" against "tap the marking to focus".
- *glare*: the share of the photo (and of the text regions) that is saturated or far above its
  neighbourhood, with low colour saturation (a specular reflection of the light source).
- *exposure*: mean brightness and the shares of clipped dark and bright pixels.

Every figure goes into the provenance step; warnings carry the figure they are based on in
``values`` so that a translated message can quote it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from vision.types import ReadWarning

GLOBAL_SIDE = 640  # long side of the grey copy used for exposure and glare


@dataclass(frozen=True, slots=True)
class QualityConfig:
    blur_edge_ratio: float = 0.11  # edge width / character height above which text is blurred
    blur_edge_px: float = 3.5  # ... and edge width in pixels above which (small text blurs anyway)
    motion_anisotropy: float = 3.0  # gradient energy ratio of the main directions for motion blur
    glare_fraction: float = 0.06  # share of a text region lost to highlights
    glare_photo_fraction: float = 0.08  # share of the whole photo lost to highlights
    # too dark: even the brightest parts stay dim (a dark blued surface alone is not underexposure)
    dark_level: float = 90.0  # 99th percentile of the grey levels below which the photo is too dark
    bright_clipped: float = 0.30  # share of clipped-white pixels above which it is overexposed
    small_chars_px: float = 16.0  # line height below which characters are too small to read well


@dataclass(frozen=True, slots=True)
class Quality:
    brightness: float  # mean grey level, 0..255
    dark_clipped: float  # share of pixels <= 5
    bright_clipped: float  # share of pixels >= 250
    glare_photo: float  # share of the photo that is specular highlight
    glare_text: float | None  # share of the text regions that is specular highlight
    edge_width_px: float | None  # median over text regions
    anisotropy: float | None  # median over text regions
    edge_width_minor_px: float | None  # median over text regions, along the weakest gradients
    char_height_px: float | None  # median line height of the text regions, full-resolution pixels
    bright_level: float = 255.0  # 99th percentile of the grey levels: what the brightest parts reach

    def params(self) -> tuple[tuple[str, str], ...]:
        def f(v: float | None, nd: int = 3) -> str:
            return "-" if v is None else f"{v:.{nd}f}"

        return (
            ("brightness", f(self.brightness, 1)), ("dark_clipped", f(self.dark_clipped)),
            ("bright_clipped", f(self.bright_clipped)), ("glare_photo", f(self.glare_photo)),
            ("glare_text", f(self.glare_text)), ("edge_width_px", f(self.edge_width_px, 2)),
            ("anisotropy", f(self.anisotropy, 2)), ("edge_width_minor_px", f(self.edge_width_minor_px, 2)),
            ("char_height_px", f(self.char_height_px, 1)), ("bright_level", f(self.bright_level, 0)),
        )


def _grey_copy(bgr: np.ndarray, side: int = GLOBAL_SIDE) -> tuple[np.ndarray, np.ndarray]:
    h, w = bgr.shape[:2]
    scale = min(1.0, side / max(h, w))
    small = bgr if scale >= 1.0 else cv2.resize(bgr, (max(1, round(w * scale)), max(1, round(h * scale))),
                                                 interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
    hsv_sat = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)[..., 1] if small.ndim == 3 else np.zeros_like(grey)
    return grey, hsv_sat


def highlight_mask(grey: np.ndarray, saturation: np.ndarray, min_blob: int = 7) -> np.ndarray:
    """Specular highlights: nearly white, colourless, far brighter than the neighbourhood, and
    wider than a stroke (``min_blob`` pixels), so bright characters on a dark ground are not glare."""
    k = max(3, (min(grey.shape[:2]) // 8) | 1)
    local = cv2.medianBlur(grey, min(k, 255)) if k <= 255 else cv2.blur(grey, (k, k))
    g = grey.astype(np.int16)
    bright = ((g >= 235) | ((g >= 190) & (g - local.astype(np.int16) >= 60))) & (saturation < 60)
    se = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (max(3, min_blob | 1),) * 2)
    mask: np.ndarray = cv2.morphologyEx(bright.astype(np.uint8), cv2.MORPH_OPEN, se).astype(bool)
    return mask


def edge_measures(crop: np.ndarray) -> tuple[float, float, float] | None:
    """(edge width in pixels, gradient anisotropy, edge width across the weakest gradient
    direction) of a text crop, or None if it has no contrast. Motion smears edges along one
    direction only: the third figure is the edge width measured along it."""
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    g = grey.astype(np.float32)
    lo, hi = np.percentile(g, (5, 95))
    contrast = float(hi - lo)
    if contrast < 12:
        return None
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    mag = np.sqrt(gx * gx + gy * gy)
    peak = float(np.percentile(mag, 99))
    if peak <= 1e-3:
        return None
    strong = mag >= np.percentile(mag, 90)
    jxx = float((gx[strong] ** 2).sum())
    jyy = float((gy[strong] ** 2).sum())
    jxy = float((gx[strong] * gy[strong]).sum())
    tr, det = jxx + jyy, jxx * jyy - jxy * jxy
    disc = max(tr * tr / 4 - det, 0.0) ** 0.5
    l1, l2 = tr / 2 + disc, max(tr / 2 - disc, 1e-6)
    # eigenvector of the smaller eigenvalue: the direction with the weakest gradients
    vx, vy = (jxy, l2 - jxx) if abs(jxy) > 1e-9 else ((1.0, 0.0) if jxx <= jyy else (0.0, 1.0))
    norm = max((vx * vx + vy * vy) ** 0.5, 1e-9)
    along = np.abs(gx * (vx / norm) + gy * (vy / norm))
    peak_minor = max(float(np.percentile(along, 99)), 1e-3)
    return contrast / peak, l1 / l2, contrast / peak_minor


def assess(
    bgr: np.ndarray,
    crops: Sequence[np.ndarray] = (),
    line_heights: Sequence[float] = (),
    text_masks: Sequence[np.ndarray] = (),
) -> Quality:
    """Measure a photo. ``crops`` are upright text-region crops cut from the full-resolution
    image, ``line_heights`` their heights there, ``text_masks`` boolean masks of the text regions
    on a grey copy of long side :data:`GLOBAL_SIDE` (optional)."""
    grey, sat = _grey_copy(bgr)
    scale = grey.shape[0] / max(bgr.shape[0], 1)
    # strokes are about a sixth of the line height: highlights must be wider than two of them
    stroke = float(np.median(line_heights)) * scale / 6 if line_heights else 2.0
    hl = highlight_mask(grey, sat, min_blob=max(5, round(3 * stroke)))
    glare_text = None
    if text_masks:
        union = np.zeros(grey.shape, dtype=bool)
        for m in text_masks:
            union |= m
        if union.any():
            glare_text = float(hl[union].mean())
    widths, anis, minors = [], [], []
    for crop in crops:
        measured = edge_measures(crop)
        if measured is not None:
            widths.append(measured[0])
            anis.append(measured[1])
            minors.append(measured[2])
    return Quality(
        brightness=float(grey.mean()),
        dark_clipped=float((grey <= 5).mean()),
        bright_clipped=float((grey >= 250).mean()),
        glare_photo=float(hl.mean()),
        glare_text=glare_text,
        edge_width_px=float(np.median(widths)) if widths else None,
        anisotropy=float(np.median(anis)) if anis else None,
        edge_width_minor_px=float(np.median(minors)) if minors else None,
        bright_level=float(np.percentile(grey, 99)),
        char_height_px=float(np.median(line_heights)) if line_heights else None,
    )


def advise(q: Quality, cfg: QualityConfig | None = None) -> tuple[ReadWarning, ...]:
    """Warnings with advice, most actionable first. Codes are stable; messages are English."""
    cfg = cfg or QualityConfig()
    out: list[ReadWarning] = []
    if q.char_height_px is not None and q.char_height_px < cfg.small_chars_px:
        px = f"{q.char_height_px:.0f}"
        out.append(ReadWarning("small_text", f"move closer: characters are {px} px high",
                               (("char_height_px", px),)))
    limit = None if q.char_height_px is None else max(cfg.blur_edge_px, cfg.blur_edge_ratio * q.char_height_px)
    if (q.anisotropy is not None and q.anisotropy >= cfg.motion_anisotropy and limit is not None
            and q.edge_width_minor_px is not None and q.edge_width_minor_px > limit):
        # smeared along one direction: edges across it stay sharp, so the edge width alone misses it
        out.append(ReadWarning("motion_blur", "the photo is blurred by movement: hold still, brace your hand, "
                               "and take it again", (("anisotropy", f"{q.anisotropy:.1f}"),)))
    elif q.edge_width_px is not None and limit is not None and q.edge_width_px > limit:
        out.append(ReadWarning("out_of_focus", "the marking is out of focus: tap it on the screen to focus, "
                               "and take it again", (("edge_width_px", f"{q.edge_width_px:.1f}"),)))
    glare = q.glare_text if q.glare_text is not None else None
    if (glare is not None and glare >= cfg.glare_fraction) or q.glare_photo >= cfg.glare_photo_fraction:
        share = glare if glare is not None and glare >= cfg.glare_fraction else q.glare_photo
        out.append(ReadWarning("glare", "glare covers part of the marking: tilt the phone or move the light "
                               "so that the reflection leaves the characters",
                               (("glare_percent", f"{100 * share:.0f}"),)))
    if q.bright_level < cfg.dark_level:
        out.append(ReadWarning("too_dark", "the photo is too dark: add light from the side, or turn on the torch",
                               (("brightness", f"{q.brightness:.0f}"),)))
    elif q.bright_clipped >= cfg.bright_clipped:
        out.append(ReadWarning("overexposed", "the photo is overexposed: turn off the flash or step out of "
                               "direct light", (("clipped_percent", f"{100 * q.bright_clipped:.0f}"),)))
    return tuple(out)
