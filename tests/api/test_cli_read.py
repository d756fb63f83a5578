from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from api.cli import main


def test_read_json_reports_each_file_and_keeps_going(
    tmp_path: Path, make_image: Callable[..., Image.Image], capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.jpg"
    make_image([("S/N 4471B09", (200, 300), 64)]).save(good, quality=92)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 broken")
    original = good.read_bytes()

    code = main(["read", str(bad), str(good), str(tmp_path / "missing.png"), "--json"])
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    assert code == 1  # some files failed
    assert [o["image"] for o in out] == [str(bad), str(good), str(tmp_path / "missing.png")]
    assert out[0]["error"]["code"] == "corrupt"
    assert out[2]["error"]["code"] == "unreadable_file"
    ok = out[1]
    assert ok["error"] is None and len(ok["sha256"]) == 64
    assert any("4471B09" in line["text"].replace(" ", "") for line in ok["lines"])
    line = ok["lines"][0]
    assert len(line["quad"]) == 4 and len(line["chars"]) == len(line["text"])
    assert {"char", "p"} <= set(line["chars"][0][0])
    assert ok["marks"] == [] or isinstance(ok["marks"], list)
    assert ok["provenance"]["models"] and ok["provenance"]["steps"]
    assert good.read_bytes() == original  # the original is never modified


def test_read_table_output(tmp_path: Path, make_image: Callable[..., Image.Image],
                           capsys: pytest.CaptureFixture[str]) -> None:
    img = tmp_path / "a.png"
    make_image([("GLOCK 17", (200, 300), 64)]).save(img)
    assert main(["read", str(img)]) == 0
    out = capsys.readouterr().out
    assert "GLOCK 17" in out and "sha256" in out
