# mypy: disallow-subclassing-any=False
"""The bundled PP-OCRv6 small recogniser as a torch module with a new classifier head.

The ONNX graph is cut before its last MatMul (120 features per frame -> 18,708 classes) and
softmax; the three nodes that use ``auto_pad=SAME_UPPER`` (two 2x2 convolutions and a 2x2 max
pool, stride 1) get explicit pads so that onnx2torch converts them. The new head's rows start as
copies of the bundled classifier's rows for every kept character it already knows, Cyrillic
look-alikes start from their Latin twin, the rest start near zero with a low bias: before any
training the new model reads Latin text as the bundled one does (restricted to the kept set).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from torch import nn

from models.registry import load_manifest, locate
from models.training.charset import CYRILLIC_LOOKALIKE, MARKING_CHARS

BUNDLED = "PP-OCRv6_rec_small"


def bundled_path() -> Path:
    return locate(load_manifest()[BUNDLED])


def _explicit_pads(graph: onnx.GraphProto) -> int:
    fixed = 0
    for node in graph.node:
        attrs = {a.name: a for a in node.attribute}
        if "auto_pad" not in attrs or attrs["auto_pad"].s not in (b"SAME_UPPER", b"SAME_LOWER"):
            continue
        kernel = list(helper.get_attribute_value(attrs["kernel_shape"]))
        strides = list(helper.get_attribute_value(attrs["strides"])) if "strides" in attrs else [1, 1]
        if strides != [1, 1]:
            raise ValueError(f"{node.name}: SAME padding with stride {strides} is not handled")
        total = [k - 1 for k in kernel]
        upper = attrs["auto_pad"].s == b"SAME_UPPER"
        begin = [t // 2 if upper else t - t // 2 for t in total]
        end = [t - b for t, b in zip(total, begin, strict=True)]
        node.attribute.remove(attrs["auto_pad"])
        node.attribute.append(helper.make_attribute("pads", begin + end))
        fixed += 1
    return fixed


def split_bundled(path: Path | None = None) -> tuple[onnx.ModelProto, np.ndarray, np.ndarray, list[str]]:
    """(feature graph, classifier weight [120, C], bias [C], bundled character list)."""
    model = onnx.load(str(path or bundled_path()))
    graph = model.graph
    chars = next(p.value for p in model.metadata_props if p.key == "character").split("\n")
    inits = {i.name: i for i in graph.initializer}
    matmuls = [n for n in graph.node if n.op_type == "MatMul" and n.input[1] in inits]
    last = matmuls[-1]
    weight = numpy_helper.to_array(inits[last.input[1]])
    add = next(n for n in graph.node if n.op_type == "Add" and last.output[0] in n.input)
    bias_name = next(i for i in add.input if i in inits)
    bias = numpy_helper.to_array(inits[bias_name])
    if weight.shape[1] != len(chars) + 2:
        raise ValueError(f"classifier has {weight.shape[1]} classes, character list gives {len(chars) + 2}")
    features = last.input[0]
    cut = copy.deepcopy(model)
    _explicit_pads(cut.graph)
    # keep every node up to the one producing the features
    keep: list[onnx.NodeProto] = []
    for node in cut.graph.node:
        keep.append(node)
        if features in node.output:
            break
    del cut.graph.node[:]
    cut.graph.node.extend(keep)
    del cut.graph.output[:]
    cut.graph.output.append(helper.make_tensor_value_info(features, onnx.TensorProto.FLOAT, None))
    used = {i for n in keep for i in n.input}
    kept_inits = [i for i in cut.graph.initializer if i.name in used]
    del cut.graph.initializer[:]
    cut.graph.initializer.extend(kept_inits)
    del cut.metadata_props[:]
    return cut, weight, bias, chars


class MarkingRecognizer(nn.Module):
    """Feature trunk (converted from ONNX) plus a linear head over :data:`MARKING_CHARS`."""

    def __init__(self, trunk: nn.Module, head: nn.Linear) -> None:
        super().__init__()
        self.trunk = trunk
        self.head = head

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        feats: torch.Tensor = self.trunk(x)  # (N, T, 120)
        out: torch.Tensor = self.head(feats)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(x), dim=-1)


def initial_head(weight: np.ndarray, bias: np.ndarray, bundled_chars: list[str], seed: int) -> nn.Linear:
    """Head over blank + MARKING_CHARS + space, initialised from the bundled classifier."""
    index = {c: i + 1 for i, c in enumerate(bundled_chars)}
    index[" "] = len(bundled_chars) + 1
    targets = ["", *MARKING_CHARS, " "]
    gen = torch.Generator().manual_seed(seed)
    feat = weight.shape[0]
    w = torch.randn((len(targets), feat), generator=gen) * float(np.std(weight)) * 0.5
    b = torch.full((len(targets),), float(np.percentile(bias, 5)))
    for row, ch in enumerate(targets):
        src = 0 if ch == "" else index.get(CYRILLIC_LOOKALIKE.get(ch, ch))
        if src is None:
            continue
        w[row] = torch.from_numpy(weight[:, src].copy())
        b[row] = float(bias[src])
    head = nn.Linear(feat, len(targets))
    with torch.no_grad():
        head.weight.copy_(w)
        head.bias.copy_(b)
    return head


def _import_onnx2torch() -> Any:
    """onnx2torch imports torchvision at import time for its NMS and RoIAlign converters only;
    torchvision would replace the CPU torch with a CUDA build, so a placeholder stands in for it
    (this graph has neither operator)."""
    import importlib.util
    import sys
    import types

    if importlib.util.find_spec("torchvision") is None and "torchvision" not in sys.modules:
        stub = types.ModuleType("torchvision")
        ops = types.ModuleType("torchvision.ops")

        def _missing(*_a: Any, **_k: Any) -> Any:
            raise RuntimeError("torchvision is not installed (not needed for the recogniser)")

        ops.roi_align = _missing  # type: ignore[attr-defined]
        ops.nms = _missing  # type: ignore[attr-defined]
        ops.box_convert = _missing  # type: ignore[attr-defined]
        stub.ops = ops  # type: ignore[attr-defined]
        sys.modules["torchvision"] = stub
        sys.modules["torchvision.ops"] = ops
    from onnx2torch import convert

    return convert


def build_model(seed: int, path: Path | None = None) -> MarkingRecognizer:
    convert = _import_onnx2torch()  # training-only dependency

    cut, weight, bias, chars = split_bundled(path)
    trunk: Any = convert(cut)
    return MarkingRecognizer(trunk, initial_head(weight, bias, chars, seed))
