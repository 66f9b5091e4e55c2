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


Raw = bytes | NotInRedo | None  # a column as a piece holds it: bytes, NULL, or not logged


def read_xid(cv: ChangeVector, f: memoryview, at: int) -> Xid:
    e = cv.endian
    return Xid(e.u16(f, at), e.u16(f, at + 2), e.u32(f, at + 4))


def need_field(cv: ChangeVector, index: int, size: int, what: str) -> memoryview:
    if cv.field_len(index) < size:
        raise ParseError(f"{what} field too short", opcode=f"{cv.header.layer}.{cv.header.code}",
                         field=index, expected=size, found=cv.field_len(index))
    return cv.field(index)


