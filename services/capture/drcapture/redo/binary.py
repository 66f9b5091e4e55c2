"""Endian-aware integer, SCN and redo-time readers over a buffer.

Pure functions only. A read past the end raises :class:`drcommon.errors.ParseError`
(never ``struct.error``/``IndexError``), so callers handle one error family.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from drcommon.errors import ParseError

from drcapture.redo.layout import ByteOrder

Buffer = bytes | bytearray | memoryview

SCN_MAX: Final = 0xFFFFFFFFFFFFFFFF
_U16 = {order: struct.Struct(order.value + "H") for order in ByteOrder}
_U32 = {order: struct.Struct(order.value + "I") for order in ByteOrder}


@dataclass(frozen=True, slots=True)
class Endian:
    """A byte order with its readers; one per file (or per raw record)."""

    order: ByteOrder

    @property
    def big(self) -> bool:
        """True for big-endian platforms (AIX, Solaris SPARC …)."""
        return self.order is ByteOrder.BIG

    def u8(self, buf: Buffer, off: int) -> int:
        """One unsigned byte."""
        _need(buf, off, 1)
        return int(buf[off])

    def u16(self, buf: Buffer, off: int) -> int:
        """An unsigned 16-bit integer."""
        _need(buf, off, 2)
        return int(_U16[self.order].unpack_from(buf, off)[0])

    def u32(self, buf: Buffer, off: int) -> int:
        """An unsigned 32-bit integer."""
        _need(buf, off, 4)
        return int(_U32[self.order].unpack_from(buf, off)[0])

    def scn(self, buf: Buffer, off: int) -> int:
        """An 8-byte SCN as stored in headers and vectors: base u32, wrap u16, extension u16.

        When the top bit of the wrap is set (12.2+ big SCN), the wrap holds bits 48..62 and
        the extension u16 holds bits 32..47.
        """
        _need(buf, off, 8)
        if all(b == 0xFF for b in bytes(buf[off : off + 6])):
            return SCN_MAX
        base = self.u32(buf, off)
        wrap = self.u16(buf, off + 4)
        if wrap & 0x8000:
            return base | (self.u16(buf, off + 6) << 32) | ((wrap & 0x7FFF) << 48)
        return base | (wrap << 32)

    def record_scn(self, buf: Buffer, off: int) -> int:
        """A 6-byte SCN as stored in a record header: wrap u16, then base u32."""
        _need(buf, off, 6)
        if all(b == 0xFF for b in bytes(buf[off : off + 6])):
            return SCN_MAX
        wrap = self.u16(buf, off)
        base = self.u32(buf, off + 2)
        if wrap & 0x8000:
            return base | ((wrap & 0x7FFF) << 48)
        return base | (wrap << 32)

    def uba(self, buf: Buffer, off: int) -> tuple[int, int, int]:
        """An undo byte address: (dba u32, sequence u16, record u8)."""
        _need(buf, off, 7)
        return self.u32(buf, off), self.u16(buf, off + 4), int(buf[off + 6])


LITTLE = Endian(ByteOrder.LITTLE)
BIG = Endian(ByteOrder.BIG)


_U16_ARRAYS: dict[tuple[ByteOrder, int], struct.Struct] = {}


def u16_array(order: ByteOrder, count: int) -> struct.Struct:
    """A struct reading ``count`` unsigned 16-bit integers at once (cached)."""
    found = _U16_ARRAYS.get((order, count))
    if found is None:
        found = _U16_ARRAYS[order, count] = struct.Struct(order.value + "H" * count)
    return found


def endian_for(order: ByteOrder) -> Endian:
    """The shared reader for a byte order."""
    return BIG if order is ByteOrder.BIG else LITTLE


def _need(buf: Buffer, off: int, size: int) -> None:
    if off < 0 or off + size > len(buf):
        raise ParseError(
            "read past the end of the buffer", offset=off, size=size, available=len(buf)
        )


def redo_time(encoded: int) -> datetime | None:
    """Decode Oracle's redo time: seconds since 1988-01-01 in a calendar of 31-day months.

    Returns ``None`` for 0 (no time recorded).
    """
    if encoded == 0:
        return None
    t = encoded
    seconds = t % 60
    t //= 60
    minutes = t % 60
    t //= 60
    hours = t % 24
    t //= 24
    day = t % 31 + 1
    t //= 31
    month = t % 12 + 1
    t //= 12
    try:
        return datetime(t + 1988, month, day, hours, minutes, seconds)
    except ValueError as exc:
        raise ParseError("redo time does not name a real date", value=encoded) from exc


def encode_redo_time(moment: datetime) -> int:
    """The inverse of :func:`redo_time` (for writers and tests)."""
    months = (moment.year - 1988) * 12 + (moment.month - 1)
    days = months * 31 + (moment.day - 1)
    return ((days * 24 + moment.hour) * 60 + moment.minute) * 60 + moment.second


def format_scn(scn: int) -> str:
    """An SCN the way Oracle dumps print it: ``0x0000000000229a3b``."""
    return f"0x{scn:016x}"
