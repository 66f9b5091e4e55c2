"""ROWID (69): the 10-byte extended rowid and its 18-character text.

Layout (DUMP(rowid) decoded on cppentry.com "AAATLnAAFAAAAD9AAB Typ=69 Len=10:
0,1,32,e7,1,40,0,fd,0,1"; Andy Hassall on comp.databases.oracle.server 2005-03-02):
32 bits data object number, 10 bits relative file number, 22 bits block number,
16 bits row number, all big-endian. The text is those four numbers in 6, 3, 6 and 3
digits of Oracle's base 64 (``A-Z a-z 0-9 + /``).

UROWID (208) values are published as :class:`Unsupported`: their stored layout is not
documented publicly (see docs/REDO_FORMAT.md, "Value encodings").
"""

from __future__ import annotations

import string
import struct

from drcapture.values.errors import MalformedValue

_ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"
_VALUE = {ch: i for i, ch in enumerate(_ALPHABET)}
_LAYOUT = struct.Struct(">IIH")
_WIDTHS = (6, 3, 6, 3)


def _b64(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, digit = divmod(value, 64)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def decode_rowid(raw: bytes) -> str:
    """The 18-character text of a 10-byte ROWID."""
    if len(raw) != 10:
        raise MalformedValue("ROWID must be 10 bytes", hex=raw.hex().upper())
    obj, file_block, row = _LAYOUT.unpack(raw)
    parts = (obj, file_block >> 22, file_block & 0x3FFFFF, row)
    return "".join(_b64(v, w) for v, w in zip(parts, _WIDTHS, strict=True))


def encode_rowid(text: str) -> bytes:
    """The 10 bytes of an 18-character ROWID."""
    if len(text) != 18 or any(ch not in _VALUE for ch in text):
        raise MalformedValue("not an 18-character ROWID", value=text)
    parts = []
    start = 0
    for width in _WIDTHS:
        value = 0
        for ch in text[start : start + width]:
            value = value * 64 + _VALUE[ch]
        parts.append(value)
        start += width
    obj, rel_file, block, row = parts
    if obj >= 1 << 32 or rel_file >= 1 << 10 or block >= 1 << 22 or row >= 1 << 16:
        raise MalformedValue("ROWID field out of range", value=text)
    return _LAYOUT.pack(obj, rel_file << 22 | block, row)
