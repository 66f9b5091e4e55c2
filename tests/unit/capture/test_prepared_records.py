"""A commit's Kafka records made ahead in the reader's thread (``NativeCommit.prepare``,
as the pipeline does beside the other threads' reads) are the records the publisher
would have made at publish time, for the same arguments only; an error is not raised
ahead but where the publisher meets it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from drcapture.catalog import LogCatalog
from drcapture.filtering import TableFilter
from drcapture.native_txn import CoreOptions, NativeCommit, ThreadCore
from drcapture.publish_records import RecordLimits
from drcapture.synth.workload_build import build_workload
from drcapture.synth.workload_result import BuiltWorkload
from drcapture.thread_reader import ThreadReader
from drcommon.errors import DRError

from tests.support.workloads import random_workload

WHEN = datetime(2026, 12, 7, 5, 20, tzinfo=UTC)
LIMITS = RecordLimits()


def _commits(built: BuiltWorkload, paths: list[Path]) -> list[NativeCommit]:
    core = ThreadCore(built.dictionary, CoreOptions(thread=1, wanted=TableFilter(("SI.*",
                                                                                  "HIS.*"))))
    reader = ThreadReader(1, LogCatalog(files=paths), core, start_scn=None, follow=False)
    commits: list[NativeCommit] = []
    for _ in range(10_000):
        result = reader.read(100)
        commits.extend(result.commits)
        if result.finished:
            return commits
    raise AssertionError("the reader did not finish")


def test_prepared_records_are_the_records(tmp_path: Path) -> None:
    built = build_workload(random_workload(11, transactions=40, threads=1, switch_every=8))
    paths = built.write(tmp_path)
    plain, ahead = _commits(built, paths), _commits(built, paths)
    assert len(plain) == len(ahead) == len(built.expected)
    for tx in ahead:
        tx.prepare(WHEN, 3, LIMITS)
    for one, other in zip(plain, ahead, strict=True):
        assert other.records(WHEN, 3, LIMITS) == one.records(WHEN, 3, LIMITS)
        # other arguments: made again, as without prepare
        later = WHEN.astimezone(timezone(timedelta(hours=8)))
        assert other.records(later, 1000, LIMITS) == one.records(later, 1000, LIMITS)
        assert other.records(WHEN, 1, LIMITS) == one.records(WHEN, 1, LIMITS)


def test_an_error_is_raised_where_the_publisher_meets_it(tmp_path: Path) -> None:
    built = build_workload(random_workload(11, transactions=10, threads=1, switch_every=8))
    paths = built.write(tmp_path)
    tight = RecordLimits(max_value_bytes=1, max_record_bytes=60)
    plain, ahead = _commits(built, paths), _commits(built, paths)
    ahead[0].prepare(WHEN, 1000, tight)  # does not raise
    with pytest.raises((DRError, ValueError)) as expected:
        plain[0].records(WHEN, 1000, tight)
    with pytest.raises(type(expected.value)) as caught:
        ahead[0].records(WHEN, 1000, tight)
    assert str(caught.value) == str(expected.value)
