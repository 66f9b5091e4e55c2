"""The core's transaction layer on damaged redo, against the Python path: records of both
Oracle 23 logs and of random writer workloads (IOTs, LOBs, compressed tables) with a few
fields changed inside their vectors (bits flipped, bytes and integers set, lengths cut or
grown), wrapped into valid logs again, read with their dictionary by both under both
undecodable policies. The same commits and records up to the same end: the same error
class, message and facts, or none. A Rust panic would surface as pyo3's
``PanicException``, which is no ``DRError``: these tests would fail on it."""

from __future__ import annotations

import random

from drcapture.dictionary.model import Dictionary
from drcapture.dictionary.snapshot import dump_snapshot, load_snapshot
from drcapture.redo.records import RedoRecord
from drcapture.synth.workload import Workload
from drcapture.synth.workload_build import build_workload
from drcapture.synth.writer import wrap_records
from drcapture.synth.writer_records import Platform
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.capture.native.ops_oracle import damaged_copy, log_records, reparsed
from tests.unit.capture.native.txn_oracle import Setup, assert_same_run
from tests.unit.capture.test_iot_writer import _workloads as iot_workloads
from tests.unit.capture.test_lob_property import workloads as lob_workloads
from tests.unit.capture.test_redo_helpers import FREE23_LOGS, free23_untracked_dictionary

FREE23_RECORDS = [log_records(p.read_bytes()) for p in FREE23_LOGS]
FREE23_DICTIONARY = free23_untracked_dictionary()


def _damaged_logs(logs: list[list[RedoRecord]], layout: Platform | str, block_size: int,
                  rnd: random.Random, share: float) -> list[bytes]:
    out = []
    for records in logs:
        raw = [_damaged(r, rnd) if r.slots and rnd.random() < share else r.data
               for r in records]
        out.append(wrap_records(raw, layout, block_size=block_size))
    return out


def _damaged(record: RedoRecord, rnd: random.Random) -> bytes:
    """A damaged copy whose record layout still reads (mostly: the damage then reaches
    the operations and the transaction layer, not only the walk)."""
    for _ in range(5):
        data = damaged_copy(record, rnd)
        if reparsed(record, data) is not None or rnd.random() < 0.1:
            return data
    return record.data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), st.sampled_from([0.02, 0.1, 0.3]),
       st.sampled_from(["stop", "publish_marked"]))
def test_damaged_oracle_23_logs(seed: int, share: float, policy: str) -> None:
    logs = _damaged_logs(FREE23_RECORDS, "linux23", 512, random.Random(seed), share)
    assert_same_run(logs, Setup(FREE23_DICTIONARY, on_undecodable=policy, commit_open=True))


def _check_workload(workload: Workload, seed: int, policy: str) -> None:
    built = build_workload(workload)
    dictionary: Dictionary = load_snapshot(dump_snapshot(built.dictionary))
    rnd = random.Random(seed)
    for thread in sorted({log.thread for log in built.logs}):
        logs = [log_records(log.data) for log in built.logs_of(thread)]
        damaged = _damaged_logs(logs, workload.platform, workload.block_size, rnd, 0.2)
        assert_same_run(damaged, Setup(dictionary, thread=thread, on_undecodable=policy,
                                       commit_open=True))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(iot_workloads(), st.integers(0, 2**32), st.sampled_from(["stop", "publish_marked"]))
def test_damaged_iot_workloads(case: tuple[Workload, object], seed: int, policy: str) -> None:
    _check_workload(case[0], seed, policy)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lob_workloads(), st.integers(0, 2**32), st.sampled_from(["stop", "publish_marked"]))
def test_damaged_lob_workloads(workload: Workload, seed: int, policy: str) -> None:
    _check_workload(workload, seed, policy)
