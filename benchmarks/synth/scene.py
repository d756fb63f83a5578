"""Composition and camera: lay out the lines on a plate, mark and light it, bend it round a
barrel, put it in a photo with perspective and rotation, then glare, blur, noise and JPEG.

Geometry: plate pixels -> (optional) cylinder -> homography -> output pixels. Both steps have a
closed-form forward map (used for the ground-truth quadrilaterals) and inverse map (used to
render with ``cv2.remap``), so the quads follow every geometric transform exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from benchmarks.synth import content, fonts, render
from benchmarks.synth.surfaces import SurfaceMaps, background, make_surface, smooth_noise

Rng = np.random.Generator
F32 = np.float32
Point = tuple[float, float]
QuadT = tuple[Point, Point, Point, Point]

GROUPS = ("stamped", "engraved", "laser", "dot-peen", "moulded", "printed", "headstamp", "negative")
GROUP_SURFACES: dict[str, tuple[str, ...]] = {
    "stamped": ("blued", "parkerized", "stainless", "brushed", "scratched"),
    "engraved": ("blued", "stainless", "brushed", "anodised", "scratched"),
    "laser": ("stainless", "anodised", "blued", "parkerized", "polymer"),
    "dot-peen": ("parkerized", "stainless", "brushed", "anodised", "blued"),
    "moulded": ("polymer",),
    "printed": ("paper-label", "foil-label"),
    "headstamp": ("brass",),
    "negative": ("blued", "parkerized", "stainless", "brushed", "scratched", "anodised", "polymer",
                 "brass"),
}
SIZES = ("closeup", "phone", "large")
MAX_PLATE_PIXELS = 2.5e6


@dataclass(frozen=True, slots=True)
class Spec:
    """What to generate; ``None`` fields are drawn from the seed."""

    group: str | None = None
    surface: str | None = None
    size: str | None = None  # closeup | phone | large
    clean: bool = False  # no glare, blur, noise; JPEG quality 95 (for ground-truth tests)
    draw_text: bool = True  # False: the same scene with the markings left out
    jpeg_quality: int | None = None


@dataclass(frozen=True, slots=True)
class TruthLine:
    text: str
    kind: str
    quad: QuadT  # clockwise from the text's top-left, output pixels
    method: str


@dataclass(frozen=True, slots=True)
class Sample:
    seed: int
    group: str
    method: str
    surface: str
    lines: tuple[TruthLine, ...]
    image: np.ndarray  # H x W x 3 uint8, RGB (what the JPEG was encoded from)
    jpeg: bytes
    details: dict[str, str] = field(default_factory=dict)

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def notes(self) -> str:
        parts = [f"domain={self.group}"] + [f"{k}={v}" for k, v in self.details.items()]
        return "; ".join(parts)


def plan_spec(index: int) -> Spec:
    """A balanced plan: groups in turn, each group's surfaces in turn."""
    group = GROUPS[index % len(GROUPS)]
    surfaces = GROUP_SURFACES[group]
    return Spec(group=group, surface=surfaces[(index // len(GROUPS)) % len(surfaces)])


# --- geometry -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Cylinder:
    """Plate wrapped round a cylinder. ``around``: the text runs round the barrel (baselines bend
    by ``tilt``); otherwise the text runs along the axis and is squeezed towards the edges."""

    centre: float  # plate coordinate of the line facing the camera (x if around, else y)
    radius: float
    around: bool
    tilt: float

    def forward(self, pts: np.ndarray) -> np.ndarray:
        x, y = pts[:, 0].astype(np.float64), pts[:, 1].astype(np.float64)
        if not self.around:
            x, y = y, x
        th = np.clip((x - self.centre) / self.radius, -math.pi / 2, math.pi / 2)
        xo = self.centre + self.radius * np.sin(th)
        yo = y + self.tilt * self.radius * (1 - np.cos(th))
        if not self.around:
            xo, yo = yo, xo
        return np.stack([xo, yo], axis=1)

    def inverse(self, xo: np.ndarray, yo: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.around:
            xo, yo = yo, xo
        s = (xo - self.centre) / self.radius
        valid = np.abs(s) < 0.999
        th = np.arcsin(np.clip(s, -0.999, 0.999))
        x = self.centre + self.radius * th
        y = yo - self.tilt * self.radius * (1 - np.cos(th))
        if not self.around:
            x, y = y, x
        return x, y, valid

    def angle(self, coord: np.ndarray) -> np.ndarray:
        return np.clip((coord - self.centre) / self.radius, -math.pi / 2, math.pi / 2)


def _apply_h(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    p = np.concatenate([pts, np.ones((len(pts), 1))], axis=1) @ h.T
    return np.asarray(p[:, :2] / p[:, 2:3], np.float64)


def _box_outline(x0: float, y0: float, x1: float, y1: float, n: int = 16) -> np.ndarray:
    t = np.linspace(0, 1, n, endpoint=False)
    top = np.stack([x0 + (x1 - x0) * t, np.full(n, y0)], 1)
    right = np.stack([np.full(n, x1), y0 + (y1 - y0) * t], 1)
    bottom = np.stack([x1 - (x1 - x0) * t, np.full(n, y1)], 1)
    left = np.stack([np.full(n, x0), y1 - (y1 - y0) * t], 1)
    return np.concatenate([top, right, bottom, left])


def _oriented_box(pts: np.ndarray, left: np.ndarray, right: np.ndarray) -> QuadT:
    """Smallest rectangle around ``pts`` whose long side runs from ``left`` to ``right``;
    corners clockwise from the text's top-left."""
    u = right - left
    u = u / max(1e-9, float(np.hypot(*u)))
    n = np.array([-u[1], u[0]])  # points "down" the text (image y grows downwards)
    a, b = pts @ u, pts @ n
    a0, a1, b0, b1 = a.min(), a.max(), b.min(), b.max()
    corners = [a0 * u + b0 * n, a1 * u + b0 * n, a1 * u + b1 * n, a0 * u + b1 * n]
    return tuple((float(c[0]), float(c[1])) for c in corners)  # type: ignore[return-value]


@dataclass(slots=True)
class _Placed:
    text: str
    kind: str
    method: str
    box: tuple[float, float, float, float]  # plate pixels, x0 y0 x1 y1
    circle: tuple[float, float, float] | None = None  # headstamp: cx, cy, r (quad = its square)


# --- layout ------------------------------------------------------------------------------------
def _style_for(method: str, text_ascii: bool, size: int, rng: Rng) -> render.TextStyle:
    faces = fonts.available_fonts()
    if method == "stamped":
        pool = fonts.faces_with(weight="bold") + fonts.faces_with(weight="regular")
        face = pool[int(rng.integers(len(pool)))]
        hand = rng.random() < 0.4
        return render.TextStyle(
            face.path, size, float(rng.uniform(0.08, 0.6)) * size, "hand" if hand else "font",
            jitter=float(rng.uniform(0.02, 0.07)) if hand else 0.0,
            pad=render.relief_extent(method, size) + max(2, size // 10),
        )
    if method == "engraved":
        pad = render.relief_extent(method, size) + max(2, size // 10)
        if text_ascii and rng.random() < 0.5:
            thick = max(1, round(size / float(rng.uniform(10, 18))))
            return render.TextStyle("", size, float(rng.uniform(0.0, 0.25)) * size, "hershey",
                                    hershey=render.HERSHEY[int(rng.integers(len(render.HERSHEY)))],
                                    thickness=thick, pad=pad)
        pool = fonts.faces_with(weight="light") + fonts.faces_with(weight="regular")
        face = pool[int(rng.integers(len(pool)))]
        return render.TextStyle(face.path, size, float(rng.uniform(0.0, 0.25)) * size, pad=pad)
    if method == "dot-peen":
        pool = fonts.faces_with(weight="bold")
        face = pool[int(rng.integers(len(pool)))]
        return render.TextStyle(face.path, size, float(rng.uniform(0.1, 0.5)) * size / 7 * 2, "dots",
                                pad=render.relief_extent(method, size) + max(2, size // 10))
    if method == "moulded":
        pool = fonts.faces_with(weight="bold") + fonts.faces_with(weight="regular")
        face = pool[int(rng.integers(len(pool)))]
        return render.TextStyle(face.path, size, float(rng.uniform(0.02, 0.2)) * size,
                                pad=render.relief_extent(method, size) + max(2, size // 10))
    face = faces[int(rng.integers(len(faces)))]
    spacing = float(rng.uniform(0.0, 0.15 if method == "printed" else 0.3)) * size
    return render.TextStyle(face.path, size, spacing,
                            pad=render.relief_extent(method, size) + max(2, size // 10))


def _lines_for(group: str, rng: Rng) -> list[content.Line]:
    if group == "dot-peen":
        return content.dot_peen_lines(rng)
    if group == "moulded":
        return content.moulded_lines(rng)
    if group == "printed":
        return content.evidence_label_lines(rng) if rng.random() < 0.5 else content.data_plate_lines(rng)
    if group == "headstamp":
        return content.headstamp_tokens(rng)
    if group == "negative":
        return []
    return content.firearm_lines(rng)


def _size_class(spec: Spec, group: str, rng: Rng) -> tuple[str, int, int, float]:
    """(size class, output width, output height, text height in output pixels)."""
    if spec.size:
        cls = spec.size
    else:
        p = [0.3, 0.6, 0.1] if group != "headstamp" else [0.75, 0.25, 0.0]
        cls = SIZES[int(rng.choice(3, p=p))]
    r = rng.random()
    aspect = 4 / 3 if r < 0.55 else (3 / 4 if r < 0.8 else (16 / 9 if r < 0.9 else 1.0))
    if cls == "closeup":
        long_side = int(rng.integers(640, 1400))
        text = long_side * float(rng.uniform(0.04, 0.09))
    elif cls == "phone":
        long_side = int(rng.integers(1400, 2600))
        text = long_side * float(rng.uniform(0.014, 0.045))
    else:
        long_side = 4000
        aspect = 4 / 3 if aspect >= 1 else 3 / 4
        text = float(rng.uniform(18, 44))
    if aspect >= 1:
        w, h = long_side, round(long_side / aspect)
    else:
        w, h = round(long_side * aspect), long_side
    return cls, w, h, text


# --- the scene ----------------------------------------------------------------------------------
def generate_sample(seed: int, spec: Spec | None = None) -> Sample:
    """One image with exact ground truth; the same ``seed`` and ``spec`` give the same bytes."""
    spec = spec or Spec()
    streams = np.random.SeedSequence(seed).spawn(6)
    r_content, r_layout, r_surface, r_ink, r_scene, r_camera = (np.random.default_rng(s) for s in streams)

    group = spec.group or GROUPS[int(r_content.integers(len(GROUPS)))]
    if group not in GROUP_SURFACES:
        raise ValueError(f"unknown group {group!r}")
    surfaces = GROUP_SURFACES[group]
    surface = spec.surface or surfaces[int(r_content.integers(len(surfaces)))]
    method = "stamped" if group in ("headstamp",) else ("none" if group == "negative" else group)
    lines = _lines_for(group, r_content)
    # an evidence tag lying on the part: numbers that are not serials
    tagged = group in ("stamped", "engraved", "laser", "dot-peen") and r_content.random() < 0.12
    tag = content.evidence_label_lines(r_content) if tagged else []
    size_cls, out_w, out_h, text_px = _size_class(spec, group, r_scene)
    details: dict[str, str] = {"method": method, "surface": surface, "size": size_cls}

    size = int(np.clip(text_px * r_layout.uniform(0.8, 1.25), 12, 110))
    scale = text_px / size
    # the part usually fills much of the frame; the plate is capped to keep rendering cheap
    cover = float(r_layout.uniform(0.45, 1.15))
    want_w, want_h = out_w / scale * cover, out_h / scale * cover
    cap = math.sqrt(MAX_PLATE_PIXELS / max(1.0, want_w * want_h))
    want = (int(want_w * min(1.0, cap)), int(want_h * min(1.0, cap)))

    if group == "headstamp":
        maps, placed, mask, plate_alpha = _headstamp_plate(lines, size, surface, r_layout, r_surface,
                                                           r_ink, details)
    else:
        plate_alpha = None
        maps, placed, mask = _flat_plate(lines, method, size, surface, want, r_layout, r_surface,
                                         r_ink, details, tag, spec.draw_text)
    if spec.draw_text and placed and method != "none":
        variant = render.apply_method(maps, mask, method, size, r_ink, variant=details.pop("ink", ""))
        details["variant"] = variant

    # light and curvature
    ph, pw = maps.height.shape
    relief = method in ("stamped", "engraved", "dot-peen", "moulded") or group == "headstamp"
    elevation = math.radians(float(r_scene.uniform(18, 45) if relief else r_scene.uniform(35, 75)))
    azimuth = float(r_scene.uniform(-math.pi, math.pi))
    ambient = float(r_scene.uniform(0.15, 0.35))
    warm = float(r_scene.uniform(-0.06, 0.06))
    plate = render.shade(maps, azimuth, elevation, ambient, (1 + warm, 1.0, 1 - warm))
    details["light"] = f"az{math.degrees(azimuth):.0f}/el{math.degrees(elevation):.0f}"

    cyl: Cylinder | None = None
    curvable = group in ("stamped", "engraved", "laser", "dot-peen") and surface != "polymer"
    if curvable and r_scene.random() < 0.3:
        around = bool(r_scene.random() < 0.5)
        extent = pw if around else ph
        radius = extent / 2 / float(r_scene.uniform(0.4, 1.1))
        centre = extent / 2 + float(r_scene.uniform(-0.08, 0.08)) * extent
        tilt = float(r_scene.uniform(-0.35, 0.35)) if around else 0.0
        cyl = Cylinder(centre, radius, around, tilt)
        coord = np.arange(extent, dtype=np.float64)
        th = cyl.angle(coord)
        band_at = float(r_scene.uniform(-0.6, 0.6))
        band_w = float(r_scene.uniform(0.05, 0.25))
        band = (0.45 + 0.55 * np.cos(th - band_at * 0.5)) + float(r_scene.uniform(0.2, 1.0)) * np.exp(
            -(((th - band_at) / band_w) ** 2)
        )
        band = band.astype(F32)
        plate *= (band[None, :, None] if around else band[:, None, None])
        details["curved"] = "around" if around else "along"

    # camera pose: rotation, scale, perspective, position
    r = r_camera.random()
    if r < 0.7:
        angle = float(r_camera.normal(0, 12))
    elif r < 0.9:
        angle = float(r_camera.choice([-90.0, 90.0]) + r_camera.normal(0, 8))
    else:
        angle = float(r_camera.uniform(-180, 180))
    persp = float(r_camera.uniform(0.0, 0.18))
    jitter = r_camera.uniform(-persp, persp, (4, 2))
    pos = r_camera.uniform(0.3, 0.7, 2)
    details["rotation"] = f"{angle:.0f}"
    details["perspective"] = f"{persp:.2f}"

    corners = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float64)
    line_pts = [_line_outline(p) for p in placed]
    all_text = np.concatenate(line_pts) if line_pts else corners

    def build(s: float, shift: np.ndarray, angle: float) -> np.ndarray:
        src = cyl.forward(corners) if cyl else corners
        c = src.mean(axis=0)
        rot = np.array([[math.cos(math.radians(angle)), -math.sin(math.radians(angle))],
                        [math.sin(math.radians(angle)), math.cos(math.radians(angle))]])
        d = (src - c) @ rot.T * s
        ext = float(np.abs(d).max())
        d = d + jitter * ext
        dst = d + shift
        return np.asarray(cv2.getPerspectiveTransform(src.astype(F32), dst.astype(F32)), np.float64)

    def fwd(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
        return _apply_h(h, cyl.forward(pts) if cyl else pts)

    target = np.array([out_w * pos[0], out_h * pos[1]])
    s = scale
    margin = 0.03 * min(out_w, out_h)
    room = np.array([out_w, out_h]) - 2 * margin

    def shrink_needed(a: float) -> float:
        t = fwd(build(s, target, a), all_text)
        return float(min(1.0, (room / np.maximum(1.0, t.max(axis=0) - t.min(axis=0))).min()))

    # a phone is turned to frame a long line: prefer a quarter turn to shrinking the text a lot
    if shrink_needed(angle) < 0.7:
        angle = max((angle + 90.0, angle - 90.0, angle), key=shrink_needed)
        details["rotation"] = f"{angle:.0f}"
    hmat = build(s, target, angle)
    for _ in range(6):
        t = fwd(hmat, all_text)
        lo, hi = t.min(axis=0), t.max(axis=0)
        span = hi - lo
        room = np.array([out_w, out_h]) - 2 * margin
        if (span > room).any():
            s *= 0.95 * float((room / span).min())
            hmat = build(s, target, angle)
            continue
        shift = np.zeros(2)
        shift += np.maximum(0, margin - lo)
        shift -= np.maximum(0, hi - (np.array([out_w, out_h]) - margin))
        if not shift.any():
            break
        target = target + shift
        hmat = build(s, target, angle)
    details["scale"] = f"{s:.2f}"

    # render: background + warped plate
    image = background(r_scene, out_h, out_w)
    foot = fwd(hmat, _box_outline(0, 0, pw, ph, 32))
    x0 = int(max(0, math.floor(foot[:, 0].min())))
    y0 = int(max(0, math.floor(foot[:, 1].min())))
    x1 = int(min(out_w, math.ceil(foot[:, 0].max()) + 1))
    y1 = int(min(out_h, math.ceil(foot[:, 1].max()) + 1))
    if x1 > x0 and y1 > y0:
        gx, gy = np.meshgrid(np.arange(x0, x1, dtype=F32), np.arange(y0, y1, dtype=F32))
        hinv = np.linalg.inv(hmat).astype(F32)
        den = hinv[2, 0] * gx + hinv[2, 1] * gy + hinv[2, 2]
        ux = (hinv[0, 0] * gx + hinv[0, 1] * gy + hinv[0, 2]) / den
        uy = (hinv[1, 0] * gx + hinv[1, 1] * gy + hinv[1, 2]) / den
        valid = np.ones_like(ux, dtype=bool)
        if cyl:
            ux, uy, valid = cyl.inverse(ux, uy)
        mx, my = ux.astype(F32), uy.astype(F32)
        warped = cv2.remap(plate, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        ones = plate_alpha if plate_alpha is not None else np.ones((ph, pw), F32)
        alpha = cv2.remap(ones, mx, my, cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT)
        alpha = np.asarray(alpha * valid, F32)[..., None]
        region = image[y0:y1, x0:x1]
        image[y0:y1, x0:x1] = region * (1 - alpha) + np.asarray(warped, F32) * alpha

    if not spec.clean:
        image = _camera_effects(image, r_camera, details, text_px * s / scale)
    quality = spec.jpeg_quality or (95 if spec.clean else int(r_camera.integers(55, 96)))
    details["jpeg"] = str(quality)
    out = cv2.convertScaleAbs(image, alpha=255.0)  # saturating; noise below 0 is negligible
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")

    truths: list[TruthLine] = []
    if group == "headstamp" and placed:
        p0 = placed[0]
        assert p0.circle is not None
        cx, cy, rad = p0.circle
        sq = np.array([[cx - rad, cy - rad], [cx + rad, cy - rad], [cx + rad, cy + rad],
                       [cx - rad, cy + rad]])
        q = fwd(hmat, sq)
        quad = tuple((float(a), float(b)) for a, b in q)
        truths.append(TruthLine(" ".join(p.text for p in placed), "other", quad, "stamped"))  # type: ignore[arg-type]
    else:
        for p, pts in zip(placed, line_pts, strict=True):
            x0_, y0_, x1_, y1_ = p.box
            if cyl is None:
                q = fwd(hmat, np.array([[x0_, y0_], [x1_, y0_], [x1_, y1_], [x0_, y1_]]))
                quad = tuple((float(a), float(b)) for a, b in q)
            else:
                t = fwd(hmat, pts)
                ends = fwd(hmat, np.array([[x0_, (y0_ + y1_) / 2], [x1_, (y0_ + y1_) / 2]]))
                quad = _oriented_box(t, ends[0], ends[1])
            truths.append(TruthLine(p.text, p.kind, quad, p.method))  # type: ignore[arg-type]
    return Sample(seed, group, method, surface, tuple(truths), out, bytes(buf), details)


def _line_outline(p: _Placed) -> np.ndarray:
    if p.circle is not None:
        cx, cy, r = p.circle
        return _box_outline(cx - r, cy - r, cx + r, cy + r)
    return _box_outline(*p.box)


def _flat_plate(lines: list[content.Line], method: str, size: int, surface: str,
                want: tuple[int, int], r_layout: Rng, r_surface: Rng, r_ink: Rng,
                details: dict[str, str], tag: list[content.Line] | None = None,
                draw_text: bool = True) -> tuple[SurfaceMaps, list[_Placed], np.ndarray]:
    """Lines stacked in one or two blocks on a flat plate of ``surface``."""
    masks: list[tuple[content.Line, np.ndarray]] = []
    base_style: render.TextStyle | None = None
    for ln in lines:
        factor = float(r_layout.uniform(0.75, 1.2)) if len(lines) > 1 else 1.0
        sz = max(10, int(size * factor))
        if base_style is None or r_layout.random() < 0.25:
            base_style = _style_for(method, ln.text.isascii(), sz, r_layout)
        style = base_style
        if style.kind == "hershey" and not ln.text.isascii():
            style = _style_for("laser", False, sz, r_layout)
        style = render.TextStyle(style.font, sz, style.spacing * sz / max(1, style.size), style.kind,
                                 style.hershey, style.thickness, style.jitter, style.pad)
        masks.append((ln, render.render_line(ln.text, style, r_ink).mask))
    gap = float(r_layout.uniform(0.2, 0.9)) * size
    align = r_layout.choice(["left", "centre"])
    two_blocks = len(masks) >= 3 and r_layout.random() < 0.3
    split = len(masks) - 1 if two_blocks else len(masks)
    blocks = [masks[:split], masks[split:]] if two_blocks else [masks]
    positions: list[tuple[int, int]] = []
    block_boxes: list[tuple[int, int]] = []
    for block in blocks:
        if not block:  # a negative: an empty stretch of surface
            block_boxes.append((int(size * r_layout.uniform(4, 10)), int(size * r_layout.uniform(1, 3))))
            continue
        bw = max(m.shape[1] for _, m in block)
        bh = int(sum(m.shape[0] for _, m in block) + gap * (len(block) - 1))
        block_boxes.append((bw, bh))
    border = 0
    if method == "printed":
        mx = int(r_layout.uniform(0.3, 1.0) * size) + 4
        my = int(r_layout.uniform(0.3, 0.8) * size) + 4
        border = int(max(block_boxes[0]) * float(r_layout.uniform(0.1, 0.4)))
        mx, my = mx + border, my + border
    sep = int(r_layout.uniform(1.0, 4.0) * size)
    total_w = sum(b[0] for b in block_boxes) + sep * (len(blocks) - 1)
    total_h = max(b[1] for b in block_boxes)
    if method == "printed":
        pw, ph = total_w + 2 * mx, total_h + 2 * my
        ox, oy = mx, my
    else:
        pw = max(total_w + 4 * size, want[0])
        ph = max(total_h + 4 * size, want[1])
        ox = int(r_layout.uniform(2 * size, max(2 * size + 1, pw - total_w - 2 * size)))
        oy = int(r_layout.uniform(2 * size, max(2 * size + 1, ph - total_h - 2 * size)))
    tag_masks: list[tuple[content.Line, np.ndarray, int, int]] = []
    tag_box = (0, 0, 0, 0)
    tag_size = max(10, int(size * float(r_layout.uniform(0.5, 0.8))))
    if tag and method != "printed":
        tstyle = _style_for("printed", True, tag_size, r_layout)
        rendered = [(ln, render.render_line(ln.text, tstyle, r_ink).mask) for ln in tag]
        margin = int(tag_size * 0.6)
        tw = max(m.shape[1] for _, m in rendered) + 2 * margin
        th = sum(m.shape[0] for _, m in rendered) + 2 * margin
        tx = ox + total_w + int(float(r_layout.uniform(1.5, 3.0)) * size)
        ty = max(size, oy + int(float(r_layout.uniform(-0.3, 0.6)) * total_h))
        pw, ph = max(pw, tx + tw + 2 * size), max(ph, ty + th + 2 * size)
        y = ty + margin
        for ln, m in rendered:
            tag_masks.append((ln, m, tx + margin, y))
            y += m.shape[0]
        tag_box = (tx, ty, tw, th)
        details["tag"] = "evidence"
    bx = ox
    for block, (bw, bh) in zip(blocks, block_boxes, strict=True):
        y = oy + (total_h - bh) // 2
        for _, m in block:
            x = bx if align == "left" else bx + (bw - m.shape[1]) // 2
            positions.append((x, y))
            y += int(m.shape[0] + gap)
        bx += bw + sep

    if method == "printed":
        maps = _label_on_base(surface, pw, ph, border, r_surface, details)
        if surface == "foil-label" and r_surface.random() < 0.2:
            details["ink"] = "white"
            maps.albedo[border : ph - border, border : pw - border] *= 0.12
    else:
        maps = make_surface(surface, ph, pw, r_surface)
    mask = np.zeros((ph, pw), F32)
    placed: list[_Placed] = []
    for (ln, m), (x, y) in zip(masks, positions, strict=True):
        render.paste(mask, m, x, y)
        placed.append(_Placed(ln.text, ln.kind, method if method != "none" else "none",
                              (float(x), float(y), float(x + m.shape[1]), float(y + m.shape[0]))))
    if tag_masks:
        tx, ty, tw, th = tag_box
        paper = make_surface("paper-label", th, tw, r_surface)
        sl = (slice(ty, ty + th), slice(tx, tx + tw))
        maps.albedo[sl] = paper.albedo
        maps.height[sl] = paper.height + 0.8
        maps.spec[sl] = paper.spec
        tag_mask = np.zeros((ph, pw), F32)
        for ln, m, x, y in tag_masks:
            render.paste(tag_mask, m, x, y)
            placed.append(_Placed(ln.text, ln.kind, "printed",
                                  (float(x), float(y), float(x + m.shape[1]), float(y + m.shape[0]))))
        if draw_text:
            render.apply_method(maps, tag_mask, "printed", tag_size, r_ink)
    if method == "printed" and r_surface.random() < 0.5:
        _barcode(mask, maps, placed, r_surface)
    if method == "none":
        _distractors(maps, r_surface, size)
    return maps, placed, mask


def _label_on_base(surface: str, pw: int, ph: int, border: int, rng: Rng,
                   details: dict[str, str]) -> SurfaceMaps:
    """A label of ``surface`` stuck on a part, with ``border`` pixels of the part showing."""
    base_name = str(rng.choice(["polymer", "blued", "anodised", "parkerized"]))
    details["base"] = base_name
    maps = make_surface(base_name, ph, pw, rng)
    lh, lw = ph - 2 * border, pw - 2 * border
    label = make_surface(surface, lh, lw, rng)
    sl = (slice(border, border + lh), slice(border, border + lw))
    maps.albedo[sl] = label.albedo
    maps.height[sl] = label.height + 0.8
    maps.spec[sl] = label.spec
    # a thin printed frame round the label
    if rng.random() < 0.6:
        frame = np.zeros((lh, lw), np.uint8)
        t = max(1, min(lw, lh) // 80)
        cv2.rectangle(frame, (2 * t, 2 * t), (lw - 1 - 2 * t, lh - 1 - 2 * t), 255, t)
        maps.albedo[sl] *= (1 - 0.8 * frame.astype(F32) / 255.0)[..., None]
    return maps


def _barcode(mask: np.ndarray, maps: SurfaceMaps, placed: list[_Placed], rng: Rng) -> None:
    """Bars under the text (a distractor, not a truth line)."""
    ph, pw = mask.shape
    bottom = max(p.box[3] for p in placed)
    if ph - bottom < 12:
        return
    x0 = int(min(p.box[0] for p in placed))
    bars = np.zeros_like(mask)
    x = x0
    y0, y1 = int(bottom + 2), int(min(ph - 3, bottom + (ph - bottom) * 0.8))
    while x < pw * 0.9:
        w = int(rng.integers(1, 4))
        if rng.random() < 0.5:
            bars[y0:y1, x : x + w] = 1.0
        x += w
    maps.albedo *= (1 - 0.9 * bars)[..., None]


def _distractors(maps: SurfaceMaps, rng: Rng, size: int) -> None:
    """Things that are not text: screw heads, slots, checkering, a pin."""
    ph, pw = maps.height.shape
    layer = np.zeros((ph, pw), np.uint8)
    for _ in range(int(rng.integers(0, 4))):
        cx, cy = int(rng.integers(0, pw)), int(rng.integers(0, ph))
        r = int(rng.integers(max(3, size // 3), max(4, size * 2)))
        cv2.circle(layer, (cx, cy), r, 255, max(1, r // 6), cv2.LINE_AA)
        if rng.random() < 0.5:
            cv2.line(layer, (cx - r, cy), (cx + r, cy), 255, max(1, r // 5), cv2.LINE_AA)
    if rng.random() < 0.3:
        step = max(4, size // 3)
        for k in range(-ph, pw, step):
            cv2.line(layer, (k, 0), (k + ph, ph), 160, 1, cv2.LINE_AA)
            cv2.line(layer, (k + ph, 0), (k, ph), 160, 1, cv2.LINE_AA)
    s = cv2.GaussianBlur(layer.astype(F32) / 255.0, (0, 0), 1.0)
    maps.height -= 2.0 * s


def _headstamp_plate(tokens: list[content.Line], size: int, surface: str, r_layout: Rng,
                     r_surface: Rng, r_ink: Rng, details: dict[str, str]
                     ) -> tuple[SurfaceMaps, list[_Placed], np.ndarray, np.ndarray]:
    """A cartridge head seen from behind: rim, extractor groove, primer; tokens round the rim."""
    pool = fonts.faces_with(weight="bold") + fonts.faces_with(weight="regular")
    face = pool[int(r_layout.integers(len(pool)))]
    font = fonts.load(face.path, size)
    spacing = float(r_layout.uniform(0.1, 0.5)) * size
    token_widths = [sum(float(font.getlength(ch)) + spacing for ch in t.text) - spacing for t in tokens]
    gap_min = 1.2 * size  # between tokens, along the band
    radius = size / float(r_layout.uniform(0.2, 0.3))
    primer_frac = float(r_layout.uniform(0.28, 0.36))
    band_frac = (primer_frac + 1) / 2 + float(r_layout.uniform(-0.03, 0.05))
    # the tokens must fit round the band (with gaps): grow the head when they would not
    need = (sum(token_widths) + gap_min * len(tokens)) / (2 * math.pi * 0.9)
    radius = max(radius, need / band_frac)
    side = int(2 * radius * float(r_layout.uniform(1.15, 1.6)))
    cx = cy = side / 2
    maps = make_surface(surface, side, side, r_surface)
    yy, xx = np.mgrid[0:side, 0:side].astype(F32)
    rr = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
    outside = rr > radius
    bg = np.array([0.1, 0.1, 0.1], F32) * (1 + 0.3 * smooth_noise(r_surface, side, side, 30))[..., None]
    maps.albedo[outside] = bg[outside]
    maps.spec[outside] = 0.05
    maps.height -= 6.0 * np.clip((rr - radius) / 2.0, 0, 1)  # falls off the edge of the head
    primer_r = radius * primer_frac
    primer = np.clip(primer_r - rr + 1, 0, 1)
    maps.albedo *= (1 - 0.25 * primer)[..., None]
    maps.height -= 1.5 * primer
    maps.height -= 2.5 * np.exp(-((rr / max(2.0, primer_r * 0.25)) ** 2))  # firing-pin dent
    soot = np.clip(1 - (rr - primer_r) / (radius * 0.25), 0, 1) * float(r_surface.uniform(0, 0.6))
    maps.albedo *= (1 - 0.6 * soot)[..., None]
    maps.height -= 1.2 * np.exp(-(((rr - radius * 0.97) / 1.5) ** 2))  # rim edge

    band_r = radius * band_frac
    mask = np.zeros((side, side), F32)
    start = float(r_layout.uniform(-math.pi, math.pi))
    n = len(tokens)
    placed: list[_Placed] = []
    flip_bottom = bool(r_layout.random() < 0.5)
    pad = render.relief_extent("stamped", size)
    # tokens in turn round the band, the free arc shared out evenly between them
    free = 2 * math.pi - sum(token_widths) / band_r
    cursor = start
    centres: list[float] = []
    for w_tok in token_widths:
        centres.append(cursor + w_tok / band_r / 2)
        cursor += w_tok / band_r + free / n
    for tok, centre_angle, total in zip(tokens, centres, token_widths, strict=True):
        widths = [float(font.getlength(ch)) + spacing for ch in tok.text]
        at_bottom = math.sin(centre_angle) > 0.3
        inward = flip_bottom and at_bottom
        arc = total / band_r
        direction = -1.0 if inward else 1.0
        pos = centre_angle - direction * arc / 2
        for ch, w in zip(tok.text, widths, strict=True):
            if ch == " ":
                pos += direction * w / band_r
                continue
            mid = pos + direction * (w - spacing) / 2 / band_r
            glyph, _adv, _top = render._draw_glyph(ch, face.path, size)
            ys, xs = np.nonzero(glyph > 0.02)
            if xs.size:
                glyph = glyph[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
            glyph = np.pad(glyph, pad)
            gh, gw = glyph.shape
            # rotate so the glyph's top points outwards (or inwards when flipped)
            rot = math.degrees(mid) + (90 if not inward else -90)
            m = cv2.getRotationMatrix2D((gw / 2, gh / 2), -rot, 1.0)
            diag = int(math.hypot(gw, gh)) + 2
            m[0, 2] += diag / 2 - gw / 2
            m[1, 2] += diag / 2 - gh / 2
            g = cv2.warpAffine(glyph, m, (diag, diag))
            px = cx + band_r * math.cos(mid) - diag / 2
            py = cy + band_r * math.sin(mid) - diag / 2
            render.paste(mask, np.asarray(g, F32), round(px), round(py))
            pos += direction * w / band_r
        placed.append(_Placed(tok.text, tok.kind, "stamped", (0.0, 0.0, 0.0, 0.0),
                              circle=(cx, cy, radius)))
    if r_layout.random() < 0.2:
        # NATO cross in a circle: a symbol, not a truth line
        details["symbol"] = "nato-cross"
        ang = centres[-1] + (token_widths[-1] / band_r + free / n) / 2
        sx, sy = cx + band_r * math.cos(ang), cy + band_r * math.sin(ang)
        rad = max(3, int(size * 0.4))
        sym = np.zeros((side, side), np.uint8)
        cv2.circle(sym, (int(sx), int(sy)), rad, 255, max(1, rad // 5), cv2.LINE_AA)
        cv2.line(sym, (int(sx - rad), int(sy)), (int(sx + rad), int(sy)), 255, max(1, rad // 5))
        cv2.line(sym, (int(sx), int(sy - rad)), (int(sx), int(sy + rad)), 255, max(1, rad // 5))
        np.maximum(mask, sym.astype(F32) / 255.0, out=mask)
    details["tokens"] = str(n)
    alpha = np.clip(radius + 1.5 - rr, 0, 1).astype(F32)
    return maps, placed, mask, alpha


def _camera_effects(image: np.ndarray, rng: Rng, details: dict[str, str], text_px: float) -> np.ndarray:
    h, w = image.shape[:2]
    sh, sw = max(8, h // 8), max(8, w // 8)
    # uneven light
    light = 1 + float(rng.uniform(0.0, 0.35)) * smooth_noise(rng, sh, sw, max(sh, sw) / 2)
    yy, xx = np.mgrid[0:sh, 0:sw].astype(F32)
    vign = 1 - float(rng.uniform(0, 0.35)) * (((xx / sw - 0.5) ** 2 + (yy / sh - 0.5) ** 2) * 2)
    gain = light * vign
    glare = np.zeros((sh, sw), F32)
    n_glare = int(rng.choice([0, 0, 0, 1, 1, 2]))
    for _ in range(n_glare):
        gx0, gy0 = float(rng.uniform(0, sw)), float(rng.uniform(0, sh))
        ang = float(rng.uniform(0, math.pi))
        length = float(rng.uniform(0.2, 0.9)) * max(sw, sh)
        width = float(rng.uniform(0.004, 0.03)) * max(sw, sh)
        u = (xx - gx0) * math.cos(ang) + (yy - gy0) * math.sin(ang)
        v = -(xx - gx0) * math.sin(ang) + (yy - gy0) * math.cos(ang)
        glare += float(rng.uniform(0.15, 0.8)) * np.exp(-((u / length) ** 2) - (v / width) ** 2)
    details["glare"] = str(n_glare)
    image *= cv2.resize(gain.astype(F32), (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    if n_glare:
        image += cv2.resize(glare, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    r = rng.random()
    if r < 0.3:
        sigma = float(rng.uniform(0.6, 0.6 + text_px / 25))
        image = cv2.GaussianBlur(image, (0, 0), sigma)
        details["blur"] = f"defocus{sigma:.1f}"
    elif r < 0.45:
        length = int(rng.integers(3, max(4, int(text_px / 6) + 3)))
        ang = float(rng.uniform(0, 180))
        k = np.zeros((length, length), F32)
        k[length // 2, :] = 1.0
        m = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), ang, 1.0)
        k = np.asarray(cv2.warpAffine(k, m, (length, length)), F32)
        k /= max(1e-6, float(k.sum()))
        image = cv2.filter2D(image, -1, k)
        details["blur"] = f"motion{length}"
    else:
        details["blur"] = "none"
    sigma_n = float(rng.uniform(0.004, 0.03))
    noise = rng.standard_normal((h, w), dtype=F32)
    noise *= sigma_n
    chroma = rng.standard_normal((sh, sw, 3), dtype=F32) * (sigma_n * 0.8)
    image += noise[..., None]
    image += cv2.resize(chroma, (w, h), interpolation=cv2.INTER_NEAREST)
    details["noise"] = f"{sigma_n:.3f}"
    return np.asarray(image, F32)
