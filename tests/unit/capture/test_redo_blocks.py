"""File and block layer: headers, checksums, and every kind of damage raising CorruptRedo."""

from __future__ import annotations

from pathlib import Path

import pytest
from drcapture.redo.binary import LITTLE, encode_redo_time, redo_time
from drcapture.redo.blocks import (
    BlockStatus,
    BytesSource,
    FileSource,
    RedoFile,
)
from drcapture.redo.checksum import compute_checksum, fold
from drcapture.redo.ops.dispatch import decode_record
from drcapture.redo.records import ReadState, RecordLayout, iter_raw_records, parse_record
from drcommon.errors import CorruptRedo, ParseError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.capture.test_redo_helpers import FREE23_LOGS

BLOCK = 512
SMALL = FREE23_LOGS[1].read_bytes()  # sequence 16: 10 blocks
BIG_LOG = FREE23_LOGS[0].read_bytes()


def _read_all(data: bytes, *, online: bool = False, label: str = "test.dbf") -> int:
    redo = RedoFile(BytesSource(data, label), online=online)
    layout = RecordLayout(redo.endian, redo.header.wide_vectors)
    count = 0
    for raw in iter_raw_records(redo):
        decode_record(parse_record(raw, layout))
        count += 1
    return count


def _patch(data: bytes, offset: int, new: bytes) -> bytes:
    return data[:offset] + new + data[offset + len(new):]


def _resum(data: bytes, block: int) -> bytes:
    start = block * BLOCK
    fixed = compute_checksum(data[start:start + BLOCK])
    return _patch(data, start + 14, fixed)


def test_every_block_checksum_folds_to_zero() -> None:
    for i in range(1, len(BIG_LOG) // BLOCK):
        assert fold(BIG_LOG[i * BLOCK:(i + 1) * BLOCK]) == 0


def test_reads_all_records_of_both_logs() -> None:
    assert _read_all(BIG_LOG) == 1154
    assert _read_all(SMALL) == 7


def test_file_source_reads_like_bytes(tmp_path: Path) -> None:
    path = tmp_path / "copy.dbf"
    path.write_bytes(SMALL)
    assert RedoFile(FileSource(path)).header == RedoFile(BytesSource(SMALL)).header


def test_flipped_byte_fails_the_checksum() -> None:
    bad = _patch(SMALL, 3 * BLOCK + 100, bytes([SMALL[3 * BLOCK + 100] ^ 0x40]))
    with pytest.raises(CorruptRedo) as info:
        _read_all(bad)
    assert "checksum" in info.value.message
    assert info.value.where["file"] == "test.dbf"
    assert info.value.where["block"] == 3
    assert "expected" in info.value.where and "found" in info.value.where


def test_truncated_file() -> None:
    with pytest.raises(CorruptRedo) as info:
        _read_all(SMALL[: 6 * BLOCK + 100])
    assert info.value.where["block"] == 6
    assert info.value.where["file"] == "test.dbf"


def test_truncated_before_the_redo_header() -> None:
    with pytest.raises(CorruptRedo) as info:
        RedoFile(BytesSource(SMALL[:700]))
    assert info.value.where["block"] == 1


def test_wrong_block_number() -> None:
    bad = _resum(_patch(SMALL, 4 * BLOCK + 4, (9).to_bytes(4, "little")), 4)
    with pytest.raises(CorruptRedo) as info:
        _read_all(bad)
    assert info.value.where == {"file": "test.dbf", "block": 4, "expected": 4, "found": 9}


def test_wrong_sequence_in_an_archived_log() -> None:
    bad = _resum(_patch(SMALL, 5 * BLOCK + 8, (15).to_bytes(4, "little")), 5)
    with pytest.raises(CorruptRedo) as info:
        _read_all(bad)
    assert info.value.where["block"] == 5
    assert (info.value.where["expected"], info.value.where["found"]) == (16, 15)


def test_online_log_stops_at_a_block_not_yet_written() -> None:
    # Block 5 still carries an older sequence: the writer has not reached it yet.
    stale = _resum(_patch(SMALL, 5 * BLOCK + 8, (15).to_bytes(4, "little")), 5)
    redo = RedoFile(BytesSource(stale), online=True)
    state = ReadState()
    first = list(iter_raw_records(redo, state))
    assert state.stopped is BlockStatus.NOT_YET_WRITTEN
    assert state.next_block <= 5
    # Once written, polling again with the same state yields only the rest, once.
    rest = list(iter_raw_records(RedoFile(BytesSource(SMALL), online=True), state))
    assert [r.rba for r in first + rest] == [
        r.rba for r in iter_raw_records(RedoFile(BytesSource(SMALL)))]


def test_online_log_reused_by_a_newer_sequence() -> None:
    newer = _resum(_patch(SMALL, 3 * BLOCK + 8, (17).to_bytes(4, "little")), 3)
    state = ReadState()
    list(iter_raw_records(RedoFile(BytesSource(newer), online=True), state))
    assert state.stopped is BlockStatus.OVERWRITTEN


def test_bad_magic() -> None:
    with pytest.raises(CorruptRedo) as info:
        RedoFile(BytesSource(_patch(SMALL, 28, b"\x00\x00\x00\x00")))
    assert info.value.where["block"] == 0


def test_redo_time_round_trip() -> None:
    moment = redo_time(0x49261286)
    assert moment is not None
    assert encode_redo_time(moment) == 0x49261286
    assert redo_time(LITTLE.u32(BIG_LOG, BLOCK + 188)) == moment


@pytest.mark.timeout(120)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(SMALL) - 1), st.integers(0, 255)),
                min_size=1, max_size=8),
       st.booleans(), st.integers(0, len(SMALL)))
def test_fuzzed_files_raise_only_parse_errors(
    edits: list[tuple[int, int]], resum: bool, cut: int
) -> None:
    data = bytearray(SMALL)
    for offset, value in edits:
        data[offset] = value
    blob = bytes(data)
    if resum:  # make checksums right so damage reaches the record and vector parsers
        for block in range(1, len(blob) // BLOCK):
            blob = _resum(blob, block)
    blob = blob[:cut] if cut > 2 * BLOCK else blob
    try:
        outcome: object = _read_all(blob)
    except ParseError as exc:  # CorruptRedo, UnsupportedFormat … all are ParseErrors
        outcome = exc
    assert isinstance(outcome, int | ParseError)
