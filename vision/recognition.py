"""Line recognition (PP-OCR rec, CTC) and the 0/180 direction classifier, both batched.

:func:`build_recognizer` chooses the recogniser: the bundled PP-OCRv6 small, the project's own
fine-tuned markings model (with Cyrillic), or both read and fused per character."""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from models.registry import ModelError, ModelStore, OnnxModel
from vision.charset import FIREARM_MARKINGS, allowed_mask
from vision.ctc import CtcDecoder, DecodedText, merge_alternates
from vision.types import CharChoice

REC_HEIGHT = 48
REC_STRIDE = 8  # input pixels per output frame


def _normalise(img: np.ndarray) -> np.ndarray:
    x = (img.astype(np.float32) / 255.0 - 0.5) / 0.5
    return x.transpose(2, 0, 1)


def _resize_to_height(img: np.ndarray, height: int, max_width: int) -> np.ndarray:
    h, w = img.shape[:2]
    width = max(1, min(max_width, math.ceil(height * w / max(h, 1))))
    # Enlarging uses bilinear interpolation, as in the recogniser's own training pipeline (on the
    # real VIN photos bicubic cost 3 of 75 exact reads); shrinking averages to avoid aliasing.
    interp = cv2.INTER_AREA if h > height else cv2.INTER_LINEAR
    resized: np.ndarray = cv2.resize(img, (width, height), interpolation=interp)
    return resized


# Cyrillic letters drawn like a Latin letter, and the reverse: the same glyph in two scripts.
_CYRILLIC_TWIN = dict(zip("АВЕКМНОРСТХЈЅІаеорсхујѕі", "ABEKMHOPCTXJSIaeopcxyjsi", strict=True))
_LATIN_TWIN = {lat: cyr for cyr, lat in _CYRILLIC_TWIN.items()}


def _script(ch: str) -> str:
    """'cyr' or 'lat' for a letter only one script has; '' for twins, digits and punctuation."""
    if ch in _CYRILLIC_TWIN or ch in _LATIN_TWIN or not ch.isalpha():
        return ""
    return "cyr" if "\u0400" <= ch <= "\u04ff" else "lat"


def harmonise_script(dec: DecodedText) -> DecodedText:
    """Write the twin letters of a line in the script of its unambiguous letters.

    A recogniser that knows both scripts cannot tell Latin C from Cyrillic С by shape; the line
    can: the script of the letters only one script has (Ш, Л, Д ... or L, U, m ...) decides, Latin
    when there are none, and a line with as many of each is left as read. The twins' probabilities
    are added up (one glyph) and given to the letter of the line's script. The line's other
    readings (``alternates``) are written the same way, and those that then read alike are one."""
    lat = sum(_script(c.best) == "lat" for c in dec.chars)
    cyr = sum(_script(c.best) == "cyr" for c in dec.chars)
    if lat == cyr and lat > 0:
        return dec
    table = _LATIN_TWIN if cyr > lat else _CYRILLIC_TWIN  # letter of the other script -> ours
    ours = set(table.values())
    changed = False
    chars: list[CharChoice] = []
    for c in dec.chars:
        best = c.best
        target = table.get(best, best if best in ours else "")
        if not target:
            chars.append(c)
            continue
        other = next((k for k, v in table.items() if v == target), "")
        mass = sum(p for ch, p in c.alternatives if ch in (target, other))
        rest = tuple((ch, p) for ch, p in c.alternatives if ch not in (target, other))
        alternatives = ((target, round(mass, 6)), *rest)
        if alternatives != c.alternatives:
            changed = True
            chars.append(CharChoice(alternatives, span=c.span))
        else:
            chars.append(c)
    text = "".join(c.best for c in chars)
    alternates = merge_alternates(
        text, [("".join(table.get(ch, ch) for ch in t), w) for t, w in dec.alternates], len(dec.alternates))
    if not changed and alternates == dec.alternates:
        return dec
    return DecodedText(text, dec.confidence, tuple(chars), alternates)


def _has_both_scripts(vocabulary: Sequence[str]) -> bool:
    return any(ch in _CYRILLIC_TWIN for ch in vocabulary) and any(ch in _LATIN_TWIN for ch in vocabulary)


@dataclass(frozen=True, slots=True)
class RecognizerConfig:
    batch_size: int = 8
    max_width: int = 1920  # widest line image fed to the recogniser (40 characters' worth at 48 px)
    top_k: int = 5
    temperature: float = 2.0  # flattens the model's overconfidence so alternatives carry information
    # Other readings of the whole line kept beside the best one (vision.ctc: a prefix beam search
    # of ``beam`` prefixes), for readings a character longer or shorter; 0 turns them off.
    alternates: int = 6
    beam: int = 10


class TextRecognizer:
    """Reads upright line crops. The vocabulary comes from the model's own metadata."""

    def __init__(
        self,
        model: OnnxModel,
        config: RecognizerConfig | None = None,
        alphabet: str = FIREARM_MARKINGS,
    ) -> None:
        self.model = model
        self.config = config or RecognizerConfig()
        self.alphabet = alphabet
        self._decoder: CtcDecoder | None = None
        self._both_scripts = False  # set with the decoder: the model reads Latin and Cyrillic
        self._lock = threading.Lock()

    @property
    def decoder(self) -> CtcDecoder:
        if self._decoder is None:
            with self._lock:
                if self._decoder is None:
                    self._decoder = self._build_decoder()
        return self._decoder

    def _build_decoder(self) -> CtcDecoder:
        meta = self.model.metadata()
        if "character" not in meta:
            raise ModelError(
                "model_charset_missing",
                f"model {self.model.spec.name} carries no 'character' list in its metadata",
            )
        chars = meta["character"].split("\n")
        vocabulary = ["", *chars, " "]
        out_classes = self.model.session().get_outputs()[0].shape[-1]
        if isinstance(out_classes, int) and out_classes != len(vocabulary):
            raise ModelError(
                "model_charset_mismatch",
                f"model {self.model.spec.name} has {out_classes} output classes but its character "
                f"list gives {len(vocabulary)}",
            )
        self._both_scripts = _has_both_scripts(vocabulary)
        return CtcDecoder(vocabulary, allowed_mask(vocabulary, self.alphabet))

    def recognize(
        self,
        crops: Sequence[np.ndarray],
        *,
        top_k: int | None = None,
        temperature: float | None = None,
    ) -> list[DecodedText]:
        """Read each crop (BGR, text running left to right). Order of the result = order of crops."""
        cfg = self.config
        k = cfg.top_k if top_k is None else top_k
        temp = cfg.temperature if temperature is None else temperature
        decoder = self.decoder
        results: list[DecodedText | None] = [None] * len(crops)
        ratios = [c.shape[1] / max(c.shape[0], 1) for c in crops]
        order = sorted(range(len(crops)), key=lambda i: ratios[i])
        for start in range(0, len(order), cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            resized = [_resize_to_height(crops[i], REC_HEIGHT, cfg.max_width) for i in idx]
            width = max(r.shape[1] for r in resized)
            width = max(REC_STRIDE * 4, math.ceil(width / REC_STRIDE) * REC_STRIDE)
            batch = np.zeros((len(idx), 3, REC_HEIGHT, width), dtype=np.float32)
            for j, r in enumerate(resized):
                batch[j, :, :, : r.shape[1]] = _normalise(r)
            probs = self.model.run(batch)
            frames_total = probs.shape[1]
            for j, i in enumerate(idx):
                frames = math.ceil(resized[j].shape[1] / width * frames_total)
                dec = decoder.decode(probs[j], top_k=k, temperature=temp, frames=frames,
                                     alternates=cfg.alternates, beam=cfg.beam)
                results[i] = harmonise_script(dec) if self._both_scripts else dec
        return [r if r is not None else DecodedText("", 0.0, ()) for r in results]


@dataclass(frozen=True, slots=True)
class DirectionConfig:
    threshold: float = 0.9  # probability needed to turn a line by 180 degrees
    batch_size: int = 8


class DirectionClassifier:
    """Decides whether a line crop is upside down (PP-OCR's 0/180 classifier)."""

    WIDTH = 192

    def __init__(self, model: OnnxModel, config: DirectionConfig | None = None) -> None:
        self.model = model
        self.config = config or DirectionConfig()

    def upside_down(self, crops: Sequence[np.ndarray]) -> list[tuple[bool, float]]:
        out: list[tuple[bool, float]] = []
        for start in range(0, len(crops), self.config.batch_size):
            chunk = crops[start : start + self.config.batch_size]
            batch = np.zeros((len(chunk), 3, REC_HEIGHT, self.WIDTH), dtype=np.float32)
            for j, c in enumerate(chunk):
                r = _resize_to_height(c, REC_HEIGHT, self.WIDTH)
                batch[j, :, :, : r.shape[1]] = _normalise(r)
            probs = self.model.run(batch)
            for row in probs:
                p180 = float(row[1])
                out.append((p180 >= self.config.threshold, p180))
        return out


# --- choosing the recogniser: bundled, markings, or both fused --------------------------------------
BUNDLED_REC = "PP-OCRv6_rec_small"
MARKINGS_REC = "rec_markings_v1"
RECOGNIZER_CHOICES = ("bundled", "markings", "both")
DEFAULT_RECOGNIZER = "both"  # the best on the benchmarks (benchmarks/README.md, "Own recogniser")
# Share of the markings model in the fused alternatives, measured on 2026-11-28 on the detected line
# crops of the synthetic set and of real-dev: from 0.2 to 0.5 every synthetic kind reads better than
# with the bundled model; 0.4 reads the most real VIN plates (50 of 75; bundled 49, 0.5: 49, 0.6:
# 41). The markings model alone reads those real printed plates worse (36).
FUSION_WEIGHT = 0.4



def _same(a: str, b: str) -> bool:
    return a == b or _CYRILLIC_TWIN.get(a) == b or _CYRILLIC_TWIN.get(b) == a


def align(a: str, b: str) -> list[tuple[int | None, int | None]]:
    """Edit-distance alignment of two readings (Cyrillic letters match their Latin twins):
    pairs of positions, ``None`` where one reading has no character."""
    n, m = len(a), len(b)
    cost = np.zeros((n + 1, m + 1), dtype=np.int32)
    cost[:, 0] = np.arange(n + 1)
    cost[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            sub = cost[i - 1, j - 1] + (0 if _same(a[i - 1], b[j - 1]) else 1)
            cost[i, j] = min(sub, cost[i - 1, j] + 1, cost[i, j - 1] + 1)
    pairs: list[tuple[int | None, int | None]] = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and cost[i, j] == cost[i - 1, j - 1] + (0 if _same(a[i - 1], b[j - 1]) else 1):
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif i > 0 and cost[i, j] == cost[i - 1, j] + 1:
            pairs.append((i - 1, None))
            i -= 1
        else:
            pairs.append((None, j - 1))
            j -= 1
    pairs.reverse()
    return pairs


def _merge(a: CharChoice | None, b: CharChoice | None, wa: float, wb: float, top_k: int) -> CharChoice:
    """Weighted sum of two alternative lists; where the markings side (``b``) reads a Cyrillic
    letter, the bundled side's (``a``) vote for its Latin twin counts for that letter."""
    scores: dict[str, float] = {}
    # only where the markings model's best reading is a Cyrillic letter
    twin = _CYRILLIC_TWIN.get(b.best) if b is not None else None
    if a is not None:
        for c, p in a.alternatives:
            target = b.best if (b is not None and twin == c) else c
            scores[target] = scores.get(target, 0.0) + wa * p
    if b is not None:
        for c, p in b.alternatives:
            scores[c] = scores.get(c, 0.0) + wb * p
    ranked = sorted(scores.items(), key=lambda cp: -cp[1])[: max(1, top_k)]
    total = (wa if a is not None else 0.0) + (wb if b is not None else 0.0)
    alternatives = tuple((c, round(p / max(total, 1e-9), 6)) for c, p in ranked)
    spans = [x.span for x in (a, b) if x is not None]
    span = (sum(s[0] for s in spans) / len(spans), sum(s[1] for s in spans) / len(spans))
    return CharChoice(alternatives, span=span)


def fuse(
    bundled: DecodedText, markings: DecodedText, *, weight: float = FUSION_WEIGHT, top_k: int = 5
) -> DecodedText:
    """One reading from two, fused where they disagree: a character both read alike keeps the
    bundled model's alternatives; other aligned positions get the weighted mix of both models'
    alternatives (``weight`` for the markings model); a character only one model reads is kept when that
    model's weighted line confidence leads. A line the markings model reads with more letters
    only Cyrillic has than letters only Latin has is its reading alone."""
    scripts = [_script(c.best) for c in markings.chars]
    if scripts.count("cyr") > scripts.count("lat"):
        return markings  # a Cyrillic line: the bundled model has no Cyrillic letters to offer
    wa, wb = 1.0 - weight, weight
    lead_b = wb * markings.confidence >= wa * bundled.confidence
    chars: list[CharChoice] = []
    for i, j in align(bundled.text, markings.text):
        a = bundled.chars[i] if i is not None else None
        b = markings.chars[j] if j is not None else None
        if a is not None and b is not None:
            # where both read the same character the bundled reading stands as it is
            chars.append(a if a.best == b.best else _merge(a, b, wa, wb, top_k))
        elif b is not None and lead_b:
            chars.append(_merge(None, b, wa, wb, top_k))
        elif a is not None and not lead_b:
            chars.append(_merge(a, None, wa, wb, top_k))
    text = "".join(c.best for c in chars)
    alternates = fused_alternates(text, ((bundled, wa), (markings, wb)))
    if text == bundled.text:
        return bundled if alternates == bundled.alternates else replace(bundled, alternates=alternates)
    confidence = wa * bundled.confidence + wb * markings.confidence
    return DecodedText(text=text, confidence=confidence, chars=tuple(chars), alternates=alternates)


def fused_alternates(text: str, reads: Sequence[tuple[DecodedText, float]]) -> tuple[tuple[str, float], ...]:
    """Other readings of a line read by several models: each model's own reading where it is not
    the fused one, and that model's other readings, weighted by the model's share (the largest
    share counts as 1). A model that reads a character more or less than the fused reading keeps
    that reading here, where per-character alternatives cannot hold it."""
    top = max((w for _, w in reads), default=1.0) or 1.0
    pooled: list[tuple[str, float]] = []
    for dec, w in reads:
        share = w / top
        pooled.append((dec.text, share))
        pooled.extend((t, share * a) for t, a in dec.alternates)
    # room for each model's own reading beside as many others as one model gives
    limit = len(reads) + max((len(dec.alternates) for dec, _ in reads), default=0)
    return merge_alternates(text, pooled, limit)


class FusedRecognizer(TextRecognizer):
    """Reads every crop with two recognisers and fuses their readings per character.

    ``model`` and ``decoder`` are the first (bundled) recogniser's, so the pipeline records and
    warms it as before; ``models`` lists both for the provenance."""

    def __init__(self, bundled: TextRecognizer, markings: TextRecognizer, weight: float = FUSION_WEIGHT) -> None:
        super().__init__(bundled.model, bundled.config, bundled.alphabet)
        self.bundled = bundled
        self.markings = markings
        self.weight = weight

    @property
    def models(self) -> tuple[OnnxModel, ...]:
        return (self.bundled.model, self.markings.model)

    @property
    def decoder(self) -> CtcDecoder:
        _ = self.markings.decoder
        return self.bundled.decoder

    def recognize(
        self,
        crops: Sequence[np.ndarray],
        *,
        top_k: int | None = None,
        temperature: float | None = None,
    ) -> list[DecodedText]:
        k = self.config.top_k if top_k is None else top_k
        first = self.bundled.recognize(crops, top_k=k, temperature=temperature)
        second = self.markings.recognize(crops, top_k=k, temperature=temperature)
        return [harmonise_script(fuse(a, b, weight=self.weight, top_k=k)) for a, b in zip(first, second, strict=True)]


def build_recognizer(
    store: ModelStore, choice: str = "bundled", config: RecognizerConfig | None = None
) -> TextRecognizer:
    """The recogniser for ``choice``: ``bundled`` (PP-OCRv6 small as shipped by rapidocr),
    ``markings`` (the project's fine-tuned model, with Cyrillic) or ``both`` (fused per character)."""
    if choice == "bundled":
        return TextRecognizer(store.get(BUNDLED_REC), config)
    if choice == "markings":
        return TextRecognizer(store.get(MARKINGS_REC), config)
    if choice == "both":
        return FusedRecognizer(TextRecognizer(store.get(BUNDLED_REC), config),
                               TextRecognizer(store.get(MARKINGS_REC), config))
    raise ValueError(f"recognizer must be one of {', '.join(RECOGNIZER_CHOICES)}, not {choice!r}")
