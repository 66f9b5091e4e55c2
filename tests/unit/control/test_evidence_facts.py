"""What control reads from its peers' status documents (docs/INTERFACES.md)."""

from __future__ import annotations

from drcontrol.evidence import fencing_facts


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
