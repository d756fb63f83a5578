"""Lines that go on past their box: read a little further along each line and keep what continues it.

The detector ends a box where its text probability drops: a scratch, a glint, a worn character or
a wide gap between stamped characters ends a line early, and a serial loses its first or last
characters ('ZG 57214' read as '57214', 'EF284US' as 'EF28'). The recogniser reads such faint
characters better than the detector finds them. So each line is cut again reaching ``reach`` line
heights further at both ends along its own axis and read; the characters read beyond the box are
kept when they continue the line:

- the box's own reading is found in the longer read by its text (a semi-global edit distance, the
  nearest of equally good matches), and at most a quarter of its characters may be read otherwise
  there, so a longer crop that reads the box differently replaces nothing;
- each character added is read with at least ``min_p`` (after the recogniser's temperature) and
  lies at most ``max_gap`` character pitches from its neighbour towards the box (a word space is
  about two pitches), so text further along that is not part of this line stays out;
- a side that runs into another line's box is not read. With ``join_pieces`` a box that is a piece
  of this line (as high, centred on its axis, running the same way: the detector cut one line in
  two) is read through, and dropped once the grown line covers it; off by default, because on VIN
  plates it joined neighbouring fields of a row.

The characters of the first reading stay as they were; the new ones are added before or after them
and the quad grows to hold them. A line that grew on a side is looked at again on that side, up to
``rounds`` times.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from vision.ctc import DecodedText, reading_key
from vision.geometry import same_line
from vision.types import CharChoice, Quad


@dataclass(frozen=True, slots=True)
class ExtendConfig:
    reach: float = 1.5  # line heights read beyond each end of the box, per round
    rounds: int = 6
    min_p: float = 0.6  # each added character's probability
    # characters read beyond the box with at least ``alternate_p`` but less than ``min_p`` (a worn
    # first digit, or a scratch) are not added to the line; the line read with them becomes one
    # of its other readings, weighted by the least of their probabilities (0: off)
    alternate_p: float = 0.3
    # a line that grew keeps the box's own reading among its other readings, weighted by how likely
    # the weakest character added is not there, when that is at least this
    keep_box_above: float = 0.05
    max_gap: float = 2.6  # largest step between character centres, in pitches of the line
    margin: float = 0.15  # line heights kept beyond the outermost added character
    max_disagree: float = 0.25  # share of the box's characters the longer read may read otherwise
    # read through a box that is a piece of the line (joined into it); off: on VIN plates it joined
    # neighbouring fields of a row (benchmarks/README.md). A piece is as high as the line within
    # ``piece_height``, centred within ``piece_offset`` line heights of its axis and runs within
    # ``piece_angle`` degrees of its direction.
    join_pieces: bool = False
    piece_height: float = 0.7
    piece_offset: float = 0.35
    piece_angle: float = 10.0

    def describe(self) -> tuple[tuple[str, str], ...]:
        return (("reach", str(self.reach)), ("rounds", str(self.rounds)), ("min_p", str(self.min_p)),
                ("max_gap", str(self.max_gap)), ("join_pieces", str(self.join_pieces)))


def extend_quad(quad: Quad, before: float, after: float) -> Quad:
    """``quad`` lengthened along its text direction by ``before`` pixels at the start and ``after``
    at the end (negative values shorten it)."""
    p0, p1, p2, p3 = (np.asarray(p, dtype=np.float64) for p in quad.points)

    def unit(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        d = b - a
        n = float(np.hypot(d[0], d[1]))
        return d / n if n > 1e-9 else np.array([1.0, 0.0])

    top, bottom = unit(p0, p1), unit(p3, p2)
    pts = (p0 - top * before, p1 + top * after, p2 + bottom * after, p3 - bottom * before)
    return Quad.from_points([(float(p[0]), float(p[1])) for p in pts])


def _locate(first: Sequence[str], pos: Sequence[float], moved: Sequence[CharChoice],
            pitch: float) -> tuple[int, int, int] | None:
    """Where the box's reading ``first`` (characters at centres ``pos``) lies in the longer read
    ``moved`` (spans in the same pixels): ``(start, end, edits)`` with ``moved[start:end]`` the
    part read inside the box. The match is by text, not by position alone (a longer crop shifts
    characters by a frame or two); among equally good matches, the one nearest the box wins."""
    idx = [k for k, c in enumerate(moved) if not c.best.isspace()]
    seq = [moved[k].best for k in idx]
    n, m = len(first), len(seq)
    if m == 0:
        return None
    # semi-global edit distance: the box's reading in full against any stretch of the longer read
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    origin = [[j for j in range(m + 1)] for _ in range(n + 1)]
    for i in range(1, n + 1):
        cost[i][0], origin[i][0] = i, 0
        for j in range(1, m + 1):
            options = (
                (cost[i - 1][j - 1] + (first[i - 1] != seq[j - 1]), origin[i - 1][j - 1]),
                (cost[i - 1][j] + 1, origin[i - 1][j]),
                (cost[i][j - 1] + 1, origin[i][j - 1]),
            )
            cost[i][j], origin[i][j] = min(options, key=lambda o: o[0])
    best: tuple[float, int, int, int] | None = None
    for j in range(1, m + 1):
        s = origin[n][j]
        if s >= j:
            continue
        off = abs(_centre(moved[idx[s]]) - pos[0]) + abs(_centre(moved[idx[j - 1]]) - pos[-1])
        key = (cost[n][j] + off / max(pitch, 1e-9) / 4, cost[n][j], s, j)
        if best is None or key < best:
            best = key
    if best is None:
        return None
    _, edits, s, j = best
    return idx[s], idx[j - 1] + 1, edits


@dataclass(frozen=True, slots=True)
class _Grown:
    before: float  # pixels added at the start
    after: float
    head: tuple[CharChoice, ...]  # new characters before the line, spans in pixels from the old start
    tail: tuple[CharChoice, ...]  # new characters after the line, spans in pixels from the old start
    # what a reading down to ``alternate_p`` adds (``head`` and ``tail`` and more); empty: nothing more
    maybe_head: tuple[CharChoice, ...] = ()
    maybe_tail: tuple[CharChoice, ...] = ()

    def maybe(self, text: str, before: bool = True, after: bool = True) -> tuple[str, float] | None:
        """``text`` (the box's reading) with what the weaker reading adds on the open sides, and the
        least probability among the characters it adds beyond ``head`` and ``tail``."""
        head = (self.maybe_head or self.head) if before else ()
        tail = (self.maybe_tail or self.tail) if after else ()
        # ``head`` ends next to the box, so what the weaker reading adds comes first
        added = (*head[: max(0, len(head) - len(self.head))], *tail[len(self.tail):])
        extra = [c.p for c in added if not c.best.isspace()]
        if not extra:
            return None
        return "".join(c.best for c in head) + text + "".join(c.best for c in tail), min(extra)


def _centre(c: CharChoice) -> float:
    return (c.span[0] + c.span[1]) / 2


def grow(dec: DecodedText, longer: DecodedText, width: float, height: float, before_px: float,
         after_px: float, cfg: ExtendConfig) -> _Grown | None:
    """What the read of the longer crop adds to ``dec`` (the read of the box, ``width`` x ``height``
    pixels); ``longer`` was read from the box lengthened by ``before_px`` at its start and ``after_px`` at
    its end. Spans of
    the result are in pixels from the box's start. ``None``: nothing is added."""
    chars = [c for c in dec.chars if not c.best.isspace()]
    if not chars or not longer.chars:
        return None
    total = width + before_px + after_px
    pos = [(_centre(c) * width) for c in chars]  # centres in pixels from the box's start
    pitch = (pos[-1] - pos[0]) / (len(pos) - 1) if len(pos) > 1 else 0.0
    pitch = max(pitch, 0.5 * height)
    # the longer read's characters, centres and spans in pixels from the box's start
    moved = [
        CharChoice(c.alternatives, (c.span[0] * total - before_px, c.span[1] * total - before_px))
        for c in longer.chars
    ]
    found = _locate([c.best for c in chars], pos, moved, pitch)
    if found is None:
        return None
    start, end, cost = found
    if cost > max(1, math.floor(cfg.max_disagree * len(chars))):
        return None  # the longer crop reads the box otherwise: nothing is taken from it

    def walk(side: list[CharChoice], start: float, outward: int, min_p: float = cfg.min_p) -> list[CharChoice]:
        kept: list[CharChoice] = []
        last = start
        for c in side:  # nearest to the box first
            if c.best.isspace():
                kept.append(c)
                continue
            if c.p < min_p or abs(_centre(c) - last) > cfg.max_gap * pitch:
                break
            kept.append(c)
            last = _centre(c)
        while kept and kept[-1].best.isspace():
            kept.pop()
        return kept if outward > 0 else kept[::-1]

    before_side = moved[:start][::-1]
    after_side = moved[end:]
    head = walk(before_side, pos[0], -1)
    tail = walk(after_side, pos[-1], 1)
    maybe_head: list[CharChoice] = []
    maybe_tail: list[CharChoice] = []
    if 0.0 < cfg.alternate_p < cfg.min_p:
        maybe_head = walk(before_side, pos[0], -1, cfg.alternate_p)
        maybe_tail = walk(after_side, pos[-1], 1, cfg.alternate_p)
        maybe_head = maybe_head if len(maybe_head) > len(head) else []
        maybe_tail = maybe_tail if len(maybe_tail) > len(tail) else []
    if not head and not tail and not maybe_head and not maybe_tail:
        return None
    margin = cfg.margin * height
    before = max(0.0, -head[0].span[0] + margin) if head else 0.0
    after = max(0.0, tail[-1].span[1] - width + margin) if tail else 0.0
    return _Grown(before=min(before, before_px), after=min(after, after_px), head=tuple(head), tail=tuple(tail),
                  maybe_head=tuple(maybe_head), maybe_tail=tuple(maybe_tail))


def joined(dec: DecodedText, grown: _Grown, width: float) -> DecodedText:
    """``dec`` with the new characters added; spans as fractions of the grown line."""
    new_width = width + grown.before + grown.after

    def rescale(c: CharChoice, from_px: bool) -> CharChoice:
        a, b = (c.span if from_px else (c.span[0] * width, c.span[1] * width))
        a, b = (a + grown.before) / new_width, (b + grown.before) / new_width
        return CharChoice(c.alternatives, (min(max(a, 0.0), 1.0), min(max(b, 0.0), 1.0)))

    chars = (
        *(rescale(c, True) for c in grown.head),
        *(rescale(c, False) for c in dec.chars),
        *(rescale(c, True) for c in grown.tail),
    )
    text = "".join(c.best for c in chars)
    added = [c.p for c in (*grown.head, *grown.tail) if not c.best.isspace()]
    n_old = sum(1 for c in dec.chars if not c.best.isspace())
    confidence = (dec.confidence * n_old + sum(added)) / max(1, n_old + len(added))
    # the line's other readings are of the box: they get the same characters at its ends
    head = "".join(c.best for c in grown.head)
    tail = "".join(c.best for c in grown.tail)
    alternates = tuple((head + t + tail, w) for t, w in dec.alternates)
    return DecodedText(text=text, confidence=min(dec.confidence, confidence), chars=chars, alternates=alternates)


Cropper = Callable[[Quad], np.ndarray]
Reader = Callable[[list[np.ndarray]], list[DecodedText]]


def extend_lines(
    quads: Sequence[Quad], decoded: Sequence[DecodedText], crop: Cropper, read: Reader,
    config: ExtendConfig | None = None,
) -> tuple[list[Quad], list[DecodedText], int]:
    """Lengthen each line whose text goes on past its box: ``crop`` cuts an upright line image for a
    quad, ``read`` reads a batch of them. Returns the quads, the readings (unchanged where nothing
    was added; empty for a piece of a line that another line took in) and how many lines grew."""
    cfg = config or ExtendConfig()
    quads, decoded = list(quads), list(decoded)
    grew: set[int] = set()
    alive = {i for i, d in enumerate(decoded) if d.chars}
    first_text = [d.text for d in decoded]
    weakest = [1.0] * len(decoded)  # the least probability of a character added to each line
    todo = sorted(alive)
    sides = {i: (True, True) for i in todo}
    for _ in range(max(0, cfg.rounds)):
        todo = [i for i in todo if i in alive]
        if not todo:
            break
        jobs = []
        for i in todo:
            q = quads[i]
            reach = cfg.reach * max(q.height, 1.0)
            others = [quads[j] for j in sorted(alive) if j != i]
            # a side that runs into another line's box is that line's to read (with join_pieces,
            # unless that box is a piece of this line: the detector cut the line in two)
            b = sides[i][0] and _open(q, extend_quad(q, reach, -q.width), others, cfg)
            a = sides[i][1] and _open(q, extend_quad(q, -q.width, reach), others, cfg)
            sides[i] = (b, a)
            if b or a:
                jobs.append((i, reach, extend_quad(q, reach if b else 0.0, reach if a else 0.0)))
        if not jobs:
            break
        longer = read([crop(q) for _, _, q in jobs])
        nxt = []
        # longer lines first: a line and its piece may each reach into the other
        for (i, reach, _q), dec2 in sorted(zip(jobs, longer, strict=True), key=lambda jd: -quads[jd[0][0]].width):
            if i not in alive:
                continue
            q = quads[i]
            b, a = sides[i]
            g = grow(decoded[i], dec2, q.width, q.height, reach if b else 0.0, reach if a else 0.0, cfg)
            if g is None:
                continue
            maybe = g.maybe(decoded[i].text, b, a)
            g = _Grown(g.before if b else 0.0, g.after if a else 0.0, g.head if b else (), g.tail if a else ())
            if g.head or g.tail:
                decoded[i] = joined(decoded[i], g, q.width)
                weakest[i] = min(weakest[i], *(c.p for c in (*g.head, *g.tail) if not c.best.isspace()))
            if maybe is not None:
                # the line as it would read with the weaker characters too: one of its other readings
                decoded[i] = _with_alternate(decoded[i], *maybe)
            if not g.head and not g.tail:
                continue
            quads[i] = extend_quad(q, g.before, g.after)
            grew.add(i)
            for j in sorted(alive - {i}) if cfg.join_pieces else ():
                if _piece_of(q, quads[j], cfg) and _covered(quads[j], quads[i]):
                    alive.discard(j)  # read again as part of line i
                    decoded[j] = DecodedText("", 0.0, ())
            # a side that grew may go on: look there again
            sides[i] = (bool(g.head), bool(g.tail))
            nxt.append(i)
        todo = nxt
    for i in sorted(grew & alive):
        # what was added may not belong to the line (a scratch read as a '1'): the box's own
        # reading stays one of the line's other readings, as likely as the weakest addition is not
        if 1.0 - weakest[i] >= cfg.keep_box_above:
            decoded[i] = _with_alternate(decoded[i], first_text[i], 1.0 - weakest[i])
    return quads, decoded, len(grew)


def _with_alternate(dec: DecodedText, text: str, weight: float) -> DecodedText:
    """``dec`` with ``text`` among its other readings: at ``weight``, or at the weight it has already
    if higher (the next round's longer crop reads the same characters again: no more evidence)."""
    key = reading_key(text)
    if key == reading_key(dec.text):
        return dec
    alts = list(dec.alternates)
    same = [k for k, (t, _) in enumerate(alts) if reading_key(t) == key]
    if same:
        t, w = alts[same[0]]
        alts[same[0]] = (t, max(w, round(weight, 6)))
    else:
        alts.append((text, round(weight, 6)))
    return replace(dec, alternates=tuple(sorted(alts, key=lambda tw: -tw[1])))


def _open(line: Quad, slab: Quad, others: Sequence[Quad], cfg: ExtendConfig) -> bool:
    """The line may grow into ``slab``: every box it runs into is a piece of the line itself."""
    hit = _runs_into(slab, others)
    return not hit or (cfg.join_pieces and all(_piece_of(line, q, cfg) for q in hit))


def _piece_of(line: Quad, other: Quad, cfg: ExtendConfig) -> bool:
    """``other`` is a piece of the same line: about as high, its centre on the line's axis, running
    the same way (either reading direction)."""
    return same_line(line, other, cfg.piece_height, cfg.piece_offset, cfg.piece_angle, either_way=True)


def _covered(inner: Quad, outer: Quad, share: float = 0.6) -> bool:
    a = np.asarray(inner.points, dtype=np.float32)
    b = np.asarray(outer.points, dtype=np.float32)
    inter, _ = cv2.intersectConvexConvex(a, b)
    return inter > share * abs(float(cv2.contourArea(a)))


def _runs_into(slab: Quad, others: Sequence[Quad], share: float = 0.1) -> list[Quad]:
    """The boxes of which ``slab`` covers more than ``share`` (or that cover more than ``share`` of it)."""
    a = np.asarray(slab.points, dtype=np.float32)
    area_a = abs(float(cv2.contourArea(a)))
    hit = []
    for q in others:
        b = np.asarray(q.points, dtype=np.float32)
        inter, _ = cv2.intersectConvexConvex(a, b)
        if inter <= 0.0:
            continue
        area_b = abs(float(cv2.contourArea(b)))
        if inter > share * min(area_a, area_b):
            hit.append(q)
    return hit
