"""The append-only audit log: every upload, reading, correction, trace and export, with who and when.

Each entry's ``hash`` is the SHA-256 of its own fields and the previous entry's hash, so editing,
removing or reordering an entry breaks the chain from that entry on; :func:`verify` finds the
first one. The database also refuses UPDATE and DELETE on the table (triggers in the migration).

Removing entries from the end leaves a shorter chain that still links, so each append also records
the head (seq and hash) in a small file outside the database (``<data dir>/audit-head.json``);
:func:`verify` given that file reports a log that ends before the recorded head, or whose entry
at the head differs from it.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from api.db import audit_log

GENESIS = "0" * 64


def canonical(detail: Mapping[str, Any]) -> str:
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(seq: int, at: str, actor: str, action: str, subject: str, detail: str, prev_hash: str) -> str:
    payload = json.dumps([seq, at, actor, action, subject, detail, prev_hash], separators=(",", ":"),
                         ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: str
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    entries: int
    first_bad: int | None = None
    reason: str = ""


def read_head(path: Path) -> tuple[int, str] | None:
    try:
        d = json.loads(path.read_text("utf-8"))
        return int(d["seq"]), str(d["hash"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def record_head(path: Path, seq: int, digest: str) -> None:
    """Keep the highest (seq, hash) seen, safely across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = read_head(path)
        if current is not None and current[0] >= seq:
            return
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps({"seq": seq, "hash": digest}), "utf-8")
        os.replace(tmp, path)


class AuditLog:
    def __init__(self, engine: Engine, head_file: Path | None = None) -> None:
        self.engine = engine
        self.head_file = head_file
        self._lock = threading.Lock()

    def append(self, actor: str, action: str, subject: str = "", detail: Mapping[str, Any] | None = None) -> AuditEntry:
        """Add one entry at the end of the chain. Safe across threads; across processes the
        primary key on ``seq`` makes a concurrent writer retry."""
        body = canonical(detail or {})
        with self._lock:
            for _attempt in range(50):
                at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
                try:
                    with self.engine.begin() as conn:
                        last = conn.execute(
                            sa.select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
                        ).first()
                        seq = 1 if last is None else int(last.seq) + 1
                        prev = GENESIS if last is None else str(last.hash)
                        h = entry_hash(seq, at, actor, action, subject, body, prev)
                        conn.execute(sa.insert(audit_log).values(seq=seq, at=at, actor=actor, action=action,
                                                                 subject=subject, detail=body, prev_hash=prev,
                                                                 hash=h))
                    if self.head_file is not None:
                        record_head(self.head_file, seq, h)
                    return AuditEntry(seq, at, actor, action, subject, json.loads(body), prev, h)
                except (IntegrityError, OperationalError):
                    # another process took this seq (or holds SQLite's write lock): read the new end, retry
                    time.sleep(0.005 * (_attempt + 1))
                    continue
        raise RuntimeError("could not append to the audit log (too much contention)")

    def entries(self, after: int = 0, limit: int = 1000) -> list[AuditEntry]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq).limit(limit)
            ).all()
        return [AuditEntry(r.seq, r.at, r.actor, r.action, r.subject, json.loads(r.detail), r.prev_hash, r.hash)
                for r in rows]


def verify(engine: Engine, head_file: Path | None = None, batch: int = 5000) -> VerifyResult:
    """Walk the chain from the first entry; report the first entry that does not fit, then compare
    the end of the chain with the recorded head, if there is one."""
    head = read_head(head_file) if head_file is not None else None
    prev = GENESIS
    expected_seq = 1
    n = 0
    last_seq = 0
    while True:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(audit_log).where(audit_log.c.seq > last_seq).order_by(audit_log.c.seq).limit(batch)
            ).all()
        if not rows:
            if head is not None and head[0] > last_seq:
                return VerifyResult(False, n, last_seq + 1,
                                    f"entries {last_seq + 1} to {head[0]} are missing (the recorded head is "
                                    f"entry {head[0]})")
            return VerifyResult(True, n)
        for r in rows:
            if head is not None and r.seq == head[0] and r.hash != head[1]:
                return VerifyResult(False, n, r.seq, "it differs from the recorded head (rewritten)")
            if r.seq != expected_seq:
                return VerifyResult(False, n, expected_seq, f"entry {expected_seq} is missing (next is {r.seq})")
            if r.prev_hash != prev:
                return VerifyResult(False, n, r.seq, "its previous-hash does not match the entry before it")
            h = entry_hash(r.seq, r.at, r.actor, r.action, r.subject, r.detail, r.prev_hash)
            if h != r.hash:
                return VerifyResult(False, n, r.seq, "its content does not match its hash (edited)")
            prev = r.hash
            expected_seq += 1
            last_seq = r.seq
            n += 1
