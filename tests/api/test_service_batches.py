"""POST/GET /v1/batches: files and zips read in the background; unsafe zips refused."""

from __future__ import annotations

import io
import time
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import AppMaker
from tests.api.service_helpers import FakeReader, assert_problem, hdr, jpeg


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _wait(client: TestClient, key: str, location: str, timeout: float = 20.0) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(location, headers=hdr(key)).json()
        if body["status"] == "finished" or time.monotonic() > end:
            return body
        time.sleep(0.05)


def test_files_and_zip_with_progress(make_client: AppMaker) -> None:
    reader = FakeReader()
    client, keys = make_client(reader)
    a, b, c = jpeg("A1"), jpeg("B2"), jpeg("C3")
    archive = _zip({"case/a.jpg": a, "case/b.jpg": b, "__MACOSX/._a.jpg": b"junk", "case/": b""})
    reader.block = True  # hold the first item so progress is seen half way
    resp = client.post("/v1/batches", headers=hdr(keys["integrator"]), data={"top_k": "3"}, files=[
        ("files", ("photos.zip", archive, "application/zip")),
        ("files", ("c.jpg", c, "image/jpeg")),
        ("files", ("notes.txt", b"not a photo", "text/plain")),
    ])
    assert resp.status_code == 202, resp.text
    job = resp.json()
    assert resp.headers["location"] == f"/v1/batches/{job['id']}"
    assert job["total"] == 4 and [i["name"] for i in job["items"]] == [
        "photos.zip/case/a.jpg", "photos.zip/case/b.jpg", "c.jpg", "notes.txt"]
    try:
        assert reader.started.wait(5)
        mid = client.get(resp.headers["location"], headers=hdr(keys["lab"])).json()
        assert mid["status"] == "running" and mid["pending"] >= 3
    finally:
        reader.block = False
        reader.release.set()
    done = _wait(client, keys["lab"], resp.headers["location"])
    assert done["status"] == "finished" and (done["done"], done["failed"], done["pending"]) == (3, 1, 0)
    assert done["items"][3]["error"]["code"] == "not_an_image"
    rec = client.get(f"/v1/recognitions/{done['items'][0]['recognition_id']}", headers=hdr(keys["lab"])).json()
    assert rec["batch_id"] == job["id"] and rec["options"]["top_k"] == 3
    assert rec["sha256"] == done["items"][0]["sha256"]
    orig = client.get(f"/v1/recognitions/{done['items'][2]['recognition_id']}/original", headers=hdr(keys["lab"]))
    assert orig.content == c
    actions = [e.action for e in client.app.state.services.audit.entries()]  # type: ignore[attr-defined]
    assert actions[0] == "batch.created" and actions[-2:] == ["batch.finished", "export.original"]
    assert actions.count("reading") == 3 and actions.count("upload.rejected") == 1


@pytest.mark.parametrize("name", ["../evil.jpg", "a/../../evil.jpg", "/etc/evil.jpg", "C:\\evil.jpg",
                                  "a\\..\\..\\evil.jpg"])
def test_zip_path_traversal_refused(make_client: AppMaker, name: str) -> None:
    client, keys = make_client()
    archive = _zip({"ok.jpg": jpeg(), name: jpeg()})
    resp = client.post("/v1/batches", headers=hdr(keys["lab"]), files=[("files", ("x.zip", archive, "x/y"))])
    assert_problem(resp, 422, "zip_path_traversal")
    assert not list(client.app.state.services.settings.data_dir.rglob("evil*"))  # type: ignore[attr-defined]


def test_zip_bombs_refused(make_client: AppMaker) -> None:
    client, keys = make_client(max_batch_bytes=8 * 1024 * 1024, max_upload_bytes=4 * 1024 * 1024)
    ratio_bomb = _zip({"zeros.jpg": b"\xff\xd8\xff" + b"\x00" * (3 * 1024 * 1024)})
    assert len(ratio_bomb) < 20_000
    body = assert_problem(client.post("/v1/batches", headers=hdr(keys["lab"]),
                                      files=[("files", ("b.zip", ratio_bomb, "application/zip"))]), 413, "zip_bomb")
    assert "compressed" in body["detail"]
    big_total = _zip({f"z{i}.jpg": b"\x00" * (3 * 1024 * 1024) for i in range(4)})
    assert_problem(client.post("/v1/batches", headers=hdr(keys["lab"]),
                               files=[("files", ("t.zip", big_total, "application/zip"))]), 413, "zip_bomb")
    member_too_big = _zip({"one.jpg": b"\x00" * (5 * 1024 * 1024)}, zipfile.ZIP_STORED)
    assert_problem(client.post("/v1/batches", headers=hdr(keys["lab"]),
                               files=[("files", ("m.zip", member_too_big, "application/zip"))]), 413, "zip_bomb")


def test_batch_limits_and_bad_zips(make_client: AppMaker) -> None:
    client, keys = make_client(max_batch_files=3)
    many = _zip({f"{i}.jpg": jpeg() for i in range(4)})
    assert_problem(client.post("/v1/batches", headers=hdr(keys["lab"]),
                               files=[("files", ("m.zip", many, "application/zip"))]), 413, "too_many_files")
    files = [("files", (f"{i}.jpg", jpeg(), "image/jpeg")) for i in range(4)]
    assert_problem(client.post("/v1/batches", headers=hdr(keys["lab"]), files=files), 413, "too_many_files")
    broken = b"PK\x03\x04" + b"\x00" * 100
    assert_problem(client.post("/v1/batches", headers=hdr(keys["lab"]),
                               files=[("files", ("bad.zip", broken, "application/zip"))]), 422, "zip_invalid")
    assert_problem(client.post("/v1/batches", headers=hdr(keys["lab"]),
                               files=[("files", ("e.zip", _zip({}), "application/zip"))]), 422, "validation_error")
    assert_problem(client.post("/v1/batches", headers=hdr(keys["lab"])), 422, "validation_error")
    assert_problem(client.get("/v1/batches/none", headers=hdr(keys["lab"])), 404, "not_found")


def test_unfinished_batch_resumes_after_restart(make_client: AppMaker) -> None:
    from api.app import create_app

    reader = FakeReader()
    reader.block = True
    client, keys = make_client(reader)
    resp = client.post("/v1/batches", headers=hdr(keys["lab"]),
                       files=[("files", (f"{i}.jpg", jpeg(str(i)), "image/jpeg")) for i in range(3)])
    assert reader.started.wait(5)
    services = client.app.state.services  # type: ignore[attr-defined]
    assert services.batches is not None
    services.batches._stop.set()  # the service stops after the item in progress
    reader.release.set()
    services.batches.stop()
    state = services.store.batch(resp.json()["id"])
    assert state is not None and state.finished_at is None
    app2 = create_app(services.settings, FakeReader(), engine=services.engine)
    with TestClient(app2) as c2:
        done = _wait(c2, keys["lab"], resp.headers["location"])
    assert done["status"] == "finished" and done["done"] == 3
    ids = [i["recognition_id"] for i in done["items"]]
    assert len(set(ids)) == 3 and services.store.count_recognitions() == 3


def test_too_many_open_batches_is_429(make_client: AppMaker) -> None:
    reader = FakeReader()
    reader.block = True
    client, keys = make_client(reader, max_open_batches=1)
    try:
        first = client.post("/v1/batches", headers=hdr(keys["lab"]), files=[("files", ("a.jpg", jpeg(), "x/y"))])
        assert first.status_code == 202
        busy = client.post("/v1/batches", headers=hdr(keys["lab"]), files=[("files", ("b.jpg", jpeg(), "x/y"))])
        assert_problem(busy, 429, "busy")
        assert int(busy.headers["retry-after"]) > 0
    finally:
        reader.block = False
        reader.release.set()
    assert _wait(client, keys["lab"], first.headers["location"])["status"] == "finished"
    assert client.post("/v1/batches", headers=hdr(keys["lab"]),
                       files=[("files", ("b.jpg", jpeg(), "x/y"))]).status_code == 202


def test_reader_failure_marks_the_item_not_the_batch(make_client: AppMaker) -> None:
    client, keys = make_client(FakeReader(fail=RuntimeError("boom")))
    resp = client.post("/v1/batches", headers=hdr(keys["lab"]), files=[("files", ("a.jpg", jpeg(), "x/y"))])
    done = _wait(client, keys["lab"], resp.headers["location"])
    assert done["status"] == "finished" and done["failed"] == 1
    assert done["items"][0]["error"]["code"] == "internal_error" and "boom" not in done["items"][0]["error"]["detail"]
