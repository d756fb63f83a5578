"""Quadrilaterals, crops and coordinate transforms.

All quads are kept in pixels of the upright image (EXIF orientation applied). Functions here
convert to and from the detector's reduced copy and the stored (pre-orientation) pixel grid.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from vision.types import Point, Quad


def order_clockwise(pts: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """Order four points top-left, top-right, bottom-right, bottom-left (image y points down)."""
    p = np.asarray(pts, dtype=np.float64).reshape(4, 2)
    idx = np.argsort(p[:, 0], kind="stable")
    left, right = p[idx[:2]], p[idx[2:]]
    tl, bl = left[np.argsort(left[:, 1], kind="stable")]
    tr, br = right[np.argsort(right[:, 1], kind="stable")]
    return np.array([tl, tr, br, bl], dtype=np.float64)


def text_order(box: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """Order a rotated rectangle's corners so that the first edge runs along the text.

    The result is clockwise on screen, starts at the corner where the text starts, and its first
    edge is a long side heading right (or, for vertical text, heading down). Text that then reads
    upside down is turned by the direction classifier afterwards.
    """
    p = np.asarray(box, dtype=np.float64).reshape(4, 2)
    area = sum(p[i, 0] * p[(i + 1) % 4, 1] - p[(i + 1) % 4, 0] * p[i, 1] for i in range(4))
    if area < 0:
        p = p[::-1]
    edges = np.roll(p, -1, axis=0) - p
    lengths = np.hypot(edges[:, 0], edges[:, 1])
    longest = float(lengths.max())
    candidates = [i for i in range(4) if lengths[i] >= longest / 1.2]
    start = max(candidates, key=lambda i: (round(float(edges[i, 0]) / max(longest, 1e-9), 3), edges[i, 1]))
    return np.roll(p, -start, axis=0)


def scale_quad(quad: Quad, sx: float, sy: float) -> Quad:
    return Quad.from_points([(x * sx, y * sy) for x, y in quad.points])


def rotate_order(quad: Quad, quarter_turns: int) -> Quad:
    """Renumber the corners after the crop was turned by ``quarter_turns`` x 90 degrees clockwise,
    so that point 0 stays the top-left of the text as it is read."""
    k = quarter_turns % 4
    pts = quad.points
    rolled = pts[-k:] + pts[:-k] if k else pts
    return Quad((rolled[0], rolled[1], rolled[2], rolled[3]))


def crop_quad(image: np.ndarray, quad: Quad, max_height: int = 160) -> np.ndarray:
    """Cut the quad out of ``image`` with a perspective warp into an upright rectangle.

    The output keeps the quad's own resolution up to ``max_height`` pixels of text height, so
    small marks are not lost and huge ones don't waste memory.
    """
    src = np.array(quad.points, dtype=np.float32)
    w = max(2.0, quad.width)
    h = max(2.0, quad.height)
    scale = min(1.0, max_height / h)
    out_w, out_h = max(2, round(w * scale)), max(2, round(h * scale))
    dst = np.array([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    crop: np.ndarray = cv2.warpPerspective(
        image, m, (out_w, out_h), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return crop


# EXIF orientation -> where a stored pixel (x, y) lands in the upright image of size (W, H),
# with the stored image of size (w, h). Orientations 5-8 swap width and height.
def stored_to_upright(point: Point, orientation: int, stored_size: tuple[int, int]) -> Point:
    x, y = point
    w, h = stored_size
    if orientation == 1:
        return x, y
    if orientation == 2:  # mirrored horizontally
        return w - x, y
    if orientation == 3:  # rotated 180
        return w - x, h - y
    if orientation == 4:  # mirrored vertically
        return x, h - y
    if orientation == 5:  # transposed (mirror over the main diagonal)
        return y, x
    if orientation == 6:  # stored turned 90 ccw; shown turned 90 cw
        return h - y, x
    if orientation == 7:  # transverse
        return h - y, w - x
    if orientation == 8:  # stored turned 90 cw; shown turned 90 ccw
        return y, w - x
    raise ValueError(f"EXIF orientation must be 1..8, got {orientation}")


def upright_to_stored(point: Point, orientation: int, stored_size: tuple[int, int]) -> Point:
    x, y = point
    w, h = stored_size
    if orientation == 1:
        return x, y
    if orientation == 2:
        return w - x, y
    if orientation == 3:
        return w - x, h - y
    if orientation == 4:
        return x, h - y
    if orientation == 5:
        return y, x
    if orientation == 6:
        return y, h - x
    if orientation == 7:
        return w - y, h - x
    if orientation == 8:
        return w - y, x
    raise ValueError(f"EXIF orientation must be 1..8, got {orientation}")


def quad_to_stored(quad: Quad, orientation: int, stored_size: tuple[int, int]) -> Quad:
    """The quad in the pixel grid of the file as stored (before EXIF orientation)."""
    return Quad.from_points([upright_to_stored(p, orientation, stored_size) for p in quad.points])


def quad_axis(q: Quad) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre, unit direction along the text and unit normal of a quad."""
    p = np.asarray(q.points, dtype=np.float64)
    centre = p.mean(axis=0)
    d = (p[1] - p[0]) + (p[2] - p[3])
    n = float(np.hypot(d[0], d[1]))
    u = d / n if n > 1e-9 else np.array([1.0, 0.0])
    return centre, u, np.array([-u[1], u[0]])


def same_line(line: Quad, other: Quad, height_ratio: float = 0.7, offset: float = 0.35, angle: float = 10.0,
              either_way: bool = False) -> bool:
    """Whether ``other`` lies on the line of ``line``: about as high (within ``height_ratio``), its
    centre on ``line``'s axis (within ``offset`` line heights), running the same way (within
    ``angle`` degrees; with ``either_way`` also the opposite reading direction)."""
    h1, h2 = max(line.height, 1.0), max(other.height, 1.0)
    if not (height_ratio <= h2 / h1 <= 1 / height_ratio):
        return False
    c1, u1, n1 = quad_axis(line)
    c2, u2, _ = quad_axis(other)
    if abs(float(np.dot(c2 - c1, n1))) > offset * h1:
        return False
    dot = float(np.dot(u1, u2))
    return (abs(dot) if either_way else dot) >= float(np.cos(np.radians(angle)))


def continues(first: Quad, second: Quad, max_gap: float = 2.5, height_ratio: float = 0.7,
              offset: float = 0.35, angle: float = 10.0) -> float | None:
    """Whether ``second`` is the next piece of the line ``first`` is a piece of, as the detector
    sometimes cuts one line in two (a letter prefix stamped apart from its number, a worn stretch):
    about as high (within ``height_ratio``), its centre on ``first``'s axis (within ``offset`` line
    heights), running the same way (within ``angle`` degrees), starting after ``first`` starts and
    ending after it ends, at most ``max_gap`` line heights after its end. Returns the gap in pixels
    along the line (negative: the two boxes overlap by that much), or ``None``."""
    if not same_line(first, second, height_ratio, offset, angle):
        return None
    c1, u1, _ = quad_axis(first)
    along1 = [float(np.dot(np.asarray(p) - c1, u1)) for p in first.points]
    along2 = [float(np.dot(np.asarray(p) - c1, u1)) for p in second.points]
    start1, end1 = (along1[0] + along1[3]) / 2, (along1[1] + along1[2]) / 2
    start2, end2 = (along2[0] + along2[3]) / 2, (along2[1] + along2[2]) / 2
    if start2 <= start1 or end2 <= end1:
        return None
    gap = start2 - end1
    return gap if gap <= max_gap * max(first.height, second.height, 1.0) else None
