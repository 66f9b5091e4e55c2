"""What control reads from its peers' status documents (docs/INTERFACES.md)."""

from __future__ import annotations

from drcontrol.evidence import fencing_facts, summarise_apply, summarise_capture


def test_a_fenced_capture_proves_the_old_primary_fenced() -> None:
    fenced = fencing_facts({"reachable": True, "state": "fenced", "final_scn": 42}, [])
    assert fenced["fenced"] is True and "42" in fenced["how"]
    stopped = fencing_facts({"reachable": True, "state": "stopped"}, [])
    assert stopped["fenced"] is True
    running = fencing_facts({"reachable": True, "state": "running"}, [])
    assert running["fenced"] is False



def attestation(site: str, sufficient: bool) -> dict[str, object]:
    """appha's attestation as its GET /api/v1/apps shows it (drappha.guard)."""
    return {"site": site, "operation_id": "request-1",
            "fence": {"configured": True, "ok": sufficient, "detail": "exit 0"},
            "vantages": [], "lease": {"seconds": 30, "last_seen_alive_at": None,
                                      "expired": True},
            "signals": ["fence", "lease"] if sufficient else [], "sufficient": sufficient,
            "at": 1.0}


def test_a_sufficient_appha_attestation_of_the_home_site_counts() -> None:
    down = {"reachable": False}
    apps = [{"name": "his", "attestation": attestation("primary", True)}]
    attested = fencing_facts(down, apps)
    assert attested["fenced"] is True and "his" in attested["how"]
    weak = [{"name": "his", "attestation": attestation("primary", False)}]
    assert fencing_facts(down, weak)["fenced"] is False
    standby = [{"name": "his", "attestation": attestation("standby", True)}]
    assert fencing_facts(down, standby)["fenced"] is False


def test_source_scn_is_the_newest_scn_capture_read() -> None:
    status = {"state": "running", "threads": {"1": {"scn": 900}, "2": {"scn": 1200},
                                              "3": {"scn": None}},
              "safe_scn": 880, "final_scn": None, "last_published": {"commit_scn": 870}}
    facts = summarise_capture(status)
    assert facts["source_scn"] == 1200 and facts["safe_scn"] == 880
    fenced = summarise_capture({**status, "state": "fenced", "final_scn": 1201})
    assert fenced["source_scn"] == 1201 and fenced["final_scn"] == 1201
    assert summarise_capture({"state": "running", "threads": {}})["source_scn"] is None


def test_stream_scn_is_the_highest_scn_apply_saw_past_a_watermark() -> None:
    """apply's lag_scn = highest SCN seen - max(applied, watermark): a transaction at
    250 queued behind a watermark at 200 must not put the cut at 150."""
    status = {"state": "running", "schemas": {
        "HR": {"state": "running", "applied_scn": 100, "watermark_scn": 200, "lag_scn": 50},
        "FIN": {"state": "running", "applied_scn": 180, "watermark_scn": None, "lag_scn": 0},
        "NEW": {"state": "running", "applied_scn": None, "watermark_scn": 120, "lag_scn": 0},
    }}
    summary = summarise_apply(status)
    assert summary["stream_scn_max"] == 250
    assert summary["applied_scn_min"] == 100
