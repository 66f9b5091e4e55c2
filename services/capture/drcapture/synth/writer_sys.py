"""The writer's side of DDL: rows of the SYS dictionary tables (the source database's
dictionary), the change vectors of a recursive DDL transaction's row changes to them,
and the 24.1 DDL record.

What each vector holds is what the real records show (docs/REDO_FORMAT.md, "Dictionary
changes in the redo"): a row of a table stored in a cluster (TAB$, COL$ in cluster
C_OBJ#; CDEF$, CCOL$ in C_COBJ#) is written on the cluster's block, so the 11.x vector's
data object is the cluster's (2 for C_OBJ#) while the undo's ktub names the table (objn
4 for TAB$) and the cluster's data object; the row flag byte carries C (``-CH-FL--``),
the kdo the table's number in the cluster, and the row piece leaves the cluster key
columns (SEGCOL# 1..CLUCOLS) out: they travel as supplemental columns numbered by SEGCOL#
in a supplemental header that gives the row's address (free23 log 15, RBA
0x00000f.00000239.00bc, an update of TAB$). OBJ$ and TABPART$ are ordinary heap tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from drcapture.dictionary.model import Charsets, ColumnDef, OracleType
from drcapture.redo.ops import kdo as K
from drcapture.redo.ops.kdo import RowCode
from drcapture.redo.ops.undo import SuppType
from drcapture.synth.sys_layouts import SYS_TABLES, SysTable
from drcapture.synth.writer_ops import (
    RowAt,
    Side,
    Txn,
    Uba,
    Value,
    drp,
    irp,
    ktb_f,
    ktb_z,
    ktub,
    ktudb,
    row_vector,
    stored,
    supplemental,
    undo_record_size,
    undo_vector,
    urp,
)
from drcapture.synth.writer_records import Packer, VectorSpec
from drcapture.values import encode_column
from drcapture.values.rowid import decode_rowid

SysValues = dict[str, str | None]  # by column name, as text (NUMBER in decimal); absent: NULL

INSERT: Final = "insert"
UPDATE: Final = "update"
DELETE: Final = "delete"

# The table's number inside its cluster (the kdo's table byte): TAB$ 1 and IND$ 3 in the
# free23 records (0x239.00bc, 0x23b.0084). COL$ 5, CDEF$ 1, CCOL$ 2 are inferred from the
# order dcore.bsq creates the tables of each cluster in (C_OBJ#: TAB$, CLU$, IND$, ICOL$,
# COL$; C_COBJ#: CDEF$, CCOL$), which the two observed numbers agree with.
CLUSTER_TABLE_NUMBER: Final = {"TAB$": 1, "COL$": 5, "CDEF$": 1, "CCOL$": 2, "LOB$": 6}
SUPP_FB_DICTIONARY: Final = K.FB_FIRST | K.FB_LAST  # ----FL-- in the free23 TAB$ update
SUPP_BYTE_17_DICTIONARY: Final = 0x0A  # 0x0a at 17 in the same header (user tables: 0x02)
SYSTEM_FILE: Final = 1  # the SYSTEM tablespace's (relative) file the SYS rows live in
_ROWS_PER_BLOCK: Final = 32

# 24.1 field 0 (Julian Dyke, "Redo Operation 24 - DDL Operations", juliandyke.com
# Internals/Redo/Redo24.php, 11.2; OLR OpCode1801.cpp and oracdc OraCdcChangeDdl.java
# read the XID and the u16 at 16): u32 0x2710 ("always"), XID usn/slot/sqn at 4/6/8,
# u16 command at 12, u16 at 16 (0 for CREATE TABLE; OLR takes 4, 5, 6, 8, 9, 10 there for
# temporary objects), u16 1 at 18, u32 1 at 20; 24 bytes.
DDL_HEAD_SIZE: Final = 24
DDL_MAGIC: Final = 0x2710
DDL_COMMAND: Final = 12
DDL_KIND: Final = 16
DDL_ONE_18: Final = 18
DDL_ONE_20: Final = 20
DDL_SQL_FIELD: Final = 7  # the statement text (oracdc, OLR: field 8 counting from 1)
DDL_OBJ_FIELD: Final = 11  # u32 object number (oracdc, OLR: field 12 counting from 1)
# Media recovery marker vectors (17.28, 24.4 in the free23 log): TYP 6, no block.
MARKER_TYPE: Final = 6


def _column_def(table: SysTable, seg: int) -> ColumnDef:
    name, type_code, length, col_no = table.columns[seg - 1]
    text = type_code in (OracleType.VARCHAR2, OracleType.CHAR)
    return ColumnDef(col_no=col_no, seg_col=seg, name=name, type_code=type_code,
                     length=length, charset_form=1 if text else 0)


@dataclass(slots=True)
class SysRow:
    """One row of a SYS table: its ROWID, where it sits, its values."""

    table: str
    rowid: str
    at: RowAt
    values: SysValues


@dataclass(frozen=True, slots=True)
class SysRowChange:
    """One row change of a DDL transaction (``changed``: an update's columns)."""

    op: str
    table: str
    rowid: str
    at: RowAt
    before: SysValues
    after: SysValues
    changed: tuple[str, ...] = ()


@dataclass(slots=True)
class SysRows:
    """The source database's SYS rows by table and ROWID, and where new ones go: a
    clustered table's rows share one block per cluster key (TEST_CDC's TAB$ and COL$
    rows are both in block 0x543e of C_OBJ# in the free23 checkpoint); a heap table's
    rows fill its blocks in order."""

    rows: dict[str, dict[str, SysRow]] = field(default_factory=dict)
    _key_blocks: dict[tuple[int, str], int] = field(default_factory=dict)
    _slots: dict[int, int] = field(default_factory=dict)  # block -> next slot
    _heap: dict[str, int] = field(default_factory=dict)  # table -> current block
    _next_block: int = 0x4000

    def _new_block(self) -> int:
        self._next_block += 1
        return self._next_block

    def place(self, table: SysTable, key: str | None) -> tuple[str, RowAt]:
        """A ROWID and address for a new row (``key``: a clustered row's key value)."""
        if table.clu_cols:
            block = self._key_blocks.get((table.data_obj, str(key)))
            if block is None:
                block = self._key_blocks[(table.data_obj, str(key))] = self._new_block()
        else:
            block = self._heap.get(table.name) or self._new_block()
            if self._slots.get(block, 0) >= _ROWS_PER_BLOCK:
                block = self._new_block()
            self._heap[table.name] = block
        slot = self._slots.get(block, 0)
        self._slots[block] = slot + 1
        bdba = (SYSTEM_FILE << 22) | block
        at = RowAt(bdba=bdba, slot=slot, hdba=(SYSTEM_FILE << 22) | 0x80)
        rowid = decode_rowid(table.data_obj.to_bytes(4, "big") + bdba.to_bytes(4, "big")
                             + slot.to_bytes(2, "big"))
        return rowid, at

    def insert(self, name: str, values: SysValues) -> SysRowChange:
        """Add a row; the change that does it."""
        table = SYS_TABLES[name]
        key = values.get(table.columns[0][0]) if table.clu_cols else None
        rowid, at = self.place(table, key)
        self.rows.setdefault(name, {})[rowid] = SysRow(name, rowid, at, dict(values))
        return SysRowChange(INSERT, name, rowid, at, {}, dict(values))

    def update(self, row: SysRow, values: SysValues) -> SysRowChange:
        """Set columns of a row; the change that does it."""
        before = dict(row.values)
        row.values.update(values)
        return SysRowChange(UPDATE, row.table, row.rowid, row.at, before, dict(row.values),
                            tuple(n for n, _, _, _ in SYS_TABLES[row.table].columns
                                  if n in values))

    def delete(self, row: SysRow) -> SysRowChange:
        """Remove a row; the change that does it."""
        del self.rows[row.table][row.rowid]
        return SysRowChange(DELETE, row.table, row.rowid, row.at, dict(row.values), {})

    def find(self, name: str, **where: str) -> list[SysRow]:
        """The rows of a table whose columns have the given values."""
        return [r for r in self.rows.get(name, {}).values()
                if all(r.values.get(k) == v for k, v in where.items())]


class SysVectors:
    """The 5.1 + 11.x vectors of SYS row changes, and the 24.1 record."""

    def __init__(self, p: Packer, charsets: Charsets, con_id: int, *, wide: bool) -> None:
        self.p = p
        self.charsets = charsets
        self.con_id = con_id
        self.wide = wide

    def _encode(self, table: SysTable, seg: int, value: str | None) -> Value:
        return encode_column(value, _column_def(table, seg), self.charsets)

    def _piece(self, table: SysTable, values: Mapping[str, str | None]) -> list[Value]:
        """The row piece's columns (SEGCOL# past the cluster key), in order."""
        return [self._encode(table, seg, values.get(table.columns[seg - 1][0]))
                for seg in range(table.clu_cols + 1, len(table.columns) + 1)]

    def _key(self, table: SysTable, values: Mapping[str, str | None]) -> list[tuple[int, Value]]:
        """The cluster key columns as supplemental columns, numbered by SEGCOL#."""
        return [(seg, self._encode(table, seg, values.get(table.columns[seg - 1][0])))
                for seg in range(1, table.clu_cols + 1)]

    def _clustered(self, table: SysTable, fields: list[bytes], fb_at: int,
                   tabn_at: int) -> list[bytes]:
        """Mark a row op as a cluster member's: C flag, the table's number."""
        if not table.clu_cols:
            return fields
        kdo = bytearray(fields[0])
        if fb_at >= 0:
            kdo[fb_at] |= K.FB_CLUSTERED
        kdo[tabn_at] = CLUSTER_TABLE_NUMBER[table.name]
        return [bytes(kdo), *fields[1:]]

    def row_ops(self, change: SysRowChange) -> tuple[list[bytes], list[bytes], tuple[bytes, ...]]:
        """(redo row op, undo row op, supplemental fields) of one change."""
        table, at, p = SYS_TABLES[change.table], change.at, self.p
        first = table.clu_cols + 1
        key = self._key(table, change.after or change.before)
        if change.op == INSERT:
            redo = self._clustered(table, irp(p, at, self._piece(table, change.after)),
                                   K.IRP_FB, K.IRP_TABN)
            undo = self._clustered(table, drp(p, at, Side.UNDO), -1, K.DRP_TABN)
            supp = supplemental(p, SuppType.INSERT, 0, first, key, fb=SUPP_FB_DICTIONARY,
                                row=at, tail=SUPP_BYTE_17_DICTIONARY)
            return redo, undo, supp
        if change.op == DELETE:
            redo = self._clustered(table, drp(p, at), -1, K.DRP_TABN)
            undo = self._clustered(table, irp(p, at, self._piece(table, change.before),
                                              side=Side.UNDO), K.IRP_FB, K.IRP_TABN)
            supp = supplemental(p, SuppType.DELETE, first, 0, key, fb=SUPP_FB_DICTIONARY,
                                row=at, tail=SUPP_BYTE_17_DICTIONARY)
            return redo, undo, supp
        segs = [table.seg_col(n) for n in change.changed]
        ncol = max(len(stored(self._piece(table, change.before))),
                   len(stored(self._piece(table, change.after))))
        new = [(s - first, self._encode(table, s, change.after.get(n)))
               for s, n in zip(segs, change.changed, strict=True)]
        old = [(s - first, self._encode(table, s, change.before.get(n)))
               for s, n in zip(segs, change.changed, strict=True)]
        redo = self._clustered(table, urp(p, at, ncol, new, Side.REDO, [v for _, v in old]),
                               K.URP_FB, K.URP_TABN)
        undo = self._clustered(table, urp(p, at, ncol, old, Side.UNDO, [v for _, v in new]),
                               K.URP_FB, K.URP_TABN)
        start = min(segs)
        supp = supplemental(p, SuppType.UPDATE, start, start, key, fb=SUPP_FB_DICTIONARY,
                            row=at, tail=SUPP_BYTE_17_DICTIONARY)
        return redo, undo, supp

    def vectors(self, txn: Txn, uba: Uba, change: SysRowChange, scn: int, *,
                first: bool) -> tuple[list[VectorSpec], int]:
        """5.1 (ktub naming the table and its data object) and the 11.x on the table's
        (or cluster's) block; plus the undo record's size for a 5.2."""
        table = SYS_TABLES[change.table]
        redo_op, undo_op, supp = self.row_ops(change)
        body = [ktub(self.p, table.obj, table.data_obj, txn, 0, begin=first, wide=self.wide),
                ktb_z(self.p), *undo_op, *supp]
        size = undo_record_size(body)
        undo = undo_vector(txn, uba, [ktudb(self.p, txn, uba, size), *body], scn - 1,
                           self.con_id)
        code = {INSERT: RowCode.IRP, DELETE: RowCode.DRP}.get(change.op, RowCode.URP)
        redo = row_vector(code, [ktb_f(self.p, txn, uba), *redo_op], change.at,
                          table.data_obj, scn - 1, self.con_id)
        return [undo, redo], size

    def ddl_vector(self, txn: Txn, command: int, sql: str, obj: int) -> VectorSpec:
        """24.1: the statement as logged for LogMiner. Fields 1-6 and 8-10 are written
        empty: what Oracle keeps there is not established by any source we read."""
        p = self.p
        head = bytearray(DDL_HEAD_SIZE)
        p.put32(head, 0, DDL_MAGIC)
        p.put16(head, 4, txn.usn)
        p.put16(head, 6, txn.slot)
        p.put32(head, 8, txn.sqn)
        p.put16(head, DDL_COMMAND, command)
        p.put16(head, DDL_ONE_18, 1)
        p.put32(head, DDL_ONE_20, 1)
        fields: list[bytes] = [bytes(head)] + [b""] * (DDL_OBJ_FIELD - 1)
        fields[DDL_SQL_FIELD] = sql.encode("utf-8")
        fields.append(p.u32(obj))
        return VectorSpec(layer=24, code=1, fields=tuple(fields), cls=0, afn=0, dba=0,
                          scn=0, seq=0, typ=MARKER_TYPE, data_obj=0, con_id=self.con_id)


def system_change_values(change: SysRowChange) -> SysValues:
    """What the redo carries of a change, by column name: an insert's whole row, a
    delete's old row (the undo's image), an update's new values of the changed columns;
    each with the cluster key columns (the supplemental ones)."""
    table = SYS_TABLES[change.table]
    keys = [n for n, _, _, _ in table.columns[: table.clu_cols]]
    if change.op == UPDATE:
        names: Sequence[str] = [*keys, *change.changed]
        source = change.after
    else:
        source = change.after if change.op == INSERT else change.before
        names = [n for n, _, _, _ in table.columns if source.get(n) is not None]
    return {n: source.get(n) for n in names}
