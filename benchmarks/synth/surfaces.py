"""Surface textures: albedo, a height map (in pixels) and gloss, for each material."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

Rng = np.random.Generator
F32 = np.float32

SURFACES = (
    "blued", "parkerized", "stainless", "brushed", "scratched", "anodised", "polymer", "brass",
    "paper-label", "foil-label",
)


@dataclass(slots=True)
class SurfaceMaps:
    """Mutable working maps of one flat plate; marking methods edit them in place."""

    name: str
    albedo: np.ndarray  # H x W x 3 float32, RGB 0..1
    height: np.ndarray  # H x W float32, pixels (negative = below the surface)
    spec: np.ndarray  # H x W float32, specular strength 0..1
    shininess: float
    metal_bright: tuple[float, float, float]  # colour of freshly cut metal under the finish


def smooth_noise(rng: Rng, h: int, w: int, cell: float) -> np.ndarray:
    """Zero-mean, unit-ish noise with features about ``cell`` pixels wide."""
    sh, sw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
    small = rng.standard_normal((sh, sw)).astype(F32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def streaks(rng: Rng, h: int, w: int, length: float, vertical: bool = False) -> np.ndarray:
    """Anisotropic noise: long thin streaks along x (brushed metal)."""
    if vertical:
        return streaks(rng, w, h, length).T.copy()
    small = rng.standard_normal((h, max(2, int(w / length)))).astype(F32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _tint(base: tuple[float, float, float], rng: Rng, jitter: float) -> np.ndarray:
    """``base`` made lighter or darker by about ``jitter``, its hue shifted only a third as much."""
    common = float(rng.normal(0, jitter))
    hue = rng.normal(0, jitter / 3, 3).astype(F32)
    return np.asarray(np.clip(np.array(base, F32) * (1 + common) * (1 + hue), 0, 1), F32)


def add_scratches(maps: SurfaceMaps, rng: Rng, count: int, bright: bool = True) -> None:
    h, w = maps.height.shape
    layer = np.zeros((h, w), np.uint8)
    for _ in range(count):
        x0, y0 = float(rng.uniform(0, w)), float(rng.uniform(0, h))
        ang = float(rng.uniform(0, np.pi))
        ln = float(rng.uniform(0.05, 0.6)) * max(h, w)
        x1, y1 = x0 + ln * np.cos(ang), y0 + ln * np.sin(ang)
        val = int(rng.integers(60, 256))
        cv2.line(layer, (int(x0), int(y0)), (int(x1), int(y1)), val, 1, cv2.LINE_AA)
    s = layer.astype(F32) / 255.0
    maps.height -= 0.6 * s
    if bright:
        mb = np.array(maps.metal_bright, F32)
        maps.albedo += (mb - maps.albedo) * (0.6 * s)[..., None]


def make_surface(name: str, h: int, w: int, rng: Rng) -> SurfaceMaps:
    """A flat plate of ``name`` material, ``h`` x ``w`` pixels."""
    fine = rng.standard_normal((h, w)).astype(F32)
    low = smooth_noise(rng, h, w, max(h, w) / 3)
    mid = smooth_noise(rng, h, w, 12.0)
    spec_strength = 0.3
    shininess = 20.0
    metal = (0.75, 0.75, 0.76)
    height = np.zeros((h, w), F32)
    if name in ("blued", "scratched") and (name == "blued" or rng.random() < 0.6):
        base = _tint((0.10, 0.11, 0.15), rng, 0.08)
        albedo = base * (1 + 0.10 * low[..., None] + 0.04 * fine[..., None])
        height += 0.03 * fine
        spec_strength, shininess = 0.55, 35.0
        # holster wear: lighter patches
        wear = np.clip(low - 1.2, 0, 1)[..., None]
        albedo = albedo + wear * (np.array(metal, F32) - albedo) * 0.15
    elif name == "parkerized":
        base = _tint((0.26, 0.27, 0.25), rng, 0.05)
        albedo = base * (1 + 0.08 * low[..., None] + 0.10 * fine[..., None] + 0.05 * mid[..., None])
        height += 0.25 * fine + 0.1 * mid
        spec_strength, shininess = 0.08, 6.0
        metal = (0.55, 0.55, 0.55)
    elif name in ("stainless", "scratched"):
        base = _tint((0.62, 0.62, 0.63), rng, 0.03)
        st = streaks(rng, h, w, float(rng.uniform(30, 120)))
        albedo = base * (1 + 0.04 * st[..., None] + 0.03 * low[..., None] + 0.015 * fine[..., None])
        height += 0.02 * st
        spec_strength, shininess = 0.6, 25.0
        metal = (0.85, 0.85, 0.86)
    elif name == "brushed":
        base = _tint((0.52, 0.53, 0.55), rng, 0.04)
        st = streaks(rng, h, w, float(rng.uniform(60, 250)), vertical=bool(rng.random() < 0.3))
        albedo = base * (1 + 0.12 * st[..., None] + 0.03 * low[..., None])
        height += 0.08 * st
        spec_strength, shininess = 0.45, 12.0
        metal = (0.8, 0.8, 0.82)
    elif name == "anodised":
        colour = [(0.06, 0.06, 0.07), (0.22, 0.24, 0.18), (0.50, 0.43, 0.32), (0.30, 0.31, 0.33)]
        base = _tint(colour[int(rng.integers(len(colour)))], rng, 0.08)
        albedo = base * (1 + 0.05 * low[..., None] + 0.03 * fine[..., None])
        height += 0.04 * fine
        spec_strength, shininess = 0.18, 10.0
        metal = (0.78, 0.78, 0.80)
    elif name == "polymer":
        colour = [(0.05, 0.05, 0.055), (0.07, 0.07, 0.07), (0.24, 0.25, 0.19), (0.50, 0.43, 0.32)]
        base = _tint(colour[int(rng.integers(len(colour)))], rng, 0.1)
        stipple = smooth_noise(rng, h, w, float(rng.uniform(2.0, 5.0)))
        albedo = base * (1 + 0.06 * low[..., None] + 0.05 * fine[..., None])
        height += float(rng.uniform(0.1, 0.5)) * stipple
        spec_strength, shininess = 0.12, 8.0
        metal = (float(base[0]) * 1.3, float(base[1]) * 1.3, float(base[2]) * 1.3)
    elif name == "brass":
        colour = [(0.78, 0.60, 0.30), (0.72, 0.56, 0.32), (0.70, 0.70, 0.68)]  # last: nickel
        base = _tint(colour[int(rng.integers(len(colour)))], rng, 0.06)
        tarnish = np.clip(low, -1, 2)[..., None]
        albedo = base * (1 - 0.12 * tarnish + 0.03 * fine[..., None])
        height += 0.03 * fine
        spec_strength, shininess = 0.5, 18.0
        metal = (0.9, 0.8, 0.55)
    elif name in ("paper-label", "foil-label"):
        if name == "paper-label":
            colour = [(0.93, 0.93, 0.90), (0.95, 0.90, 0.45), (0.92, 0.92, 0.92), (0.85, 0.90, 0.95)]
            base = _tint(colour[int(rng.integers(len(colour)))], rng, 0.03)
            albedo = base * (1 + 0.02 * fine[..., None] + 0.03 * low[..., None])
            spec_strength, shininess = 0.05, 4.0
        else:
            base = _tint((0.72, 0.73, 0.75), rng, 0.05)
            albedo = base * (1 + 0.05 * streaks(rng, h, w, 80)[..., None] + 0.02 * fine[..., None])
            spec_strength, shininess = 0.5, 20.0
        height += 0.02 * fine
    else:
        raise ValueError(f"unknown surface {name!r}")
    maps = SurfaceMaps(
        name=name,
        albedo=np.clip(albedo, 0, 1).astype(F32),
        height=height,
        spec=np.full((h, w), spec_strength, F32),
        shininess=shininess,
        metal_bright=(float(metal[0]), float(metal[1]), float(metal[2])),
    )
    if name == "scratched":
        add_scratches(maps, rng, int(rng.integers(25, 80)))
    elif name not in ("paper-label", "foil-label") and rng.random() < 0.4:
        add_scratches(maps, rng, int(rng.integers(2, 12)))
    return maps


def background(rng: Rng, h: int, w: int) -> np.ndarray:
    """What lies around the object: a table, a cloth, an evidence bag, a bench. RGB float32."""
    colour = [(0.35, 0.25, 0.15), (0.15, 0.15, 0.16), (0.55, 0.55, 0.52), (0.12, 0.18, 0.30),
              (0.70, 0.68, 0.60), (0.05, 0.05, 0.05)]
    base = _tint(colour[int(rng.integers(len(colour)))], rng, 0.04)
    # cheap at any size: build small and scale up
    sh, sw = max(4, h // 8), max(4, w // 8)
    low = smooth_noise(rng, sh, sw, max(sh, sw) / 4)
    grain = rng.standard_normal((sh, sw)).astype(F32)
    small = base * (1 + 0.25 * low[..., None] + 0.06 * grain[..., None])
    big = cv2.resize(np.clip(small, 0, 1).astype(F32), (w, h), interpolation=cv2.INTER_LINEAR)
    return np.asarray(big, F32)
