"""``caliber batch``: many photos read in worker processes, resumable, with JSONL, CSV and HTML outputs.

Results are keyed by (image SHA-256, pipeline version). Each finished result is appended to
``results.jsonl`` as one line, flushed and fsynced as it arrives, so killing the process loses no
finished result; on start a trailing partial line (a write cut short) is truncated away and the
results already there are skipped. ``results.csv`` and ``report.html`` are regenerated from the
JSONL at the end of every run (written to a temporary file, then renamed). Inputs are only ever
opened for reading.

The reading itself is done by an engine: :class:`LocalEngine` (worker processes on this machine,
the default, needing nothing else) or the Celery engine of :mod:`api.batch_celery` (workers on
other machines through a broker). Either way the coordinator hashes every file first, each
worker checks the bytes it reads against that SHA-256, and only the coordinator writes the
results folder, as results come back.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import html
import io
import json
import multiprocessing
import os
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from vision.intake import IntakeError, sniff_format
from vision.version import PIPELINE_VERSION, code_version

RESULTS = "results.jsonl"
CSV_NAME = "results.csv"
REPORT = "report.html"
THUMBS = "thumbs"
LOCK = ".lock"
LOW_CONFIDENCE = 0.6  # a best serial below this needs a person's look (the overlay's "unsure" colour)
THUMB_SIDE = 240
# Failures that are not a property of the bytes: the image is tried again on the next run.
RETRIED = frozenset({
    "unreadable_file",  # the file could not be opened
    "internal_error",  # the pipeline raised
    "hash_mismatch",  # the bytes read differ from those hashed at the start (the file changed)
    "worker_lost",  # the process reading it died (out of memory, killed)
    "timed_out",  # the reading outlasted the task time limit
    "worker_error",  # the worker failed before reading (e.g. its models could not be loaded)
    "version_mismatch",  # a worker with another pipeline version took the task
})


# ---------------------------------------------------------------------------------------------------
# Inputs


@dataclass
class Inputs:
    files: list[str] = field(default_factory=list)  # candidate image files, in order, no repeats
    skipped: list[str] = field(default_factory=list)  # files in folders whose content is not an image
    missing: list[str] = field(default_factory=list)  # named paths that do not exist


def _is_image(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return sniff_format(f.read(32)) is not None
    except OSError:
        return True  # listed, so that the error is reported


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            yield Path(root) / name


def collect_inputs(items: Sequence[str]) -> Inputs:
    """Folders (recursive; images recognised by content), files, and ``@list.txt`` files."""
    out = Inputs()
    seen: set[str] = set()

    def add(path: str) -> None:
        if path not in seen:
            seen.add(path)
            out.files.append(path)

    def take(item: str, from_list: bool) -> None:
        if item.startswith("@") and not from_list:
            list_path = Path(item[1:])
            try:
                text = list_path.read_text(encoding="utf-8")
            except OSError:
                out.missing.append(item)
                return
            for line in text.splitlines():
                entry = line.strip()
                if entry and not entry.startswith("#"):
                    take(entry, True)
            return
        path = Path(item)
        if path.is_dir():
            for p in _walk(path):
                if p.is_file():
                    if _is_image(p):
                        add(str(p))
                    else:
                        out.skipped.append(str(p))
        elif path.exists():
            add(item)
        else:
            out.missing.append(item)

    for item in items:
        take(item, False)
    return out


def hash_file(path: str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------------
# The results file


def result_key(record: dict[str, Any]) -> tuple[str, str]:
    sha = record.get("sha256")
    if sha:
        return (str(sha), str(record.get("pipeline_version", "")))
    return ("path:" + str(record.get("image")), str(record.get("pipeline_version", "")))


def is_done(record: dict[str, Any]) -> bool:
    error = record.get("error")
    return bool(record.get("sha256")) and (error is None or error.get("code") not in RETRIED)


def load_results(path: Path, repair: bool = True) -> list[dict[str, Any]]:
    """The records in ``results.jsonl``. A trailing partial line is truncated away when ``repair``."""
    if not path.exists():
        return []
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data) and repair:
        with open(path, "r+b") as f:
            f.truncate(end)
            f.flush()
            os.fsync(f.fileno())
    records = []
    for raw in data[:end].splitlines():
        try:
            rec = json.loads(raw)
        except ValueError:
            continue
        if isinstance(rec, dict):
            records.append(rec)
    return records


class ResultLog:
    """Append-only JSONL: one ``os.write`` per record, then fsync."""

    def __init__(self, path: Path) -> None:
        self.path = path
        created = not path.exists()
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if created:
            _fsync_dir(path.parent)

    def append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        view = memoryview(line)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]
        os.fsync(self.fd)

    def close(self) -> None:
        os.close(self.fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def thumb_name(sha: str) -> str:
    return f"{sha}-p{PIPELINE_VERSION}.jpg"


# ---------------------------------------------------------------------------------------------------
# Reading one image (in a worker process of either engine)


def model_list(pipeline: Any) -> list[dict[str, str]]:
    return [{"task": m.task, "name": m.name, "version": m.version, "sha256": m.sha256} for m in pipeline.models()]


def worker_identity(pipeline: Any, engine: str, name: str | None = None) -> dict[str, Any]:
    """Who read an image: recorded with every result (chain of custody)."""
    host = socket.gethostname()
    return {"engine": engine, "name": name or host, "host": host, "pid": os.getpid(),
            "pipeline_version": PIPELINE_VERSION, "code_version": code_version(), "models": model_list(pipeline)}


def _thumbnail(bgr: Any, record: dict[str, Any]) -> bytes | None:
    """JPEG preview with the readings drawn, from the image already decoded for reading."""
    from api.overlay import draw_overlay

    try:
        buf = io.BytesIO()
        draw_overlay(bgr, record, max_side=THUMB_SIDE).save(buf, "JPEG", quality=70)
        return buf.getvalue()
    except Exception:  # a missing preview never fails the reading
        return None


def mismatch_error(expected: str, got: str) -> dict[str, str]:
    return {"code": "hash_mismatch",
            "message": f"the bytes read (sha256 {got}) are not those hashed at the start of the batch "
                       f"(sha256 {expected}): the file changed; not read"}


def read_data(pipeline: Any, options: Any, data: bytes, image: str,
              expected_sha: str | None) -> tuple[dict[str, Any], bytes | None]:
    """Read one image's bytes: (record as ``caliber read --json``, thumbnail). Bytes whose SHA-256
    is not ``expected_sha`` are not read: the record carries a ``hash_mismatch`` error."""
    from api.serialize import recognition_to_dict

    record: dict[str, Any] = {"image": image}
    sha = hashlib.sha256(data).hexdigest()
    if expected_sha is not None and sha != expected_sha:
        record.update(sha256=expected_sha, error=mismatch_error(expected_sha, sha))
        return record, None
    thumb = None
    try:
        decoded, intake = pipeline.take_in(data)
        rec = pipeline.read_image(decoded, options, first_steps=(intake,))
    except IntakeError as exc:
        record.update(sha256=sha, error={"code": str(exc.code), "message": str(exc)})
    except Exception as exc:  # one bad photo never stops the batch
        record.update(sha256=sha, error={"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"})
    else:
        record.update(recognition_to_dict(rec))
        record["error"] = None
        thumb = _thumbnail(decoded.bgr, record)
    return record, thumb


def unreadable(image: str, exc: OSError, sha: str | None = None) -> dict[str, Any]:
    return {"image": image, "sha256": sha,
            "error": {"code": "unreadable_file", "message": f"cannot open the file: {exc}"}}


# ---------------------------------------------------------------------------------------------------
# The local engine: worker processes on this machine

_PIPELINE: Any = None
_OPTIONS: Any = None
_IDENTITY: dict[str, Any] = {}


def init_worker(threads: int, det_max_side: int | None, top_k: int, temperature: float) -> None:
    """Build the pipeline once per worker process."""
    global _PIPELINE, _OPTIONS, _IDENTITY
    from models.registry import OrtConfig
    from vision.detection import DetectorConfig
    from vision.pipeline import ReadOptions, build_pipeline

    det = DetectorConfig(max_side=det_max_side) if det_max_side else None
    _PIPELINE = build_pipeline(ort_config=OrtConfig(intra_op_threads=threads), detector_config=det)
    _OPTIONS = ReadOptions(top_k=top_k, temperature=temperature)
    _PIPELINE.warm_up()
    _IDENTITY = worker_identity(_PIPELINE, "local")


def read_one(path: str, expected_sha: str | None = None) -> tuple[dict[str, Any], bytes | None, float]:
    """Read one file (opened read-only) in a worker: (record as ``caliber read --json``, thumbnail, ms)."""
    t0 = time.perf_counter()
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        record, thumb = unreadable(path, exc), None
    else:
        record, thumb = read_data(_PIPELINE, _OPTIONS, data, path, expected_sha)
    record["worker"] = _IDENTITY
    return record, thumb, (time.perf_counter() - t0) * 1000


@dataclass(frozen=True)
class Job:
    """One distinct image to read: its SHA-256 (hashed by the coordinator) and every path it is at."""

    sha256: str
    paths: list[str]

    @property
    def path(self) -> str:
        return self.paths[0]


Handle = Callable[["Job", dict[str, Any], "bytes | None"], None]


class Engine(Protocol):
    """Reads jobs and hands every result to ``handle`` (in the calling thread) as it comes back.
    Returns 0, or an exit status when the engine itself failed (the results handed so far are kept)."""

    name: str

    def read(self, jobs: Sequence[Job], handle: Handle, progress: Progress, err: TextIO) -> int: ...


@dataclass
class LocalEngine:
    workers: int
    threads: int = 1
    det_max_side: int | None = None
    top_k: int = 5
    temperature: float = 2.0
    executor_factory: Callable[..., Any] | None = None
    name: str = "local"

    def read(self, jobs: Sequence[Job], handle: Handle, progress: Progress, err: TextIO) -> int:
        make = self.executor_factory or (lambda **kw: ProcessPoolExecutor(
            mp_context=multiprocessing.get_context("spawn"), **kw))
        pending = iter(jobs)
        running: dict[Future[tuple[dict[str, Any], bytes | None, float]], Job] = {}
        window = max(2, self.workers * 2)
        with make(max_workers=self.workers, initializer=init_worker,
                  initargs=(self.threads, self.det_max_side, self.top_k, self.temperature)) as pool:
            try:
                while True:
                    while len(running) < window:
                        job = next(pending, None)
                        if job is None:
                            break
                        running[pool.submit(read_one, job.path, job.sha256)] = job
                    if not running:
                        break
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        job = running.pop(fut)
                        record, thumb, _ms = fut.result()
                        handle(job, record, thumb)
            except BrokenProcessPool:
                err.write("\ncaliber: a worker process stopped (out of memory, or the models could not be "
                          "loaded); the results so far are kept and a rerun resumes\n")
                for fut in running:
                    fut.cancel()
                return 3
            except KeyboardInterrupt:
                err.write("\ncaliber: interrupted; the results so far are kept and a rerun resumes\n")
                for fut in running:
                    fut.cancel()
                pool.shutdown(wait=False, cancel_futures=True)
                return 130
        return 0


# ---------------------------------------------------------------------------------------------------
# Progress


class Progress:
    """One line on stderr: done/total, images per second, failures, elapsed and time left. Redrawn in
    place on a terminal; otherwise a new line every ``interval`` seconds (logs stay short)."""

    def __init__(self, total: int, out: TextIO, interval: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self.out = out
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        self.interval = 0.2 if self.tty else interval
        self.clock = clock
        self.start = clock()
        self.last = self.start
        self.note = ""  # e.g. the engine waiting for workers

    def line(self) -> str:
        elapsed = self.clock() - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else None
        eta = _duration(left) if left is not None else "?"
        pct = 100.0 * self.done / self.total if self.total else 100.0
        note = f"  ({self.note})" if self.note else ""
        return (f"{self.done}/{self.total} ({pct:.0f}%)  {rate:.2f} images/s  "
                f"{self.failed} failed  elapsed {_duration(elapsed)}  left {eta}{note}")

    def step(self, failed: bool) -> None:
        self.done += 1
        self.failed += int(failed)
        self.tick(force=self.done == self.total)

    def tick(self, force: bool = False) -> None:
        """Redraw when the interval has passed (an engine waiting on results calls this too)."""
        now = self.clock()
        if force or now - self.last >= self.interval:
            self.last = now
            self.show()

    def show(self) -> None:
        if self.tty:
            self.out.write("\r\x1b[K" + self.line())
            if self.done == self.total:
                self.out.write("\n")
        else:
            self.out.write(self.line() + "\n")
        self.out.flush()


def _duration(seconds: float) -> str:
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


# ---------------------------------------------------------------------------------------------------
# Reports


def _marks(record: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    marks = [m for m in record.get("marks") or [] if m.get("kind") == kind]
    return sorted(marks, key=lambda m: -float(m.get("score", 0.0)))


def best(record: dict[str, Any], kind: str) -> dict[str, Any] | None:
    marks = _marks(record, kind)
    return marks[0] if marks else None


def confidence(record: dict[str, Any]) -> float | None:
    serial = best(record, "serial")
    return float(serial["score"]) if serial else None


def review_rank(record: dict[str, Any]) -> tuple[int, float]:
    """Errors first, then warnings, then no serial or a low-confidence one, then the rest."""
    conf = confidence(record)
    c = conf if conf is not None else -1.0
    if record.get("error"):
        return (0, c)
    if record.get("warnings"):
        return (1, c)
    if conf is None or conf < LOW_CONFIDENCE:
        return (2, c)
    return (3, c)


def report_records(records: Iterable[dict[str, Any]],
                   seen_paths: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
    """One record per image: the last per key, the current pipeline version preferred; the paths
    known for an image merged; a path's stale "cannot open" entry dropped once it has been read."""
    last: dict[tuple[str, str], dict[str, Any]] = {}
    for rec in records:
        last[result_key(rec)] = rec
    by_image: dict[str, dict[str, Any]] = {}
    for (ident, version), rec in last.items():
        current = by_image.get(ident)
        if current is None or version == PIPELINE_VERSION:
            by_image[ident] = rec
    read_paths: set[str] = set()
    out = []
    for ident, rec in by_image.items():
        rec = dict(rec)
        paths = list(rec.get("paths") or [rec.get("image")])
        for p in (seen_paths or {}).get(ident, []):
            if p not in paths:
                paths.append(p)
        rec["paths"] = paths
        if rec.get("sha256"):
            read_paths.update(str(p) for p in paths)
        out.append(rec)
    out = [r for r in out if r.get("sha256") or str(r.get("image")) not in read_paths]
    return sorted(out, key=lambda r: (review_rank(r), str(r["paths"][0])))


CSV_COLUMNS = ("path", "sha256", "serial", "maker", "model", "calibre", "confidence", "warnings", "error",
               "also_at")


def csv_text(records: Sequence[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for rec in sorted(records, key=lambda r: str(r["paths"][0])):
        values = {k: best(rec, k) for k in ("serial", "maker", "model", "calibre")}
        conf = confidence(rec)
        err = rec.get("error")
        w.writerow([
            rec["paths"][0], rec.get("sha256") or "",
            *[(m["value"] if m else "") for m in values.values()],
            f"{conf:.4f}" if conf is not None else "",
            "; ".join(f"{x['code']}: {x['message']}" for x in rec.get("warnings") or []),
            f"{err['code']}: {err['message']}" if err else "",
            " | ".join(str(p) for p in rec["paths"][1:]),
        ])
    return buf.getvalue()


_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}.summary{margin-bottom:1em}
.img{display:flex;gap:1em;border-top:1px solid #ccc;padding:.8em 0}
.img img{max-width:240px;max-height:240px;background:#eee}
.nothumb{width:240px;height:120px;background:#eee;color:#777;display:flex;align-items:center;justify-content:center}
.err{background:#fde8e8}.warn{background:#fff6dd}.low{background:#fffbe8}
.tag{display:inline-block;padding:0 .4em;border-radius:3px;font-size:.85em;margin-right:.3em}
.tag.err{background:#c62828;color:#fff}.tag.warn{background:#ef8f00;color:#fff}.tag.low{background:#b8a000;color:#fff}
.path{font-family:monospace;word-break:break-all}td{padding:0 .6em 0 0;vertical-align:top}
.alt{color:#666}
"""


def _thumb_uri(out_dir: Path, rec: dict[str, Any]) -> str | None:
    sha = rec.get("sha256")
    if not sha or rec.get("error"):
        return None
    path = out_dir / THUMBS / thumb_name(str(sha))
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


def html_text(records: Sequence[dict[str, Any]], out_dir: Path) -> str:
    e = html.escape
    n_err = sum(1 for r in records if r.get("error"))
    n_look = sum(1 for r in records if review_rank(r)[0] < 3)
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>caliber batch report</title>",
        f"<style>{_CSS}</style></head><body><h1>caliber batch report</h1>",
        f"<p class=summary>{len(records)} images; {n_err} could not be read; "
        f"{n_look} need a person's look (listed first). Pipeline version {e(PIPELINE_VERSION)}.</p>",
    ]
    for rec in records:
        rank = review_rank(rec)[0]
        cls = {0: "err", 1: "warn", 2: "low"}.get(rank, "ok")
        uri = _thumb_uri(out_dir, rec)
        thumb = (f"<img alt='' src='{uri}'>" if uri else "<div class=nothumb>no preview</div>")
        tags = []
        err = rec.get("error")
        if err:
            tags.append(f"<span class='tag err'>error {e(str(err.get('code')))}</span> {e(str(err.get('message')))}")
        for w in rec.get("warnings") or []:
            tags.append(f"<span class='tag warn'>{e(str(w.get('code')))}</span> {e(str(w.get('message')))}")
        if not err:
            conf = confidence(rec)
            if conf is None:
                tags.append("<span class='tag low'>no serial found</span>")
            elif conf < LOW_CONFIDENCE:
                tags.append(f"<span class='tag low'>low confidence {conf:.2f}</span>")
        rows = []
        for kind in ("serial", "maker", "model", "calibre"):
            marks = _marks(rec, kind)
            if not marks:
                continue
            cands = []
            for m in marks[:3]:
                alts = ", ".join(f"{e(str(a['value']))} {float(a['score']):.2f}"
                                 for a in (m.get("alternatives") or [])[:3])
                cands.append(f"<b>{e(str(m['value']))}</b> {float(m['score']):.2f}"
                             + (f" <span class=alt>({alts})</span>" if alts else ""))
            rows.append(f"<tr><td>{kind}</td><td>{'<br>'.join(cands)}</td></tr>")
        paths = "<br>".join(f"<span class=path>{e(str(p))}</span>" for p in rec["paths"])
        sha = e(str(rec.get("sha256") or "—"))
        worker = rec.get("worker") or {}
        by = f" · read by {e(str(worker['name']))}" if worker.get("name") else ""
        parts.append(
            f"<div class='img {cls}' data-review='{rank}'>{thumb}<div>{paths}<br>"
            f"<small>sha256 {sha}{by}</small><br>{'<br>'.join(tags)}"
            f"<table>{''.join(rows)}</table></div></div>"
        )
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_reports(out_dir: Path, seen_paths: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
    records = report_records(load_results(out_dir / RESULTS, repair=False), seen_paths)
    write_atomic(out_dir / CSV_NAME, csv_text(records).encode("utf-8"))
    write_atomic(out_dir / REPORT, html_text(records, out_dir).encode("utf-8"))
    return records


# ---------------------------------------------------------------------------------------------------
# The run


@dataclass
class Summary:
    inputs: int = 0
    images: int = 0
    duplicates: int = 0
    already_done: int = 0
    read: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, code) over every input
    engine: str = "local"
    readers: Counter[str] = field(default_factory=Counter)  # images read now, per worker (name)

    def text(self) -> str:
        rate = self.read / self.seconds if self.seconds > 0 else 0.0
        lines = [
            f"caliber batch: {self.inputs} files, {self.images} distinct images "
            f"({self.duplicates} duplicate paths), {self.already_done} done before, "
            f"{self.read} read now in {_duration(self.seconds)} ({rate:.2f} images/s), "
            f"{self.skipped} non-image files skipped",
        ]
        if self.engine != "local" and self.readers:
            lines.append(f"caliber batch: read by {len(self.readers)} workers: "
                         + ", ".join(f"{name} {n}" for name, n in self.readers.most_common()))
        if self.errors:
            lines.append(f"caliber batch: {len(self.errors)} files could not be read:")
            lines += [f"  {code}  {path}" for path, code in self.errors[:50]]
            if len(self.errors) > 50:
                lines.append(f"  ... and {len(self.errors) - 50} more (see results.csv)")
        return "\n".join(lines) + "\n"


def _lock(out_dir: Path) -> int:
    import fcntl

    fd = os.open(out_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise SystemExit(f"caliber: another batch is writing to {out_dir}") from None
    return fd


def run_batch(
    items: Sequence[str],
    out_dir: Path,
    workers: int = 1,
    *,
    threads: int = 1,
    det_max_side: int | None = None,
    top_k: int = 5,
    temperature: float = 2.0,
    err: TextIO = sys.stderr,
    executor_factory: Callable[..., Any] | None = None,
    engine: Engine | None = None,
) -> tuple[int, Summary]:
    """Read ``items`` into ``out_dir`` with ``engine`` (default: a :class:`LocalEngine` of ``workers``
    processes built from the other arguments)."""
    started = time.monotonic()
    if engine is None:
        engine = LocalEngine(workers, threads=threads, det_max_side=det_max_side, top_k=top_k,
                             temperature=temperature, executor_factory=executor_factory)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / THUMBS).mkdir(exist_ok=True)
    lock = _lock(out_dir)
    try:
        return _run(items, out_dir, engine, err, started)
    finally:
        os.close(lock)


def _run(items: Sequence[str], out_dir: Path, engine: Engine, err: TextIO, started: float) -> tuple[int, Summary]:
    inputs = collect_inputs(items)
    summary = Summary(inputs=len(inputs.files) + len(inputs.missing), skipped=len(inputs.skipped),
                      engine=engine.name)
    existing = load_results(out_dir / RESULTS)
    last: dict[tuple[str, str], dict[str, Any]] = {result_key(r): r for r in existing}
    log = ResultLog(out_dir / RESULTS)

    def append_failure(record: dict[str, Any]) -> None:
        """A "cannot open" entry is appended only when it differs from the last one for the path."""
        record["pipeline_version"] = PIPELINE_VERSION
        prev = last.get(result_key(record))
        if prev is None or prev.get("error") != record.get("error"):
            log.append(record)
            last[result_key(record)] = record

    code = 0
    try:
        # Hash every file first (read-only): the same photo under two paths is read once.
        by_sha: dict[str, list[str]] = {}
        unopenable: list[tuple[str, str]] = [(p, "no such file") for p in inputs.missing]

        def hash_or_error(path: str) -> tuple[str, str | None, str | None]:
            try:
                return path, hash_file(path), None
            except OSError as exc:
                return path, None, str(exc)

        with ThreadPoolExecutor(max_workers=4) as pool:
            for path, sha, problem in pool.map(hash_or_error, inputs.files):
                if sha is None:
                    unopenable.append((path, problem or "cannot open"))
                else:
                    by_sha.setdefault(sha, []).append(path)
        for path, problem in unopenable:
            summary.errors.append((path, "unreadable_file"))
            append_failure({"image": path, "paths": [path], "sha256": None,
                            "error": {"code": "unreadable_file", "message": f"cannot open the file: {problem}"}})
        summary.images = len(by_sha)
        summary.duplicates = sum(len(p) - 1 for p in by_sha.values())

        todo: list[Job] = []
        for sha, paths in by_sha.items():
            prev = last.get((sha, PIPELINE_VERSION))
            if prev is not None and is_done(prev):
                summary.already_done += 1
                if prev.get("error"):
                    summary.errors += [(p, str(prev["error"].get("code"))) for p in paths]
            else:
                todo.append(Job(sha, paths))

        progress = Progress(len(todo), err)

        def handle(job: Job, record: dict[str, Any], thumb: bytes | None) -> None:
            """One result back from the engine: checked against the hash taken here, then appended."""
            got = record.get("sha256")
            if got is not None and got != job.sha256:  # the worker read other bytes than those hashed
                record.update(sha256=job.sha256, error=mismatch_error(job.sha256, str(got)))
                for key in ("lines", "marks", "warnings", "provenance"):
                    record.pop(key, None)
                thumb = None
            if got is None and (record.get("error") or {}).get("code") != "unreadable_file":
                record["sha256"] = job.sha256  # a failure reported by the engine (e.g. a worker lost)
            record["paths"] = job.paths
            record["pipeline_version"] = PIPELINE_VERSION
            if thumb is not None and record.get("sha256"):
                write_atomic(out_dir / THUMBS / thumb_name(str(record["sha256"])), thumb)
            failed = record.get("error") is not None
            log.append(record)
            last[result_key(record)] = record
            if failed:
                error_code = str(record["error"].get("code"))
                summary.errors += [(p, error_code) for p in job.paths]
            worker = record.get("worker") or {}
            summary.readers[str(worker.get("name") or "?")] += 1
            summary.read += 1
            progress.step(failed)

        if todo:
            code = engine.read(todo, handle, progress, err)
    finally:
        log.close()

    seen = {sha: paths for sha, paths in by_sha.items()}
    write_reports(out_dir, seen)
    summary.seconds = time.monotonic() - started
    err.write(summary.text())
    err.flush()
    if code:
        return code, summary
    return (1 if summary.errors else 0), summary


def batch_command(args: argparse.Namespace) -> int:
    workers = args.workers or os.cpu_count() or 1
    engine: Engine
    if args.engine == "celery":
        from api.batch_celery import CeleryEngine, broker_url

        broker = broker_url(args.broker)
        if not broker:
            print("caliber: --engine celery needs --broker URL (or CALIBER_BROKER), e.g. "
                  "redis://127.0.0.1:6379/0", file=sys.stderr)
            return 2
        engine = CeleryEngine(broker, backend=args.backend, queue=args.queue, transfer=args.transfer,
                              in_flight=args.in_flight, task_timeout=args.task_timeout,
                              det_max_side=args.det_max_side, top_k=args.top_k, temperature=args.temperature)
    else:
        engine = LocalEngine(workers, threads=args.threads, det_max_side=args.det_max_side, top_k=args.top_k,
                             temperature=args.temperature)
    code, _ = run_batch(args.inputs, Path(args.out), err=sys.stderr, engine=engine)
    return code


def register(sub: Any) -> None:
    p = sub.add_parser("batch", help="read many photos into a results folder (resumable)")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="folders (searched recursively; images found by content), files, or @list.txt")
    p.add_argument("--out", required=True, help="results folder: results.jsonl, results.csv, report.html")
    p.add_argument("--workers", type=int, default=0, help="worker processes (default: number of cores)")
    p.add_argument("--threads", type=int, default=1, help="inference threads per worker (default 1)")
    p.add_argument("--top-k", type=int, default=5, help="alternatives kept per character (default 5)")
    p.add_argument("--temperature", type=float, default=2.0, help="confidence softening (default 2)")
    p.add_argument("--det-max-side", type=int, default=None,
                   help="long side of the reduced copy used to find text (default: the detector's)")
    scale = p.add_argument_group("scale-out", "read on `caliber worker` processes on other machines (Celery)")
    scale.add_argument("--engine", choices=("local", "celery"), default="local",
                       help="local: worker processes here (default); celery: workers reached through --broker")
    scale.add_argument("--broker", default=None,
                       help="broker URL, e.g. redis://host:6379/0 (default: $CALIBER_BROKER)")
    scale.add_argument("--backend", default=None, help="result store URL (default: the broker's)")
    scale.add_argument("--queue", default="caliber", help="queue name shared with the workers (default caliber)")
    scale.add_argument("--transfer", choices=("bytes", "path"), default="bytes",
                       help="bytes: send each image's bytes (default); path: send its absolute path, for "
                            "workers that see the same files at the same paths")
    scale.add_argument("--in-flight", type=int, default=0,
                       help="tasks sent ahead of results (default: twice the workers' processes, at least 8)")
    scale.add_argument("--task-timeout", type=float, default=300.0,
                       help="seconds one image may take on a worker before it is reported timed out (default 300)")
    p.set_defaults(func=batch_command)
