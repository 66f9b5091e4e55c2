"""The history file: state survives a restart, interrupted switches fail, event times."""

from __future__ import annotations

import time
from pathlib import Path

from drappha.history import History
from drappha.model import AppState, Mode, Phase, Site


def test_state_round_trip_rebases_monotonic_times(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite")
    history.open()
    state = AppState(
        phase=Phase.ON_STANDBY,
        active=Site.STANDBY,
        mode=Mode.AUTO,
        blocked="ack me",
        last_switch_at=1000.0,
        started_at=900.0,
    )
    history.save_state("his", state, now=1010.0)  # switched 10 s ago
    history.close()
    again = History(tmp_path / "h.sqlite")
    again.open()
    loaded = again.load_state("his", now=50.0)
    assert loaded is not None
    assert loaded.phase is Phase.ON_STANDBY and loaded.active is Site.STANDBY
    assert loaded.mode is Mode.AUTO and loaded.blocked == "ack me"
    assert loaded.started_at == 50.0
    assert loaded.last_switch_at is not None and 39.0 < loaded.last_switch_at <= 40.0
    assert again.load_state("other", now=1.0) is None


def test_interrupted_operations_fail_and_events_time_the_switch(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite")
    history.open()
    onset = time.time() - 2.0
    event = history.open_event("his", Site.STANDBY, "primary down", onset, onset + 1.5)
    history.create_operation("op-1", "his", Site.STANDBY, "ops", event)
    history.event_switch_started(event, "op-1")
    history.step("op-1", 1, "start_target", "running", None)
    history.step("op-1", 1, "start_target", "succeeded", "exit 0")
    assert history.fail_interrupted() == ["op-1"]
    record = history.operation("op-1")
    assert record is not None and record.state == "failed"
    assert record.error == "interrupted by an appha restart"
    assert [(s.name, s.state) for s in record.steps] == [("start_target", "succeeded")]
    history.event_finished(event, "failed")
    row = history.event(event)
    assert row is not None and row["time_to_detect"] == 1.5
    assert row["outcome"] == "failed" and 0 <= row["time_to_switch"] < 1.0
