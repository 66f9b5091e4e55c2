"""The target interface: what apply needs from a DR database, whatever its kind.

A :class:`Target` opens :class:`TargetSession` objects; a session is one connection used
by one thread. Row changes and the checkpoint row move in the same database
transaction (:meth:`TargetSession.begin` … :meth:`TargetSession.commit`), which is what
makes apply exactly-once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from drcommon.model import ColumnInfo, Operation

from drapply.lobs import LobEdit
from drapply.naming import TableRef
from drapply.typemap import Converter


@dataclass(frozen=True, slots=True)
class Stream:
    """One partition apply reads, and the target schema its checkpoint lives with."""

    topic: str
    partition: int
    owner: str  # the Oracle schema
    schema: str  # its name in the target

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where a stream stands in the target: the next offset to read and the last
    transaction applied. ``replay_until`` is set while a replay re-applies offsets the
    checkpoint had already passed (they use overwrite semantics). ``seed_scn`` is the SCN
    the target was loaded at (``drapply load``): transactions committed at or before it
    are in the loaded image, so apply reads past them without applying them."""

    topic: str
    partition: int
    next_offset: int
    commit_scn: int | None = None
    xid: str | None = None
    commit_ts: datetime | None = None
    watermark_scn: int | None = None
    replay_until: int | None = None
    updated_at: datetime | None = None
    schema: str = ""
    seed_scn: int | None = None


class BoundChange(NamedTuple):
    """A row change in target terms: names mapped, values converted, key extracted.

    A NamedTuple, not a frozen dataclass: one is built per row, and a frozen dataclass's
    ``__init__`` costs several times more.
    """

    op: Operation
    table: TableRef
    owner: str
    source_table: str
    key_cols: tuple[str, ...]
    key_vals: tuple[Any, ...]
    set_cols: tuple[str, ...]
    set_vals: tuple[Any, ...]
    image: dict[str, Any] | None  # before merged with after (updates), target names
    columns: tuple[tuple[str, ColumnInfo], ...] = ()  # types, for creating tables
    has_pk: bool = True
    new_key: tuple[Any, ...] | None = None  # an update that moves the row: its new key
    run: object = None  # the planner's interned run key (see run_key)
    lob_edits: tuple[LobEdit, ...] = ()  # an update's in-place LOB writes (after set_cols)
    value_bytes: int = 0  # bytes of the large values it carries (reassembled from chunks)

    @property
    def source(self) -> str:
        return f"{self.owner}.{self.source_table}"

    def key_text(self) -> str:
        """Keys for logs and conflict records (values of key columns only)."""
        return ", ".join(f"{c}={v!r}" for c, v in zip(self.key_cols, self.key_vals, strict=True))

    @property
    def run_key(self) -> object:
        """Changes with equal run keys can share one batched statement (the planner
        interns one object per shape; otherwise a tuple of what defines the shape)."""
        if self.run is not None:
            return self.run
        lobs = tuple(e.column for e in self.lob_edits)
        return (self.op, self.table, self.set_cols, self.key_cols, lobs)


@dataclass(frozen=True, slots=True)
class TableShape:
    """What apply knows about a target table."""

    columns: dict[str, str]  # name -> declared type
    unique_keys: tuple[frozenset[str], ...] = ()

    def has_unique(self, columns: Sequence[str]) -> bool:
        wanted = frozenset(columns)
        return bool(wanted) and wanted in self.unique_keys


@dataclass(frozen=True, slots=True)
class ParkedRow:
    """A parked transaction as the target's parked table records it."""

    topic: str
    partition: int
    first_offset: int
    last_offset: int
    schema: str
    xid: str
    commit_scn: int
    error: str
    parked_at: datetime
    state: str = "parked"  # parked | retried | discarded
    dl_offsets: tuple[int, ...] = ()
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class DdlLogRow:
    """One DDL record and what apply did with it (the ``ddl_log`` table)."""

    topic: str
    partition: int
    record_offset: int
    schema: str  # the Oracle schema
    xid: str
    commit_scn: int
    table: str
    kind: str  # drapply.ddl.statement.DdlKind
    outcome: str  # executed | no_effect | by_hand
    statement: str  # as captured
    executed: tuple[str, ...]  # what ran on the target
    reason: str
    applied_at: datetime
    applied_by: str | None = None  # who applied it by hand (drapply ddl done)


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One replay, retry or discard: who, what range, result."""

    audit_id: str
    action: str
    requested_by: str
    detail: dict[str, Any]
    started_at: datetime
    result: str = "running"
    finished_at: datetime | None = None
    outcome: dict[str, Any] = field(default_factory=dict)


class TargetSession(Protocol):
    """One connection to the DR database, used by one thread at a time."""

    kind: str

    def close(self) -> None: ...

    def converter(self, info: ColumnInfo | None) -> Converter:
        """How values of a column of this Oracle type are bound."""
        ...

    # -- streams and checkpoints --------------------------------------------------------
    def prepare_stream(self, stream: Stream) -> None:
        """Make the stream's schema and apply's tables for it exist."""
        ...

    def load_checkpoint(self, stream: Stream, start_offset: int) -> Checkpoint:
        """The stream's checkpoint; created at ``start_offset`` if it has none."""
        ...

    def checkpoints(self) -> list[Checkpoint]: ...

    def rewind(
        self, stream: Stream, to_offset: int, *, replay_until: int = 0, force: bool = False
    ) -> Checkpoint:
        """Move the checkpoint back (forward too with ``force``); offsets up to where it
        stood (or ``replay_until``) are marked for overwrite semantics. Commits."""
        ...

    def begin(self, stream: Stream, expected_offset: int | None) -> None:
        """Start a transaction and lock the checkpoint row; raises ``CheckpointMoved``
        when it is not at ``expected_offset`` (None: no checkpoint check)."""
        ...

    def write_checkpoint(self, stream: Stream, checkpoint: Checkpoint) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    # -- rows ------------------------------------------------------------------------------
    def prepare_table(self, change: BoundChange) -> TableShape:
        """The table's shape; creates the table or missing columns when configured."""
        ...

    def forget_table(self, ref: TableRef) -> None:
        """Forget what is known about a table (after DDL)."""
        ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement (a DDL's translation); returns the row count."""
        ...

    def column_type(self, info: ColumnInfo) -> str:
        """The target's type for an Oracle column (as apply creates tables)."""
        ...

    def create_table_sql(self, ref: TableRef, defs: list[str]) -> str: ...

    def execute_run(self, changes: Sequence[BoundChange], *, overwrite: bool) -> None:
        """Apply changes of one run key in a batch; raises ``BatchMismatch`` (now, or from
        :meth:`commit` on targets that pipeline) unless every change touched its row."""
        ...

    def insert(self, change: BoundChange, *, upsert: bool) -> int:
        """Insert (0 when the key exists and ``upsert`` is false)."""
        ...

    def insert_image(self, change: BoundChange) -> int:
        """Insert (or upsert) the full image of an update whose row was missing."""
        ...

    def update(self, change: BoundChange) -> int:
        """Rows the update matched; when it matched one, its LOB edits are performed."""
        ...

    def delete(self, change: BoundChange) -> int:
        """Rows the delete matched."""
        ...

    # -- parked, audit, state ------------------------------------------------------------
    def add_parked(self, stream: Stream, row: ParkedRow) -> None: ...

    def parked(self, state: str | None = None) -> list[ParkedRow]: ...

    def set_parked_state(
        self, row: ParkedRow, state: str, by: str, comment: str | None
    ) -> None: ...

    def add_audit(self, row: AuditRow) -> None: ...

    def record_ddl(self, stream: Stream, row: DdlLogRow) -> None:
        """Record a DDL record's outcome, in the current transaction."""
        ...

    def ddl_log(self, schema: str | None) -> list[DdlLogRow]:
        """The DDL records applied, of one Oracle schema or (None) of all."""
        ...

    def finish_audit(self, audit_id: str, result: str, outcome: dict[str, Any]) -> None: ...

    def audits(self, limit: int = 100) -> list[AuditRow]: ...

    def get_state(self, key: str) -> str | None: ...

    def set_state(self, key: str, value: str | None) -> None:
        """Set (or clear, with None) a persistent service flag; commits."""
        ...


class Target(Protocol):
    """A DR database of one kind."""

    kind: str

    def connect(self, *, admin: bool = False) -> TargetSession:
        """A new session; ``admin`` sessions see every schema (status, parked, audit)."""
        ...
