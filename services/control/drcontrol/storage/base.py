"""The storage contract both backends meet (tests/integration/control/test_storage_contract.py).

Writes that two parties may race on are compare-and-set: operations and state documents
carry a ``version``; a stale writer gets :class:`~drcontrol.errors.Stale`. Claims are
leases: whoever holds an unexpired lease owns the work, a dead holder's lease runs out.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import Field

from drcontrol.audit import ChainHead
from drcontrol.model import (
    AuditEntry,
    AuditRecord,
    Frozen,
    Operation,
    OpState,
    OpType,
    StepRecord,
    TokenRecord,
    User,
)


class IdempotentAnswer(Frozen):
    """The answer first given to a (user, Idempotency-Key) pair."""

    user: str
    key: str
    fingerprint: str
    status: int
    body: Any
    headers: dict[str, str] = Field(default_factory=dict)
    created_at: float


class AuditQuery(Frozen):
    """Filters for reading the audit log."""

    after_seq: int = 0
    limit: int = 1000
    actor: str | None = None
    action: str | None = None
    target: str | None = None
    text: str | None = None
    newest_first: bool = False


class StateDoc(Frozen):
    """A versioned JSON document (site group, freeze, blocks, TOTP use)."""

    key: str
    doc: dict[str, Any]
    version: int


class Storage(Protocol):
    """Everything control persists."""

    async def open(self) -> None:
        """Connect and create missing tables."""
        ...

    async def close(self) -> None: ...

    # users and tokens
    async def add_user(self, user: User) -> None:
        """Insert; :class:`Stale` if the name exists."""
        ...

    async def get_user(self, name: str) -> User | None: ...

    async def list_users(self) -> list[User]: ...

    async def set_user_disabled(self, name: str, disabled: bool) -> bool: ...

    async def add_token(self, token: TokenRecord) -> None: ...

    async def get_token(self, token_id: str) -> TokenRecord | None: ...

    async def list_tokens(self, user: str | None = None) -> list[TokenRecord]: ...

    async def revoke_tokens(self, user: str, at: float, token_id: str | None = None) -> int:
        """Revoke one or all of a user's live tokens; the number revoked."""
        ...

    # operations
    async def insert_operation(self, op: Operation) -> None: ...

    async def get_operation(self, op_id: str) -> Operation | None: ...

    async def list_operations(
        self,
        *,
        states: frozenset[OpState] | None = None,
        types: frozenset[OpType] | None = None,
        limit: int = 100,
    ) -> list[Operation]:
        """Newest first."""
        ...

    async def save_operation(self, op: Operation) -> Operation:
        """Store ``op`` if the stored version equals ``op.version``; returns it with
        version + 1, else raises :class:`Stale`."""
        ...

    async def claim_operation(self, op_id: str, owner: str, now: float, lease: float) -> bool:
        """Take or renew the operation's lease; False when someone else holds it."""
        ...

    async def release_operation(self, op_id: str, owner: str) -> None:
        """Give up the operation's lease and its steps' leases held by ``owner``."""
        ...

    # runbook steps
    async def put_steps(self, steps: list[StepRecord]) -> None:
        """Insert the steps that are not stored yet (a second call changes nothing)."""
        ...

    async def get_steps(self, op_id: str) -> list[StepRecord]: ...

    async def save_step(self, step: StepRecord) -> None:
        """Store a step's state (not its lease)."""
        ...

    async def claim_step(
        self, op_id: str, index: int, owner: str, now: float, lease: float
    ) -> bool:
        """Take or renew one step's lease; False when another holder's lease is live."""
        ...

    # audit
    async def append_audit(self, entry: AuditEntry) -> AuditRecord:
        """Seal ``entry`` after the current head, atomically."""
        ...

    async def audit_records(self, query: AuditQuery) -> list[AuditRecord]: ...

    async def audit_head(self) -> ChainHead | None: ...

    # idempotency
    async def get_idempotent(self, user: str, key: str) -> IdempotentAnswer | None: ...

    async def put_idempotent(self, answer: IdempotentAnswer) -> IdempotentAnswer:
        """Store unless present; returns what is stored (the first answer wins)."""
        ...

    # small versioned documents
    async def get_state(self, key: str) -> StateDoc | None: ...

    async def put_state(self, key: str, doc: dict[str, Any], expected_version: int) -> StateDoc:
        """Compare-and-set (``expected_version`` 0 = must not exist yet); :class:`Stale`
        when someone else wrote first."""
        ...
