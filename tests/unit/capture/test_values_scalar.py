"""INTERVAL, BINARY_FLOAT/DOUBLE, ROWID, RAW and BOOLEAN codecs."""

from __future__ import annotations

import math
import struct

import pytest
from drcapture.values.binary import decode_boolean, decode_raw, encode_boolean, encode_raw
from drcapture.values.errors import MalformedValue
from drcapture.values.ieee import (
    decode_binary_double,
    decode_binary_float,
    encode_binary_double,
    encode_binary_float,
)
from drcapture.values.intervals import (
    decode_interval_ds,
    decode_interval_ym,
    encode_interval_ds,
    encode_interval_ym,
)
from drcapture.values.rowid import decode_rowid, encode_rowid
from hypothesis import given, settings
from hypothesis import strategies as st

# --- intervals: layout from python-oracledb decoders.pyx (0x80000000 / +60 biases) ------


def test_interval_known_layout() -> None:
    raw = (0x80000000 + 1).to_bytes(4, "big") + bytes([62])
    assert decode_interval_ym(raw) == "P1Y2M"
    assert encode_interval_ym("P1Y2M") == raw
    raw = (
        (0x80000000 - 3).to_bytes(4, "big")
        + bytes([56, 55, 54])
        + (0x80000000 - 500_000_000).to_bytes(4, "big")
    )
    assert decode_interval_ds(raw, 1) == "-P3DT4H5M6.5S"
    assert decode_interval_ds(raw, 6) == "-P3DT4H5M6.500000S"
    assert encode_interval_ds("-P3DT4H5M6.5S") == raw


def test_interval_zero_and_partial_forms() -> None:
    assert decode_interval_ym(encode_interval_ym("P0Y0M")) == "P0Y0M"
    assert encode_interval_ym("-P3M") == encode_interval_ym("-P0Y3M")
    assert decode_interval_ds(encode_interval_ds("PT1S"), 0) == "P0DT0H0M1S"
    assert decode_interval_ds(encode_interval_ds("P0DT0H0M0S"), 2) == "P0DT0H0M0.00S"


@pytest.mark.parametrize("text", ["P", "P1Y12M", "1Y", "P1.5Y"])
def test_interval_ym_refused(text: str) -> None:
    with pytest.raises(MalformedValue):
        encode_interval_ym(text)


@pytest.mark.parametrize("text", ["P", "PT", "PT24H", "PT60M", "P1DT1H1M60S", "PT1.1234567891S"])
def test_interval_ds_refused(text: str) -> None:
    with pytest.raises(MalformedValue):
        encode_interval_ds(text)


def test_interval_mixed_signs_are_malformed() -> None:
    raw = (0x80000000 + 1).to_bytes(4, "big") + bytes([59])
    with pytest.raises(MalformedValue):
        decode_interval_ym(raw)


@settings(max_examples=200)
@given(st.integers(0, 999_999_999), st.integers(0, 11), st.booleans())
def test_interval_ym_round_trip(years: int, months: int, negative: bool) -> None:
    sign = -1 if negative and (years or months) else 1
    raw = (0x80000000 + sign * years).to_bytes(4, "big") + bytes([60 + sign * months])
    assert encode_interval_ym(decode_interval_ym(raw)) == raw


@settings(max_examples=200)
@given(
    st.tuples(
        st.integers(0, 999_999_999),
        st.integers(0, 23),
        st.integers(0, 59),
        st.integers(0, 59),
        st.integers(0, 999_999_999),
    ),
    st.booleans(),
    st.integers(0, 9),
)
def test_interval_ds_round_trip(fields: tuple[int, ...], negative: bool, scale: int) -> None:
    sign = -1 if negative and any(fields) else 1
    days, hours, minutes, seconds, nanos = (sign * f for f in fields)
    raw = (
        (0x80000000 + days).to_bytes(4, "big")
        + bytes([60 + hours, 60 + minutes, 60 + seconds])
        + (0x80000000 + nanos).to_bytes(4, "big")
    )
    text = decode_interval_ds(raw, scale)
    assert encode_interval_ds(text) == raw
    assert decode_interval_ds(encode_interval_ds(text), scale) == text


# --- BINARY_FLOAT / BINARY_DOUBLE --------------------------------------------------------


def test_binary_double_known_answers() -> None:
    # exadatadba.blog 2019-03-22: DUMP(binary_double_infinity) = 255,240,0,0,0,0,0,0.
    inf = bytes([255, 240, 0, 0, 0, 0, 0, 0])
    assert decode_binary_double(inf) == "Infinity"
    assert encode_binary_double("Infinity") == inf
    # Derived from the sign-flip rule.
    assert encode_binary_double("1") == bytes.fromhex("bff0000000000000")
    assert encode_binary_double("-1") == bytes.fromhex("400fffffffffffff")
    assert encode_binary_double("0") == bytes.fromhex("8000000000000000")
    assert decode_binary_double(bytes.fromhex("fff8000000000000")) == "NaN"
    assert decode_binary_double(encode_binary_double("-Infinity")) == "-Infinity"
    assert decode_binary_double(encode_binary_double("0.1")) == "0.1"
    assert decode_binary_double(encode_binary_double("1e+16")) == "1e+16"
    assert decode_binary_double(encode_binary_double("-0")) == "-0"


def test_binary_float_shortest_text() -> None:
    assert decode_binary_float(encode_binary_float("0.1")) == "0.1"
    assert decode_binary_float(encode_binary_float("3.4028235e+38")) == "3.4028235e+38"
    assert decode_binary_float(encode_binary_float("1e-45")) == "1e-45"  # smallest subnormal
    assert decode_binary_float(encode_binary_float("100")) == "100"
    assert encode_binary_float("1") == bytes.fromhex("bf800000")
    with pytest.raises(MalformedValue):
        encode_binary_float("1e39")


def test_binary_bytes_sort_like_numbers() -> None:
    values = ["-Infinity", "-1e10", "-1", "-0", "0", "1e-300", "1", "Infinity"]
    encoded = [encode_binary_double(v) for v in values]
    assert encoded == sorted(encoded)


@settings(max_examples=300)
@given(st.floats(allow_nan=False))
def test_binary_double_round_trip(value: float) -> None:
    text = decode_binary_double(encode_binary_double(repr(value)))
    assert struct.pack(">d", float(text)) == struct.pack(">d", value)
    assert decode_binary_double(encode_binary_double(text)) == text


@settings(max_examples=300)
@given(st.floats(width=32, allow_nan=False))
def test_binary_float_round_trip(value: float) -> None:
    raw = encode_binary_float(repr(value))
    text = decode_binary_float(raw)
    assert encode_binary_float(text) == raw
    if math.isfinite(value) and value != 0:
        # nothing shorter reads back to the same float32
        digits = len(text.lstrip("-").split("e")[0].replace(".", "").strip("0"))
        if digits > 1:
            shorter = float(f"{float(text):.{digits - 2}e}")
            assert struct.pack(">f", shorter) != struct.pack(">f", value)


# --- ROWID ------------------------------------------------------------------------------


def test_rowid_known_answer() -> None:
    # cppentry.com: AAATLnAAFAAAAD9AAB is Typ=69 Len=10: 0,1,32,e7,1,40,0,fd,0,1.
    raw = bytes.fromhex("000132e7014000fd0001")
    assert decode_rowid(raw) == "AAATLnAAFAAAAD9AAB"
    assert encode_rowid("AAATLnAAFAAAAD9AAB") == raw


@settings(max_examples=100)
@given(st.binary(min_size=10, max_size=10))
def test_rowid_round_trip(raw: bytes) -> None:
    assert encode_rowid(decode_rowid(raw)) == raw


@pytest.mark.parametrize("text", ["AAATLn", "AAATLnAAFAAAAD9AA!", "//////AAFAAAAD9AAB"])
def test_rowid_refused(text: str) -> None:
    with pytest.raises(MalformedValue):
        encode_rowid(text)


# --- RAW / BOOLEAN ----------------------------------------------------------------------


def test_raw_and_boolean() -> None:
    assert decode_raw(b"\x00\xab") == "00AB"
    assert encode_raw("00AB") == b"\x00\xab"
    assert decode_boolean(b"\x01") == "true" and decode_boolean(b"\x00") == "false"
    assert encode_boolean("true") == b"\x01" and encode_boolean("false") == b"\x00"
    with pytest.raises(MalformedValue):
        decode_boolean(b"\x02")
    with pytest.raises(MalformedValue):
        encode_raw("XYZ")
