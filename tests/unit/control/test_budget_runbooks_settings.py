"""Runbook files, the time budget against the targets, and settings refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from drcommon.config import load_settings
from drcommon.errors import ConfigError
from drcontrol.budget import compute, validate
from drcontrol.engine.kinds import KINDS
from drcontrol.engine.preconditions import KNOWN
from drcontrol.runbooks.loader import load_runbooks
from drcontrol.settings import ControlSettings


def settings(**overrides: Any) -> ControlSettings:
    return load_settings(ControlSettings, None, env_prefix="DRCONTROL_UNIT_UNUSED", **overrides)


def books(directory: Path | None = None) -> dict[str, Any]:
    return load_runbooks(directory, KINDS, KNOWN)


def test_shipped_runbooks_load_and_mark_drill_steps() -> None:
    shipped = books()
    assert {"failover", "switchover", "switchback", "app_failover"} <= set(shipped)
    failover = shipped["failover"]
    live = [s.id for s in failover.steps_for(drill=False)]
    drill = [s.id for s in failover.steps_for(drill=True)]
    assert "resume_apply" not in live and drill[-1] == "resume_apply"
    modes = {s.id: s.drill for s in failover.steps}
    assert modes["fence_source"] == "skip" and modes["switch_apps"] == "simulate"
    assert modes["stop_apply"] == "skip" and "set_roles" not in modes  # roles move with apps


def test_override_directory_replaces_by_name(tmp_path: Path) -> None:
    (tmp_path / "failover.toml").write_text(
        'name = "failover"\ndescription = "short"\n'
        '[[steps]]\nid = "recheck"\nkind = "precheck"\ntitle = "t"\n', encoding="utf-8")
    assert [s.id for s in books(tmp_path)["failover"].steps] == ["recheck"]


@pytest.mark.parametrize(("text", "key"), [
    ('name = "failover"\ndescription = "d"\n[[steps]]\nid = "a"\nkind = "teleport"\n'
     'title = "t"\n', "steps[0].kind"),
    ('name = "failover"\ndescription = "d"\n[[steps]]\nid = "a"\nkind = "precheck"\n'
     'title = "t"\npreconditions = ["moon_reachable"]\n', "steps[0].preconditions"),
])
def test_bad_runbook_names_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    (tmp_path / "failover.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        books(tmp_path)
    assert caught.value.where["key"] == key and "failover.toml" in caught.value.where["file"]


def test_defaults_meet_the_default_targets() -> None:
    budget = compute(settings(), books())
    assert budget.violations == []
    validate(budget)
    assert budget.detection_seconds == 5.0 * 3 + 2.0
    failover = budget.runbooks["failover"]
    expected = sum(s.timeout_seconds * s.attempts + 2.0 * s.retries
                   for s in books()["failover"].steps_for(drill=False)) + 1.0
    assert failover.seconds == pytest.approx(expected)
    assert budget.end_to_end_seconds["failover"] == pytest.approx(expected + 17.0)


def test_a_target_the_settings_cannot_meet_is_refused_naming_keys() -> None:
    tight = settings(targets={"rto_seconds": 300, "detection_seconds": 10})
    budget = compute(tight, books())
    with pytest.raises(ConfigError) as caught:
        validate(budget)
    key = caught.value.where["key"]
    assert "targets.rto_seconds" in key and "targets.detection_seconds" in key
    assert "runbooks.failover.steps.switch_apps" in key


def test_shipped_runbooks_promise_what_the_drill_bench_measured_against() -> None:
    """The worst cases bench/README.md ("RTO") sets beside the measured drills."""
    budget = compute(settings(), books())
    seconds = {name: budget.runbooks[name].seconds
               for name in ("failover", "switchover", "switchback")}
    assert seconds == {"failover": 615.0, "switchover": 645.0, "switchback": 649.0}


@pytest.mark.parametrize(("overrides", "text"), [
    ({"approvals": {"failover": {"required_approvals": 0}}}, "failover.required_approvals"),
    ({"hooks": {"promotion": [{"name": "seq", "statements": ["select 1"]}]}},
     "dr_database.kind"),
    ({"watch": {"lag_alert_seconds": 120}, "targets": {"rpo_seconds": 60}},
     "watch.lag_alert_seconds"),
    ({"storage": {"backend": "mysql"}}, "storage.backend"),
])
def test_settings_refuse_unsafe_values(overrides: dict[str, Any], text: str) -> None:
    with pytest.raises(ConfigError, match=text.replace(".", r"\.")):
        settings(**overrides)


def test_app_failover_may_be_automatic() -> None:
    assert settings(approvals={"app_failover": {"required_approvals": 0}}).approvals \
        .app_failover.required_approvals == 0
