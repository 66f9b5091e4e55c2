"""Helpers shared by the small opcode families."""

from __future__ import annotations

from drcommon.errors import ParseError

from drcapture.redo.vectors import ChangeVector
from drcapture.redo.xid import Xid


def read_xid(cv: ChangeVector, f: memoryview, at: int) -> Xid:
    e = cv.endian
    return Xid(e.u16(f, at), e.u16(f, at + 2), e.u32(f, at + 4))


def need_field(cv: ChangeVector, index: int, size: int, what: str) -> memoryview:
    if cv.field_len(index) < size:
        raise ParseError(f"{what} field too short", opcode=f"{cv.header.layer}.{cv.header.code}",
                         field=index, expected=size, found=cv.field_len(index))
    return cv.field(index)


