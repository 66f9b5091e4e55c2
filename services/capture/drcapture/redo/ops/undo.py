"""Layer 5 (transaction undo): 5.1 undo record, 5.2 transaction begin, 5.4 commit or
rollback, 5.6 / 5.11 partial-rollback marks.

A 5.1 carries the row operation that would undo the change made by the 11.x vector next
to it, and — with supplemental logging — the extra columns LogMiner needs, plus the
first/last flags that tie several records into one logical row change.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Final, NamedTuple

from drcommon.errors import CorruptRedo, ParseError

from drcapture.errors import UndecodableChange
from drcapture.redo.binary import SCN_MAX, Buffer, Endian, u16_array
from drcapture.redo.layout import CV_SCN, RECORD_CON_UID, UNDO_CLASS_BASE, ByteOrder
from drcapture.redo.ops.kdo import RowOp, parse_ktb, parse_row_op
from drcapture.redo.vectors import ChangeVector, VectorSlot
from drcapture.redo.xid import Xid

# --- 5.1 field 0: ktudb ------------------------------------------------------------------
KTUDB_SIZE: Final = 0  # u16: undo record size
KTUDB_SPACE: Final = 2  # u16
KTUDB_FLAGS: Final = 4  # u16
KTUDB_XID_USN: Final = 8  # u16: transaction id
KTUDB_XID_SLOT: Final = 10  # u16
KTUDB_XID_SQN: Final = 12  # u32
KTUDB_SEQ: Final = 16  # u16: undo block sequence
KTUDB_REC: Final = 18  # u8: record number inside the undo block
KTUDB_MIN: Final = 20

# --- 5.1 field 1 / 5.6 / 5.11 field 0: ktub (ktubu, or ktubl at transaction start) ------
KTUB_OBJ: Final = 0  # u32: object number
KTUB_DATA_OBJ: Final = 4  # u32: data object number
KTUB_TSN: Final = 8  # u32: tablespace number
KTUB_PREV_DBA: Final = 12  # u32
KTUB_OPC_LAYER: Final = 16  # u8: layer of the operation this undo reverses
KTUB_OPC_CODE: Final = 17  # u8: its code (11.1 = row op follows)
KTUB_SLOT: Final = 18  # u8: transaction slot
KTUB_RCI: Final = 19  # u8
KTUB_FLAGS: Final = 20  # u16: see UndoFlag
KTUB_MIN: Final = 24

# --- supplemental logging header (a field after the undo row data) ----------------------
SUPP_TYPE: Final = 0  # u8: LogMiner op: 1 update, 2 insert, 4 delete
SUPP_FB: Final = 1  # u8: F/L flags: first/last record of one logical row change
SUPP_CC: Final = 2  # u16: supplemental columns logged in the fields that follow (fixture)
SUPP_NULL: Final = 0xFFFF  # a logged column's length when it is NULL (its field is empty)
SUPP_START_UNDO: Final = 6  # u16: 1-based column number of the undo piece's first column
SUPP_START_REDO: Final = 8  # u16: 1-based column number of the redo piece's first column
SUPP_BDBA: Final = 20  # u32: block of the row head (optional, field >= 26 bytes)
SUPP_SLOT: Final = 24  # u16: slot of the row head
SUPP_MIN: Final = 20
SUPP_ROW_MIN: Final = 26

# --- 5.2 field 0: ktudh --------------------------------------------------------------------
KTUDH_SLOT: Final = 0  # u16
KTUDH_SQN: Final = 4  # u32
KTUDH_UBA: Final = 8  # 7 bytes: undo byte address
KTUDH_FLAGS: Final = 16  # u8
KTUDH_MIN: Final = 20
# 12.1+: the vector's last field, when 4 bytes long (after ktudh, or after a 36-byte kteop),
# is the u32 container uid of the transaction: the record header's CON_UID in every real
# begin (fixture: free23 1385559638 in FREEPDB1, 1 in CDB$ROOT; oracdc; OLR
# `OpCode0502.cpp` calls it pdbid). Absent in 11g and in a non-container database.
KTUDH_CON_UID_LEN: Final = 4

# --- 5.4 field 0: ktucm --------------------------------------------------------------------
KTUCM_SLOT: Final = 0  # u16
KTUCM_SQN: Final = 4  # u32
KTUCM_SRT: Final = 8  # u16
KTUCM_STA: Final = 12  # u32
KTUCM_FLAGS: Final = 16  # u8: 0x04 = the transaction rolled back
KTUCM_MIN: Final = 20
KTUCM_ROLLBACK: Final = 0x04
KTUCM_TIME_FIELD_LEN: Final = 4  # a last field of 4 bytes: u32 commit time (Unix seconds)


# One unpack for the fixed fields the quick paths and the begin/end parsers read.
_SLOT_SQN_FLAGS: Final = {  # ktudh / ktucm: slot u16 @0, wrap u32 @4, flags u8 @16
    order: struct.Struct(order.value + "H2xI8xB") for order in ByteOrder
}
_SCN: Final = {order: struct.Struct(order.value + "IHH") for order in ByteOrder}
_XID: Final = {order: struct.Struct(order.value + "HHI") for order in ByteOrder}  # usn, slot, sqn
_KTUB: Final = {  # obj u32, data obj u32, (tsn, prev dba), opc layer, code, slot, (rci), flags
    order: struct.Struct(order.value + "II8xBBBxH") for order in ByteOrder
}
_SUPP_HEAD: Final = {  # type u8, fb u8, cc u16, (2 bytes), start undo u16 @6, start redo u16 @8
    order: struct.Struct(order.value + "BBH2xHH") for order in ByteOrder
}
_SUPP_ROW: Final = {order: struct.Struct(order.value + "IH") for order in ByteOrder}

_KTUB_QUICK: Final = {  # ktub: obj u32 @0, opc layer u8 @16, code u8 @17, flags u16 @20
    order: struct.Struct(order.value + "I12xBB2xH") for order in ByteOrder
}
assert KTUDH_SLOT == KTUCM_SLOT == 0 and KTUDH_SQN == KTUCM_SQN == 4
assert KTUDH_FLAGS == KTUCM_FLAGS == 16 and KTUB_OPC_LAYER == 16 and KTUB_FLAGS == 20
assert KTUB_SLOT == 18 and KTUB_DATA_OBJ == 4 and KTUDB_XID_SLOT == 10 and KTUDB_XID_SQN == 12
assert SUPP_CC == 2 and SUPP_START_UNDO == 6 and SUPP_START_REDO == 8
assert SUPP_SLOT == SUPP_BDBA + 4


class UndoFlag(IntEnum):
    """ktub flag bits."""

    MULTI_BLOCK_HEAD = 0x0001
    MULTI_BLOCK_TAIL = 0x0002
    LAST_BUFFER_SPLIT = 0x0004
    BEGIN_TRANSACTION = 0x0008
    USER_UNDO_DONE = 0x0010
    TEMP_OBJECT = 0x0020
    USER_ONLY = 0x0040
    TABLESPACE_UNDO = 0x0080
    MULTI_BLOCK_MIDDLE = 0x0100


MULTI_BLOCK = UndoFlag.MULTI_BLOCK_HEAD | UndoFlag.MULTI_BLOCK_TAIL | UndoFlag.MULTI_BLOCK_MIDDLE

# Undo of operations of these layers changes no row: transaction control (5), space
# management of segments, extents and bitmaps (13, 14, 22; e.g. a LOB segment's 13.54).
# (fixtures: free23 undo of 5.7, 13.9, 22.3, 22.14; notes/lob-redo-facts.md for 13.54.)
NON_ROW_UNDO_LAYERS = frozenset({5, 13, 14, 22})


class SuppType(IntEnum):
    """LogMiner operation named in the supplemental header."""

    UPDATE = 1
    INSERT = 2
    DELETE = 4


@dataclass(frozen=True, slots=True)
class Supplemental:
    """Supplemental-logging data of an undo record."""

    op_type: int
    fb: int
    column_count: int  # the header's count: one number, one length, one value each
    start_undo: int
    start_redo: int
    row: tuple[int, int] | None  # (bdba, slot) of the row head, when logged
    columns: tuple[tuple[int, bytes | None], ...]  # (1-based column number, value)

    @property
    def first(self) -> bool:
        """This record opens a logical row change."""
        return bool(self.fb & 0x08)

    @property
    def last(self) -> bool:
        """This record closes a logical row change."""
        return bool(self.fb & 0x04)


@dataclass(frozen=True, slots=True)
class Ktub:
    """The undo header shared by 5.1, 5.6 and 5.11."""

    obj: int
    data_obj: int
    opc: tuple[int, int]
    slot: int
    flags: int


@dataclass(frozen=True, slots=True)
class UndoRecord:
    """5.1: undo for one change; ``row_op`` is the row op that would reverse it."""

    xid: Xid
    ktub: Ktub
    row_op: RowOp | None
    supplemental: Supplemental | None
    undo_rec: int
    row_error: str | None = None  # why the row op could not be decoded (a variant refused)

    @property
    def obj(self) -> int:
        """Object number of the table changed."""
        return self.ktub.obj


class TxBegin(NamedTuple):
    """5.2: a transaction takes an undo slot. (Begin and end are named tuples: they are
    read for every transaction, captured or not.)

    ``con_uid`` is the container uid the 12.1+ begin names in its last field (the same
    as its record's), None when the vector has no such field.
    """

    xid: Xid
    flags: int
    con_uid: int | None


class TxEnd(NamedTuple):
    """5.4: commit, or end of a rollback when ``rollback`` is set.

    ``scn`` is the vector's SCN: the commit SCN (the record's own SCN may be later);
    ``unix_time`` is the commit time in seconds since 1970 when the last field holds it.
    """

    xid: Xid
    flags: int
    scn: int
    unix_time: int | None

    @property
    def rollback(self) -> bool:
        """True when the transaction was rolled back as a whole."""
        return bool(self.flags & KTUCM_ROLLBACK)


@dataclass(frozen=True, slots=True)
class PartialRollback:
    """5.6 (user undo applied to one undo record) / 5.11 (rollback DBA in the slot).

    Both come with the row operation that undid one earlier change; the XID names only
    the undo segment and slot.
    """

    code: int
    xid: Xid
    ktub: Ktub


def _usn(cv: ChangeVector) -> int:
    usn = cv.header.usn
    if usn is None:
        raise ParseError("undo vector on a non-undo block class", opcode=_op(cv),
                         found=cv.header.cls)
    return usn


def _op(cv: ChangeVector) -> str:
    return f"{cv.header.layer}.{cv.header.code}"


def _need(cv: ChangeVector, index: int, size: int, what: str) -> memoryview:
    if cv.field_len(index) < size:
        raise ParseError(f"{what} field too short", opcode=_op(cv), field=index,
                         expected=size, found=cv.field_len(index))
    return cv.field(index)


def parse_ktub(cv: ChangeVector, index: int) -> Ktub:
    """The ktub field at ``index``."""
    f = _need(cv, index, KTUB_MIN, "ktub")
    obj, data_obj, opc_layer, opc_code, slot, flags = _KTUB[cv.endian.order].unpack_from(f, 0)
    return Ktub(obj=obj, data_obj=data_obj, opc=(opc_layer, opc_code), slot=slot, flags=flags)


def parse_supplemental(cv: ChangeVector, index: int) -> Supplemental | None:
    """Supplemental-logging data starting at field ``index``, if present there.

    The header's column count is exact in every real record (free23 and oracdc): the
    column-number and length fields hold that many u16 each, and that many value fields
    follow, each as long as its length says (empty for NULL, length 0xFFFF). A header
    that disagrees with the fields after it is damage and raises :class:`CorruptRedo`.
    With a count of 0 no column fields are read (other fields may follow, as in oracdc
    ``Ops_IRP_ORP_BindingTest/000``).
    """
    if cv.field_len(index) < SUPP_MIN:
        return None
    f = cv.field(index)
    order = cv.endian.order
    row = None
    if len(f) >= SUPP_ROW_MIN:
        row = _SUPP_ROW[order].unpack_from(f, SUPP_BDBA)
    op_type, fb, count, start_undo, start_redo = _SUPP_HEAD[order].unpack_from(f, 0)
    columns = _supplemental_columns(cv, index, count) if count else ()
    return Supplemental(op_type=op_type, fb=fb, column_count=count, start_undo=start_undo,
                        start_redo=start_redo, row=row, columns=columns)


def _supplemental_columns(cv: ChangeVector, index: int,
                          count: int) -> tuple[tuple[int, bytes | None], ...]:
    """The ``count`` columns the supplemental header at ``index`` announces."""
    fields = cv.fields
    if index + 2 + count >= len(fields):
        raise CorruptRedo("supplemental columns missing: fewer fields than the header's count",
                          opcode=_op(cv), field=index, expected=f"{count} column fields",
                          found=max(0, len(fields) - index - 3))
    for at, what in ((index + 1, "column numbers"), (index + 2, "column lengths")):
        if fields[at][1] != 2 * count:
            raise CorruptRedo(f"supplemental {what} disagree with the header's column count",
                              opcode=_op(cv), field=at, expected=2 * count,
                              found=fields[at][1])
    array = u16_array(cv.endian.order, count)
    data = cv.data
    listed = array.unpack_from(data, fields[index + 1][0])
    sizes = array.unpack_from(data, fields[index + 2][0])
    columns: list[tuple[int, bytes | None]] = []
    for k in range(count):
        offset, length = fields[index + 3 + k]
        size = sizes[k]
        if length != (0 if size == SUPP_NULL else size):
            raise CorruptRedo("supplemental column value disagrees with its logged length",
                              opcode=_op(cv), field=index + 3 + k, column=listed[k],
                              expected=size, found=length)
        columns.append((listed[k], data[offset : offset + length] if length else None))
    return tuple(columns)


def parse_5_1(cv: ChangeVector) -> UndoRecord:
    """5.1 undo record: ktudb, ktub, then (for row undo) KTB redo, kdo and row data."""
    f = _need(cv, 0, KTUDB_MIN, "ktudb")
    usn, slot, sqn = _XID[cv.endian.order].unpack_from(f, KTUDB_XID_USN)
    ktub = parse_ktub(cv, 1)
    row_op = None
    supplemental = None
    row_error = None
    if ktub.opc == (11, 1) and not ktub.flags & MULTI_BLOCK and len(cv.fields) > 3:
        try:
            row_op = parse_row_op(cv, 3, parse_ktb(cv, 2))
            supplemental = parse_supplemental(cv, row_op.next_field)
        except UndecodableChange as exc:  # whose change it is, the ktub still says
            row_op, supplemental, row_error = None, None, str(exc)
    return UndoRecord(xid=Xid(usn, slot, sqn), ktub=ktub, row_op=row_op,
                      supplemental=supplemental, undo_rec=f[KTUDB_REC], row_error=row_error)


def parse_5_2(cv: ChangeVector) -> TxBegin:
    """5.2 transaction begin (undo segment header slot taken).

    A 12.1+ begin whose container uid differs from its record header's is damage."""
    f = _need(cv, 0, KTUDH_MIN, "ktudh")
    con_uid = None
    last = len(cv.fields) - 1
    if cv.header.con_id is not None and last > 0 and cv.field_len(last) == KTUDH_CON_UID_LEN:
        e = cv.endian
        con_uid = e.u32(cv.field(last), 0)
        record_uid = e.u32(cv.data, RECORD_CON_UID)
        if con_uid != record_uid:
            raise CorruptRedo("transaction begin names another container than its record",
                              opcode=_op(cv), field=last, expected=record_uid, found=con_uid)
    return _begin(f, 0, cv.endian, _usn(cv), con_uid)


def _begin(buf: Buffer, at: int, e: Endian, usn: int, con_uid: int | None) -> TxBegin:
    """The 5.2 ktudh at ``at`` (checked to be long enough)."""
    slot, sqn, flags = _SLOT_SQN_FLAGS[e.order].unpack_from(buf, at)
    new = tuple.__new__  # named tuples built without their keyword-checking __new__
    return new(TxBegin, (new(Xid, (usn, slot, sqn)), flags, con_uid))


def parse_5_4(cv: ChangeVector) -> TxEnd:
    """5.4 commit / rollback (transaction slot state change)."""
    f = _need(cv, 0, KTUCM_MIN, "ktucm")
    e = cv.endian
    unix_time = None
    if len(cv.fields) > 1 and cv.field_len(len(cv.fields) - 1) == KTUCM_TIME_FIELD_LEN:
        unix_time = e.u32(cv.field(len(cv.fields) - 1), 0)
    return _end(f, 0, e, _usn(cv), cv.header.scn, unix_time)


def _end(buf: Buffer, at: int, e: Endian, usn: int, scn: int, unix_time: int | None) -> TxEnd:
    """The 5.4 ktucm at ``at`` (checked to be long enough)."""
    slot, sqn, flags = _SLOT_SQN_FLAGS[e.order].unpack_from(buf, at)
    new = tuple.__new__
    return new(TxEnd, (new(Xid, (usn, slot, sqn)), flags, scn, unix_time))


# --- the same facts read straight from a scanned record (no ChangeVector built) ----------
# Each returns None where the full parser would raise: the caller then runs that parser.


def quick_begin(data: bytes, slot: VectorSlot, e: Endian, wide: bool) -> TxBegin | None:
    """What :func:`parse_5_2` returns for ``slot`` of a record in the 12.1+ layout when
    ``wide``."""
    lengths = slot.lengths
    if not lengths or lengths[0] < KTUDH_MIN or slot.cls < UNDO_CLASS_BASE:
        return None
    con_uid = None
    last = len(lengths) - 1
    if wide and last > 0 and lengths[last] == KTUDH_CON_UID_LEN:
        con_uid = e.u32(data, slot.field_at(last))
        if con_uid != e.u32(data, RECORD_CON_UID):
            return None
    return _begin(data, slot.fields_at, e, (slot.cls - UNDO_CLASS_BASE) // 2, con_uid)


def quick_end(data: bytes, slot: VectorSlot, e: Endian) -> TxEnd | None:
    """What :func:`parse_5_4` returns for ``slot``."""
    lengths = slot.lengths
    if not lengths or lengths[0] < KTUCM_MIN or slot.cls < UNDO_CLASS_BASE:
        return None
    unix_time = None
    if len(lengths) > 1 and lengths[-1] == KTUCM_TIME_FIELD_LEN:
        unix_time = e.u32(data, slot.field_at(len(lengths) - 1))
    base, wrap, ext = _SCN[e.order].unpack_from(data, slot.offset + CV_SCN)
    if base == 0xFFFFFFFF and wrap == 0xFFFF:  # read as Endian.scn reads it
        scn = SCN_MAX
    elif wrap & 0x8000:
        scn = base | (ext << 32) | ((wrap & 0x7FFF) << 48)
    else:
        scn = base | (wrap << 32)
    return _end(data, slot.fields_at, e, (slot.cls - UNDO_CLASS_BASE) // 2, scn, unix_time)


def quick_rollback(data: bytes, slot: VectorSlot, e: Endian) -> tuple[int, int, int] | None:
    """For a 5.6 / 5.11: (object, undo segment, transaction slot), as
    :func:`parse_partial_rollback` reads them."""
    lengths = slot.lengths
    if not lengths or lengths[0] < KTUB_MIN or slot.cls < UNDO_CLASS_BASE:
        return None
    obj, _, _, _, txn_slot, _ = _KTUB[e.order].unpack_from(data, slot.fields_at)
    return obj, (slot.cls - UNDO_CLASS_BASE) // 2, txn_slot


def quick_undo(data: bytes, slot: VectorSlot, e: Endian) -> tuple[int, bool] | None:
    """For a 5.1: the object it changes, and whether it undoes a change of rows (its
    operation's layer is not in :data:`NON_ROW_UNDO_LAYERS`), read as :func:`parse_5_1`
    reads them."""
    lengths = slot.lengths
    if len(lengths) < 2 or lengths[0] < KTUDB_MIN or lengths[1] < KTUB_MIN:
        return None
    at = slot.fields_at + ((lengths[0] + 3) & ~3)  # field 1: ktub
    obj, opc_layer, _, _ = _KTUB_QUICK[e.order].unpack_from(data, at)
    return obj, opc_layer not in NON_ROW_UNDO_LAYERS


def parse_partial_rollback(cv: ChangeVector) -> PartialRollback:
    """5.6 / 5.11: the ktub of the undo record that was applied."""
    ktub = parse_ktub(cv, 0)
    return PartialRollback(code=cv.header.code, xid=Xid(_usn(cv), ktub.slot, None), ktub=ktub)
