"""Issue 14, finding 7: the audit chain can be rewritten by anyone who can write its table,
and a broken chain did not change ``/health``. On the real ``drcontrol run`` process:
the head is signed outside the database every interval; a re-sealed chain fools the
plain check but not ``drctl audit verify --against ANCHORS``, and control itself notices:
``/health`` degraded with the reason. A chain nobody anchors is degraded too."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path

import httpx
from drcontrol.audit import record_hash
from drcontrol.model import AuditEntry

from tests.integration.control.peers.standins import StandIns
from tests.integration.control.process import ControlProcess, cli, environment, write_config


def reseal_from(database: Path, start: int) -> int:
    """Rewrite records from ``start`` and re-seal them and the head, as an attacker with
    database access and the project's own ``record_hash`` would. Returns the last seq."""
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT seq, at, actor, action, target, outcome, detail FROM audit "
                          "WHERE seq >= ? ORDER BY seq", (start,)).fetchall()
        (prev,) = db.execute("SELECT hash FROM audit WHERE seq = ?", (start - 1,)).fetchone()
        for seq, at, actor, action, target, outcome, detail in rows:
            actor = "mallory" if seq == start else actor
            entry = AuditEntry(at=at, actor=actor, action=action, target=target,
                               outcome=outcome, detail=json.loads(detail))
            new = record_hash(seq, entry, prev)
            db.execute("UPDATE audit SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                       (actor, prev, new, seq))
            prev = new
        last = rows[-1][0]
        db.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (last, prev))
    return int(last)


async def _health(url: str, predicate: object, timeout: float = 15.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        while True:
            body: dict[str, object] = (await client.get("/health")).json()
            if predicate(body):  # type: ignore[operator]
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"health stayed {body}")
            await asyncio.sleep(0.2)


async def test_anchored_chain_detects_a_resealed_rewrite(tmp_path: Path, standins: StandIns,
                                                         kafka_bootstrap: str) -> None:
    key_file = tmp_path / "audit-signing.pem"
    anchors = tmp_path / "anchors" / "audit-anchors.jsonl"
    anchors.parent.mkdir()
    config = write_config(tmp_path, standins, kafka_bootstrap, extra=f"""
[audit]
signing_key_file = "{key_file}"
anchor_file = "{anchors}"
anchor_interval_seconds = 0.5
""")
    env = environment(standins, config)
    keygen = await asyncio.to_thread(cli, env, "audit", "keygen", "--out", str(key_file),
                                     program="drcontrol")
    assert keygen.returncode == 0, keygen.stderr
    public = tmp_path / "audit-public.pem"
    public.write_text(keygen.stdout)
    added = await asyncio.to_thread(cli, env, "user", "add", "vic", "--role", "viewer",
                                    program="drcontrol")
    token = added.stdout.strip()
    process = ControlProcess(config, env, tmp_path / "control.log")
    await asyncio.to_thread(process.start)
    try:
        healthy = await _health(process.url, lambda b: b["audit"]["anchored_seq"])
        assert healthy["status"] == "ok", healthy
        async with httpx.AsyncClient(base_url=process.url, timeout=5,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            for _ in range(3):  # a few more records, each anchored within the interval
                await client.get("/api/v1/audit/export")
        anchored = await _health(process.url,
                                 lambda b: (b["audit"]["anchored_seq"] or 0) >= 6)
        saved = tmp_path / "anchors-copy.jsonl"
        fetched = await asyncio.to_thread(cli, env, "audit", "anchors", "--out", str(saved),
                                          token=token, url=process.url)
        assert fetched.returncode == 0, fetched.stderr
        good = await asyncio.to_thread(cli, env, "audit", "verify", "--against", str(saved),
                                       "--public-key", str(public), token=token,
                                       url=process.url)
        assert good.returncode == 0, good.stdout + good.stderr

        last = reseal_from(tmp_path / "control.sqlite3", 3)
        assert last >= int(anchored["audit"]["anchored_seq"])  # type: ignore[index]
        plain = await asyncio.to_thread(cli, env, "audit", "verify", token=token,
                                        url=process.url)
        assert plain.returncode == 0 and "chain intact" in plain.stdout  # fooled
        caught = await asyncio.to_thread(cli, env, "audit", "verify", "--against", str(saved),
                                         "--public-key", str(public), token=token,
                                         url=process.url)
        assert caught.returncode == 1, caught.stdout
        assert "differs from the anchor signed" in caught.stdout
        degraded = await _health(process.url, lambda b: b["status"] == "degraded")
        audit = degraded["audit"]
        assert audit["ok"] is False and "differs from the anchor" in audit["reason"]  # type: ignore[index,operator]
        log = (tmp_path / "control.log").read_text()
        assert "ALERT: audit chain broken" in log
    finally:
        await asyncio.to_thread(process.stop)


async def test_an_unanchored_chain_is_degraded(tmp_path: Path, standins: StandIns,
                                               kafka_bootstrap: str) -> None:
    config = write_config(tmp_path, standins, kafka_bootstrap)
    process = ControlProcess(config, environment(standins, config), tmp_path / "control.log")
    await asyncio.to_thread(process.start)
    try:
        body = await _health(process.url, lambda b: b["audit"]["checked_at"] is not None)
        assert body["status"] == "degraded"
        assert "not anchored outside the database (audit.signing_key not configured)" in \
            body["audit"]["reason"]  # type: ignore[index]
    finally:
        await asyncio.to_thread(process.stop)
