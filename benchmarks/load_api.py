"""Load check of the HTTP service: concurrent uploads from this process to ``caliber serve`` in another.

    python -m benchmarks.load_api [--requests 40] [--concurrency 4] [--workers 2] [--threads 1] [--queue 8]

Starts the service on 127.0.0.1 (a free port, a temporary data directory, nothing else needed),
creates an integrator key with ``caliber keys create``, and sends ``--requests`` distinct photos
with at most ``--concurrency`` in flight. A 429 is retried after its Retry-After, a transport
error after half a second, with the same Idempotency-Key (the "retry" column counts both). Then it checks
that every photo got exactly one recognition (no request lost, none duplicated): the ids are
distinct, each stored result carries its photo's SHA-256, the service counted exactly as many
readings as photos, and the audit chain verifies. Prints throughput and latency percentiles.
Loopback only: the service is never exposed beyond 127.0.0.1.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from PIL import Image, ImageDraw

from benchmarks.synth import fonts

HOST = "127.0.0.1"


def photo(i: int, size: tuple[int, int] = (1024, 640)) -> tuple[str, bytes]:
    """A distinct photo: a serial unique to ``i`` on a noisy grey plate."""
    serial = f"K{i:05d}B"
    img = Image.effect_noise(size, 18).convert("RGB")
    img = Image.blend(img, Image.new("RGB", size, (72, 76, 82)), 0.8)
    draw = ImageDraw.Draw(img)
    face = next(f for f in fonts.available_fonts() if f.name == "DejaVuSans-Bold")
    font = fonts.load(face.path, 60)
    draw.text((120, 260), f"S/N {serial}", font=font, fill=(220, 220, 225))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return serial, buf.getvalue()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def caliber(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], env=env, capture_output=True, text=True,
                          check=False)


@dataclass
class Outcome:
    index: int
    status: int = 0
    rec_id: str = ""
    sha256: str = ""
    seconds: float = 0.0
    retries: int = 0
    read_serial: bool = False
    error: str = ""


@dataclass
class Shared:
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0
    peak: int = 0


def send(client: httpx.Client, i: int, key: str, shared: Shared, max_retries: int) -> Outcome:
    serial, data = photo(i)
    out = Outcome(i, sha256=hashlib.sha256(data).hexdigest())
    # one idempotency key per photo: a retry after a lost answer cannot store a second reading
    headers = {"X-API-Key": key, "Idempotency-Key": f"load-{i}-{out.sha256[:16]}"}
    t0 = time.perf_counter()
    with shared.lock:
        shared.in_flight += 1
        shared.peak = max(shared.peak, shared.in_flight)
    try:
        while True:
            try:
                r = client.post("/v1/recognitions", headers=headers,
                                files={"image": (f"{i}.jpg", data, "image/jpeg")})
            except httpx.TransportError as exc:
                if out.retries < max_retries:
                    out.retries += 1
                    time.sleep(0.5)
                    continue
                out.error = f"{type(exc).__name__}: {exc}"
                return out
            if r.status_code == 429 and out.retries < max_retries:
                out.retries += 1
                time.sleep(float(r.headers.get("retry-after", "1")))
                continue
            out.status = r.status_code
            if r.status_code in (200, 201):  # 200: the answer to an earlier try of this same upload
                body = r.json()
                out.rec_id = body["id"]
                out.read_serial = any(m["kind"] == "serial" and m["value"] == serial for m in body["marks"])
                if body["sha256"] != out.sha256:
                    out.error = "the service answered another photo's hash"
            else:
                out.error = r.text[:200]
            return out
    finally:
        out.seconds = time.perf_counter() - t0
        with shared.lock:
            shared.in_flight -= 1


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"the service exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the service did not become ready")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--concurrency", type=int, default=4, help="uploads in flight at once (bounded)")
    ap.add_argument("--workers", type=int, default=2, help="service: photos read at the same time")
    ap.add_argument("--threads", type=int, default=1, help="service: onnxruntime threads per model (0 = all)")
    ap.add_argument("--queue", type=int, default=8, help="service: requests waiting before 429")
    ap.add_argument("--max-retries", type=int, default=50, help="retries of a 429 before giving up")
    args = ap.parse_args(argv)
    if args.concurrency < 1 or args.requests < 1:
        ap.error("--requests and --concurrency must be at least 1")

    data_dir = Path(tempfile.mkdtemp(prefix="caliber-load-"))
    port = free_port()
    base = f"http://{HOST}:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALIBER_")}
    env.update(CALIBER_DATA_DIR=str(data_dir), CALIBER_INFERENCE_WORKERS=str(args.workers),
               CALIBER_INFERENCE_THREADS=str(args.threads), CALIBER_QUEUE_SIZE=str(args.queue),
               CALIBER_RETRY_AFTER_S="1")
    created = caliber("keys", "create", "--role", "integrator", "--label", "load check", env=env)
    if created.returncode != 0:
        print(created.stderr, file=sys.stderr)
        return 2
    key = created.stdout.strip()
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--host", HOST, "--port", str(port),
                             "--log-level", "warning"], env=env, stderr=subprocess.DEVNULL)
    try:
        t_start = time.perf_counter()
        wait_ready(base, proc)
        ready_s = time.perf_counter() - t_start
        shared = Shared()
        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        with httpx.Client(base_url=base, timeout=300, limits=limits) as client, \
                ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            send(client, 10_000_000, key, shared, args.max_retries)  # warm the path; not counted
            t0 = time.perf_counter()
            outcomes = list(pool.map(lambda i: send(client, i, key, shared, args.max_retries),
                                     range(args.requests)))
            wall = time.perf_counter() - t0
            # every stored result belongs to its own photo
            mismatched = 0
            for o in outcomes:
                if o.rec_id:
                    got = client.get(f"/v1/recognitions/{o.rec_id}", headers={"X-API-Key": key})
                    mismatched += got.status_code != 200 or got.json()["sha256"] != o.sha256
            metrics = client.get("/metrics").text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    audit = caliber("audit", "verify", env=env)
    shutil.rmtree(data_dir, ignore_errors=True)

    ok = [o for o in outcomes if o.status in (200, 201)]
    ids = [o.rec_id for o in ok]
    lost = args.requests - len(ok)
    duplicated = len(ids) - len(set(ids))
    m = re.search(r'caliber_recognitions_total\{outcome="read"\} ([0-9.]+)', metrics)
    counted = int(float(m.group(1))) - 1 if m else -1  # minus the warm-up upload
    latencies = [o.seconds for o in ok]
    retries = sum(o.retries for o in outcomes)

    print(f"caliber load check: {platform.machine()} {os.cpu_count()} cores, service on {base} "
          f"(workers {args.workers}, queue {args.queue}), ready in {ready_s:.1f} s")
    print(f"{'requests':>9} {'in flight':>9} {'wall s':>7} {'photos/s':>9} {'p50 s':>6} {'p95 s':>6} "
          f"{'max s':>6} {'retry':>5} {'lost':>5} {'dup':>4} {'serial read':>11}")
    print(f"{args.requests:>9} {f'{shared.peak}/{args.concurrency}':>9} {wall:>7.1f} {len(ok) / wall:>9.2f} "
          f"{percentile(latencies, 0.5):>6.2f} {percentile(latencies, 0.95):>6.2f} {max(latencies, default=0):>6.2f} "
          f"{retries:>5} {lost:>5} {duplicated:>4} {sum(o.read_serial for o in ok):>6}/{len(ok)}")
    print(f"stored results matching their photo: {len(ok) - mismatched}/{len(ok)}; "
          f"readings counted by the service: {counted}; audit: {audit.stdout.strip() or audit.stderr.strip()}")
    for o in outcomes:
        if o.status not in (200, 201):
            print(f"  request {o.index}: status {o.status} {o.error}")
    good = (lost == 0 and duplicated == 0 and mismatched == 0 and counted == args.requests
            and audit.returncode == 0 and shared.peak <= args.concurrency)
    print("no request lost or duplicated" if good else "FAILED: requests lost, duplicated or miscounted")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
