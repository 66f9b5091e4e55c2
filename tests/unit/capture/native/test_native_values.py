"""The core's value decoders against drcapture.values, codec by codec: on random bytes
(valid and invalid: the same text or the same error), on valid encodings of random
values, and on every value the Python decoder meets in the real Oracle 23 logs and in
random writer workloads."""

from __future__ import annotations

import struct
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from drcapture import native
from drcapture.dictionary.model import Charsets, ColumnDef, OracleType
from drcapture.dictionary.olr import load_olr_checkpoint_file
from drcapture.redo.blocks import FileSource, RedoFile
from drcapture.redo.reader import iter_records
from drcapture.redo.txn.assembler import AssemblerOptions, TransactionAssembler
from drcapture.synth.workload import Workload
from drcapture.synth.workload_build import build_workload
from drcapture.values import binary, datetimes, ieee, intervals, number, rowid, text, timezones
from drcapture.values.decode import decode_column
from drcapture_core import _core
from drcommon.model import ColumnValue
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.capture.native.test_native_layers import same
from tests.unit.capture.test_redo_helpers import FREE23, FREE23_LOGS
from tests.unit.capture.test_writer_property import workloads

T = OracleType
SCALES = st.one_of(st.none(), st.integers(-3, 12))


# --- NUMBER ---------------------------------------------------------------------------


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=24))
def test_number_of_any_bytes(raw: bytes) -> None:
    same(lambda: number.decode_number(raw), lambda: native.decode_number(raw))


@st.composite
def number_bytes(draw: st.DrawFn) -> bytes:
    """A valid NUMBER's bytes, sometimes with one byte changed."""
    digits = draw(st.integers(-(10**38) + 1, 10**38 - 1))
    scale = draw(st.integers(-130, 125))
    try:
        raw = bytearray(number.encode_number(str(Decimal(digits).scaleb(scale))))
    except Exception:
        raw = bytearray(number.encode_number(str(digits)))
    if draw(st.integers(0, 4)) == 0:
        raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
    return bytes(raw)


@settings(max_examples=1500, deadline=None)
@given(number_bytes())
def test_number_of_valid_encodings(raw: bytes) -> None:
    same(lambda: number.decode_number(raw), lambda: native.decode_number(raw))


# --- BINARY_FLOAT / BINARY_DOUBLE -------------------------------------------------------


@settings(max_examples=3000, deadline=None)
@given(st.binary(min_size=3, max_size=9))
def test_ieee_of_any_bytes(raw: bytes) -> None:
    same(lambda: ieee.decode_binary_float(raw), lambda: native.decode_binary_float(raw))
    same(lambda: ieee.decode_binary_double(raw), lambda: native.decode_binary_double(raw))


@settings(max_examples=2000, deadline=None)
@given(st.floats(width=32), st.floats())
def test_ieee_of_encoded_values(small: float, wide: float) -> None:
    for raw in (ieee.encode_binary_float(repr(small)), ieee.encode_binary_double(repr(wide))):
        same(lambda: ieee.decode_binary_float(raw[:4]),  # noqa: B023
             lambda: native.decode_binary_float(raw[:4]))  # noqa: B023
        same(lambda: ieee.decode_binary_double(raw[-8:].rjust(8, b"\x80")),  # noqa: B023
             lambda: native.decode_binary_double(raw[-8:].rjust(8, b"\x80")))  # noqa: B023


def test_ieee_edges() -> None:
    edges = [0.0, -0.0, 1e16, 1e15, 1e-4, 1e-5, 5e-324, 1.7976931348623157e308, 0.1, 123.0,
             float("inf"), float("-inf"), float("nan"), 3.4028234663852886e38,
             1.1754943508222875e-38, -140737488355327.625, 2.5, 0.125]
    for value in edges:
        double = ieee.encode_binary_double(repr(value))
        same(lambda: ieee.decode_binary_double(double),  # noqa: B023
             lambda: native.decode_binary_double(double))  # noqa: B023
    for bits in (0, 1, 0x7F7FFFFF, 0x00800000, 0x007FFFFF, 0x80000001, 0x7F800000, 0xFF800000,
                 0x7FC00000, 0x3DCCCCCD, 0x4B189680, 0x5A0E1BCA):
        raw = struct.pack(">I", bits ^ 0x80000000 if not bits & 0x80000000 else ~bits & 0xFFFFFFFF)
        same(lambda: ieee.decode_binary_float(raw),  # noqa: B023
             lambda: native.decode_binary_float(raw))  # noqa: B023


# --- DATE, TIMESTAMP, TIMESTAMP WITH (LOCAL) TIME ZONE ----------------------------------


@st.composite
def stamp(draw: st.DrawFn, size: int) -> bytes:
    """Stamp bytes: mostly plausible fields (any century, BC too), sometimes any byte."""
    if draw(st.integers(0, 5)) == 0:
        return draw(st.binary(min_size=size, max_size=size))
    year = draw(st.one_of(st.integers(-4713, 10000), st.integers(1580, 1585)))
    if year > 0:
        head = [year // 100 + 100, year % 100 + 100]
    else:
        head = [100 - (-year) // 100, 100 - (-year) % 100]
    month = draw(st.integers(0, 13))
    day = draw(st.one_of(st.integers(0, 32), st.integers(4, 15)))
    clock = [draw(st.integers(0, 25)), draw(st.integers(0, 61)), draw(st.integers(0, 61))]
    body = bytes([b & 0xFF for b in head] + [month, day] + clock)
    if size >= 11:
        nanos = draw(st.one_of(st.integers(0, 999_999_999), st.integers(0, 2**32 - 1)))
        body += nanos.to_bytes(4, "big")
    if size == 13:
        if draw(st.booleans()):
            region = draw(st.sampled_from([0x899C, 0x8364, 0x8001, 0xFFFF]))
            body += region.to_bytes(2, "big")
        else:
            body += bytes([draw(st.integers(0, 40)), draw(st.integers(0, 130))])
    return body


@settings(max_examples=2000, deadline=None)
@given(st.one_of(stamp(7), st.binary(max_size=14)))
def test_dates(raw: bytes) -> None:
    same(lambda: datetimes.decode_date(raw), lambda: native.decode_date(raw))


@settings(max_examples=2000, deadline=None)
@given(st.one_of(stamp(7), stamp(11), st.binary(max_size=14)), SCALES)
def test_timestamps(raw: bytes, scale: int | None) -> None:
    same(lambda: datetimes.decode_timestamp(raw, scale),
         lambda: native.decode_timestamp(raw, scale))


@settings(max_examples=3000, deadline=None)
@given(st.one_of(stamp(13), st.binary(min_size=12, max_size=14)), SCALES)
def test_timestamps_with_time_zone(raw: bytes, scale: int | None) -> None:
    same(lambda: datetimes.decode_timestamp_tz(raw, scale),
         lambda: native.decode_timestamp_tz(raw, scale))


@settings(max_examples=3000, deadline=None)
@given(st.integers(1583, 9998), st.integers(0, 366 * 24 * 3600), st.sampled_from([0x899C, 0x8364]))
def test_region_offsets_across_the_years(year: int, second: int, region: int) -> None:
    """Every instant maps to the offset zoneinfo gives (DST rules, transitions, far
    future from the TZ string)."""
    day, rest = divmod(second, 86400)
    start = datetimes.day_number(year, 1, 1) + day
    y, m, d = datetimes.from_day_number(start)
    if not 1583 <= y <= 9998:
        return
    raw = datetimes._pack((y, m, d, rest // 3600, rest // 60 % 60, rest % 60, 0), True)
    raw += region.to_bytes(2, "big")
    same(lambda: datetimes.decode_timestamp_tz(raw, 0),
         lambda: native.decode_timestamp_tz(raw, 0))


def test_region_table_is_the_python_one() -> None:
    assert dict(_core.timezone_regions()) == timezones.REGIONS
    for _, name in _core.timezone_regions():
        assert native.time_zones().knows(name) == (datetimes._zone(name) is not None)


# --- intervals, RAW, BOOLEAN, ROWID ----------------------------------------------------


@st.composite
def interval(draw: st.DrawFn, size: int) -> bytes:
    if draw(st.integers(0, 3)) == 0:
        return draw(st.binary(min_size=size, max_size=size))
    sign = draw(st.sampled_from([-1, 1]))
    mixed = draw(st.integers(0, 5)) == 0
    big = (0x80000000 + sign * draw(st.integers(0, 10**9))).to_bytes(4, "big")
    small = [60 + (-sign if mixed else sign) * draw(st.integers(0, 70)) for _ in range(3)]
    if size == 5:
        return big + bytes([small[0] & 0xFF])
    nanos = (0x80000000 + sign * draw(st.integers(0, 1_100_000_000))).to_bytes(4, "big")
    return big + bytes(b & 0xFF for b in small) + nanos


@settings(max_examples=2000, deadline=None)
@given(st.one_of(interval(5), interval(11), st.binary(max_size=12)), SCALES)
def test_intervals(raw: bytes, scale: int | None) -> None:
    same(lambda: intervals.decode_interval_ym(raw), lambda: native.decode_interval_ym(raw))
    same(lambda: intervals.decode_interval_ds(raw, scale),
         lambda: native.decode_interval_ds(raw, scale))


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=12))
def test_raw_boolean_rowid(raw: bytes) -> None:
    same(lambda: binary.decode_raw(raw), lambda: native.decode_raw(raw))
    same(lambda: binary.decode_boolean(raw), lambda: native.decode_boolean(raw))
    same(lambda: rowid.decode_rowid(raw), lambda: native.decode_rowid(raw))


# --- character data ---------------------------------------------------------------------

NAMES = sorted(text.CHARSETS)


def test_the_same_character_sets() -> None:
    assert sorted(_core.charset_names()) == NAMES


@pytest.mark.parametrize("name", ["al32utf8", "Zhs16Gbk", "KO16MSWIN949", "", "ııı"])
def test_charset_names(name: str) -> None:
    same(lambda: text.decode_text(b"a", text.charset(name)), lambda: native.decode_text(b"a", name))


def _gbk_like(draw: st.DrawFn) -> bytes:
    """Two-byte codes of GBK's shape, user-defined areas included, between ASCII."""
    out = bytearray()
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            out.append(draw(st.integers(0, 0x7F)))
        else:
            out += bytes([draw(st.integers(0x80, 0xFF)), draw(st.integers(0x30, 0xFF))])
    return bytes(out)


@st.composite
def text_bytes(draw: st.DrawFn, name: str) -> bytes:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.binary(max_size=16))
    if kind == 1 and name in ("ZHS16GBK", "ZHS32GB18030"):
        return _gbk_like(draw)
    if kind == 1 and name == "UTF8":  # CESU-8 surrogates, paired or not
        units = draw(st.lists(st.integers(0xD7F0, 0xE010), max_size=4))
        return "".join(map(chr, units)).encode("utf-8", "surrogatepass")
    value = draw(st.text(max_size=8))
    try:
        return text.encode_text(value, text.charset(name))
    except Exception:
        return value.encode("utf-8", "surrogatepass")


@settings(max_examples=400, deadline=None)
@given(st.data())
@pytest.mark.parametrize("name", NAMES)
def test_text(name: str, data: st.DataObject) -> None:
    raw = data.draw(text_bytes(name))
    same(lambda: text.decode_text(raw, text.charset(name)), lambda: native.decode_text(raw, name))


def test_every_two_and_four_byte_code_of_the_chinese_sets() -> None:
    for lead in range(0x80, 0x100):
        for trail in range(0x30, 0x100):
            pair = bytes([lead, trail])
            for name in ("ZHS16GBK", "ZHS32GB18030"):
                want = text.decode_text(pair + b"A", text.charset(name))
                assert native.decode_text(pair + b"A", name) == want
    for b1 in (0x81, 0x84, 0x85, 0x8F, 0x90, 0xE3, 0xE4, 0xFE):
        for b2 in (0x30, 0x35, 0x39):
            for b3 in range(0x80, 0x100, 7):
                for b4 in (0x30, 0x39, 0x3A):
                    code = bytes([b1, b2, b3, b4])
                    want = text.decode_text(code, text.charset("ZHS32GB18030"))
                    assert native.decode_text(code, "ZHS32GB18030") == want


# --- the real values of the fixtures and of random workloads ----------------------------

NATIVE: dict[int, Callable[[bytes, ColumnDef, Charsets], ColumnValue]] = {
    T.NUMBER: lambda r, c, s: native.decode_number(r),
    T.BINARY_FLOAT: lambda r, c, s: native.decode_binary_float(r),
    T.BINARY_DOUBLE: lambda r, c, s: native.decode_binary_double(r),
    T.DATE: lambda r, c, s: native.decode_date(r),
    T.TIMESTAMP: lambda r, c, s: native.decode_timestamp(r, c.scale),
    T.TIMESTAMP_LTZ: lambda r, c, s: native.decode_timestamp(r, c.scale),
    T.TIMESTAMP_TZ: lambda r, c, s: native.decode_timestamp_tz(r, c.scale),
    T.INTERVAL_YM: lambda r, c, s: native.decode_interval_ym(r),
    T.INTERVAL_DS: lambda r, c, s: native.decode_interval_ds(r, c.scale),
    T.RAW: lambda r, c, s: native.decode_raw(r),
    T.LONG_RAW: lambda r, c, s: native.decode_raw(r),
    T.ROWID: lambda r, c, s: native.decode_rowid(r),
    T.BOOLEAN: lambda r, c, s: native.decode_boolean(r),
}
for _code in (T.VARCHAR2, T.CHAR, T.LONG):
    NATIVE[_code] = lambda r, c, s: native.decode_text(
        r, s.national if c.charset_form == 2 else s.database)


class Recorder:
    """A value decoder that decodes as Python does and keeps every input it saw."""

    def __init__(self) -> None:
        self.seen: list[tuple[bytes, ColumnDef, Charsets]] = []

    def __call__(self, raw: bytes | None, column: ColumnDef, charsets: Charsets) -> ColumnValue:
        if raw is not None and column.type_code in NATIVE:
            self.seen.append((raw, column, charsets))
        return decode_column(raw, column, charsets)

    def check(self) -> None:
        for raw, column, charsets in self.seen:
            same(lambda: decode_column(raw, column, charsets),  # noqa: B023
                 lambda: NATIVE[column.type_code](raw, column, charsets))  # noqa: B023


def test_the_values_of_the_oracle_23_logs() -> None:
    dictionary = load_olr_checkpoint_file(FREE23 / "olr-checkpoint-2266634.json")
    recorder = Recorder()
    options = AssemblerOptions(thread=1, wanted=lambda owner, table: True, decoder=recorder,
                               triage=False)
    assembler = TransactionAssembler(dictionary, options)
    for path in FREE23_LOGS:
        for record in iter_records(RedoFile(FileSource(path))):
            assembler.feed(record)
    assert recorder.seen
    recorder.check()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workloads())
def test_the_values_of_random_workloads(workload: Workload) -> None:
    built = build_workload(workload)
    recorder = Recorder()
    for thread in sorted({log.thread for log in built.logs}):
        options = AssemblerOptions(thread=thread, decoder=recorder, include_unknown=True)
        assembler = TransactionAssembler(built.dictionary, options)
        for log in built.logs_of(thread):
            for record in iter_records(RedoFile(_bytes_source(log.data))):
                assembler.feed(record)
    recorder.check()


def _bytes_source(data: bytes) -> Any:
    from drcapture.redo.blocks import BytesSource

    return BytesSource(data)
