"""Logical rows to :class:`drcommon.model.RowChange`: names from the dictionary, values
through the value decoder. Objects the dictionary does not know are named the way
LogMiner names them without a dictionary (``UNKNOWN``.``OBJ# n``, ``COL n``, hex values).

Rows of index-organized tables have no physical ROWID (their address is the primary
key: a "logical rowid"), so their changes carry ``row_id`` None and must carry the
primary key in each image that has to find or make the row; one that does not is refused.

CLOB, NCLOB and BLOB columns hold locators; their values come from
:class:`~drcapture.redo.txn.lobs.LobAssembly` (the transaction's LOB pages).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from drcommon.model import (
    ColumnInfo,
    ColumnValue,
    NotLogged,
    Operation,
    RowChange,
    SourcePosition,
    Unsupported,
)

from drcapture.dictionary.model import Charsets, ColumnDef, OracleType, TableDef
from drcapture.errors import UndecodableChange
from drcapture.redo.ops.common import NotInRedo, Value
from drcapture.redo.records import Rba
from drcapture.redo.txn.lobs import LobAssembly, Unchanged, is_lob_column
from drcapture.redo.txn.rows import LogicalRow
from drcapture.redo.xid import Xid

ValueDecoder = Callable[[bytes | None, ColumnDef, Charsets], ColumnValue]


class _LobAt(NamedTuple):
    """Where a row's LOB columns get their values: the transaction's LOBs, the row, its
    table, and which image is being decoded."""

    lobs: LobAssembly
    row: LogicalRow
    table: TableDef
    after: bool

    def value(self, raw: bytes, column: ColumnDef) -> ColumnValue | Unchanged:
        row = self.row
        unchanged = (self.after and row.op is Operation.UPDATE and row.before is not None
                     and row.before.get(column.seg_col) == raw)
        return self.lobs.value(raw, column, row=row, table=self.table, after=self.after,
                               unchanged=unchanged)

UNKNOWN_OWNER = "UNKNOWN"
_MAX_CACHED_TABLES = 100_000
_LOB_TYPES = {OracleType.CLOB, OracleType.BLOB, OracleType.BFILE}
_ROWID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def default_decoder() -> ValueDecoder:
    """The project's value decoder (imported late: it lives in another package)."""
    from drcapture.values.decode import decode_column

    return decode_column


# Two base-64 digits per entry, for 12 bits at a time (a ROWID is built for every change).
_PAIRS = tuple(a + b for a in _ROWID_ALPHABET for b in _ROWID_ALPHABET)


def rowid(data_obj: int, bdba: int, slot: int) -> str:
    """The extended ROWID: data object, relative file, block, row (base 64)."""
    pairs, alphabet = _PAIRS, _ROWID_ALPHABET
    block = bdba & 0x3FFFFF
    rfile = bdba >> 22
    return "".join((
        pairs[(data_obj >> 24) & 0xFFF], pairs[(data_obj >> 12) & 0xFFF], pairs[data_obj & 0xFFF],
        alphabet[(rfile >> 12) & 0x3F], pairs[rfile & 0xFFF],
        pairs[(block >> 24) & 0xFFF], pairs[(block >> 12) & 0xFFF], pairs[block & 0xFFF],
        alphabet[(slot >> 12) & 0x3F], pairs[slot & 0xFFF],
    ))


def unknown_table_name(obj: int) -> str:
    """``OBJ# 72726``."""
    return f"OBJ# {obj}"


def unknown_column_name(col: int) -> str:
    """``COL 3``."""
    return f"COL {col}"


@dataclass(frozen=True, slots=True)
class Context:
    """What every change of one thread's stream shares."""

    db_id: int
    db_name: str
    thread: int
    charsets: Charsets


def _position(row: LogicalRow, ctx: Context) -> SourcePosition:
    return SourcePosition(db_id=ctx.db_id, db_name=ctx.db_name, con_id=row.con_id,
                          thread=ctx.thread, sequence=_sequence(row.rba), rba=row.rba,
                          scn=row.scn, sub_scn=row.sub_scn)


def _sequence(rba: str) -> int:
    """The log sequence of an RBA string (``0x000042.00055ad9.009c``) as written by
    ``str(Rba)``, without parsing the rest."""
    head, dot, _ = rba.partition(".")
    if dot and head[:2] == "0x" and rba.count(".") == 2:
        try:
            return int(head[2:], 16)
        except ValueError:
            pass
    return Rba.parse(rba).sequence  # anything unusual: its checks and its error


def _info(column: ColumnDef, charsets: Charsets) -> ColumnInfo:
    charset = None
    if column.charset_form == 1:
        charset = charsets.database
    elif column.charset_form == 2:
        charset = charsets.national
    return ColumnInfo(type=column.type_name, length=column.length or None,
                      precision=column.precision, scale=column.scale,
                      nullable=column.nullable, charset=charset)


def _hex(raw: Value) -> ColumnValue:
    if isinstance(raw, NotInRedo):
        return NotLogged(oracle_type="UNKNOWN", reason=raw.reason)
    return None if raw is None else raw.hex().upper()


@dataclass(frozen=True, slots=True)
class _Stored:
    """A stored column with what every change naming it repeats."""

    column: ColumnDef
    info: ColumnInfo
    lob: bool


class ColumnCache:
    """Per table: its stored columns by segment number with their :class:`ColumnInfo`,
    built once per table object (a captured table's changes name the same columns over
    and over; ColumnInfo is immutable, so one instance serves them all)."""

    def __init__(self, charsets: Charsets) -> None:
        self.charsets = charsets
        self._tables: dict[int, tuple[TableDef, dict[int, _Stored], tuple[_Stored, ...]]] = {}

    def of(self, table: TableDef) -> tuple[dict[int, _Stored], tuple[_Stored, ...]]:
        """(columns by segment number, stored columns in order) of ``table``."""
        found = self._tables.get(id(table))
        if found is None or found[0] is not table:
            if len(self._tables) >= _MAX_CACHED_TABLES:
                self._tables.clear()  # table objects replaced many times over: start afresh
            by_seg: dict[int, _Stored] = {}
            stored: list[_Stored] = []
            for column in table.columns:
                entry = _Stored(column, _info(column, self.charsets),
                                column.type_code in _LOB_TYPES)
                by_seg.setdefault(column.seg_col, entry)  # the first wins, as column_by_seg
                if column.seg_col > 0:
                    stored.append(entry)
            found = self._tables[id(table)] = (table, by_seg, tuple(stored))
        return found[1], found[2]


def _known_image(values: dict[int, Value] | None, by_seg: dict[int, _Stored],
                 decode: ValueDecoder, charsets: Charsets, infos: dict[str, ColumnInfo],
                 decoded: dict[int, tuple[Value, ColumnValue]], lob: _LobAt,
                 ) -> dict[str, ColumnValue] | None:
    """One image, named and decoded. ``decoded`` carries values from the other image of
    the same change: a column logged with the same bytes in both (supplemental columns
    of an update) is decoded once; values are immutable, so both images share it. LOB
    columns go through ``lob`` (an unchanged one is left out of the image)."""
    if values is None:
        return None
    image: dict[str, ColumnValue] = {}
    for col in sorted(values):
        raw = values[col]
        entry = by_seg.get(col)
        if entry is None:
            image[unknown_column_name(col)] = _hex(raw)
            infos.setdefault(unknown_column_name(col), ColumnInfo(type="UNKNOWN"))
            continue
        column = entry.column
        infos.setdefault(column.name, entry.info)
        if isinstance(raw, NotInRedo):
            image[column.name] = NotLogged(oracle_type=column.type_name, reason=raw.reason)
            continue
        if entry.lob and raw is not None:
            if not is_lob_column(column):  # BFILE
                image[column.name] = Unsupported(oracle_type=column.type_name, hex=None)
                continue
            value = lob.value(raw, column)
            if not isinstance(value, Unchanged):
                image[column.name] = value
            continue
        known = decoded.get(col)
        if known is not None and known[0] == raw:
            image[column.name] = known[1]
        else:
            value = image[column.name] = decode(raw, column, charsets)
            decoded[col] = (raw, value)
    return image


def _add_not_logged(image: dict[str, ColumnValue] | None, rest: NotInRedo | None,
                    stored: tuple[_Stored, ...], infos: dict[str, ColumnInfo]) -> None:
    """Columns an image does not list whose values the redo does not carry (``rest``: a
    compressed row image) are published as not logged, never as NULL or unchanged."""
    if image is None or rest is None:
        return
    for entry in stored:
        name = entry.column.name
        if name not in image:
            image[name] = NotLogged(oracle_type=entry.column.type_name, reason=rest.reason)
            infos.setdefault(name, entry.info)


def _add_trailing_nulls(image: dict[str, ColumnValue], stored: tuple[_Stored, ...],
                        infos: dict[str, ColumnInfo]) -> None:
    for entry in stored:
        name = entry.column.name
        if name not in image:
            image[name] = None
            infos.setdefault(name, entry.info)


def _unknown_image(values: dict[int, Value] | None,
                   infos: dict[str, ColumnInfo]) -> dict[str, ColumnValue] | None:
    if values is None:
        return None
    image: dict[str, ColumnValue] = {}
    for col in sorted(values):
        name = unknown_column_name(col)
        image[name] = _hex(values[col])
        infos.setdefault(name, ColumnInfo(type="UNKNOWN"))
    return image


def _check_iot_key(row: LogicalRow, table: TableDef, before: dict[str, ColumnValue] | None,
                   after: dict[str, ColumnValue] | None) -> None:
    """An IOT row is found by its primary key only: each image must hold all of it."""
    for side, image in (("before", before), ("after", after)):
        if image is None:
            continue
        missing = [name for name in table.pk if name not in image]
        if missing or not table.pk:
            raise UndecodableChange("IOT change without its primary key",
                                    table=f"{table.owner}.{table.name}", op=row.op.value,
                                    rba=row.rba, scn=row.scn, field=side,
                                    expected=",".join(table.pk) or "a primary key",
                                    found=",".join(sorted(image)))


def to_row_change(row: LogicalRow, table: TableDef | None, ctx: Context,
                  decode: ValueDecoder, columns: ColumnCache | None = None,
                  lobs: LobAssembly | None = None) -> RowChange:
    """Name and decode one logical row (``table`` None: an object without dictionary).

    ``columns`` is a cache kept across calls (a fresh one when not given); ``lobs`` the
    transaction's LOB pages (none when not given: only in-row LOB values decode)."""
    infos: dict[str, ColumnInfo] = {}
    pk: tuple[str, ...]
    if table is None:
        owner, name, pk = UNKNOWN_OWNER, unknown_table_name(row.obj), ()
        before = _unknown_image(row.before, infos)
        after = _unknown_image(row.after, infos)
    else:
        owner, name, pk = table.owner, table.name, table.pk
        by_seg, stored = (columns or ColumnCache(ctx.charsets)).of(table)
        decoded: dict[int, tuple[Value, ColumnValue]] = {}
        if lobs is None:
            lobs = LobAssembly(Xid(0, 0, 0), ctx.charsets)
        before = _known_image(row.before, by_seg, decode, ctx.charsets, infos, decoded,
                              _LobAt(lobs, row, table, False))
        after = _known_image(row.after, by_seg, decode, ctx.charsets, infos, decoded,
                             _LobAt(lobs, row, table, True))
        _add_not_logged(before, row.before_rest, stored, infos)
        _add_not_logged(after, row.after_rest, stored, infos)
        # Oracle does not store trailing NULL columns: a whole-row image (the new row of
        # an insert, the old row of a delete) names them, so apply writes NULL, not a default.
        if row.op is Operation.INSERT and after is not None:
            _add_trailing_nulls(after, stored, infos)
        elif row.op is Operation.DELETE and before is not None:
            _add_trailing_nulls(before, stored, infos)
    row_id = rowid(row.data_obj, row.row[0], row.row[1]) if row.row and row.data_obj else None
    if table is not None and table.iot is not None:
        _check_iot_key(row, table, before, after)
        row_id = None
    return RowChange(op=row.op, owner=owner, table=name, obj=row.obj or None, pk=pk,
                     before=before, after=after, columns=infos, ddl=row.ddl,
                     ddl_command=row.ddl_command,
                     position=_position(row, ctx), row_id=row_id, undecoded=row.undecoded)
