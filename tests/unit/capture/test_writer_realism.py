"""The synthetic writer's records against real Oracle records of the same kind, field by
field: every field's size, and every byte but those the writer knowingly does not model
(each exception names its reason; docs/REDO_FORMAT.md "Writing redo" lists them).

Each case feeds the writer's vector factory the facts of one real record (XID, undo
address, row address, object, column bytes), encodes the record and compares it with the
real one: free23 (Oracle 23 Free) for an insert and its commit, oracdc (19c) for a
delete, an update and partial rollbacks (5.11 and 5.6). Vectors the writer does not
write are left out of the real records: session information (5.19, 5.20) and the
LogMiner "misc" vector 23ai adds to a commit (24.4).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from drcapture.dictionary.model import OracleType
from drcapture.redo.binary import LITTLE
from drcapture.redo.blocks import BytesSource, RedoFile
from drcapture.redo.ops.dispatch import ParsedRecord, decode_record
from drcapture.redo.records import RawRecord, Rba, RecordLayout, iter_raw_records, parse_record
from drcapture.synth.workload import Col, Supplemental, Table
from drcapture.synth.workload_ops import VectorFactory
from drcapture.synth.workload_state import Change, Kind, TxnState
from drcapture.synth.writer import LogHeader, Lwn, build_log
from drcapture.synth.writer_ops import RowAt, Txn, Uba, undo_record_size
from drcapture.synth.writer_records import (
    LINUX_19C,
    LINUX_23,
    Platform,
    RecordSpec,
    VectorSpec,
    encode_record,
)

from tests.unit.capture.test_redo_helpers import FREE23_LOGS, file_records, folder_records

NOT_WRITTEN = {(5, 19), (5, 20), (24, 4)}

# Bytes of a field the writer does not model, by field role (see the docs for values seen).
KTUDB_SPACE = {2, 3}  # free space left in the undo block
KTUBL_HISTORY = {
    *range(8, 12),  # tablespace number
    *range(28, 36),  # prev ctl uba
    *range(36, 52),  # prev ctl max cmt SCN, prev tx cmt SCN
    *range(52, 56),  # not known (0, 1, 0x0000ffff seen)
    *range(64, 68),  # prev brb
    *range(72, 76),  # logon user
}
KTUCF_SPACE = {10, 11}  # free space left in the undo block
KDO_ITLI = {12}  # the transaction's ITL slot in the block
IRP_STALE = {*range(24, 28), *range(32, 40), *range(46, 49)}  # vary with no known meaning
MARK_UNKNOWN = {8, 9, 10, 11, 19, 24, 25, 26, 27}  # 5.6/5.11: tsn, rci, a copy of the KTB
MARK_FIELD1 = {0, 1, 2, 3}  # 5.6/5.11 field 1: a u32 near the record's SCN


class RawCodec:
    """Column values given as their stored bytes (the real records' own bytes)."""

    def encode(self, table: Table, name: str, value: Any, lobs: Any = None) -> Any:
        return value

    def row(self, table: Table, values: Mapping[str, Any], lobs: Any = None) -> list[Any]:
        return [values.get(c.name) for c in table.columns]


@dataclass(frozen=True)
class Case:
    """One real record and the writer's version of it."""

    name: str
    real: ParsedRecord
    ours: ParsedRecord
    # (vector, field) -> bytes not modelled; "*" as the field index: the whole field
    masks: Mapping[tuple[int, int], set[int] | str] = field(default_factory=dict)
    # (vector, field) -> why the writer writes another size there
    sizes: Mapping[tuple[int, int], str] = field(default_factory=dict)
    # vector -> header facts that differ, and why
    headers: Mapping[int, Mapping[str, str]] = field(default_factory=dict)


def _real(where: str) -> ParsedRecord:
    if where.startswith("free23:"):
        rba = where.split(":")[1]
        return next(r for r in file_records(FREE23_LOGS[0]) if str(r.record.rba) == rba)
    folder, number = where.split("/")
    return folder_records(folder, range(int(number), int(number) + 1))[0].parsed()


def _encode(vectors: list[VectorSpec], platform: Platform, scn: int, con_uid: int) -> ParsedRecord:
    data = encode_record(RecordSpec(scn=scn, vectors=tuple(vectors), con_uid=con_uid), platform)
    layout = RecordLayout(LITTLE, platform.wide_vectors)
    return decode_record(parse_record(RawRecord(Rba(1, 2, 16), data), layout))


def _factory(platform: Platform, con_id: int, con_uid: int) -> VectorFactory:
    return VectorFactory(platform, RawCodec(), con_id, con_uid)  # type: ignore[arg-type]


def _hex(text: str) -> bytes:
    return bytes.fromhex(text)


OLR_TEST = Table(
    "OLR_TEST",
    "TEST_CDC",
    72726,
    (Col("ID", OracleType.NUMBER), Col("NAME", OracleType.VARCHAR2, 100)),
    pk=("ID",),
)
# SCOTT.EMP-like rows of the oracdc delete and update (object 75585, 8 columns).
EMP = Table(
    "SCOTT",
    "EMP",
    75585,
    tuple(
        Col(n)
        for n in ("EMPNO", "ENAME", "JOB", "MGR", "HIREDATE", "SAL", "COMM", "DEPTNO")
    ),
    pk=("EMPNO",),
    supplemental=Supplemental.MINIMAL,
)
WARD = dict(
    zip(
        EMP.column_names(),
        map(_hex, ["c24c16", "57415244", "53414c45534d414e", "c24d63", "77b50216010101",
                   "c20d33", "c206", "c11f"]),
        strict=True,
    )
)
PDB_19C = 3517775930  # the oracdc 19c records' CON_UID
MTL = Table("INV", "MTL_SYSTEM_ITEMS_B", 173285, (Col("C1"),), pk=("C1",))


def _insert_and_commit() -> Iterator[Case]:
    """free23 sequence 15: the insert at 0x244.0168 and its commit at 0x246.0150."""
    tx = TxnState("t", 1, Txn(usn=10, slot=12, sqn=572, undo_afn=23, undo_header_dba=0xA0))
    change = Change(
        kind=Kind.INSERT,
        table=OLR_TEST,
        at=RowAt(bdba=0x0600000E, slot=0, hdba=0x0600000A),
        uba=Uba(dba=0xA7, seq=0x8B, rec=0x23),
        first_of_txn=True,
        keys=((_hex("c102"),),),
        before=(),
        after=({"ID": _hex("c102"), "NAME": b"hello world"},),
    )
    factory = _factory(LINUX_23, 3, 1385559638)
    insert = factory.change_vectors(tx, change, 0x229A3C)
    yield Case(
        "insert (free23 0x244.0168)",
        _real("free23:0x00000f.00000244.0168"),
        _encode(insert, LINUX_23, 0x229A3B, 1385559638),
        masks={(1, 0): KTUDB_SPACE, (1, 1): KTUBL_HISTORY, (2, 1): IRP_STALE},
    )
    # The transaction's last undo record is its index entry's (rec 0x24), not the row's.
    tx.changes.append(change.__class__(**{**_fields(change), "uba": Uba(0xA7, 0x8B, 0x24)}))
    commit = factory.end_vectors(tx, rollback=False, scn=0x229A3B, unix_time=1772847880)
    yield Case(
        "commit (free23 0x246.0150)",
        _real("free23:0x00000f.00000246.0150"),
        _encode(commit, LINUX_23, 0x229A3C, 1385559638),
        masks={(0, 1): KTUCF_SPACE},
    )


def _fields(change: Change) -> dict[str, Any]:
    return {name: getattr(change, name) for name in change.__dataclass_fields__}


def _delete() -> Case:
    """oracdc Op11_3_Test/000: a delete opening its transaction (19c)."""
    tx = TxnState("t", 1, Txn(usn=6, slot=0x1B, sqn=0x1043, undo_afn=11,
                              undo_header_dba=0x024000D0))
    change = Change(
        kind=Kind.DELETE,
        table=EMP,
        at=RowAt(bdba=0x030000DF, slot=2, hdba=0x030000DA),
        uba=Uba(dba=0x02400BE3, seq=0x04B6, rec=0x1A),
        first_of_txn=True,
        keys=((WARD["EMPNO"],),),
        before=(WARD,),
        after=(),
    )
    ours = _factory(LINUX_19C, 3, PDB_19C).change_vectors(tx, change, 0x03DA258A)
    ktb = "undo KTB: Oracle's 'L' (32 bytes) restores the block's previous ITL owner; the " \
          "writer writes 'Z' (8), Oracle's choice for the free23 insert and the oracdc update"
    return Case(
        "delete (oracdc Op11_3_Test/000)",
        _real("Op11_3_Test/0"),
        _encode(ours, LINUX_19C, 0x03DA2589, PDB_19C),
        masks={
            (0, 0): {18, 19},  # undo size: follows the KTB's size (checked as a relation)
            (1, 0): {0, 1, 19} | KTUDB_SPACE,  # the same size; byte 19 varies
            (1, 1): KTUBL_HISTORY,
            (1, 2): "*",
            (1, 3): KDO_ITLI | IRP_STALE,
            (2, 1): KDO_ITLI,
        },
        sizes={(1, 2): ktb},
        headers={2: {"typ": "11.x change type 2 in the oracdc records, 0 in free23 0x244.0168"}},
    )


def _update() -> Case:
    """oracdc Op11_5_Test/000: an update of two columns opening its transaction (19c),
    minimal supplemental logging."""
    tx = TxnState("t", 1, Txn(usn=3, slot=0x10, sqn=0x0EF7, undo_afn=11,
                              undo_header_dba=0x024000A0))
    after = {**WARD, "SAL": _hex("c210"), "COMM": _hex("c209")}
    change = Change(
        kind=Kind.UPDATE,
        table=EMP,
        at=RowAt(bdba=0x030000DB, slot=0, hdba=0x030000DA),
        uba=Uba(dba=0x02400EB7, seq=0x033C, rec=0x18),
        first_of_txn=True,
        keys=((WARD["EMPNO"],),),
        before=(WARD,),
        after=(after,),
        changed=("SAL", "COMM"),
    )
    ours = _factory(LINUX_19C, 3, PDB_19C).change_vectors(tx, change, 0x03DCFCEB)
    return Case(
        "update (oracdc Op11_5_Test/000)",
        _real("Op11_5_Test/0"),
        _encode(ours, LINUX_19C, 0x03DCFCEA, PDB_19C),
        masks={
            (1, 0): KTUDB_SPACE,
            (1, 1): KTUBL_HISTORY,
            (1, 3): KDO_ITLI,
            (2, 0): "*",
            (2, 1): KDO_ITLI | {17},  # the redo lock byte is the ITL slot
        },
        sizes={(2, 0): "redo KTB: Oracle's 'F' carries block cleanout entries here (op "
                       "0x11, 70 bytes); the writer writes the plain 'F' of free23 (24)"},
        headers={2: {"typ": "11.x change type 2 in the oracdc records, 0 in free23 0x244.0168"}},
    )


def _rollbacks() -> Iterator[Case]:
    """oracdc Op11_2_Test/007 (5.11: the transaction's first change, an insert, undone)
    and /006 (5.6: a later insert of the same transaction undone)."""
    txn = Txn(usn=116, slot=0x1F, sqn=0x0024AE02, undo_afn=0x15, undo_header_dba=0x0342BB38)
    factory = _factory(LINUX_19C, 3, 1372444423)
    supp = "supplemental header: Oracle's 28-byte form with the row head, as for a piece " \
           "that is not first and last in one record; the writer's rows are one piece (20)"
    for number, slot, first, code in ((7, 2, True, 11), (6, 3, False, 6)):
        change = Change(
            kind=Kind.INSERT,
            table=MTL,
            at=RowAt(bdba=0x087B7F7F, slot=slot, hdba=0x08C4B442),
            uba=Uba(dba=0x17428630, seq=0x35A9, rec=0x29),
            first_of_txn=first,
            keys=((b"x",),),
            before=(),
            after=({"C1": b"x"},),
        )
        ours = factory.rollback_vectors(TxnState("t", 1, txn), change, 0x35C9BAB0)
        sizes = {(0, 2): supp}
        masks: dict[tuple[int, int], set[int] | str] = {
            (0, 1): {8, 9, 19} | KDO_ITLI,  # maxfr of this block; a stale byte
            (0, 2): "*",
            (1, 0): MARK_UNKNOWN,
            (1, 1): MARK_FIELD1,
        }
        if not first:
            sizes[0, 0] = "KTB: Oracle's 'C' (16, an undo address); the writer writes 'Z' (8)"
            masks[0, 0] = "*"
        else:
            masks[0, 0] = set(range(2, 8))  # stale bytes after 'Z'
        headers = {0: {"afn": "absolute file 46 holds relative file 33 here"}}
        if not first:
            headers[1] = {"afn": "this undo block lies in file 93, the segment header in 21"}
        yield Case(
            f"5.{code} (oracdc Op11_2_Test/00{number})",
            _real(f"Op11_2_Test/{number}"),
            _encode(ours, LINUX_19C, 0x35C9BAB0, 1372444423),
            masks=masks,
            sizes=sizes,
            headers=headers,
        )


CASES = [*_insert_and_commit(), _delete(), _update(), *_rollbacks()]
HEADER_FACTS = ("layer", "code", "cls", "afn", "dba", "data_obj", "typ", "con_id", "flags")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_writer_records_have_oracles_fields(case: Case) -> None:
    theirs = [pv for pv in case.real.ops if pv.vector.header.opcode not in NOT_WRITTEN]
    ours = list(case.ours.ops)
    assert [pv.vector.header.opcode for pv in ours] == [pv.vector.header.opcode for pv in theirs]
    assert case.ours.record.header.vld == case.real.record.header.vld & ~0x04
    assert case.ours.record.header.con_uid == case.real.record.header.con_uid
    for v, (mine, real) in enumerate(zip(ours, theirs, strict=True)):
        skip = case.headers.get(v, {})
        for fact in HEADER_FACTS:
            if fact not in skip:
                assert getattr(mine.vector.header, fact) == getattr(real.vector.header, fact), (
                    v, fact)
        mine_f, real_f = mine.vector.fields, real.vector.fields
        assert len(mine_f) == len(real_f), (v, [f.length for f in mine_f])
        for i in range(len(mine_f)):
            if (v, i) not in case.sizes:
                assert mine_f[i].length == real_f[i].length, (v, i)
            mask = case.masks.get((v, i), set())
            if mask == "*":
                continue
            a, b = bytes(mine.vector.field(i)), bytes(real.vector.field(i))
            differ = [k for k in range(min(len(a), len(b))) if a[k] != b[k] and k not in mask]
            assert differ == [], (v, i, a.hex(), b.hex())


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_undo_sizes_follow_the_stored_undo_record(case: Case) -> None:
    """ktudb and ktudh give the undo record's size as the undo block stores it, in the
    real records and in the writer's (where their KTB kinds differ, so do the sizes)."""
    for parsed in (case.real, case.ours):
        sizes = {}
        for pv in parsed.ops:
            cv = pv.vector
            if cv.header.opcode == (5, 1):
                rest = [bytes(cv.field(i)) for i in range(1, len(cv.fields))]
                sizes["ktudb"] = cv.endian.u16(cv.field(0), 0)
                assert sizes["ktudb"] == undo_record_size(rest)
            elif cv.header.opcode == (5, 2):
                sizes["ktudh"] = cv.endian.u16(cv.field(0), 18)
        if "ktudh" in sizes:
            assert sizes["ktudh"] == sizes["ktudb"]


def test_supplemental_columns_are_counted_and_nulls_logged_as_ffff() -> None:
    """What every real supplemental header shows (178 of 178): the count at 2 is the
    number of columns logged after it, a NULL is logged with length 0xFFFF."""
    table = Table("SCOTT", "EMP", 75585, EMP.columns, pk=("EMPNO",),
                  supplemental=Supplemental.ALL)
    before = {**WARD, "COMM": None}
    change = Change(
        kind=Kind.UPDATE,
        table=table,
        at=RowAt(bdba=0x030000DB, slot=0, hdba=0x030000DA),
        uba=Uba(dba=0x02400EB7, seq=0x033C, rec=0x18),
        first_of_txn=False,
        keys=((WARD["EMPNO"],),),
        before=(before,),
        after=({**before, "SAL": _hex("c210")},),
        changed=("SAL",),
    )
    tx = TxnState("t", 1, Txn(usn=3, slot=0x10, sqn=0x0EF7, undo_afn=11,
                              undo_header_dba=0x024000A0))
    vectors = _factory(LINUX_19C, 3, PDB_19C).change_vectors(tx, change, 100)
    undo = next(pv for pv in _encode(vectors, LINUX_19C, 99, PDB_19C).ops
                if pv.vector.header.opcode == (5, 1))
    cv = undo.vector
    head = undo.op.row_op.next_field  # type: ignore[union-attr]
    e = cv.endian
    assert e.u16(cv.field(head), 2) == 7  # every column but the one changed
    lengths = [e.u16(cv.field(head + 2), 2 * k) for k in range(7)]
    numbers = [e.u16(cv.field(head + 1), 2 * k) for k in range(7)]
    assert dict(zip(numbers, lengths, strict=True))[7] == 0xFFFF  # COMM, NULL
    assert cv.field_len(head + 3 + numbers.index(7)) == 0
    assert undo.op.supplemental.column_count == 7  # type: ignore[union-attr]


def test_long_record_header_fields() -> None:
    """A log write's first record (free23 0x02.0010 and every other long header): u16 0
    at 24, nst 1 at 26, the LWN length in blocks at 28 and 32, u8 0x0a at 36, the LWN's
    SCN (the record's) at 40."""
    real = _real("free23:0x00000f.00000002.0010").record.data
    written = build_log(
        [Lwn((encode_record(RecordSpec(scn=0x229606, vectors=(), lwn=True), LINUX_23),))],
        LogHeader(),
        LINUX_23,
    )
    ours = next(iter_raw_records(RedoFile(BytesSource(written.data)))).data
    for data, blocks in ((real, 5), (ours, 1)):
        assert data[24:28] == bytes([0, 0, 1, 0])
        assert data[28:32] == data[32:36] == blocks.to_bytes(4, "little")
        assert data[36] == 0x0A
        assert data[40:48] == (0x229606).to_bytes(8, "little")
