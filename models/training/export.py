# mypy: disallow-subclassing-any=False
"""Export a checkpoint to ONNX with its character list, pin it in the manifest, write its card.

The exported graph takes the same input as the bundled recogniser (N x 3 x 48 x W, BGR scaled to
-1..1) and gives per-frame probabilities over ``["", *character, " "]``, so it is read by the
same :class:`vision.recognition.TextRecognizer`. After export the file is checked against the
torch model with onnxruntime at two widths before it is pinned.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from models.registry import sha256_file
from models.training.charset import MARKING_CHARS, PUNCT_NO_SPACE
from models.training.train import load_checkpoint

NAME = "rec_markings_v1"
MANIFEST = Path(__file__).resolve().parent.parent / "manifest.json"


class _Probabilities(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.model(x)
        return out


def to_onnx(model: torch.nn.Module, out: Path) -> None:
    wrapper = _Probabilities(model).eval()
    dummy = torch.zeros((1, 3, 48, 320), dtype=torch.float32)
    torch.onnx.export(
        wrapper, (dummy,), str(out), input_names=["x"], output_names=["softmax"],
        dynamic_axes={"x": {0: "batch", 3: "width"}, "softmax": {0: "batch", 1: "frames"}},
        opset_version=17, dynamo=False,
    )
    proto = onnx.load(str(out))
    del proto.metadata_props[:]
    for key, value in (("character", "\n".join(MARKING_CHARS)), ("name", NAME),
                       ("source", "PP-OCRv6 small rec (rapidocr 3.10.0) fine-tuned by models.training")):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(out))
    model.eval()  # the exporter restores the wrapper's mode, which was train


def check_against_torch(model: torch.nn.Module, path: Path) -> float:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    model.eval()
    worst = 0.0
    rng = np.random.default_rng(0)
    for width in (160, 488):
        x = rng.uniform(-1, 1, (2, 3, 48, width)).astype(np.float32)
        with torch.no_grad():
            ref = model(torch.from_numpy(x)).numpy()
        got = sess.run(None, {"x": x})[0]
        if got.shape != ref.shape:
            raise RuntimeError(f"exported model gives {got.shape}, torch {ref.shape} at width {width}")
        worst = max(worst, float(np.abs(got - ref).max()))
    if worst > 1e-3:
        raise RuntimeError(f"exported model differs from torch by {worst}")
    return worst


def _caliber_version() -> str:
    import tomllib

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])


def pin(out: Path, sha: str, manifest: Path = MANIFEST) -> None:
    raw = json.loads(manifest.read_text(encoding="utf-8"))
    entry = {
        "task": "rec",
        "name": NAME,
        "version": "PP-OCRv6 small fine-tuned for firearm markings (digits, Latin, Cyrillic, punctuation) v1",
        "package": "models",
        "package_version": _caliber_version(),
        "file": out.name,
        "sha256": sha,
        "charset": "metadata:character",
        "licence": "Apache-2.0 (fine-tuned from PaddleOCR PP-OCRv6 small weights)",
    }
    models = [m for m in raw["models"] if m["name"] != NAME]
    models.append(entry)
    raw["models"] = models
    manifest.write_text(json.dumps(raw, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _table(initial: dict[str, Any], final: dict[str, Any]) -> str:
    rows = ["| validation group | lines | exact before | exact after | CER before | CER after |",
            "|---|---|---|---|---|---|"]
    order = ["all", "stamped", "engraved", "dot-peen", "laser", "moulded", "printed", "headstamp", "cyrillic"]
    for g in order + sorted(set(final) - set(order)):
        if g not in final:
            continue
        a, b = initial.get(g, {}), final[g]
        rows.append(f"| {g} | {b['n']} | {a.get('exact', 0):.1%} | {b['exact']:.1%} | "
                    f"{a.get('cer', 0):.3f} | {b['cer']:.3f} |")
    return "\n".join(rows)


def write_card(out: Path, sha: str, info: dict[str, Any], work: Path, max_diff: float) -> Path:
    card = out.with_suffix(".md")
    cfg = info["config"]
    log = [json.loads(line) for line in (work / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    start: dict[str, Any] = next((e for e in log if e.get("event") == "start"), {})
    evals = [e for e in log if "val" in e and "event" not in e]
    curve = "\n".join(
        f"| {e['step']} | {e['lines_seen']} | {e['train_seconds'] / 60:.1f} | {e['loss']:.3f} | "
        f"{e['val']['all']['exact']:.1%} | {e['val']['all']['cer']:.3f} | "
        f"{e['val'].get('cyrillic', {}).get('exact', 0):.1%} |"
        for e in evals
    )
    text = f"""# {NAME}: PP-OCRv6 small recogniser fine-tuned for firearm markings

File `models/{out.name}`, SHA-256 `{sha}` (pinned in `models/manifest.json`), exported
{dt.date.today().isoformat()} with torch {torch.__version__}, onnx {onnx.__version__},
Python {platform.python_version()}.

## What it is
PP-OCRv6 small rec (the recogniser bundled with `rapidocr==3.10.0`) converted to torch with
onnx2torch, its 18,708-class classifier replaced by a head over {len(MARKING_CHARS)} characters + CTC blank
+ space: digits, Latin upper and lower case, Č Ć Š Ž Đ (č ć š ž đ), Cyrillic upper and lower case
(Serbian, Macedonian, Russian, Ukrainian, Belarusian, Bulgarian letters) and the punctuation of
markings `{PUNCT_NO_SPACE}`. The head started from the bundled classifier's rows (Cyrillic
look-alikes from their Latin twin), then the model was fine-tuned with CTC. The character list is in
the ONNX metadata (`character`), as for the bundled model; input and output conventions are the
bundled model's (N x 3 x 48 x W, BGR scaled to -1..1; softmax per 8-pixel frame).
Not kept: Greek letters and Roman-numeral glyphs (Roman numerals on markings are Latin I V X L C D M),
and every CJK class.

## Data
Line crops drawn by `models/training/data.py` with the benchmark's generator (`benchmarks.synth`):
stamped, engraved, laser, dot-peen, moulded and printed markings on their surfaces plus headstamp
tokens on brass with bent baselines (circular text unrolled), wide letter spacing, side light,
perspective, uneven light, glare, blur, noise, low resolution and JPEG; about 6 % of draws are whole
synthetic close-up photos with every line cut from its (widened) truth quadrilateral. Texts: the
generator's markings (serials incl. Cyrillic prefixes, makers, models, calibres, countries, importers,
proof and date marks, labels, headstamp codes, Serbian words, Cyrillic makers and words), general text
in Latin and Cyrillic in upper, lower and title case, and random strings over every kept character.
Training lines: {start.get('train_lines', '?'):,} at the start, {evals[-1]['train_lines'] if evals else 0:,} at the end
(shards of 2,000 lines; the trainer takes up a shard written while it runs); validation:
{start.get('val_lines', '?')} lines of a separate seed. No benchmark image (synth-v1 uses seeds
`2026 * 1e6 + i`) and no real-dev photo was used for training.

## Training
Seed {cfg['seed']}; {cfg['threads']} CPU thread; AdamW, lr {cfg['lr']} (head x{cfg['head_lr_factor']}),
warm-up {cfg['warmup']} steps, cosine over a {cfg['minutes']:.0f}-minute budget; batch {cfg['batch']} lines bucketed by
width; first {cfg['freeze_convs']} convolutions frozen ({info['frozen_params']:,} weights),
{info['trainable_params']:,} weights trained; batch-norm statistics frozen.
Checkpoint exported: step {info['step']}, {info['lines_seen']:,} lines seen,
{info['train_seconds'] / 60:.1f} minutes of training (on a 2-core machine shared with other work).
The ONNX export (opset 17) matches torch to {max_diff:.1e}.

| step | lines seen | minutes | loss | val exact | val CER | val Cyrillic exact |
|---|---|---|---|---|---|---|
{curve}

## Validation (generated lines, greedy decoding, upper-cased, no whitespace, scripts kept apart)
"Before" is the untrained new head (the bundled classifier restricted to the kept characters). Raw
model output: the recogniser at run time also writes twin letters (C/С, H/Н ...) in the script of
the line, which these figures do not include.

{_table(info['initial'], info['val'])}

Benchmarks on the synthetic photo set and on real-dev, beside the bundled model: `benchmarks/README.md`,
section "Own recogniser".

## Reproduce
```sh
.venv/bin/pip install torch==2.13.0 && .venv/bin/pip install --no-deps onnx2torch && .venv/bin/pip install onnx
.venv/bin/python -m models.training all --seed {cfg['seed']} --minutes {cfg['minutes']:.0f}
```
Data, initial head and batch order follow from the seed; the run is bounded by training minutes,
so how many steps fit (and the learning-rate schedule over them) depends on the machine's speed:
a rerun gives a model of the same recipe, not the same bytes (`train --max-steps` bounds it by steps).
"""
    card.write_text(text, encoding="utf-8")
    return card


def export(work: Path, checkpoint: Path | None, out: Path) -> Path:
    torch.set_num_threads(1)
    ckpt = checkpoint or work / "best.pt"
    model, info = load_checkpoint(ckpt)
    to_onnx(model, out)
    max_diff = check_against_torch(model, out)
    sha = sha256_file(out)
    pin(out, sha)
    card = write_card(out, sha, info, work, max_diff)
    print(f"{out} ({out.stat().st_size / 1e6:.1f} MB) sha256 {sha}; card {card}; max diff {max_diff:.1e}")
    return out
