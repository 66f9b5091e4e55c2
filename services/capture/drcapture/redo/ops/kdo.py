"""Layer 11 (row operations, kdo): the KTB redo field, the kdo op header and the row
data of every 11.x operation, for redo vectors and for the row op embedded in undo (5.1).

Layouts (offsets inside the kdo field) with their sources are in docs/REDO_FORMAT.md.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from drcommon.errors import ParseError

from drcapture.errors import UndecodableChange
from drcapture.redo.binary import Endian, u16_array
from drcapture.redo.layout import ByteOrder
from drcapture.redo.ops.compressed import CompressedRow, in_compressed_block, parse_compressed_row
from drcapture.redo.vectors import ChangeVector
from drcapture.redo.xid import Xid

_XID: Final = {order: struct.Struct(order.value + "HHI") for order in ByteOrder}  # usn, slot, sqn
_U32: Final = {order: struct.Struct(order.value + "I") for order in ByteOrder}

# --- KTB redo field -----------------------------------------------------------------------
KTB_OP: Final = 0  # u8: 0x01/0x11 'F' (carries the XID), 0x02 'C', 0x03 'Z', 0x04 'L' …
KTB_FLAGS: Final = 1  # u8: 0x08 set = 8-byte prefix before the XID, else 4
KTB_OP_F: Final = (0x01, 0x11)
KTB_MIN: Final = 8

# --- kdo op header (first 16 bytes of every kdo field) -----------------------------------
KDO_BDBA: Final = 0  # u32: block holding the row piece
KDO_HDBA: Final = 4  # u32: segment header block
KDO_MAXFR: Final = 8  # u16
KDO_OP: Final = 10  # u8: low 5 bits = 11.x code, 0x40 = row dependencies
KDO_FLAGS: Final = 11  # u8: low 2 bits xtype; 0x80 = KDOM2 (columns packed in one field)
KDO_ITLI: Final = 12  # u8
KDO_ISPAC: Final = 13  # u8
KDO_HEADER: Final = 16
KDO_OP_MASK: Final = 0x1F
KDO_ROWDEPS: Final = 0x40
KDO_KDOM2: Final = 0x80

# --- IRP / ORP (11.2 / 11.6) ------------------------------------------------------------
IRP_FB: Final = 16  # u8: row flag byte
IRP_LB: Final = 17  # u8: lock byte
IRP_CC: Final = 18  # u8: column count of the piece
IRP_CKI: Final = 19  # u8: cluster key index
IRP_HRID_BDBA: Final = 20  # u32: head row id block (first piece of a migrated row)
IRP_HRID_SLOT: Final = 24  # u16: head row id slot
IRP_NRID_BDBA: Final = 28  # u32: next piece block (when fb has no L)
IRP_NRID_SLOT: Final = 32  # u16: next piece slot
IRP_SIZE: Final = 40  # u16: size/delta
IRP_SLOT: Final = 42  # u16: slot in the block
IRP_TABN: Final = 44  # u8: table number in a cluster
IRP_NULLS: Final = 45  # bitmap, one bit per column, set = NULL
IRP_MIN: Final = 48
# A whole row image (compressed blocks) starts like a block row: fb, lb, cc.
IMAGE_FB: Final = 0  # u8: equals the kdo's fb
IMAGE_CC: Final = 2  # u8: equals the kdo's cc

# --- DRP / LKR (11.3 / 11.4) ------------------------------------------------------------
DRP_SLOT: Final = 16  # u16
DRP_TABN: Final = 18  # u8
DRP_MIN: Final = 20

# --- URP (11.5) -------------------------------------------------------------------------
URP_FB: Final = 16  # u8: flag
URP_LOCK: Final = 17  # u8
URP_CKIX: Final = 18  # u8
URP_TABN: Final = 19  # u8
URP_SLOT: Final = 20  # u16
URP_NCOL: Final = 22  # u8: columns in the row piece
URP_NNEW: Final = 23  # u8: columns changed
URP_SIZE: Final = 24  # s16: size change
URP_NULLS: Final = 26  # bitmap over the changed columns
URP_MIN: Final = 28

# --- CFA (11.8) -------------------------------------------------------------------------
CFA_NRID_BDBA: Final = 16  # u32: new forwarding address block
CFA_NRID_SLOT: Final = 20  # u16
CFA_SLOT: Final = 24  # u16: slot of the head piece
CFA_FLAG: Final = 26  # u8
CFA_TABN: Final = 27  # u8
CFA_MIN: Final = 32

# --- QMI / QMD (11.11 / 11.12) ----------------------------------------------------------
QM_TABN: Final = 16  # u8
QM_LOCK: Final = 17  # u8
QM_NROW: Final = 18  # u8: number of rows
QM_SLOTS: Final = 20  # u16 per row: slots
QM_MIN: Final = 24

# --- row flag byte (fb) -------------------------------------------------------------------
FB_CLUSTER_KEY: Final = 0x80  # K
FB_CLUSTERED: Final = 0x40  # C
FB_HEAD: Final = 0x20  # H: head piece of the row
FB_DELETED: Final = 0x10  # D
FB_FIRST: Final = 0x08  # F: first piece
FB_LAST: Final = 0x04  # L: last piece
FB_PREV: Final = 0x02  # P: the first column continues from the previous piece
FB_NEXT: Final = 0x01  # N: the last column continues in the next piece


class RowCode(IntEnum):
    """Layer 11 operation codes (kdocts)."""

    IUR = 1  # interpret undo record (the row op inside a 5.1)
    IRP = 2  # insert row piece
    DRP = 3  # delete row piece
    LKR = 4  # lock row piece
    URP = 5  # update row piece
    ORP = 6  # overwrite row piece
    MFC = 7  # manipulate first column
    CFA = 8  # change forwarding address
    CKI = 9  # cluster key index
    SKL = 10  # set key links
    QMI = 11  # quick multi-row insert
    QMD = 12  # quick multi-row delete
    DSC = 14
    LMN = 16  # LogMiner marker for multi-piece changes
    LLB = 17  # LogMiner LOB support
    SHK = 20
    CMP = 22
    DCU = 23
    MRK = 24


def fb_text(fb: int) -> str:
    """The flag byte as dumps print it, e.g. ``--H-FL--``."""
    letters = "KCHDFLPN"
    return "".join(ch if fb & (0x80 >> i) else "-" for i, ch in enumerate(letters))


@dataclass(frozen=True, slots=True)
class KtbRedo:
    """The KTB redo field that opens every row change: op kind and, for 'F', the XID."""

    op: int
    flags: int
    xid: Xid | None


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a row piece: 0-based position inside the piece and the raw value."""

    index: int
    value: bytes | None


@dataclass(frozen=True, slots=True)
class RowImage:
    """A whole row of a multi-row op: its slot, flags and columns."""

    slot: int
    fb: int
    columns: tuple[Column, ...]


@dataclass(frozen=True, slots=True)
class RowOp:
    """A decoded 11.x operation (in a redo vector or inside an undo record).

    ``columns`` holds the piece's column values (IRP/ORP: every column of the piece,
    URP: the changed ones by position); ``rows`` holds the rows of QMI/QMD/direct loads;
    ``packed`` is the row image of a compressed block's row (IRP/ORP; ``columns`` is then
    empty: which entry is which column is not in the image, see
    :mod:`~drcapture.redo.ops.compressed`); ``next_field`` is the index of the first field
    after this op's data (supplemental logging data follows there in undo).
    """

    code: int
    bdba: int
    slot: int
    fb: int
    flags: int
    tabn: int
    cc: int
    columns: tuple[Column, ...]
    rows: tuple[RowImage, ...]
    nrid: tuple[int, int] | None
    hrid: tuple[int, int] | None
    packed: CompressedRow | None
    next_field: int
    ktb: KtbRedo | None

    @property
    def compressed(self) -> bool:
        """True when the row image is in compressed-block format (see ``packed``)."""
        return self.packed is not None

    @property
    def kdom2(self) -> bool:
        """True when the columns were packed into a single field."""
        return bool(self.flags & KDO_KDOM2)


def parse_ktb(cv: ChangeVector, index: int) -> KtbRedo | None:
    """The KTB redo field at ``index`` (None when too short to say anything)."""
    if cv.field_len(index) < KTB_MIN:
        return None
    f = cv.field(index)
    op, flags = f[KTB_OP], f[KTB_FLAGS]
    xid = None
    if op in KTB_OP_F:
        start = 8 if flags & 0x08 else 4
        if len(f) >= start + 8:
            xid = Xid(*_XID[cv.endian.order].unpack_from(f, start))
    return KtbRedo(op=op, flags=flags, xid=xid)


def read_row_column(data: memoryview, pos: int, endian: Endian) -> tuple[bytes | None, int]:
    """One column in row format: length byte (0xFF NULL, 0xFE: u16 length follows)."""
    if pos >= len(data):
        raise ParseError("row data ends before its columns", offset=pos)
    size = data[pos]
    pos += 1
    if size == 0xFF:
        return None, pos
    if size == 0xFE:
        size = endian.u16(data, pos)
        pos += 2
    if pos + size > len(data):
        raise ParseError("column runs past the row data", offset=pos, expected=size)
    return bytes(data[pos : pos + size]), pos + size


def _bit(bitmap: memoryview, start: int, i: int) -> bool:
    at = start + i // 8
    return at < len(bitmap) and bool(bitmap[at] & (1 << (i % 8)))


def _field_value(cv: ChangeVector, index: int) -> bytes | None:
    if index >= len(cv.fields):
        return None
    value = bytes(cv.field(index))
    return value if value else None


def _packed_columns(cv: ChangeVector, index: int, count: int, first: int) -> tuple[Column, ...]:
    data = cv.field(index)
    pos = 0
    out: list[Column] = []
    for i in range(count):
        if pos >= len(data):  # trailing NULLs are not stored
            out.append(Column(first + i, None))
            continue
        value, pos = read_row_column(data, pos, cv.endian)
        out.append(Column(first + i, value))
    return tuple(out)


def parse_row_op(cv: ChangeVector, kdo_index: int, ktb: KtbRedo | None) -> RowOp:
    """Decode the kdo field at ``kdo_index`` and the fields that belong to it."""
    kdo = cv.field(kdo_index)
    if len(kdo) < KDO_HEADER:
        raise ParseError("kdo op header too short", field=kdo_index, found=len(kdo))
    e = cv.endian
    code = kdo[KDO_OP] & KDO_OP_MASK
    parser = _ROW_PARSERS.get(code, _parse_plain)
    return parser(cv, kdo_index, kdo, ktb, code, e)


def _base(kdo: memoryview, e: Endian, code: int, kdo_index: int, ktb: KtbRedo | None, *,
          slot: int = 0, fb: int = 0, tabn: int = 0, cc: int = 0,
          columns: tuple[Column, ...] = (), rows: tuple[RowImage, ...] = (),
          nrid: tuple[int, int] | None = None, hrid: tuple[int, int] | None = None,
          packed: CompressedRow | None = None, next_field: int | None = None) -> RowOp:
    return RowOp(code, _U32[e.order].unpack_from(kdo, KDO_BDBA)[0], slot, fb, kdo[KDO_FLAGS],
                 tabn, cc, columns, rows, nrid, hrid, packed,
                 kdo_index + 1 if next_field is None else next_field, ktb)


def _row_columns(cv: ChangeVector, first: int, count: int, nulls: memoryview,
                 at: int) -> tuple[Column, ...]:
    """``count`` columns, one field each from field ``first``, NULL where the bitmap at
    ``nulls[at:]`` says so or the field is missing; an empty field is NULL too."""
    fields, data = cv.fields, cv.data
    have, bitmap_end = len(fields), len(nulls)
    out: list[Column] = []
    for c in range(count):
        byte = at + (c >> 3)
        value = None
        if not (byte < bitmap_end and nulls[byte] & (1 << (c & 7))) and first + c < have:
            offset, length = fields[first + c]
            value = data[offset : offset + length] or None
        out.append(Column(c, value))
    return tuple(out)


def _need(kdo: memoryview, size: int, code: int) -> None:
    if len(kdo) < size:
        raise ParseError("kdo field too short for its operation", opcode=f"11.{code}",
                         expected=size, found=len(kdo))


def _parse_plain(cv: ChangeVector, i: int, kdo: memoryview, ktb: KtbRedo | None, code: int,
                 e: Endian) -> RowOp:
    """Ops without row data we use (LMN, SKL, …): header only."""
    return _base(kdo, e, code, i, ktb)


def _whole_row_image(cv: ChangeVector, first: int, fb: int, cc: int, size: int) -> bool:
    """The field after the kdo holds the whole row as a block stores it: exactly ``size``
    bytes (the row length, header included) starting with the piece's fb and cc. A
    single column's field is always shorter: the row adds its 3-byte header and a
    length byte to it."""
    if cc == 0 or first >= len(cv.fields) or cv.field_len(first) != size:
        return False
    image = cv.field(first)
    return size > IMAGE_CC and image[IMAGE_FB] == fb and image[IMAGE_CC] == cc


def _refuse(what: str, code: int, field: int, **facts: object) -> UndecodableChange:
    return UndecodableChange(what, opcode=f"11.{code}", field=field, **facts)


def _parse_irp(cv: ChangeVector, i: int, kdo: memoryview, ktb: KtbRedo | None, code: int,
               e: Endian) -> RowOp:
    _need(kdo, IRP_MIN, code)
    fb, cc, tabn = kdo[IRP_FB], kdo[IRP_CC], kdo[IRP_TABN]
    flags = kdo[KDO_FLAGS]
    size = e.u16(kdo, IRP_SIZE)
    first = i + 1
    packed = None
    columns: tuple[Column, ...] = ()
    compressed_block = in_compressed_block(fb, tabn)
    if _whole_row_image(cv, first, fb, cc, size):
        if not compressed_block:
            raise _refuse("whole row image in one field for a row of table 0: layout not "
                          "established", code, first, found=f"tabn {tabn}, {size} bytes")
        packed = parse_compressed_row(cv.field(first), opcode=f"11.{code}", field=first)
        nxt = first + 1
    elif compressed_block and cc:
        raise _refuse("row of a compressed block's data table logged column by column: the "
                      "block's column order is not in the redo", code, first,
                      found=f"tabn {tabn}, cc {cc}")
    elif flags & KDO_KDOM2:
        columns = _packed_columns(cv, first, cc, 0)
        nxt = first + 1
    else:
        columns = _row_columns(cv, first, cc, kdo, IRP_NULLS)
        nxt = first + cc
    nrid = None if fb & FB_LAST else (e.u32(kdo, IRP_NRID_BDBA), e.u16(kdo, IRP_NRID_SLOT))
    hrid = None
    if fb & FB_FIRST and not fb & FB_HEAD:
        hrid = (e.u32(kdo, IRP_HRID_BDBA), e.u16(kdo, IRP_HRID_SLOT))
    return _base(kdo, e, code, i, ktb, slot=e.u16(kdo, IRP_SLOT), fb=fb, tabn=tabn,
                 cc=cc, columns=columns, nrid=nrid, hrid=hrid, packed=packed,
                 next_field=nxt)


def _parse_drp(cv: ChangeVector, i: int, kdo: memoryview, ktb: KtbRedo | None, code: int,
               e: Endian) -> RowOp:
    _need(kdo, DRP_MIN, code)
    return _base(kdo, e, code, i, ktb, slot=e.u16(kdo, DRP_SLOT), tabn=kdo[DRP_TABN])


def _parse_urp(cv: ChangeVector, i: int, kdo: memoryview, ktb: KtbRedo | None, code: int,
               e: Endian) -> RowOp:
    _need(kdo, URP_MIN, code)
    nnew = kdo[URP_NNEW]
    flags = kdo[KDO_FLAGS]
    first = i + 1
    if in_compressed_block(kdo[URP_FB], kdo[URP_TABN]):
        raise _refuse("update of a row in a compressed block's data table: its column "
                      "numbers follow the block's column order, which the redo does not carry",
                      code, i, found=f"tabn {kdo[URP_TABN]}")
    if flags & KDO_KDOM2:
        start = e.u16(cv.field(first), 0) if cv.field_len(first) >= 2 else 0
        columns = _packed_columns(cv, first + 1, nnew, start) if first + 1 < len(cv.fields) else ()
        nxt = first + 2
    else:
        numbers_field = cv.field(first) if first < len(cv.fields) else memoryview(b"")
        listed = u16_array(e.order, len(numbers_field) // 2).unpack_from(numbers_field, 0)
        total, present = nnew, nnew
        if len(listed) > nnew and first + len(listed) < len(cv.fields):
            total = len(listed)  # trailing NULL columns are listed but carry no field
        else:
            present = 0
            for k in range(nnew):
                at = first + 1 + k
                if _bit(kdo, URP_NULLS, k) and at < len(cv.fields) and cv.field_len(at) > 0:
                    break  # this field is not a column: the row data ended early
                present += 1
        columns = tuple(
            Column(listed[k] if k < len(listed) else k,
                   _field_value(cv, first + 1 + k) if k < present else None)
            for k in range(total)
        )
        nxt = first + 1 + present
    return _base(kdo, e, code, i, ktb, slot=e.u16(kdo, URP_SLOT), fb=kdo[URP_FB],
                 tabn=kdo[URP_TABN], cc=kdo[URP_NCOL], columns=columns, next_field=nxt)


def _parse_cfa(cv: ChangeVector, i: int, kdo: memoryview, ktb: KtbRedo | None, code: int,
               e: Endian) -> RowOp:
    _need(kdo, CFA_MIN, code)
    return _base(kdo, e, code, i, ktb, slot=e.u16(kdo, CFA_SLOT), tabn=kdo[CFA_TABN],
                 nrid=(e.u32(kdo, CFA_NRID_BDBA), e.u16(kdo, CFA_NRID_SLOT)))


def _qm_slots(kdo: memoryview, e: Endian, nrow: int, code: int) -> list[int]:
    _need(kdo, QM_SLOTS + 2 * nrow, code)
    return [e.u16(kdo, QM_SLOTS + 2 * r) for r in range(nrow)]


def _parse_qmi(cv: ChangeVector, i: int, kdo: memoryview, ktb: KtbRedo | None, code: int,
               e: Endian) -> RowOp:
    _need(kdo, QM_MIN, code)
    nrow = kdo[QM_NROW]
    slots = _qm_slots(kdo, e, nrow, code)
    data = cv.field(i + 2)
    if nrow and len(data) and in_compressed_block(data[0], kdo[QM_TABN]):
        raise _refuse("multi-row insert into a compressed block's data table: its rows are "
                      "in the block's column order, which the redo does not carry", code, i + 2,
                      found=f"tabn {kdo[QM_TABN]}")
    scn_size = 8 if kdo[KDO_OP] & KDO_ROWDEPS else 0
    pos = 0
    rows: list[RowImage] = []
    for r in range(nrow):
        if pos + 3 > len(data):
            raise ParseError("multi-insert row data too short", row=r, offset=pos)
        fb, cc = data[pos], data[pos + 2]
        pos += 3 + scn_size
        cols: list[Column] = []
        for c in range(cc):
            value, pos = read_row_column(data, pos, e)
            cols.append(Column(c, value))
        rows.append(RowImage(slot=slots[r], fb=fb, columns=tuple(cols)))
    return _base(kdo, e, code, i, ktb, tabn=kdo[QM_TABN], cc=nrow, rows=tuple(rows),
                 next_field=i + 3)


def _parse_qmd(cv: ChangeVector, i: int, kdo: memoryview, ktb: KtbRedo | None, code: int,
               e: Endian) -> RowOp:
    _need(kdo, QM_MIN, code)
    nrow = kdo[QM_NROW]
    rows = tuple(RowImage(slot=s, fb=0, columns=()) for s in _qm_slots(kdo, e, nrow, code))
    return _base(kdo, e, code, i, ktb, tabn=kdo[QM_TABN], cc=nrow, rows=rows)


_RowParser = Callable[[ChangeVector, int, memoryview, KtbRedo | None, int, Endian], RowOp]
_ROW_PARSERS: dict[int, _RowParser] = {
    RowCode.IRP: _parse_irp,
    RowCode.ORP: _parse_irp,
    RowCode.DRP: _parse_drp,
    RowCode.LKR: _parse_drp,
    RowCode.URP: _parse_urp,
    RowCode.CFA: _parse_cfa,
    RowCode.QMI: _parse_qmi,
    RowCode.QMD: _parse_qmd,
}
