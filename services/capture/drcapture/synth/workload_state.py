"""The workload builder's model of the database: tables with their rows and where those
rows sit, transactions with their undo slots and changes. Pure bookkeeping; no bytes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from drcommon.model import ColumnValue

from drcapture.dictionary.model import Charsets, ColumnDef, IotDef, OracleType, TableDef
from drcapture.synth.workload import Row, Table
from drcapture.synth.writer_lob import LobSpace, StoredLob, locator
from drcapture.synth.writer_ops import RowAt, Txn, Uba
from drcapture.values import decode_column, encode_column
from drcapture.values.lob import UTF16, VARYING_WIDTH, LobKind, encode_lob_data, lob_kind
from drcapture.values.text import charset, decode_text

ROWS_PER_BLOCK: Final = 8
FIRST_DATA_BLOCK: Final = 0x100
UNDO_AFN: Final = 3
_TEXT_TYPES = {OracleType.VARCHAR2, OracleType.CHAR, OracleType.LONG, OracleType.CLOB}
LOB_TYPES: Final = frozenset({OracleType.CLOB, OracleType.BLOB})
Locators = dict[str, bytes]  # LOB column -> the locator the row holds


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
        data_obj=None if iot or table.partitions else table.data_object,
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
    """A row as the table holds it now (``lobs``: the locators of its LOB columns)."""

    values: dict[str, ColumnValue]
    at: RowAt
    moved: bool = False  # a compressed table's row migrated by an update
    lobs: Locators = field(default_factory=dict)


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
    lobs_before: tuple[Locators, ...] = ()  # locators of ``before``'s LOB columns
    lobs_after: tuple[Locators, ...] = ()  # locators of ``after``'s LOB columns
    lob_writes: tuple[tuple[str, StoredLob], ...] = ()  # LOB values this change writes


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
    """Column values to stored bytes, refusing values that are not canonical.

    What it works out is remembered (a builder encodes the same columns and values over
    and over): each table's columns by name, and the bytes of every value it accepted.
    A refused value is not remembered, so it is refused again each time."""

    def __init__(self, charsets: Charsets) -> None:
        self.charsets = charsets
        # by id(table): hashing a table hashes all its columns; the table is kept beside
        # its entry, so an id is not reused while the entry lives
        self._columns: dict[int, tuple[Table, dict[str, ColumnDef]]] = {}
        self._encoded: dict[tuple[int, str, ColumnValue], bytes | None] = {}

    def _column(self, table: Table, name: str) -> ColumnDef:
        known = self._columns.get(id(table))
        if known is None or known[0] is not table:
            if known is not None:  # another table at a dead one's address
                self._encoded.clear()
            names = table.column_names()
            known = self._columns[id(table)] = (table, {
                n: column_def(table, i) for i, n in enumerate(names) if n not in names[:i]})
        column = known[1].get(name)
        if column is None:
            raise WorkloadError(f"{table.name} has no column {name!r}")
        return column

    def encode(self, table: Table, name: str, value: ColumnValue,
               lobs: Mapping[str, bytes] | None = None) -> bytes | None:
        """Stored bytes of ``value`` in column ``name`` (a LOB column: its locator, from
        ``lobs``)."""
        column = self._column(table, name)
        if column.type_code in LOB_TYPES and value is not None:
            if lobs is None or name not in lobs:
                raise WorkloadError(f"{table.name}.{name} has no LOB stored for {value!r}")
            return lobs[name]
        try:
            key = (id(table), name, value)
            return self._encoded[key]
        except TypeError:  # a value object that is not hashable: not remembered
            return self._checked(table, column, value)
        except KeyError:
            raw = self._encoded[key] = self._checked(table, column, value)
            return raw

    def _checked(self, table: Table, column: ColumnDef, value: ColumnValue) -> bytes | None:
        raw = encode_column(value, column, self.charsets)
        if decode_column(raw, column, self.charsets) != value:
            raise WorkloadError(f"value {value!r} of {table.name}.{column.name} is not "
                                "canonical")
        return raw

    def row(self, table: Table, values: dict[str, ColumnValue],
            lobs: Mapping[str, bytes] | None = None) -> list[bytes | None]:
        """Stored bytes of every column of a row, in column order."""
        return [self.encode(table, c.name, values.get(c.name), lobs) for c in table.columns]

    def lob_data(self, table: Table, name: str, value: ColumnValue) -> tuple[LobKind, bytes]:
        """The LOB type and stored bytes of a LOB column's published value (CLOB/NCLOB
        text, BLOB upper-case hex), refusing one that does not read back the same."""
        column = column_def(table, table.column_names().index(name))
        kind = lob_kind(column.type_code, column.charset_form)
        if not isinstance(value, str):
            raise WorkloadError(f"LOB value of {table.name}.{name} must be text or hex")
        try:
            data = encode_lob_data(value, kind, self.charsets)
        except ValueError as exc:
            raise WorkloadError(f"value of {table.name}.{name} cannot be stored: {exc}") from exc
        if kind is LobKind.BLOB:
            back: ColumnValue = data.hex().upper()
        else:
            name_cs = UTF16 if self.utf16(kind) else self.charsets.database
            back = decode_text(data, charset(name_cs))
        if back != value:
            raise WorkloadError(f"value of {table.name}.{name} is not canonical")
        return kind, data

    def utf16(self, kind: LobKind) -> bool:
        """Whether a LOB of ``kind`` is stored as UTF-16 (NCLOB always; CLOB in a
        varying-width database)."""
        if kind is LobKind.NCLOB:
            return True
        return kind is LobKind.CLOB and self.charsets.database.upper() in VARYING_WIDTH

    def varying_flag(self, kind: LobKind) -> bool:
        """The locator's varying-width flag: set for CLOBs stored as UTF-16 only (NCLOB
        locators have it clear in every one seen)."""
        return kind is LobKind.CLOB and self.utf16(kind)

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


class LobWriter:
    """Stores the LOB values a change writes: a new LOB (LID, blocks) for each."""

    def __init__(self, codec: Codec) -> None:
        self.codec = codec
        self.space = LobSpace()

    def store(
        self, table: Table, values: Mapping[str, ColumnValue], names: tuple[str, ...]
    ) -> tuple[Locators, tuple[tuple[str, StoredLob], ...]]:
        """The locators of the LOB columns among ``names`` that ``values`` sets, and the
        LOBs with data to write (an empty LOB is a locator only)."""
        locators: Locators = {}
        writes: list[tuple[str, StoredLob]] = []
        for col in table.columns:
            value = values.get(col.name)
            if col.name not in names or col.type_code not in LOB_TYPES or value is None:
                continue
            kind, data = self.codec.lob_data(table, col.name, value)
            lob = self.space.store(kind, data, varying=self.codec.varying_flag(kind))
            locators[col.name] = locator(lob)
            if data:
                writes.append((col.name, lob))
        return locators, tuple(writes)


def has_lobs(table: Table) -> bool:
    """Whether ``table`` has a CLOB, NCLOB or BLOB column."""
    return any(c.type_code in LOB_TYPES for c in table.columns)
