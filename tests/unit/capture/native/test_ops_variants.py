"""The variants no fixture or workload holds, built field by field, through both the
core's and the Python parsers: KDOM2 (columns packed in one field) in redo and undo,
the row ops of compressed blocks the redo cannot place, IOT non-key parts that go on in
an overflow segment (with and without its address), 26.2 with and without a KTB XID, a
compressed LOB page, direct-load blocks with any data header, a commit whose SCN is
"none", and compressed row images of any bytes. Same results or same errors, counters,
leaf parses and triage (:mod:`ops_oracle`); each also seeds the fuzz run's pool."""

from __future__ import annotations

import random
import struct
from functools import cache

from drcapture import native_ops
from drcapture.redo.binary import LITTLE, SCN_MAX
from drcapture.redo.ops import compressed
from drcapture.redo.ops.kdo import IRP_TABN, KDO_FLAGS, KDO_KDOM2, QM_TABN, URP_TABN, RowCode
from drcapture.redo.records import RawRecord, Rba, RecordLayout, RedoRecord, parse_record
from drcapture.synth import writer_ops as W
from drcapture.synth.writer_iot import column
from drcapture.synth.writer_records import (
    LINUX_19C,
    Packer,
    Platform,
    RecordSpec,
    VectorSpec,
    encode_record,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.capture.native.ops_oracle import (
    assert_same_everything,
    assert_same_ops,
    assert_same_triage,
    field_spans,
    outcome,
    skip_maps,
)
from tests.unit.capture.test_compressed_rows import AT, ENTRIES, TXN, UBA, _patched
from tests.unit.capture.test_iot_overflow import _leaf_insert, _overflow_insert, _overflow_update
from tests.unit.capture.test_lob_parsing import _bimg_spec
from tests.unit.capture.test_redo_helpers import folder_records

P = Packer(LINUX_19C.order)
OBJ = 75000
Value = bytes | None


def _record(*vectors: VectorSpec, platform: Platform = LINUX_19C) -> RedoRecord:
    data = encode_record(RecordSpec(scn=100, vectors=vectors), platform)
    return parse_record(RawRecord(Rba(1, 2, 16), data), RecordLayout(LITTLE, True))


def _redo(code: int, fields: list[bytes]) -> VectorSpec:
    return W.row_vector(code, [W.ktb_f(P, TXN, UBA), *fields], AT, OBJ, 100, 0)


def _undo(fields: list[bytes], *, supp: tuple[bytes, ...] = ()) -> VectorSpec:
    body = [W.ktub(P, OBJ, OBJ, TXN, 0, begin=False), W.ktb_z(P), *fields, *supp]
    return W.undo_vector(TXN, UBA, [W.ktudb(P, TXN, UBA, 100), *body], 100, 0)


def _packed(values: list[Value]) -> bytes:
    """Columns in row format in one field, trailing NULLs not stored (KDOM2)."""
    return b"".join(column(P, v) for v in W.stored(values))


def _kdom2(fields: list[bytes]) -> bytes:
    kdo = bytearray(fields[0])
    kdo[KDO_FLAGS] |= KDO_KDOM2
    return bytes(kdo)


def kdom2_records(values: list[Value], start: int) -> list[RedoRecord]:
    """An insert and an update with KDOM2 row ops, in redo and in undo."""
    irp = _kdom2(W.irp(P, AT, values))
    changes = [(k, v) for k, v in enumerate(values)]
    urp = _kdom2(W.urp(P, AT, len(values), changes))
    supp = W.supplemental(P, 1, start, start, [(start + k, v) for k, v in changes])
    return [
        _record(_undo([_kdom2(W.drp(P, AT, W.Side.UNDO))], supp=supp),
                _redo(RowCode.IRP, [irp, _packed(values)])),
        _record(_undo([urp, P.u16(start), _packed(values)], supp=supp),
                _redo(RowCode.URP, [urp, P.u16(start), _packed(values)])),
        _record(_undo([urp, P.u16(start)]), _redo(RowCode.URP, [urp])),
    ]


def refused_records() -> list[RedoRecord]:
    """The row ops of compressed blocks whose columns the redo cannot place."""
    cases = [
        (RowCode.URP, _patched(W.urp(P, AT, 7, [(3, b"ggggg")]), URP_TABN, 1)),
        (RowCode.QMI, _patched(W.qmi(P, AT, [0], [[b"a"]]), QM_TABN, 1)),
        (RowCode.IRP, _patched(W.irp(P, AT, [b"a", b"b"]), IRP_TABN, 1)),
        (RowCode.IRP, _patched(W.irp_compressed(P, AT, ENTRIES), IRP_TABN, 0)),
    ]
    out = []
    for code, fields in cases:
        out.append(_record(_undo(W.drp(P, AT, W.Side.UNDO)), _redo(code, fields)))
        out.append(_record(_undo(fields)))
    return out


def lob_records() -> list[RedoRecord]:
    """26.2 with and without a KTB XID, 26.6 of a compressed (cmap) page."""
    order = "<"
    common = struct.pack(order + "BBBBHHI", 0x00, 0x20, 0, 0, 8060, 128, 0x01C005CA)
    load = bytearray(56)
    load[0] = 0x04
    load[12:22] = bytes(range(10))
    fill = struct.pack(order + "BBHHH", 0x06, 0, 0x100, 4, 4) + b"abcd"
    sup = bytearray(24)
    sup[0] = 0x09
    struct.pack_into(order + "HHIIHH", sup, 4, 7, 25, 3017, 78233, 1, 6)
    ktb_f = bytes([0x01, 0x0D]) + bytes(6) + struct.pack(order + "HHI", 7, 25, 3017) + bytes(8)
    out = []
    for ktb in (ktb_f, bytes([0x02, 0]) + bytes(6), b""):
        fields = (ktb, common, bytes(load), fill, bytes(sup))
        out.append(_record(VectorSpec(layer=26, code=2, fields=fields, dba=0x01C005CA)))
    bimg = _bimg_spec(LINUX_19C, b"%PDF" * 10)
    cmap = bytearray(bimg.fields[2])
    cmap[28] |= 0x10
    fields = (*bimg.fields[:2], bytes(cmap), *bimg.fields[3:])
    out.append(_record(VectorSpec(26, 6, fields, dba=bimg.dba, data_obj=bimg.data_obj)))
    return out


def iot_records() -> list[RedoRecord]:
    """Leaf inserts whose non-key part goes on in an overflow segment, with the overflow
    address before its columns or without it, and the overflow segment's row ops."""
    out = []
    for fb in (0x2C, 0x29, 0x21, 0x2D, 0x09):
        for nrid in (True, False):
            out.append(_leaf_insert(fb, nrid, 0x0C).record)
    out.append(_overflow_insert(0x08).record)
    out.append(_overflow_update([(1, b"\xc1\x08")]).record)
    return out


def never_scn_records() -> list[RedoRecord]:
    """A commit whose vector SCN is "none" (all bits set)."""
    ktucm = bytearray(20)
    struct.pack_into("<HxxI", ktucm, 0, 5, 77)
    end = VectorSpec(5, 4, (bytes(ktucm), P.u32(1_700_000_000)), cls=15 + 2 * 3, scn=SCN_MAX)
    return [_record(end)]


@cache
def variant_records() -> list[RedoRecord]:
    """Every hand-made variant of this module (for the fuzz run's pool too)."""
    kdom2 = [r for values, start in (([b"a", None, b"c" * 300], 1), ([None, b"b", None], 3),
                                     ([b"x"], 0)) for r in kdom2_records(values, start)]
    return [*kdom2, *refused_records(), *lob_records(), *iot_records(), *never_scn_records()]


def test_hand_made_variants() -> None:
    assert_same_everything(variant_records())


VALUES = st.lists(st.one_of(st.none(), st.binary(max_size=3), st.binary(min_size=250,
                                                                        max_size=300)),
                  min_size=1, max_size=6)


@settings(max_examples=300, deadline=5_000)
@given(VALUES, st.integers(0, 40))
def test_kdom2_row_ops_of_any_columns(values: list[Value], start: int) -> None:
    assert_same_everything(kdom2_records(values, start))


@cache
def direct_records() -> list[RedoRecord]:
    """The real direct-load records (a table block and an index block)."""
    entries = folder_records("Op19_1_Test") + folder_records("Op19_1_IdxObj16334300_Test")
    records = [parse_record(RawRecord(e.rba, e.data), e.record_layout()) for e in entries]
    return [r for r in records if any(s.layer == 19 for s in r.slots)]


@settings(max_examples=300, deadline=5_000)
@given(st.integers(0, 2**32))
def test_direct_load_blocks_with_any_data_header(seed: int) -> None:
    """19.1 table blocks whose ITL count, table count, row count and row offsets are any
    values."""
    rnd = random.Random(seed)
    record = rnd.choice(direct_records())
    k = next(k for k, slot in enumerate(record.slots) if slot.layer == 19)
    at = next(span[2] for span in field_spans(record) if span[0] == k)  # field 0
    data = bytearray(record.data)
    order = "big" if record.endian.big else "little"
    itc = int.from_bytes(data[at + 16 : at + 18], order)
    header = at + ((24 + itc * 24 + 7) & ~7)
    for _ in range(rnd.randint(1, 3)):
        pick = rnd.randrange(4)
        if pick == 0:
            data[header + 1] = rnd.choice([0, 1, 2, 255])  # tables
        elif pick == 1:
            rows = rnd.randrange(2**16) if rnd.random() < 0.1 else rnd.randrange(40)
            data[header + 2 : header + 4] = rows.to_bytes(2, order)  # rows
        elif pick == 2:
            pos = header + 18 + 2 * rnd.randrange(8)
            data[pos : pos + 2] = rnd.randrange(2**16).to_bytes(2, order)  # a row's offset
        else:
            data[at + 16 : at + 18] = rnd.randrange(8).to_bytes(2, order)  # ITL entries
    copy = parse_record(RawRecord(record.rba, bytes(data)), RecordLayout(record.endian,
                                                                         record.wide))
    assert_same_ops(copy)
    assert_same_triage(copy, skip_maps([16334300, 77825])[:3])


@settings(max_examples=1500, deadline=5_000)
@given(st.binary(max_size=40))
def test_compressed_row_images_of_any_bytes(data: bytes) -> None:
    where = {"opcode": "11.2", "field": 2}
    assert outcome(lambda: native_ops.parse_compressed_row(data, **where)) == outcome(
        lambda: compressed.parse_compressed_row(memoryview(data), **where))


def test_the_variants_reach_what_they_are_for() -> None:
    from drcapture.redo.ops.dispatch import decode_record

    reasons = [str(pv.op) for r in variant_records() for pv in decode_record(r).ops]
    text = " ".join(reasons)
    for part in ("whole row image in one field", "multi-row insert into a compressed",
                 "logged column by column", "update of a row in a compressed"):
        assert part in text
    assert len(direct_records()) == 2
