"""Line recognition (PP-OCR rec, CTC) and the 0/180 direction classifier, both batched."""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from models.registry import ModelError, OnnxModel
from vision.charset import FIREARM_MARKINGS, allowed_mask
from vision.ctc import CtcDecoder, DecodedText

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


@dataclass(frozen=True, slots=True)
class RecognizerConfig:
    batch_size: int = 8
    max_width: int = 1920  # widest line image fed to the recogniser (40 characters' worth at 48 px)
    top_k: int = 5
    temperature: float = 2.0  # flattens the model's overconfidence so alternatives carry information


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
                results[i] = decoder.decode(probs[j], top_k=k, temperature=temp, frames=frames)
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
