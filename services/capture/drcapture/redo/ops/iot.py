"""Layer 10 on index-organized tables: the leaf row operations IOT DML writes (10.2
insert leaf row, 10.4 delete leaf row, 10.30 whole non-key update, 10.35 column non-key
update) and their undo, a 5.1 whose ktub names 10.22 with a "kdilk" field.

An IOT row is a leaf row of its primary key index: the key columns (row format, one
length-prefixed column after the other), then the non-key part laid out like a row
piece (flag byte, lock byte, column count, columns). These parsers run only for objects
the dictionary says are captured IOTs (:func:`~drcapture.redo.txn.pieces.pieces_of`
asks); index maintenance of ordinary indexes stays a counted ``SkippedOp``.

Layouts, one commented line per field, with their sources in docs/REDO_FORMAT.md
("Index-organized tables"). Fixture = oracdc ``Op10_30_Test/000``, ``Op10_35_Test/000``
and ``/001``; oracdc = ``OraCdcChangeIndexOp.java`` / ``OraCdcChangeUndoBlock.java``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from drcommon.errors import ParseError

from drcapture.redo.binary import Endian, u16_array
from drcapture.redo.ops.kdo import FB_LAST, FB_NEXT, read_row_column
from drcapture.redo.ops.undo import Supplemental, parse_supplemental
from drcapture.redo.vectors import ChangeVector

Value = bytes | None  # one column as the leaf row stores it; None is NULL

# --- redo 10.x field 1: the leaf operation header (kdxl…) ---------------------------------
LEAF_ITL: Final = 0  # u8: ITL slot (oracdc "itl"; fixture 2)
LEAF_FLAGS: Final = 1  # u8: REDO flags (oracdc prints it before "SINGLE"; fixture 0x10)
LEAF_SNO: Final = 2  # u16: slot of the row in the leaf block (fixture: 1 for id=2, 2 for id=3)
LEAF_ROW_SIZE: Final = 4  # u16: row size (oracdc "row size")
LEAF_MIN: Final = 6
# 10.35 only (oracdc prints them when the field is longer than 11 bytes):
LCU_FLAG: Final = 6  # u8 (fixture 0x02)
LCU_NCOL: Final = 7  # u8: non-key columns the row stores after the change (fixture 4)
LCU_NNEW: Final = 8  # u8: columns the change lists (fixture 4 and 3)
LCU_SIZE: Final = 10  # s16: row size change (fixture 40 = 54 - 14, and 6)
LCU_NULLS: Final = 12  # NULL bitmap over the listed columns (fixture: 0x00, all set)
LCU_MIN: Final = 13

# --- the non-key part of a leaf row (10.2 field 3, 10.30 field 2, undo field 5) ----------
NONKEY_FB: Final = 0  # u8: row flag byte, as in a heap row piece (fixture 0x2c --H-FL--)
NONKEY_LB: Final = 1  # u8: lock byte
NONKEY_CC: Final = 2  # u8: non-key columns stored in the leaf row
NONKEY_COLUMNS: Final = 3  # columns in row format follow
NRID_SIZE: Final = 6  # u32 block + u16 slot of the overflow part (heap-row convention)

# --- undo: 5.1 field 3, "kdilk" (index undo for leaf key operations) ----------------------
KDILK_TYPE: Final = 0  # u8: the 10.x code the undo applies (see UndoKind)
KDILK_ITL: Final = 1  # u8 (fixture 2)
KDILK_FLAGS: Final = 2  # u8 kdxlkflg: 0x80 = supplemental data follows (fixture 0x95, 0x91)
KDILK_INDEX: Final = 4  # u32: index segment header block (fixture 0x962, the block before)
KDILK_BLOCK: Final = 8  # u32: the leaf block (fixture 0x963 = the 10.x vector's DBA)
KDILK_SDC: Final = 12  # u32 (fixture 0)
KDILK_MIN: Final = 20
# kdxlcnu (undo of 10.35) adds the 10.35 header fields 20 bytes in:
KDILK_LCU: Final = 20
KDILK_LCU_MIN: Final = KDILK_LCU + LCU_MIN - LCU_FLAG  # 27
KDILK_SUPPLEMENTAL: Final = 0x80

# Field indexes.
REDO_KTB: Final = 0
REDO_LEAF: Final = 1
REDO_KEY: Final = 2  # 10.2: the key
REDO_NONKEY: Final = 3  # 10.2: the non-key part
REDO_LNU_NONKEY: Final = 2  # 10.30: the new non-key part
REDO_LCU_NUMBERS: Final = 2  # 10.35: u16 non-key column numbers, then one field per value
UNDO_KDILK: Final = 3
UNDO_KEY: Final = 4
UNDO_NEXT: Final = 5  # non-key part (restore, 10.30) or column numbers (10.35)

UNDO_OPC: Final = (10, 22)  # ktub opc of IOT leaf undo: KDICULK


class LeafCode(IntEnum):
    """Redo leaf row operations on an IOT that capture decodes (Julian Dyke, "Redo Level
    10"; oracdc ``OraCdcChange`` constants)."""

    INSERT = 2  # kdxlin: insert leaf row
    DELETE = 4  # kdxlde: delete (mark deleted) leaf row
    NONKEY = 30  # kdxlnu: replace the whole non-key part
    COLUMNS = 35  # kdxlcnu: change listed non-key columns


class UndoKind(IntEnum):
    """kdilk types: the layer-10 code the undo record applies (oracdc names)."""

    PURGE = 3  # kdxlpu: purge leaf row (undoes an insert)
    RESTORE = 5  # kdxlre: restore leaf row, clear delete flags (undoes a delete)
    KEYDATA = 18  # kdxlup: update keydata (not decoded)
    NONKEY = 30  # kdxlnu: whole non-key update
    COLUMNS = 35  # kdxlcnu: column-vector non-key update


UNDO_OF: Final = {  # the kdilk type the undo of each decoded redo op carries
    LeafCode.INSERT: UndoKind.PURGE,
    LeafCode.DELETE: UndoKind.RESTORE,
    LeafCode.NONKEY: UndoKind.NONKEY,
    LeafCode.COLUMNS: UndoKind.COLUMNS,
}


@dataclass(frozen=True, slots=True)
class NonKey:
    """The non-key part of a leaf row: flag byte, and the columns the leaf stores.

    ``nrid`` is the overflow part's (block, slot) when the flag byte says the row goes on
    (N set, L clear): the rest of the non-key columns live in the overflow segment."""

    fb: int
    columns: tuple[Value, ...]
    nrid: tuple[int, int] | None

    @property
    def last(self) -> bool:
        """The row ends here (no overflow part follows)."""
        return bool(self.fb & FB_LAST)


@dataclass(frozen=True, slots=True)
class LeafOp:
    """A decoded 10.2 / 10.4 / 10.30 / 10.35 redo vector on an IOT leaf block."""

    code: int
    bdba: int  # the leaf block (the vector's DBA)
    slot: int  # the row's slot in the leaf block (it moves as keys come and go)
    key: tuple[Value, ...]  # 10.2
    nonkey: NonKey | None  # 10.2, 10.30
    changed: tuple[tuple[int, Value], ...]  # 10.35: (0-based non-key column, value)
    ncol: int  # 10.35: non-key columns stored after the change


@dataclass(frozen=True, slots=True)
class LeafUndo:
    """The IOT part of a 5.1 whose ktub names 10.22: what would undo the leaf change."""

    kind: int  # UndoKind
    flags: int
    bdba: int  # the leaf block
    key: tuple[Value, ...]
    nonkey: NonKey | None  # RESTORE, NONKEY
    changed: tuple[tuple[int, Value], ...]  # COLUMNS: old values of the listed columns
    ncol: int  # COLUMNS: non-key columns stored before the change
    supplemental: Supplemental | None


def _need(cv: ChangeVector, index: int, size: int, what: str) -> memoryview:
    if index >= len(cv.fields) or cv.field_len(index) < size:
        found = cv.field_len(index) if index < len(cv.fields) else None
        raise ParseError(f"{what} field missing or too short",
                         opcode=f"{cv.header.layer}.{cv.header.code}", field=index,
                         expected=size, found=found)
    return cv.field(index)


def parse_key(cv: ChangeVector, index: int) -> tuple[Value, ...]:
    """The key columns of a leaf row: row-format columns filling the whole field."""
    data = _need(cv, index, 1, "IOT key")
    pos, out = 0, []
    while pos < len(data):
        value, pos = read_row_column(data, pos, cv.endian)
        out.append(value)
    return tuple(out)


def _columns(data: memoryview, pos: int, count: int, e: Endian) -> tuple[tuple[Value, ...], int]:
    out = []
    for _ in range(count):
        value, pos = read_row_column(data, pos, e)
        out.append(value)
    return tuple(out), pos


def parse_nonkey(cv: ChangeVector, index: int) -> NonKey:
    """The non-key part: fb, lb, cc, then cc columns that fill the field exactly.

    A part that goes on in the overflow segment (N without L) may carry the overflow
    address before its columns, as a heap row head does; which of the two layouts the
    bytes hold is decided by which one they fill exactly, and neither is refused."""
    data = _need(cv, index, NONKEY_COLUMNS, "IOT non-key")
    fb, cc, e = data[NONKEY_FB], data[NONKEY_CC], cv.endian
    where = {"opcode": f"{cv.header.layer}.{cv.header.code}", "field": index}
    starts = [NONKEY_COLUMNS]
    if fb & FB_NEXT and not fb & FB_LAST:
        starts.append(NONKEY_COLUMNS + NRID_SIZE)
    for start in starts:
        try:
            columns, end = _columns(data, start, cc, e)
        except ParseError:
            continue
        if end == len(data):
            nrid = None
            if start > NONKEY_COLUMNS:
                nrid = (e.u32(data, NONKEY_COLUMNS), e.u16(data, NONKEY_COLUMNS + 4))
            return NonKey(fb=fb, columns=columns, nrid=nrid)
    raise ParseError("IOT non-key columns do not fill their field", **where,
                     expected=cc, found=len(data))


def _listed(cv: ChangeVector, numbers_at: int, nnew: int, nulls: memoryview,
            nulls_at: int) -> tuple[tuple[int, Value], ...]:
    """``nnew`` (column, value) pairs: u16 numbers in field ``numbers_at``, one field per
    value after it; NULL where the bitmap bit is set (or the field is empty)."""
    numbers = _need(cv, numbers_at, 2 * nnew, "IOT column numbers")
    listed = u16_array(cv.endian.order, nnew).unpack_from(numbers, 0)
    out = []
    for k in range(nnew):
        at = numbers_at + 1 + k
        if at >= len(cv.fields):
            raise ParseError("IOT column value field missing", field=at, expected=nnew)
        byte = nulls_at + k // 8
        null = byte < len(nulls) and bool(nulls[byte] & (1 << (k % 8)))
        value = None if null else (bytes(cv.field(at)) or None)
        out.append((listed[k], value))
    return tuple(out)


def parse_leaf_op(cv: ChangeVector) -> LeafOp:
    """One IOT leaf redo vector (10.2, 10.4, 10.30 or 10.35)."""
    head = _need(cv, REDO_LEAF, LEAF_MIN, "leaf operation")
    e, code = cv.endian, cv.header.code
    slot = e.u16(head, LEAF_SNO)
    key: tuple[Value, ...] = ()
    nonkey = None
    changed: tuple[tuple[int, Value], ...] = ()
    ncol = 0
    if code == LeafCode.INSERT:
        key = parse_key(cv, REDO_KEY)
        nonkey = parse_nonkey(cv, REDO_NONKEY)
    elif code == LeafCode.NONKEY:
        nonkey = parse_nonkey(cv, REDO_LNU_NONKEY)
    elif code == LeafCode.COLUMNS:
        head = _need(cv, REDO_LEAF, LCU_MIN, "10.35 leaf operation")
        ncol = head[LCU_NCOL]
        changed = _listed(cv, REDO_LCU_NUMBERS, head[LCU_NNEW], head, LCU_NULLS)
    elif code != LeafCode.DELETE:
        raise ParseError("not an IOT leaf row operation", opcode=f"10.{code}")
    return LeafOp(code=code, bdba=cv.header.dba, slot=slot, key=key, nonkey=nonkey,
                  changed=changed, ncol=ncol)


def parse_leaf_undo(cv: ChangeVector) -> LeafUndo:
    """The IOT part of a 5.1 with opc 10.22: kdilk, key, the old non-key data, and the
    supplemental fields after them. Kinds other than those of :data:`UNDO_OF` are read
    up to the key (the caller refuses them)."""
    kdilk = _need(cv, UNDO_KDILK, KDILK_MIN, "kdilk")
    e = cv.endian
    kind, flags = kdilk[KDILK_TYPE], kdilk[KDILK_FLAGS]
    key = parse_key(cv, UNDO_KEY)
    nonkey = None
    changed: tuple[tuple[int, Value], ...] = ()
    ncol = 0
    after = UNDO_NEXT
    if kind in (UndoKind.RESTORE, UndoKind.NONKEY):
        nonkey = parse_nonkey(cv, UNDO_NEXT)
        after = UNDO_NEXT + 1
    elif kind == UndoKind.COLUMNS:
        kdilk = _need(cv, UNDO_KDILK, KDILK_LCU_MIN, "kdxlcnu kdilk")
        shift = KDILK_LCU - LCU_FLAG
        ncol, nnew = kdilk[shift + LCU_NCOL], kdilk[shift + LCU_NNEW]
        changed = _listed(cv, UNDO_NEXT, nnew, kdilk, shift + LCU_NULLS)
        after = UNDO_NEXT + 1 + nnew
    supplemental = None
    if flags & KDILK_SUPPLEMENTAL and kind in UNDO_OF.values():
        supplemental = parse_supplemental(cv, after)
        if supplemental is None:
            raise ParseError("IOT undo flags supplemental data that is not there",
                             opcode="5.1", field=after)
    return LeafUndo(kind=kind, flags=flags, bdba=e.u32(kdilk, KDILK_BLOCK), key=key,
                    nonkey=nonkey, changed=changed, ncol=ncol, supplemental=supplemental)
