"""The core's transaction layer against the Python reader + assembler + publisher on real
redo: both Oracle 23 logs with their dictionary (every table captured, some filtered out,
objects it does not know named or skipped, both undecodable policies, spill thresholds
from 0 up, the open state exported after the first log and imported into a new reader),
and every oracdc record walked in logs of 512, 1024 and 4096-byte blocks (in its own
byte order and misread in the other) without a dictionary and with the IOT dictionary
of ``test_iot_records``. The same commits and Kafka records byte for byte, counters,
open transactions, exported state, and errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from drcapture.dictionary.model import Dictionary

from tests.unit.capture.native.oracle import oracdc_logs
from tests.unit.capture.native.txn_oracle import Setup, assert_same_run
from tests.unit.capture.test_iot_records import _dictionary as iot_dictionary
from tests.unit.capture.test_redo_helpers import FREE23_LOGS, free23_untracked_dictionary

LOGS = [p.read_bytes() for p in FREE23_LOGS]


def _free23() -> Dictionary:
    return free23_untracked_dictionary()


@pytest.mark.parametrize("include_unknown", [True, False])
@pytest.mark.parametrize("policy", ["stop", "publish_marked"])
def test_the_oracle_23_logs(include_unknown: bool, policy: str) -> None:
    run = assert_same_run(LOGS, Setup(_free23(), include_unknown=include_unknown,
                                      on_undecodable=policy))
    assert len(run.commits) >= (18 if include_unknown else 3)


def test_the_oracle_23_logs_filtered() -> None:
    run = assert_same_run(LOGS, Setup(_free23(), wanted=lambda owner, name: name < "T",
                                      include_unknown=False))
    assert run.steps[-1][0].get("skipped_filtered", 0) > 0


@pytest.mark.parametrize("threshold", [0, 300, 5000])
def test_the_oracle_23_logs_spilled_and_resumed(tmp_path: Path, threshold: int) -> None:
    assert_same_run(LOGS, Setup(_free23(), spill=(tmp_path, threshold), export_after=0,
                                commit_open=True))


@pytest.mark.parametrize("size", [512, 1024, 4096])
def test_every_oracdc_record_without_a_dictionary(size: int) -> None:
    commits = 0
    for _, data in oracdc_logs(size):
        for policy in ("stop", "publish_marked"):
            run = assert_same_run([data], Setup(Dictionary(), on_undecodable=policy,
                                                commit_open=True))
            commits += len(run.commits)
    assert commits > 40


@pytest.mark.parametrize("size", [512, 4096])
def test_every_oracdc_record_with_the_iot_dictionary(size: int) -> None:
    for _, data in oracdc_logs(size):
        for policy in ("stop", "publish_marked"):
            assert_same_run([data], Setup(iot_dictionary(), on_undecodable=policy,
                                          commit_open=True))
