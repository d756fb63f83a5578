from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from tracing.cli import register
from tracing.settings import load_settings


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="caliber")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CALIBER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CALIBER_DATABASE_URL", raising=False)
    return tmp_path


def test_settings_from_environment() -> None:
    s = load_settings({"CALIBER_DATA_DIR": "/x"})
    assert s.database_url == "sqlite:////x/registry.sqlite3" and s.is_sqlite
    s = load_settings({"CALIBER_DATABASE_URL": "postgresql://u@h/db"})
    assert s.database_url == "postgresql+psycopg://u@h/db"
    assert load_settings({}).data_dir == Path("data")


def test_import_trace_export(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = data_dir / "reg.csv"
    src.write_text("serial,make,status\nB2345678,Zastava,stolen\n,Glock,lost\n", "utf-8")
    assert run(["registry", "import", str(src)]) == 1  # one row rejected
    assert "line 3: serial is missing" in capsys.readouterr().out
    assert run(["trace", "8Z34567", "--make", "Zastava", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits[0]["record"]["serial"] == "B2345678" and hits[0]["score"] == 1.4
    assert run(["trace", "QQQQ"]) == 1
    out = data_dir / "req.html"
    assert run(["trace", "B2345678", "--request", str(out), "--agency", "Lab"]) == 0
    assert "Firearm trace request" in out.read_text("utf-8")
    exp = data_dir / "out.json"
    assert run(["registry", "export", str(exp)]) == 0
    assert json.loads(exp.read_text("utf-8"))[0]["serial"] == "B2345678"
    assert run(["registry", "search", "B234567?"]) == 0


def test_bad_input_exit_code(data_dir: Path) -> None:
    assert run(["registry", "import", str(data_dir / "missing.csv")]) == 2
    assert run(["trace", "[AB"]) == 2


def test_trace_from_a_recognition_file(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = data_dir / "reg.json"
    src.write_text(json.dumps([{"serial": "B2345678", "make": "Zastava", "status": "stolen", "country": "Serbia"}]))
    assert run(["registry", "import", str(src)]) == 0
    assert run(["registry", "reindex"]) == 0
    reading = {
        "image": "x.jpg",
        "sha256": "ef" * 32,
        "lines": [{"text": "8Z345678", "confidence": 0.7, "quad": [[0, 0], [9, 0], [9, 2], [0, 2]],
                   "chars": [[{"char": c, "p": 0.9}] for c in "8Z345678"]}],
        "marks": [{"kind": "serial", "value": "8Z345678", "score": 0.7, "alternatives": [], "lines": [0]},
                  {"kind": "maker", "value": "ZASTAVA", "score": 0.9, "alternatives": [], "lines": []}],
        "warnings": [],
        "provenance": {"sha256": "ef" * 32, "size_bytes": 99, "format": "JPEG", "width": 10, "height": 10},
    }
    rec = data_dir / "read.jsonl"
    rec.write_text(json.dumps(reading) + "\n", "utf-8")
    out = data_dir / "request.json"
    code = run(["trace", "--recognition", str(rec), "--correct", "serial=B2345678", "--request", str(out)])
    assert code == 0
    doc = json.loads(out.read_text("utf-8"))
    assert doc["photo"]["sha256"] == "ef" * 32
    assert doc["firearm"]["serial"] == "B2345678" and doc["firearm"]["make"] == "ZASTAVA"
    assert doc["corrections"][0]["read"] == "8Z345678"
    assert doc["registry_check"]["hits"][0]["record"]["status"] == "stolen"
    assert "B2345678" in capsys.readouterr().out
