"""The storage contract, run against both backends: SQLite and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import psycopg
import pytest
import pytest_asyncio
from drcontrol.audit import verify_chain
from drcontrol.errors import Stale
from drcontrol.model import (
    AuditEntry,
    Operation,
    OpState,
    OpType,
    Role,
    StepRecord,
    StepState,
    TokenRecord,
    User,
)
from drcontrol.settings import StorageSettings
from drcontrol.storage import Storage, open_storage
from drcontrol.storage.base import AuditQuery, IdempotentAnswer
from pydantic import SecretStr

Factory = Callable[[], Storage]


@pytest_asyncio.fixture(loop_scope="function", params=["sqlite", "postgresql"])
async def make_storage(request: pytest.FixtureRequest, tmp_path: Path
                       ) -> AsyncIterator[Factory]:
    """A factory of storages sharing one database (two instances = two processes)."""
    if request.param == "sqlite":
        settings = StorageSettings(backend="sqlite", sqlite_path=tmp_path / "c.sqlite3")
    else:
        dsn = request.getfixturevalue("postgres_dsn")
        schema = f"t_{uuid.uuid4().hex[:10]}"
        settings = StorageSettings(backend="postgresql", postgres_dsn=SecretStr(dsn),
                                   postgres_schema=schema)
    opened: list[Storage] = []

    def factory() -> Storage:
        storage = open_storage(settings)
        opened.append(storage)
        return storage

    yield factory
    for storage in opened:
        await storage.close()
    if settings.backend == "postgresql":
        with psycopg.connect(settings.dsn() or "", autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {settings.postgres_schema} CASCADE")


@pytest_asyncio.fixture(loop_scope="function")
async def storage(make_storage: Factory) -> Storage:
    store = make_storage()
    await store.open()
    return store


def op(op_id: str, at: float, state: OpState = OpState.AWAITING_APPROVAL,
       type_: OpType = OpType.FAILOVER) -> Operation:
    return Operation(id=op_id, type=type_, state=state, runbook="failover", requested_by="olga",
                     requested_at=at, expires_at=at + 100, reason="理由")


async def test_users_and_tokens(storage: Storage) -> None:
    await storage.add_user(User(name="ann", role=Role.APPROVER, created_at=1.0))
    with pytest.raises(Stale):
        await storage.add_user(User(name="ann", role=Role.ADMIN, created_at=2.0))
    assert (await storage.get_user("ann")) == User(name="ann", role=Role.APPROVER, created_at=1.0)
    await storage.add_token(TokenRecord(id="t1", user="ann", hash="h1", created_at=1.0))
    await storage.add_token(TokenRecord(id="t2", user="ann", hash="h2", created_at=2.0))
    assert await storage.revoke_tokens("ann", 5.0, "t1") == 1
    assert await storage.revoke_tokens("ann", 6.0) == 1
    assert await storage.revoke_tokens("ann", 7.0) == 0
    assert [t.revoked_at for t in await storage.list_tokens("ann")] == [5.0, 6.0]
    assert await storage.set_user_disabled("ann", True)
    assert (await storage.get_user("ann")).disabled  # type: ignore[union-attr]
    assert await storage.get_user("nobody") is None


async def test_operations_compare_and_set(storage: Storage) -> None:
    await storage.insert_operation(op("op-a", 1.0))
    await storage.insert_operation(op("op-b", 2.0, OpState.RUNNING))
    first = await storage.get_operation("op-a")
    assert first is not None and first.version == 0 and first.reason == "理由"
    saved = await storage.save_operation(first.model_copy(update={"state": OpState.APPROVED}))
    assert saved.version == 1
    with pytest.raises(Stale):
        await storage.save_operation(first.model_copy(update={"state": OpState.CANCELLED}))
    assert [o.id for o in await storage.list_operations()] == ["op-b", "op-a"]
    assert [o.id for o in await storage.list_operations(
        states=frozenset({OpState.APPROVED}))] == ["op-a"]
    assert await storage.list_operations(types=frozenset({OpType.DRILL})) == []


async def test_leases(storage: Storage) -> None:
    await storage.insert_operation(op("op-l", 1.0))
    assert await storage.claim_operation("op-l", "A", now=100.0, lease=10.0)
    assert not await storage.claim_operation("op-l", "B", now=105.0, lease=10.0)
    assert await storage.claim_operation("op-l", "A", now=105.0, lease=10.0)
    assert not await storage.claim_operation("op-l", "B", now=114.0, lease=10.0)
    assert await storage.claim_operation("op-l", "B", now=116.0, lease=10.0)
    await storage.put_steps([StepRecord(operation_id="op-l", index=i, id=f"s{i}", kind="k",
                                        title="t") for i in range(3)])
    assert await storage.claim_step("op-l", 1, "B", now=116.0, lease=10.0)
    assert not await storage.claim_step("op-l", 1, "C", now=120.0, lease=10.0)
    await storage.release_operation("op-l", "B")
    assert await storage.claim_step("op-l", 1, "C", now=120.0, lease=10.0)
    assert await storage.claim_operation("op-l", "C", now=120.0, lease=10.0)


async def test_steps_insert_once_and_keep_state(storage: Storage) -> None:
    steps = [StepRecord(operation_id="op-s", index=i, id=f"s{i}", kind="k", title="t")
             for i in range(2)]
    await storage.put_steps(steps)
    done = steps[0].model_copy(update={"state": StepState.SUCCEEDED, "output": {"scn": 5}})
    await storage.save_step(done)
    await storage.put_steps(steps)
    stored = await storage.get_steps("op-s")
    assert stored[0].state is StepState.SUCCEEDED and stored[0].output == {"scn": 5}
    assert stored[1].state is StepState.PENDING


async def test_audit_chain_has_no_gaps_under_concurrency(make_storage: Factory) -> None:
    one, two = make_storage(), make_storage()
    await one.open()
    await two.open()
    entries = [AuditEntry(at=float(i), actor=f"u{i % 2}", action="test.append",
                          target=f"t{i}", detail={"i": i, "f": i / 3}) for i in range(40)]
    await asyncio.gather(*[(one if i % 2 else two).append_audit(e)
                           for i, e in enumerate(entries)])
    records = await one.audit_records(AuditQuery(limit=1000))
    assert [r.seq for r in records] == list(range(1, 41))
    assert verify_chain(records, await two.audit_head()).ok
    assert len(await one.audit_records(AuditQuery(actor="u1"))) == 20
    found = await one.audit_records(AuditQuery(text="T17"))
    assert [r.target for r in found] == ["t17"]
    newest = await one.audit_records(AuditQuery(limit=2, newest_first=True))
    assert [r.seq for r in newest] == [40, 39]
    assert [r.seq for r in await one.audit_records(AuditQuery(after_seq=38))] == [39, 40]


async def test_idempotency_first_answer_wins_and_state_cas(storage: Storage) -> None:
    first = IdempotentAnswer(user="u", key="k", fingerprint="f1", status=202,
                             body={"id": "op-1"}, headers={"Location": "/x"}, created_at=1.0)
    assert await storage.put_idempotent(first) == first
    later = first.model_copy(update={"fingerprint": "f2", "body": {"id": "op-2"}})
    assert await storage.put_idempotent(later) == first
    assert await storage.get_idempotent("u", "k") == first
    assert await storage.get_idempotent("other", "k") is None
    created = await storage.put_state("doc", {"a": 1}, 0)
    assert created.version == 1
    with pytest.raises(Stale):
        await storage.put_state("doc", {"a": 2}, 0)
    assert (await storage.put_state("doc", {"a": 3}, 1)).version == 2
    with pytest.raises(Stale):
        await storage.put_state("doc", {"a": 4}, 1)
    stored = await storage.get_state("doc")
    assert stored is not None and stored.doc == {"a": 3}


async def test_cancelled_writers_leave_the_storage_usable(storage: Storage) -> None:
    """A caller cancelled anywhere in a transaction (a step timing out, a client gone)
    must not leave a transaction open for the next caller."""
    for attempt in range(30):
        entry = AuditEntry(at=float(attempt), actor="t", action="test.cancel", target=str(attempt))
        task = asyncio.create_task(storage.append_audit(entry))
        for _ in range(attempt % 6):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await storage.append_audit(AuditEntry(at=99.0, actor="t", action="test.after"))
    await storage.insert_operation(op("op-after", 1.0))
    records = await storage.audit_records(AuditQuery(limit=1000))
    assert records[-1].action == "test.after"
    assert verify_chain(records, await storage.audit_head()).ok
