"""Index-organized tables written by the synthetic writer: records shaped field by field
like Oracle's (oracdc Op10_30_Test / Op10_35_Test), workloads read back exactly by
``decode_transactions`` (the Python reader, ``tests/unit/capture/python_decode.py``),
and a replica built from what is read equals the source — on every platform layout, and
over random workloads (hypothesis)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from drcapture.dictionary.model import Charsets, OracleType
from drcapture.redo.blocks import BytesSource, RedoFile
from drcapture.redo.records import RecordLayout, RedoRecord, iter_raw_records, parse_record
from drcapture.redo.txn.assembler import CommittedTransaction
from drcapture.synth.workload import (
    Col,
    Commit,
    Delete,
    Insert,
    LogSwitch,
    MultiInsert,
    Op,
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
from drcapture.synth.workload_build import BuiltWorkload, build_workload
from drcapture.synth.workload_state import WorkloadError, column_def
from drcapture.synth.writer_records import PLATFORMS
from drcapture.values import decode_column
from drcommon.model import ColumnValue, Operation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.capture.test_perf_fastpaths import _assemble
from tests.unit.capture.test_perf_fastpaths import _records as _parsed
from tests.unit.capture.test_redo_helpers import folder_records
from tests.unit.capture.test_writer_property import raw_value
from tests.unit.capture.test_writer_workload import EMP, assert_same, read_back

T = OracleType
IOT_33 = Table(
    "TEST", "TEST_IOT_33", 80706,
    (Col("ID", T.NUMBER), Col("NAME1", T.VARCHAR2, 20), Col("NAME2", T.VARCHAR2, 20),
     *(Col(f"DESCR{k}", T.VARCHAR2, 30) for k in range(1, 5))),
    pk=("ID", "NAME1", "NAME2"), iot_index=80707)


def _key(i: int) -> dict[str, ColumnValue]:
    return {"ID": str(i), "NAME1": f"name1-0{i}", "NAME2": f"name22-0{i}"}


def _descr(n: str, *suffixes: str) -> dict[str, ColumnValue]:
    names = ("descr1", "descr22", "descr333", "descr4444")
    return {f"DESCR{k}": f"{names[k - 1]}-{n}{s}" for k, s in enumerate(suffixes, 1)}


def _fixture_story() -> tuple[Step, ...]:
    """The fixtures' statements, each preceded in its transaction by another change (the
    fixture records are not their transactions' first: ktubu, KTB 'C')."""
    name = IOT_33.name
    return (
        Step(1, "load", Insert(name, row(_key(1), DESCR1="x"))),
        Step(1, "load", Insert(name, row(_key(2), DESCR3="descr333-02"))),
        Step(1, "load", Insert(name, row(_key(3)))),
        Step(1, "load", Commit()),
        Step(1, "u", Update(name, row(_key(1)), row(DESCR2="y"))),
        Step(1, "u", Update(name, row(_key(2)), row(_descr("02", "-U", "-U", "-U", "-U")))),
        Step(1, "u", Update(name, row(_key(3)), row(_descr("03", "-U", "-U", "-U", "-U")))),
        Step(1, "u", Commit()),
        Step(1, "v", Update(name, row(_key(1)), row(DESCR2="z"))),
        Step(1, "v", Update(name, row(_key(3)), row(_descr("03", "-UU", "-UUU", "-UUUU")))),
        Step(1, "v", Commit()),
    )


def _records(built: BuiltWorkload) -> Iterator[RedoRecord]:
    for log in built.logs:
        redo = RedoFile(BytesSource(log.data))
        layout = RecordLayout(redo.endian, redo.header.wide_vectors)
        yield from (parse_record(raw, layout) for raw in iter_raw_records(redo))


def _leaf_records(built: BuiltWorkload) -> list[RedoRecord]:
    return [r for r in _records(built) if any(cv.header.layer == 10 for cv in r.vectors)]


def _fields(record: RedoRecord) -> list[tuple[tuple[int, int], list[bytes]]]:
    return [(cv.header.opcode, [bytes(cv.field(i)) for i in range(len(cv.fields))])
            for cv in record.vectors if cv.header.layer in (5, 10)]


ADDRESS_FREE = {  # (vector, field): byte ranges that hold no block address or undo address
    (0, 3): [(0, 2), (3, 4), (12, None)],  # kdilk: kind, itl; sdc and the 10.35 fields
    (1, 1): [(0, None)],  # the leaf header: itl, flags, slot, row size, 10.35 fields
}


def test_update_records_have_the_fields_of_the_real_oracle_ones() -> None:
    """Field for field: the writer's three fixture updates carry the vectors, field sizes
    and — except block and undo addresses, transaction ids and the supplemental flag byte
    0x40 of one fixture — the bytes of oracdc's Op10_35/000, Op10_30/000, Op10_35/001."""
    built = build_workload(Workload(tables=(IOT_33,), steps=_fixture_story()))
    written = _leaf_records(built)
    ours = [written[4], written[5], written[7]]  # 10.35 id=2, 10.30 id=3, 10.35 id=3
    lcu1, lcu2 = folder_records("Op10_35_Test")
    (lnu,) = folder_records("Op10_30_Test")
    for mine, real in zip(ours, (lcu1, lnu, lcu2), strict=True):
        got, want = _fields(mine), _fields(real.parsed().record)
        assert [(op, [len(f) for f in fs]) for op, fs in got] == [
            (op, [len(f) for f in fs]) for op, fs in want], real.file
        (_, undo), (_, redo) = got
        (_, real_undo), (_, real_redo) = want
        assert undo[4:] == real_undo[4:] or real.file.startswith("Op10_35_Test/000"), real.file
        assert redo[2:] == real_redo[2:], real.file  # the new values (and column numbers)
        for (v, f), spans in ADDRESS_FREE.items():
            mine_f, real_f = (undo, redo)[v][f], (real_undo, real_redo)[v][f]
            for lo, hi in spans:
                assert mine_f[lo:hi] == real_f[lo:hi], (real.file, v, f, lo)
    # Op10_35/000's supplemental header has fb 0x4c where the writer puts 0x0c.
    (_, undo), _ = _fields(ours[0])
    (_, real_undo), _ = _fields(lcu1.parsed().record)
    assert undo[4:9] == real_undo[4:9]
    assert undo[9][1] == 0x0C and real_undo[9][1] == 0x4C
    assert undo[9][2:] == real_undo[9][2:] and undo[10:] == real_undo[10:]


@pytest.mark.parametrize("layout", sorted(PLATFORMS))
@pytest.mark.parametrize("block_size", [512, 4096])
def test_iot_story_reads_back_on_every_platform(layout: str, block_size: int) -> None:
    steps = (*_fixture_story(),
             Step(1, "w", Delete(IOT_33.name, row(_key(2)))),
             Step(1, "w", LogSwitch()),
             Step(1, "w", Insert(IOT_33.name, row(_key(2), DESCR4="again"))),
             Step(1, "w", Insert(EMP.name, row(ID="1", NAME="heap"))),
             Step(1, "w", Commit()))
    built = build_workload(Workload(tables=(IOT_33, EMP), steps=steps,
                                    platform=PLATFORMS[layout], block_size=block_size))
    got = read_back(built)
    assert_same(built, got)
    ops = [c.op for t in got for c in t.changes if c.table == IOT_33.name]
    assert ops == [Operation.INSERT] * 3 + [Operation.UPDATE] * 5 + [
        Operation.DELETE, Operation.INSERT]
    assert all(c.row_id is None for t in got for c in t.changes if c.table == IOT_33.name)


KEY_LAST = Table(  # the key is declared last: the leaf row (and SEGCOL#) puts it first
    "APP", "KEY_LAST", 80800,
    (Col("NOTE", T.VARCHAR2, 40), Col("AMOUNT", T.NUMBER), Col("K2", T.VARCHAR2, 10),
     Col("K1", T.NUMBER)),
    pk=("K1", "K2"), iot_index=80801, supplemental=Supplemental.MINIMAL)


def test_iot_key_columns_come_first_in_the_leaf_whatever_the_declared_order() -> None:
    name = KEY_LAST.name
    steps = (Step(1, "a", Insert(name, row(K1="7", K2="x", NOTE="n", AMOUNT="1.5"))),
             Step(1, "a", Update(name, row(K1="7", K2="x"), row(AMOUNT="2"))),
             Step(1, "a", Update(name, row(K1="7", K2="x"), row(NOTE=None))),
             Step(1, "a", Delete(name, row(K1="7", K2="x"))),
             Step(1, "a", Commit()))
    built = build_workload(Workload(tables=(KEY_LAST,), steps=steps))
    assert [c.seg_col for c in built.dictionary.tables[80800].columns] == [1, 2, 3, 4]
    assert [c.name for c in built.dictionary.tables[80800].columns] == [
        "K1", "K2", "NOTE", "AMOUNT"]
    got = read_back(built)
    assert_same(built, got)
    update = got[0].changes[1]
    assert update.before == {"K1": "7", "K2": "x", "AMOUNT": "1.5"}  # minimal logging + key
    assert update.after == {"K1": "7", "K2": "x", "AMOUNT": "2"}


@pytest.mark.parametrize("op", [
    MultiInsert(IOT_33.name, (row(_key(1)),)),
    "rollback_to", "rollback"])
def test_what_no_real_record_shows_is_not_written(op: Op | str) -> None:
    steps: list[Step] = [Step(1, "a", Insert(IOT_33.name, row(_key(1))))]
    if op == "rollback_to":
        steps[:0] = [Step(1, "a", Savepoint("s"))]
        steps.append(Step(1, "a", RollbackTo("s")))
    elif op == "rollback":
        steps.append(Step(1, "a", Rollback()))
    else:
        assert not isinstance(op, str)
        steps = [Step(1, "a", op)]
    with pytest.raises(WorkloadError, match="index-organized"):
        build_workload(Workload(tables=(IOT_33,), steps=tuple(steps)))


def test_an_iot_needs_a_primary_key() -> None:
    keyless = Table("APP", "NOKEY", 80900, (Col("A", T.NUMBER),), iot_index=80901)
    with pytest.raises(WorkloadError, match="primary key"):
        build_workload(Workload(tables=(keyless,), steps=()))


# --- random IOT workloads ------------------------------------------------------------


def _iot(supplemental: Supplemental, obj: int) -> Table:
    return Table(
        "APP", f"IOT_{supplemental.name}", obj,
        (Col("A", T.VARCHAR2, 60), Col("K2", T.VARCHAR2, 12), Col("B", T.NUMBER),
         Col("K1", T.NUMBER), Col("C", T.DATE), Col("D", T.RAW, 30), Col("E", T.VARCHAR2, 300)),
        pk=("K1", "K2"), iot_index=obj + 1, supplemental=supplemental)


IOTS = tuple(_iot(s, 81000 + 10 * k) for k, s in enumerate(Supplemental))
HEAP = Table("APP", "HEAP", 81100, (Col("ID", T.NUMBER), Col("V", T.VARCHAR2, 40)), pk=("ID",))
Rows = dict[tuple[ColumnValue, ...], dict[str, ColumnValue]]


@st.composite
def _values(draw: st.DrawFn, table: Table, charsets: Charsets) -> dict[str, ColumnValue]:
    out: dict[str, ColumnValue] = {}
    for index, col in enumerate(table.columns):
        if col.name in table.pk:
            continue
        column = column_def(table, index)
        raw = draw(raw_value(column, charsets)) if draw(st.booleans()) else None
        if col.name == "E" and draw(st.booleans()):
            raw = b"x" * 260  # a long column: 0xFE and a u16 length in row format
        out[col.name] = decode_column(raw, column, charsets)
    return out


@st.composite
def _iot_transaction(draw: st.DrawFn, table: Table, charsets: Charsets, first: int,
                     rows: Rows) -> list[Op]:
    """Inserts, updates and deletes of the transaction's own rows (keys from ``first``),
    recording the rows it leaves in ``rows``; it always commits."""
    own: list[tuple[ColumnValue, ...]] = []
    ops: list[Op] = []
    for n in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["ins", "upd", "upd", "del"]))
        if kind == "ins" or not own:
            key = (str(first + n), draw(st.sampled_from(["a", "b", "长"])))
            values = {**draw(_values(table, charsets)), "K1": key[0], "K2": key[1]}
            own.append(key)
            rows[key] = values
            ops.append(Insert(table.name, row(values)))
        elif kind == "upd":
            key = draw(st.sampled_from(own))
            new = draw(_values(table, charsets))
            names = draw(st.lists(st.sampled_from(sorted(new)), min_size=1, max_size=4,
                                  unique=True))
            rows[key].update({n: new[n] for n in names})
            ops.append(Update(table.name, row(K1=key[0], K2=key[1]), row(
                {n: new[n] for n in names})))
        else:
            key = own.pop(draw(st.integers(0, len(own) - 1)))
            del rows[key]
            ops.append(Delete(table.name, row(K1=key[0], K2=key[1])))
    return [*ops, Commit()]


@st.composite
def _workloads(draw: st.DrawFn) -> tuple[Workload, dict[str, Rows]]:
    charsets = draw(st.sampled_from([Charsets(), Charsets("ZHS16GBK", "AL16UTF16")]))
    final: dict[str, Rows] = {t.name: {} for t in IOTS}
    plans: list[list[Step]] = []
    for t in range(draw(st.integers(1, 4))):
        if draw(st.integers(0, 3)) == 0:  # a heap transaction beside them, maybe rolled back
            end: Op = draw(st.sampled_from([Commit(), Rollback()]))
            ops: list[Op] = [Insert(HEAP.name, row(ID=str(t), V="h")), end]
        else:
            table = draw(st.sampled_from(IOTS))
            ops = draw(_iot_transaction(table, charsets, 1 + 100 * t, final[table.name]))
        plans.append([Step(1 + t % 2, f"x{t}", op) for op in ops])
    steps: list[Step] = []
    while any(plans):
        steps.append(draw(st.sampled_from([p for p in plans if p])).pop(0))
        if draw(st.integers(0, 8)) == 0:
            steps.append(Step(steps[-1].thread, "-", LogSwitch()))
    workload = Workload(tables=(*IOTS, HEAP), steps=tuple(steps), charsets=charsets,
                        platform=PLATFORMS[draw(st.sampled_from(sorted(PLATFORMS)))],
                        block_size=draw(st.sampled_from([512, 1024, 4096])))
    return workload, final


def _replica(committed: list[CommittedTransaction]) -> dict[str, Rows]:
    """Apply what was read, the way a DR copy would: rows found by primary key only."""
    out: dict[str, Rows] = {t.name: {} for t in IOTS}
    for tx in sorted(committed, key=lambda t: t.commit_scn):
        for c in tx.changes:
            if c.table not in out:
                continue
            rows = out[c.table]
            image = c.after if c.op is Operation.INSERT else c.before
            assert image is not None
            key = (image["K1"], image["K2"])
            if c.op is Operation.INSERT:
                assert key not in rows and c.after is not None
                rows[key] = dict(c.after)
            elif c.op is Operation.UPDATE:
                assert c.after is not None
                rows[key].update(c.after)
            else:
                del rows[key]
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_workloads())
def test_random_iot_workloads_read_back_exactly(case: tuple[Workload, dict[str, Rows]]) -> None:
    workload, final = case
    built = build_workload(workload)
    got = read_back(built)
    assert_same(built, got)
    replica = _replica(got)
    expected = {name: {k: {**dict.fromkeys(IOTS[0].column_names()), **v} for k, v in rows.items()}
                for name, rows in final.items()}
    assert replica == expected


@pytest.mark.parametrize("keep", [set(), {"TEST_IOT_33"}, {"EMP"}, None])
def test_triage_gives_for_iots_what_decoding_every_record_gives(keep: set[str] | None) -> None:
    steps = (*_fixture_story(),
             Step(1, "w", Insert(EMP.name, row(ID="1", NAME="heap"))),
             Step(1, "w", Delete(IOT_33.name, row(_key(2)))),
             Step(1, "w", Commit()))
    built = build_workload(Workload(tables=(IOT_33, EMP), steps=steps))
    records = [r for log in built.logs for r in _parsed(log.data)]
    quick = _assemble(records, built.dictionary, keep, triage=True)
    full = _assemble(records, built.dictionary, keep, triage=False)
    assert quick == full
    committed, counters, _ = full
    changes = sum(len(t[5]) for t in committed)
    assert changes == {None: 10, "TEST_IOT_33": 9, "EMP": 1, "": 0}[
        "" if keep == set() else None if keep is None else next(iter(keep))]
    if keep is not None and "TEST_IOT_33" not in keep:
        assert counters.get("pieces", 0) == changes
