"""Change vectors: the header (24 bytes up to 11g, 32 from 12.1), the field-length array
and the 4-byte aligned fields that follow it.

A vector is kept as offsets into its record's bytes; operation parsers read fields by
index through :meth:`ChangeVector.field`.
"""

from __future__ import annotations

from dataclasses import dataclass

from drcommon.errors import CorruptRedo, ParseError

from drcapture.redo import layout as L
from drcapture.redo.binary import Buffer, Endian


@dataclass(frozen=True, slots=True)
class Field:
    """Where one field sits in the record: absolute offset and unpadded length."""

    offset: int
    length: int


@dataclass(frozen=True, slots=True)
class VectorHeader:
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


@dataclass(frozen=True, slots=True)
class ChangeVector:
    """One change vector of a record: header, fields, and where it sits."""

    index: int  # 1-based position inside the record, as dumps number them
    offset: int  # absolute offset of the vector header in the record
    size: int  # bytes taken, header and padding included
    header: VectorHeader
    fields: tuple[Field, ...]
    data: bytes
    endian: Endian

    def field(self, index: int) -> memoryview:
        """Field ``index`` (0-based) as a view of exactly its length."""
        if index >= len(self.fields):
            raise ParseError("vector has fewer fields than the operation needs",
                             opcode=_op(self.header), field=index, found=len(self.fields))
        f = self.fields[index]
        return memoryview(self.data)[f.offset : f.offset + f.length]

    def field_len(self, index: int) -> int:
        """Length of field ``index``, 0 when absent."""
        return self.fields[index].length if index < len(self.fields) else 0


def _op(header: VectorHeader) -> str:
    return f"{header.layer}.{header.code}"


def parse_vector_header(data: Buffer, offset: int, endian: Endian, *, wide: bool) -> VectorHeader:
    """Read a change-vector header at ``offset``."""
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


def parse_vectors(data: bytes, start: int, end: int, endian: Endian, *,
                  wide: bool) -> tuple[ChangeVector, ...]:
    """All change vectors between ``start`` and ``end`` (the record's length)."""
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
