"""Oracle ``NUMBER``/``FLOAT`` (type 2): base-100 digits behind a sign/exponent byte.

Layout (sources: Jonathan Lewis, "How are numbers stored", jlcomp.demon.co.uk/number_format.html;
Steve Adams, ixora.com.au/notes/number_representation.htm):

* byte 0: bit 7 set for positive numbers; for a positive number ``byte0 - 193`` is the
  power of 100 of the first mantissa byte, for a negative one ``62 - byte0`` is;
* bytes 1..20: the mantissa, one base-100 digit per byte, stored as ``digit + 1`` when
  positive and ``101 - digit`` when negative; trailing zero digits are not stored;
* a negative number with fewer than 20 mantissa bytes ends with the byte 102;
* zero is the single byte 0x80; negative infinity the single byte 0x00, positive infinity
  the two bytes 0xFF 0x65 (obsolete, but still decodable).

The decoder returns the exact value as a canonical decimal string: no exponent, no
trailing zeros after the point, no point for integers, never ``-0``; the infinities as
``Infinity``/``-Infinity``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from drcapture.values.errors import MalformedValue

ZERO = b"\x80"
NEG_INFINITY = b"\x00"
POS_INFINITY = b"\xff\x65"
_NEG_TERMINATOR = 102
_MAX_MANTISSA = 20
_POS_EXP_BIAS = 193  # byte0 of a positive number = 193 + base-100 exponent
_NEG_EXP_BIAS = 62  # byte0 of a negative number = 62 - base-100 exponent
_MIN_EXP = -65  # 1e-130 is the smallest magnitude Oracle stores
_MAX_EXP = 62  # 9.99…e125 the largest

# Digit-pair text per mantissa byte, None where the byte is not a digit of that sign.
_POS_PAIRS: tuple[str | None, ...] = tuple(
    f"{b - 1:02d}" if 1 <= b <= 100 else None for b in range(256)
)
_NEG_PAIRS: tuple[str | None, ...] = tuple(
    f"{101 - b:02d}" if 2 <= b <= 101 else None for b in range(256)
)


def decode_number(raw: bytes) -> str:
    """The exact decimal string of an Oracle NUMBER's bytes."""
    if raw == ZERO:
        return "0"
    if not raw:
        raise MalformedValue("empty NUMBER", oracle_type="NUMBER")
    head = raw[0]
    if head & 0x80:
        if raw == POS_INFINITY:
            return "Infinity"
        exponent = head - _POS_EXP_BIAS
        pairs = _POS_PAIRS
        mantissa = raw[1:]
        sign = ""
    else:
        if raw == NEG_INFINITY:
            return "-Infinity"
        exponent = _NEG_EXP_BIAS - head
        pairs = _NEG_PAIRS
        mantissa = raw[1:-1] if raw[-1] == _NEG_TERMINATOR else raw[1:]
        sign = "-"
    if not mantissa or len(mantissa) > _MAX_MANTISSA:
        raise MalformedValue("NUMBER mantissa length out of range", hex=raw.hex().upper())
    try:
        digits = "".join([pairs[b] for b in mantissa])  # type: ignore[misc]
    except TypeError:
        raise MalformedValue("NUMBER mantissa byte out of range", hex=raw.hex().upper()) from None
    return sign + _place_point(digits, 2 * (exponent + 1))


def _place_point(digits: str, int_len: int) -> str:
    """Render ``0.<digits> * 10**int_len`` without exponent or superfluous zeros."""
    if int_len >= len(digits):
        text = (digits + "0" * (int_len - len(digits))).lstrip("0")
        return text or "0"
    if int_len <= 0:
        frac = ("0" * -int_len + digits).rstrip("0")
        return "0." + frac if frac else "0"
    whole = digits[:int_len].lstrip("0") or "0"
    frac = digits[int_len:].rstrip("0")
    return f"{whole}.{frac}" if frac else whole


def encode_number(text: str) -> bytes:
    """The NUMBER bytes of a decimal string; refuses values Oracle cannot hold exactly.

    Accepts any decimal notation ``Decimal`` reads (``"1E+5"``, ``"-0.50"``) plus
    ``Infinity``/``-Infinity``.
    """
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise MalformedValue("not a decimal number", oracle_type="NUMBER", value=text) from None
    if value.is_nan():
        raise MalformedValue("NUMBER cannot hold NaN", value=text)
    if value.is_infinite():
        return NEG_INFINITY if value.is_signed() else POS_INFINITY
    if value.is_zero():
        return ZERO
    sign, digit_tuple, exp = value.as_tuple()
    assert isinstance(exp, int)
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exp += len(digit_tuple) - len(digits)
    # Position of the leading digit: value = d.ddd * 10**adjusted.
    adjusted = len(digits) + exp - 1
    exponent = adjusted // 2
    if adjusted % 2 == 0:
        digits = "0" + digits  # the first pair holds a single digit
    if len(digits) % 2:
        digits += "0"
    n_pairs = len(digits) // 2
    if n_pairs > _MAX_MANTISSA or not _MIN_EXP <= exponent <= _MAX_EXP:
        raise MalformedValue("value does not fit an Oracle NUMBER exactly", value=text)
    values = [int(digits[i : i + 2]) for i in range(0, len(digits), 2)]
    if sign:
        body = bytes([_NEG_EXP_BIAS - exponent, *(101 - v for v in values)])
        return body + bytes([_NEG_TERMINATOR]) if n_pairs < _MAX_MANTISSA else body
    return bytes([_POS_EXP_BIAS + exponent, *(v + 1 for v in values)])
