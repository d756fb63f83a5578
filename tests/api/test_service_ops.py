"""Health, readiness, metrics, backpressure, timeouts, internal errors, OpenAPI, traces."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.api.conftest import AppMaker
from tests.api.service_helpers import FakeReader, assert_problem, hdr, jpeg, upload
from tracing.records import FirearmRecord


def test_health_ready_and_metrics(make_client: AppMaker) -> None:
    client, keys = make_client()
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["models_loaded"] and ready.json()["database"]
    upload(client, keys["officer"], jpeg())
    upload(client, keys["officer"], b"nope")
    text = client.get("/metrics").text
    assert 'caliber_http_requests_total{method="POST",route="/v1/recognitions",status="201"} 1.0' in text
    assert 'caliber_http_requests_total{method="POST",route="/v1/recognitions",status="415"} 1.0' in text
    assert "caliber_inference_seconds_count 2.0" in text
    assert 'caliber_recognitions_total{outcome="read"} 1.0' in text
    assert "caliber_models_ready 1.0" in text and "caliber_inference_capacity" in text
    assert all(k.split("_", 2)[2] not in text for k in keys.values())


def test_models_that_fail_to_load(make_client: AppMaker) -> None:
    client, keys = make_client(FakeReader(fail_warm_up=True))
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "hash mismatch" in ready.json()["detail"]
    body = assert_problem(upload(client, keys["officer"], jpeg()), 503, "not_ready")
    assert "hash mismatch" in body["detail"]
    assert "caliber_models_ready 0.0" in client.get("/metrics").text


def test_backpressure_429_with_retry_after(make_client: AppMaker) -> None:
    reader = FakeReader()
    reader.block = True
    client, keys = make_client(reader, inference_workers=1, queue_size=0, retry_after_s=3)
    results: list[Any] = []
    first = threading.Thread(target=lambda: results.append(upload(client, keys["officer"], jpeg("A"))))
    first.start()
    try:
        assert reader.started.wait(5)
        busy = upload(client, keys["officer"], jpeg("B"))
        body = assert_problem(busy, 429, "busy")
        assert busy.headers["retry-after"] == "3" and "1 readings" in body["detail"]
    finally:
        reader.release.set()
        first.join(10)
    assert results[0].status_code == 201
    assert upload(client, keys["officer"], jpeg("C")).status_code == 201  # the slot came back
    assert 'caliber_rejected_total{reason="busy"} 1.0' in client.get("/metrics").text


def test_timeout_504_keeps_the_bound(make_client: AppMaker) -> None:
    reader = FakeReader(delay=0.6)
    client, keys = make_client(reader, inference_workers=1, queue_size=0, inference_timeout_s=0.1)
    assert_problem(upload(client, keys["officer"], jpeg()), 504, "timeout")
    # the thread is still reading: its slot is not given back early
    assert_problem(upload(client, keys["officer"], jpeg()), 429, "busy")


def test_unexpected_failure_is_500_not_an_empty_result(make_client: AppMaker) -> None:
    client, keys = make_client(FakeReader(fail=RuntimeError("onnxruntime exploded")))
    body = assert_problem(upload(client, keys["officer"], jpeg()), 500, "internal_error")
    assert "onnxruntime" not in body["detail"]


def test_openapi_documents_every_endpoint_with_examples(make_client: AppMaker) -> None:
    client, _ = make_client()
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ("/v1/recognitions", "/v1/recognitions/{rec_id}", "/v1/recognitions/{rec_id}/original",
                 "/v1/recognitions/{rec_id}/overlay.png", "/v1/recognitions/{rec_id}/corrections", "/v1/traces",
                 "/v1/batches", "/v1/batches/{batch_id}", "/healthz", "/readyz", "/metrics"):
        assert path in paths, path
    post = paths["/v1/recognitions"]["post"]
    assert {"201", "401", "403", "413", "415", "422", "429", "503", "504"} <= set(post["responses"])
    examples = post["responses"]["415"]["content"]["application/problem+json"]["examples"]
    assert {"not_an_image", "unsupported_format"} <= set(examples)
    schemas = spec["components"]["schemas"]
    assert schemas["RecognitionOut"]["examples"] and schemas["TraceIn"]["examples"]
    assert spec["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"


@pytest.fixture()
def traced(make_client: AppMaker) -> Any:
    client, keys = make_client()
    registry = client.app.state.services.registry  # type: ignore[attr-defined]
    registry.upsert([
        FirearmRecord(serial="4471B09", make="Zastava", model="M70", calibre="7.62x39", status="stolen",
                      source="test", reference="r1"),
        FirearmRecord(serial="4471809", make="Zastava", model="M57", status="registered", source="test",
                      reference="r2"),
        FirearmRecord(serial="ABZ123", make="Glock", status="lost", source="test", reference="r3"),
    ])
    return client, keys


def test_trace_by_serial_candidates_and_recognition(traced: Any) -> None:
    client, keys = traced
    r = client.post("/v1/traces", json={"serial": "4471B09", "make": "Zastava"}, headers=hdr(keys["integrator"]))
    assert r.status_code == 200, r.text
    hits = r.json()["hits"]
    assert hits[0]["record"]["serial"] == "4471B09" and hits[0]["record"]["status"] == "stolen"
    assert hits[0]["explanation"]
    r = client.post("/v1/traces", json={"candidates": [{"value": "ABZ123", "score": 0.9}]},
                    headers=hdr(keys["officer"]))
    assert [h["record"]["serial"] for h in r.json()["hits"]][:1] == ["ABZ123"]

    rid = upload(client, keys["officer"], jpeg()).json()["id"]
    r = client.post("/v1/traces", json={"recognition_id": rid, "include_request": True, "agency": "PU Beograd"},
                    headers=hdr(keys["officer"]))
    body = r.json()
    assert body["hits"][0]["record"]["serial"] == "4471B09"
    doc = body["trace_request"]
    assert doc["schema"].startswith("caliber.trace-request") and doc["agency"] == "PU Beograd"
    assert doc["firearm"]["serial"] == "4471B09" and doc["photo"]["sha256"]

    # after a correction the corrected serial is searched, and the request lists the change
    client.post(f"/v1/recognitions/{rid}/corrections", json={"field": "serial", "value": "4471809"},
                headers=hdr(keys["officer"]))
    r = client.post("/v1/traces", json={"recognition_id": rid, "include_request": True},
                    headers=hdr(keys["officer"]))
    body = r.json()
    assert body["query"] == ["4471809"] and body["hits"][0]["record"]["serial"] == "4471809"
    assert body["trace_request"]["corrections"][0]["corrected"] == "4471809"


def test_trace_errors(traced: Any) -> None:
    client, keys = traced
    h = hdr(keys["officer"])
    assert_problem(client.post("/v1/traces", json={}, headers=h), 422, "no_serial")
    assert_problem(client.post("/v1/traces", json={"serial": "[44"}, headers=h), 422, "validation_error")
    assert_problem(client.post("/v1/traces", json={"serial": "1", "limit": 0}, headers=h), 422, "validation_error")
    assert_problem(client.post("/v1/traces", json={"recognition_id": "nope"}, headers=h), 404, "not_found")
    assert_problem(client.post("/v1/traces", json={"serial": "1", "colour": "red"}, headers=h), 422,
                   "validation_error")
    assert_problem(client.post("/v1/traces", content=b"{not json", headers={**h, "content-type": "application/json"}),
                   422, "validation_error")


def test_dependency_overrides_swap_reader_and_registry(make_client: AppMaker) -> None:
    from api.deps import get_reader, get_registry
    from tracing.confusions import default_model
    from tracing.registry import SearchResult

    class NoRecords:
        model = default_model()

        def search(self, queries: Any, **kw: Any) -> SearchResult:
            return SearchResult(hits=(), max_cost=1.0, strategy="scan", candidates=0, keys=0, ms=0.1)

    client, keys = make_client(FakeReader(fail_warm_up=True))  # not ready, until the reader is swapped
    app = client.app
    app.dependency_overrides[get_reader] = lambda: FakeReader()  # type: ignore[attr-defined]
    app.dependency_overrides[get_registry] = lambda: NoRecords()  # type: ignore[attr-defined]
    try:
        assert upload(client, keys["officer"], jpeg()).status_code == 201
        r = client.post("/v1/traces", json={"candidates": [{"value": "X1"}]}, headers=hdr(keys["officer"]))
        assert r.status_code == 200 and r.json()["hits"] == [] and r.json()["strategy"] == "scan"
    finally:
        app.dependency_overrides.clear()  # type: ignore[attr-defined]


def test_every_problem_code_is_documented(make_client: AppMaker) -> None:
    from api.problems import STATUS, TITLES, ProblemCode
    from vision.intake import IntakeCode

    client, _ = make_client()
    description = client.get("/openapi.json").json()["info"]["description"]
    for code in ProblemCode:
        assert f"`{code}`" in description and code in STATUS and code in TITLES
    assert {str(c) for c in IntakeCode} <= {str(c) for c in ProblemCode}


def test_stalled_body_is_408(make_client: AppMaker) -> None:
    import asyncio
    import json

    client, keys = make_client(request_body_timeout_s=0.2)
    app = client.app
    sent: list[dict[str, Any]] = []
    chunks = [{"type": "http.request", "body": b"--zz\r\n", "more_body": True}]

    async def receive() -> dict[str, Any]:
        if chunks:
            return chunks.pop(0)
        await asyncio.sleep(5)  # the client stops sending
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/recognitions", "raw_path": b"/v1/recognitions",
             "query_string": b"", "root_path": "", "scheme": "http", "server": ("127.0.0.1", 80),
             "client": ("127.0.0.1", 5), "http_version": "1.1", "app": app,
             "headers": [(b"x-api-key", keys["officer"].encode()),
                         (b"content-type", b"multipart/form-data; boundary=zz")]}
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 3))  # type: ignore[arg-type]
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = json.loads(b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))
    assert start["status"] == 408 and body["code"] == "request_timeout"


def test_registry_that_cannot_open_leaves_readings_working(make_client: AppMaker,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import api.app

    def broken(engine: Any) -> Any:
        raise RuntimeError("migration 0003 failed")

    monkeypatch.setattr(api.app, "_open_registry", broken)
    client, keys = make_client()
    assert upload(client, keys["officer"], jpeg()).status_code == 201
    body = assert_problem(client.post("/v1/traces", json={"serial": "1"}, headers=hdr(keys["officer"])), 503,
                          "not_ready")
    assert "migration 0003" in body["detail"]
