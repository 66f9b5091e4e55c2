"""The SQL both backends share; each backend supplies connections and its dialect.

Statements use ``?`` placeholders; the PostgreSQL backend rewrites them to ``%s``.
Documents are stored as canonical JSON text (not jsonb) so they hash the same after a
round trip; the columns next to them exist only for filtering and leases.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from drcontrol.audit import GENESIS_HASH, ChainHead, seal
from drcontrol.canonical import canonical_json
from drcontrol.errors import Stale
from drcontrol.model import (
    AuditEntry,
    AuditRecord,
    Operation,
    OpState,
    OpType,
    StepRecord,
    TokenRecord,
    User,
)
from drcontrol.storage.base import AuditQuery, IdempotentAnswer, StateDoc

Row = tuple[Any, ...]


class Tx(Protocol):
    """One open transaction."""

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int: ...

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...


SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, created_at {real} NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0, display_name TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY, user_name TEXT NOT NULL, hash TEXT NOT NULL,
    created_at {real} NOT NULL, revoked_at {real}, label TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS operations (
    id TEXT PRIMARY KEY, type TEXT NOT NULL, state TEXT NOT NULL,
    requested_at {real} NOT NULL, version {int} NOT NULL, doc TEXT NOT NULL,
    lease_owner TEXT, lease_until {real});
CREATE INDEX IF NOT EXISTS operations_state ON operations (state);
CREATE TABLE IF NOT EXISTS steps (
    operation_id TEXT NOT NULL, idx INTEGER NOT NULL, doc TEXT NOT NULL,
    claimed_by TEXT, lease_until {real}, PRIMARY KEY (operation_id, idx));
CREATE TABLE IF NOT EXISTS audit (
    seq {int} PRIMARY KEY, at {real} NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY, seq {int} NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (
    user_name TEXT NOT NULL, key TEXT NOT NULL, doc TEXT NOT NULL, created_at {real} NOT NULL,
    PRIMARY KEY (user_name, key));
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, doc TEXT NOT NULL, version {int} NOT NULL);
"""

_OP_COLUMNS = "doc, version"
_STEP_COLUMNS = "doc, claimed_by, lease_until"
_AUDIT_COLUMNS = "seq, at, actor, action, target, outcome, detail, prev_hash, hash"


def schema_statements(real: str, integer: str) -> list[str]:
    """The DDL with the dialect's type names, one statement per item."""
    text = SCHEMA.format(real=real, int=integer)
    return [part.strip() for part in text.split(";") if part.strip()]


def _user(row: Row) -> User:
    return User(name=row[0], role=row[1], created_at=row[2], disabled=bool(row[3]),
                display_name=row[4])


def _token(row: Row) -> TokenRecord:
    return TokenRecord(id=row[0], user=row[1], hash=row[2], created_at=row[3],
                       revoked_at=row[4], label=row[5])


def _operation(row: Row) -> Operation:
    return Operation.model_validate({**json.loads(row[0]), "version": row[1]})


def _step(row: Row) -> StepRecord:
    return StepRecord.model_validate(
        {**json.loads(row[0]), "claimed_by": row[1], "lease_until": row[2]}
    )


def _audit(row: Row) -> AuditRecord:
    return AuditRecord(seq=row[0], at=row[1], actor=row[2], action=row[3], target=row[4],
                       outcome=row[5], detail=json.loads(row[6]), prev_hash=row[7], hash=row[8])


def _op_doc(op: Operation) -> str:
    return canonical_json(op.model_dump(mode="json", exclude={"version"}))


def _step_doc(step: StepRecord) -> str:
    return canonical_json(step.model_dump(mode="json", exclude={"claimed_by", "lease_until"}))


class SqlStorage:
    """The storage contract in portable SQL; subclasses provide ``transaction``."""

    for_update = ""

    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        raise NotImplementedError

    async def _create_schema(self, tx: Tx, real: str, integer: str) -> None:
        for statement in schema_statements(real, integer):
            await tx.execute(statement)
        await tx.execute(
            "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, ?) ON CONFLICT DO NOTHING",
            (GENESIS_HASH,),
        )

    # users and tokens
    async def add_user(self, user: User) -> None:
        async with self.transaction() as tx:
            inserted = await tx.execute(
                "INSERT INTO users (name, role, created_at, disabled, display_name) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (user.name, user.role.value, user.created_at, int(user.disabled),
                 user.display_name),
            )
        if not inserted:
            raise Stale(f"user {user.name} exists already", user=user.name)

    async def get_user(self, name: str) -> User | None:
        async with self.transaction() as tx:
            row = await tx.fetchone(
                "SELECT name, role, created_at, disabled, display_name FROM users WHERE name = ?",
                (name,),
            )
        return _user(row) if row else None

    async def list_users(self) -> list[User]:
        async with self.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT name, role, created_at, disabled, display_name FROM users ORDER BY name"
            )
        return [_user(row) for row in rows]

    async def set_user_disabled(self, name: str, disabled: bool) -> bool:
        async with self.transaction() as tx:
            changed = await tx.execute(
                "UPDATE users SET disabled = ? WHERE name = ?", (int(disabled), name)
            )
        return changed > 0

    async def add_token(self, token: TokenRecord) -> None:
        async with self.transaction() as tx:
            await tx.execute(
                "INSERT INTO tokens (id, user_name, hash, created_at, revoked_at, label) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (token.id, token.user, token.hash, token.created_at, token.revoked_at,
                 token.label),
            )

    async def get_token(self, token_id: str) -> TokenRecord | None:
        async with self.transaction() as tx:
            row = await tx.fetchone(
                "SELECT id, user_name, hash, created_at, revoked_at, label FROM tokens "
                "WHERE id = ?",
                (token_id,),
            )
        return _token(row) if row else None

    async def list_tokens(self, user: str | None = None) -> list[TokenRecord]:
        sql = "SELECT id, user_name, hash, created_at, revoked_at, label FROM tokens"
        params: tuple[Any, ...] = ()
        if user is not None:
            sql += " WHERE user_name = ?"
            params = (user,)
        async with self.transaction() as tx:
            rows = await tx.fetchall(sql + " ORDER BY created_at", params)
        return [_token(row) for row in rows]

    async def revoke_tokens(self, user: str, at: float, token_id: str | None = None) -> int:
        sql = "UPDATE tokens SET revoked_at = ? WHERE user_name = ? AND revoked_at IS NULL"
        params: tuple[Any, ...] = (at, user)
        if token_id is not None:
            sql += " AND id = ?"
            params = (*params, token_id)
        async with self.transaction() as tx:
            return await tx.execute(sql, params)

    # operations
    async def insert_operation(self, op: Operation) -> None:
        async with self.transaction() as tx:
            await tx.execute(
                "INSERT INTO operations (id, type, state, requested_at, version, doc) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (op.id, op.type.value, op.state.value, op.requested_at, op.version, _op_doc(op)),
            )

    async def get_operation(self, op_id: str) -> Operation | None:
        async with self.transaction() as tx:
            row = await tx.fetchone(
                f"SELECT {_OP_COLUMNS} FROM operations WHERE id = ?", (op_id,)
            )
        return _operation(row) if row else None

    async def list_operations(
        self,
        *,
        states: frozenset[OpState] | None = None,
        types: frozenset[OpType] | None = None,
        limit: int = 100,
    ) -> list[Operation]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, values in (("state", states), ("type", types)):
            if values is not None:
                if not values:
                    return []
                clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
                params.extend(sorted(v.value for v in values))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        async with self.transaction() as tx:
            rows = await tx.fetchall(
                f"SELECT {_OP_COLUMNS} FROM operations{where} "
                "ORDER BY requested_at DESC, id DESC LIMIT ?",
                (*params, limit),
            )
        return [_operation(row) for row in rows]

    async def save_operation(self, op: Operation) -> Operation:
        stored = op.model_copy(update={"version": op.version + 1})
        async with self.transaction() as tx:
            changed = await tx.execute(
                "UPDATE operations SET state = ?, version = ?, doc = ? "
                "WHERE id = ? AND version = ?",
                (op.state.value, stored.version, _op_doc(stored), op.id, op.version),
            )
        if not changed:
            raise Stale(f"operation {op.id} changed meanwhile; re-read it", operation=op.id)
        return stored

    async def claim_operation(self, op_id: str, owner: str, now: float, lease: float) -> bool:
        async with self.transaction() as tx:
            changed = await tx.execute(
                "UPDATE operations SET lease_owner = ?, lease_until = ? WHERE id = ? AND "
                "(lease_owner IS NULL OR lease_owner = ? OR lease_until < ?)",
                (owner, now + lease, op_id, owner, now),
            )
        return changed > 0

    async def release_operation(self, op_id: str, owner: str) -> None:
        async with self.transaction() as tx:
            await tx.execute(
                "UPDATE operations SET lease_owner = NULL, lease_until = NULL "
                "WHERE id = ? AND lease_owner = ?",
                (op_id, owner),
            )
            await tx.execute(
                "UPDATE steps SET claimed_by = NULL, lease_until = NULL "
                "WHERE operation_id = ? AND claimed_by = ?",
                (op_id, owner),
            )

    # steps
    async def put_steps(self, steps: list[StepRecord]) -> None:
        async with self.transaction() as tx:
            for step in steps:
                await tx.execute(
                    "INSERT INTO steps (operation_id, idx, doc) VALUES (?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    (step.operation_id, step.index, _step_doc(step)),
                )

    async def get_steps(self, op_id: str) -> list[StepRecord]:
        async with self.transaction() as tx:
            rows = await tx.fetchall(
                f"SELECT {_STEP_COLUMNS} FROM steps WHERE operation_id = ? ORDER BY idx",
                (op_id,),
            )
        return [_step(row) for row in rows]

    async def save_step(self, step: StepRecord) -> None:
        async with self.transaction() as tx:
            await tx.execute(
                "UPDATE steps SET doc = ? WHERE operation_id = ? AND idx = ?",
                (_step_doc(step), step.operation_id, step.index),
            )

    async def claim_step(
        self, op_id: str, index: int, owner: str, now: float, lease: float
    ) -> bool:
        async with self.transaction() as tx:
            changed = await tx.execute(
                "UPDATE steps SET claimed_by = ?, lease_until = ? "
                "WHERE operation_id = ? AND idx = ? AND "
                "(claimed_by IS NULL OR claimed_by = ? OR lease_until < ?)",
                (owner, now + lease, op_id, index, owner, now),
            )
        return changed > 0

    # audit
    async def append_audit(self, entry: AuditEntry) -> AuditRecord:
        async with self.transaction() as tx:
            head = await tx.fetchone(
                f"SELECT seq, hash FROM audit_head WHERE id = 1{self.for_update}"
            )
            seq, prev_hash = (head[0], head[1]) if head else (0, GENESIS_HASH)
            record = seal(entry, seq=seq + 1, prev_hash=prev_hash)
            await tx.execute(
                f"INSERT INTO audit ({_AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.seq, record.at, record.actor, record.action, record.target,
                 record.outcome, canonical_json(record.detail), record.prev_hash, record.hash),
            )
            await tx.execute(
                "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (record.seq, record.hash)
            )
        return record

    async def audit_records(self, query: AuditQuery) -> list[AuditRecord]:
        clauses = ["seq > ?"]
        params: list[Any] = [query.after_seq]
        for column, value in (("actor", query.actor), ("action", query.action),
                              ("target", query.target)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if query.text:
            clauses.append(
                "LOWER(action || ' ' || target || ' ' || actor || ' ' || detail) LIKE ?"
            )
            params.append(f"%{query.text.lower()}%")
        order = "DESC" if query.newest_first else "ASC"
        async with self.transaction() as tx:
            rows = await tx.fetchall(
                f"SELECT {_AUDIT_COLUMNS} FROM audit WHERE {' AND '.join(clauses)} "
                f"ORDER BY seq {order} LIMIT ?",
                (*params, query.limit),
            )
        return [_audit(row) for row in rows]

    async def audit_head(self) -> ChainHead | None:
        async with self.transaction() as tx:
            row = await tx.fetchone("SELECT seq, hash FROM audit_head WHERE id = 1")
        return ChainHead(seq=row[0], hash=row[1]) if row else None

    # idempotency
    async def get_idempotent(self, user: str, key: str) -> IdempotentAnswer | None:
        async with self.transaction() as tx:
            row = await tx.fetchone(
                "SELECT doc FROM idempotency WHERE user_name = ? AND key = ?", (user, key)
            )
        return IdempotentAnswer.model_validate_json(row[0]) if row else None

    async def put_idempotent(self, answer: IdempotentAnswer) -> IdempotentAnswer:
        async with self.transaction() as tx:
            await tx.execute(
                "INSERT INTO idempotency (user_name, key, doc, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (answer.user, answer.key, answer.model_dump_json(), answer.created_at),
            )
            row = await tx.fetchone(
                "SELECT doc FROM idempotency WHERE user_name = ? AND key = ?",
                (answer.user, answer.key),
            )
        assert row is not None
        return IdempotentAnswer.model_validate_json(row[0])

    # state documents
    async def get_state(self, key: str) -> StateDoc | None:
        async with self.transaction() as tx:
            row = await tx.fetchone("SELECT doc, version FROM state WHERE key = ?", (key,))
        return StateDoc(key=key, doc=json.loads(row[0]), version=row[1]) if row else None

    async def put_state(self, key: str, doc: dict[str, Any], expected_version: int) -> StateDoc:
        text = canonical_json(doc)
        async with self.transaction() as tx:
            if expected_version == 0:
                changed = await tx.execute(
                    "INSERT INTO state (key, doc, version) VALUES (?, ?, 1) "
                    "ON CONFLICT DO NOTHING",
                    (key, text),
                )
            else:
                changed = await tx.execute(
                    "UPDATE state SET doc = ?, version = ? WHERE key = ? AND version = ?",
                    (text, expected_version + 1, key, expected_version),
                )
        if not changed:
            raise Stale(f"{key} changed meanwhile; re-read it", key=key)
        return StateDoc(key=key, doc=json.loads(text), version=expected_version + 1)
