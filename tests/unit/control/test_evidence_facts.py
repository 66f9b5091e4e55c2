"""What control reads from its peers' status documents (docs/INTERFACES.md)."""

from __future__ import annotations

from drcontrol.evidence import fencing_facts, summarise_capture


def test_a_fenced_capture_proves_the_old_primary_fenced() -> None:
    fenced = fencing_facts({"reachable": True, "state": "fenced", "final_scn": 42}, [])
    assert fenced["fenced"] is True and "42" in fenced["how"]
    stopped = fencing_facts({"reachable": True, "state": "stopped"}, [])
    assert stopped["fenced"] is True
    running = fencing_facts({"reachable": True, "state": "running"}, [])
    assert running["fenced"] is False
    attested = fencing_facts({"reachable": False}, [{"name": "his",
                                                     "attestation": {"fenced": True}}])
    assert attested["fenced"] is True and "his" in attested["how"]


def test_source_scn_is_the_newest_scn_capture_read() -> None:
    status = {"state": "running", "threads": {"1": {"scn": 900}, "2": {"scn": 1200},
                                              "3": {"scn": None}},
              "safe_scn": 880, "final_scn": None, "last_published": {"commit_scn": 870}}
    facts = summarise_capture(status)
    assert facts["source_scn"] == 1200 and facts["safe_scn"] == 880
    fenced = summarise_capture({**status, "state": "fenced", "final_scn": 1201})
    assert fenced["source_scn"] == 1201 and fenced["final_scn"] == 1201
    assert summarise_capture({"state": "running", "threads": {}})["source_scn"] is None
