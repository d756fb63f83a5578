"""Helpers of the service tests: a fake reader, test photos, request and problem helpers."""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi.testclient import TestClient

from tests.imaging import render_text_image, to_bytes
from vision.intake import decode
from vision.pipeline import ReadOptions
from vision.types import CharChoice, MarkCandidate, MarkKind, Provenance, Quad, Recognition, Step, TextLine


class FakeReader:
    """Decodes for real (so intake errors are the real ones) and answers a fixed reading."""

    def __init__(self, *, delay: float = 0.0, fail: Exception | None = None, fail_warm_up: bool = False) -> None:
        self.delay = delay
        self.fail = fail
        self.fail_warm_up = fail_warm_up
        self.started = threading.Event()
        self.release = threading.Event()
        self.block = False
        self.calls = 0
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        if self.fail_warm_up:
            raise RuntimeError("model file hash mismatch")

    def read_bytes(self, data: bytes, options: ReadOptions | None = None) -> Recognition:
        with self._lock:
            self.calls += 1
        img = decode(data, max_bytes=64 * 1024 * 1024)
        self.started.set()
        if self.block:
            self.release.wait(10)
        if self.delay:
            time.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        chars = tuple(CharChoice(((c, 0.9), ("8" if c == "B" else c.lower(), 0.05))) for c in "4471B09")
        line = TextLine("4471B09", 0.91, Quad(((10.0, 10.0), (90.0, 10.0), (90.0, 30.0), (10.0, 30.0))), chars)
        mark = MarkCandidate(MarkKind.SERIAL, "4471B09", 0.8, (("447189", 0.1),), (0,), "fake")
        prov = Provenance(sha256=img.sha256, size_bytes=img.size_bytes, format=img.format, width=img.width,
                          height=img.height, exif_orientation=img.exif_orientation,
                          steps=(Step("intake", 1.0, (("format", img.format),)),), code_version="test")
        return Recognition(lines=(line,), provenance=prov, marks=(mark,))


def jpeg(text: str = "S/N 4471B09", size: tuple[int, int] = (640, 400), font: int = 48) -> bytes:
    return to_bytes(render_text_image([(text, (40, 150), font)], size=size), "JPEG", quality=90)


def hdr(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def upload(client: TestClient, key: str, data: bytes, name: str = "photo.jpg", **form: Any) -> Any:
    return client.post("/v1/recognitions", files={"image": (name, data, "application/octet-stream")},
                       data={k: str(v) for k, v in form.items()}, headers=hdr(key))


def assert_problem(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = resp.json()
    assert body["code"] == code and body["status"] == status and body["type"] == f"/problems/{code}"
    assert body["title"] and body["detail"]
    return body
