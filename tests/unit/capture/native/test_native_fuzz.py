"""A short fuzz run through the binding (CI-sized; the long one is ``cargo fuzz``, see
docs/CAPTURE.md "Native core"): corrupted, truncated and spliced logs read from any
resume state, and any bytes given to any value decoder, must end in records or a
``DRError``, never a panic crossing into Python (pyo3's ``PanicException`` is not an
``Exception``, so it would fail these tests) and never a hang (each example has a
deadline)."""

from __future__ import annotations

import contextlib
import random

from drcapture import native
from drcapture.native import NativeRedoFile
from drcapture.redo.blocks import BlockStatus
from drcapture.redo.records import ReadState
from drcommon.errors import DRError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.capture.native.oracle import oracdc_logs

SEEDS = [data for size in (512, 1024, 4096) for _, data in oracdc_logs(size)
         if len(data) < 64 * 1024]


def _mutate(data: bytearray, rnd: random.Random) -> None:
    size = 512
    kind = rnd.randrange(5)
    if kind == 0:  # random bytes over a random range
        at = rnd.randrange(len(data))
        data[at : at + rnd.randrange(1, 64)] = rnd.randbytes(rnd.randrange(1, 64))
    elif kind == 1:  # a block copied over another
        blocks = len(data) // size
        if not blocks:
            return
        src, dst = rnd.randrange(blocks), rnd.randrange(blocks)
        data[dst * size : (dst + 1) * size] = data[src * size : (src + 1) * size]
    elif kind == 2:  # cut anywhere
        del data[rnd.randrange(len(data)) :]
    elif kind == 3:  # a random little- or big-endian u32 somewhere (lengths, counts)
        at = rnd.randrange(max(1, len(data) - 4))
        data[at : at + 4] = rnd.randrange(2**32).to_bytes(4, rnd.choice(["little", "big"]))
    else:  # bytes inserted (everything after shifts)
        at = rnd.randrange(len(data))
        data[at:at] = rnd.randbytes(rnd.randrange(1, 600))


@st.composite
def mangled(draw: st.DrawFn) -> tuple[bytes, bool, bool, ReadState]:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    rnd = random.Random(draw(st.integers(0, 2**32)))
    for _ in range(draw(st.integers(1, 6))):
        if data:
            _mutate(data, rnd)
    state = draw(st.one_of(
        st.just(ReadState()),
        st.builds(ReadState, st.integers(0, 2**40), st.integers(0, 2**40),
                  st.sampled_from(list(BlockStatus))),
        st.builds(ReadState, st.integers(0, 40), st.integers(0, 5000)),
    ))
    return bytes(data), draw(st.booleans()), draw(st.booleans()), state


@settings(max_examples=1500, deadline=10_000, suppress_health_check=[HealthCheck.too_slow])
@given(mangled())
def test_mangled_logs_end_in_records_or_a_drerror(case: tuple[bytes, bool, bool, ReadState]
                                                  ) -> None:
    data, online, verify, state = case
    try:
        redo = NativeRedoFile(data, online=online, verify_checksum=verify)
    except DRError:
        return
    walked = ReadState(state.next_block, state.resume_offset, state.stopped)
    count = 0
    try:
        for record in redo.records(walked):
            assert len(record.data) == record.header.length
            assert all(slot.end <= len(record.data) for slot in record.slots)
            count += 1
    except DRError:
        pass
    assert count <= len(data) // 24 + 1
    with contextlib.suppress(DRError):
        redo.scan(ReadState(state.next_block, state.resume_offset, state.stopped))


DECODERS = [
    native.decode_number, native.decode_binary_float, native.decode_binary_double,
    native.decode_date, native.decode_interval_ym, native.decode_raw, native.decode_boolean,
    native.decode_rowid,
]
SCALED = [native.decode_timestamp, native.decode_timestamp_tz, native.decode_interval_ds]


@settings(max_examples=3000, deadline=5_000)
@given(st.binary(max_size=40), st.one_of(st.none(), st.integers(-(2**62), 2**62)),
       st.sampled_from(["AL32UTF8", "UTF8", "AL16UTF16", "US7ASCII", "WE8ISO8859P1",
                        "WE8MSWIN1252", "ZHS16GBK", "ZHS32GB18030"]))
def test_any_bytes_to_any_decoder(raw: bytes, scale: int | None, charset: str) -> None:
    for decode in DECODERS:
        with contextlib.suppress(DRError):
            assert isinstance(decode(raw), str)
    for scaled in SCALED:
        with contextlib.suppress(DRError):
            assert isinstance(scaled(raw, scale), str)
    native.decode_text(raw, charset)
