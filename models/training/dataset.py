"""Data shards on disk: ``val.npz`` and ``train-000.npz`` ... in the work folder.

Shard ``k`` of the training split is drawn from split seed ``seed * 1000 + 10 + k``, the
validation split from ``seed * 1000 + 1``: every shard is reproducible on its own, and the
trainer picks up shards as they appear, so data generation and training can overlap.
"""

from __future__ import annotations

import time
from pathlib import Path

from models.training import data


def shard_path(work: Path, k: int) -> Path:
    return work / f"train-{k:03d}.npz"


def make_data(work: Path, seed: int, shards: int, shard_size: int, val: int) -> None:
    import cv2

    cv2.setNumThreads(1)  # the machine is shared: one core for data
    work.mkdir(parents=True, exist_ok=True)
    val_path = work / "val.npz"
    if not val_path.exists():
        t0 = time.perf_counter()
        data.save(str(val_path), list(data.generate(seed * 1000 + 1, val)))
        print(f"val: {val} lines in {time.perf_counter() - t0:.0f} s", flush=True)
    for k in range(shards):
        path = shard_path(work, k)
        if path.exists():
            continue
        t0 = time.perf_counter()
        tmp = path.with_suffix(".tmp.npz")
        data.save(str(tmp), list(data.generate(seed * 1000 + 10 + k, shard_size)))
        tmp.rename(path)
        print(f"shard {k}: {shard_size} lines in {time.perf_counter() - t0:.0f} s", flush=True)


def available_shards(work: Path) -> list[Path]:
    return sorted(p for p in work.glob("train-[0-9][0-9][0-9].npz"))
