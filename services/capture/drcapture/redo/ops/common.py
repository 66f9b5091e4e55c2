"""Helpers shared by the small opcode families."""

from __future__ import annotations

from typing import NamedTuple

from drcommon.errors import ParseError

from drcapture.redo.vectors import ChangeVector
from drcapture.redo.xid import Xid


class NotInRedo(NamedTuple):
    """Stands in for a column's bytes where the redo does not carry them (a compressed
    row's symbol the block holds, a deleted LOB's content); ``reason`` says which. It
    becomes a :class:`drcommon.model.NotLogged` value: never NULL, never a guess."""

    reason: str


class Fragment(NamedTuple):
    """Part of a column that spans row pieces (a row longer than its block): a piece's
    first column may continue the previous piece's last one (row flag P) and its last
    column may go on in the next piece (N). Row assembly joins the parts in row order."""

    data: bytes
    continues: bool  # P: this part continues a part in the previous row piece
    goes_on: bool  # N: the column goes on in the next row piece
    at: tuple[int, int]  # (block, slot) of the row piece holding this part
    next_piece: tuple[int, int] | None  # the next row piece, where the redo names it


# A column's value once assembled: bytes, NULL, or not logged.
Value = bytes | NotInRedo | None
# A column as a piece holds it: a value, or one part of a split column.
Raw = Value | Fragment


def read_xid(cv: ChangeVector, f: memoryview, at: int) -> Xid:
    e = cv.endian
    return Xid(e.u16(f, at), e.u16(f, at + 2), e.u32(f, at + 4))


def need_field(cv: ChangeVector, index: int, size: int, what: str) -> memoryview:
    if cv.field_len(index) < size:
        raise ParseError(f"{what} field too short", opcode=f"{cv.header.layer}.{cv.header.code}",
                         field=index, expected=size, found=cv.field_len(index))
    return cv.field(index)


