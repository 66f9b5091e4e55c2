"""RAW (23), LONG RAW (24) and BOOLEAN (252, Oracle 23ai).

RAW bytes are published as upper-case hex. A BOOLEAN is one byte, 1 for TRUE and 0 for
FALSE (python-oracledb reads a BOOLEAN as true when its last byte is 1,
src/oracledb/impl/base/decoders.pyx ``decode_bool``); published as ``"true"``/``"false"``.
"""

from __future__ import annotations

from drcapture.values.errors import MalformedValue

TRUE = b"\x01"
FALSE = b"\x00"


def decode_raw(raw: bytes) -> str:
    """Upper-case hex of RAW bytes."""
    return raw.hex().upper()


def encode_raw(text: str) -> bytes:
    """The bytes of a hex string."""
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise MalformedValue("RAW value is not hex", value=text) from None


def decode_boolean(raw: bytes) -> str:
    """``"true"`` or ``"false"``."""
    if raw == TRUE:
        return "true"
    if raw == FALSE:
        return "false"
    raise MalformedValue("BOOLEAN must be the byte 0 or 1", hex=raw.hex().upper())


def encode_boolean(text: str) -> bytes:
    """The stored byte of ``"true"``/``"false"``."""
    if text == "true":
        return TRUE
    if text == "false":
        return FALSE
    raise MalformedValue("BOOLEAN text must be true or false", value=text)
