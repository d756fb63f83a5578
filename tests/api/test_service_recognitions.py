"""POST/GET /v1/recognitions, originals, overlays, corrections; intake errors as problems."""

from __future__ import annotations

import io
import os
import stat
import threading
import time
from typing import Any

import numpy as np
import pytest
from PIL import Image

from api.schemas import RecognitionBody
from api.serialize import recognition_to_dict
from tests.api.conftest import AppMaker
from tests.api.service_helpers import FakeReader, assert_problem, hdr, jpeg, upload
from tests.imaging import render_text_image, to_bytes
from vision.pipeline import Pipeline


@pytest.fixture()
def real(make_client: AppMaker, pipeline: Pipeline) -> Any:
    return make_client(pipeline)


def test_read_store_fetch_original_overlay_and_correct(real: Any, pipeline: Pipeline) -> None:
    client, keys = real
    photo = jpeg("S/N 4471B09", size=(900, 500), font=64)
    resp = upload(client, keys["officer"], photo, name="../../etc/passwd", top_k=4)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert any("4471B09" in line["text"].replace(" ", "") for line in body["lines"])
    serial = [m for m in body["marks"] if m["kind"] == "serial"]
    assert serial and serial[0]["value"] == "4471B09"
    assert body["options"]["top_k"] == 4 and all(len(c) <= 4 for c in body["lines"][0]["chars"])
    assert body["provenance"]["models"] and body["provenance"]["steps"]
    assert body["filename"] == "../../etc/passwd"  # a label, never a path
    rid = body["id"]

    got = client.get(f"/v1/recognitions/{rid}", headers=hdr(keys["lab"]))
    assert got.status_code == 200
    assert {k: v for k, v in got.json().items() if k != "corrections"} == \
        {k: v for k, v in body.items() if k != "corrections"}

    # the exact bytes, stored once by hash and read-only
    orig = client.get(f"/v1/recognitions/{rid}/original", headers=hdr(keys["lab"]))
    assert orig.status_code == 200 and orig.content == photo
    assert orig.headers["content-type"] == "image/jpeg"
    services = client.app.state.services  # type: ignore[attr-defined]
    path = services.evidence.path(body["sha256"])
    assert path.read_bytes() == photo and not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert not list((services.settings.data_dir).rglob("passwd"))

    ov = client.get(f"/v1/recognitions/{rid}/overlay.png", headers=hdr(keys["officer"]), params={"max_side": 450})
    assert ov.status_code == 200 and ov.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(ov.content))
    assert img.size == (450, 250)
    rgb = np.asarray(img.convert("RGB"))
    assert (rgb == (40, 220, 90)).all(axis=-1).any(), "the region outline is drawn"

    # confirm, then correct: the machine reading stays beside the analyst's value
    ok = client.post(f"/v1/recognitions/{rid}/corrections", json={"field": "serial", "value": "4471B09"},
                     headers=hdr(keys["lab"]))
    assert ok.status_code == 201 and ok.json()["confirmed"] is True
    fix = client.post(f"/v1/recognitions/{rid}/corrections",
                      json={"field": "serial", "value": "4471809", "note": "B is an 8 under oblique light"},
                      headers=hdr(keys["officer"]))
    assert fix.status_code == 201
    c = fix.json()
    assert c["confirmed"] is False and c["machine"]["value"] == "4471B09" and c["value"] == "4471809"
    assert c["created_by"] == keys["officer"].split("_")[1]
    typ = client.post(f"/v1/recognitions/{rid}/corrections", json={"field": "type", "value": "pistol"},
                      headers=hdr(keys["admin"]))
    assert typ.status_code == 201 and typ.json()["machine"] is None
    again = client.get(f"/v1/recognitions/{rid}", headers=hdr(keys["officer"])).json()
    assert [x["value"] for x in again["corrections"]] == ["4471B09", "4471809", "pistol"]
    assert [m["value"] for m in again["marks"] if m["kind"] == "serial"] == ["4471B09"]  # reading unchanged


def test_blank_photo_is_a_result_with_a_warning(real: Any) -> None:
    client, keys = real
    blank = to_bytes(render_text_image([], size=(400, 300)), "PNG")
    resp = upload(client, keys["integrator"], blank, name="blank.png")
    assert resp.status_code == 201
    assert resp.json()["lines"] == [] and [w["code"] for w in resp.json()["warnings"]] == ["no_text"]


def test_schema_matches_serializer(pipeline: Pipeline) -> None:
    rec = pipeline.read_bytes(jpeg("GLOCK 17 9x19"))
    d = recognition_to_dict(rec)
    assert RecognitionBody.model_validate(d).model_dump() == d


GIF = b"GIF89a" + b"\x01\x00\x01\x00\x00\x00\x00;"


@pytest.mark.parametrize(("data", "status", "code"), [
    (b"", 422, "empty"),
    (b"just some text, not a photo", 415, "not_an_image"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF broken", 422, "corrupt"),
    (GIF, 415, "unsupported_format"),
])
def test_intake_errors(make_client: AppMaker, data: bytes, status: int, code: str) -> None:
    client, keys = make_client()
    body = assert_problem(upload(client, keys["officer"], data, name="photo.jpg"), status, code)
    assert body["instance"] == "/v1/recognitions"
    entries = client.app.state.services.audit.entries()  # type: ignore[attr-defined]
    assert entries[-1].action == "upload.rejected" and entries[-1].detail["code"] == code


def test_pixel_and_size_limits(make_client: AppMaker, pipeline: Pipeline) -> None:
    # the factory gives the shared pipeline this service's limits (the models stay shared)
    client, keys = make_client(pipeline, max_pixels=100_000, max_upload_bytes=200_000)
    assert upload(client, keys["officer"], jpeg(size=(400, 240))).status_code == 201
    assert_problem(upload(client, keys["officer"], jpeg(size=(500, 300))), 413, "too_many_pixels")
    noisy = to_bytes(Image.frombytes("L", (300, 300), os.urandom(90_000)), "PNG")
    big = noisy + b"\x00" * (200_001 - len(noisy))
    assert_problem(upload(client, keys["officer"], big), 413, "too_large")
    huge = b"\xff\xd8\xff" + b"\x00" * (2 * 1024 * 1024)
    assert_problem(upload(client, keys["officer"], huge), 413, "request_too_large")


def test_streamed_body_over_the_limit(make_client: AppMaker) -> None:
    client, keys = make_client(max_upload_bytes=2048)

    def chunks() -> Any:
        for _ in range(40):
            yield b"x" * 65536

    resp = client.post("/v1/recognitions", content=chunks(),
                       headers={**hdr(keys["officer"]), "content-type": "multipart/form-data; boundary=zz"})
    assert_problem(resp, 413, "request_too_large")


@pytest.mark.parametrize(("form", "field"), [
    ({"top_k": 50}, "top_k"), ({"temperature": 0}, "temperature"), ({"det_max_side": 10}, "det_max_side"),
])
def test_bad_options(make_client: AppMaker, form: dict[str, Any], field: str) -> None:
    client, keys = make_client()
    body = assert_problem(upload(client, keys["officer"], jpeg(), **form), 422, "validation_error")
    assert field in body["detail"]


def test_missing_image_and_unknown_ids(make_client: AppMaker) -> None:
    client, keys = make_client()
    assert_problem(client.post("/v1/recognitions", headers=hdr(keys["officer"])), 422, "validation_error")
    for path in ("/v1/recognitions/nope", "/v1/recognitions/nope/original", "/v1/recognitions/nope/overlay.png"):
        assert_problem(client.get(path, headers=hdr(keys["admin"])), 404, "not_found")
    assert_problem(client.post("/v1/recognitions/nope/corrections", json={"field": "serial", "value": "1"},
                               headers=hdr(keys["admin"])), 404, "not_found")
    rid = upload(client, keys["officer"], jpeg()).json()["id"]
    assert_problem(client.post(f"/v1/recognitions/{rid}/corrections", json={"field": "colour", "value": "1"},
                               headers=hdr(keys["admin"])), 422, "validation_error")
    assert_problem(client.post(f"/v1/recognitions/{rid}/corrections", json={"field": "serial", "value": ""},
                               headers=hdr(keys["admin"])), 422, "validation_error")
    assert_problem(client.delete(f"/v1/recognitions/{rid}", headers=hdr(keys["admin"])), 405, "method_not_allowed")


def test_idempotency_key_replays_instead_of_reading_twice(make_client: AppMaker) -> None:
    client, keys = make_client()
    photo = jpeg("S/N 1")
    first = client.post("/v1/recognitions", files={"image": ("a.jpg", photo, "image/jpeg")},
                        headers={**hdr(keys["officer"]), "Idempotency-Key": "upload-1"})
    again = client.post("/v1/recognitions", files={"image": ("a.jpg", photo, "image/jpeg")},
                        headers={**hdr(keys["officer"]), "Idempotency-Key": "upload-1"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true" and again.json()["id"] == first.json()["id"]
    other = client.post("/v1/recognitions", files={"image": ("b.jpg", jpeg("S/N 2"), "image/jpeg")},
                        headers={**hdr(keys["officer"]), "Idempotency-Key": "upload-1"})
    assert_problem(other, 409, "idempotency_conflict")
    # keys are per caller: another key's "upload-1" is a new reading
    mine = client.post("/v1/recognitions", files={"image": ("a.jpg", photo, "image/jpeg")},
                       headers={**hdr(keys["lab"]), "Idempotency-Key": "upload-1"})
    assert mine.status_code == 201 and mine.json()["id"] != first.json()["id"]
    services = client.app.state.services  # type: ignore[attr-defined]
    assert services.store.count_recognitions() == 2
    assert [e.action for e in services.audit.entries()].count("reading") == 2


def test_concurrent_retries_with_one_idempotency_key_store_one_reading(make_client: AppMaker) -> None:
    reader = FakeReader()
    reader.block = True
    client, keys = make_client(reader, inference_workers=2)
    photo = jpeg("S/N 3")
    out: list[Any] = []

    def send() -> None:
        out.append(client.post("/v1/recognitions", files={"image": ("a.jpg", photo, "image/jpeg")},
                               headers={**hdr(keys["officer"]), "Idempotency-Key": "same"}))

    threads = [threading.Thread(target=send) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        deadline = 50
        while reader.calls < 2 and deadline:  # both are reading before either stores
            time.sleep(0.05)
            deadline -= 1
    finally:
        reader.release.set()
        for t in threads:
            t.join(10)
    assert sorted(r.status_code for r in out) == [200, 201]
    assert len({r.json()["id"] for r in out}) == 1
    assert client.app.state.services.store.count_recognitions() == 1  # type: ignore[attr-defined]


def test_malformed_multipart_is_bad_request(make_client: AppMaker) -> None:
    client, keys = make_client()
    resp = client.post("/v1/recognitions", content=b"--zz\r\nContent-Disposition: form-data\r\n\r\nx",
                       headers={**hdr(keys["officer"]), "content-type": "multipart/form-data"})
    body = assert_problem(resp, 400, "bad_request")
    assert body["status"] == 400
