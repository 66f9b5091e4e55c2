"""Change vectors: the header (24 bytes up to 11g, 32 from 12.1), the field-length array
and the 4-byte aligned fields that follow it.

A vector is kept as offsets into its record's bytes; operation parsers read fields by
index through :meth:`ChangeVector.field`.

:func:`scan_vectors` is the quick walk every record gets: it checks the layout and notes
where each vector and its fields are (:class:`VectorSlot`), nothing more. The objects of
:func:`parse_vectors` are built from that walk only for records someone looks into.
"""

from __future__ import annotations

import struct
from functools import partial
from itertools import accumulate
from typing import Final, NamedTuple

from drcommon.errors import CorruptRedo, ParseError

from drcapture.redo import layout as L
from drcapture.redo.binary import SCN_MAX, Buffer, Endian
from drcapture.redo.layout import ByteOrder

# layer u8, code u8, class u16, (17 bytes), type u8, (rest of the header), array size u16
_SLOT_HEAD: Final = {
    (order, wide): struct.Struct(
        order.value + ("BBH17xB10xH" if wide else "BBH17xB2xH")
    )
    for order in ByteOrder
    for wide in (False, True)
}
# The whole header in one read: layer, code, class, afn, object high, dba, SCN (base,
# wrap, extension), seq, type, object low; 12.1+ adds container id and flags.
_VECTOR_HEADER: Final = {
    (order, wide): struct.Struct(order.value + ("BBHHHIIHHBBHH2xH2x" if wide else "BBHHHIIHHBBH"))
    for order in ByteOrder
    for wide in (False, True)
}
_LENGTHS: dict[ByteOrder, dict[int, struct.Struct]] = {order: {} for order in ByteOrder}
# Padding that takes a field length to its 4-byte boundary, by the length's low byte.
_PAD4: Final = bytes((-b) & 3 for b in range(256))


class Field(NamedTuple):
    """Where one field sits in the record: absolute offset and unpadded length."""

    offset: int
    length: int


class VectorHeader(NamedTuple):
    """The fixed part of a change vector."""

    layer: int
    code: int
    cls: int
    afn: int
    dba: int
    scn: int
    seq: int
    typ: int
    data_obj: int
    con_id: int | None
    flags: int | None

    @property
    def opcode(self) -> tuple[int, int]:
        """(layer, code), e.g. (11, 2) for an insert row piece."""
        return (self.layer, self.code)

    @property
    def usn(self) -> int | None:
        """Undo segment number for undo-class blocks (class 15 + 2*usn or 16 + 2*usn)."""
        if self.cls < L.UNDO_CLASS_BASE:
            return None
        return (self.cls - L.UNDO_CLASS_BASE) // 2

    @property
    def encrypted(self) -> bool:
        """True when the vector's data is encrypted (tablespace encryption)."""
        return bool(self.typ & L.CV_TYPE_ENCRYPTED)


class ChangeVector:
    """One change vector of a record: header, fields, and where it sits. Treat as
    immutable (plain slots: parsers read them many times per vector)."""

    __slots__ = ("_view", "data", "endian", "fields", "header", "index", "offset", "size")

    def __init__(self, index: int, offset: int, size: int, header: VectorHeader,
                 fields: tuple[Field, ...], data: bytes, endian: Endian) -> None:
        self.index = index  # 1-based position inside the record, as dumps number them
        self.offset = offset  # absolute offset of the vector header in the record
        self.size = size  # bytes taken, header and padding included
        self.header = header
        self.fields = fields
        self.data = data  # the whole record
        self.endian = endian
        self._view = memoryview(data)

    def field(self, index: int) -> memoryview:
        """Field ``index`` (0-based) as a view of exactly its length."""
        fields = self.fields
        if index >= len(fields):
            raise ParseError("vector has fewer fields than the operation needs",
                             opcode=_op(self.header), field=index, found=len(fields))
        offset, length = fields[index]
        return self._view[offset : offset + length]

    def field_len(self, index: int) -> int:
        """Length of field ``index``, 0 when absent."""
        fields = self.fields
        return fields[index][1] if index < len(fields) else 0

    def _key(self) -> tuple[object, ...]:
        return (self.index, self.offset, self.size, self.header, self.fields, self.data,
                self.endian)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ChangeVector):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"ChangeVector(index={self.index!r}, offset={self.offset!r}, "
                f"size={self.size!r}, header={self.header!r}, fields={self.fields!r}, "
                f"data={self.data!r}, endian={self.endian!r})")


_new_field = partial(tuple.__new__, Field)  # Field((offset, length)) without __new__'s checks


class VectorSlot(NamedTuple):
    """Where one change vector sits in its record, as :func:`scan_vectors` found it."""

    offset: int  # the vector header
    layer: int
    code: int
    cls: int  # block class (undo classes give the undo segment)
    typ: int  # change type (0x80: encrypted)
    fields_at: int  # field 0 (after the field-length array)
    lengths: tuple[int, ...]  # unpadded field lengths
    end: int  # the next vector

    def field_at(self, index: int) -> int:
        """Absolute offset of field ``index`` (which must exist)."""
        at = self.fields_at
        for length in self.lengths[:index]:
            at += (length + 3) & ~3
        return at


def _op(header: VectorHeader) -> str:
    return f"{header.layer}.{header.code}"


def parse_vector_header(data: Buffer, offset: int, endian: Endian, *, wide: bool) -> VectorHeader:
    """Read a change-vector header at ``offset``."""
    if offset < 0 or offset + (L.CV_HEADER_12C if wide else L.CV_HEADER_11G) > len(data):
        return _parse_vector_header_checked(data, offset, endian, wide=wide)  # raises
    values = _VECTOR_HEADER[endian.order, wide].unpack_from(data, offset)
    (layer, code, cls, afn, obj_high, dba, scn_base, scn_wrap, scn_ext, seq, typ,
     obj_low) = values[:12]
    # The SCN as Endian.scn reads it: all-FF base and wrap is "none", a flagged wrap the
    # 12.2+ big form.
    if scn_base == 0xFFFFFFFF and scn_wrap == 0xFFFF:
        scn = SCN_MAX
    elif scn_wrap & 0x8000:
        scn = scn_base | (scn_ext << 32) | ((scn_wrap & 0x7FFF) << 48)
    else:
        scn = scn_base | (scn_wrap << 32)
    return tuple.__new__(VectorHeader, (
        layer, code, cls, afn, dba, scn, seq, typ, (obj_high << 16) | obj_low,
        values[12] if wide else None, values[13] if wide else None))


def _parse_vector_header_checked(data: Buffer, offset: int, endian: Endian, *,
                                 wide: bool) -> VectorHeader:
    e = endian
    return VectorHeader(
        layer=e.u8(data, offset + L.CV_LAYER),
        code=e.u8(data, offset + L.CV_CODE),
        cls=e.u16(data, offset + L.CV_CLASS),
        afn=e.u16(data, offset + L.CV_AFN),
        dba=e.u32(data, offset + L.CV_DBA),
        scn=e.scn(data, offset + L.CV_SCN),
        seq=e.u8(data, offset + L.CV_SEQ),
        typ=e.u8(data, offset + L.CV_TYPE),
        data_obj=(e.u16(data, offset + L.CV_OBJ_HIGH) << 16) | e.u16(data, offset + L.CV_OBJ_LOW),
        con_id=e.u16(data, offset + L.CV_CON_ID) if wide else None,
        flags=e.u16(data, offset + L.CV_FLAGS) if wide else None,
    )


def _lengths_struct(order: ByteOrder, count: int) -> struct.Struct:
    found = _LENGTHS[order].get(count)
    if found is None:
        found = _LENGTHS[order][count] = struct.Struct(order.value + "H" * count)
    return found


def scan_vectors(data: bytes, start: int, end: int, endian: Endian, *,
                 wide: bool) -> tuple[VectorSlot, ...]:
    """Every change vector between ``start`` and ``end``: checked and located, not parsed.

    Raises what :func:`parse_vectors` raises for a record whose layout is damaged. This
    runs for every record read, so it is written for few calls per vector.
    """
    order = endian.order
    head = L.CV_HEADER_12C if wide else L.CV_HEADER_11G
    unpack_head = _SLOT_HEAD[order, wide].unpack_from
    by_count = _LENGTHS[order]
    low_byte = 2 if order is ByteOrder.LITTLE else 3  # the low byte of the first length
    new = tuple.__new__
    available = len(data)
    slots: list[VectorSlot] = []
    offset = start
    while offset < end:
        if offset + head + 2 > end:
            raise CorruptRedo("change vector header runs past the record", offset=offset,
                              expected=head + 2, found=end - offset)
        layer, code, cls, typ, array_size = unpack_head(data, offset)
        array_at = offset + head
        if array_size < 2 or array_size & 1:
            raise CorruptRedo("bad field-length array size", offset=offset,
                              opcode=f"{layer}.{code}", found=array_size)
        if array_at + array_size > available:
            _parse_vectors_checked(data, start, end, endian, wide=wide)  # raises, naming the read
        count = (array_size - 2) >> 1
        lengths_struct = by_count.get(count) or _lengths_struct(order, count)
        lengths = lengths_struct.unpack_from(data, array_at + 2)
        fields_at = array_at + ((array_size + 3) & ~3)  # the array, 4-byte aligned
        # Padded total: the lengths plus each one's padding, looked up by its low byte.
        pos = fields_at + sum(lengths) + sum(
            data[array_at + low_byte : array_at + array_size : 2].translate(_PAD4))
        if pos > end:
            raise CorruptRedo("change vector fields run past the record", offset=offset,
                              opcode=f"{layer}.{code}", expected=pos - offset,
                              found=end - offset)
        slots.append(new(VectorSlot, (offset, layer, code, cls, typ, fields_at, lengths, pos)))
        offset = pos
    return tuple(slots)


def vector_at(data: bytes, slot: VectorSlot, index: int, endian: Endian, *,
              wide: bool) -> ChangeVector:
    """The :class:`ChangeVector` of a scanned slot (``index`` is 1-based)."""
    lengths = slot.lengths
    # Field k starts where field k - 1 ends, 4-byte aligned (no fields: one start, unused).
    starts = accumulate([(length + 3) & ~3 for length in lengths[:-1]], initial=slot.fields_at)
    fields = tuple(map(_new_field, zip(starts, lengths, strict=False)))
    header = parse_vector_header(data, slot.offset, endian, wide=wide)
    return ChangeVector(index, slot.offset, slot.end - slot.offset, header, fields, data, endian)


def parse_vectors(data: bytes, start: int, end: int, endian: Endian, *,
                  wide: bool) -> tuple[ChangeVector, ...]:
    """All change vectors between ``start`` and ``end`` (the record's length)."""
    slots = scan_vectors(data, start, end, endian, wide=wide)
    return tuple(vector_at(data, slot, i + 1, endian, wide=wide) for i, slot in enumerate(slots))


def _parse_vectors_checked(data: bytes, start: int, end: int, endian: Endian, *,
                           wide: bool) -> tuple[ChangeVector, ...]:
    """The field-by-field walk: kept for damaged records, whose errors it words exactly
    (a length read past the buffer names the offset of the read that failed)."""
    head = L.CV_HEADER_12C if wide else L.CV_HEADER_11G
    vectors: list[ChangeVector] = []
    offset = start
    while offset < end:
        if offset + head + 2 > end:
            raise CorruptRedo("change vector header runs past the record", offset=offset,
                              expected=head + 2, found=end - offset)
        header = parse_vector_header(data, offset, endian, wide=wide)
        array_at = offset + head
        array_size = endian.u16(data, array_at)
        if array_size < 2 or array_size % 2:
            raise CorruptRedo("bad field-length array size", offset=offset,
                              opcode=_op(header), found=array_size)
        count = (array_size - 2) // 2
        pos = array_at + L.field_lengths_size(count)
        fields: list[Field] = []
        for i in range(count):
            length = endian.u16(data, array_at + 2 + 2 * i)
            fields.append(Field(pos, length))
            pos += L.align4(length)
        if pos > end:
            raise CorruptRedo("change vector fields run past the record", offset=offset,
                              opcode=_op(header), expected=pos - offset, found=end - offset)
        vectors.append(ChangeVector(index=len(vectors) + 1, offset=offset, size=pos - offset,
                                    header=header, fields=tuple(fields), data=data,
                                    endian=endian))
        offset = pos
    return tuple(vectors)
