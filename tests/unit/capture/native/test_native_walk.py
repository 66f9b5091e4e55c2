"""The compiled core's record walk against the Python reader's, on every real fixture, on
random writer-generated logs, and on damaged, truncated and half-written copies: the
same records (RBA, header, bytes, vector slots), the same error (class, message,
location facts), and the same resume state after every record and at the end."""

from __future__ import annotations

import random
from typing import Literal

import pytest
from drcapture.native import NativeRedoFile
from drcapture.redo import layout as L
from drcapture.redo.blocks import BlockStatus, FileSource, RedoFile
from drcapture.redo.checksum import compute_checksum
from drcapture.redo.reader import iter_records
from drcapture.redo.records import ReadState
from drcapture.synth.workload import Workload
from drcapture.synth.workload_build import build_workload
from drcommon.errors import DRError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.capture.native.oracle import (
    assert_same_walk,
    describe,
    native_walk,
    oracdc_logs,
)
from tests.unit.capture.test_redo_helpers import FREE23_LOGS
from tests.unit.capture.test_writer_property import workloads

SIZES = [512, 1024, 4096]


def _fixture_logs() -> list[bytes]:
    logs = [data for size in SIZES for _, data in oracdc_logs(size)]
    return logs + [path.read_bytes() for path in FREE23_LOGS]


FIXTURE_LOGS = _fixture_logs()


# --- real redo ------------------------------------------------------------------------


@pytest.mark.parametrize("path", FREE23_LOGS, ids=lambda p: p.name)
def test_free23_logs_read_from_their_files(path: object) -> None:
    assert isinstance(path, type(FREE23_LOGS[0]))
    python = RedoFile(FileSource(path))
    native = NativeRedoFile(path)
    assert native.name == python.name == str(path)
    assert native.header == python.header
    assert native.file_header == python.file_header
    assert native.last_block == python.last_block
    want = [parsed.record for parsed in iter_records(python)]
    got = list(native.records())
    assert got == want and got
    assert [r.slots for r in got] == [r.slots for r in want]


@pytest.mark.parametrize("size", SIZES)
def test_oracdc_records_in_logs_of_both_byte_orders(size: int) -> None:
    for name, data in oracdc_logs(size):
        walk = assert_same_walk(data)
        assert walk.records or name.endswith("-swapped")


@pytest.mark.parametrize("online", [False, True])
def test_resume_from_every_record(online: bool) -> None:
    for data in FIXTURE_LOGS[:6] + FIXTURE_LOGS[-2:]:
        full = native_walk(data)
        for record in full.records[:: max(1, len(full.records) // 25)]:
            start = ReadState(next_block=record.rba.block, resume_offset=record.rba.offset)
            assert_same_walk(data, state=start, online=online)


@pytest.mark.parametrize("online", [False, True])
def test_resume_from_odd_states(online: bool) -> None:
    for data in (FIXTURE_LOGS[0], FIXTURE_LOGS[2]):
        last = len(data) // _block_size(data)
        for block in (0, 1, 2, 3, last - 1, last, last + 1, 2**33):
            for offset in (0, 1, 16, 300, 511, 4000, 2**40):
                for stopped in BlockStatus:
                    start = ReadState(next_block=block, resume_offset=offset, stopped=stopped)
                    assert_same_walk(data, state=start, online=online)


def test_stopping_after_each_record_leaves_the_same_state() -> None:
    data = FIXTURE_LOGS[2]
    for limit in range(1, 12):
        assert_same_walk(data, limit=limit)


def test_the_whole_file_scan_ends_where_the_walk_ends() -> None:
    for data in FIXTURE_LOGS:
        walk = native_walk(data)
        state = ReadState()
        if walk.error is not None:
            with pytest.raises(DRError) as caught:
                NativeRedoFile(data, name="t.arc").scan(state)
            assert describe(caught.value) == walk.error
            continue
        totals = NativeRedoFile(data).scan(state)
        assert totals.records == len(walk.records)
        assert totals.bytes == sum(r.header.length for r in walk.records)
        assert totals.vectors == sum(len(r.slots) for r in walk.records)
        assert state == walk.state


# --- random logs from the writer ------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workloads())
def test_random_workload_logs(workload: Workload) -> None:
    built = build_workload(workload)
    for log in built.logs:
        walk = assert_same_walk(log.data)
        assert walk.error is None
        assert_same_walk(log.data, online=True)


# --- damage ---------------------------------------------------------------------------


def _reseal(data: bytearray, size: int, block: int) -> None:
    """Recompute a block's checksum (damage that a checksum does not catch)."""
    at = block * size
    data[at + L.BLOCK_CHECKSUM_OFFSET : at + L.BLOCK_CHECKSUM_OFFSET + 2] = compute_checksum(
        data[at : at + size])


def _block_size(data: bytes) -> int:
    return int.from_bytes(data[20:24], "big" if data[28] == 0x7A else "little")


def _order(data: bytearray) -> Literal["big", "little"]:
    return "big" if data[28] == 0x7A else "little"


def _flip(data: bytearray, size: int, block: int, rnd: random.Random) -> None:
    for _ in range(rnd.randint(1, 4)):
        data[rnd.randrange(len(data))] ^= 1 << rnd.randrange(8)


def _flip_resealed(data: bytearray, size: int, block: int, rnd: random.Random) -> None:
    data[block * size + rnd.randrange(L.BLOCK_HEADER_SIZE, size)] ^= 1 << rnd.randrange(8)
    _reseal(data, size, block)


def _cut(data: bytearray, size: int, block: int, rnd: random.Random) -> None:
    del data[rnd.randrange(len(data)) :]


def _zero_block(data: bytearray, size: int, block: int, rnd: random.Random) -> None:
    data[block * size : (block + 1) * size] = bytes(size)


def _zero_tail(data: bytearray, size: int, block: int, rnd: random.Random) -> None:
    data[block * size :] = bytes(len(data) - block * size)


def _checksum(data: bytearray, size: int, block: int, rnd: random.Random) -> None:
    data[block * size + L.BLOCK_CHECKSUM_OFFSET] ^= 1 + rnd.randrange(255)


def _sequences(data: bytearray, size: int, block: int, last: int, delta: int) -> None:
    order = _order(data)
    for k in range(block, last):
        pos = k * size + L.BLOCK_SEQUENCE_OFFSET
        seq = (int.from_bytes(data[pos : pos + 4], order) + delta) % 2**32
        data[pos : pos + 4] = seq.to_bytes(4, order)
        if k >= 1:
            _reseal(data, size, k)


def _sequence(data: bytearray, size: int, block: int, rnd: random.Random) -> None:
    _sequences(data, size, block, block + 1, rnd.choice([-1, 1]))


def _older_tail(data: bytearray, size: int, block: int, rnd: random.Random) -> None:
    """The blocks from ``block`` on still hold the previous log (an online log)."""
    _sequences(data, size, block, len(data) // size, -1)


def _number(data: bytearray, size: int, block: int, rnd: random.Random) -> None:
    data[block * size + L.BLOCK_NUMBER_OFFSET] ^= 1 + rnd.randrange(255)
    _reseal(data, size, block)


def _offset(data: bytearray, size: int, block: int, rnd: random.Random) -> None:
    at = block * size + L.BLOCK_RECORD_OFFSET_OFFSET
    data[at : at + 2] = rnd.randrange(2**16).to_bytes(2, "little")
    _reseal(data, size, block)


def _length(data: bytearray, size: int, block: int, rnd: random.Random) -> None:
    """Four random bytes where a record (and so its length) may start."""
    pos = block * size + rnd.randrange(L.BLOCK_HEADER_SIZE, size - 4)
    data[pos : pos + 4] = rnd.randrange(2**32).to_bytes(4, "little")
    _reseal(data, size, block)


DAMAGE = {f.__name__.lstrip("_"): f for f in (
    _flip, _flip_resealed, _cut, _zero_block, _zero_tail, _checksum, _sequence, _older_tail,
    _number, _offset, _length)}


@st.composite
def damaged(draw: st.DrawFn) -> tuple[bytes, bool, bool]:
    """A fixture log with one kind of damage, read online or archived, checked or not."""
    data = bytearray(draw(st.sampled_from(FIXTURE_LOGS)))
    size = _block_size(bytes(data))
    block = draw(st.integers(0, len(data) // size - 1))
    damage = DAMAGE[draw(st.sampled_from(sorted(DAMAGE)))]
    damage(data, size, block, random.Random(draw(st.integers(0, 2**32))))
    return bytes(data), draw(st.booleans()), draw(st.booleans())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_damaged_logs_fail_or_stop_the_same_way(case: tuple[bytes, bool, bool]) -> None:
    data, online, verify = case
    assert_same_walk(data, online=online, verify=verify)


def test_online_log_written_block_by_block() -> None:
    """An online log read while it is written: each look stops at the first block not
    yet written, and the next look resumes from the state and reads what appeared."""
    full = FIXTURE_LOGS[2]
    size = _block_size(full)
    blocks = len(full) // size
    state_py, state_native = ReadState(), ReadState()
    seen = 0
    for written in range(2, blocks + 1):
        partial = full[: written * size] + bytes(len(full) - written * size)
        want = assert_same_walk(partial, online=True, state=state_py)
        state_py = want.state
        state_native = native_walk(partial, online=True, state=state_native).state
        assert state_native == state_py
        seen += len(want.records)
    assert state_py.stopped in (BlockStatus.OK, BlockStatus.NOT_YET_WRITTEN)
    assert seen >= len(native_walk(full).records)


def test_a_missing_file_is_an_os_error(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    with pytest.raises(FileNotFoundError):
        NativeRedoFile(tmp_path / "nope.arc")
