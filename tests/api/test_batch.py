from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from api.batch import CSV_NAME, REPORT, RESULTS, Progress, html_text, load_results, report_records, run_batch
from api.cli import build_parser
from tests.imaging import render_text_image, to_bytes
from vision.version import PIPELINE_VERSION

ROOT = Path(__file__).resolve().parents[2]
SERIALS = ("4471B09", "5820K13", "7306M48", "9152P27", "3318R65", "6604T90")


def _make_folder(folder: Path, serials: tuple[str, ...], size: tuple[int, int] = (900, 560)) -> None:
    (folder / "sub").mkdir(parents=True)
    for i, serial in enumerate(serials):
        img = render_text_image([(f"S/N {serial}", (120, 200), 56)], size=size)
        fmt, ext = ("PNG", "png") if i % 2 else ("JPEG", "jpg")
        (folder / f"gun{i}.{ext}").write_bytes(to_bytes(img, fmt))


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()}


VOID = {"meta", "img", "br", "hr", "input", "link"}


class _Report(HTMLParser):
    """The report as a browser would see it: items in order, paths, embedded previews, and a check
    that every element is closed where it was opened (a page that opens cleanly)."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self._in_path = False
        self.imgs = 0
        self.previews: list[bytes] = []
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.doctype = ""
        self.title = ""
        self._in_title = False

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag not in VOID:
            self.stack.append(tag)
        self._in_title = tag == "title"
        if tag == "div" and "img" in (a.get("class") or "").split():
            self.items.append({"class": a.get("class"), "paths": [], "review": int(a.get("data-review") or -1)})
        src = a.get("src") or ""
        if tag == "img" and src.startswith("data:image/jpeg;base64,"):
            self.imgs += 1
            self.previews.append(base64.b64decode(src.split(",", 1)[1]))
        self._in_path = tag == "span" and a.get("class") == "path"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._in_path:
            self.items[-1]["paths"].append(data)
            self.paths.append(data)
            self._in_path = False


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("batch")
    folder = base / "photos"
    _make_folder(folder, SERIALS[:3])
    shutil.copyfile(folder / "gun0.jpg", folder / "sub" / "copy-of-gun0.jpg")  # same photo, two paths
    (folder / "sub" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (folder / "notes.txt").write_text("case 2026-117, three pistols\n")
    (folder / "scan.png.txt").write_bytes(b"\x89PNG\r\n\x1a\n truncated")  # an image by content
    before = _snapshot(folder)
    out = base / "out"
    err = io.StringIO()
    t0 = time.monotonic()
    code, summary = run_batch([str(folder)], out, workers=1, err=err)
    return {"folder": folder, "out": out, "code": code, "summary": summary, "err": err.getvalue(),
            "before": before, "seconds": time.monotonic() - t0}


def test_batch_writes_jsonl_csv_and_report(first_run: dict[str, Any]) -> None:
    folder: Path = first_run["folder"]
    out: Path = first_run["out"]
    assert first_run["code"] == 1  # two files could not be read
    records = load_results(out / RESULTS)
    assert len(records) == 5  # three photos (one under two paths), two broken files; the text file skipped
    by_path = {r["image"]: r for r in records}
    broken = by_path[str(folder / "sub" / "broken.jpg")]
    assert broken["error"]["code"] == "corrupt" and len(broken["sha256"]) == 64
    assert by_path[str(folder / "scan.png.txt")]["error"]["code"] == "corrupt"
    good = [r for r in records if r["error"] is None]
    assert len(good) == 3
    assert all(r["pipeline_version"] and r["provenance"]["steps"] and r["lines"] for r in good)
    dup = next(r for r in good if len(r["paths"]) == 2)
    assert sorted(dup["paths"]) == sorted([str(folder / "gun0.jpg"), str(folder / "sub" / "copy-of-gun0.jpg")])
    assert not any("notes.txt" in r["image"] for r in records)
    texts = {r["image"]: " ".join(line["text"].replace(" ", "") for line in r["lines"]) for r in good}
    for i, serial in enumerate(SERIALS[:3]):
        path = next(p for p in texts if Path(p).stem == f"gun{i}")
        assert serial in texts[path]

    rows = list(csv.DictReader((out / CSV_NAME).open(encoding="utf-8")))
    assert len(rows) == 5
    assert set(rows[0]) >= {"path", "sha256", "serial", "maker", "model", "calibre", "confidence", "warnings",
                            "error"}
    row0 = next(r for r in rows if r["sha256"] == dup["sha256"])
    assert row0["also_at"] and row0["error"] == ""
    assert sum(1 for r in rows if r["error"].startswith("corrupt")) == 2
    assert any(r["serial"] == "4471B09" for r in rows)

    report = _Report()
    report.feed((out / REPORT).read_text(encoding="utf-8"))
    report.close()
    assert report.doctype.lower() == "doctype html" and report.title == "caliber batch report"
    assert report.problems == [] and report.stack == []  # it opens: every element closed where opened
    assert len(report.items) == 5
    listed = set(report.paths)
    assert all(str(p) in listed for r in records for p in r["paths"])  # every image, every path
    assert [i["class"] for i in report.items[:2]] == ["img err", "img err"]  # errors first
    reviews = [i["review"] for i in report.items]
    assert reviews == sorted(reviews)
    assert report.imgs == 3  # a thumbnail (data URI) for every photo read
    for jpeg in report.previews:  # and each one is a picture a browser can show
        with Image.open(io.BytesIO(jpeg)) as preview:
            preview.load()
            assert preview.format == "JPEG" and max(preview.size) <= 240
    assert "caliber batch:" in first_run["err"] and "5 distinct images" in first_run["err"]
    assert _snapshot(folder) == first_run["before"]  # the inputs are never modified


def test_rerun_reads_nothing_again(first_run: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(first_run["out"], out)
    before = (out / RESULTS).read_bytes()

    def no_pool(**_: Any) -> Any:
        raise AssertionError("nothing should be read again")

    code, summary = run_batch([str(first_run["folder"])], out, workers=1, err=io.StringIO(),
                              executor_factory=no_pool)
    assert code == 1 and summary.read == 0 and summary.already_done == 5
    assert (out / RESULTS).read_bytes() == before
    assert (out / REPORT).exists() and (out / CSV_NAME).exists()


def test_a_trailing_partial_line_is_truncated(first_run: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(first_run["out"], out)
    before = (out / RESULTS).read_bytes()
    with (out / RESULTS).open("ab") as f:
        f.write(b'{"image": "x.jpg", "sha256": "ab')  # a write cut short by a kill
    code, summary = run_batch([str(first_run["folder"])], out, workers=1, err=io.StringIO(),
                              executor_factory=lambda **_: pytest.fail("nothing to read"))
    assert code == 1 and summary.read == 0
    assert (out / RESULTS).read_bytes() == before


def test_list_file_and_missing_path(first_run: dict[str, Any], tmp_path: Path) -> None:
    folder: Path = first_run["folder"]
    out = tmp_path / "out"
    shutil.copytree(first_run["out"], out)
    listing = tmp_path / "list.txt"
    listing.write_text(f"{folder / 'gun1.png'}\n\n{tmp_path / 'gone.jpg'}\n", encoding="utf-8")
    err = io.StringIO()
    code, summary = run_batch([f"@{listing}"], out, workers=1, err=err,
                              executor_factory=lambda **_: pytest.fail("nothing to read"))
    assert code == 1 and summary.already_done == 1
    assert ("unreadable_file" in err.getvalue()) and "gone.jpg" in err.getvalue()
    lines = (out / RESULTS).read_bytes()
    run_batch([f"@{listing}"], out, workers=1, err=io.StringIO(),
              executor_factory=lambda **_: pytest.fail("nothing to read"))
    assert (out / RESULTS).read_bytes() == lines  # the same failure is not recorded twice


def test_batch_is_a_subcommand() -> None:
    args = build_parser().parse_args(["batch", "a", "@b.txt", "--out", "o", "--workers", "2"])
    assert args.inputs == ["a", "@b.txt"] and args.out == "o" and args.workers == 2


def test_killed_batch_resumes_without_loss_or_duplicates(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    _make_folder(folder, SERIALS, size=(1400, 900))
    before = _snapshot(folder)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "api.cli", "batch", str(folder), "--out", str(out), "--workers", "1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    results = out / RESULTS
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if results.exists() and results.read_bytes().count(b"\n") >= 1:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the batch finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)  # the batch and its workers, mid-way
    finally:
        proc.wait(timeout=30)
        if proc.stderr:
            proc.stderr.close()
    first = results.read_bytes()
    done_first = [json.loads(line) for line in first.decode().splitlines() if line.endswith("}")]
    assert 1 <= len(done_first) < len(SERIALS)

    resumed = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    final = load_results(results)
    shas = [r["sha256"] for r in final]
    assert len(shas) == len(SERIALS) == len(set(shas))  # none lost, none duplicated
    assert {r["sha256"] for r in done_first} <= set(shas)
    assert results.read_bytes().startswith(first[: first.rfind(b"\n") + 1])  # finished results kept as written
    assert f"{len(done_first)} done before" in resumed.stderr
    assert _snapshot(folder) == before


def _rec(name: str, *, error: str | None = None, warning: str | None = None,
         serial: float | None = None) -> dict[str, Any]:
    marks = [] if serial is None else [{"kind": "serial", "value": "AB123", "score": serial, "alternatives": []}]
    return {"image": name, "sha256": name * 8, "pipeline_version": "1", "lines": [], "marks": marks,
            "warnings": [{"code": warning, "message": "look"}] if warning else [],
            "error": {"code": error, "message": "broken"} if error else None}


def test_report_lists_errors_then_warnings_then_doubtful_then_the_rest(tmp_path: Path) -> None:
    records = [_rec("okay1", serial=0.95), _rec("lowc1", serial=0.3), _rec("error", error="corrupt"),
               _rec("nosrl"), _rec("warn1", warning="low_contrast", serial=0.9), _rec("okay2", serial=0.99)]
    for r in records:
        r["pipeline_version"] = PIPELINE_VERSION
    report = _Report()
    report.feed(html_text(report_records(records), tmp_path))
    report.close()
    assert report.problems == []
    order = [Path(i["paths"][0]).name for i in report.items]
    assert order[:2] == ["error", "warn1"] and set(order[2:4]) == {"lowc1", "nosrl"}
    assert set(order[4:]) == {"okay1", "okay2"} and len(order) == len(records)
    assert [i["review"] for i in report.items] == [0, 1, 2, 2, 3, 3]


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_rate_and_time_left() -> None:
    clock, out = _Clock(), io.StringIO()
    progress = Progress(10, out, interval=5.0, clock=clock)
    assert "left ?" in progress.line()  # nothing done yet: no estimate
    for _ in range(4):
        clock.now += 0.5
        progress.step(failed=False)
    assert out.getvalue() == ""  # a log gets a line every 5 s, not one per image
    clock.now += 3.0  # 4 images in 5 s
    progress.step(failed=True)
    line = out.getvalue().strip()
    assert line == "5/10 (50%)  1.00 images/s  1 failed  elapsed 0:05  left 0:05"
    for _ in range(5):
        clock.now += 1.0
        progress.step(failed=False)
    assert out.getvalue().splitlines()[-1].startswith("10/10 (100%)")  # the end is always shown
    assert out.getvalue().splitlines()[-1].endswith("left 0:00")


def test_progress_redraws_in_place_on_a_terminal() -> None:
    clock, out = _Clock(), _Tty()
    progress = Progress(3, out, clock=clock)
    for _ in range(3):
        clock.now += 60.0
        progress.step(failed=False)
    text = out.getvalue()
    assert text.count("\r\x1b[K") == 3 and text.endswith("left 0:00\n") and text.count("\n") == 1
    assert "3/3 (100%)  0.02 images/s  0 failed  elapsed 3:00" in text


def test_a_worker_reading_other_bytes_than_hashed_is_refused() -> None:
    from api.batch import read_data

    record, thumb = read_data(None, None, b"not the photo that was hashed", "gun.jpg", "0" * 64)
    assert record["error"]["code"] == "hash_mismatch" and record["sha256"] == "0" * 64 and thumb is None


class _Engine:
    """An engine whose worker answers for other bytes than those hashed, then one that reads nothing."""

    name = "fake"

    def __init__(self, answer: dict[str, Any] | None) -> None:
        self.answer = answer
        self.jobs: list[Any] = []

    def read(self, jobs: Any, handle: Any, progress: Progress, err: Any) -> int:
        for job in jobs:
            self.jobs.append(job)
            if self.answer is not None:
                handle(job, {**self.answer, "image": job.path}, b"\xff\xd8 preview")
        return 0


def test_the_coordinator_checks_every_result_against_its_own_hash(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    photo = folder / "gun.jpg"
    photo.write_bytes(to_bytes(render_text_image([("S/N 4471B09", (40, 40), 40)], size=(300, 200)), "JPEG"))
    sha = hashlib.sha256(photo.read_bytes()).hexdigest()
    lying = _Engine({"sha256": "f" * 64, "lines": [{"text": "X"}], "marks": [], "warnings": [], "error": None,
                     "worker": {"name": "w1@elsewhere"}})
    err = io.StringIO()
    code, summary = run_batch([str(folder)], tmp_path / "out", err=err, engine=lying)
    assert code == 1 and summary.errors == [(str(photo), "hash_mismatch")]
    [rec] = load_results(tmp_path / "out" / RESULTS)
    assert rec["sha256"] == sha and rec["error"]["code"] == "hash_mismatch" and "lines" not in rec
    assert rec["worker"]["name"] == "w1@elsewhere"  # who answered wrongly stays on record
    assert not any((tmp_path / "out" / "thumbs").iterdir())  # no preview of bytes nobody hashed
    assert "read by 1 workers: w1@elsewhere 1" in err.getvalue()
    again = _Engine(None)
    run_batch([str(folder)], tmp_path / "out", err=io.StringIO(), engine=again)
    assert [j.sha256 for j in again.jobs] == [sha]  # tried again on the next run
