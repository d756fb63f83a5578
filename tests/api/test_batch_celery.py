"""``caliber batch --engine celery`` against a real ``caliber worker`` subprocess on the local Redis.

Each run uses its own queue (a random name) on the test database (``CALIBER_TEST_REDIS``, default
redis://127.0.0.1:6379/13), so parallel runs do not take each other's tasks. Without a reachable
Redis the tests skip, except with ``CI=true`` where they fail.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.batch import CSV_NAME, REPORT, RESULTS, THUMBS, Job, Progress, load_results, run_batch
from api.batch_celery import CeleryEngine, make_app, queue_name
from api.cli import build_parser
from tests.imaging import render_text_image, to_bytes

ROOT = Path(__file__).resolve().parents[2]
REDIS = os.environ.get("CALIBER_TEST_REDIS", "redis://127.0.0.1:6379/13")
SERIALS = ("4471B09", "5820K13", "7306M48")


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as exc:
        message = f"no Redis at {REDIS}: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: the Celery engine must be tested)")
        pytest.skip(message)


class Worker:
    def __init__(self, queue: str, log: Path) -> None:
        self.queue = queue
        self.log = log
        self.app = make_app(REDIS)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90) -> None:
        cmd = [sys.executable, "-m", "api.cli", "worker", "--broker", REDIS, "--queue", self.queue,
               "--concurrency", "1", "--name", f"test-{self.queue}@{socket.gethostname()}"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            if b" ready." in self.log.read_bytes():
                return
            time.sleep(0.2)
        raise AssertionError("the worker did not start:\n" + self.log.read_text())

    def active(self) -> list[dict[str, Any]]:
        """Tasks running on this worker now (with the pid of the process reading each)."""
        replies = self.app.control.inspect(timeout=1.0).active() or {}
        return [t for tasks in replies.values() for t in tasks
                if (t.get("delivery_info") or {}).get("routing_key") == queue_name(self.queue)]

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # warm shutdown of the worker and its pool
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):  # pool processes, if any outlived the main one
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.app.close()
        import redis

        client = redis.Redis.from_url(REDIS)
        for key in client.scan_iter(match=f"*{queue_name(self.queue)}*"):
            client.delete(key)


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    _redis_or_skip()
    queue = f"test-{uuid.uuid4().hex[:12]}"
    w = Worker(queue, tmp_path_factory.mktemp("worker") / "worker.log")
    try:
        w.start()
        yield w
    finally:
        w.stop()


def _engine(worker: Worker, **kw: Any) -> CeleryEngine:
    return CeleryEngine(REDIS, queue=worker.queue, **kw)


def _photos(folder: Path, serials: tuple[str, ...], size: tuple[int, int] = (900, 560)) -> None:
    folder.mkdir(parents=True)
    for i, serial in enumerate(serials):
        img = render_text_image([(f"S/N {serial}", (120, 200), 56), (f"CAL 9mm {i}", (120, 400), 48)], size=size)
        (folder / f"gun{i}.jpg").write_bytes(to_bytes(img, "JPEG"))


def _comparable(record: dict[str, Any]) -> dict[str, Any]:
    """What the reading is, without who read it or how long it took."""
    prov = record.get("provenance") or {}
    return {
        "sha256": record["sha256"], "paths": sorted(record["paths"]), "error": record["error"],
        "lines": record.get("lines"), "marks": record.get("marks"), "warnings": record.get("warnings"),
        "models": prov.get("models"), "size": (prov.get("width"), prov.get("height"), prov.get("size_bytes")),
        "steps": [(s["name"], s["params"]) for s in prov.get("steps") or []],
    }


def test_celery_batch_matches_the_local_engine(worker: Worker, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    _photos(folder, SERIALS)
    shutil.copyfile(folder / "gun0.jpg", folder / "gun0-again.jpg")  # the same photo under two paths
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (folder / "notes.txt").write_text("case 2026-117\n")
    before = {p: p.read_bytes() for p in folder.iterdir()}

    code_local, _ = run_batch([str(folder)], tmp_path / "local", workers=1, err=io.StringIO())
    err = io.StringIO()
    code, summary = run_batch([str(folder)], tmp_path / "celery", err=err, engine=_engine(worker))
    assert code == code_local == 1  # the corrupt file
    assert summary.read == 4 and summary.engine == "celery"
    assert f"1 workers on queue {queue_name(worker.queue)}" in err.getvalue()
    assert f"read by 1 workers: test-{worker.queue}@" in err.getvalue()

    local = {r["sha256"]: r for r in load_results(tmp_path / "local" / RESULTS)}
    remote = {r["sha256"]: r for r in load_results(tmp_path / "celery" / RESULTS)}
    assert set(remote) == set(local) and len(remote) == 4
    for sha, rec in remote.items():
        assert _comparable(rec) == _comparable(local[sha])
    broken = next(r for r in remote.values() if r["error"])
    assert broken["error"]["code"] == "corrupt" and broken["paths"] == [str(folder / "broken.jpg")]
    read = [r for r in remote.values() if not r["error"]]
    assert len(read) == 3 and any(SERIALS[0] in str(r["marks"]) for r in read)

    for rec in remote.values():  # who read it, with which models
        w = rec["worker"]
        assert w["engine"] == "celery" and w["name"] == f"test-{worker.queue}@{socket.gethostname()}"
        assert w["host"] == socket.gethostname() and w["pid"] != os.getpid()
        assert w["pipeline_version"] == rec["pipeline_version"]
        assert [m["name"] for m in w["models"]] == [m["name"] for m in local[rec["sha256"]]["worker"]["models"]]
    for rec in read:
        assert [m["sha256"] for m in rec["worker"]["models"]] == [m["sha256"] for m in rec["provenance"]["models"]]
    assert all(r["worker"]["engine"] == "local" for r in local.values())

    # the same tables and previews from either engine; the inputs untouched
    assert (tmp_path / "celery" / CSV_NAME).read_text() == (tmp_path / "local" / CSV_NAME).read_text()
    thumbs = sorted(p.name for p in (tmp_path / "celery" / THUMBS).iterdir())
    assert thumbs == sorted(p.name for p in (tmp_path / "local" / THUMBS).iterdir()) and len(thumbs) == 3
    assert {p: p.read_bytes() for p in folder.iterdir()} == before
    report = (tmp_path / "celery" / REPORT).read_text(encoding="utf-8")
    assert report.count(f"read by test-{worker.queue}@") == 4  # every image names its worker

    # a rerun with the celery engine resumes: nothing is sent again
    code, summary = run_batch([str(folder)], tmp_path / "celery", err=io.StringIO(), engine=_engine(worker))
    assert code == 1 and summary.read == 0 and summary.already_done == 4


class _Collect:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def __call__(self, job: Job, record: dict[str, Any], thumb: bytes | None) -> None:
        self.records.append(record)


@pytest.mark.parametrize("transfer", ["path", "bytes"])
def test_bytes_that_do_not_match_the_hash_are_not_read(worker: Worker, tmp_path: Path, transfer: str) -> None:
    photo = tmp_path / "gun.jpg"
    photo.write_bytes(to_bytes(render_text_image([("S/N 4471B09", (120, 200), 56)], size=(900, 560)), "JPEG"))
    wrong = "0" * 64  # as if the file had changed since the coordinator hashed it
    collect = _Collect()
    code = _engine(worker, transfer=transfer).read([Job(wrong, [str(photo)])], collect,
                                                   Progress(1, io.StringIO()), io.StringIO())
    assert code == 0 and len(collect.records) == 1
    rec = collect.records[0]
    assert rec["error"]["code"] == "hash_mismatch" and rec["sha256"] == wrong
    assert "lines" not in rec and "provenance" not in rec
    if transfer == "path":  # the worker read the file itself and refused it
        assert rec["worker"]["engine"] == "celery" and rec["worker"]["pid"] != os.getpid()


def test_a_worker_process_killed_mid_image_is_reported_and_the_batch_goes_on(worker: Worker, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    _photos(folder, ("6604T90", "9152P27", "3318R65", "7306M48"), size=(2600, 1700))
    out = tmp_path / "out"
    result: dict[str, Any] = {}

    def run() -> None:
        result["code"], result["summary"] = run_batch([str(folder)], out, err=io.StringIO(),
                                                      engine=_engine(worker, in_flight=2))

    thread = threading.Thread(target=run)
    thread.start()
    killed = None
    try:
        deadline = time.monotonic() + 120
        while killed is None and time.monotonic() < deadline and thread.is_alive():
            for task in worker.active():
                if task.get("worker_pid"):
                    killed = task
                    os.kill(int(task["worker_pid"]), signal.SIGKILL)  # the pool process, mid-reading
                    break
            time.sleep(0.05)
    finally:
        thread.join(timeout=300)
    assert killed is not None, "no task was seen running"
    assert not thread.is_alive()
    records = load_results(out / RESULTS)
    assert result["code"] == 1 and len(records) == 4  # every image has a result; the batch went on
    lost = [r for r in records if r["error"]]
    assert len(lost) == 1 and lost[0]["error"]["code"] == "worker_lost"
    assert "WorkerLostError" in lost[0]["error"]["message"]
    assert all(r["lines"] for r in records if not r["error"])
    assert result["summary"].errors == [(lost[0]["paths"][0], "worker_lost")]

    # the lost image is read again on the next run, by the worker's new pool process
    code, summary = run_batch([str(folder)], out, err=io.StringIO(), engine=_engine(worker))
    assert code == 0 and summary.read == 1 and summary.already_done == 3
    again = load_results(out / RESULTS)[-1]
    assert again["sha256"] == lost[0]["sha256"] and again["error"] is None and again["lines"]
    assert again["worker"]["pid"] != int(killed["worker_pid"])
    rows = (out / CSV_NAME).read_text().splitlines()
    assert len(rows) == 5 and not any("worker_lost" in row for row in rows)


def test_an_unreachable_broker_ends_the_run_with_status_3(tmp_path: Path) -> None:
    photo = tmp_path / "photos" / "gun.jpg"
    photo.parent.mkdir()
    photo.write_bytes(b"\xff\xd8\xff\xe0 anything")
    err = io.StringIO()
    code, summary = run_batch([str(photo.parent)], tmp_path / "out", err=err,
                              engine=CeleryEngine("redis://:secret@127.0.0.1:9/0"))
    assert code == 3 and summary.read == 0
    assert "cannot reach the broker" in err.getvalue() and "secret" not in err.getvalue()
    assert load_results(tmp_path / "out" / RESULTS) == []  # nothing recorded as read


def test_engine_options_on_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    args = build_parser().parse_args(["batch", "photos", "--out", "o", "--engine", "celery", "--broker",
                                      "redis://h:6379/0", "--queue", "lab3", "--transfer", "path"])
    assert (args.engine, args.broker, args.queue, args.transfer) == ("celery", "redis://h:6379/0", "lab3", "path")
    args = build_parser().parse_args(["worker", "--broker", "redis://h:6379/0", "--concurrency", "2"])
    assert args.concurrency == 2 and args.queue == "caliber"
    monkeypatch.delenv("CALIBER_BROKER", raising=False)
    args = build_parser().parse_args(["batch", "photos", "--out", "o", "--engine", "celery"])
    assert args.func(args) == 2  # no broker named


def test_path_transfer_reads_the_file_on_the_worker(worker: Worker, tmp_path: Path) -> None:
    """With ``--transfer path`` the worker opens the file itself (a shared folder); same JSON lines."""
    folder = tmp_path / "photos"
    _photos(folder, SERIALS[:1])
    code, _ = run_batch([str(folder)], tmp_path / "out", err=io.StringIO(), engine=_engine(worker, transfer="path"))
    lines = (tmp_path / "out" / RESULTS).read_text().splitlines()
    assert code == 0 and len(lines) == 1
    rec = json.loads(lines[0])
    assert rec["error"] is None and SERIALS[0] in str(rec["marks"]) and rec["worker"]["pid"] != os.getpid()
