"""The hash-chained audit log: every action recorded; an edited, removed entry is found."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from api.audit import AuditLog, verify
from api.cli import main
from api.db import audit_log, migrate, open_engine
from tests.api.conftest import AppMaker
from tests.api.service_helpers import hdr, jpeg, upload


def test_actions_are_audited_with_caller(make_client: AppMaker) -> None:
    client, keys = make_client()
    officer = keys["officer"].split("_")[1]
    rid = upload(client, keys["officer"], jpeg()).json()["id"]
    client.post(f"/v1/recognitions/{rid}/corrections", json={"field": "serial", "value": "4471809"},
                headers=hdr(keys["officer"]))
    client.get(f"/v1/recognitions/{rid}/original", headers=hdr(keys["officer"]))
    client.get(f"/v1/recognitions/{rid}/overlay.png", headers=hdr(keys["officer"]))
    client.post("/v1/traces", json={"recognition_id": rid}, headers=hdr(keys["officer"]))
    services = client.app.state.services  # type: ignore[attr-defined]
    entries = services.audit.entries()
    assert [e.action for e in entries] == ["upload", "reading", "correction", "export.original", "export.overlay",
                                           "trace"]
    assert all(e.actor == officer and e.at for e in entries)
    assert entries[1].subject == rid and entries[1].detail["marks"][0]["value"] == "4471B09"
    assert entries[2].detail["machine"] == "4471B09" and entries[2].detail["value"] == "4471809"
    assert entries[5].detail["query"] == ["4471809"]  # the correction is what was searched
    assert verify(services.engine).ok


def _chain(tmp_path: Path, n: int = 5) -> sa.Engine:
    engine = open_engine(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    migrate(engine)
    log = AuditLog(engine, tmp_path / "audit-head.json")
    for i in range(n):
        log.append("k1", "reading", f"r{i}", {"i": i, "marks": [{"value": f"S{i}"}]})
    return engine


def _unguard(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
        conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")


def test_database_refuses_update_and_delete(tmp_path: Path) -> None:
    engine = _chain(tmp_path)
    for stmt in (sa.update(audit_log).values(actor="x"), sa.delete(audit_log)):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(stmt)
    assert verify(engine).ok and verify(engine).entries == 5


@pytest.mark.parametrize(("tamper", "bad", "reason"), [
    (sa.update(audit_log).where(audit_log.c.seq == 3).values(detail='{"i":3,"marks":[{"value":"X"}]}'), 3, "edited"),
    (sa.update(audit_log).where(audit_log.c.seq == 2).values(actor="k2"), 2, "edited"),
    (sa.delete(audit_log).where(audit_log.c.seq == 4), 4, "missing"),
    (sa.delete(audit_log).where(audit_log.c.seq >= 4), 4, "missing"),  # the tail: caught by the recorded head
])
def test_tampering_is_detected(tmp_path: Path, tamper: sa.Executable, bad: int, reason: str) -> None:
    engine = _chain(tmp_path)
    _unguard(engine)
    with engine.begin() as conn:
        conn.execute(tamper)
    result = verify(engine, tmp_path / "audit-head.json")
    assert not result.ok and result.first_bad == bad and reason in result.reason


def test_truncated_tail_needs_the_recorded_head(tmp_path: Path) -> None:
    engine = _chain(tmp_path)
    _unguard(engine)
    with engine.begin() as conn:
        conn.execute(sa.delete(audit_log).where(audit_log.c.seq == 5))
    assert verify(engine).ok  # the shorter chain still links
    result = verify(engine, tmp_path / "audit-head.json")
    assert not result.ok and result.first_bad == 5 and "recorded head is entry 5" in result.reason


def test_rehashing_one_entry_breaks_the_next(tmp_path: Path) -> None:
    from api.audit import entry_hash

    engine = _chain(tmp_path)
    _unguard(engine)
    with engine.begin() as conn:
        r = conn.execute(sa.select(audit_log).where(audit_log.c.seq == 2)).one()
        h = entry_hash(r.seq, r.at, r.actor, r.action, "forged", r.detail, r.prev_hash)
        conn.execute(sa.update(audit_log).where(audit_log.c.seq == 2).values(subject="forged", hash=h))
    result = verify(engine)
    assert not result.ok and result.first_bad == 3


def test_rewriting_the_whole_chain_is_caught_by_the_head(tmp_path: Path) -> None:
    from api.audit import GENESIS, entry_hash

    engine = _chain(tmp_path)
    _unguard(engine)
    prev = GENESIS
    with engine.begin() as conn:
        for r in conn.execute(sa.select(audit_log).order_by(audit_log.c.seq)).all():
            h = entry_hash(r.seq, r.at, "forger", r.action, r.subject, r.detail, prev)
            conn.execute(sa.update(audit_log).where(audit_log.c.seq == r.seq).values(actor="forger", prev_hash=prev,
                                                                                      hash=h))
            prev = h
    assert verify(engine).ok
    result = verify(engine, tmp_path / "audit-head.json")
    assert not result.ok and result.first_bad == 5 and "recorded head" in result.reason


def test_cli_audit_verify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CALIBER_DATABASE_URL", f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    monkeypatch.setenv("CALIBER_DATA_DIR", str(tmp_path))
    engine = _chain(tmp_path)
    assert main(["audit", "verify"]) == 0
    assert "intact: 5 entries" in capsys.readouterr().out
    _unguard(engine)
    with engine.begin() as conn:
        conn.execute(sa.update(audit_log).where(audit_log.c.seq == 3).values(action="correction"))
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert "entry 3" in out and "edited" in out
    with engine.begin() as conn:
        conn.execute(sa.delete(audit_log).where(audit_log.c.seq >= 3))
    assert main(["audit", "verify"]) == 1  # the head recorded in the data directory is missing
    assert "entry 3" in capsys.readouterr().out


def test_concurrent_writers_on_sqlite_keep_one_chain(tmp_path: Path) -> None:
    import threading

    url = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    migrate(open_engine(url))
    logs = [AuditLog(open_engine(url)) for _ in range(3)]  # separate engines and locks, like processes

    def write(log: AuditLog) -> None:
        for i in range(15):
            log.append("k", "reading", f"r{i}", {"i": i})

    threads = [threading.Thread(target=write, args=(log,)) for log in logs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = verify(open_engine(url))
    assert result.ok and result.entries == 45
