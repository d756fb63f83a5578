"""`caliber serve` for real: a subprocess on loopback, with a key made by `caliber keys create`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.api.service_helpers import jpeg


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_starts_answers_and_stops(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALIBER_")}
    env["CALIBER_DATA_DIR"] = str(tmp_path)
    cli = [sys.executable, "-m", "api.cli"]
    port = _free_port()
    proc = subprocess.Popen([*cli, "serve", "--port", str(port), "--log-level", "warning"], env=env,
                            stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        key = subprocess.run([*cli, "keys", "create", "--role", "officer"], env=env, capture_output=True, text=True,
                             check=True).stdout.strip()
        assert httpx.post(f"{base}/v1/recognitions", files={"image": ("a.jpg", jpeg(), "image/jpeg")},
                          timeout=60).status_code == 401
        r = httpx.post(f"{base}/v1/recognitions", files={"image": ("a.jpg", jpeg("S/N 4471B09"), "image/jpeg")},
                       headers={"X-API-Key": key}, timeout=60)
        assert r.status_code == 201 and any("4471B09" in ln["text"] for ln in r.json()["lines"])
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "no API keys yet" in err and "keys create --role admin" in err  # the first-run hint
    assert key not in err
    verify = subprocess.run([*cli, "audit", "verify"], env=env, capture_output=True, text=True)
    assert verify.returncode == 0 and "intact: 3 entries" in verify.stdout  # key created, upload, reading
