"""``BINARY_FLOAT`` (type 100) and ``BINARY_DOUBLE`` (type 101).

Oracle stores the IEEE 754 value big-endian with the bits rearranged so that bytes sort
like numbers: a value with the sign bit clear gets the sign bit set, a value with the
sign bit set has every bit inverted (python-oracledb, src/oracledb/impl/base/decoders.pyx,
``decode_binary_double``; DUMP(binary_double_infinity) = 255,240,0,0,0,0,0,0 on
exadatadba.blog, 2019-03-22).

The published text is the shortest decimal that reads back to the same IEEE value of
the column's width, in Python ``repr`` style without a trailing ``.0`` (``"0.1"``,
``"1e+16"``, ``"-0"``), or ``NaN``/``Infinity``/``-Infinity``.
"""

from __future__ import annotations

import math
import struct

from drcapture.values.errors import MalformedValue

_F32 = struct.Struct(">f")
_F64 = struct.Struct(">d")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_SIGN32 = 1 << 31
_SIGN64 = 1 << 63
_MASK32 = (1 << 32) - 1
_MASK64 = (1 << 64) - 1


def _from_oracle_bits(bits: int, sign: int, mask: int) -> int:
    return bits ^ sign if bits & sign else ~bits & mask


def _to_oracle_bits(bits: int, sign: int, mask: int) -> int:
    return ~bits & mask if bits & sign else bits | sign


def _render(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def decode_binary_double(raw: bytes) -> str:
    """Text of an Oracle BINARY_DOUBLE (8 bytes)."""
    if len(raw) != 8:
        raise MalformedValue("BINARY_DOUBLE must be 8 bytes", hex=raw.hex().upper())
    bits = _from_oracle_bits(_U64.unpack(raw)[0], _SIGN64, _MASK64)
    value: float = _F64.unpack(_U64.pack(bits))[0]
    return _render(value)


def decode_binary_float(raw: bytes) -> str:
    """Text of an Oracle BINARY_FLOAT (4 bytes): the shortest single-precision round trip."""
    if len(raw) != 4:
        raise MalformedValue("BINARY_FLOAT must be 4 bytes", hex=raw.hex().upper())
    bits = _from_oracle_bits(_U32.unpack(raw)[0], _SIGN32, _MASK32)
    value: float = _F32.unpack(_U32.pack(bits))[0]
    if math.isnan(value) or math.isinf(value):
        return _render(value)
    for digits in range(1, 10):  # 9 significant digits always round-trip a float32
        candidate = float(f"{value:.{digits - 1}e}")
        try:
            if _F32.pack(candidate) == _F32.pack(value):
                return _render(candidate)
        except OverflowError:  # rounded past the largest float32; needs more digits
            continue
    raise AssertionError("unreachable: 9 digits round-trip every float32")


def _parse(text: str, type_name: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise MalformedValue(
            "not a floating-point number", oracle_type=type_name, value=text
        ) from None


def encode_binary_double(text: str) -> bytes:
    """Oracle bytes of a BINARY_DOUBLE given as text."""
    bits = _U64.unpack(_F64.pack(_parse(text, "BINARY_DOUBLE")))[0]
    return _U64.pack(_to_oracle_bits(bits, _SIGN64, _MASK64))


def encode_binary_float(text: str) -> bytes:
    """Oracle bytes of a BINARY_FLOAT given as text; refuses values beyond its range."""
    value = _parse(text, "BINARY_FLOAT")
    try:
        packed = _F32.pack(value)
    except OverflowError:
        raise MalformedValue("value exceeds BINARY_FLOAT range", value=text) from None
    bits = _U32.unpack(packed)[0]
    return _U32.pack(_to_oracle_bits(bits, _SIGN32, _MASK32))
