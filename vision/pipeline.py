"""The reading pipeline: intake -> locate -> crop -> direction -> recognise -> interpret.

Stages are built once by :func:`build_pipeline` and passed in; per-request choices travel as a
:class:`ReadOptions` argument and never change the shared stages.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import cv2
import numpy as np

from models.registry import ModelStore, OrtConfig
from vision.ctc import DecodedText, merge_alternates
from vision.detection import (
    COARSE,
    DetectorConfig,
    LineGrouping,
    RefineConfig,
    Region,
    TextDetector,
    group_lines,
    merge_regions,
    overlapping,
)
from vision.enhance import VARIANTS, FlattenPhotoParams, flatten_photo
from vision.extend import ExtendConfig, extend_lines
from vision.fusion import fuse
from vision.geometry import crop_quad, quad_axis, rotate_order
from vision.headstamp import read_headstamp
from vision.intake import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, DecodedImage, decode
from vision.quality import GLOBAL_SIDE, QualityConfig, advise, assess
from vision.rebox import ReboxConfig, sub_quad
from vision.rebox import plan as rebox_plan
from vision.recognition import (
    DEFAULT_RECOGNIZER,
    DirectionClassifier,
    FusedRecognizer,
    RecognizerConfig,
    TextRecognizer,
    build_recognizer,
)
from vision.types import (
    CharChoice,
    MarkCandidate,
    ModelInfo,
    Provenance,
    Quad,
    ReadWarning,
    Recognition,
    Step,
    TextLine,
)
from vision.version import code_version, library_versions


class Interpreter(Protocol):
    def interpret(
        self, lines: Sequence[TextLine], image: np.ndarray | None = None
    ) -> tuple[MarkCandidate, ...]: ...


# Off by default: on the synthetic set, reading uncertain lines again from every enhanced variant
# and fusing changed no more than one line in 773 either way (benchmarks/README.md, ablation).
DEFAULT_VARIANTS: tuple[str, ...] = ()
ENHANCED_VARIANTS: tuple[str, ...] = ("flatten+clahe", "invert", "join_dots", "sharpen")
# With variants_as="alternates", a variant's reading of a line joins the line's alternates at this
# weight (its own alternates at this share of theirs): a second look at the same crop, not a
# second model.
VARIANT_ALTERNATE_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class ReadOptions:
    top_k: int = 5
    temperature: float = 2.0
    min_confidence: float = 0.3  # lines read with less are dropped as noise
    det_max_side: int | None = None  # override the detector's reduced-copy size for this call
    # A large photo in which the first pass read fewer than ``sparse_lines`` lines is searched
    # again in tiles seen larger (small marks in a whole-weapon photo).
    second_pass: bool = True
    sparse_lines: int = 2
    # Lines read with less than ``variant_below`` are read again from each enhanced variant
    # (vision.enhance.VARIANTS) and the readings fused per character; () turns this off.
    variants: tuple[str, ...] = DEFAULT_VARIANTS
    variant_below: float = 0.9
    # "characters": the readings are fused per character and replace the line's reading;
    # "alternates": the line's reading stands and the variants' readings join its alternates.
    variants_as: str = "characters"
    quality: bool = True  # measure the photo and give advice (blur, glare, exposure, small text)
    # Join regions that continue one another along a line (widely spaced stamped characters and
    # words found apart), so that a serial is not cut from its prefix.
    join_lines: bool = False
    headstamps: bool = True  # find a cartridge head and read its circular text (vision.headstamp)
    # Detect a second time on a copy with the illumination divided out, and add the regions found
    # there: shallow stamped or moulded relief under uneven light is missed on the photo itself.
    flat_pass: bool = True
    # The 0/180 classifier is sometimes sure and wrong on relief and dot-peen marks. A line it
    # turned, or one read with less than ``direction_check_below``, is read the other way up too,
    # and that reading is kept when its confidence is higher by more than ``direction_margin``.
    direction_check: bool = True
    direction_check_below: float = 0.9
    direction_margin: float = 0.05
    # A line whose text goes on past its box (a scratch, glint or worn character ended the box early)
    # is read again reaching further along it, and the characters that continue it are added
    # (vision.extend).
    extend_lines: bool = True
    # A line only a few pixels high in the detector's reduced copy of a large photo is detected
    # again in a window of the photo around it, seen larger (vision.detection.RefineConfig).
    refine_small: bool = True
    # A box much taller than its text (loose, or over two close lines) is cut again to the rows where
    # the text runs, or in two, and read again; kept when read more confidently (vision.rebox).
    rebox: bool = True

    def __post_init__(self) -> None:
        unknown = [v for v in self.variants if v not in VARIANTS]
        if unknown:
            raise ValueError(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
        if self.variants_as not in ("characters", "alternates"):
            raise ValueError(f"variants_as must be 'characters' or 'alternates', not {self.variants_as!r}")


@dataclass(frozen=True, slots=True)
class IntakeLimits:
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_bytes: int = DEFAULT_MAX_BYTES


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)


def _reading_order(line: TextLine) -> tuple[int, float]:
    x0, y0, _, _ = line.quad.bounds()
    return round(y0 / 16), x0


def _strip_spaces(text: str, chars: tuple[CharChoice, ...]) -> tuple[str, tuple[CharChoice, ...]]:
    start, end = 0, len(chars)
    while start < end and chars[start].best == " ":
        start += 1
    while end > start and chars[end - 1].best == " ":
        end -= 1
    kept = chars[start:end]
    return "".join(c.best for c in kept), kept


@dataclass
class Pipeline:
    detector: TextDetector
    recognizer: TextRecognizer
    direction: DirectionClassifier | None = None
    interpreter: Interpreter | None = None
    limits: IntakeLimits = field(default_factory=IntakeLimits)
    quality_config: QualityConfig = field(default_factory=QualityConfig)
    line_grouping: LineGrouping = field(default_factory=LineGrouping)
    extend_config: ExtendConfig = field(default_factory=ExtendConfig)
    refine_config: RefineConfig = field(default_factory=RefineConfig)
    rebox_config: ReboxConfig = field(default_factory=ReboxConfig)

    def models(self) -> tuple[ModelInfo, ...]:
        recognisers = self.recognizer.models if isinstance(self.recognizer, FusedRecognizer) else (
            self.recognizer.model,)
        used = [self.detector.model, *recognisers]
        if self.direction is not None:
            used.append(self.direction.model)
        return tuple(
            ModelInfo(task=m.spec.task, name=m.spec.name, version=m.spec.version, sha256=m.spec.sha256,
                      source=f"{m.spec.package}=={m.spec.package_version}")
            for m in used
        )

    def warm_up(self) -> None:
        """Load every model now (checks hashes) instead of on the first request."""
        self.detector.model.session()
        _ = self.recognizer.decoder
        if self.direction is not None:
            self.direction.model.session()

    def take_in(self, data: bytes) -> tuple[DecodedImage, Step]:
        """Decode within this pipeline's limits; the step to record first in the provenance.
        Raises ``IntakeError`` for bytes that are not a readable image."""
        t0 = time.perf_counter()
        image = decode(data, max_pixels=self.limits.max_pixels, max_bytes=self.limits.max_bytes)
        intake = Step("intake", _ms(t0), (("format", image.format), ("max_pixels", str(self.limits.max_pixels)),
                                          ("exif_orientation", str(image.exif_orientation))))
        return image, intake

    def read_bytes(self, data: bytes, options: ReadOptions | None = None) -> Recognition:
        """Read a photo. Raises ``IntakeError`` for bytes that are not a readable image."""
        image, intake = self.take_in(data)
        return self.read_image(image, options, first_steps=(intake,))

    def read_image(
        self, image: DecodedImage, options: ReadOptions | None = None, first_steps: tuple[Step, ...] = ()
    ) -> Recognition:
        opts = options or ReadOptions()
        steps = list(first_steps)
        bgr = image.bgr

        t0 = time.perf_counter()
        det_cfg = self.detector.config
        if opts.det_max_side is not None:
            det_cfg = replace(det_cfg, max_side=opts.det_max_side)
        small = self.detector.reduce(bgr, det_cfg)  # detected as it is, then flattened
        regions = self.detector.detect_reduced(small, (image.width, image.height), det_cfg)
        rh, rw = small.shape[:2]
        steps.append(Step("detect", _ms(t0), (
            ("reduced_size", f"{rw}x{rh}"), ("thresh", str(det_cfg.thresh)),
            ("box_thresh", str(det_cfg.box_thresh)), ("unclip_ratio", str(det_cfg.unclip_ratio)),
            ("regions", str(len(regions))),
        )))
        first_regions = regions
        if opts.flat_pass:
            t0 = time.perf_counter()
            params = FlattenPhotoParams()
            flat = self.detector.detect_reduced(flatten_photo(small, params), (image.width, image.height), det_cfg)
            merged = merge_regions(list(regions), flat, (image.width, image.height))
            steps.append(Step("detect_flat", _ms(t0), (
                ("enhance", f"flatten_photo(sigma={params.sigma:.4f} of the long side)"),
                ("regions", str(len(flat))), ("new_regions", str(len(merged) - len(regions))),
            )))
            regions = merged
        if opts.join_lines:
            regions = self._join(regions, steps)
        if opts.refine_small:
            t0 = time.perf_counter()
            before = len(regions)
            regions, looked = self.detector.refine(bgr, regions, rw / image.width, det_cfg, self.refine_config)
            steps.append(Step("detect_refine", _ms(t0), (
                ("below_px", str(self.refine_config.below)), ("target_px", str(self.refine_config.target)),
                ("reach", str(self.refine_config.reach)), ("looked_again", str(looked)),
                ("regions", f"{before} -> {len(regions)}"),
            )))

        cut = self._cut(bgr, regions, steps)
        quality_warnings: tuple[ReadWarning, ...] = ()
        if opts.quality:
            quality_warnings = self._assess(bgr, cut, steps)
        lines = self._read_cut(cut, opts, steps)

        coarse = [r for r in regions if COARSE(r, (image.width, image.height))]
        if (opts.second_pass and (len(lines) < opts.sparse_lines or coarse)
                and rw * det_cfg.tile_zoom <= image.width):
            t0 = time.perf_counter()
            tiles = self.detector.tile_grid(image.width, image.height, det_cfg)
            found = self.detector.detect_tiles(bgr, det_cfg)
            if opts.join_lines:
                found = group_lines(found, self.line_grouping)
            # tiles see small marks better than the flattened copy did: their regions win over it
            # and the lines they find inside a coarse patch replace it
            merged = merge_regions(list(first_regions), found, (image.width, image.height))
            new = [r for r in merged if r not in first_regions]
            reason = (f"first pass read {len(lines)} lines (< {opts.sparse_lines})" if len(lines) < opts.sparse_lines
                      else f"{len(coarse)} coarse regions (patches, not lines)")
            steps.append(Step("detect_tiles", _ms(t0), (
                ("tiles", str(len(tiles))), ("zoom", str(det_cfg.tile_zoom)),
                ("overlap", str(det_cfg.tile_overlap)), ("new_regions", str(len(new))),
                ("reason", reason),
            )))
            if new and opts.refine_small:
                t1 = time.perf_counter()
                zoom_scale = min(1.0, rw / image.width * det_cfg.tile_zoom)
                new, looked = self.detector.refine(bgr, new, zoom_scale, det_cfg, self.refine_config)
                steps.append(Step("tiles:detect_refine", _ms(t1), (("looked_again", str(looked)),)))
            if new:
                lines = tuple(line for line in lines if not any(overlapping(line.quad, r.quad) for r in new))
                more = self._read_cut(self._cut(bgr, new, steps, stage="tiles:"), opts, steps, stage="tiles:")
                lines = tuple(sorted(lines + more, key=_reading_order))

        if opts.headstamps:
            t0 = time.perf_counter()
            stamp = read_headstamp(bgr, self.recognizer, top_k=opts.top_k, temperature=opts.temperature)
            if stamp is None:
                steps.append(Step("headstamp", _ms(t0), (("found", "no"),)))
            else:
                steps.extend(stamp.steps)
                lines = stamp.merged_with(lines)  # detector lines on the head give way to the unrolled tokens

        marks: tuple[MarkCandidate, ...] = ()
        if self.interpreter is not None:
            t0 = time.perf_counter()
            marks = self.interpreter.interpret(lines, image=bgr)
            steps.append(Step("interpret", _ms(t0), (("marks", str(len(marks))),)))

        warnings = self._warnings(lines, quality_warnings)
        provenance = Provenance(
            sha256=image.sha256, size_bytes=image.size_bytes, format=image.format,
            width=image.width, height=image.height, exif_orientation=image.exif_orientation,
            steps=tuple(steps), models=self.models(), libraries=library_versions(),
            code_version=code_version(),
        )
        return Recognition(lines=lines, provenance=provenance, marks=marks, warnings=warnings)

    def _join(self, regions: list[Region], steps: list[Step]) -> list[Region]:
        t0 = time.perf_counter()
        joined = group_lines(regions, self.line_grouping)
        g = self.line_grouping
        steps.append(Step("join_lines", _ms(t0), (
            ("max_gap", str(g.max_gap)), ("max_offset", str(g.max_offset)),
            ("min_height_ratio", str(g.min_height_ratio)), ("max_angle", str(g.max_angle)),
            ("regions", f"{len(regions)} -> {len(joined)}"),
        )))
        return joined

    def _cut(self, bgr: np.ndarray, regions: Sequence[Region], steps: list[Step], stage: str = "") -> _Cut:
        """Upright crops of the regions, cut from the full-resolution image (0/180 applied)."""
        if not regions:
            return _Cut([], [], [])
        t0 = time.perf_counter()
        crops = [crop_quad(bgr, r.quad) for r in regions]
        quads = [r.quad for r in regions]
        steps.append(Step(stage + "crop", _ms(t0), (("max_height", "160"), ("warp", "perspective"))))

        angles = [0] * len(crops)
        if self.direction is not None:
            t0 = time.perf_counter()
            flips = self.direction.upside_down(crops)
            for i, (flip, _p) in enumerate(flips):
                if flip:
                    crops[i] = np.ascontiguousarray(crops[i][::-1, ::-1])
                    quads[i] = rotate_order(quads[i], 2)
                    angles[i] = 180
            steps.append(Step(stage + "direction", _ms(t0), (
                ("threshold", str(self.direction.config.threshold)), ("turned", str(sum(a == 180 for a in angles))),
            )))
        return _Cut(crops, quads, angles, bgr)

    def _assess(self, bgr: np.ndarray, cut: _Cut, steps: list[Step]) -> tuple[ReadWarning, ...]:
        t0 = time.perf_counter()
        h, w = bgr.shape[:2]
        scale = min(1.0, GLOBAL_SIDE / max(h, w))
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        masks = []
        for quad in cut.quads:
            m = np.zeros(size, dtype=np.uint8)
            pts = np.array([[x * scale, y * scale] for x, y in quad.points], dtype=np.int32)
            cv2.fillConvexPoly(m, pts, 1)
            masks.append(m.astype(bool))
        # the largest regions (the marking photographed on purpose) judge sharpness and height
        biggest = sorted(range(len(cut.quads)), key=lambda i: -cut.quads[i].height)[:8]
        quality = assess(bgr, crops=[cut.crops[i] for i in biggest],
                         line_heights=[cut.quads[i].height for i in biggest], text_masks=masks)
        advice = advise(quality, self.quality_config)
        steps.append(Step("quality", _ms(t0), (*quality.params(), ("advice", ",".join(a.code for a in advice)))))
        return advice

    def _read_cut(self, cut: _Cut, opts: ReadOptions, steps: list[Step], stage: str = "") -> tuple[TextLine, ...]:
        if not cut.crops:
            return ()
        t0 = time.perf_counter()
        decoded = self.recognizer.recognize(cut.crops, top_k=opts.top_k, temperature=opts.temperature)
        steps.append(Step(stage + "recognise", _ms(t0), (
            ("top_k", str(opts.top_k)), ("temperature", str(opts.temperature)),
            ("alphabet", "firearm markings (Latin, Cyrillic, Greek, digits, Roman numerals, punctuation), "
                         "as far as each model has them"),
            ("min_confidence", str(opts.min_confidence)),
        )))
        if opts.direction_check and self.direction is not None:
            decoded = self._check_direction(cut, decoded, opts, steps, stage)
        if opts.rebox:
            decoded = self._rebox(cut, decoded, opts, steps, stage)
        if opts.extend_lines:
            decoded = self._extend(cut, decoded, opts, steps, stage)
        variant_of = ["original"] * len(decoded)
        if opts.variants:
            decoded, variant_of = self._read_variants(cut, decoded, opts, steps, stage)

        lines = []
        for quad, angle, dec, variant in zip(cut.quads, cut.angles, decoded, variant_of, strict=True):
            text, chars = _strip_spaces(dec.text, dec.chars)
            if not text or dec.confidence < opts.min_confidence:
                continue
            alternates = tuple((t.strip(), w) for t, w in dec.alternates)  # never the text itself (merge_alternates)
            lines.append(TextLine(text=text, confidence=round(dec.confidence, 4), quad=quad, chars=chars,
                                  variant=variant, angle=angle, alternates=alternates))
        return tuple(lines)

    def _check_direction(
        self, cut: _Cut, decoded: list[DecodedText], opts: ReadOptions, steps: list[Step], stage: str
    ) -> list[DecodedText]:
        """Read turned or uncertain lines the other way up; keep whichever way reads clearly better.
        ``cut`` is updated in place (crop, quad order, angle) where the other way wins."""
        t0 = time.perf_counter()
        check = [i for i, d in enumerate(decoded)
                 if cut.angles[i] == 180 or d.confidence < opts.direction_check_below or _turnable(d.text)]
        if not check:
            return decoded
        other = [np.ascontiguousarray(cut.crops[i][::-1, ::-1]) for i in check]
        again = self.recognizer.recognize(other, top_k=opts.top_k, temperature=opts.temperature)
        out = list(decoded)
        changed = both = 0
        either: list[tuple[int, DecodedText]] = []
        for i, crop, dec in zip(check, other, again, strict=True):
            if dec.confidence > out[i].confidence + opts.direction_margin:
                out[i] = dec
                cut.crops[i] = crop
                cut.quads[i] = rotate_order(cut.quads[i], 2)
                cut.angles[i] = 180 - cut.angles[i]
                changed += 1
            elif dec.text.strip() and dec.confidence >= out[i].confidence - opts.direction_margin:
                either.append((i, dec))
        for i, dec in either:
            # read about as well either way up ('80695' and 'S6908'): unless a line running the same
            # way that only reads one way up (a word) says which way is up, the other way is one of
            # the line's other readings
            if not _way_up_shown(i, out, cut.quads):
                out[i] = replace(out[i], alternates=_with_other_way(out[i], dec))
                both += 1
        steps.append(Step(stage + "direction_check", _ms(t0), (
            ("below", str(opts.direction_check_below)), ("margin", str(opts.direction_margin)),
            ("lines", str(len(check))), ("changed", str(changed)), ("either_way", str(both)),
        )))
        return out

    def _rebox(
        self, cut: _Cut, decoded: list[DecodedText], opts: ReadOptions, steps: list[Step], stage: str
    ) -> list[DecodedText]:
        """Cut uncertain lines again to the rows where their text runs (tighter, or two lines) and
        keep the new reading where it is more confident. ``cut`` is updated in place (a line split
        in two becomes two entries)."""
        image, cfg = cut.image, self.rebox_config
        if image is None:
            return decoded
        t0 = time.perf_counter()
        plans: dict[int, list[Quad]] = {}
        for i, d in enumerate(decoded):
            if d.text.strip() and d.confidence < cfg.read_below:
                rows = rebox_plan(cut.crops[i], cfg)
                if rows:
                    plans[i] = [sub_quad(cut.quads[i], top, bottom) for top, bottom in rows]
        jobs = [(i, q, crop_quad(image, q)) for i, qs in plans.items() for q in qs]
        reads = self.recognizer.recognize([c for _, _, c in jobs], top_k=opts.top_k,
                                          temperature=opts.temperature) if jobs else []
        parts: dict[int, list[tuple[Quad, np.ndarray, DecodedText]]] = {}
        for (i, q, c), d in zip(jobs, reads, strict=True):
            parts.setdefault(i, []).append((q, c, d))
        crops: list[np.ndarray] = []
        quads: list[Quad] = []
        angles: list[int] = []
        out: list[DecodedText] = []
        tightened = split = 0
        for i, d in enumerate(decoded):
            new = parts.get(i, [])
            conf = sum(n.confidence for _, _, n in new) / len(new) if new else 0.0
            if new and all(n.text.strip() for _, _, n in new) and conf > d.confidence + cfg.gain:
                for q, c, n in new:
                    crops.append(c)
                    quads.append(q)
                    angles.append(cut.angles[i])
                    out.append(n)
                tightened += len(new) == 1
                split += len(new) == 2
            else:
                crops.append(cut.crops[i])
                quads.append(cut.quads[i])
                angles.append(cut.angles[i])
                out.append(d)
        cut.crops[:], cut.quads[:], cut.angles[:] = crops, quads, angles
        steps.append(Step(stage + "rebox", _ms(t0), (
            *cfg.describe(), ("looked_at", str(len(plans))), ("tightened", str(tightened)), ("split", str(split)),
        )))
        return out

    def _extend(
        self, cut: _Cut, decoded: list[DecodedText], opts: ReadOptions, steps: list[Step], stage: str
    ) -> list[DecodedText]:
        """Lengthen the lines whose text goes on past their box; ``cut`` is updated in place (quads,
        and crops for the steps after this one)."""
        image = cut.image
        keep = [i for i, d in enumerate(decoded) if d.text.strip() and d.confidence >= opts.min_confidence]
        if image is None or not keep:
            return decoded
        t0 = time.perf_counter()
        cfg = self.extend_config
        quads, grown, n = extend_lines(
            [cut.quads[i] for i in keep], [decoded[i] for i in keep],
            crop=lambda q: crop_quad(image, q),
            read=lambda crops: self.recognizer.recognize(crops, top_k=opts.top_k, temperature=opts.temperature),
            config=cfg,
        )
        out = list(decoded)
        for i, quad, dec in zip(keep, quads, grown, strict=True):
            out[i] = dec  # unchanged, grown, or empty: a piece of a line another line took in
            if quad != cut.quads[i]:
                cut.quads[i] = quad
                cut.crops[i] = crop_quad(image, quad)
        pieces = sum(1 for i in keep if not out[i].text)
        steps.append(Step(stage + "extend", _ms(t0), (
            *cfg.describe(), ("lines", str(len(keep))), ("grown", str(n)), ("pieces_joined", str(pieces)),
        )))
        return out

    def _read_variants(
        self, cut: _Cut, decoded: list[DecodedText], opts: ReadOptions, steps: list[Step], stage: str
    ) -> tuple[list[DecodedText], list[str]]:
        """Read uncertain lines again from enhanced variants and fuse the readings per character."""
        uncertain = [i for i, d in enumerate(decoded) if d.confidence < opts.variant_below]
        variant_of = ["original"] * len(decoded)
        if not uncertain:
            return decoded, variant_of
        t0 = time.perf_counter()
        readings: list[list[DecodedText]] = [[decoded[i]] for i in uncertain]
        for name in opts.variants:
            images = [VARIANTS[name].apply(cut.crops[i]) for i in uncertain]
            for slot, dec in zip(readings, self.recognizer.recognize(
                    images, top_k=opts.top_k, temperature=opts.temperature), strict=True):
                slot.append(dec)
        out = list(decoded)
        label = "fused(" + "+".join(("original", *opts.variants)) + ")"
        for i, reads in zip(uncertain, readings, strict=True):
            first, others = reads[0], reads[1:]
            if opts.variants_as == "alternates":
                share = VARIANT_ALTERNATE_SHARE
                pooled = [*first.alternates, *((r.text, share) for r in others),
                          *((t, share * w) for r in others for t, w in r.alternates)]
                out[i] = replace(first, alternates=merge_alternates(
                    first.text, pooled, len(first.alternates) + len(others)))
            else:
                out[i] = fuse(reads, top_k=opts.top_k)
                variant_of[i] = label
        how = ("aligned per-character vote, weighted by line confidence" if opts.variants_as == "characters"
               else "the line's reading stands; the variants' readings are its alternates")
        steps.append(Step(stage + "variants", _ms(t0), (
            ("below", str(opts.variant_below)), ("lines", str(len(uncertain))),
            *((name, VARIANTS[name].describe()) for name in opts.variants),
            ("fusion", how),
        )))
        return out, variant_of

    def _warnings(self, lines: Sequence[TextLine], quality: Sequence[ReadWarning]) -> tuple[ReadWarning, ...]:
        out = list(quality)
        if not lines:
            out.append(ReadWarning("no_text", "no legible text was found in the photo"))
            return tuple(out)
        if not any(w.code == "small_text" for w in out):
            heights = sorted(line.quad.height for line in lines)
            median = heights[len(heights) // 2]
            if median < 16:
                px = f"{median:.0f}"
                out.append(ReadWarning("small_text", f"move closer: characters are {px} px high",
                                       (("char_height_px", px),)))
        weak = [line for line in lines if line.confidence < 0.6]
        if weak:
            out.append(ReadWarning(
                "low_confidence", f"{len(weak)} of {len(lines)} lines were read with low confidence",
                (("lines", str(len(weak))), ("of", str(len(lines)))),
            ))
        return tuple(out)


# Characters that read as a character under a half turn (6/9, and the symmetric ones): a line made
# of them alone may read as well upside down ('80695' and 'S6908'), whatever its confidence.
TURNABLE = frozenset("0123456789SZNHIOXMW")


def _turnable(text: str) -> bool:
    alnum = [c for c in text.upper() if c.isalnum()]
    return len(alnum) >= 4 and all(c in TURNABLE for c in alnum)


def _way_up_shown(i: int, decoded: Sequence[DecodedText], quads: Sequence[Quad]) -> bool:
    """Whether another line, read confidently, with letters that do not read upside down, runs the
    same way as line ``i`` (parallel and in the same direction as read)."""
    _, u, _ = quad_axis(quads[i])
    for j, d in enumerate(decoded):
        alnum = [c for c in d.text if c.isalnum()]
        if j == i or len(alnum) < 3 or d.confidence < 0.9 or _turnable(d.text):
            continue
        if float(np.dot(u, quad_axis(quads[j])[1])) >= 0.9:
            return True
    return False


def _with_other_way(kept: DecodedText, other: DecodedText) -> tuple[tuple[str, float], ...]:
    """``kept``'s other readings with ``other`` (the line read the other way up) among them,
    weighted by its confidence against ``kept``'s."""
    weight = min(1.0, other.confidence / max(kept.confidence, 1e-9))
    return merge_alternates(kept.text, (*kept.alternates, (other.text, weight)), len(kept.alternates) + 1)


@dataclass(slots=True)
class _Cut:
    crops: list[np.ndarray]
    quads: list[Quad]
    angles: list[int]
    image: np.ndarray | None = None  # the full-resolution photo the crops were cut from


def build_pipeline(
    *,
    ort_config: OrtConfig | None = None,
    store: ModelStore | None = None,
    detector_config: DetectorConfig | None = None,
    recognizer_config: RecognizerConfig | None = None,
    limits: IntakeLimits | None = None,
    use_direction: bool = True,
    interpreter: Interpreter | None = None,
    interpret: bool = True,
    recognizer: str | None = None,
) -> Pipeline:
    """Assemble the default pipeline from the model manifest. Models load lazily on first use.

    ``interpret=False`` leaves the lines uninterpreted (no marks); ``interpreter`` replaces the
    default interpreter built from the packaged dictionaries. ``recognizer`` chooses the line
    recogniser: ``bundled``, ``markings`` (the project's own, with Cyrillic) or ``both`` fused per
    character (the default, ``vision.recognition.DEFAULT_RECOGNIZER``).
    """
    store = store or ModelStore(config=ort_config or OrtConfig())
    if interpreter is None and interpret:
        from vision.interpret import build_interpreter

        interpreter = build_interpreter()
    return Pipeline(
        detector=TextDetector(store.by_task("det"), detector_config),
        recognizer=build_recognizer(store, recognizer or DEFAULT_RECOGNIZER, recognizer_config),
        direction=DirectionClassifier(store.by_task("cls")) if use_direction else None,
        interpreter=interpreter,
        limits=limits or IntakeLimits(),
    )
