"""The pipeline bench's pure parts: latency figures, DR commit matching, the LGWR's
re-stamping and header blocks, the layout's byte arithmetic, value canonical forms."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from drcapture.redo import layout as L
from drcapture.redo.checksum import compute_checksum
from drcapture.synth.writer import Placement

from bench.pipeline import measure
from bench.pipeline.lgwr import redo_header, stamp
from bench.pipeline.pack import BLOCK, LWN_EXTRA, PAYLOAD, Write, _file_offset, _short
from bench.pipeline.verify import canonical


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert measure.percentile(values, 50) == 50.0
    assert measure.percentile(values, 99) == 99.0
    assert measure.percentile(values, 100) == 100.0
    assert measure.percentile([7.0], 99) == 7.0


def test_latency_growth_compares_the_first_and_last_thirds() -> None:
    flushed = [float(t) for t in range(9)]
    steady = measure.Latency.of(flushed, [0.1] * 9)
    assert steady.growth_per_second == 0.0 and steady.p99 == pytest.approx(0.1)
    growing = measure.Latency.of(flushed, [0.1 * t for t in range(9)])
    assert growing.growth_per_second == pytest.approx(0.1)
    assert growing.max == pytest.approx(0.8)


def test_a_commit_is_at_dr_at_the_first_apply_commit_reaching_its_scn() -> None:
    noted = ([100, 200, 300], [1.0, 2.0, 3.0])
    assert measure.dr_times([50, 100, 150, 300, 301], noted) == [1.0, 1.0, 2.0, 3.0, None]


def test_stamp_sets_the_times_and_redoes_the_checksums() -> None:
    buf = bytearray(2 * BLOCK)
    write = Write(0.0, 1, 1, 4, 6, 4 * BLOCK + 40, (5 * BLOCK + 100,), (1,))
    stamp(buf, 4 * BLOCK, write, 1_800_000_000.0)
    assert int.from_bytes(buf[BLOCK + 100 : BLOCK + 104], "little") == 1_800_000_000
    for start in (0, BLOCK):
        at = start + L.BLOCK_CHECKSUM_OFFSET
        assert bytes(buf[at : at + 2]) == compute_checksum(buf[start : start + BLOCK])


def test_an_open_redo_header_has_no_next_scn() -> None:
    block = redo_header(bytes(BLOCK), 1_800_000_000.0, None)
    assert block[L.REDO_HEADER_NEXT_SCN : L.REDO_HEADER_NEXT_SCN + 8] == b"\xff" * 8
    closed = redo_header(bytes(BLOCK), 1_800_000_000.0, 1_800_000_060.0)
    assert closed[L.REDO_HEADER_NEXT_SCN : L.REDO_HEADER_NEXT_SCN + 8] == bytes(8)


def test_file_offsets_skip_the_block_headers() -> None:
    at = Placement(block=3, offset=L.BLOCK_HEADER_SIZE + 10)
    assert _file_offset(at, 0) == 3 * BLOCK + L.BLOCK_HEADER_SIZE + 10
    room = BLOCK - at.offset
    assert _file_offset(at, room) == 4 * BLOCK + L.BLOCK_HEADER_SIZE
    assert _file_offset(at, room + PAYLOAD + 5) == 5 * BLOCK + L.BLOCK_HEADER_SIZE + 5


def test_a_short_header_drops_the_lwn_fields() -> None:
    record = bytearray(L.RECORD_HEADER_LONG + 8)
    record[L.RECORD_VLD] = L.VLD_LWN | 0x01
    short = _short(bytes(record))
    assert len(short) == len(record) - LWN_EXTRA
    assert int.from_bytes(short[L.RECORD_LENGTH : L.RECORD_LENGTH + 4], "little") == len(short)
    assert short[L.RECORD_VLD] == 0x01


@pytest.mark.parametrize(("value", "text"), [
    (None, None), (Decimal("12.50"), "12.5"), (Decimal("100"), "100"), (7, "7"),
    (datetime(2026, 3, 2, 10, 0, 1), "2026-03-02T10:00:01"), ("crème", "crème"),
])
def test_dr_values_compare_in_the_plans_text_form(value: object, text: str | None) -> None:
    assert canonical(value) == text
