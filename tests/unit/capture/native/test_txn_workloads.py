"""The core's transaction layer against the Python reader + assembler + publisher on
random redo from the project's writer: workloads over every column type with multi-row
operations, savepoints, partial and whole rollbacks on several RAC threads with log
switches (11g and 12c+ layouts, both byte orders, 512/1024/4096-byte blocks);
compressed tables; index-organized tables; CLOB, NCLOB and BLOB columns of every size
class. Each thread's logs are read by both, with a spill threshold from 0 up, the open
state exported after a random log and imported into a new reader, a random table
filter, and both undecodable policies: the same commits and Kafka records byte for byte,
counters, open transactions, exported state and errors."""

from __future__ import annotations

import tempfile
from pathlib import Path

from drcapture.dictionary.snapshot import dump_snapshot, load_snapshot
from drcapture.synth.workload import Workload
from drcapture.synth.workload_build import build_workload
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.capture.native.test_ops_workloads import compressed_workloads
from tests.unit.capture.native.txn_oracle import Setup, assert_same_run
from tests.unit.capture.test_iot_writer import _workloads as iot_workloads
from tests.unit.capture.test_lob_property import workloads as lob_workloads
from tests.unit.capture.test_writer_property import workloads

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def options(draw: st.DrawFn) -> dict[str, object]:
    """How both read: spill threshold (or memory), where to export and import, filter,
    policy, unknown objects."""
    return {
        "threshold": draw(st.one_of(st.none(), st.sampled_from([0, 1, 500, 4000, 10**9]))),
        "export_after": draw(st.one_of(st.none(), st.integers(0, 3))),
        "filtered": draw(st.integers(0, 3)) == 0,
        "on_undecodable": draw(st.sampled_from(["stop", "publish_marked"])),
        "include_unknown": draw(st.booleans()),
        "commit_open": draw(st.booleans()),
    }


def check(workload: Workload, how: dict[str, object]) -> int:
    """Every thread of ``workload`` read by both; the commits found."""
    built = build_workload(workload)
    dictionary = load_snapshot(dump_snapshot(built.dictionary))
    names = sorted({t.name for t in dictionary.tables.values()})
    skipped = names[0] if how["filtered"] and names else None
    commits = 0
    with tempfile.TemporaryDirectory() as tmp:
        threshold = how["threshold"]
        for thread in sorted({log.thread for log in built.logs}):
            logs = [log.data for log in built.logs_of(thread)]
            spill = (Path(tmp) / f"t{thread}", threshold) if isinstance(threshold, int) else None
            setup = Setup(dictionary, thread=thread,
                          include_unknown=bool(how["include_unknown"]),
                          wanted=(lambda owner, name: name != skipped) if skipped else None,
                          on_undecodable=str(how["on_undecodable"]), spill=spill,
                          export_after=how["export_after"],  # type: ignore[arg-type]
                          commit_open=bool(how["commit_open"]))
            commits += len(assert_same_run(logs, setup).commits)
    return commits


@SETTINGS
@given(workloads(), options())
def test_random_workloads(workload: Workload, how: dict[str, object]) -> None:
    check(workload, how)


@SETTINGS
@given(iot_workloads(), options())
def test_random_iot_workloads(case: tuple[Workload, object], how: dict[str, object]) -> None:
    check(case[0], how)


@SETTINGS
@given(lob_workloads(), options())
def test_random_lob_workloads(workload: Workload, how: dict[str, object]) -> None:
    check(workload, how)


@SETTINGS
@given(compressed_workloads(), options())
def test_random_compressed_workloads(workload: Workload, how: dict[str, object]) -> None:
    check(workload, how)
