"""Field contents of the change vectors an index-organized table's DML writes: the 5.1
undo with its kdilk field (ktub opc 10.22) and the layer-10 leaf operation.

Offsets are the reader's (:mod:`drcapture.redo.ops.iot`). Field order and sizes, and
every constant below, are as in the real records oracdc ``Op10_30_Test/000`` and
``Op10_35_Test/000``, ``/001`` (19c; docs/REDO_FORMAT.md "Index-organized tables"):
5.1 = ktudb, ktub, KTB, kdilk, key, old non-key data, supplemental fields; 10.30 = KTB,
leaf header, the new non-key part; 10.35 = KTB, leaf header with the column-update
fields, column numbers, one field per value.

10.2 (insert) and 10.4 (delete) are not in our fixtures: their field order (KTB, leaf
header, key, non-key part; KTB, leaf header) is oracdc's parser's, their undo kinds
(kdxlpu purge, kdxlre restore) its names, and their header bytes those of the updates.
Which of 10.30 and 10.35 Oracle picks is not known: the writer uses 10.30 when the old
row stored no non-key column (as in Op10_30_Test) and 10.35 otherwise. Overflow
segments and the undo a rollback applies to a leaf are not written (no record shows
them); the workload builder refuses them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from drcapture.redo.ops import iot as I
from drcapture.redo.ops import undo as U
from drcapture.redo.ops.kdo import FB_FIRST, FB_HEAD, FB_LAST
from drcapture.synth.writer_ops import (
    KTB_FLAGS_VALUE,
    SHORT_COLUMN_MAX,
    RowAt,
    Txn,
    Uba,
    Value,
    afn_of,
    ktb_f,
    ktb_z,
)
from drcapture.synth.writer_records import Packer, VectorSpec

KTB_C: Final = 0x02  # KTB redo 'C' (16 bytes, an undo address at 8): fixture 5.1 and 10.x
KTB_C_SIZE: Final = 16
LEAF_ITL_VALUE: Final = 2  # every fixture leaf header and kdilk
LEAF_FLAGS_VALUE: Final = 0x10  # every fixture leaf header
LCU_FLAG_VALUE: Final = 0x02  # 10.35 flag byte, redo and undo, in both fixtures
KDILK_FLAGS_VALUE: Final = 0x95  # 0x80 (supplemental follows) | 0x15: Op10_30/Op10_35 000
KDILK_TABLE_COLUMNS: Final = 23  # u8 after nnew in the undo: 7 for the 7-column table
LCU_UNDO_TAIL: Final = 2  # the fixture kdilk has 2 zero bytes after its NULL bitmap
NONKEY_FB: Final = FB_HEAD | FB_FIRST | FB_LAST  # --H-FL--, the fixtures' non-key part
NONKEY_LOCK: Final = 1
LEAF_ROW_OVERHEAD: Final = 4  # row size = key + non-key part + 4 (fixture 83 = 22 + 57 + 4)
SUPP_SIZE: Final = 28  # the fixtures' supplemental header
SUPP_FB: Final = 0x0C  # first + last: Op10_30/000 and Op10_35/001
SUPP_ONE: Final = 4  # u16 1
SUPP_BYTE_13: Final = 13  # 0x10 in every fixture header
SUPP_BYTE_17: Final = 17  # 0x02 in every fixture header


def column(p: Packer, value: Value) -> bytes:
    """One column in row format (0xFF NULL, a length byte, or 0xFE and a u16)."""
    if value is None:
        return b"\xff"
    if len(value) < SHORT_COLUMN_MAX:
        return bytes([len(value)]) + value
    return b"\xfe" + p.u16(len(value)) + value


def key_field(p: Packer, key: Sequence[Value]) -> bytes:
    """The key of a leaf row: its columns in row format, back to back."""
    return b"".join(column(p, v) for v in key)


def nonkey_field(p: Packer, nonkey: Sequence[Value]) -> bytes:
    """The non-key part: fb, lb, cc, columns (trailing NULLs not stored)."""
    return bytes([NONKEY_FB, NONKEY_LOCK, len(nonkey)]) + key_field(p, nonkey)


def ktb_c(p: Packer, uba: Uba) -> bytes:
    """KTB 'C': op, flags, six bytes, an undo byte address."""
    return bytes([KTB_C, KTB_FLAGS_VALUE]) + bytes(6) + p.u32(uba.dba) + p.u16(uba.seq) + bytes(
        [uba.rec & 0xFF, 0])


def leaf_header(p: Packer, slot: int, row_size: int) -> bytearray:
    """10.x field 1: itl, flags, slot, row size."""
    buf = bytearray(I.LEAF_MIN)
    buf[I.LEAF_ITL] = LEAF_ITL_VALUE
    buf[I.LEAF_FLAGS] = LEAF_FLAGS_VALUE
    p.put16(buf, I.LEAF_SNO, slot)
    p.put16(buf, I.LEAF_ROW_SIZE, row_size)
    return buf


def _nulls(values: Sequence[Value]) -> bytes:
    bitmap = bytearray(max(1, (len(values) + 7) // 8))
    for k, value in enumerate(values):
        if value is None:
            bitmap[k // 8] |= 1 << (k % 8)
    return bytes(bitmap)


def lcu_fields(p: Packer, into: bytearray, at: int, ncol: int,
               changes: Sequence[tuple[int, Value]], size: int) -> bytearray:
    """The 10.35 header fields (flag, ncol, nnew, size, NULL bitmap) at ``at``."""
    nulls = _nulls([v for _, v in changes])
    need = at + (I.LCU_NULLS - I.LCU_FLAG) + len(nulls)
    if len(into) < need:
        into.extend(bytes(need - len(into)))
    into[at] = LCU_FLAG_VALUE
    into[at + I.LCU_NCOL - I.LCU_FLAG] = ncol
    into[at + I.LCU_NNEW - I.LCU_FLAG] = len(changes)
    p.put16(into, at + I.LCU_SIZE - I.LCU_FLAG, size)
    start = at + I.LCU_NULLS - I.LCU_FLAG
    into[start : start + len(nulls)] = nulls
    return into


def kdilk(p: Packer, kind: int, leaf: RowAt) -> bytearray:
    """5.1 field 3: the undo kind, itl, flags, index segment header, leaf block."""
    buf = bytearray(I.KDILK_MIN)
    buf[I.KDILK_TYPE] = kind
    buf[I.KDILK_ITL] = LEAF_ITL_VALUE
    buf[I.KDILK_FLAGS] = KDILK_FLAGS_VALUE
    p.put32(buf, I.KDILK_INDEX, leaf.hdba)
    p.put32(buf, I.KDILK_BLOCK, leaf.bdba)
    return buf


def supplemental(p: Packer, op_type: int, start_undo: int, start_redo: int,
                 columns: Sequence[tuple[int, Value]]) -> tuple[bytes, ...]:
    """The 28-byte supplemental header of the fixtures, then (with columns logged) their
    numbers, lengths and one field per value."""
    head = bytearray(SUPP_SIZE)
    head[U.SUPP_TYPE] = op_type
    head[U.SUPP_FB] = SUPP_FB
    p.put16(head, U.SUPP_CC, len(columns))
    p.put16(head, SUPP_ONE, 1)
    p.put16(head, U.SUPP_START_UNDO, start_undo)
    p.put16(head, U.SUPP_START_REDO, start_redo)
    head[SUPP_BYTE_13] = 0x10
    head[SUPP_BYTE_17] = 0x02
    if not columns:
        return (bytes(head),)
    numbers = b"".join(p.u16(n) for n, _ in columns)
    lengths = b"".join(p.u16(len(v or b"")) for _, v in columns)
    return (bytes(head), numbers, lengths, *(v or b"" for _, v in columns))


def ktb_pair(p: Packer, txn: Txn, uba: Uba, previous: Uba | None) -> tuple[bytes, bytes]:
    """(undo KTB, redo KTB): a transaction's first change carries its XID ('F', with 'Z'
    in the undo, as heap rows do); later ones 'C' with the previous and this undo
    address, as in the fixtures."""
    if previous is None:
        return ktb_z(p), ktb_f(p, txn, uba)
    return ktb_c(p, previous), ktb_c(p, uba)


def leaf_vector(code: int, fields: Sequence[bytes], leaf: RowAt, index_obj: int, scn: int,
                con_id: int) -> VectorSpec:
    """A 10.x vector on the leaf block (the index's data object)."""
    return VectorSpec(layer=10, code=code, fields=tuple(fields), cls=1, afn=afn_of(leaf.bdba),
                      dba=leaf.bdba, scn=scn, data_obj=index_obj, con_id=con_id)
