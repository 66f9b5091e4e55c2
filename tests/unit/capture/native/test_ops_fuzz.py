"""A short fuzz run of the operation parsers and the triage through the binding
(CI-sized; the long one is ``cargo fuzz run ops``, see docs/CAPTURE.md "Native core").

Records are well-formed frames (header, vector headers, field-length arrays, aligned
fields) around any field bytes: vectors of every decoded opcode whose fields are real
fields (from the fixtures and the writer) cut, lengthened, flipped, dropped, added or
replaced by random bytes, on undo and non-undo block classes, encrypted or not, in every
layout. The core must give what the Python parsers give (operations or error, counters,
IOT leaf parses, triage), and never panic (pyo3's ``PanicException`` is no ``Exception``:
it would fail these tests) or hang (each example has a deadline)."""

from __future__ import annotations

import contextlib
import random
import struct
from collections import defaultdict
from functools import cache

from drcapture import native_ops
from drcapture.redo.binary import BIG, LITTLE
from drcapture.redo.ops import compressed
from drcapture.redo.ops.compressed import CompressedRow, Entry
from drcapture.redo.records import RawRecord, Rba, RecordLayout, RedoRecord, parse_record
from drcapture.synth.workload import (
    Commit,
    Insert,
    MultiDelete,
    MultiInsert,
    RollbackTo,
    Savepoint,
    Step,
    Update,
    Workload,
    row,
)
from drcapture.synth.workload_build import build_workload
from drcapture.synth.writer_records import (
    PLATFORMS,
    Platform,
    RecordSpec,
    VectorSpec,
    encode_record,
)
from drcommon.errors import DRError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.capture.native.ops_oracle import (
    assert_same_everything,
    assert_same_leaves,
    assert_same_ops,
    assert_same_triage,
    field_spans,
    in_every_layout,
    log_records,
    outcome,
    skip_maps,
)
from tests.unit.capture.native.oracle import AIX_11G
from tests.unit.capture.native.test_ops_variants import variant_records
from tests.unit.capture.native.test_ops_workloads import COMPRESSED
from tests.unit.capture.test_iot_writer import IOT_33, _fixture_story
from tests.unit.capture.test_redo_helpers import FREE23_LOGS, oracdc_index
from tests.unit.capture.test_writer_lob import DOCS
from tests.unit.capture.test_writer_workload import EMP

OPCODES = [(5, 1), (5, 2), (5, 4), (5, 6), (5, 11), (5, 19), (10, 2), (10, 4), (10, 18),
           (10, 30), (10, 35), (11, 17), (13, 6), (19, 1), (24, 1), (26, 2), (26, 6),
           *((11, c) for c in (1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 16, 22))]
LAYOUTS = [*PLATFORMS.values(), AIX_11G]
COMPRESSED_STEPS = (
    Step(1, "c", Insert(COMPRESSED.name, row(C1="17", C2="17", C4="aaaaaaa", C5="bbaa"))),
    Step(1, "c", Insert(COMPRESSED.name, row(C1="4", C4="x"))),
    Step(1, "c", Commit()),
    Step(1, "d", Update(COMPRESSED.name, row(C1="17"), row(C4="ggggg", C2=None))),
    Step(1, "d", Commit()),
)


def _ddl_fields(order: str, sql: bytes, kind: int, obj: int) -> tuple[bytes, ...]:
    head = bytearray(20)
    struct.pack_into(order + "HHIH", head, 4, 7, 25, 3017, 0)
    struct.pack_into(order + "H", head, 16, kind)
    return (bytes(head), *(b"" for _ in range(6)), sql, b"", b"", b"",
            struct.pack(order + "I", obj))


@cache
def _pool() -> dict[tuple[int, int], list[tuple[bytes, ...]]]:
    """Real field lists by opcode: fixtures, writer workloads and hand-made DDL."""
    records: list[RedoRecord] = []
    for path in FREE23_LOGS:
        records += log_records(path.read_bytes())
    for entry in oracdc_index():
        records.append(parse_record(RawRecord(entry.rba, entry.data), entry.record_layout()))
    steps = (
        Step(1, "a", Insert(DOCS.name, row(ID="1", TXT="x" * 9000, BIN="AB" * 5000, NOTE="n"))),
        Step(1, "a", Savepoint("s")),
        Step(1, "a", Update(DOCS.name, row(ID="1"), row(NTXT="y" * 30))),
        Step(1, "a", RollbackTo("s")),
        Step(1, "a", Commit()),
        Step(1, "b", MultiInsert(EMP.name, (row(ID="7", NAME="a"), row(ID="8", NAME="b")))),
        Step(1, "b", MultiDelete(EMP.name, (row(ID="7"),))),
        Step(1, "b", Commit()),
    )
    for platform in (PLATFORMS["getLinux19c"], PLATFORMS["getLinux11g"]):
        for tables, story in (((DOCS, EMP), steps), ((IOT_33,), _fixture_story()),
                              ((COMPRESSED,), COMPRESSED_STEPS)):
            built = build_workload(Workload(tables=tables, steps=story, platform=platform))
            records += [r for log in built.logs for r in log_records(log.data)]
    records += variant_records()
    pool: dict[tuple[int, int], list[tuple[bytes, ...]]] = defaultdict(list)
    for record in records:
        for cv in record.vectors:
            fields = tuple(bytes(cv.field(i)) for i in range(len(cv.fields)))
            pool[cv.header.opcode].append(fields)
    for order in "<>":
        for sql in (b"ALTER TABLE A.B ADD (C NUMBER)\x00\x00", "é文".encode(), b"\xff\xc3("):
            pool[24, 1].append(_ddl_fields(order, sql, 1, 75000))
    return dict(pool)


def _mutated(fields: tuple[bytes, ...], rnd: random.Random) -> tuple[bytes, ...]:
    out = list(fields)
    for _ in range(rnd.randint(0, 4)):
        kind = rnd.randrange(7)
        k = rnd.randrange(len(out)) if out else 0
        if kind == 0 and out and out[k]:  # a byte changed
            b = bytearray(out[k])
            b[rnd.randrange(min(len(b), 64) if rnd.random() < 0.7 else len(b))] = rnd.choice(
                [0, 1, 2, 4, 6, 8, 0x0C, 0x10, 0x2C, 0x80, 0xC8, 0xFE, 0xFF, rnd.randrange(256)])
            out[k] = bytes(b)
        elif kind == 1 and out:  # cut
            out[k] = out[k][: rnd.randint(0, len(out[k]))]
        elif kind == 2 and out:  # lengthened
            out[k] = out[k] + rnd.randbytes(rnd.randint(1, 40))
        elif kind == 3 and out:  # trailing fields dropped
            del out[rnd.randint(0, len(out) - 1):]
        elif kind == 4:  # a field added
            out.insert(rnd.randint(0, len(out)), rnd.randbytes(rnd.randint(0, 60)))
        elif kind == 5 and out:  # replaced
            out[k] = rnd.randbytes(rnd.randint(0, 80))
        elif kind == 6 and out:  # a field copied over another
            out[k] = out[rnd.randrange(len(out))]
    return tuple(out)


@st.composite
def frames(draw: st.DrawFn) -> RedoRecord:
    """A well-formed record of 1-5 vectors around real, mutated or random fields."""
    rnd = random.Random(draw(st.integers(0, 2**32)))
    pool = _pool()
    platform: Platform = rnd.choice(LAYOUTS)
    con_uid = rnd.choice([0, 1, 1385559638])
    vectors = []
    for _ in range(rnd.randint(1, 5)):
        layer, code = rnd.choice(OPCODES)
        real = pool.get((layer, code))
        if real and rnd.random() < 0.85:
            fields = _mutated(rnd.choice(real), rnd)
        else:
            fields = tuple(rnd.randbytes(rnd.randint(0, 60)) for _ in range(rnd.randint(0, 8)))
        if layer == 5 and code == 2 and rnd.random() < 0.5:
            order = platform.order.value
            fields = (*fields, struct.pack(order + "I", rnd.choice([con_uid, 7])))
        vectors.append(VectorSpec(
            layer, code, fields, cls=rnd.choice([1, 1, 15, 16, 17, 33, 34, 200]),
            dba=rnd.randrange(2**32), scn=rnd.choice([5, 2**40, 2**48 + 3, 2**64 - 1]),
            typ=0x80 if rnd.random() < 0.05 else rnd.choice([0, 1, 2]),
            data_obj=rnd.choice([75000, 0xFFFFFFFF]), con_id=rnd.choice([0, 3])))
    data = encode_record(RecordSpec(scn=1000, vectors=tuple(vectors), con_uid=con_uid), platform)
    layout = RecordLayout(BIG if platform.order.value == ">" else LITTLE, platform.wide_vectors)
    return parse_record(RawRecord(Rba(9, 2, 16), data), layout)


MAPS = skip_maps([75000, 78233, 80706, 80707, 72000, 0, 1])


@settings(max_examples=2500, deadline=10_000, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_any_fields_in_a_well_formed_record(record: RedoRecord) -> None:
    assert_same_ops(record)
    assert_same_leaves(record)
    assert_same_triage(record, MAPS)


@settings(max_examples=1500, deadline=5_000)
@given(st.binary(min_size=24, max_size=400))
def test_any_bytes_as_a_record(data: bytes) -> None:
    for record in in_every_layout(Rba(1, 2, 16), data):
        assert_same_ops(record)
        assert_same_triage(record, MAPS[:2])


VALUES = st.sampled_from([None, b"", b"a", b"b", b"\xc1\x02", b"xyz"])
ENTRIES = st.lists(st.one_of(VALUES.map(Entry), st.integers(0, 0xC7).map(
    lambda s: Entry(None, symbol=s))), max_size=5)


@settings(max_examples=1500, deadline=5_000)
@given(st.integers(0, 255), st.integers(0, 255), ENTRIES,
       st.lists(st.tuples(st.integers(1, 9), VALUES), max_size=6))
def test_compressed_image_values(fb: int, lb: int, entries: list[Entry],
                                 supp: list[tuple[int, bytes | None]]) -> None:
    row_ = CompressedRow(fb, lb, tuple(entries))
    where = {"opcode": "11.2", "rba": "0x000001.00000002.0010", "obj": 75659, "xid": "3.14.5121"}
    want = outcome(lambda: compressed.image_values(row_, tuple(supp), **where))
    got = outcome(lambda: native_ops.image_values(row_, tuple(supp), **where))
    assert got == want


def test_the_fuzz_frames_reach_every_parser() -> None:
    """The pool the frames draw from holds real fields of every decoded opcode."""
    pool = _pool()
    assert len(_packed()) >= 9
    for opcode in [(5, 1), (5, 2), (5, 4), (5, 6), (5, 11), (10, 2), (10, 4), (10, 30),
                   (10, 35), (11, 2), (11, 3), (11, 5), (11, 6), (11, 11), (11, 12),
                   (11, 17), (19, 1), (24, 1), (26, 2), (26, 6)]:
        assert pool.get(opcode), opcode


@cache
def _packed() -> list[tuple[RedoRecord, int, int]]:
    """Records of compressed rows with where their whole row images are (offset, size)."""
    out = []
    for platform in (PLATFORMS["getLinux19c"], PLATFORMS["getAix19c"], PLATFORMS["getLinux11g"]):
        built = build_workload(Workload(tables=(COMPRESSED,), steps=COMPRESSED_STEPS,
                                        platform=platform))
        for record in (r for log in built.logs for r in log_records(log.data)):
            spans = field_spans(record)
            for k, cv in enumerate(record.vectors):
                image = {(11, 2): 2, (11, 6): 2, (5, 1): 4}.get(cv.header.opcode)
                if image is not None and image < len(cv.fields):
                    _, _, at, size = [s for s in spans if s[0] == k][image]
                    if size > 3 and cv.field(image)[2] == cv.field(image - 1)[18]:
                        out.append((record, at, size))
    return out


@settings(max_examples=1000, deadline=5_000)
@given(st.integers(0, 2**32))
def test_compressed_row_images_with_any_entries(seed: int) -> None:
    """Whole row images whose entries are any bytes (their length kept, so they stay
    whole row images): the same entries, or the same refusal in the operation."""
    rnd = random.Random(seed)
    record, at, size = rnd.choice(_packed())
    data = bytearray(record.data)
    for _ in range(rnd.randint(1, 4)):
        pos = at + rnd.randrange(1 if rnd.random() < 0.1 else 3, size)
        data[pos] = rnd.choice([0x00, 0x05, 0xC7, 0xC8, 0xC9, 0xCC, 0xF9, 0xFA, 0xFE, 0xFF,
                                rnd.randrange(256)])
    copy = parse_record(RawRecord(record.rba, bytes(data)),
                        RecordLayout(record.endian, record.wide))
    assert_same_everything([copy])


def test_a_damaged_frame_is_a_drerror_not_a_crash() -> None:
    rnd = random.Random(5)
    for _ in range(200):
        data = rnd.randbytes(rnd.randint(24, 200))
        for record in in_every_layout(Rba(1, 2, 16), data):
            with contextlib.suppress(DRError):
                native_ops.decode_ops(record)


@settings(max_examples=1500, deadline=5_000)
@given(st.binary(max_size=60), st.sampled_from([b"", b"\x00", b"\x00\x00\x00"]),
       st.integers(0, 12), st.integers(0, 3), st.sampled_from(["<", ">"]))
def test_ddl_text_of_any_bytes(sql: bytes, nuls: bytes, kind: int, cut: int, order: str) -> None:
    """24.1: any statement bytes (invalid UTF-8 replaced as Python replaces it, trailing
    NULs cut), any kind, an object field of any length."""
    fields = list(_ddl_fields(order, sql + nuls, kind, 75000))
    fields[-1] = fields[-1][: 4 - cut]
    platform = PLATFORMS["getAix19c" if order == ">" else "getLinux19c"]
    spec = RecordSpec(scn=5, vectors=(VectorSpec(24, 1, tuple(fields)),))
    data = encode_record(spec, platform)
    layout = RecordLayout(BIG if order == ">" else LITTLE, True)
    assert_same_ops(parse_record(RawRecord(Rba(1, 2, 16), data), layout))
