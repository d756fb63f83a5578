"""Batch scale-out on Celery: ``caliber batch --engine celery`` and ``caliber worker``.

The coordinator (``caliber batch``) keeps everything that holds the chain of custody: it hashes
every file, skips what the results folder already holds, sends one task per distinct image and
writes ``results.jsonl`` itself as results come back (through :func:`api.batch.run_batch`, as the
local engine does). A task carries the image's bytes (or, with ``--transfer path``, an absolute
path the workers can open) together with the SHA-256 taken by the coordinator; the worker hashes
what it received or read and refuses to read bytes that do not match. Every result names the
worker (Celery node, host, process) and the models it read with.

Failures stay per image and the batch goes on: a corrupt photo is an ordinary result with an
error; a worker process that dies mid-reading (killed, out of memory) or outlasts
``--task-timeout`` comes back as a ``worker_lost`` or ``timed_out`` error, which the next run tries
again. Tasks are acknowledged after the reading (``acks_late``) so that a message taken by a
worker that vanishes is delivered again by the broker.

Queues carry the pipeline version (``caliber.p11``): a worker running another pipeline version
never takes this batch's tasks. Celery is imported only here and only when used, so the embedded
default needs neither Celery nor a broker.
"""

from __future__ import annotations

import argparse
import base64
import os
import socket
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from api.batch import (
    Handle,
    Job,
    Progress,
    mismatch_error,
    read_data,
    unreadable,
    worker_identity,
)
from vision.version import PIPELINE_VERSION

TASK = "caliber.batch.read"
DEFAULT_QUEUE = "caliber"
ENV_BROKER = "CALIBER_BROKER"
RESULT_EXPIRES = 24 * 3600  # a result nobody collected (coordinator gone) leaves Redis after a day
VISIBILITY_TIMEOUT = 3600  # an unacknowledged task (its worker vanished) is delivered again after this


def broker_url(arg: str | None) -> str | None:
    return arg or os.environ.get(ENV_BROKER) or None


def queue_name(queue: str) -> str:
    """The queue actually used: the pipeline version is part of it."""
    return f"{queue}.p{PIPELINE_VERSION}"


def safe_url(url: str) -> str:
    from kombu.utils.url import maybe_sanitize_url

    return str(maybe_sanitize_url(url))


def make_app(broker: str, backend: str | None = None) -> Any:
    """The Celery application shared by coordinator and workers (JSON only: no pickle on the wire)."""
    from celery import Celery

    app = Celery("caliber", broker=broker, backend=backend or broker, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_acks_late=True,  # a task whose worker vanished is delivered again...
        task_reject_on_worker_lost=False,  # ...but one whose process died reading it fails (no poison loop)
        worker_prefetch_multiplier=1,  # a worker holds no more tasks than it has processes
        result_expires=RESULT_EXPIRES,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        result_backend_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        task_default_queue=queue_name(DEFAULT_QUEUE),
    )
    app.task(name=TASK, bind=True, resultrepr_maxsize=160)(_read_task)  # the worker log stays readable
    return app


# ---------------------------------------------------------------------------------------------------
# The worker side (runs in Celery's pool processes)

_SETTINGS: dict[str, Any] = {"threads": 1, "concurrency": 1}
_STATE: dict[str, Any] = {}


def _pipeline_state(node: str) -> dict[str, Any]:
    """The pipeline of this pool process, built on its first task (models loaded and checked once)."""
    if _STATE.get("pid") != os.getpid():
        from models.registry import OrtConfig
        from vision.pipeline import build_pipeline

        pipeline = build_pipeline(ort_config=OrtConfig(intra_op_threads=int(_SETTINGS["threads"])))
        pipeline.warm_up()
        identity = worker_identity(pipeline, "celery", name=node)
        identity["concurrency"] = int(_SETTINGS["concurrency"])
        _STATE.clear()
        _STATE.update(pid=os.getpid(), pipeline=pipeline, identity=identity)
    return _STATE


def _failure(job: dict[str, Any], code: str, message: str) -> dict[str, Any]:
    return {"image": job.get("image"), "sha256": job.get("sha256"), "error": {"code": code, "message": message}}


def _read_task(task: Any, job: dict[str, Any]) -> dict[str, Any]:
    """One image: ``job`` = image (label), sha256 (expected), data (base64) or path, options,
    pipeline_version. Returns {"record": ..., "thumb": base64 JPEG or None}."""
    from vision.pipeline import ReadOptions

    node = str(getattr(task.request, "hostname", None) or socket.gethostname())
    fallback = {"engine": "celery", "name": node, "host": socket.gethostname(), "pid": os.getpid(),
                "pipeline_version": PIPELINE_VERSION}
    if job.get("pipeline_version") != PIPELINE_VERSION:
        record = _failure(job, "version_mismatch",
                          f"worker {node} runs pipeline version {PIPELINE_VERSION}, the batch expects "
                          f"{job.get('pipeline_version')}")
        return {"record": {**record, "worker": fallback}, "thumb": None}
    try:
        state = _pipeline_state(node)
    except Exception as exc:  # e.g. a model file missing or failing its hash on this machine
        record = _failure(job, "worker_error", f"worker {node} could not build the pipeline: "
                                               f"{type(exc).__name__}: {exc}")
        return {"record": {**record, "worker": fallback}, "thumb": None}
    image = str(job.get("image"))
    expected = str(job["sha256"])
    if job.get("data") is not None:
        data = base64.b64decode(job["data"])
    else:
        try:
            with open(str(job["path"]), "rb") as f:
                data = f.read()
        except OSError as exc:
            return {"record": {**unreadable(image, exc), "worker": state["identity"]}, "thumb": None}
    opts = job.get("options") or {}
    options = ReadOptions(top_k=int(opts.get("top_k", 5)), temperature=float(opts.get("temperature", 2.0)),
                          det_max_side=opts.get("det_max_side"))
    record, thumb = read_data(state["pipeline"], options, data, image, expected)
    record["worker"] = state["identity"]
    return {"record": record, "thumb": base64.b64encode(thumb).decode("ascii") if thumb else None}


# ---------------------------------------------------------------------------------------------------
# The coordinator side


def _broker_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OSError, TimeoutError]
    from kombu.exceptions import OperationalError

    errors.append(OperationalError)
    try:
        from redis.exceptions import RedisError

        errors.append(RedisError)
    except ImportError:  # another broker
        pass
    return tuple(errors)


def failure_code(exc: Any) -> str:
    name = type(exc).__name__ if isinstance(exc, BaseException) else str((exc or {}).get("exc_type", ""))
    if name == "WorkerLostError":
        return "worker_lost"
    if name in ("TimeLimitExceeded", "SoftTimeLimitExceeded"):
        return "timed_out"
    return "worker_error"


def _failure_message(exc: Any) -> str:
    if isinstance(exc, BaseException):
        return f"{type(exc).__name__}: {exc}"
    if isinstance(exc, dict):
        text = " ".join(str(x) for x in exc.get("exc_message") or [])
        return f"{exc.get('exc_type', 'error')}: {text}"
    return str(exc)


@dataclass
class CeleryEngine:
    broker: str
    backend: str | None = None
    queue: str = DEFAULT_QUEUE
    transfer: str = "bytes"  # or "path"
    in_flight: int = 0  # 0: twice the worker processes known, at least 8
    task_timeout: float = 300.0
    det_max_side: int | None = None
    top_k: int = 5
    temperature: float = 2.0
    poll: float = 0.05
    discover_timeout: float = 1.0
    name: str = "celery"
    workers_seen: dict[str, int] = field(default_factory=dict)  # node -> processes

    def read(self, jobs: Sequence[Job], handle: Handle, progress: Progress, err: TextIO) -> int:
        app = make_app(self.broker, self.backend)
        try:
            return self._read(app, jobs, handle, progress, err)
        finally:
            app.close()

    def _read(self, app: Any, jobs: Sequence[Job], handle: Handle, progress: Progress, err: TextIO) -> int:
        queue = queue_name(self.queue)
        errors = _broker_errors()
        try:
            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=5)
            app.backend.get_task_meta("caliber-connection-check")
        except errors as exc:
            err.write(f"caliber: cannot reach the broker or result store at {safe_url(self.broker)}: {exc}\n")
            return 3
        self._discover(app, queue, err)
        window = self.in_flight or self._auto_window()
        options = {"top_k": self.top_k, "temperature": self.temperature, "det_max_side": self.det_max_side}
        pending = iter(jobs)
        running: dict[str, Job] = {}
        waited_since = time.monotonic()
        try:
            while True:
                while len(running) < window:
                    job = next(pending, None)
                    if job is None:
                        break
                    payload = self._payload(job, options, handle)
                    if payload is not None:
                        result = app.send_task(TASK, args=[payload], queue=queue, time_limit=self.task_timeout)
                        running[result.id] = job
                if not running:
                    break
                ready = self._collect(app, running)
                if not ready:
                    if not self.workers_seen and time.monotonic() - waited_since > 5:
                        progress.note = f"waiting for a worker on queue {queue}"
                    progress.tick()
                    time.sleep(self.poll)
                    continue
                progress.note = ""
                for task_id, meta in ready:
                    job = running.pop(task_id)
                    record, thumb = self._outcome(job, meta)
                    handle(job, record, thumb)
                    app.backend.forget(task_id)
                if not self.in_flight:
                    window = max(window, self._auto_window())
        except KeyboardInterrupt:
            err.write("\ncaliber: interrupted; the results so far are kept and a rerun resumes\n")
            self._abandon(app, running)
            return 130
        except errors as exc:
            err.write(f"\ncaliber: lost the broker or result store at {safe_url(self.broker)} ({exc}); the "
                      "results so far are kept and a rerun resumes\n")
            return 3
        return 0

    def _discover(self, app: Any, queue: str, err: TextIO) -> None:
        """Workers consuming ``queue`` now, and their processes (for the window and a first message)."""
        try:
            inspect = app.control.inspect(timeout=self.discover_timeout)
            queues = inspect.active_queues() or {}
            nodes = [n for n, qs in queues.items() if any(q.get("name") == queue for q in qs or [])]
            stats = (inspect.stats() or {}) if nodes else {}
        except Exception:  # discovery is advice only
            nodes, stats = [], {}
        for node in nodes:
            pool = (stats.get(node) or {}).get("pool") or {}
            self.workers_seen[node] = int(pool.get("max-concurrency") or 1)
        if nodes:
            err.write(f"caliber batch: {len(nodes)} workers on queue {queue} "
                      f"({sum(self.workers_seen.values())} processes): {', '.join(sorted(nodes))}\n")
        else:
            err.write(f"caliber batch: no worker is consuming queue {queue} yet; tasks wait until one starts "
                      f"(caliber worker --broker {safe_url(self.broker)} --queue {self.queue})\n")
        err.flush()

    def _auto_window(self) -> int:
        return max(8, 2 * sum(self.workers_seen.values()))

    def _payload(self, job: Job, options: dict[str, Any], handle: Handle) -> dict[str, Any] | None:
        payload: dict[str, Any] = {"image": job.path, "sha256": job.sha256, "options": options,
                                   "pipeline_version": PIPELINE_VERSION}
        if self.transfer == "path":
            payload["path"] = os.path.abspath(job.path)
            return payload
        try:
            with open(job.path, "rb") as f:
                data = f.read()
        except OSError as exc:
            handle(job, unreadable(job.path, exc), None)
            return None
        import hashlib

        got = hashlib.sha256(data).hexdigest()
        if got != job.sha256:  # changed since hashed: never send other bytes than those recorded
            handle(job, {"image": job.path, "sha256": job.sha256, "error": mismatch_error(job.sha256, got)}, None)
            return None
        payload["data"] = base64.b64encode(data).decode("ascii")
        return payload

    def _collect(self, app: Any, running: dict[str, Job]) -> list[tuple[str, dict[str, Any]]]:
        """The finished tasks among ``running``: one MGET on a key-value result store."""
        backend = app.backend
        if hasattr(backend, "get_many"):
            return list(backend.get_many(set(running), interval=0, max_iterations=1))
        out = []
        for task_id in running:
            result = app.AsyncResult(task_id)
            if result.ready():
                out.append((task_id, {"status": result.state, "result": result.result}))
        return out

    def _outcome(self, job: Job, meta: dict[str, Any]) -> tuple[dict[str, Any], bytes | None]:
        result = meta.get("result")
        if meta.get("status") == "SUCCESS" and isinstance(result, dict) and isinstance(result.get("record"), dict):
            record: dict[str, Any] = result["record"]
            worker = record.get("worker") or {}
            if worker.get("name"):
                self.workers_seen[str(worker["name"])] = int(worker.get("concurrency") or 1)
            thumb = result.get("thumb")
            return record, (base64.b64decode(thumb) if thumb else None)
        code = failure_code(result) if meta.get("status") == "FAILURE" else "worker_error"
        message = _failure_message(result) if meta.get("status") == "FAILURE" else f"task {meta.get('status')}"
        record = {"image": job.path, "sha256": job.sha256, "error": {"code": code, "message": message},
                  "worker": {"engine": "celery", "name": None}}
        return record, None

    def _abandon(self, app: Any, running: Iterable[str]) -> None:
        ids = list(running)
        if not ids:
            return
        try:
            app.control.revoke(ids)
            for task_id in ids:
                app.backend.forget(task_id)
        except Exception:  # best effort: unread results expire on their own
            pass


# ---------------------------------------------------------------------------------------------------
# caliber worker


def worker_command(args: argparse.Namespace) -> int:
    broker = broker_url(args.broker)
    if not broker:
        print(f"caliber: caliber worker needs --broker URL (or {ENV_BROKER}), e.g. redis://127.0.0.1:6379/0",
              file=sys.stderr)
        return 2
    concurrency = args.concurrency or os.cpu_count() or 1
    _SETTINGS.update(threads=args.threads, concurrency=concurrency)
    app = make_app(broker, args.backend)
    name = args.name or f"caliber.{os.getpid()}@{socket.gethostname()}"
    argv = ["worker", "--queues", queue_name(args.queue), "--concurrency", str(concurrency), "--hostname", name,
            "--loglevel", args.loglevel, "--pool", "prefork", "--without-gossip", "--without-mingle"]
    if args.max_tasks_per_child:
        argv += ["--max-tasks-per-child", str(args.max_tasks_per_child)]
    app.worker_main(argv)
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("worker", help="read images for `caliber batch --engine celery` (started on each machine)")
    p.add_argument("--broker", default=None, help=f"broker URL, e.g. redis://host:6379/0 (default: ${ENV_BROKER})")
    p.add_argument("--backend", default=None, help="result store URL (default: the broker's)")
    p.add_argument("--queue", default=DEFAULT_QUEUE, help="queue name given to `caliber batch` (default caliber)")
    p.add_argument("--concurrency", type=int, default=0, help="reading processes (default: number of cores)")
    p.add_argument("--threads", type=int, default=1, help="inference threads per process (default 1)")
    p.add_argument("--name", default=None, help="worker node name (default caliber.<pid>@<host>)")
    p.add_argument("--max-tasks-per-child", type=int, default=0,
                   help="replace a reading process after this many images (default: never)")
    p.add_argument("--loglevel", default="INFO", help="Celery log level (default INFO)")
    p.set_defaults(func=worker_command)
