"""API keys and roles: 401 without a valid key, 403 for a role without the right, dev mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from api.cli import main
from api.db import api_keys
from api.keys import DEV_KEY, KeyStore
from api.settings import ServiceSettings
from tests.api.conftest import AppMaker
from tests.api.service_helpers import assert_problem, hdr, jpeg, upload


@pytest.mark.parametrize("key", [None, "", "nonsense", "cal_abc_wrong", "cal_" + "0" * 12 + "_x", DEV_KEY])
def test_missing_or_invalid_key_is_401(make_client: AppMaker, key: str | None) -> None:
    client, keys = make_client()
    headers = {} if key is None else {"X-API-Key": key}
    resp = client.post("/v1/recognitions", files={"image": ("a.jpg", jpeg(), "image/jpeg")}, headers=headers)
    assert_problem(resp, 401, "unauthorized")
    real = keys["admin"]
    assert_problem(client.get("/v1/recognitions/x", headers=hdr(real[:-1] + ("A" if real[-1] != "A" else "B"))),
                   401, "unauthorized")


def test_revoked_key_is_401(make_client: AppMaker) -> None:
    client, keys = make_client()
    store: KeyStore = client.app.state.services.keys  # type: ignore[attr-defined]
    assert upload(client, keys["officer"], jpeg()).status_code == 201
    assert store.revoke(keys["officer"].split("_")[1])
    assert_problem(upload(client, keys["officer"], jpeg()), 401, "unauthorized")


def _calls(rid: str) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        "read": ("POST", "/v1/recognitions", {"files": {"image": ("a.jpg", jpeg(), "image/jpeg")}}),
        "view": ("GET", f"/v1/recognitions/{rid}", {}),
        "overlay": ("GET", f"/v1/recognitions/{rid}/overlay.png", {}),
        "original": ("GET", f"/v1/recognitions/{rid}/original", {}),
        "correct": ("POST", f"/v1/recognitions/{rid}/corrections", {"json": {"field": "serial", "value": "1"}}),
        "trace": ("POST", "/v1/traces", {"json": {"serial": "4471B09"}}),
        "batch": ("POST", "/v1/batches", {"files": [("files", ("a.jpg", jpeg(), "image/jpeg"))]}),
    }


ALLOWED = {
    "officer": {"read", "view", "overlay", "original", "correct", "trace"},
    "lab": {"read", "view", "overlay", "original", "correct", "trace", "batch"},
    "integrator": {"read", "view", "overlay", "trace", "batch"},
    "admin": {"read", "view", "overlay", "original", "correct", "trace", "batch"},
}


def test_role_matrix(make_client: AppMaker) -> None:
    client, keys = make_client()
    for role, allowed in ALLOWED.items():
        rid = upload(client, keys[role], jpeg()).json()["id"]
        for name, (method, path, kw) in _calls(rid).items():
            resp = client.request(method, path, headers=hdr(keys[role]), **kw)
            if name in allowed:
                assert resp.status_code < 300, (role, name, resp.text)
            else:
                body = assert_problem(resp, 403, "forbidden")
                assert role in body["detail"]


def test_keys_are_stored_hashed(make_client: AppMaker) -> None:
    client, keys = make_client()
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(api_keys)).all()
    stored = " ".join(str(v) for r in rows for v in r)
    for key in keys.values():
        secret = key.split("_", 2)[2]
        assert secret not in stored and key not in stored
    entries = client.app.state.services.audit.entries()  # type: ignore[attr-defined]
    assert all(k.split("_", 2)[2] not in str(e) for e in entries for k in keys.values())


def test_dev_mode_key_only_in_dev_mode_and_only_on_loopback(make_client: AppMaker) -> None:
    client, _ = make_client(dev_mode=True)
    assert upload(client, DEV_KEY, jpeg()).status_code == 201
    with pytest.raises(ValidationError, match="loopback"):
        ServiceSettings(dev_mode=True, host="0.0.0.0")
    with pytest.raises(ValidationError):
        ServiceSettings(max_upload_bytes=10)
    with pytest.raises(ValidationError):
        ServiceSettings(inference_workers=0)


def test_cli_keys_create_list_revoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CALIBER_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CALIBER_DATABASE_URL", raising=False)
    assert main(["keys", "create", "--role", "lab", "--label", "bench 3"]) == 0
    out = capsys.readouterr()
    key = out.out.strip()
    assert key.startswith("cal_") and "shown only now" in out.err
    settings = ServiceSettings(data_dir=tmp_path)
    from api.db import open_engine

    principal = KeyStore(open_engine(settings.resolved_database_url)).authenticate(key)
    assert principal is not None and principal.role == "lab"
    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert principal.key_id in listing and "bench 3" in listing and key.split("_", 2)[2] not in listing
    assert main(["keys", "revoke", principal.key_id]) == 0
    assert main(["keys", "revoke", principal.key_id]) == 1
    with pytest.raises(SystemExit):
        main(["keys", "create", "--role", "superuser"])


def test_serve_refuses_unsafe_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--host", "0.0.0.0", "--dev-mode"]) == 2
    assert "loopback" in capsys.readouterr().err


def test_an_integrator_sees_only_its_own_readings(make_client: AppMaker) -> None:
    client, keys = make_client()
    store: KeyStore = client.app.state.services.keys  # type: ignore[attr-defined]
    other, _ = store.create("integrator", "another system")
    rid = upload(client, keys["integrator"], jpeg()).json()["id"]
    bid = client.post("/v1/batches", headers=hdr(keys["integrator"]),
                      files=[("files", ("a.jpg", jpeg(), "image/jpeg"))]).json()["id"]
    for path in (f"/v1/recognitions/{rid}", f"/v1/recognitions/{rid}/overlay.png", f"/v1/batches/{bid}"):
        assert client.get(path, headers=hdr(keys["integrator"])).status_code == 200, path
        assert client.get(path, headers=hdr(keys["officer"])).status_code == 200, path
        assert_problem(client.get(path, headers=hdr(other)), 404, "not_found")
    assert_problem(client.post("/v1/traces", json={"recognition_id": rid}, headers=hdr(other)), 404, "not_found")
    assert client.post("/v1/traces", json={"recognition_id": rid}, headers=hdr(keys["integrator"])).status_code == 200
