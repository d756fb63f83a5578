from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from models.registry import ModelError, ModelStore, OnnxModel, OrtConfig, load_manifest, locate


def test_manifest_lists_det_rec_cls_with_hashes() -> None:
    specs = load_manifest()
    assert {s.task for s in specs.values()} == {"det", "rec", "cls"}
    for s in specs.values():
        assert len(s.sha256) == 64 and s.package in ("rapidocr", "models")


def test_shipped_files_are_found_and_verified() -> None:
    for spec in load_manifest().values():
        path = locate(spec)
        assert path.is_file()


def test_a_corrupted_model_file_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    spec = load_manifest()["ch_ppocr_mobile_v2.0_cls"]
    bad = tmp_path / Path(spec.file).name
    shutil.copy(locate(spec), bad)
    raw = bytearray(bad.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    bad.write_bytes(bytes(raw))
    model = OnnxModel(spec, OrtConfig(), search_dirs=[tmp_path])
    with pytest.raises(ModelError) as err:
        model.session()
    assert err.value.code == "model_hash_mismatch"
    message = str(err.value)
    assert spec.name in message and "pip install" in message and "rapidocr==" in message


def test_a_missing_package_names_what_to_install() -> None:
    spec = replace(load_manifest()["ch_ppocr_mobile_v2.0_cls"], package="no_such_package_xyz")
    with pytest.raises(ModelError) as err:
        OnnxModel(spec, OrtConfig()).session()
    assert err.value.code == "model_missing" and "no_such_package_xyz" in str(err.value)


def test_sessions_are_created_once_and_shared_between_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    store = ModelStore(config=OrtConfig(intra_op_threads=1))
    model = store.get("ch_ppocr_mobile_v2.0_cls")
    assert store.get("ch_ppocr_mobile_v2.0_cls") is model
    x = np.zeros((1, 3, 48, 192), dtype=np.float32)
    with ThreadPoolExecutor(4) as pool:
        outs = list(pool.map(lambda _: model.run(x), range(8)))
    assert all(np.allclose(o, outs[0]) for o in outs)
    assert model.session() is model.session()


def test_rec_charset_comes_from_the_model_metadata() -> None:
    model = ModelStore().by_task("rec")
    chars = model.metadata()["character"].split("\n")
    out_classes = model.session().get_outputs()[0].shape[-1]
    assert len(chars) + 2 == out_classes  # blank + characters + space


def test_bad_graph_optimisation_setting_is_refused() -> None:
    with pytest.raises(ValueError):
        OrtConfig(graph_optimization="fastest").session_options()
