"""A commit's Kafka records made ahead in the reader's thread (``NativeCommit.prepare``,
as the pipeline does beside the other threads' reads) are the records the publisher
would have made at publish time, for the same arguments only; an error is not raised
ahead but where the publisher meets it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from drcapture.catalog import LogCatalog
from drcapture.filtering import TableFilter
from drcapture.native_txn import CoreOptions, NativeCommit, Prepare, ThreadCore, _moment
from drcapture.publish_records import RecordLimits
from drcapture.synth.workload_build import build_workload
from drcapture.synth.workload_ops import VectorFactory
from drcapture.synth.workload_result import BuiltWorkload
from drcapture.thread_reader import ThreadReader
from drcommon.errors import DRError

from tests.support.workloads import random_workload

WHEN = datetime(2026, 12, 7, 5, 20, tzinfo=UTC)
LIMITS = RecordLimits()


def _commits(built: BuiltWorkload, paths: list[Path],
             prepare: Prepare | None = None) -> list[NativeCommit]:
    core = ThreadCore(built.dictionary, CoreOptions(thread=1, wanted=TableFilter(("SI.*",
                                                                                  "HIS.*"))))
    reader = ThreadReader(1, LogCatalog(files=paths), core, start_scn=None, follow=False)
    reader.prepare = prepare
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


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def test_a_read_prepares_every_commit_at_its_own_time(tmp_path: Path) -> None:
    """``Prepare`` on the reader: each read makes its commits' records in the core, at
    the commit's own time as the pipeline publishes it; they are the records made
    later without it, and the ones handed back for those arguments."""
    built = build_workload(random_workload(11, transactions=40, threads=1, switch_every=8))
    paths = built.write(tmp_path)
    plain = _commits(built, paths)
    ahead = _commits(built, paths, Prepare(_aware, 3, LIMITS))
    assert len(plain) == len(ahead) == len(built.expected)
    for one, other in zip(plain, ahead, strict=True):
        assert one.commit_ts is not None and one.commit_ts == other.commit_ts
        when = _aware(one.commit_ts)
        assert other._commit.prepared_for == (_moment(when), 3, LIMITS.max_value_bytes,
                                              LIMITS.max_record_bytes)
        assert one._commit.prepared_for is None
        assert other.records(when, 3, LIMITS) == one.records(when, 3, LIMITS)
        assert other.records(when, 1000, LIMITS) == one.records(when, 1000, LIMITS)


def test_a_redo_time_is_made_aware_by_the_callable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commits without their own time carry the newest redo time (naive, the server's
    zone): a read prepares them at what ``Prepare.aware`` makes of it."""
    end_vectors = VectorFactory.end_vectors

    def untimed(self: VectorFactory, tx: Any, *, rollback: bool, scn: int,
                unix_time: int) -> Any:
        return end_vectors(self, tx, rollback=rollback, scn=scn, unix_time=0)

    monkeypatch.setattr(VectorFactory, "end_vectors", untimed)
    built = build_workload(random_workload(12, transactions=20, threads=1, switch_every=8))
    paths = built.write(tmp_path)
    zone = timezone(timedelta(hours=-5))

    def aware(moment: datetime) -> datetime:
        return moment.replace(tzinfo=zone).astimezone(UTC)

    def failing(moment: datetime) -> datetime:
        raise ValueError(f"no zone for {moment}")

    plain = _commits(built, paths)
    ahead = _commits(built, paths, Prepare(aware, 1000, LIMITS))
    # the read goes on; the error is met again where the publisher asks for the time
    unprepared = _commits(built, paths, Prepare(failing, 1000, LIMITS))
    assert plain and all(tx._commit.commit_time[0] == "redo" for tx in plain)
    for one, other, third in zip(plain, ahead, unprepared, strict=True):
        assert one.commit_ts is not None and one.commit_ts.tzinfo is None
        when = aware(one.commit_ts)
        assert other._commit.prepared_for == (_moment(when), 1000, LIMITS.max_value_bytes,
                                              LIMITS.max_record_bytes)
        assert third._commit.prepared_for is None
        assert other.records(when, 1000, LIMITS) == one.records(when, 1000, LIMITS)
        assert third.records(when, 1000, LIMITS) == one.records(when, 1000, LIMITS)
