"""Random LOB workloads (hypothesis): CLOB, NCLOB and BLOB values of every size class —
empty, a few bytes in row, at the in-row limit, a page or several — inserted, updated
whole, deleted, with savepoints, partial and full rollbacks, on every platform; the
capture reader reports exactly what the description implies, byte for byte."""

from __future__ import annotations

from drcapture.dictionary.model import Charsets
from drcapture.synth.workload import (
    Commit,
    Delete,
    Insert,
    Op,
    Rollback,
    RollbackTo,
    Savepoint,
    Step,
    Update,
    Workload,
    row,
)
from drcapture.synth.workload_build import build_workload
from drcapture.synth.writer_lob import IN_ROW_MAX, PAGE_SIZE
from drcapture.synth.writer_records import PLATFORMS
from drcommon.model import ColumnValue
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.capture.test_writer_lob import DOCS
from tests.unit.capture.test_writer_workload import assert_same, read_back

SIZES = st.one_of(
    st.just(0),
    st.integers(1, 64),
    st.integers(IN_ROW_MAX - 4, IN_ROW_MAX + 4),
    st.integers(PAGE_SIZE - 2, 3 * PAGE_SIZE + 2),
    st.integers(10 * PAGE_SIZE, 12 * PAGE_SIZE),
)
CHARS = st.sampled_from(["a", "Z", "é", "医", "€", "\u4e2d\u6587", "x\u00e9"])


@st.composite
def lob_value(draw: st.DrawFn, column: str, charsets: Charsets) -> ColumnValue:
    if draw(st.integers(0, 9)) == 0:
        return None
    size = draw(SIZES)
    if column == "BIN":
        seed = draw(st.binary(min_size=1, max_size=16))
        return (seed * (size // len(seed) + 1))[:size].hex().upper()
    unit = draw(CHARS)
    if column == "TXT" and charsets.database == "WE8MSWIN1252":
        unit = draw(st.sampled_from(["a", "é", "€"]))
    text = unit * (size // (2 * len(unit)) + 1)
    return text[: max(0, size // 2)]


@st.composite
def lob_changes(draw: st.DrawFn, charsets: Charsets, *, update: bool) -> dict[str, ColumnValue]:
    names = ["TXT", "NTXT", "BIN"]
    chosen = draw(st.lists(st.sampled_from(names), min_size=1 if update else 0, max_size=3,
                           unique=True))
    values = {n: draw(lob_value(n, charsets)) for n in chosen}
    if update and draw(st.booleans()):
        values["NOTE"] = draw(st.text(alphabet="abc", min_size=1, max_size=5))
    return values


@st.composite
def workloads(draw: st.DrawFn) -> Workload:
    charsets = Charsets(draw(st.sampled_from(["AL32UTF8", "WE8MSWIN1252", "ZHS16GBK"])))
    present: set[int] = set()
    next_key = 1
    steps: list[Step] = []
    for t in range(draw(st.integers(1, 3))):
        label = f"t{t}"
        start = set(present)
        saved: set[int] | None = None
        for _ in range(draw(st.integers(1, 4))):
            kind = draw(st.sampled_from(["insert", "update", "delete", "savepoint", "back"]))
            op: Op
            if kind == "insert" or (not present and kind in ("update", "delete")):
                op = Insert("DOCS", row(ID=str(next_key),
                                        **draw(lob_changes(charsets, update=False))))
                present.add(next_key)
                next_key += 1
            elif kind == "update":
                key = draw(st.sampled_from(sorted(present)))
                op = Update("DOCS", row(ID=str(key)), row(**draw(lob_changes(charsets,
                                                                             update=True))))
            elif kind == "delete":
                key = draw(st.sampled_from(sorted(present)))
                op = Delete("DOCS", row(ID=str(key)))
                present.discard(key)
            elif kind == "savepoint" or saved is None:
                op, saved = Savepoint("s"), set(present)
            else:
                op, present = RollbackTo("s"), set(saved)
            steps.append(Step(1, label, op))
        if draw(st.integers(0, 4)) == 0:
            steps.append(Step(1, label, Rollback()))
            present = start
        else:
            steps.append(Step(1, label, Commit()))
    platform = PLATFORMS[draw(st.sampled_from(sorted(PLATFORMS)))]
    return Workload(tables=(DOCS,), steps=tuple(steps), charsets=charsets, platform=platform)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workloads())
def test_random_lob_workloads_read_back_exactly(workload: Workload) -> None:
    built = build_workload(workload)
    assert_same(built, read_back(built))
