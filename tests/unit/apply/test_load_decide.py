"""The load's pure decisions: resume or begin, capture's start, seeding, the position;
and the progress line and throttle it shares with compare."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from drapply.adapters.base import Checkpoint
from drapply.load.decide import (
    Begin,
    Resume,
    capture_verdict,
    may_seed,
    resume_or_begin,
    seed_offset,
)
from drapply.load.model import LoadRefused, LoadRequest, LoadRow
from drapply.progress import eta_seconds, render
from drapply.snapshot.model import StartPoint
from drapply.throttle import Throttle, delay, limit_at
from drcommon.errors import ConfigError
from drcommon.model import CaptureCheckpoint, ThreadRestart

ROW = LoadRow("load-1", 500, 450, "running", "alice")


def test_resume_or_begin() -> None:
    assert isinstance(resume_or_begin(None, LoadRequest(scn=9)), Begin)
    assert isinstance(resume_or_begin(ROW, LoadRequest(scn=None)), Resume)
    assert isinstance(resume_or_begin(ROW, LoadRequest(scn=500)), Resume)
    restart = resume_or_begin(ROW, LoadRequest(scn=700, restart=True))
    assert isinstance(restart, Begin) and restart.abandon == ROW
    with pytest.raises(LoadRefused, match="unfinished load at SCN 500"):
        resume_or_begin(ROW, LoadRequest(scn=700))


def _checkpoint(*scns: int) -> CaptureCheckpoint:
    return CaptureCheckpoint(
        capture_id="c1", safe_scn=max(scns),
        threads={i + 1: ThreadRestart(sequence=1, block=2, scn=s) for i, s in enumerate(scns)},
        written_at=datetime(2024, 1, 1, tzinfo=UTC),
    )  # fmt: skip


def test_capture_verdict() -> None:
    point = StartPoint(scn=1000, start_scn=900, open_transactions=2, oldest_xid="1.2.3")
    assert "DR_START_SCN=900" in capture_verdict(point, {})
    assert "before the start point" in capture_verdict(point, {"c1": _checkpoint(850, 990)})
    with pytest.raises(LoadRefused, match="c1 reads from SCN 950"):
        capture_verdict(point, {"c1": _checkpoint(950, 990)})
    assert "began at SCN 900" in point.line
    assert "no transaction was open" in StartPoint(5, 5).line


def test_may_seed() -> None:
    assert may_seed(None, 10, truncate=False) == "no checkpoint yet"
    fresh = Checkpoint("t", 0, next_offset=0)
    assert "not applied from yet" in may_seed(fresh, 10, truncate=False)
    applied = Checkpoint("t", 0, next_offset=40, commit_scn=7)
    with pytest.raises(LoadRefused, match="needs --truncate"):
        may_seed(applied, 10, truncate=False)
    assert "re-seeding" in may_seed(applied, 10, truncate=True)
    same = Checkpoint("t", 0, next_offset=40, commit_scn=10, seed_scn=10)
    assert "not applied from yet" in may_seed(same, 10, truncate=False)


def test_seed_offset() -> None:
    assert seed_offset(100, 0, 0, None, 0)[0] == 0
    assert seed_offset(100, 0, 50, 20, 31) == (31, "apply starts at offset 31, the first "
                                                   "transaction committed after SCN 100")
    assert seed_offset(100, 10, 50, 90, 50)[0] == 50  # deleted records were older
    with pytest.raises(LoadRefused, match=r"retention deleted offsets 0\.\.9"):
        seed_offset(100, 10, 50, 120, 10)
    with pytest.raises(LoadRefused):
        seed_offset(100, 10, 10, None, 10)


def test_progress_line() -> None:
    assert eta_seconds(0, 100, 1.0) is None
    assert eta_seconds(25, 100, 10.0) == 30.0
    line = render("load", 25, 100, 10.0, "SI.PERSON")
    assert line == "load  25.0% 25/100 rows 2 rows/s ETA 0:30  SI.PERSON"
    assert render("compare", 554, 0, 2.0) == "compare 554 rows 277 rows/s"


def test_throttle() -> None:
    noon, night = datetime(2024, 1, 1, 12, 0), datetime(2024, 1, 1, 23, 30)
    windows = ["08:00-18:00", "23:00-01:00"]
    assert limit_at(noon, 0.0, 500.0, windows) == 500.0
    assert limit_at(night, 0.0, 500.0, windows) == 500.0
    assert limit_at(datetime(2024, 1, 1, 19, 0), 0.0, 500.0, windows) == 0.0
    assert delay(1000, 1.0, 500.0) == 1.0 and delay(10, 1.0, 0.0) == 0.0
    slept: list[float] = []
    clock = iter([0.0, 0.5])
    throttle = Throttle(100.0, monotonic=lambda: next(clock), sleep=slept.append,
                        now=lambda: noon)  # fmt: skip
    throttle.take(100)
    assert slept == [0.5]
    with pytest.raises(ConfigError):
        Throttle(1.0, 1.0, ["8-18"])
