"""Fine-tune the converted recogniser with CTC on one CPU thread, checkpointing as it goes.

- The first ``freeze_convs`` convolutions (the stem and early stages: most of the compute, few
  weights, generic edge and stroke features) stay as shipped; every later weight, including the
  ones onnx2torch keeps as constants (attention, layer norms, conv biases), is trained. Batch
  norm statistics stay frozen.
- Batches are bucketed by width (little padding); the CTC input length of each line is its own
  width / 8, as the decoder counts frames at run time.
- The learning rate warms up, then follows a cosine over the time budget (the run is bounded by
  minutes, not steps, on a shared machine).
- Every ``eval_every`` steps: exact match and CER on the validation split (overall, per group,
  Cyrillic lines), ``last.pt`` and, when exact match improves, ``best.pt``; a line per
  evaluation in ``train.jsonl``.
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from models.training import data
from models.training.charset import MARKING_CHARS, vocabulary
from models.training.convert import MarkingRecognizer, build_model
from models.training.dataset import available_shards
from vision.fusion import edit_distance

STRIDE = 8


@dataclass(frozen=True, slots=True)
class TrainConfig:
    seed: int = 10
    minutes: float = 50.0
    max_steps: int = 100_000
    batch: int = 24
    lr: float = 2e-4  # trunk; the new head learns 4x faster
    head_lr_factor: float = 4.0
    warmup: int = 40
    freeze_convs: int = 25
    eval_every: int = 150
    threads: int = 1


def trainable_constants(model: MarkingRecognizer) -> int:
    """Turn the float constants onnx2torch stored as buffers (attention and MLP weights, layer
    norms, conv biases) into parameters; scalars (epsilons, exponents) stay constants."""
    init = getattr(model.trunk, "initializers", None)
    if init is None:
        return 0
    moved = 0
    for name, buf in list(init._buffers.items()):
        if buf is not None and buf.is_floating_point() and buf.numel() > 1:
            del init._buffers[name]
            init.register_parameter(name, nn.Parameter(buf.detach().clone()))
            moved += 1
    return moved


def freeze_early(model: MarkingRecognizer, convs: int) -> tuple[int, int]:
    """Freeze every weight used before the ``convs``-th convolution in graph order; returns
    (frozen, trainable) parameter counts."""
    trunk: Any = model.trunk
    frozen_names: set[str] = set()
    seen = 0
    for node in trunk.graph.nodes:
        if node.op == "call_module":
            if str(node.target).startswith("Conv/"):
                seen += 1
            if seen > convs:
                break
            sub = trunk.get_submodule(str(node.target))
            frozen_names.update(f"{node.target}.{n}" for n, _ in sub.named_parameters())
        elif node.op == "get_attr":
            frozen_names.add(str(node.target))
    frozen = trainable = 0
    for name, p in trunk.named_parameters():
        keep = name in frozen_names
        p.requires_grad_(not keep)
        if keep:
            frozen += p.numel()
        else:
            trainable += p.numel()
    trainable += sum(p.numel() for p in model.head.parameters())
    return frozen, trainable


def _freeze_bn(model: nn.Module) -> None:
    for mod in model.modules():
        if isinstance(mod, nn.modules.batchnorm._BatchNorm):
            mod.eval()


def to_input(images: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """BGR 48 px lines -> padded batch (as the runtime builds it) and frame counts."""
    width = max(im.shape[1] for im in images)
    width = max(STRIDE * 4, math.ceil(width / STRIDE) * STRIDE)
    batch = np.zeros((len(images), 3, data.HEIGHT, width), np.float32)
    frames = []
    for j, im in enumerate(images):
        batch[j, :, :, : im.shape[1]] = ((im.astype(np.float32) / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)
        frames.append(math.ceil(im.shape[1] / STRIDE))
    return torch.from_numpy(batch), torch.tensor(frames, dtype=torch.long)


def encode(text: str, index: dict[str, int]) -> list[int]:
    return [index[c] for c in text if c in index]


def greedy(logits: np.ndarray, frames: int, vocab: list[str]) -> str:
    best = logits[:frames].argmax(axis=1)
    out = []
    prev = -1
    for c in best:
        if c != prev and c != 0:
            out.append(vocab[c])
        prev = int(c)
    return "".join(out).strip()


def _norm(s: str) -> str:
    return "".join(s.upper().split())


def evaluate(model: MarkingRecognizer, samples: list[data.LineSample], batch: int = 32) -> dict[str, Any]:
    """Exact match (upper-cased, no whitespace; Cyrillic and Latin kept apart) and CER, overall
    and per group; ``cyrillic`` = lines holding a Cyrillic letter."""
    vocab = vocabulary()
    model.eval()
    order = sorted(range(len(samples)), key=lambda i: samples[i].image.shape[1])
    preds: dict[int, str] = {}
    with torch.no_grad():
        for s in range(0, len(order), batch):
            idx = order[s : s + batch]
            x, frames = to_input([samples[i].image for i in idx])
            logits = model.logits(x).numpy()
            for j, i in enumerate(idx):
                preds[i] = greedy(logits[j], int(frames[j]), vocab)
    model.train()
    _freeze_bn(model)
    groups: dict[str, list[tuple[bool, int, int]]] = defaultdict(list)
    for i, smp in enumerate(samples):
        truth, pred = _norm(smp.text), _norm(preds[i])
        rec = (truth == pred, edit_distance(pred, truth), max(1, len(truth)))
        groups["all"].append(rec)
        groups[smp.group].append(rec)
        if any("\u0400" <= c <= "\u04ff" for c in smp.text):
            groups["cyrillic"].append(rec)
    out: dict[str, Any] = {}
    for g, recs in groups.items():
        out[g] = {"n": len(recs), "exact": round(sum(r[0] for r in recs) / len(recs), 4),
                  "cer": round(sum(r[1] for r in recs) / sum(r[2] for r in recs), 4)}
    return out


class Batches:
    """Random batches bucketed by width from the shards on disk (re-read as new shards appear)."""

    def __init__(self, work: Path, batch: int, rng: np.random.Generator) -> None:
        self.work = work
        self.batch = batch
        self.rng = rng
        self.samples: list[data.LineSample] = []
        self.loaded: set[Path] = set()
        self.queue: list[list[int]] = []

    def refresh(self) -> int:
        for path in available_shards(self.work):
            if path not in self.loaded:
                self.samples.extend(data.load(str(path)))
                self.loaded.add(path)
        return len(self.samples)

    def next(self) -> list[data.LineSample]:
        if not self.queue:
            drawn = [int(i) for i in self.rng.permutation(len(self.samples))[: self.batch * 32]]
            pool = sorted(drawn, key=lambda i: self.samples[i].image.shape[1])
            chunks = [pool[i : i + self.batch] for i in range(0, len(pool), self.batch)]
            self.queue = [chunks[int(i)] for i in self.rng.permutation(len(chunks))]
        return [self.samples[i] for i in self.queue.pop()]


def augment(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Light changes on top of the generator's: width stretch, contrast and brightness."""
    if rng.random() < 0.5:
        f = float(rng.uniform(0.8, 1.2))
        w = max(8, min(data.MAX_WIDTH, round(img.shape[1] * f)))
        img = cv2.resize(img, (w, data.HEIGHT), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        a = float(rng.uniform(0.6, 1.3))
        b = float(rng.uniform(-40, 40))
        img = cv2.convertScaleAbs(img, alpha=a, beta=b)
    return img


def _save(model: MarkingRecognizer, path: Path, info: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"state": model.state_dict(), "info": info}, tmp)
    tmp.replace(path)


def load_checkpoint(path: Path, seed: int = 0) -> tuple[MarkingRecognizer, dict[str, Any]]:
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    model = build_model(seed)
    trainable_constants(model)
    model.load_state_dict(ckpt["state"])
    model.eval()
    return model, dict(ckpt["info"])


def train(work: Path, cfg: TrainConfig) -> Path:
    torch.set_num_threads(cfg.threads)
    torch.set_num_interop_threads(1)
    cv2.setNumThreads(1)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    log_path = work / "train.jsonl"
    model = build_model(cfg.seed)
    trainable_constants(model)
    frozen, trainable = freeze_early(model, cfg.freeze_convs)
    model.train()
    _freeze_bn(model)
    head_params = list(model.head.parameters())
    trunk_params = [p for p in model.trunk.parameters() if p.requires_grad]
    opt = torch.optim.AdamW([
        {"params": trunk_params, "lr": cfg.lr},
        {"params": head_params, "lr": cfg.lr * cfg.head_lr_factor},
    ], weight_decay=0.0)
    base = [g["lr"] for g in opt.param_groups]
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    index = {c: i for i, c in enumerate(vocabulary()) if c}
    val = data.load(str(work / "val.npz"))
    batches = Batches(work, cfg.batch, rng)
    n = batches.refresh()
    if n == 0:
        raise SystemExit(f"no training shards in {work}: run 'python -m models.training data' first")

    def log(entry: dict[str, Any]) -> None:
        with log_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
        print(json.dumps(entry, ensure_ascii=False), flush=True)

    t_start = time.perf_counter()
    budget = cfg.minutes * 60
    metrics = evaluate(model, val)
    info: dict[str, Any] = {"config": asdict(cfg), "frozen_params": frozen, "trainable_params": trainable,
                            "chars": MARKING_CHARS, "initial": metrics}
    log({"step": 0, "event": "start", "train_lines": n, "val_lines": len(val), **info})
    best_exact = metrics["all"]["exact"]
    _save(model, work / "best.pt", {**info, "step": 0, "val": metrics, "train_seconds": 0.0, "lines_seen": 0})
    step = 0
    seen = 0
    losses: list[float] = []
    train_seconds = 0.0
    while step < cfg.max_steps:
        t_step = time.perf_counter()
        frac = min(1.0, max(train_seconds / budget, step / cfg.max_steps))
        warm = min(1.0, (step + 1) / cfg.warmup)
        factor = warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g, b in zip(opt.param_groups, base, strict=True):
            g["lr"] = b * factor
        samples = batches.next()
        images = [augment(s.image, rng) for s in samples]
        x, frames = to_input(images)
        targets = [encode(s.text, index) for s in samples]
        lengths = torch.tensor([len(t) for t in targets], dtype=torch.long)
        flat = torch.tensor([c for t in targets for c in t], dtype=torch.long)
        logp = model.logits(x).log_softmax(-1).permute(1, 0, 2)
        loss = ctc(logp, flat, frames, lengths)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([*trunk_params, *head_params], 5.0)
        opt.step()
        step += 1
        seen += len(samples)
        losses.append(float(loss))
        train_seconds += time.perf_counter() - t_step
        done = train_seconds >= budget or step >= cfg.max_steps
        if step % cfg.eval_every == 0 or done:
            metrics = evaluate(model, val)
            n = batches.refresh()
            entry = {"step": step, "lines_seen": seen, "train_lines": n, "loss": round(float(np.mean(losses)), 4),
                     "lr": round(opt.param_groups[0]["lr"], 7), "train_seconds": round(train_seconds, 1),
                     "wall_seconds": round(time.perf_counter() - t_start, 1), "val": metrics}
            losses = []
            log(entry)
            state = {**info, "step": step, "val": metrics, "train_seconds": train_seconds, "lines_seen": seen}
            _save(model, work / "last.pt", state)
            if metrics["all"]["exact"] >= best_exact:
                best_exact = metrics["all"]["exact"]
                _save(model, work / "best.pt", state)
                log({"step": step, "event": "best", "exact": best_exact})
        if done:
            break
    return work / "best.pt"
