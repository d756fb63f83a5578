"""Fixtures of the service tests: a client factory with settings in a temporary folder and keys per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.keys import KeyStore, Role
from api.settings import ServiceSettings
from tests.api.service_helpers import FakeReader

AppMaker = Callable[..., tuple[TestClient, dict[str, str]]]


@pytest.fixture()
def make_client(tmp_path: Path) -> Iterator[AppMaker]:
    """``make_client(reader=..., **settings)`` -> (client inside its lifespan, {role: key})."""
    opened: list[TestClient] = []

    def make(reader: Any = None, **overrides: Any) -> tuple[TestClient, dict[str, str]]:
        s = ServiceSettings(**{"data_dir": tmp_path / f"data{len(opened)}", "database_url": "", **overrides})
        app: FastAPI = create_app(s, reader if reader is not None else FakeReader())
        client = TestClient(app)
        client.__enter__()
        opened.append(client)
        store: KeyStore = app.state.services.keys
        keys = {str(role): store.create(role, f"test {role}")[0] for role in Role}
        return client, keys

    yield make
    for c in opened:
        c.__exit__(None, None, None)
