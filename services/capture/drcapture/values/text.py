"""Character data (CHAR, VARCHAR2, LONG, NCHAR, NVARCHAR2) in Oracle's character sets.

Each supported Oracle character set maps to one precomputed pair of functions; bytes
that are not valid in the set come back as :class:`InvalidText` (hex plus the set's
name), never replaced. Where Oracle's set differs from the Python codec of the same
family, the difference is handled here and written up in docs/REDO_FORMAT.md
("Value encodings"):

* ``UTF8`` is Oracle's CESU-8: characters above U+FFFF are two 3-byte surrogates, and
  4-byte UTF-8 sequences are not part of the set;
* ``ZHS16GBK`` includes GBK's user-defined areas (Oracle lists the set as "MB, UDC");
  Python's ``gbk`` codec rejects those, so two-byte codes it refuses are looked up in
  the GB18030 two-byte table (user-defined areas to the Private Use Area, as CP936
  does), and anything beyond one or two bytes per character is invalid;
* ``AL16UTF16`` is big-endian UTF-16; unpaired surrogates are invalid.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from drcommon.model import InvalidText

from drcapture.values.errors import MalformedValue, UnknownCharset

Decoder = Callable[[bytes], str]  # raises UnicodeDecodeError/ValueError on invalid bytes
Encoder = Callable[[str], bytes]  # raises UnicodeEncodeError/ValueError when unencodable


@dataclass(frozen=True, slots=True)
class Charset:
    """An Oracle character set: its name and its strict decoder and encoder."""

    name: str
    decode: Decoder
    encode: Encoder


def _codec(python_name: str) -> tuple[Decoder, Encoder]:
    def decode(raw: bytes) -> str:
        return raw.decode(python_name)

    def encode(text: str) -> bytes:
        return text.encode(python_name)

    return decode, encode


# --- Oracle UTF8 (CESU-8) -----------------------------------------------------------


_FOUR_BYTE_LEAD = re.compile(rb"[\xf0-\xff]")


def _cesu8_decode(raw: bytes) -> str:
    if _FOUR_BYTE_LEAD.search(raw):
        raise ValueError("4-byte UTF-8 sequences are not valid in Oracle UTF8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        # Supplementary characters arrive as two encoded surrogates: rejoin them via
        # UTF-16, whose strict decoder also refuses unpaired surrogates.
        units = raw.decode("utf-8", "surrogatepass").encode("utf-16-be", "surrogatepass")
        return units.decode("utf-16-be")


def _cesu8_encode(text: str) -> bytes:
    if not text or max(text) <= "\uffff":
        return text.encode("utf-8")  # same bytes as UTF-8 below U+10000
    text.encode("utf-16-be")  # refuses unpaired surrogates in the input
    units: list[str] = []
    for ch in text:
        code = ord(ch)
        if code > 0xFFFF:
            code -= 0x10000
            units.append(chr(0xD800 + (code >> 10)))
            units.append(chr(0xDC00 + (code & 0x3FF)))
        else:
            units.append(ch)
    return "".join(units).encode("utf-8", "surrogatepass")


# --- ZHS16GBK: GBK with the user-defined areas ---------------------------------------


def _gbk_pair_ok(lead: int, trail: int) -> bool:
    return 0x81 <= lead <= 0xFE and (0x40 <= trail <= 0x7E or 0x80 <= trail <= 0xFE)


def _zhs16gbk_decode(raw: bytes) -> str:
    try:
        return raw.decode("gbk")
    except UnicodeDecodeError:
        pass
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        byte = raw[i]
        if byte < 0x80:
            out.append(chr(byte))
            i += 1
            continue
        if i + 1 >= n or not _gbk_pair_ok(byte, raw[i + 1]):
            raise ValueError(f"invalid ZHS16GBK byte at {i}")
        out.append(raw[i : i + 2].decode("gb18030"))
        i += 2
    return "".join(out)


def _zhs16gbk_encode(text: str) -> bytes:
    try:
        return text.encode("gbk")
    except UnicodeEncodeError:
        pass
    out = bytearray()
    for ch in text:
        try:
            code = ch.encode("gbk")
        except UnicodeEncodeError:
            code = ch.encode("gb18030")
        if len(code) > 2:
            raise ValueError(f"character U+{ord(ch):04X} is not in ZHS16GBK")
        out += code
    return bytes(out)


_UTF16_DEC, _UTF16_ENC = _codec("utf-16-be")

CHARSETS: dict[str, Charset] = {
    "AL32UTF8": Charset("AL32UTF8", *_codec("utf-8")),
    "UTF8": Charset("UTF8", _cesu8_decode, _cesu8_encode),
    "AL16UTF16": Charset("AL16UTF16", _UTF16_DEC, _UTF16_ENC),
    "US7ASCII": Charset("US7ASCII", *_codec("ascii")),
    "WE8ISO8859P1": Charset("WE8ISO8859P1", *_codec("latin-1")),
    "WE8MSWIN1252": Charset("WE8MSWIN1252", *_codec("cp1252")),
    "ZHS16GBK": Charset("ZHS16GBK", _zhs16gbk_decode, _zhs16gbk_encode),
    "ZHS32GB18030": Charset("ZHS32GB18030", *_codec("gb18030")),
}


def charset(name: str) -> Charset:
    """The codec of an Oracle character set name; raises :class:`UnknownCharset`."""
    found = CHARSETS.get(name.upper())
    if found is None:
        raise UnknownCharset(
            f"character set {name!r} is not supported (known: {', '.join(sorted(CHARSETS))})",
            charset=name,
        )
    return found


def decode_text(raw: bytes, cs: Charset) -> str | InvalidText:
    """Text of ``raw`` in ``cs``; the bytes verbatim as :class:`InvalidText` if invalid."""
    try:
        return cs.decode(raw)
    except ValueError:  # UnicodeDecodeError is a ValueError
        return InvalidText(hex=raw.hex().upper(), charset=cs.name)


def encode_text(value: str | InvalidText, cs: Charset) -> bytes:
    """Bytes of ``value`` in ``cs``; :class:`InvalidText` returns its original bytes."""
    if isinstance(value, InvalidText):
        return bytes.fromhex(value.hex)
    try:
        return cs.encode(value)
    except ValueError as exc:
        raise MalformedValue(
            "text is not representable in the character set", charset=cs.name, reason=str(exc)
        ) from None
