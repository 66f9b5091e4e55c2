"""RFC 6238 time-based one-time passwords (HMAC-SHA1, RFC 4226 truncation), stdlib only.

Used as the second factor of the break-glass path. ``verify`` returns the matched time
step so the caller can refuse a code that was already used (replay).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct

# RFC 4226 §5.3: the low 4 bits of the last byte pick the offset of a 31-bit integer.
_OFFSET_MASK = 0x0F
_SIGN_MASK = 0x7FFFFFFF


def decode_secret(secret: str) -> bytes:
    """Base32 secret as authenticator apps show it (spaces and missing padding allowed)."""
    cleaned = secret.replace(" ", "").upper()
    cleaned += "=" * (-len(cleaned) % 8)
    return base64.b32decode(cleaned)


def hotp(key: bytes, counter: int, digits: int = 6) -> str:
    """RFC 4226 HOTP value for ``counter``."""
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & _OFFSET_MASK
    value = struct.unpack_from(">I", mac, offset)[0] & _SIGN_MASK
    return str(value % 10**digits).zfill(digits)


def time_step(now: float, period: int = 30) -> int:
    """RFC 6238 T = floor((now - T0) / X) with T0 = 0."""
    return int(now // period)


def totp(secret: str, now: float, *, period: int = 30, digits: int = 6) -> str:
    """The code valid at ``now``."""
    return hotp(decode_secret(secret), time_step(now, period), digits)


def verify(
    secret: str, code: str, now: float, *, period: int = 30, digits: int = 6, skew: int = 1
) -> int | None:
    """The time step ``code`` is valid for (within ±``skew`` periods), else None."""
    key = decode_secret(secret)
    current = time_step(now, period)
    for step in range(current - skew, current + skew + 1):
        if hmac.compare_digest(hotp(key, step, digits), code.strip()):
            return step
    return None
