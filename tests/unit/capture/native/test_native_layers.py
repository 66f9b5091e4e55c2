"""The core's block, record and vector functions one call at a time, against the Python
reader's, on real records (whole and damaged) and on random bytes: the same result or
the same error (class, message, location facts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drcapture import native
from drcapture.redo import binary, blocks, checksum, records, vectors
from drcapture.redo.binary import BIG, LITTLE, Endian
from drcapture.redo.blocks import BlockCheck
from drcapture.redo.records import RawRecord, Rba, RecordLayout
from drcommon.errors import DRError
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.capture.native.oracle import describe
from tests.unit.capture.test_redo_helpers import oracdc_index

ENDIANS = st.sampled_from([LITTLE, BIG])
RECORDS = [(entry.data, entry.record_layout()) for entry in oracdc_index()]


def same(python: Callable[[], Any], core: Callable[[], Any]) -> None:
    """Both calls return equal values or raise the same ``DRError``."""
    want: Any
    got: Any
    try:
        want = ("ok", python())
    except DRError as exc:
        want = ("error", describe(exc))
    try:
        got = ("ok", core())
    except DRError as exc:
        got = ("error", describe(exc))
    assert got == want


def test_every_oracdc_record_parses_the_same() -> None:
    for data, layout in RECORDS:
        raw = RawRecord(Rba(0x42, 0x55AD9, 0x9C), data)
        same(lambda: _record(records.parse_record(raw, layout)),  # noqa: B023
             lambda: _record(native.parse_record(raw, layout)))  # noqa: B023


def _record(record: records.RedoRecord) -> tuple[Any, ...]:
    return (record.rba, record.header, record.data, record.slots, record.wide)


@st.composite
def damaged_record(draw: st.DrawFn) -> tuple[bytes, RecordLayout]:
    data, layout = draw(st.sampled_from(RECORDS))
    buf = bytearray(data)
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, min(len(buf), 160) - 1))
        buf[at] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(buf)))
    if draw(st.booleans()):
        del buf[cut:]
    if draw(st.booleans()) and len(buf) >= 4:  # the length field says what is there
        order = "big" if layout.endian.big else "little"
        buf[0:4] = len(buf).to_bytes(4, order)
    endian = draw(st.sampled_from([layout.endian, LITTLE, BIG]))
    wide = draw(st.sampled_from([layout.wide_vectors, not layout.wide_vectors]))
    return bytes(buf), RecordLayout(endian, wide)


@settings(max_examples=1500, deadline=None)
@given(damaged_record(), st.integers(0, 2**32 - 1), st.integers(2, 2**32 - 1),
       st.integers(0, 2**16))
def test_damaged_records(case: tuple[bytes, RecordLayout], seq: int, block: int,
                         offset: int) -> None:
    data, layout = case
    raw = RawRecord(Rba(seq, block, offset), data)
    same(lambda: _record(records.parse_record(raw, layout)),
         lambda: _record(native.parse_record(raw, layout)))


@settings(max_examples=800, deadline=None)
@given(st.binary(max_size=200), st.data(), ENDIANS, st.booleans())
def test_vector_scan_of_random_bytes(data: bytes, draw: st.DataObject, endian: Endian,
                                     wide: bool) -> None:
    end = draw.draw(st.integers(0, len(data)))
    start = draw.draw(st.integers(0, end))
    same(lambda: vectors.scan_vectors(data, start, end, endian, wide=wide),
         lambda: native.scan_vectors(data, start, end, endian, wide=wide))
    offset = draw.draw(st.integers(0, len(data) + 4))
    same(lambda: vectors.parse_vector_header(data, offset, endian, wide=wide),
         lambda: native.parse_vector_header(data, offset, endian, wide=wide))


@settings(max_examples=600, deadline=None)
@given(st.binary(max_size=40), st.binary(min_size=40, max_size=40), st.booleans(),
       st.sampled_from([512, 1024, 4096, 2048, 0, 513]), st.sampled_from([0x00, 0x22, 0x42, 0x82]),
       ENDIANS)
def test_file_headers(short: bytes, head: bytes, use_short: bool, size: int, kind: int,
                      endian: Endian) -> None:
    block0 = bytearray(head)
    block0[0] = 0 if not use_short else block0[0]
    block0[1] = kind
    block0[20:24] = size.to_bytes(4, "big" if endian.big else "little")
    block0[28:32] = bytes.fromhex("7a7b7c7d" if endian.big else "7d7c7b7a")
    data = short if use_short else bytes(block0)
    same(lambda: blocks.parse_file_header(data, file="f"),
         lambda: native.parse_file_header(data, file="f"))


@st.composite
def a_block(draw: st.DrawFn) -> tuple[bytes, int, Endian, BlockCheck]:
    size = draw(st.sampled_from([512, 1024, 4096]))
    body = bytearray(draw(st.binary(min_size=64, max_size=64)) * (size // 64))
    endian = draw(ENDIANS)
    order = "big" if endian.big else "little"
    number = draw(st.integers(1, 9))
    body[0] = draw(st.sampled_from([0, 1, 1, 1, 2]))
    body[1] = draw(st.sampled_from([0, 0x22, 0x42, 0x82]))
    body[4:8] = draw(st.sampled_from([number, number + 1])).to_bytes(4, order)
    body[8:12] = draw(st.integers(5, 7)).to_bytes(4, order)
    if draw(st.booleans()):
        body[14:16] = checksum.compute_checksum(body)
    if draw(st.booleans()):
        body[14:16] = b"\x00\x00"
    if draw(st.booleans()):
        del body[draw(st.integers(0, size - 1)) :]
    check = BlockCheck(file="b", block_size=size, sequence=draw(st.sampled_from([None, 6])),
                       online=draw(st.booleans()), verify_checksum=draw(st.booleans()))
    return bytes(body), number, endian, check


@settings(max_examples=800, deadline=None)
@given(a_block())
def test_block_checks(case: tuple[bytes, int, Endian, BlockCheck]) -> None:
    block, number, endian, check = case
    same(lambda: blocks.check_block(block, number, endian, check),
         lambda: native.check_block(block, number, endian, check))
    assert native.fold(block) == checksum.fold(block)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=512, max_size=512), ENDIANS, st.integers(0, 2**32 - 1),
       st.integers(0, 2**32 - 1), st.binary(min_size=8, max_size=8))
def test_redo_headers(block: bytes, endian: Endian, first: int, second: int,
                      name: bytes) -> None:
    buf = bytearray(block)
    order = "big" if endian.big else "little"
    buf[188:192] = first.to_bytes(4, order)
    buf[200:204] = (second if second % 3 else 0).to_bytes(4, order)
    buf[28:36] = name
    same(lambda: blocks.parse_redo_header(bytes(buf), endian),
         lambda: native.parse_redo_header(bytes(buf), endian))


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 2**32 - 1), st.binary(max_size=12), st.integers(0, 14), ENDIANS)
def test_times_scns_and_undo_addresses(encoded: int, buf: bytes, offset: int,
                                       endian: Endian) -> None:
    same(lambda: binary.redo_time(encoded), lambda: native.redo_time_of(encoded))
    ff = b"\xff" * 6 + buf
    for data in (buf, ff):
        same(lambda: endian.scn(data, offset),  # noqa: B023
             lambda: native.read_scn(data, offset, endian))  # noqa: B023
        same(lambda: endian.record_scn(data, offset),  # noqa: B023
             lambda: native.read_record_scn(data, offset, endian))  # noqa: B023
        same(lambda: endian.uba(data, offset),  # noqa: B023
             lambda: native.read_uba(data, offset, endian))  # noqa: B023


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_fold_of_any_length(data: bytes) -> None:
    assert native.fold(data) == checksum.fold(data)
