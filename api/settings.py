"""Settings of the HTTP service, read from ``CALIBER_*`` environment variables when built.

Built by the app factory (or ``caliber serve``), never at import time. The data directory and
database URL follow the same rules as the registry (``tracing.settings``): one database holds
both, each with its own migration history. Unsafe combinations are refused.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tracing.settings import DATABASE_FILE, DEFAULT_DATA_DIR, normalise_database_url

MIB = 1024 * 1024


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ServiceSettings(BaseSettings):
    """Every knob of the service. Environment: ``CALIBER_<NAME>`` (e.g. ``CALIBER_DATA_DIR``)."""

    model_config = SettingsConfigDict(env_prefix="CALIBER_", extra="ignore", frozen=True)

    data_dir: Path = Field(Path(DEFAULT_DATA_DIR), description="evidence store and default SQLite database")
    database_url: str = Field("", description="SQLAlchemy URL; empty: SQLite in data_dir (shared with tracing)")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)

    dev_mode: bool = Field(
        False,
        description="development mode: accepts the published development key as an admin (loopback only)",
    )

    # Two photos at a time on one thread each read 1.6x faster than one photo on every core (2 cores).
    inference_workers: int = Field(2, ge=1, le=64, description="photos read at the same time")
    inference_threads: int = Field(1, ge=0, le=256, description="onnxruntime threads per model (0 = all cores)")
    queue_size: int = Field(8, ge=0, le=10_000, description="requests allowed to wait for a worker before 429")
    retry_after_s: int = Field(2, ge=1, le=3600)
    inference_timeout_s: float = Field(60.0, gt=0, le=3600, description="a reading taking longer answers 504")

    max_upload_bytes: int = Field(32 * MIB, ge=1024, le=1024 * MIB, description="one photo")
    max_pixels: int = Field(60_000_000, ge=10_000, le=400_000_000, description="decoded pixels of one photo")
    max_batch_bytes: int = Field(256 * MIB, ge=1024, le=8192 * MIB, description="one batch request")
    max_batch_files: int = Field(200, ge=1, le=100_000, description="photos in one batch")
    max_zip_ratio: float = Field(200.0, ge=2, description="compression ratio above which a zip member is a bomb")

    request_body_timeout_s: float = Field(30.0, gt=0, le=3600, description="a body that stalls this long: 408")
    max_open_batches: int = Field(20, ge=1, le=10_000, description="unfinished batches before 429")
    overlay_max_side: int = Field(2048, ge=256, le=16384)
    keep_alive_timeout_s: int = Field(5, ge=1, le=600)

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> ServiceSettings:
        if self.dev_mode and not is_loopback(self.host):
            raise ValueError(
                f"development mode accepts a published key and is refused on {self.host}; "
                "it is allowed on a loopback address only (127.0.0.1, ::1, localhost)"
            )
        if self.max_upload_bytes > self.max_batch_bytes:
            raise ValueError("max_upload_bytes cannot exceed max_batch_bytes")
        return self

    @property
    def resolved_database_url(self) -> str:
        url = self.database_url or f"sqlite:///{(self.data_dir / DATABASE_FILE).as_posix()}"
        return normalise_database_url(url)

    @property
    def evidence_dir(self) -> Path:
        return self.data_dir / "evidence"

    @property
    def audit_head_file(self) -> Path:
        return self.data_dir / "audit-head.json"

    def max_request_bytes(self, path: str) -> int:
        """Largest body accepted on ``path`` (multipart framing included)."""
        if path.startswith("/v1/batches"):
            return self.max_batch_bytes + MIB
        return self.max_upload_bytes + MIB


def load_settings(**overrides: Any) -> ServiceSettings:
    """Settings from the environment, with explicit overrides (command-line options) on top."""
    given = {k: v for k, v in overrides.items() if v is not None}
    return ServiceSettings(**given)
