"""The workload builder's model of the database: tables with their rows and where those
rows sit, transactions with their undo slots and changes. Pure bookkeeping; no bytes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from drcommon.model import ColumnValue

from drcapture.dictionary.model import Charsets, ColumnDef, IotDef, OracleType, TableDef
from drcapture.synth.workload import Row, Table
from drcapture.synth.writer_ops import RowAt, Txn, Uba
from drcapture.values import decode_column, encode_column

ROWS_PER_BLOCK: Final = 8
FIRST_DATA_BLOCK: Final = 0x100
UNDO_AFN: Final = 3
_TEXT_TYPES = {OracleType.VARCHAR2, OracleType.CHAR, OracleType.LONG}


class WorkloadError(ValueError):
    """The description cannot be executed (unknown row, non-canonical value …)."""


def column_def(table: Table, index: int) -> ColumnDef:
    """The dictionary's view of column ``index`` (0-based, as declared) of ``table``."""
    col = table.columns[index]
    form = col.charset_form or (1 if col.type_code in _TEXT_TYPES else 0)
    return ColumnDef(
        col_no=index + 1,
        seg_col=table.stored_names().index(col.name) + 1,
        name=col.name,
        type_code=col.type_code,
        length=col.length,
        precision=col.precision,
        scale=col.scale,
        charset_form=form,
        nullable=col.nullable,
    )


def table_def(table: Table) -> TableDef:
    """The dictionary entry of ``table`` (columns in segment order)."""
    columns = sorted((column_def(table, i) for i in range(len(table.columns))),
                     key=lambda c: c.seg_col)
    iot = IotDef(index_obj=table.iot_index) if table.iot_index is not None else None
    return TableDef(
        obj=table.obj,
        owner=table.owner,
        name=table.name,
        columns=tuple(columns),
        pk=table.pk,
        data_obj=None if iot else table.obj,
        iot=iot,
    )


class Kind(StrEnum):
    """What one buffered change did."""

    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    MULTI_INSERT = "multi_insert"
    MULTI_DELETE = "multi_delete"


@dataclass(slots=True)
class RowState:
    """A row as the table holds it now."""

    values: dict[str, ColumnValue]
    at: RowAt
    moved: bool = False  # a compressed table's row migrated by an update


@dataclass(frozen=True, slots=True)
class Change:
    """One change a transaction made (one undo record): enough to undo it and to say
    what a reader must report for it."""

    kind: Kind
    table: Table
    at: RowAt  # for multi-row changes: the block (slot of the first row)
    uba: Uba
    first_of_txn: bool
    keys: tuple[tuple[ColumnValue, ...], ...]  # primary keys of the rows touched
    before: tuple[dict[str, ColumnValue], ...]  # full rows before (deletes, updates)
    after: tuple[dict[str, ColumnValue], ...]  # full rows after (inserts, updates)
    slots: tuple[int, ...] = ()
    changed: tuple[str, ...] = ()  # update: columns changed
    piece: RowAt | None = None  # compressed table's update: where the row moves to


@dataclass(slots=True)
class TxnState:
    """An open transaction."""

    label: str
    thread: int
    txn: Txn
    next_rec: int = 1
    undo_block: int = 0
    changes: list[Change] = field(default_factory=list)
    savepoints: dict[str, int] = field(default_factory=dict)

    def next_uba(self) -> Uba:
        """The address of the transaction's next undo record."""
        uba = Uba(dba=(UNDO_AFN << 22) | self.undo_block, seq=1, rec=self.next_rec)
        self.next_rec += 1
        return uba


@dataclass(slots=True)
class TableState:
    """Rows of one table by primary key, and where the next inserted row goes."""

    table: Table
    rows: dict[tuple[ColumnValue, ...], RowState] = field(default_factory=dict)
    block: int = FIRST_DATA_BLOCK
    slot: int = 0

    @property
    def afn(self) -> int:
        """The table's data file (an IOT's: its index's)."""
        return 4 + self.table.segment_obj % 4

    def _at(self, block: int, slot: int) -> RowAt:
        return RowAt(bdba=(self.afn << 22) | block, slot=slot, hdba=(self.afn << 22) | 0xFF)

    def place_one(self) -> RowAt:
        """A free slot for one row."""
        if self.slot >= ROWS_PER_BLOCK:
            self.block, self.slot = self.block + 1, 0
        at = self._at(self.block, self.slot)
        self.slot += 1
        return at

    def place_block(self, count: int) -> list[RowAt]:
        """``count`` consecutive slots in a fresh block (multi-row inserts)."""
        self.block, self.slot = self.block + 1, count
        return [self._at(self.block, s) for s in range(count)]

    def key_of(self, values: dict[str, ColumnValue]) -> tuple[ColumnValue, ...]:
        """The primary key of a row (every column when the table has no key)."""
        names = self.table.pk or self.table.column_names()
        return tuple(values.get(n) for n in names)


class Codec:
    """Column values to stored bytes, refusing values that are not canonical."""

    def __init__(self, charsets: Charsets) -> None:
        self.charsets = charsets

    def encode(self, table: Table, name: str, value: ColumnValue) -> bytes | None:
        """Stored bytes of ``value`` in column ``name``."""
        names = table.column_names()
        if name not in names:
            raise WorkloadError(f"{table.name} has no column {name!r}")
        column = column_def(table, names.index(name))
        raw = encode_column(value, column, self.charsets)
        if decode_column(raw, column, self.charsets) != value:
            raise WorkloadError(f"value {value!r} of {table.name}.{name} is not canonical")
        return raw

    def row(self, table: Table, values: dict[str, ColumnValue]) -> list[bytes | None]:
        """Stored bytes of every column of a row, in column order."""
        return [self.encode(table, c.name, values.get(c.name)) for c in table.columns]

    def stored_row(self, table: Table, values: dict[str, ColumnValue]) -> list[bytes | None]:
        """Stored bytes of every column of a row, in segment order (an IOT's leaf order)."""
        return [self.encode(table, n, values.get(n)) for n in table.stored_names()]


def full_row(table: Table, values: Row) -> dict[str, ColumnValue]:
    """Every column of ``table`` with the given values (NULL elsewhere)."""
    given = dict(values)
    unknown = set(given) - set(table.column_names())
    if unknown:
        raise WorkloadError(f"{table.name} has no columns {sorted(unknown)}")
    return {c.name: given.get(c.name) for c in table.columns}
