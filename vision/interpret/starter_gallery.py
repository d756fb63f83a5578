"""Draws the starter proof-mark gallery shipped in ``vision/interpret/gallery/``.

These are simplified drawings made by the project (not reproductions of official dies) so that the
matcher has something to match out of the box; replace or extend them with real reference crops
by adding folders. Regenerate with ``python -m vision.interpret.starter_gallery [folder]``.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from vision.interpret.resources import GALLERY_DIR

Canvas = npt.NDArray[np.uint8]
INK = 0
PAPER = 255
SIZE = 128


def _pts(points: Sequence[tuple[float, float]]) -> npt.NDArray[np.int32]:
    return np.array([[round(x), round(y)] for x, y in points], dtype=np.int32).reshape(-1, 1, 2)


def _text(img: Canvas, text: str, center: tuple[float, float], scale: float, t: int) -> None:
    font = cv2.FONT_HERSHEY_SIMPLEX
    (w, h), _ = cv2.getTextSize(text, font, scale, t)
    org = (int(center[0] - w / 2), int(center[1] + h / 2))
    cv2.putText(img, text, org, font, scale, INK, t, cv2.LINE_AA)


def _crown(img: Canvas, cx: float, top: float, width: float, height: float, t: int) -> None:
    x0, x1 = cx - width / 2, cx + width / 2
    base = top + height
    outline = [(x0, base), (x0, top + height * 0.3), (cx - width / 4, top + height * 0.6), (cx, top),
               (cx + width / 4, top + height * 0.6), (x1, top + height * 0.3), (x1, base)]
    cv2.polylines(img, [_pts(outline)], True, INK, t, cv2.LINE_AA)
    cv2.line(img, (int(x0), int(base - height * 0.2)), (int(x1), int(base - height * 0.2)), INK, t, cv2.LINE_AA)
    for x, y in ((x0, top + height * 0.3), (cx, top), (x1, top + height * 0.3)):
        cv2.circle(img, (int(x), int(y)), max(2, t), INK, -1, cv2.LINE_AA)


def _star(cx: float, cy: float, r_out: float, r_in: float, n: int = 5, rot: float = -90.0) -> list[tuple[float, float]]:
    pts = []
    for k in range(2 * n):
        r = r_out if k % 2 == 0 else r_in
        a = math.radians(rot + k * 180.0 / n)
        pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    return pts


def birmingham_sceptres(img: Canvas, t: int) -> None:
    _crown(img, 64, 8, 40, 26, t)
    for (x0, y0, x1, y1) in ((30, 44, 98, 118), (98, 44, 30, 118)):
        cv2.line(img, (x0, y0), (x1, y1), INK, t + 1, cv2.LINE_AA)
        cv2.circle(img, (x0, y0), t + 3, INK, -1, cv2.LINE_AA)
    _text(img, "B", (36, 84), 0.8, t)
    _text(img, "C", (92, 84), 0.8, t)
    _text(img, "P", (64, 116), 0.8, t)


def london_gp_crown(img: Canvas, t: int) -> None:
    _crown(img, 64, 10, 56, 36, t)
    _text(img, "GP", (64, 86), 1.6, t + 1)


def german_eagle_n(img: Canvas, t: int) -> None:
    cv2.circle(img, (64, 22), 8, INK, -1, cv2.LINE_AA)
    cv2.ellipse(img, (64, 54), (12, 24), 0, 0, 360, INK, -1, cv2.LINE_AA)
    for side in (-1, 1):
        wing = [(64 + side * 10, 40), (64 + side * 56, 26), (64 + side * 50, 44), (64 + side * 56, 52),
                (64 + side * 44, 60), (64 + side * 48, 70), (64 + side * 12, 64)]
        cv2.fillPoly(img, [_pts(wing)], INK, cv2.LINE_AA)
    cv2.fillPoly(img, [_pts([(52, 76), (64, 90), (76, 76)])], INK, cv2.LINE_AA)
    _text(img, "N", (64, 110), 1.0, t + 1)


def nato_cross_circle(img: Canvas, t: int) -> None:
    cv2.circle(img, (64, 64), 54, INK, t + 1, cv2.LINE_AA)
    star = _star(64, 64, 50, 12, n=4, rot=-90.0)
    cv2.polylines(img, [_pts(star)], True, INK, t, cv2.LINE_AA)
    cv2.line(img, (64, 14), (64, 114), INK, t, cv2.LINE_AA)
    cv2.line(img, (14, 64), (114, 64), INK, t, cv2.LINE_AA)


def izhevsk_arrow_triangle(img: Canvas, t: int) -> None:
    cv2.polylines(img, [_pts([(64, 8), (120, 116), (8, 116)])], True, INK, t + 1, cv2.LINE_AA)
    cv2.line(img, (64, 104), (64, 44), INK, t + 1, cv2.LINE_AA)
    cv2.fillPoly(img, [_pts([(64, 34), (52, 56), (76, 56)])], INK, cv2.LINE_AA)


def tula_star(img: Canvas, t: int) -> None:
    cv2.fillPoly(img, [_pts(_star(64, 68, 58, 23))], INK, cv2.LINE_AA)


def liege_perron(img: Canvas, t: int) -> None:
    cv2.ellipse(img, (64, 64), (44, 58), 0, 0, 360, INK, t, cv2.LINE_AA)
    cv2.rectangle(img, (58, 36), (70, 92), INK, -1)
    cv2.circle(img, (64, 28), 8, INK, -1, cv2.LINE_AA)
    for k, w in enumerate((16, 22, 28)):
        y = 94 + k * 8
        cv2.rectangle(img, (64 - w, y), (64 + w, y + 5), INK, -1)


MARKS: dict[str, tuple[Callable[[Canvas, int], None], dict[str, str]]] = {
    "gb-birmingham-crossed-sceptres": (birmingham_sceptres, {
        "name": "Birmingham proof: crown over crossed sceptres, B C P", "country": "GB", "kind": "proof",
        "letters": "BCP"}),
    "gb-london-crowned-gp": (london_gp_crown, {
        "name": "London proof: crowned GP", "country": "GB", "kind": "proof", "letters": "GP"}),
    "de-eagle-n": (german_eagle_n, {
        "name": "German proof: eagle over N (nitro proof)", "country": "DE", "kind": "proof", "letters": "N"}),
    "nato-cross-in-circle": (nato_cross_circle, {
        "name": "NATO acceptance mark: cross in circle", "country": "", "kind": "proof"}),
    "ru-izhevsk-arrow-in-triangle": (izhevsk_arrow_triangle, {
        "name": "Izhevsk arsenal: arrow in a triangle", "country": "RU", "kind": "proof"}),
    "ru-tula-star": (tula_star, {
        "name": "Tula arsenal: star", "country": "RU", "kind": "proof"}),
    "be-liege-perron": (liege_perron, {
        "name": "Liège proof house: perron in an oval", "country": "BE", "kind": "proof"}),
}


def render(name: str, thickness: int = 3) -> Canvas:
    draw, _ = MARKS[name]
    img = np.full((SIZE, SIZE), PAPER, np.uint8)
    draw(img, thickness)
    return img


def write_gallery(folder: Path = GALLERY_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "gallery.json").write_text(json.dumps({
        "about": "One folder per mark: mark.json (name, country, kind proof|import, letters) and reference "
                 "crops. threshold is the cosine similarity a crop needs to be named; margin how far ahead of "
                 "the next mark it must be; a crop at least relaxed_threshold similar and clear_margin ahead "
                 "is also named.",
        "threshold": 0.82,
        "margin": 0.02,
        "relaxed_threshold": 0.76,
        "clear_margin": 0.15,
    }, indent=2) + "\n", encoding="utf-8")
    written = []
    for name, (_, meta) in MARKS.items():
        sub = folder / name
        sub.mkdir(exist_ok=True)
        info = dict(meta, source="simplified drawing by the project (vision/interpret/starter_gallery.py)")
        (sub / "mark.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        for k, thickness in enumerate((2, 3), start=1):
            path = sub / f"ref-{k}.png"
            cv2.imwrite(str(path), render(name, thickness))
            written.append(path)
    return written


if __name__ == "__main__":
    out = write_gallery(Path(sys.argv[1]) if len(sys.argv) > 1 else GALLERY_DIR)
    print(f"wrote {len(out)} reference images")
