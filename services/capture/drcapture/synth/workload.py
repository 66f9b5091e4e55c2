"""A small language describing database activity, for the redo writer to turn into
Oracle redo (see :mod:`drcapture.synth.workload_build`).

A :class:`Workload` has tables and a sequence of :class:`Step` s. Each step is one
operation of one transaction (named by a label) on one RAC thread, executed in order
against a single SCN clock shared by every thread; a transaction starts with its first
step and ends with :class:`Commit` or :class:`Rollback`. :class:`LogSwitch` ends the
current log of a thread. A DDL step (:data:`DdlOp`: CREATE/DROP/RENAME TABLE,
ADD/DROP/RENAME COLUMN, ADD PARTITION, TRUNCATE) is a committed transaction of its own
(:mod:`drcapture.synth.workload_ddl_steps`). Values are given in their published form
(:mod:`drcommon.model` conventions, as :func:`drcapture.values.decode_column` returns
them) and must be canonical, so the expected output is the description itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from drcommon.model import ColumnValue

from drcapture.dictionary.model import Charsets, OracleType
from drcapture.synth.writer_records import LINUX_19C, Platform

Row = tuple[tuple[str, ColumnValue], ...]  # (column, value) pairs; hashable


def row(values: Mapping[str, ColumnValue] | None = None, **named: ColumnValue) -> Row:
    """A :data:`Row` from a mapping and/or keyword arguments."""
    merged = dict(values or {}, **named)
    return tuple(merged.items())


class Supplemental(StrEnum):
    """Which columns an update logs besides the changed ones (the table's supplemental
    log group): none beyond the LogMiner header, the primary key, or every column."""

    MINIMAL = "minimal"
    PRIMARY_KEY = "pk"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class Col:
    """A column: name and Oracle type (``charset_form`` 2 for NCHAR/NVARCHAR2)."""

    name: str
    type_code: int = OracleType.VARCHAR2
    length: int = 0
    precision: int | None = None
    scale: int | None = None
    charset_form: int = 0
    nullable: bool = True


@dataclass(frozen=True, slots=True)
class Table:
    """A heap table; ``obj`` is its object number (and data object number).

    ``compressed``: its rows live in compressed blocks (OLTP/advanced row compression),
    written the way the real records show them: inserts as one whole row image, updates
    as a migration of the row to another block. Deletes, multi-row operations and a second
    update of a row are not in any reference record and are refused, as is rolling back
    an update.

    With ``iot_index`` set it is an index-organized table instead: ``obj`` is the table's
    object number (it has no segment) and ``iot_index`` the object (and data object)
    number of its primary key index, which holds the rows and which redo names.

    ``data_obj``: its data object number when it differs from ``obj`` (a TRUNCATE gives
    the table a new one). ``partitions``: a partitioned table's partitions, ``(name,
    object number)``; the writer keeps their dictionary rows (ADD PARTITION) but writes
    no rows into them (refused)."""

    owner: str
    name: str
    obj: int
    columns: tuple[Col, ...]
    pk: tuple[str, ...] = ()
    supplemental: Supplemental = Supplemental.ALL
    compressed: bool = False
    iot_index: int | None = None
    data_obj: int | None = None
    partitions: tuple[tuple[str, int], ...] = ()

    @property
    def data_object(self) -> int:
        """The data object number its rows' redo and ROWIDs carry."""
        return self.obj if self.data_obj is None else self.data_obj

    @property
    def iot(self) -> bool:
        """True for an index-organized table."""
        return self.iot_index is not None

    @property
    def segment_obj(self) -> int:
        """The object the table's rows live in: the table, or an IOT's index."""
        return self.obj if self.iot_index is None else self.iot_index

    def column_names(self) -> tuple[str, ...]:
        """Column names as declared."""
        return tuple(c.name for c in self.columns)

    def stored_names(self) -> tuple[str, ...]:
        """Column names in segment order: as declared, or for an IOT the leaf row's
        order (primary key columns in key order, then the others as declared)."""
        if self.iot_index is None:
            return self.column_names()
        return (*self.pk, *(n for n in self.column_names() if n not in self.pk))


@dataclass(frozen=True, slots=True)
class Insert:
    """Insert one row (columns left out are NULL)."""

    table: str
    values: Row


@dataclass(frozen=True, slots=True)
class Update:
    """Update the row whose primary key is ``key``; primary keys do not change."""

    table: str
    key: Row
    changes: Row


@dataclass(frozen=True, slots=True)
class Delete:
    """Delete the row whose primary key is ``key``."""

    table: str
    key: Row


@dataclass(frozen=True, slots=True)
class MultiInsert:
    """Insert several rows into one block with one change vector (11.11, QMI)."""

    table: str
    rows: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class MultiDelete:
    """Delete several rows, one multi-row vector (11.12, QMD) per block they sit in."""

    table: str
    keys: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class Savepoint:
    """Mark a point the transaction can roll back to."""

    name: str


@dataclass(frozen=True, slots=True)
class RollbackTo:
    """Undo the transaction's changes made after the savepoint (it stays open)."""

    name: str


@dataclass(frozen=True, slots=True)
class Commit:
    """Commit the transaction."""


@dataclass(frozen=True, slots=True)
class Rollback:
    """Roll the whole transaction back."""


@dataclass(frozen=True, slots=True)
class LogSwitch:
    """Archive the thread's current log and continue in the next sequence."""


@dataclass(frozen=True, slots=True)
class CreateTable:
    """CREATE TABLE (with its primary key constraint, if any); fill it with inserts."""

    table: Table


@dataclass(frozen=True, slots=True)
class DropTable:
    """DROP TABLE … PURGE: the table's dictionary rows go."""

    table: str


@dataclass(frozen=True, slots=True)
class RenameTable:
    """ALTER TABLE … RENAME TO ``new_name``."""

    table: str
    new_name: str


@dataclass(frozen=True, slots=True)
class AddColumn:
    """ALTER TABLE … ADD (column): existing rows read it as NULL."""

    table: str
    column: Col


@dataclass(frozen=True, slots=True)
class DropColumn:
    """ALTER TABLE … DROP COLUMN: later columns move up one place."""

    table: str
    name: str


@dataclass(frozen=True, slots=True)
class RenameColumn:
    """ALTER TABLE … RENAME COLUMN ``old`` TO ``new``."""

    table: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class AddPartition:
    """ALTER TABLE … ADD PARTITION ``name`` (object number ``obj``) of a partitioned
    table."""

    table: str
    name: str
    obj: int


@dataclass(frozen=True, slots=True)
class Truncate:
    """TRUNCATE TABLE: every row goes and the table gets data object ``new_data_obj``."""

    table: str
    new_data_obj: int


DdlOp = (
    CreateTable | DropTable | RenameTable | AddColumn | DropColumn | RenameColumn
    | AddPartition | Truncate
)
DDL_OPS = (CreateTable, DropTable, RenameTable, AddColumn, DropColumn, RenameColumn,
           AddPartition, Truncate)

Op = (
    Insert
    | Update
    | Delete
    | MultiInsert
    | MultiDelete
    | Savepoint
    | RollbackTo
    | Commit
    | Rollback
    | LogSwitch
    | DdlOp
)


@dataclass(frozen=True, slots=True)
class Step:
    """One operation of transaction ``txn`` on RAC thread ``thread``. A DDL operation is
    a transaction of its own (Oracle's recursive DDL transaction): ``txn`` must not be
    open, and the step commits it."""

    thread: int
    txn: str
    op: Op


@dataclass(frozen=True, slots=True)
class Workload:
    """Tables, steps and the database facts the logs carry."""

    tables: tuple[Table, ...]
    steps: tuple[Step, ...]
    charsets: Charsets = field(default_factory=Charsets)
    platform: Platform = LINUX_19C
    block_size: int = 512
    db_id: int = 1234567890
    db_name: str = "DRTEST"
    con_id: int = 0
    con_uid: int = 0
    start_scn: int = 1_000_000
    start_time: datetime = datetime(2024, 2, 29, 12, 0, 0)
    resetlogs_id: int = 1100000000
    first_sequence: int = 1

    def table(self, name: str) -> Table:
        """The table called ``name`` (``OWNER.NAME`` or just ``NAME``)."""
        for table in self.tables:
            if name in (table.name, f"{table.owner}.{table.name}"):
                return table
        raise KeyError(f"workload has no table {name!r}")
