"""NUMBER codec: known answers from published DUMP() outputs, exact round trips."""

from __future__ import annotations

from decimal import Context, Decimal

import pytest
from drcapture.values.errors import MalformedValue
from drcapture.values.number import decode_number, encode_number
from hypothesis import given, settings
from hypothesis import strategies as st

# (bytes, value). Sources, each quoted in a comment:
KNOWN = [
    # Oracle DUMP(123) = Typ=2 Len=3: 194,2,24 (the brief; Oracle Database SQL reference).
    (bytes([194, 2, 24]), "123"),
    # Jonathan Lewis, jlcomp.demon.co.uk/number_format.html, examples 1-4.
    (bytes.fromhex("c3022e"), "14500"),
    (bytes.fromhex("be2e3d"), "0.0000456"),
    (bytes.fromhex("401c3d66"), "-0.00734"),
    (bytes.fromhex("3c5d08254366"), "-89364.34"),
    # blog.ora-600.pl/2017/08/21/how-oracle-stores-numbers-internally: c3020102 is 10001.
    (bytes.fromhex("c3020102"), "10001"),
    # ixora.com.au/notes/number_representation.htm: zero 0x80, -inf 0x00, +inf 0xFF65.
    (b"\x80", "0"),
    (b"\x00", "-Infinity"),
    (b"\xff\x65", "Infinity"),
]


@pytest.mark.parametrize(("raw", "text"), KNOWN)
def test_known_answers_decode_and_encode(raw: bytes, text: str) -> None:
    assert decode_number(raw) == text
    assert encode_number(text) == raw


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        # Derived from the rules above: the extremes of the range.
        ("1E-130", bytes([128, 2])),
        ("-1E-130", bytes([127, 100, 102])),
        ("9" * 40 + "E+86", bytes([255] + [100] * 20)),
        ("-1", bytes([62, 100, 102])),
        ("1", bytes([193, 2])),
    ],
)
def test_range_extremes(text: str, raw: bytes) -> None:
    assert encode_number(text) == raw
    assert Decimal(decode_number(raw)) == Decimal(text)


def test_canonical_forms() -> None:
    assert encode_number("-0") == b"\x80"
    assert decode_number(encode_number("-0.000")) == "0"
    assert decode_number(encode_number("1.500")) == "1.5"
    assert decode_number(encode_number("1E+5")) == "100000"
    assert decode_number(encode_number("1E+125")) == "1" + "0" * 125
    assert decode_number(encode_number("-1E-130")) == "-0." + "0" * 129 + "1"


@pytest.mark.parametrize("text", ["1E+126", "1E-131", "1" + "0" * 39 + "1", "NaN", "abc"])
def test_refuses_what_oracle_cannot_hold(text: str) -> None:
    with pytest.raises(MalformedValue):
        encode_number(text)


@pytest.mark.parametrize("raw", [b"", b"\xc1", b"\xc1\x00", b"\xc1\x65", b"\x3e\x01\x66"])
def test_malformed_bytes_raise(raw: bytes) -> None:
    with pytest.raises(MalformedValue):
        decode_number(raw)


# Boundaries the round-trip properties only reach by chance, as fixed known answers.
# Derived from the layout rules above: -1234…7891 has 40 digits, 20 base-100 pairs
# 12 34 56 78 90 ×4 (the last 91), exponent 19: byte0 = 62 - 19 = 43, pairs as 101 - p.
NEG_20_PAIRS = bytes.fromhex("2B59432D170B59432D170B59432D170B59432D170A")
NEG_20_PAIRS_TEXT = "-" + "1234567890" * 3 + "1234567891"


def test_negative_with_20_pairs_has_no_terminator() -> None:
    assert len(NEG_20_PAIRS) == 21 and NEG_20_PAIRS[-1] != 102
    assert encode_number(NEG_20_PAIRS_TEXT) == NEG_20_PAIRS
    assert decode_number(NEG_20_PAIRS) == NEG_20_PAIRS_TEXT
    # The same 20 pairs below 1 (exponent -1: byte0 63), and 19 pairs, which do end in 102.
    fraction = "-0." + "1234567890" * 3 + "1234567891"
    assert encode_number(fraction) == bytes([63]) + NEG_20_PAIRS[1:]
    assert decode_number(bytes([63]) + NEG_20_PAIRS[1:]) == fraction
    nineteen = "-" + "1234567890" * 3 + "12345678"
    assert encode_number(nineteen) == bytes([44]) + NEG_20_PAIRS[1:20] + b"\x66"
    assert decode_number(bytes([44]) + NEG_20_PAIRS[1:20] + b"\x66") == nineteen


@pytest.mark.parametrize(
    "raw",
    [
        bytes([62, 102, 50, 102]),  # 102 as the first digit, before the terminator
        bytes([62, 50, 102, 50, 102]),  # 102 between digits
        bytes([62, 50, 102, 50]),  # the same without a terminator
        NEG_20_PAIRS[:5] + b"\x66" + NEG_20_PAIRS[6:],  # 20 pairs, one of them 102
    ],
)
def test_byte_102_inside_a_negative_mantissa_is_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedValue):
        decode_number(raw)


def _canonical(value: Decimal) -> str:
    if value.is_zero():
        return "0"
    return format(value.normalize(Context(prec=60)), "f")  # the default 28 digits would round


@st.composite
def oracle_decimals(draw: st.DrawFn) -> Decimal:
    digits = draw(st.integers(min_value=1, max_value=10**38 - 1))
    exponent = draw(st.integers(min_value=-130, max_value=125))
    # Built from text, not scaleb(): scaleb rounds to the context's 28 digits, which turns
    # 38 nines at the top exponent into 1E+126, a value no NUMBER holds.
    value = Decimal(f"{digits}E{exponent - len(str(digits)) + 1}")
    return value.copy_negate() if draw(st.booleans()) else value  # unary minus would round


@settings(max_examples=300)
@given(oracle_decimals())
def test_round_trip_from_values(value: Decimal) -> None:
    text = _canonical(value)
    raw = encode_number(text)
    assert len(raw) <= 22
    assert decode_number(raw) == text


@st.composite
def number_bytes(draw: st.DrawFn) -> bytes:
    pairs = draw(st.lists(st.integers(0, 99), min_size=1, max_size=20))
    pairs[0] = pairs[0] or 1
    pairs[-1] = pairs[-1] or 7
    exponent = draw(st.integers(-65, 62))
    if draw(st.booleans()):
        return bytes([193 + exponent, *(p + 1 for p in pairs)])
    tail = [102] if len(pairs) < 20 else []
    return bytes([62 - exponent, *(101 - p for p in pairs), *tail])


@settings(max_examples=300)
@given(number_bytes())
def test_round_trip_from_bytes(raw: bytes) -> None:
    assert encode_number(decode_number(raw)) == raw


def test_number_ordering_matches_bytes() -> None:
    # Oracle's encoding sorts bytewise like the values; a cheap global sanity check.
    values = ["-100", "-1.5", "-1", "-0.01", "0", "0.01", "1", "1.5", "100"]
    encoded = [encode_number(v) for v in values]
    assert encoded == sorted(encoded)
