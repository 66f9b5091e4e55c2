"""Configuration: inconsistent settings fail with the key named; the budget's arithmetic."""

from __future__ import annotations

import pytest
from drappha.budget import budgets, render
from drappha.settings import AppHASettings
from drcommon.config import load_settings
from drcommon.errors import ConfigError

from tests.unit.appha.config import app


def load(**over: object) -> AppHASettings:
    return load_settings(AppHASettings, None, env_prefix="DRAPPHA_UNIT", **over)


def test_minimal_configuration_loads_with_manual_default() -> None:
    settings = load(apps={"his": app()})
    assert settings.apps["his"].mode == "manual"
    assert settings.http.port == 8703
    assert load(apps={"his": app()}, http={"host": "0.0.0.0"}).http.port == 8703


def test_timeout_not_below_interval_is_refused_naming_the_key() -> None:
    bad = app()
    bad["primary"]["checks"][0]["timeout_seconds"] = 2
    with pytest.raises(ConfigError) as caught:
        load(apps={"his": bad})
    assert "apps.his.primary.checks.0.http.timeout_seconds" in str(caught.value)
    assert "must be less than interval_seconds" in str(caught.value)


@pytest.mark.parametrize(
    ("path", "value", "key"),
    [
        (("primary", "checks", 0, "rise"), 0, "apps.his.primary.checks.0.http.rise"),
        (("primary", "checks", 0, "fall"), 0, "apps.his.primary.checks.0.http.fall"),
        (("detection", "switch_after_failures"), 0, "apps.his.detection.switch_after_failures"),
        (("primary", "checks", 0, "max_latency_ms"), 1500, "apps.his.primary.checks.0.http"),
        (
            ("anti_flap", "hold_down_seconds"),
            1,
            "apps.his: Value error, anti_flap.hold_down_seconds",
        ),
        (("standby", "marker"), "site=cloud", "apps.his"),
        (("traffic", "argv"), ["/bin/x", "{sight}"], "apps.his.traffic.command.argv"),
    ],
)
def test_inconsistent_values_name_their_key(path: tuple, value: object, key: str) -> None:  # type: ignore[type-arg]
    cfg = app()
    node = cfg
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    with pytest.raises(ConfigError) as caught:
        load(apps={"his": cfg})
    assert key in str(caught.value)


def test_auto_refused_without_witness_then_without_fence() -> None:
    with pytest.raises(ConfigError, match="no witness at a third location"):
        load(apps={"his": app(mode="auto")})
    with pytest.raises(ConfigError, match="fence action"):
        load(
            apps={"his": app(mode="auto")},
            witnesses=[{"name": "w", "url": "http://w"}],
            control={"url": "http://c"},
        )


def test_auto_accepted_with_witness_control_and_fencing() -> None:
    cfg = app(mode="auto")
    for site in ("primary", "standby"):
        cfg[site]["fence"] = {"kind": "command", "argv": ["/bin/true"]}
    settings = load(
        apps={"his": cfg}, witnesses=[{"name": "w", "url": "http://w"}], control={"url": "http://c"}
    )
    assert settings.apps["his"].mode == "auto"


def test_detection_budget_arithmetic() -> None:
    settings = load(
        apps={"his": app()}, witnesses=[{"name": "w", "url": "http://w", "timeout_seconds": 1.5}]
    )
    (b,) = budgets(settings)
    # primary: interval 2, n = max(3, fall 3) = 3 -> k = max(2, ceil(5/2) = 3) = 3;
    # 2 * (1 + 3) + 1 = 9, + witness 1.5
    assert b.detect_primary == 10.5
    # standby: interval 4 -> k=max(2, ceil(5/4)=2)=2; 4*(1+2)+1 = 13, + 1.5
    assert b.detect_standby == 14.5
    # switch: no start/fence; ready 120 + probe max(1, 1.5) + traffic 7 + verify 20
    assert b.switch == 148.5
    text = render([b])
    assert "worst-case time to detect, primary down: 10.5 s" in text
