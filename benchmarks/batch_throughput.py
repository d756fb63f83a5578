"""Images per second of ``caliber batch`` beside ``caliber read`` one image after another.

    python -m benchmarks.batch_throughput                # 1,000 generated images
    python -m benchmarks.batch_throughput --limit 40     # a quick run on the first 40

The images come from the synthetic marking generator (``benchmarks.make_dataset``, seed 2026, the
same images as synth-v1 for the first 600) and are written once to ``benchmarks/data/batch-v1/``.
Every configuration runs as its own command on the same images, from start to exit, model loading
included, into a fresh results folder:

- ``caliber read`` (the baseline): one process, the images one after another, inference threads on
  every core (the command's default);
- ``caliber batch --workers 1`` and ``--workers 2`` (one inference thread per worker);
- ``caliber batch --engine celery`` with one ``caliber worker --concurrency 2`` on this machine
  and the local Redis as broker and result store (the worker is started before the clock starts,
  as a lab's standing worker would be; its models load on its first images, inside the time).

The 1-minute load average is sampled every second during each run: on a shared machine it tells
how much of the two cores the run really had.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data" / "batch-v1"
COUNT = 1000
SEED = 2026
BROKER = "redis://127.0.0.1:6379/14"


def ensure_images(folder: Path, count: int, seed: int) -> list[Path]:
    """The first ``count`` generated images (written once; the generator is deterministic per image)."""
    images = sorted((folder / "images").glob("synth_*.jpg"))
    if len(images) < count:
        from benchmarks.make_dataset import generate

        t0 = time.perf_counter()
        print(f"generating {count} images into {folder} (seed {seed}) ...", flush=True)
        generate(folder, count, seed, workers=min(2, os.cpu_count() or 1))
        print(f"  done in {time.perf_counter() - t0:.0f} s", flush=True)
        images = sorted((folder / "images").glob("synth_*.jpg"))
    return images[:count]


class LoadSampler:
    """The 1-minute load average, sampled every second while a run lasts."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self._stop.wait(1.0)

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def mean(self) -> float:
        return sum(self.samples) / len(self.samples) if self.samples else float("nan")


@dataclass
class Run:
    name: str
    images: int
    seconds: float
    failed: int
    load: float

    @property
    def rate(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "api.cli", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _timed(name: str, cmd: list[str], count_failed: Callable[[], int], images: int, log: Path) -> Run:
    with LoadSampler() as load, log.open("ab") as err:
        err.write(f"\n$ {' '.join(cmd[:6])} ...\n".encode())
        err.flush()
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=err, check=False)
        seconds = time.perf_counter() - t0
    return Run(name, images, seconds, count_failed(), load.mean)


def run_read(images: list[Path], work: Path, log: Path) -> Run:
    out = work / "read.jsonl"
    cmd = _cli("read", "--json", *map(str, images))
    with LoadSampler() as load, out.open("wb") as stdout, log.open("ab") as err:
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=_env(), stdout=stdout, stderr=err, check=False)
        seconds = time.perf_counter() - t0
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(records) != len(images):
        raise SystemExit(f"caliber read wrote {len(records)} results for {len(images)} images (see {log})")
    return Run("caliber read, one image after another (baseline)", len(images), seconds,
               sum(1 for r in records if r.get("error")), load.mean)


def _results(out: Path, expected: int, log: Path) -> int:
    lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    if len(records) != expected:
        raise SystemExit(f"{out}: {len(records)} results for {expected} images (see {log})")
    return sum(1 for r in records if r.get("error"))


def run_batch(images: list[Path], work: Path, log: Path, workers: int) -> Run:
    listing = work / "images.txt"
    out = work / f"batch-w{workers}"
    cmd = _cli("batch", f"@{listing}", "--out", str(out), "--workers", str(workers))
    return _timed(f"caliber batch --workers {workers}", cmd, lambda: _results(out, len(images), log), len(images), log)


class CeleryWorker:
    def __init__(self, broker: str, queue: str, concurrency: int, log: Path) -> None:
        self.cmd = _cli("worker", "--broker", broker, "--queue", queue, "--concurrency", str(concurrency),
                        "--name", f"{queue}@{socket.gethostname()}", "--loglevel", "WARNING")
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> CeleryWorker:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=_env(), stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass


def _wait_for_worker(broker: str, queue: str, timeout: float = 120) -> None:
    from api.batch_celery import make_app, queue_name

    app = make_app(broker)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            replies = app.control.inspect(timeout=1.0).active_queues() or {}
            if any(q.get("name") == queue_name(queue) for qs in replies.values() for q in qs or []):
                return
        raise SystemExit(f"no celery worker came up on {queue} within {timeout:.0f} s")
    finally:
        app.close()


def run_celery(images: list[Path], work: Path, log: Path, broker: str, concurrency: int) -> Run:
    queue = f"bench-{uuid.uuid4().hex[:10]}"
    listing = work / "images.txt"
    out = work / "batch-celery"
    cmd = _cli("batch", f"@{listing}", "--out", str(out), "--engine", "celery", "--broker", broker, "--queue", queue)
    try:
        with CeleryWorker(broker, queue, concurrency, log):
            _wait_for_worker(broker, queue)
            return _timed(f"caliber batch --engine celery (1 worker, {concurrency} processes)", cmd,
                          lambda: _results(out, len(images), log), len(images), log)
    finally:
        import redis

        client = redis.Redis.from_url(broker)
        for key in client.scan_iter(match=f"*{queue}*"):  # this run's queue bindings
            client.delete(key)


def _commit() -> str:
    out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                         check=False)
    return out.stdout.strip() or "?"


def table(runs: list[Run]) -> str:
    base = runs[0].rate if runs and runs[0].name.startswith("caliber read") else None
    rows = ["| run | images | failed | wall s | images/s | vs `caliber read` | load (1 min, mean) |",
            "|---|---|---|---|---|---|---|"]
    for r in runs:
        ratio = f"{r.rate / base:.2f}x" if base else "-"
        rows.append(f"| {r.name} | {r.images} | {r.failed} | {r.seconds:.0f} | {r.rate:.2f} | {ratio} | {r.load:.2f} |")
    return "\n".join(rows)


RUNS = ("read", "w1", "w2", "celery")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=COUNT, help=f"images to use (default {COUNT})")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--broker", default=BROKER, help=f"Redis for the celery run (default {BROKER})")
    parser.add_argument("--run", action="append", choices=RUNS, help="default: all, in this order")
    parser.add_argument("--keep", action="store_true", help="keep the results folders (printed)")
    args = parser.parse_args(argv)

    images = ensure_images(args.data, args.limit, args.seed)
    size_mb = sum(p.stat().st_size for p in images) / 1e6
    chosen = args.run or list(RUNS)
    started = datetime.now(UTC)
    print(f"{len(images)} images ({size_mb:.0f} MB) from {args.data}; commit {_commit()}; "
          f"{platform.machine()}, {os.cpu_count()} cores; start {started:%Y-%m-%d %H:%M} UTC, "
          f"load {os.getloadavg()[0]:.2f}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="caliber-batch-bench-"))
    log = work / "stderr.log"
    (work / "images.txt").write_text("".join(f"{p}\n" for p in images), encoding="utf-8")
    runs: list[Run] = []
    try:
        for name in chosen:
            if name == "read":
                run = run_read(images, work, log)
            elif name == "w1":
                run = run_batch(images, work, log, 1)
            elif name == "w2":
                run = run_batch(images, work, log, 2)
            else:
                run = run_celery(images, work, log, args.broker, 2)
            runs.append(run)
            print(f"  {run.name}: {run.seconds:.0f} s, {run.rate:.2f} images/s, load {run.load:.2f}", flush=True)
    finally:
        if args.keep:
            print(f"results and logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nend {datetime.now(UTC):%H:%M} UTC\n")
    print(table(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
