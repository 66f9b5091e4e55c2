"""Pure parts of the guard (attestation weighing, lease), availability and nginx rendering."""

from __future__ import annotations

from pathlib import Path

from drappha.adapters import ActionContext
from drappha.adapters.nginx import render_upstream, write_atomically
from drappha.guard import evaluate, lease_expired
from drappha.history import availability
from drappha.model import Status
from drappha.peers import VantageReport, combine
from drappha.specs import NginxUpstreamAction

DOWN = VantageReport("appha", Status.DOWN, "refused")
DOWN2 = VantageReport("w1", Status.DOWN, "timeout")
UP = VantageReport("w1", Status.UP, "serving")
UNK = VantageReport("w1", Status.UNKNOWN, "unreachable")


def test_attestation_needs_fence_plus_another_signal() -> None:
    assert evaluate(fence_ok=True, vantages=[DOWN, DOWN2], lease_expired=False, min_signals=2) == (
        ("fence", "vantage"),
        True,
    )
    assert evaluate(fence_ok=True, vantages=[DOWN, UNK], lease_expired=True, min_signals=2)[1]
    assert not evaluate(fence_ok=True, vantages=[DOWN, UNK], lease_expired=False, min_signals=2)[1]
    assert not evaluate(fence_ok=False, vantages=[DOWN, DOWN2], lease_expired=True, min_signals=2)[
        1
    ]


def test_a_vantage_still_seeing_the_site_serving_spoils_the_attestation() -> None:
    signals, ok = evaluate(fence_ok=True, vantages=[DOWN, UP], lease_expired=True, min_signals=1)
    assert "vantage" not in signals and not ok


def test_lease() -> None:
    assert lease_expired(100.0, 30.0, 130.0)
    assert not lease_expired(100.0, 30.0, 129.9)
    assert not lease_expired(None, 30.0, 1e12)


def test_witness_views_combine() -> None:
    assert combine([]) is Status.UNKNOWN
    assert combine([UNK, DOWN2]) is Status.DOWN
    assert combine([DOWN2, UP]) is Status.UP


def test_availability_over_transitions() -> None:
    t = [(0.0, Status.UP), (60.0, Status.DOWN), (70.0, Status.UNKNOWN), (80.0, Status.UP)]
    # known: up 0-60 and 80-100 (80 s), down 60-70 (10 s)
    assert availability(t, 0.0, 100.0) == 80 / 90
    assert availability(t, 65.0, 100.0) == 20 / 25
    assert availability([], 0.0, 10.0) is None


def test_nginx_upstream_rendering_and_atomic_write(tmp_path: Path) -> None:
    spec = NginxUpstreamAction(
        file=tmp_path / "his.conf",
        upstream="his_backend",
        server_options="max_fails=2",
        reload_argv=["/bin/true"],
    )
    ctx = ActionContext("his", "standby", "op-1", ("192.168.0.1:80", "192.168.0.2:80"))
    text = render_upstream(spec, ctx)
    assert "upstream his_backend {" in text
    assert "    server 192.168.0.1:80 max_fails=2;" in text
    assert "operation=op-1" in text
    write_atomically(spec.file, text)
    assert spec.file.read_text() == text
    assert [p.name for p in tmp_path.iterdir()] == ["his.conf"]
