"""API keys with roles. A key is shown once when created; only the SHA-256 of its secret is kept.

A key reads ``cal_<id>_<secret>``: ``id`` (public, 12 hex) names the key in the audit log and
finds its row; ``secret`` (43 url-safe characters, 256 bits) is hashed. Because the secret is
random and long, one SHA-256 is enough (no password stretching is needed) and the comparison is
constant-time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from api.db import api_keys


class Role(StrEnum):
    OFFICER = "officer"  # reads photos in the field, corrects, traces
    LAB = "lab"  # analyst: everything an officer does, plus batches
    INTEGRATOR = "integrator"  # another system: reads, traces, batches; its own readings only; no originals
    ADMIN = "admin"


class Permission(StrEnum):
    READ_PHOTO = "recognitions:create"
    VIEW = "recognitions:read"
    ORIGINAL = "originals:read"
    CORRECT = "corrections:create"
    TRACE = "traces:create"
    BATCH = "batches:create"


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.OFFICER: frozenset({Permission.READ_PHOTO, Permission.VIEW, Permission.ORIGINAL, Permission.CORRECT,
                             Permission.TRACE}),
    Role.LAB: frozenset(Permission),
    Role.INTEGRATOR: frozenset({Permission.READ_PHOTO, Permission.VIEW, Permission.TRACE, Permission.BATCH}),
    Role.ADMIN: frozenset(Permission),
}

PREFIX = "cal_"
# Accepted only when the service runs in development mode (refused off loopback by the settings).
DEV_KEY = "cal_dev_development-mode-only"
DEV_KEY_ID = "dev"


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    role: Role

    def may(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]

    def sees(self, created_by: str) -> bool:
        """Officers, the lab and admins see every reading; an integrator sees only its own key's."""
        return self.role != Role.INTEGRATOR or created_by == self.key_id


@dataclass(frozen=True, slots=True)
class KeyInfo:
    id: str
    role: Role
    label: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def split_key(key: str) -> tuple[str, str] | None:
    if not key.startswith(PREFIX):
        return None
    key_id, sep, secret = key[len(PREFIX):].partition("_")
    if not sep or not key_id or not secret or len(key_id) > 16:
        return None
    return key_id, secret


class KeyStore:
    def __init__(self, engine: Engine, *, dev_mode: bool = False) -> None:
        self.engine = engine
        self.dev_mode = dev_mode

    def create(self, role: Role | str, label: str = "") -> tuple[str, KeyInfo]:
        """A new key: returns (the key, shown once; its stored description)."""
        role = Role(role)
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        now = dt.datetime.now(dt.UTC)
        with self.engine.begin() as conn:
            conn.execute(sa.insert(api_keys).values(id=key_id, secret_sha256=_hash(secret), role=str(role),
                                                    label=label, created_at=now))
        return f"{PREFIX}{key_id}_{secret}", KeyInfo(key_id, role, label, now, None)

    def authenticate(self, key: str | None) -> Principal | None:
        if not key:
            return None
        if self.dev_mode and hmac.compare_digest(key.encode(), DEV_KEY.encode()):
            return Principal(DEV_KEY_ID, Role.ADMIN)
        parts = split_key(key)
        if parts is None:
            return None
        key_id, secret = parts
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(api_keys.c.secret_sha256, api_keys.c.role, api_keys.c.revoked_at)
                .where(api_keys.c.id == key_id)
            ).first()
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.secret_sha256, _hash(secret)):
            return None
        return Principal(key_id, Role(row.role))

    def revoke(self, key_id: str) -> bool:
        with self.engine.begin() as conn:
            res = conn.execute(sa.update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                               .values(revoked_at=dt.datetime.now(dt.UTC)))
        return bool(res.rowcount)

    def list(self) -> list[KeyInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(api_keys).order_by(api_keys.c.created_at)).all()
        return [KeyInfo(r.id, Role(r.role), r.label, r.created_at, r.revoked_at) for r in rows]

    def active_count(self) -> int:
        with self.engine.connect() as conn:
            n = conn.execute(sa.select(sa.func.count()).select_from(api_keys).where(api_keys.c.revoked_at.is_(None)))
            return int(n.scalar_one())
