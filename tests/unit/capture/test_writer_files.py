"""The redo writer's file layer: real logs rebuilt byte for byte, fixture records wrapped
and read back by the reader, checksums, block sizes and byte orders."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest
from drcapture.redo.blocks import BytesSource, FileSource, RedoFile
from drcapture.redo.checksum import fold
from drcapture.redo.records import RecordLayout, iter_raw_records, parse_record
from drcapture.synth.writer import (
    LogHeader,
    Lwn,
    build_log,
    place_records,
    wrap_records,
    write_records,
)
from drcapture.synth.writer_records import (
    AIX_19C,
    LINUX_11G,
    LINUX_19C,
    LINUX_23,
    PLATFORMS,
    Platform,
    RecordSpec,
    VectorSpec,
    encode_record,
)
from drcommon.errors import CorruptRedo
from hypothesis import given, settings
from hypothesis import strategies as st

FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "redo"
FREE23 = FIXTURES / "free23-insert"
ORACDC = FIXTURES / "oracdc-records"


def _header_of(redo: RedoFile) -> LogHeader:
    h = redo.header
    return LogHeader(
        thread=h.thread,
        sequence=h.sequence,
        first_scn=h.first_scn,
        next_scn=h.next_scn,
        first_time=h.first_time or datetime(2000, 1, 1),
        next_time=h.next_time,
        db_id=h.db_id,
        db_name=h.db_name,
        resetlogs_id=h.resetlogs_id,
        resetlogs_scn=h.resetlogs_scn,
        activation_id=h.activation_id,
        control_seq=h.control_seq,
        file_number=h.file_number,
        configured_blocks=h.file_size_blocks,
        prev_resetlogs_id=h.prev_resetlogs_id,
        prev_resetlogs_scn=h.prev_resetlogs_scn,
    )


@pytest.mark.parametrize("name", ["arch1_15_1224959854.dbf", "arch1_16_1224959854.dbf"])
def test_real_oracle_log_rebuilt(name: str) -> None:
    """Re-packing the records of a real Oracle 23 log gives Oracle's own block layout."""
    path = FREE23 / name
    original = RedoFile(FileSource(path))
    raws = list(iter_raw_records(original))
    built = place_records([r.data for r in raws], LINUX_23, header=_header_of(original))
    rebuilt = RedoFile(BytesSource(built.data))
    assert rebuilt.header == original.header
    assert rebuilt.file_header == original.file_header
    again = list(iter_raw_records(rebuilt))
    assert [(r.rba, r.data) for r in again] == [(r.rba, r.data) for r in raws]
    assert [(p.block, p.offset) for p in built.placements] == [
        (r.rba.block, r.rba.offset) for r in raws
    ]
    source = path.read_bytes()
    assert len(built.data) == len(source)
    assert built.data[:512] == source[:512]  # block 0, checksum included
    # Block 1 byte for byte, but for bytes 432..481 (key-like bytes the writer leaves 0,
    # see docs/REDO_FORMAT.md "Writing redo") and the checksum that covers them.
    unknown = {14, 15, *range(432, 482)}
    mine, oracle = built.data[512:1024], source[512:1024]
    assert [i for i in range(512) if mine[i] != oracle[i] and i not in unknown] == []
    for block in range(2, len(source) // 512):
        # Block headers (number, sequence, first-record offset) match Oracle's; only
        # stale bytes Oracle leaves after the last record differ, and with them the sum.
        mine, oracle = built.data[block * 512 :], source[block * 512 :]
        assert mine[:14] == oracle[:14], block


def _oracdc() -> list[dict[str, str]]:
    entries: list[dict[str, str]] = json.loads((ORACDC / "index.json").read_text())
    return entries


@pytest.mark.parametrize("block_size", [512, 1024, 4096])
def test_every_oracdc_record_wrapped_reads_back_identically(block_size: int) -> None:
    by_layout: dict[str, list[bytes]] = defaultdict(list)
    for entry in _oracdc():
        by_layout[entry["layout"]].append((ORACDC / entry["file"]).read_bytes())
    assert sum(len(v) for v in by_layout.values()) == 225
    for layout, records in by_layout.items():
        redo = RedoFile(BytesSource(wrap_records(records, layout, block_size=block_size)))
        assert redo.block_size == block_size
        assert redo.endian.big is (layout == "getAix19c")
        assert redo.header.wide_vectors is (layout != "getLinux11g")
        back = list(iter_raw_records(redo))
        assert [r.data for r in back] == records
        reader_layout = RecordLayout(redo.endian, redo.header.wide_vectors)
        for raw in back:
            parse_record(raw, reader_layout)  # header and vectors parse


def test_single_record_files_and_their_scn_range() -> None:
    for entry in _oracdc()[:20]:
        data = (ORACDC / entry["file"]).read_bytes()
        redo = RedoFile(BytesSource(wrap_records([data], entry["layout"])))
        (raw,) = iter_raw_records(redo)
        assert raw.data == data
        reader = RecordLayout(redo.endian, redo.header.wide_vectors)
        scn = parse_record(raw, reader).header.scn  # index.json differs for 3 records
        assert (redo.header.first_scn, redo.header.next_scn) == (scn, scn + 1)


def test_every_block_checksum_is_valid_and_damage_is_detected(tmp_path: Path) -> None:
    records = [(ORACDC / e["file"]).read_bytes() for e in _oracdc() if e["layout"] == "getLinux19c"]
    path = write_records(tmp_path / "fixtures.arc", records, "getLinux19c")
    data = path.read_bytes()
    for block in range(len(data) // 512):
        assert fold(data[block * 512 : (block + 1) * 512]) == 0, block
    assert [r.data for r in iter_raw_records(RedoFile(FileSource(path)))] == records
    damaged = bytearray(data)
    damaged[3 * 512 + 100] ^= 0x01
    path.write_bytes(bytes(damaged))
    redo = RedoFile(FileSource(path))
    with pytest.raises(CorruptRedo, match="checksum"):
        list(iter_raw_records(redo))


@pytest.mark.parametrize("platform", [LINUX_19C, LINUX_11G, AIX_19C, LINUX_23])
def test_header_facts_round_trip(platform: Platform) -> None:
    header = LogHeader(
        thread=3,
        sequence=42,
        first_scn=0x1_0000_0005,
        next_scn=0x1_0000_0100,
        first_time=datetime(2025, 2, 28, 23, 59, 58),
        next_time=datetime(2025, 3, 1),
        db_id=987654321,
        db_name="ORCL",
        resetlogs_id=1111,
        resetlogs_scn=77,
    )
    record = encode_record(
        RecordSpec(
            scn=0x1_0000_0005, vectors=(), lwn=True, timestamp=datetime(2025, 2, 28, 23, 59, 58)
        ),
        platform,
    )
    redo = RedoFile(BytesSource(build_log([Lwn((record,))], header, platform).data))
    h = redo.header
    assert (h.thread, h.sequence, h.db_id, h.db_name) == (3, 42, 987654321, "ORCL")
    assert (h.first_scn, h.next_scn) == (0x1_0000_0005, 0x1_0000_0100)
    assert (h.first_time, h.next_time) == (header.first_time, header.next_time)
    assert (h.resetlogs_id, h.resetlogs_scn) == (1111, 77)
    assert h.compat_vsn == platform.compat_vsn
    assert h.description == "T 0003, S 0000000042, SCN 0x0000000100000005-0x0000000100000100"
    assert h.nab == 3


def test_online_log_header_is_open_ended() -> None:
    built = build_log([], LogHeader(), LINUX_19C)
    redo = RedoFile(BytesSource(built.data))
    assert redo.header.open_ended
    assert list(iter_raw_records(redo)) == []


# --- property: any records in any LWN grouping land where the reader finds them ---------

FIELD = st.binary(max_size=40)
VECTOR = st.builds(
    VectorSpec,
    layer=st.integers(1, 30),
    code=st.integers(1, 30),
    fields=st.lists(FIELD, max_size=5).map(tuple),
    cls=st.integers(0, 300),
    dba=st.integers(0, 2**32 - 1),
    scn=st.integers(0, 2**47),
    data_obj=st.integers(0, 2**32 - 1),
    con_id=st.integers(0, 10),
)


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(sorted(PLATFORMS)),
    st.sampled_from([512, 1024, 4096]),
    st.lists(st.lists(st.lists(VECTOR, max_size=4), min_size=1, max_size=4), max_size=6),
)
def test_records_land_where_the_reader_finds_them(
    layout: str, block_size: int, lwns: list[list[list[VectorSpec]]]
) -> None:
    platform = PLATFORMS[layout]
    scn = 100
    groups = []
    for lwn in lwns:
        records = []
        for k, vectors in enumerate(lwn):
            scn += 1
            wanted = RecordSpec(
                scn=scn, vectors=tuple(vectors), lwn=k == 0, timestamp=datetime(2024, 5, 6, 7, 8, 9)
            )
            records.append(encode_record(wanted, platform))
        groups.append(Lwn(tuple(records)))
    built = build_log(
        groups, LogHeader(first_scn=101, next_scn=scn + 1), platform, block_size=block_size
    )
    redo = RedoFile(BytesSource(built.data))
    reader = RecordLayout(redo.endian, redo.header.wide_vectors)
    back = [parse_record(raw, reader) for raw in iter_raw_records(redo)]
    flat = [v for lwn in lwns for v in lwn]
    assert [(r.rba.block, r.rba.offset) for r in back] == [
        (p.block, p.offset) for p in built.placements
    ]
    for parsed, vectors in zip(back, flat, strict=True):
        assert [cv.header.opcode for cv in parsed.vectors] == [(v.layer, v.code) for v in vectors]
        for cv, spec in zip(parsed.vectors, vectors, strict=True):
            assert tuple(bytes(cv.field(i)) for i in range(len(cv.fields))) == spec.fields
            assert (cv.header.cls, cv.header.dba, cv.header.scn) == (spec.cls, spec.dba, spec.scn)
            assert cv.header.data_obj == spec.data_obj
            if platform.wide_vectors:
                assert cv.header.con_id == spec.con_id
        if parsed.header.timestamp is not None:
            assert parsed.header.timestamp == datetime(2024, 5, 6, 7, 8, 9)
