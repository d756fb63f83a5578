"""Manifests: a tiny generated set written and read back; real-dev's format; the harness."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import accuracy, make_dataset
from benchmarks.datasets import MANIFEST_COLUMNS, domain_of, load_dataset
from benchmarks.scoring import OVERALL, Prediction
from benchmarks.synth import plan_spec

REAL_DEV = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "real-dev"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    make_dataset.generate(out, count=10, seed=7, workers=1, size="closeup")
    return out


def test_tiny_set_round_trips(tiny: Path) -> None:
    ds = load_dataset(tiny)
    assert len(ds.images) == 10
    header = (tiny / "manifest.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[: len(MANIFEST_COLUMNS)] == list(MANIFEST_COLUMNS)
    assert header[len(MANIFEST_COLUMNS):] == ["method", "surface", "quad", "group"]
    assert {im.group for im in ds.images} == {plan_spec(i).group for i in range(8)}
    for im in ds.images:
        assert im.path.is_file() and im.read_bytes()[:2] == b"\xff\xd8"
        for row in im.rows:
            assert row.group == domain_of(row.notes)
            assert row.notes.startswith("generated; seed=")
            if row.negative:
                assert row.truth == "" and row.quad is None and im.negative
            else:
                assert row.truth and row.quad is not None and len(row.quad) == 4
                assert row.method and row.surface


def test_same_command_same_set(tiny: Path, tmp_path: Path) -> None:
    make_dataset.generate(tmp_path, count=3, seed=7, workers=1, size="closeup")
    for name in ("synth_0000.jpg", "synth_0001.jpg", "synth_0002.jpg"):
        assert (tmp_path / "images" / name).read_bytes() == (tiny / "images" / name).read_bytes()


def test_oracle_scores_everything_blank_nothing(tiny: Path) -> None:
    ds = load_dataset(tiny)
    oracle = accuracy.run_reader("oracle", accuracy.oracle_reader(ds), ds)
    total = oracle.summaries[OVERALL]
    assert total.lines > 0 and total.exact == total.lines and total.alnum == total.lines
    assert total.top1 == total.serials and total.false_serials == 0
    blank = accuracy.run_reader("blank", accuracy.blank_reader, ds)
    assert blank.summaries[OVERALL].exact == 0 and blank.summaries[OVERALL].cer == 1.0


def test_reader_errors_are_counted_not_fatal(tiny: Path) -> None:
    ds = load_dataset(tiny).limit(4)

    def broken(data: bytes) -> Prediction:
        raise RuntimeError("model missing")

    res = accuracy.run_reader("broken", broken, ds)
    assert res.summaries[OVERALL].errors == 4
    assert all(i.error == "RuntimeError: model missing" for i in res.images)


def test_tables_and_json(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert accuracy.main([str(tiny), "--reader", "oracle", "--reader", "blank", "--limit", "8"]) == 0
    text = capsys.readouterr().out
    for needle in ("stamped:", "headstamp:", "overall:", "oracle", "blank", "serial top-5",
                   "false serials on negatives", "images / s"):
        assert needle in text
    assert accuracy.main([str(tiny), "--reader", "oracle", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["images"] == 10
    assert data["readers"]["oracle"]["groups"][OVERALL]["exact_rate"] == 1.0


def test_manifest_without_extra_columns(tmp_path: Path) -> None:
    (tmp_path / "manifest.csv").write_text(
        "file,source_repo,source_commit,source_path,licence,kind,truth,notes\n"
        'a.jpg,r,c,p,MIT,serial,AB123,"labelled-by-eye; domain=vehicle-vin-plate; x"\n'
        'b.jpg,r,c,p,MIT,marking,LC,"PARTIAL: year; domain=ammunition-headstamp"\n'
        'b.jpg,r,c,p,MIT,proofmark,NATO cross,"domain=ammunition-headstamp"\n'
        "c.jpg,r,c,p,MIT,serial,X1,no domain here\n",
        encoding="utf-8",
    )
    ds = load_dataset(tmp_path)
    assert [im.file for im in ds.images] == ["a.jpg", "b.jpg", "c.jpg"]
    assert ds.groups() == ["vehicle-vin-plate", "ammunition-headstamp", "other"]
    b = ds.images[1]
    assert b.rows[0].partial and b.rows[0].headstamp and b.rows[1].symbol
    assert ds.images[0].rows[0].quad is None


def test_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_dataset(tmp_path)


@pytest.mark.skipif(not (REAL_DEV / "manifest.csv").is_file(), reason="shared real-dev set not present")
def test_real_dev_loads() -> None:
    ds = load_dataset(REAL_DEV)
    assert len(ds.images) == 87 and len(ds.rows) == 92
    assert set(ds.groups()) == {"ammunition-headstamp", "vehicle-vin-plate"}
    assert sum(r.partial for r in ds.rows) > 0
    oracle = accuracy.run_reader("oracle", accuracy.oracle_reader(ds), ds)
    assert oracle.summaries[OVERALL].exact == oracle.summaries[OVERALL].lines == 87
