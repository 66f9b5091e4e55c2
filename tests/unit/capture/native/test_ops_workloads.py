"""The compiled core's operation parsers and triage against the Python ones on random
redo from the project's writer: workloads over every column type with multi-row
operations, savepoints, partial and whole rollbacks on several RAC threads with log
switches (11g and 12c+ layouts, both byte orders); compressed tables; index-organized
tables; CLOB, NCLOB and BLOB columns of every size class. Every record of every log:
the same operations or error, counters, IOT leaf parses and triage."""

from __future__ import annotations

from drcapture.dictionary.model import OracleType
from drcapture.synth.workload import (
    Col,
    Commit,
    Insert,
    Op,
    Rollback,
    Savepoint,
    Step,
    Supplemental,
    Table,
    Update,
    Workload,
    row,
)
from drcapture.synth.workload_build import build_workload
from drcapture.synth.writer_records import PLATFORMS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.capture.native.ops_oracle import (
    assert_same_everything,
    assert_same_triage_walk,
    log_records,
    objects_of,
    skip_maps,
)
from tests.unit.capture.test_iot_writer import _workloads as iot_workloads
from tests.unit.capture.test_lob_property import workloads as lob_workloads
from tests.unit.capture.test_writer_property import workloads

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(workload: Workload) -> None:
    built = build_workload(workload)
    records = [r for log in built.logs for r in log_records(log.data)]
    assert_same_everything(records)
    maps = skip_maps(objects_of(records))
    for log in built.logs:
        for skip in maps[:3]:
            assert_same_triage_walk(log.data, skip)


@SETTINGS
@given(workloads())
def test_random_workloads(workload: Workload) -> None:
    _check(workload)


@SETTINGS
@given(iot_workloads())
def test_random_iot_workloads(case: tuple[Workload, object]) -> None:
    _check(case[0])


@SETTINGS
@given(lob_workloads())
def test_random_lob_workloads(workload: Workload) -> None:
    _check(workload)


T = OracleType
COMPRESSED = Table(
    "APP", "ADVCOMP", 75659,
    (Col("C1", T.NUMBER), Col("C2", T.NUMBER), Col("C3", T.NUMBER), Col("C4", T.VARCHAR2, 20),
     Col("C5", T.VARCHAR2, 20), Col("C6", T.TIMESTAMP, scale=9), Col("C7", T.DATE)),
    pk=("C1",), supplemental=Supplemental.MINIMAL, compressed=True)
HEAP = Table("APP", "HEAP", 75700, (Col("ID", T.NUMBER), Col("V", T.VARCHAR2, 20)), pk=("ID",))
TEXT = st.text(alphabet="abcxyz", min_size=0, max_size=20).map(lambda s: s or None)
NUMBER = st.one_of(st.none(), st.integers(-10**6, 10**6).map(str))


@st.composite
def _compressed_row(draw: st.DrawFn, key: int) -> dict[str, str | None]:
    return {"C1": str(key), "C2": draw(NUMBER), "C3": draw(NUMBER), "C4": draw(TEXT),
            "C5": draw(TEXT),
            "C6": draw(st.sampled_from([None, "2026-01-20T09:55:06.912372000"])),
            "C7": draw(st.sampled_from([None, "1960-04-20T00:00:00"]))}


@st.composite
def compressed_workloads(draw: st.DrawFn) -> Workload:
    """Inserts into a compressed table and at most one update of each row (what the
    writer logs the way the real records show), beside a heap table's changes."""
    steps: list[Step] = []
    key = 1
    for t in range(draw(st.integers(1, 4))):
        label, thread = f"t{t}", draw(st.integers(1, 2))
        ops: list[Op] = []
        fresh: list[int] = []
        for _ in range(draw(st.integers(1, 4))):
            fresh.append(key)
            ops.append(Insert(COMPRESSED.name, row(draw(_compressed_row(key)))))
            key += 1
        if draw(st.booleans()):
            ops.append(Insert(HEAP.name, row(ID=str(t), V="h")))
        updated = draw(st.lists(st.sampled_from(fresh), unique=True, max_size=2))
        if updated:
            ops.append(Commit())  # rows of earlier transactions are updated in a new one
        for k in updated:
            new = draw(_compressed_row(k))
            names = draw(st.lists(st.sampled_from(["C2", "C4", "C5", "C6"]), min_size=1,
                                  max_size=3, unique=True))
            ops.append(Update(COMPRESSED.name, row(C1=str(k)), row({n: new[n] for n in names})))
        if not updated and draw(st.integers(0, 3)) == 0:
            ops = [*ops[:1], Savepoint("s"), *ops[1:], Rollback()]
        else:
            ops.append(Commit())
        labels = iter(range(len(ops)))
        part = 0
        for op in ops:
            steps.append(Step(thread, f"{label}.{part}", op))
            if isinstance(op, Commit | Rollback):
                part = next(labels) + 1
    return Workload(tables=(COMPRESSED, HEAP), steps=tuple(steps),
                    platform=PLATFORMS[draw(st.sampled_from(sorted(PLATFORMS)))],
                    block_size=draw(st.sampled_from([512, 4096])))


@SETTINGS
@given(compressed_workloads())
def test_random_compressed_workloads(workload: Workload) -> None:
    _check(workload)
