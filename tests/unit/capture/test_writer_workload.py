"""Workloads written as redo and read back by the capture reader
(``tests/unit/capture/python_decode.decode_transactions``, the Python reader that is the
core's test oracle: catalog, record parsing, opcode dispatch, transaction assembly,
value decoding): the reader must report exactly the transactions the description implies.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from drcapture.dictionary.model import Charsets, OracleType
from drcapture.offline import load_dictionary_file
from drcapture.redo.blocks import BytesSource, FileSource, RedoFile
from drcapture.redo.ops.dispatch import decode_record
from drcapture.redo.ops.undo import TxBegin
from drcapture.redo.records import RecordLayout, RedoRecord, iter_raw_records, parse_record
from drcapture.redo.txn.assembler import CommittedTransaction
from drcapture.synth.workload import (
    Col,
    Commit,
    Delete,
    Insert,
    LogSwitch,
    MultiDelete,
    MultiInsert,
    Rollback,
    RollbackTo,
    Savepoint,
    Step,
    Supplemental,
    Table,
    Update,
    Workload,
    row,
)
from drcapture.synth.workload_build import (
    DICTIONARY_FILE,
    BuiltWorkload,
    ExpectedChange,
    ExpectedTransaction,
    build_workload,
)
from drcapture.synth.workload_state import WorkloadError
from drcapture.synth.writer_records import PLATFORMS
from drcommon.model import ColumnValue, Operation, RowChange

from tests.unit.capture.python_decode import decode_transactions

FREE23_INSERT = (
    Path(__file__).resolve().parents[3].parent
    / "shared/fixtures/redo/free23-insert/arch1_15_1224959854.dbf"
)

EMP = Table(
    "HR",
    "EMP",
    70001,
    (
        Col("ID", OracleType.NUMBER),
        Col("NAME", OracleType.VARCHAR2, 100),
        Col("NOTE", OracleType.VARCHAR2, 100),
        Col("SAL", OracleType.NUMBER),
    ),
    pk=("ID",),
)


def read_back(built: BuiltWorkload) -> list[CommittedTransaction]:
    """Every committed transaction the capture reader finds in the written files."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = built.write(Path(tmp))
        dictionary = load_dictionary_file(Path(tmp) / DICTIONARY_FILE)
        return decode_transactions(paths, dictionary, None)


def _trimmed(
    table: str, image: dict[str, ColumnValue], built: BuiltWorkload
) -> dict[str, ColumnValue]:
    """The image without its trailing NULL columns (a row piece does not store them)."""
    order = next(t for t in built.dictionary.tables.values() if t.name == table).columns
    names = [c.name for c in order if c.name in image]
    while names and image[names[-1]] is None:
        names.pop()
    return {n: image[n] for n in names}


def _image_matches(
    actual: dict[str, ColumnValue] | None,
    expected: dict[str, ColumnValue] | None,
    table: str,
    built: BuiltWorkload,
) -> bool:
    if expected is None or actual is None:
        return actual == expected
    # Pending in the reader: trailing NULL columns of an inserted/deleted row are not
    # reported yet (the row piece does not store them; the dictionary says they exist).
    return actual in (expected, _trimmed(table, expected, built))


def assert_same(built: BuiltWorkload, actual: list[CommittedTransaction]) -> None:
    """The reader's transactions are exactly the expected ones, value for value."""
    assert [(t.thread, str(t.xid), t.commit_scn) for t in actual] == [
        (t.thread, t.xid, t.commit_scn) for t in built.expected
    ]
    for got, want in zip(actual, built.expected, strict=True):
        assert got.commit_ts is not None
        stamp = got.commit_ts if got.commit_ts.tzinfo else got.commit_ts.replace(tzinfo=UTC)
        assert stamp == want.commit_time
        assert len(got.changes) == len(want.changes), want.xid
        for change, expected in zip(got.changes, want.changes, strict=True):
            _assert_change(change, expected, built)


def _assert_change(change: RowChange, expected: ExpectedChange, built: BuiltWorkload) -> None:
    where = (expected.table, expected.op, expected.row_id)
    assert (change.op, change.owner, change.table) == (
        expected.op,
        expected.owner,
        expected.table,
    ), where
    assert change.row_id == expected.row_id, where
    assert _image_matches(change.before, expected.before, expected.table, built), (
        where,
        change.before,
        expected.before,
    )
    assert _image_matches(change.after, expected.after, expected.table, built), (
        where,
        change.after,
        expected.after,
    )


def _story() -> tuple[Step, ...]:
    return (
        Step(1, "a", Insert("EMP", row(ID="1", NAME="张三", SAL="10.5"))),
        Step(1, "a", Insert("EMP", row(ID="2", NAME="bob"))),
        Step(1, "a", Commit()),
        Step(1, "b", Update("EMP", row(ID="1"), row(SAL="11", NOTE="x"))),
        Step(1, "b", Savepoint("s1")),
        Step(1, "b", Delete("EMP", row(ID="2"))),
        Step(1, "b", RollbackTo("s1")),
        Step(1, "b", MultiInsert("EMP", (row(ID="3", NAME="c"), row(ID="4", NAME="d", SAL="-1")))),
        Step(1, "b", LogSwitch()),
        Step(1, "b", MultiDelete("EMP", (row(ID="3"), row(ID="4")))),
        Step(1, "b", Commit()),
        Step(1, "c", Insert("EMP", row(ID="9"))),
        Step(1, "c", Rollback()),
    )


@pytest.mark.parametrize("layout", sorted(PLATFORMS))
@pytest.mark.parametrize("block_size", [512, 1024, 4096])
def test_story_reads_back_on_every_platform(layout: str, block_size: int) -> None:
    workload = Workload(
        tables=(EMP,), steps=_story(), platform=PLATFORMS[layout], block_size=block_size
    )
    built = build_workload(workload)
    assert [log.sequence for log in built.logs] == [1, 2]  # the long transaction spans both
    first, second = (RedoFile(BytesSource(log.data)) for log in built.logs)
    assert first.header.next_scn == second.header.first_scn
    assert first.header.wide_vectors is PLATFORMS[layout].wide_vectors
    expected = built.expected
    assert [len(t.changes) for t in expected] == [2, 5]
    update = expected[1].changes[0]
    assert update.before == {"ID": "1", "NAME": "张三", "NOTE": None, "SAL": "10.5"}
    assert update.after == {"ID": "1", "NAME": "张三", "NOTE": "x", "SAL": "11"}
    assert_same(built, read_back(built))


def _real_record(block: int, offset: int) -> RedoRecord:
    real = RedoFile(FileSource(FREE23_INSERT))
    layout = RecordLayout(real.endian, real.header.wide_vectors)
    for raw in iter_raw_records(real):
        if (raw.rba.block, raw.rba.offset) == (block, offset):
            return parse_record(raw, layout)
    raise AssertionError(f"no record at {block:#x}.{offset:#x}")


def _shape(record: RedoRecord) -> list[tuple[tuple[int, int], list[int]]]:
    """Opcodes and field sizes of a record's undo/row vectors (session info left out)."""
    return [
        (cv.header.opcode, [f.length for f in cv.fields])
        for cv in record.vectors
        if cv.header.layer in (5, 11) and cv.header.opcode != (5, 20)
    ]


def test_insert_and_commit_records_have_the_shape_of_real_oracle_ones() -> None:
    """A single-row insert and its commit carry the vectors and field sizes of the real
    Oracle 23 insert in the free23 fixture (log 15, RBAs 0x244.0168 and 0x246.0150)."""
    oracle_insert, oracle_commit = _real_record(0x244, 0x168), _real_record(0x246, 0x150)
    narrow = Table("OLR_TEST", "TEST_CDC", 72726, EMP.columns[:2], pk=("ID",))
    steps = (
        Step(1, "t", Insert("TEST_CDC", row(ID="1", NAME="hello world"))),
        Step(1, "t", Commit()),
    )
    built = build_workload(
        Workload(
            tables=(narrow,),
            steps=steps,
            platform=PLATFORMS["linux23"],
            con_id=3,  # FREEPDB1, as in the fixture
            con_uid=1385559638,
        )
    )
    redo = RedoFile(BytesSource(built.logs[0].data))
    layout = RecordLayout(redo.endian, redo.header.wide_vectors)
    insert, commit = (parse_record(raw, layout) for raw in iter_raw_records(redo))
    assert _shape(insert) == _shape(oracle_insert)
    assert _shape(commit) == _shape(oracle_commit)
    ours, theirs = insert.vectors[2], oracle_insert.vectors[2]  # the 11.2
    assert [bytes(ours.field(i)) for i in (2, 3)] == [bytes(theirs.field(i)) for i in (2, 3)]
    assert ours.header.data_obj == theirs.header.data_obj == 72726


def test_rac_threads_interleave_scns_and_keep_their_own_sequences() -> None:
    steps = (
        Step(1, "t1", Insert("EMP", row(ID="1"))),
        Step(2, "t2", Insert("EMP", row(ID="2"))),
        Step(3, "t3", Insert("EMP", row(ID="3"))),
        Step(2, "t2", Commit()),
        Step(1, "t1", LogSwitch()),
        Step(3, "t3", Commit()),
        Step(1, "t1", Commit()),
        Step(2, "-", LogSwitch()),
    )
    built = build_workload(Workload(tables=(EMP,), steps=steps))
    assert [(log.thread, log.sequence) for log in built.logs] == [
        (1, 1),
        (1, 2),
        (2, 1),
        (2, 2),
        (3, 1),
    ]
    assert [t.thread for t in built.expected] == [2, 3, 1]
    assert [t.changes[0].after for t in built.expected] == [
        {"ID": "2", "NAME": None, "NOTE": None, "SAL": None},
        {"ID": "3", "NAME": None, "NOTE": None, "SAL": None},
        {"ID": "1", "NAME": None, "NOTE": None, "SAL": None},
    ]
    scns = sorted(t.commit_scn for t in built.expected)
    assert scns == [t.commit_scn for t in built.expected]
    assert_same(built, read_back(built))


@pytest.mark.parametrize("level", list(Supplemental))
def test_update_images_follow_the_supplemental_log_group(level: Supplemental) -> None:
    table = Table("HR", "EMP", 70001, EMP.columns, pk=("ID",), supplemental=level)
    steps = (
        Step(1, "a", Insert("EMP", row(ID="7", NAME="n", NOTE="old", SAL="1"))),
        Step(1, "a", Update("EMP", row(ID="7"), row(NOTE="new"))),
        Step(1, "a", Commit()),
    )
    built = build_workload(Workload(tables=(table,), steps=steps))
    update = built.expected[0].changes[1]
    logged = {
        Supplemental.MINIMAL: ["NOTE"],
        Supplemental.PRIMARY_KEY: ["ID", "NOTE"],
        Supplemental.ALL: ["ID", "NAME", "NOTE", "SAL"],
    }[level]
    assert update.before is not None and list(update.before) == logged
    assert update.after is not None and update.after["NOTE"] == "new"
    assert_same(built, read_back(built))


def test_chinese_text_in_gbk_and_national_utf16() -> None:
    table = Table(
        "CN",
        "T",
        70010,
        (
            Col("ID", OracleType.NUMBER),
            Col("NAME", OracleType.VARCHAR2, 100),
            Col("NNAME", OracleType.VARCHAR2, 100, charset_form=2),
            Col("MEMO", OracleType.LONG),
        ),
        pk=("ID",),
    )
    steps = (
        Step(
            1, "a", Insert("T", row(ID="1", NAME="中文测试", NNAME="國語\U0001f600", MEMO="长文本"))
        ),
        Step(1, "a", Update("T", row(ID="1"), row(NAME="改了"))),
        Step(1, "a", Commit()),
    )
    for charsets in (Charsets("ZHS16GBK", "AL16UTF16"), Charsets("AL32UTF8", "UTF8")):
        built = build_workload(Workload(tables=(table,), steps=steps, charsets=charsets))
        assert_same(built, read_back(built))


@pytest.mark.parametrize(
    "steps",
    [
        (Step(1, "a", Update("EMP", row(ID="1"), row(NAME="x"))),),
        (Step(1, "a", Insert("EMP", row(ID="1"))), Step(1, "a", Insert("EMP", row(ID="1")))),
        (Step(1, "a", Insert("EMP", row(ID="1.50"))),),
        (Step(1, "a", Insert("EMP", row(ID="1", BOGUS="x"))),),
        (Step(1, "a", RollbackTo("nowhere")),),
        (Step(1, "a", Insert("EMP", row(ID="1"))), Step(2, "a", Commit())),
        (
            Step(1, "a", Insert("EMP", row(ID="1"))),
            Step(1, "a", Update("EMP", row(ID="1"), row(ID="2"))),
        ),
    ],
)
def test_impossible_descriptions_are_refused(steps: tuple[Step, ...]) -> None:
    with pytest.raises(WorkloadError):
        build_workload(Workload(tables=(EMP,), steps=steps))


def test_read_only_and_fully_rolled_back_transactions_report_nothing() -> None:
    steps = (
        Step(1, "ro", Savepoint("x")),
        Step(1, "ro", Commit()),
        Step(1, "rb", Insert("EMP", row(ID="1"))),
        Step(1, "rb", Savepoint("s")),
        Step(1, "rb", Insert("EMP", row(ID="2"))),
        Step(1, "rb", RollbackTo("s")),
        Step(1, "rb", Rollback()),
        Step(1, "sp", Savepoint("s")),
        Step(1, "sp", Insert("EMP", row(ID="3"))),
        Step(1, "sp", RollbackTo("s")),
        Step(1, "sp", Commit()),
    )
    built = build_workload(Workload(tables=(EMP,), steps=steps))
    assert built.expected == ()
    assert read_back(built) == []


def test_expected_transactions_carry_commit_facts() -> None:
    steps = (Step(1, "a", Insert("EMP", row(ID="1"))), Step(1, "a", Commit()))
    start = datetime(2030, 1, 2, 3, 4, 5)
    built = build_workload(Workload(tables=(EMP,), steps=steps, start_time=start, start_scn=500))
    (txn,) = built.expected
    assert isinstance(txn, ExpectedTransaction)
    assert txn.commit_time == datetime(2030, 1, 2, 3, 4, 6, tzinfo=UTC)
    assert txn.commit_scn > 500
    assert txn.changes[0].op is Operation.INSERT


@pytest.mark.parametrize(
    ("layout", "con_id", "con_uid", "field"),
    [
        ("linux23", 3, 1385559638, True),  # a PDB: the begin names it (free23 0x244.0168)
        ("getLinux19c", 0, 0, False),  # no containers: no field (oracdc Ops_DRP_LMN/004)
        ("getLinux11g", 0, 0, False),
    ],
)
def test_the_begin_names_its_container(
    layout: str, con_id: int, con_uid: int, field: bool
) -> None:
    steps = (Step(1, "a", Insert("EMP", row(ID="1"))), Step(1, "a", Commit()))
    built = build_workload(
        Workload(
            tables=(EMP,), steps=steps, platform=PLATFORMS[layout], con_id=con_id, con_uid=con_uid
        )
    )
    redo = RedoFile(BytesSource(built.logs[0].data))
    layout_of = RecordLayout(redo.endian, redo.header.wide_vectors)
    first = parse_record(next(iter_raw_records(redo)), layout_of)
    begin = first.vectors[0]
    assert begin.header.opcode == (5, 2)
    assert [f.length for f in begin.fields] == ([32, 4] if field else [32])
    (op,) = (pv.op for pv in decode_record(first).ops if isinstance(pv.op, TxBegin))
    assert op.con_uid == (con_uid if field else None)
