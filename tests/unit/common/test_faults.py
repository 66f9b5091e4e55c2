"""The fault board: one fault per part, its spell kept across retries, health from the
worst, a log line only when something changes."""

from __future__ import annotations

from drcommon.errors import CorruptRedo, RetriableSourceError
from drcommon.faults import FaultBoard, FaultMetrics, Severity
from drcommon.http import HealthStatus
from drcommon.metrics import Metrics


def test_a_spell_keeps_its_start_and_counts_attempts() -> None:
    board = FaultBoard()
    first = board.report("kafka", RetriableSourceError("unreachable", bootstrap="b:9"), now=100.0)
    assert first.line == "kafka degraded: unreachable [bootstrap=b:9]"
    again = board.report("kafka", "still unreachable", now=105.0)
    assert again.line is None  # one more failed attempt is not news
    fault = board.get("kafka")
    assert fault is not None
    assert (fault.since, fault.last_at, fault.attempts) == (100.0, 105.0, 2)
    assert fault.error == "still unreachable"
    doc = fault.document(now=110.0)
    assert doc["seconds"] == 10.0 and doc["severity"] == "degraded" and doc["attempts"] == 2


def test_health_is_the_worst_fault_and_clears() -> None:
    board = FaultBoard()
    assert board.health({"state": "running"}, now=0.0).status is HealthStatus.OK
    board.report("kafka", "away", now=1.0)
    assert board.health({}, now=2.0).status is HealthStatus.DEGRADED
    damage = CorruptRedo("block checksum mismatch", file="/a/1.arc", block=7)
    change = board.report("redo", damage, now=3.0, failing=True)
    assert change.fault.facts == {"file": "/a/1.arc", "block": 7}
    health = board.health({"state": "failed"}, now=4.0)
    assert health.status is HealthStatus.FAILING
    assert [f["part"] for f in health.details["faults"]] == ["redo", "kafka"]
    assert health.details["error"].startswith("block checksum mismatch")
    assert board.severity() is Severity.FAILING
    ended = board.clear("redo", now=13.0)
    assert ended is not None and ended.line is not None
    assert ended.line.startswith("redo recovered after 10.0 s and 1 failed attempt(s)")
    assert board.clear("redo", now=14.0) is None
    assert board.health({}, now=15.0).status is HealthStatus.DEGRADED


def test_severity_change_is_news() -> None:
    board = FaultBoard()
    board.report("spill", "disk full", now=1.0)
    assert board.report("spill", "disk full", now=2.0, failing=True).line is not None


def test_metrics_follow_the_board() -> None:
    metrics = Metrics("t")
    gauges = FaultMetrics(metrics)
    board = FaultBoard()
    board.report("database", "stopped", now=10.0)
    gauges.update(board, now=15.0)
    text = metrics.render().decode()
    assert 'dr_t_fault_active{part="database",severity="degraded"} 1.0' in text
    assert 'dr_t_fault_seconds{part="database"} 5.0' in text
    board.clear("database", now=16.0)
    gauges.update(board, now=16.0)
    text = metrics.render().decode()
    assert 'dr_t_fault_active{part="database",severity="degraded"} 0.0' in text
    assert 'dr_t_fault_seconds{part="database"} 0.0' in text
