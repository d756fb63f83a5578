"""Model manifest, file location, hash verification and shared onnxruntime sessions.

Model files are shipped inside installed Python packages (see ``manifest.json``): the PP-OCR
models inside rapidocr's wheel, the models this project trains itself (``models.training``)
inside this ``models`` package. They are located through the package's install folder without
importing the package, verified by SHA-256 before the first session is created, and never
downloaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

MANIFEST = "manifest.json"
OWN_PACKAGE = "models"  # models this project trains itself ship in this package's folder


class ModelError(RuntimeError):
    """A model file is missing, damaged or cannot be loaded. The message says what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class ModelSpec:
    task: str
    name: str
    version: str
    package: str
    package_version: str
    file: str
    sha256: str
    charset: str | None = None
    licence: str = ""

    @property
    def install_hint(self) -> str:
        if self.package == OWN_PACKAGE:
            return (f"reinstall caliber {self.package_version} (the file ships in its models package), "
                    "or rebuild it with: python -m models.training all")
        return f"pip install '{self.package}=={self.package_version}'"


def load_manifest(path: Path | None = None) -> dict[str, ModelSpec]:
    """Read the manifest (the packaged one by default), keyed by model name."""
    if path is None:
        text = resources.files("models").joinpath(MANIFEST).read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    raw = json.loads(text)
    specs = {}
    for entry in raw["models"]:
        spec = ModelSpec(**entry)
        specs[spec.name] = spec
    return specs


def package_dir(package: str) -> Path | None:
    """Install folder of ``package`` found without importing it (importing may have side effects)."""
    try:
        found = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    return Path(next(iter(found.submodule_search_locations)))


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def locate(spec: ModelSpec, search_dirs: Sequence[Path] = ()) -> Path:
    """Path of the model file: an explicit search folder first, then the shipping package."""
    for folder in search_dirs:
        candidate = Path(folder) / Path(spec.file).name
        if candidate.is_file():
            return candidate
    root = package_dir(spec.package)
    if root is None:
        raise ModelError(
            "model_missing",
            f"model {spec.name} ({spec.task}) comes from the Python package '{spec.package}', "
            f"which is not installed: {spec.install_hint}",
        )
    path = root / spec.file
    if not path.is_file():
        raise ModelError(
            "model_missing",
            f"model {spec.name} ({spec.task}) not found at {path}; reinstall {spec.install_hint}",
        )
    return path


def verify(spec: ModelSpec, path: Path) -> None:
    actual = sha256_file(path)
    if actual != spec.sha256:
        raise ModelError(
            "model_hash_mismatch",
            f"model {spec.name} ({spec.task}) at {path} has SHA-256 {actual}, expected {spec.sha256}: "
            f"the file is damaged or a different version; reinstall {spec.install_hint}",
        )


@dataclass(frozen=True, slots=True)
class OrtConfig:
    """Every onnxruntime setting in one place, injected into each model."""

    providers: tuple[str, ...] = ("CPUExecutionProvider",)
    intra_op_threads: int = 0  # 0 lets onnxruntime choose (all cores)
    inter_op_threads: int = 1
    graph_optimization: str = "all"  # disable | basic | extended | all
    enable_cpu_mem_arena: bool = False

    def session_options(self) -> ort.SessionOptions:
        levels = {
            "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }
        if self.graph_optimization not in levels:
            raise ValueError(f"graph_optimization must be one of {sorted(levels)}")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.intra_op_threads
        opts.inter_op_num_threads = self.inter_op_threads
        opts.graph_optimization_level = levels[self.graph_optimization]
        opts.enable_cpu_mem_arena = self.enable_cpu_mem_arena
        opts.log_severity_level = 3
        return opts


class OnnxModel:
    """One model file behind a tiny contract: ``run`` and ``metadata``.

    The session is created on first use under a lock, after the file's hash is checked, and then
    shared: onnxruntime sessions may be run from several threads at once.
    """

    def __init__(self, spec: ModelSpec, config: OrtConfig, search_dirs: Sequence[Path] = ()) -> None:
        self.spec = spec
        self.config = config
        self._search_dirs = tuple(search_dirs)
        self._lock = threading.Lock()
        self._session: ort.InferenceSession | None = None
        self._path: Path | None = None

    @property
    def path(self) -> Path:
        if self._path is None:
            self._path = locate(self.spec, self._search_dirs)
        return self._path

    @property
    def loaded(self) -> bool:
        return self._session is not None

    def session(self) -> ort.InferenceSession:
        if self._session is None:
            with self._lock:
                if self._session is None:
                    path = self.path
                    verify(self.spec, path)
                    try:
                        self._session = ort.InferenceSession(
                            str(path),
                            sess_options=self.config.session_options(),
                            providers=list(self.config.providers),
                        )
                    except Exception as exc:  # onnxruntime raises several unrelated types
                        raise ModelError(
                            "model_unloadable", f"model {self.spec.name} at {path} could not be loaded: {exc}"
                        ) from exc
        return self._session

    def metadata(self) -> Mapping[str, str]:
        meta: dict[str, str] = self.session().get_modelmeta().custom_metadata_map
        return meta

    def run(self, inputs: np.ndarray) -> np.ndarray:
        sess = self.session()
        name = sess.get_inputs()[0].name
        out: list[Any] = sess.run(None, {name: inputs})
        result: np.ndarray = out[0]
        return result


@dataclass
class ModelStore:
    """Builds each model once per (name, config) and hands out the shared instance."""

    config: OrtConfig = field(default_factory=OrtConfig)
    manifest: Mapping[str, ModelSpec] = field(default_factory=load_manifest)
    search_dirs: tuple[Path, ...] = ()
    _models: dict[str, OnnxModel] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def get(self, name: str) -> OnnxModel:
        with self._lock:
            model = self._models.get(name)
            if model is None:
                if name not in self.manifest:
                    raise ModelError("model_unknown", f"no model named {name!r} in the manifest")
                model = OnnxModel(self.manifest[name], self.config, self.search_dirs)
                self._models[name] = model
            return model

    def by_task(self, task: str) -> OnnxModel:
        for spec in self.manifest.values():
            if spec.task == task:
                return self.get(spec.name)
        raise ModelError("model_unknown", f"no {task} model in the manifest")
