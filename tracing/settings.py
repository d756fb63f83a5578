"""Where the registry lives. Read from the environment when asked, never at import time."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = "./data"
DATABASE_FILE = "registry.sqlite3"


@dataclass(frozen=True, slots=True)
class TracingSettings:
    data_dir: Path
    database_url: str

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def normalise_database_url(url: str) -> str:
    """Pick the psycopg 3 driver for bare PostgreSQL URLs (psycopg2 is not a dependency)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_settings(environ: Mapping[str, str] | None = None) -> TracingSettings:
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("CALIBER_DATA_DIR") or DEFAULT_DATA_DIR)
    url = env.get("CALIBER_DATABASE_URL") or ""
    if not url:
        url = f"sqlite:///{(data_dir / DATABASE_FILE).as_posix()}"
    return TracingSettings(data_dir=data_dir, database_url=normalise_database_url(url))
