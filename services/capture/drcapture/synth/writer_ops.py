"""Field contents of the change vectors the workload writer emits: layer 5 (undo,
transaction begin/end, partial rollback) and layer 11 (row pieces).

Offsets are the reader's (:mod:`drcapture.redo.ops.undo`, :mod:`drcapture.redo.ops.kdo`);
field sizes, flag values and field order follow what real Oracle 19c/23ai records in
``shared/fixtures/redo`` carry (dumped and compared while writing this module; see
docs/REDO_FORMAT.md "Value encodings" and the layout sections). Values that only
Oracle's internals use (free space, ITL indexes …) are plausible constants.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Final

from drcapture.redo import layout as L
from drcapture.redo.ops import compressed as C
from drcapture.redo.ops import kdo as K
from drcapture.redo.ops import undo as U
from drcapture.synth.writer_records import Packer, Platform, VectorSpec

Value = bytes | None  # one column's stored bytes; None is NULL

# Constants seen in the fixtures, not interpreted by the reader.
KTUDB_FLAGS_VALUE: Final = 0x0012
KTUDH_FLAGS_12C: Final = 0x52
KTUDH_FLAGS_11G: Final = 0x12
KTUDH_UNDO_SIZE: Final = 18  # u16 after the flags: size of the first undo record
KTUBL_SIZE: Final = 76  # the begin-transaction form of ktub
KTUBL_FLAGS: Final = 0x0C08  # BEGIN_TRANSACTION plus two bits always seen with it
# u16 at 22 of a ktub: the low 16 bits of the XID's sqn (185 of 185 ktubu, 58 of 58 5.6/5.11
# marks), 1 when the flags carry KTUBL_FLAGS (30 of 30 ktubl, 2 of 2 such marks).
KTUB_SQN16: Final = 22
KTUBL_SQN16: Final = 1
# ktubl (OLR/ORACDC dump names): prev ctl uba @28, prev ctl max cmt SCN @36, prev tx cmt
# SCN @44, txn start SCN @56 (all FF in every 12c+ record; 6 FF bytes in the 11g one),
# prev brb @64, prev bcl @68, logon user @72 (user# 136 = OLR_TEST in free23 0x244.0168).
KTUBL_START_SCN: Final = 56
KTUBL_START_SCN_LEN_12C: Final = 8
KTUBL_START_SCN_LEN_11G: Final = 6  # a 48-bit SCN in the 11g layout
KTUCM_COMMIT_FLAGS: Final = 0x12
KTUCM_STA: Final = 9
KTUCF_SIZE: Final = 16
COMMIT_TIME_FIELD: Final = 24  # 12c+: a field with the commit time at offset 8 ...
COMMIT_TIME_AT: Final = 8  # ... repeated as the vector's last, 4-byte field
SUPP_HEADER_SIZE: Final = 20
SUPP_ONE: Final = 4  # u16 1 in every free23 supplemental header (meaning not known)
SUPP_UPDATE_AT: Final = 13  # u8 0x10 in (nearly) every update's header, 0 for insert/delete
SUPP_UPDATE_BIT: Final = 0x10
SUPP_TAIL: Final = 16  # bytes 00 02 00 00 close the free23 user-table header (0x244.0168)
SUPP_TAIL_VALUE: Final = 0x02
SUPP_FB_SINGLE: Final = 0x1C  # first + last (+0x10) for a change in one record
SUPP_FB_FIRST: Final = 0x08  # opens a row change of several records (fixture 0x20a.9a65.148)
SUPP_FB_LAST: Final = 0x04  # closes it (fixture 0x20a.9a66.cc)
SUPP_ROW_HEADER_SIZE: Final = 28  # with the row head's block and slot at 20/24 (same records)
KTB_F: Final = 0x01
KTB_Z: Final = 0x03
KTB_FLAGS_VALUE: Final = 0x0D  # has the 0x08 bit: XID after an 8-byte prefix
KDO_MAXFR: Final = 0x12FA
KDO_XTYPE: Final = 0x01
KDO_UNDO_BIT: Final = 0x20  # in the op byte of every undo row op (180 of 180) and every row
#   op a rollback applies (60 of 60), never in a redo row op (180 of 180)
KDO_XTYPE_ROLLBACK: Final = 0x02  # xtype of a row op a rollback applies (60 of 60)
ROW_FB: Final = K.FB_HEAD | K.FB_FIRST | K.FB_LAST  # --H-FL--, a row in one piece
ROW_LOCK: Final = 1
PARTIAL_ROLLBACK_FLAGS: Final = U.UndoFlag.USER_UNDO_DONE
USER_UNDO_DONE_CODE: Final = 6  # 5.6
ROLLBACK_DBA_CODE: Final = 11  # 5.11
PARTIAL_ROLLBACK_TAIL: Final = 4  # 5.6/5.11 field 0 is a ktub plus 4 bytes (0 with KTB 'Z')
PARTIAL_ROLLBACK_TWO: Final = 2  # u32 2 at 4 of the marks' field 1 (60 of 60)
# Rows of a compressed block: table 1 (table 0 is the symbol table). kdo flags 0x08 is
# set on the IRP and DRP of such blocks in Op11_2_Test/003 and Ops_IRP_ORP_BindingTest/002
# (not on the ORP undo of /001, /003); the reader does not interpret it.
COMPRESSED_TABN: Final = 1
KDO_FLAGS_COMPRESSED: Final = 0x08
MIGRATED_FB: Final = K.FB_FIRST | K.FB_LAST  # ----FL--: the moved row's piece
STUB_FB: Final = K.FB_HEAD  # --H-----: the head left behind, pointing at the piece
SHORT_COLUMN_MAX: Final = 250  # row format: longer columns use 0xFE + u16 length


@dataclass(frozen=True, slots=True)
class Txn:
    """A transaction's undo slot (its XID) and its current undo byte address."""

    usn: int
    slot: int
    sqn: int
    undo_afn: int
    undo_header_dba: int

    @property
    def header_class(self) -> int:
        """Block class of the undo segment header (15 + 2·usn)."""
        return 15 + 2 * self.usn

    @property
    def undo_class(self) -> int:
        """Block class of the undo segment's data blocks (16 + 2·usn)."""
        return 16 + 2 * self.usn

    @property
    def xid(self) -> str:
        """``usn.slot.sqn``."""
        return f"{self.usn}.{self.slot}.{self.sqn}"


@dataclass(frozen=True, slots=True)
class Uba:
    """Undo byte address: undo block, its sequence, record number inside it."""

    dba: int
    seq: int
    rec: int


class Side(Enum):
    """Where a row op is written: as redo (11.x), inside undo (5.1), or as the redo of a
    rollback applying that undo (11.x before 5.6/5.11)."""

    REDO = "redo"
    UNDO = "undo"
    ROLLBACK = "rollback"


@dataclass(frozen=True, slots=True)
class RowAt:
    """Where a row piece lives: block, slot and the segment header block."""

    bdba: int
    slot: int
    hdba: int


# --- layer 5 fields ----------------------------------------------------------------------


def _uba(p: Packer, uba: Uba) -> bytes:
    return p.u32(uba.dba) + p.u16(uba.seq) + bytes([uba.rec & 0xFF, 0])


def ktudh(p: Packer, txn: Txn, uba: Uba, undo_size: int, platform: Platform) -> bytes:
    """5.2 field 0: slot, wrap, the first undo record's address and size."""
    buf = bytearray(32)
    p.put16(buf, U.KTUDH_SLOT, txn.slot)
    p.put32(buf, U.KTUDH_SQN, txn.sqn)
    buf[U.KTUDH_UBA : U.KTUDH_UBA + 8] = _uba(p, uba)
    buf[U.KTUDH_FLAGS] = KTUDH_FLAGS_12C if platform.wide_vectors else KTUDH_FLAGS_11G
    p.put16(buf, KTUDH_UNDO_SIZE, undo_size)
    return bytes(buf)


def ktudb(p: Packer, txn: Txn, uba: Uba, undo_size: int) -> bytes:
    """5.1 field 0: undo record size, XID and the record's place in its undo block."""
    buf = bytearray(U.KTUDB_MIN)
    p.put16(buf, U.KTUDB_SIZE, undo_size)
    p.put16(buf, U.KTUDB_FLAGS, KTUDB_FLAGS_VALUE)
    p.put16(buf, U.KTUDB_XID_USN, txn.usn)
    p.put16(buf, U.KTUDB_XID_SLOT, txn.slot)
    p.put32(buf, U.KTUDB_XID_SQN, txn.sqn)
    p.put16(buf, U.KTUDB_SEQ, uba.seq)
    buf[U.KTUDB_REC] = uba.rec & 0xFF
    return bytes(buf)


def ktub(
    p: Packer,
    obj: int,
    data_obj: int,
    txn: Txn,
    flags: int,
    *,
    begin: bool,
    wide: bool = True,
) -> bytes:
    """ktubu (24 bytes), or ktubl (76) for the transaction's first undo record.

    The ktubl's history fields (previous transaction of the slot, logon user …) are not
    modelled and stay 0; its txn start SCN is all FF as in every real ktubl."""
    buf = bytearray(KTUBL_SIZE if begin else U.KTUB_MIN)
    p.put32(buf, U.KTUB_OBJ, obj)
    p.put32(buf, U.KTUB_DATA_OBJ, data_obj)
    buf[U.KTUB_OPC_LAYER], buf[U.KTUB_OPC_CODE] = 11, 1
    buf[U.KTUB_SLOT] = txn.slot & 0xFF
    flags |= KTUBL_FLAGS if begin else 0
    p.put16(buf, U.KTUB_FLAGS, flags)
    p.put16(buf, KTUB_SQN16, KTUBL_SQN16 if flags & KTUBL_FLAGS else txn.sqn)
    if begin:
        length = KTUBL_START_SCN_LEN_12C if wide else KTUBL_START_SCN_LEN_11G
        buf[KTUBL_START_SCN : KTUBL_START_SCN + length] = b"\xff" * length
    return bytes(buf)


def undo_record_size(fields: Sequence[bytes]) -> int:
    """The size ktudb and ktudh give an undo record: the 5.1's fields after ktudb as the
    undo block stores them, a 4-aligned length array plus each field 4-aligned (215 of
    215 real 5.1s)."""
    return L.field_lengths_size(len(fields)) + sum(L.align4(len(f)) for f in fields)


def ktucm(p: Packer, txn: Txn, *, rollback: bool) -> bytes:
    """5.4 field 0: the slot, wrap and end state; bit 0x04 marks a rollback."""
    buf = bytearray(U.KTUCM_MIN)
    p.put16(buf, U.KTUCM_SLOT, txn.slot)
    p.put32(buf, U.KTUCM_SQN, txn.sqn)
    p.put32(buf, U.KTUCM_STA, KTUCM_STA)
    buf[U.KTUCM_FLAGS] = KTUCM_COMMIT_FLAGS | (U.KTUCM_ROLLBACK if rollback else 0)
    return bytes(buf)


def ktucf(p: Packer, uba: Uba) -> bytes:
    """5.4 field 1: the transaction's last undo address."""
    return _uba(p, uba) + bytes(KTUCF_SIZE - 8)


def supplemental(
    p: Packer, op_type: int, start_undo: int, start_redo: int, columns: Sequence[tuple[int, Value]],
    *, fb: int = SUPP_FB_SINGLE, row: RowAt | None = None, tail: int = SUPP_TAIL_VALUE,
) -> tuple[bytes, ...]:
    """The supplemental-logging fields: header (with the row head's address when
    ``row`` is given), then (when columns are logged) their numbers, their lengths and
    one field per value. ``tail``: the byte at 17 (0x02 for user tables, 0x0a in the
    free23 update of the dictionary table TAB$ at 0x239.00bc)."""
    head = bytearray(SUPP_HEADER_SIZE if row is None else SUPP_ROW_HEADER_SIZE)
    head[U.SUPP_TYPE] = op_type
    head[U.SUPP_FB] = fb
    p.put16(head, U.SUPP_CC, len(columns))  # the columns logged in the fields below
    if row is not None:
        p.put32(head, U.SUPP_BDBA, row.bdba)
        p.put16(head, U.SUPP_SLOT, row.slot)
    p.put16(head, SUPP_ONE, 1)
    p.put16(head, U.SUPP_START_UNDO, start_undo)
    p.put16(head, U.SUPP_START_REDO, start_redo)
    if op_type == U.SuppType.UPDATE:
        head[SUPP_UPDATE_AT] = SUPP_UPDATE_BIT
    head[SUPP_TAIL + 1] = tail
    if not columns:
        return (bytes(head),)
    numbers = b"".join(p.u16(n) for n, _ in columns)
    lengths = b"".join(p.u16(U.SUPP_NULL if v is None else len(v)) for _, v in columns)
    return (bytes(head), numbers, lengths, *(v or b"" for _, v in columns))


# --- layer 11 fields ---------------------------------------------------------------------


def ktb_f(p: Packer, txn: Txn, uba: Uba) -> bytes:
    """KTB redo 'F': the first change of this transaction in the block (carries the XID)."""
    head = bytes([KTB_F, KTB_FLAGS_VALUE]) + bytes(6)
    return head + p.u16(txn.usn) + p.u16(txn.slot) + p.u32(txn.sqn) + _uba(p, uba)


def ktb_z(p: Packer) -> bytes:
    """KTB redo 'Z' (nothing to do), as undo records carry it."""
    return bytes([KTB_Z, KTB_FLAGS_VALUE]) + bytes(6)


def _kdo_head(p: Packer, size: int, code: int, at: RowAt, side: Side) -> bytearray:
    buf = bytearray(size)
    p.put32(buf, K.KDO_BDBA, at.bdba)
    p.put32(buf, K.KDO_HDBA, at.hdba)
    p.put16(buf, K.KDO_MAXFR, KDO_MAXFR)
    buf[K.KDO_OP] = code if side is Side.REDO else code | KDO_UNDO_BIT
    buf[K.KDO_FLAGS] = KDO_XTYPE_ROLLBACK if side is Side.ROLLBACK else KDO_XTYPE
    buf[K.KDO_ITLI] = 1
    return buf


def _lock(side: Side) -> int:
    """A row's lock byte: the ITL of the changing transaction in redo; in an undo image
    (and the rollback applying it) the row's lock before the change, taken to be none
    (0 in 18 of 19 real undo IRPs, 24 of 95 undo URPs: the others were locked before)."""
    return ROW_LOCK if side is Side.REDO else 0


def _nulls(values: Sequence[Value]) -> bytes:
    bitmap = bytearray(max(1, (len(values) + 7) // 8))
    for i, value in enumerate(values):
        if value is None:
            bitmap[i // 8] |= 1 << (i % 8)
    return bytes(bitmap)


def stored(values: Sequence[Value]) -> list[Value]:
    """A row's columns as a row piece stores them: trailing NULLs are not stored."""
    out = list(values)
    while out and out[-1] is None:
        out.pop()
    return out


def column_size(value: Value) -> int:
    """Bytes a column takes in row format: its length byte(s) and data, or 1 for NULL."""
    if value is None:
        return 1
    return len(value) + (1 if len(value) < SHORT_COLUMN_MAX else 3)


def row_size(values: Sequence[Value]) -> int:
    """Bytes the row takes in a block: flag, lock, count, then each column."""
    return 3 + sum(column_size(v) for v in values)


def size_change(new: Sequence[Value], old: Sequence[Value]) -> int:
    """An update piece's s16 size change: the row-format size of the columns it writes
    minus that of the columns they replace (92 of 92 real 5.1/11.5 pairs; the undo's is
    the redo's negated)."""
    return sum(column_size(v) for v in new) - sum(column_size(v) for v in old)


def _column(p: Packer, value: Value) -> bytes:
    """A column in row format: 0xFF for NULL, else a length byte, or 0xFE and a u16
    length (in the platform's byte order, as the reader takes it), then the bytes."""
    if value is None:
        return b"\xff"
    if len(value) < SHORT_COLUMN_MAX:
        return bytes([len(value)]) + value
    return b"\xfe" + p.u16(len(value)) + value


def compressed_row(fb: int, lb: int, entries: Sequence[C.Entry]) -> bytes:
    """A row of a compressed block's data table as its redo image carries it: fb, lb,
    entry count, six unset bytes for the head row id when the piece is first but not
    head, then the entries (a symbol number, 0xFF for NULL, or 0xC8 + n and n bytes)."""
    out = bytearray([fb, lb, len(entries)])
    if fb & K.FB_FIRST and not fb & K.FB_HEAD:
        out += bytes(C.ROW_HRID_SIZE)
    for entry in entries:
        if entry.symbol is not None:
            if not 0 <= entry.symbol <= C.SYMBOL_MAX:
                raise ValueError(f"symbol {entry.symbol} has no one-byte entry code")
            out.append(entry.symbol)
        elif entry.value is None:
            out.append(C.NULL_ENTRY)
        elif C.INLINE_BASE + len(entry.value) > C.INLINE_MAX:
            raise ValueError(f"{len(entry.value)} bytes: no established inline entry code")
        else:
            out += bytes([C.INLINE_BASE + len(entry.value)]) + entry.value
    return bytes(out)


def irp_compressed(
    p: Packer, at: RowAt, entries: Sequence[C.Entry], *, code: int = K.RowCode.IRP,
    fb: int = ROW_FB, head: RowAt | None = None, undo: bool = False,
) -> list[bytes]:
    """Insert (or overwrite) a row of a compressed block: kdo on table 1, then the
    whole row image in one field (``head``: the head row id of a migrated piece). The
    redo image of a new row carries lock byte 0, an undo image the ITL (fixtures
    Op11_2_Test/003, Ops_IRP_ORP_BindingTest/001-003)."""
    image = compressed_row(fb, ROW_LOCK if undo else 0, entries)
    buf = _kdo_head(p, K.IRP_MIN + 1, code, at, Side.UNDO if undo else Side.REDO)
    buf[K.KDO_FLAGS] = KDO_XTYPE | (0 if undo else KDO_FLAGS_COMPRESSED)
    buf[K.IRP_FB] = fb
    buf[K.IRP_LB] = ROW_LOCK
    buf[K.IRP_CC] = len(entries)
    if head is not None:
        p.put32(buf, K.IRP_HRID_BDBA, head.bdba)
        p.put16(buf, K.IRP_HRID_SLOT, head.slot)
    p.put16(buf, K.IRP_SIZE, len(image))
    p.put16(buf, K.IRP_SLOT, at.slot)
    buf[K.IRP_TABN] = COMPRESSED_TABN
    return [bytes(buf), image]


def orp_stub(p: Packer, at: RowAt, piece: RowAt) -> list[bytes]:
    """Overwrite a compressed block's row with the stub of a migrated row: flags H,
    no columns, the piece's address (fixture Ops_IRP_ORP_BindingTest/001: size 9)."""
    buf = _kdo_head(p, K.IRP_MIN, K.RowCode.ORP, at, Side.REDO)
    buf[K.IRP_FB] = STUB_FB
    buf[K.IRP_LB] = ROW_LOCK
    p.put32(buf, K.IRP_NRID_BDBA, piece.bdba)
    p.put16(buf, K.IRP_NRID_SLOT, piece.slot)
    p.put16(buf, K.IRP_SIZE, 3 + 6)
    p.put16(buf, K.IRP_SLOT, at.slot)
    buf[K.IRP_TABN] = COMPRESSED_TABN
    return [bytes(buf)]


def drp_compressed(p: Packer, at: RowAt) -> list[bytes]:
    """Delete row piece of a compressed block's row (the undo of its insert)."""
    buf = bytearray(drp(p, at, Side.UNDO)[0])
    buf[K.KDO_FLAGS] = KDO_XTYPE | KDO_FLAGS_COMPRESSED
    buf[K.DRP_TABN] = COMPRESSED_TABN
    return [bytes(buf)]


def irp(
    p: Packer,
    at: RowAt,
    values: Sequence[Value],
    code: int = K.RowCode.IRP,
    side: Side = Side.REDO,
) -> list[bytes]:
    """Insert row piece (or overwrite): kdo, then one field per stored column."""
    cols = stored(values)
    nulls = _nulls(cols)
    buf = _kdo_head(p, K.IRP_MIN + len(nulls), code, at, side)
    buf[K.IRP_FB] = ROW_FB
    buf[K.IRP_LB] = _lock(side)
    buf[K.IRP_CC] = len(cols)
    p.put16(buf, K.IRP_SIZE, row_size(cols))
    p.put16(buf, K.IRP_SLOT, at.slot)
    buf[K.IRP_NULLS : K.IRP_NULLS + len(nulls)] = nulls
    return [bytes(buf), *(v or b"" for v in cols)]


def drp(p: Packer, at: RowAt, side: Side = Side.REDO) -> list[bytes]:
    """Delete row piece: kdo only."""
    buf = _kdo_head(p, K.DRP_MIN, K.RowCode.DRP, at, side)
    p.put16(buf, K.DRP_SLOT, at.slot)
    return [bytes(buf)]


def urp(
    p: Packer,
    at: RowAt,
    ncol: int,
    changes: Sequence[tuple[int, Value]],
    side: Side = Side.REDO,
    replaced: Sequence[Value] = (),
) -> list[bytes]:
    """Update row piece: kdo, the changed columns' 0-based numbers, their values
    (``replaced``: the values they overwrite, for the size change)."""
    nulls = _nulls([v for _, v in changes])
    buf = _kdo_head(p, K.URP_MIN + len(nulls), K.RowCode.URP, at, side)
    buf[K.URP_FB] = ROW_FB
    buf[K.URP_LOCK] = _lock(side)
    p.put16(buf, K.URP_SLOT, at.slot)
    buf[K.URP_NCOL] = ncol
    buf[K.URP_NNEW] = len(changes)
    p.put16(buf, K.URP_SIZE, size_change([v for _, v in changes], replaced))
    buf[K.URP_NULLS : K.URP_NULLS + len(nulls)] = nulls
    numbers = b"".join(p.u16(n) for n, _ in changes)
    return [bytes(buf), numbers, *(v or b"" for _, v in changes)]


def _qm_kdo(p: Packer, code: int, at: RowAt, slots: Sequence[int], side: Side) -> bytearray:
    buf = _kdo_head(p, max(K.QM_MIN, K.QM_SLOTS + 2 * len(slots)), code, at, side)
    buf[K.QM_LOCK] = _lock(side)
    buf[K.QM_NROW] = len(slots)
    for r, slot in enumerate(slots):
        p.put16(buf, K.QM_SLOTS + 2 * r, slot)
    return buf


def qmi(
    p: Packer,
    at: RowAt,
    slots: Sequence[int],
    rows: Sequence[Sequence[Value]],
    side: Side = Side.REDO,
) -> list[bytes]:
    """Quick multi-row insert: kdo with the slots, row sizes, then the packed rows."""
    kdo = _qm_kdo(p, K.RowCode.QMI, at, slots, side)
    images = []
    for values in rows:
        cols = stored(values)
        body = b"".join(_column(p, v) for v in cols)
        images.append(bytes([ROW_FB, _lock(side), len(cols)]) + body)
    sizes = b"".join(p.u16(len(image)) for image in images)
    return [bytes(kdo), sizes, b"".join(images)]


def qmd(p: Packer, at: RowAt, slots: Sequence[int], side: Side = Side.REDO) -> list[bytes]:
    """Quick multi-row delete: kdo with the slots."""
    return [bytes(_qm_kdo(p, K.RowCode.QMD, at, slots, side))]


# --- whole vectors -------------------------------------------------------------------------


def afn_of(dba: int) -> int:
    """The (relative) file number of a data block address."""
    return dba >> 22


def row_vector(
    code: int, fields: Sequence[bytes], at: RowAt, data_obj: int, scn: int, con_id: int
) -> VectorSpec:
    """An 11.x redo vector on a table block."""
    return VectorSpec(
        layer=11,
        code=code,
        fields=tuple(fields),
        cls=1,
        afn=afn_of(at.bdba),
        dba=at.bdba,
        scn=scn,
        data_obj=data_obj,
        con_id=con_id,
    )


def undo_vector(txn: Txn, uba: Uba, fields: Sequence[bytes], scn: int, con_id: int) -> VectorSpec:
    """A 5.1 undo record vector on an undo block."""
    return VectorSpec(
        layer=5,
        code=1,
        fields=tuple(fields),
        cls=txn.undo_class,
        afn=txn.undo_afn,
        dba=uba.dba,
        scn=scn,
        con_id=con_id,
    )


def begin_vector(
    p: Packer,
    txn: Txn,
    uba: Uba,
    undo_size: int,
    scn: int,
    con_id: int,
    con_uid: int,
    platform: Platform,
) -> VectorSpec:
    """5.2: the transaction takes its undo slot. In a 12c+ container database a last
    field holds the container's uid, the record's CON_UID; a database without containers
    (``con_uid`` 0) writes no such field (oracdc ``Ops_DRP_LMN_BindingTest/004``)."""
    fields: tuple[bytes, ...] = (ktudh(p, txn, uba, undo_size, platform),)
    if platform.wide_vectors and con_uid:
        fields += (p.u32(con_uid),)
    return VectorSpec(
        layer=5,
        code=2,
        fields=fields,
        cls=txn.header_class,
        afn=txn.undo_afn,
        dba=txn.undo_header_dba,
        scn=scn,
        con_id=con_id,
    )


def end_vector(
    p: Packer,
    txn: Txn,
    uba: Uba,
    *,
    rollback: bool,
    scn: int,
    unix_time: int,
    con_id: int,
    platform: Platform,
) -> VectorSpec:
    """5.4 commit (or rollback end); the vector's SCN is the commit SCN. 12c+ records
    carry the commit time (Unix seconds) twice, the last time as a 4-byte field."""
    fields: tuple[bytes, ...] = (ktucm(p, txn, rollback=rollback), ktucf(p, uba))
    if platform.wide_vectors:
        timed = bytearray(COMMIT_TIME_FIELD)
        p.put32(timed, COMMIT_TIME_AT, unix_time)
        fields += (bytes(timed), p.u32(unix_time))
    return VectorSpec(
        layer=5,
        code=4,
        fields=fields,
        cls=txn.header_class,
        afn=txn.undo_afn,
        dba=txn.undo_header_dba,
        scn=scn,
        con_id=con_id,
    )


def partial_rollback_vector(
    p: Packer,
    txn: Txn,
    uba: Uba,
    code: int,
    obj: int,
    data_obj: int,
    scn: int,
    con_id: int,
    *,
    first: bool,
) -> VectorSpec:
    """5.6 (user undo done, on the undo block) or 5.11 (rollback DBA in the slot, on the
    undo segment header: 14 of 14 real 5.11s): which undo record was applied. ``first``:
    it undid the transaction's first change (its ktub then carries the begin flags, as
    oracdc ``Op11_2_Test/007`` and ``Op11_3_Test/004``). Field 1 is a u32 whose meaning
    is not known (values near the record's SCN) and a u32 2."""
    flags = PARTIAL_ROLLBACK_FLAGS | (KTUBL_FLAGS if first else 0)
    head = ktub(p, obj, data_obj, txn, flags, begin=False)
    fields = (head + bytes(PARTIAL_ROLLBACK_TAIL), p.u32(scn) + p.u32(PARTIAL_ROLLBACK_TWO))
    header = code == ROLLBACK_DBA_CODE
    return VectorSpec(
        layer=5,
        code=code,
        fields=fields,
        cls=txn.header_class if header else txn.undo_class,
        afn=txn.undo_afn,
        dba=txn.undo_header_dba if header else uba.dba,
        scn=scn,
        con_id=con_id,
    )
