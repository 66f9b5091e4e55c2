"""A failover through all four real services, a drill of it, and an application
failover appha opens itself.

Every part is a real process (tests/support/sites.py): capture follows redo our writer
built from a seeded 2-thread workload, apply writes PostgreSQL, appha watches a cloud and
a local application server behind a front that an nginx-style upstream file steers, and
control drives the runbooks, with its peers reached through recorders that log every
mutating call and its operation id. The source database is already "shut down": every log
it wrote is archived and capture has read them all; none follows.

An operator requests through control's REST API, an approver reads the evidence and
confirms its digest; then control fences capture (its final watermark), drains apply to
that final SCN, stops it, runs the promotion hook on the DR PostgreSQL and has appha move
and verify traffic. The DR tables must then equal the source's, row by row.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from drcapture.synth.workload_build import build_workload

from tests.support.sites import APP, DrSite, until
from tests.support.state import postgres_state, source_state
from tests.support.workloads import random_workload

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

SEED = int(os.environ.get("DR_TEST_SEED", "20260131"))
OPERATOR, APPROVER = "olga.operator", "li.approver"
TERMINAL = ("succeeded", "failed", "step_failed", "aborted", "expired", "rejected",
            "cancelled")


@pytest.fixture
def site(tmp_path: Path, kafka_bootstrap: str, postgres_dsn: str,
         unique: str) -> Iterator[DrSite]:
    built = build_workload(random_workload(SEED, transactions=60, threads=2, switch_every=15))
    redo = tmp_path / "redo"
    built.write(redo)
    deployment = DrSite(tmp_path, kafka_bootstrap, postgres_dsn, unique, built, redo)
    try:
        deployment.start()
        yield deployment
    finally:
        codes = deployment.stop()
        print(codes)
        print(deployment.tails())  # shown when the test failed
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            for schema in (*deployment.schemas.values(), deployment.apply_schema):
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _replicating(site: DrSite) -> dict[str, Any]:
    """Wait until apply has applied everything capture published, and appha sees both
    sites up; capture's and apply's status then."""
    with site.peer("capture") as capture, site.peer("apply") as apply, \
            site.peer("appha") as appha:

        def caught_up() -> dict[str, Any] | None:
            cap = capture.get("/api/v1/status").json()
            app = apply.get("/api/v1/status").json()
            last = cap.get("last_published")
            schemas = app.get("schemas") or {}
            if (not last or set(schemas) != {"SI", "HIS"}
                    or not all(t["caught_up"] for t in cap["threads"].values())):
                return None
            applied = max(s["applied_scn"] or 0 for s in schemas.values())
            idle = all(s["queue_depth"] == 0 for s in schemas.values())
            return {"capture": cap, "apply": app} if idle and applied == last[
                "commit_scn"] else None

        def sites_up() -> bool:
            view = appha.get(f"/api/v1/apps/{APP}").json()
            return view["state"] == "healthy" and all(
                s["status"] == "up" for s in view["sites"].values())

        state = until(caught_up, "apply to apply what capture published", 60,
                      on_timeout=lambda: site.tails("capture", "apply"))
        until(sites_up, "appha to see both sites up", 30, on_timeout=lambda: site.tails("appha"))
        return state


def _request(site: DrSite, body: dict[str, Any]) -> str:
    with site.user(OPERATOR) as olga:
        etag = olga.get("/api/v1/sites").headers["ETag"]
        created = olga.post("/api/v1/operations", headers={"If-Match": etag}, json=body)
        assert created.status_code == 202, created.text
        return str(created.json()["id"])


def _approve(site: DrSite, op_id: str) -> dict[str, Any]:
    """The approver reads the evidence (every required check passes) and confirms it."""
    with site.user(APPROVER) as li:

        def evidence() -> dict[str, Any] | None:
            op: dict[str, Any] = li.get(f"/api/v1/operations/{op_id}").json()
            return op if op["state"] != "prechecking" else None

        op = until(evidence, "the evidence", 30, on_timeout=lambda: site.tails("control"))
        assert op["state"] == "awaiting_approval", op
        checks = op["evidence"]["checks"]
        failing = [c for c in checks if c["required"] and not c["ok"]]
        assert not failing, failing
        etag = li.get("/api/v1/sites").headers["ETag"]
        approved = li.post(f"/api/v1/operations/{op_id}/approvals", headers={"If-Match": etag},
                           json={"evidence_digest": op["evidence_digest"],
                                 "accepted_loss": {"max_seconds": 30, "max_transactions": 0},
                                 "comment": "evidence read; nothing to lose"})
        assert approved.status_code == 200, approved.text
        return op


def _finished(site: DrSite, op_id: str, timeout: float = 90) -> dict[str, Any]:
    with site.user(OPERATOR) as olga:

        def ended() -> dict[str, Any] | None:
            op: dict[str, Any] = olga.get(f"/api/v1/operations/{op_id}").json()
            return op if op["state"] in TERMINAL else None

        op = until(ended, f"operation {op_id} to end", timeout, 0.2,
                   on_timeout=lambda: site.tails("control"))
        if op["state"] != "succeeded":
            execution = olga.get(f"/api/v1/executions/{op_id}").json()
            raise AssertionError(f"{op['state']}: {op.get('outcome')}\n{execution}\n"
                                 + site.tails())
        report: dict[str, Any] = olga.get(f"/api/v1/operations/{op_id}/report").json()
        return report


def _promotions(site: DrSite) -> int:
    with psycopg.connect(site.postgres_dsn) as conn:
        row = conn.execute(f"SELECT count(*) FROM {site.promotion_table}").fetchone()
        return int(row[0]) if row else -1


def _audit_ok(site: DrSite) -> None:
    """Control's audit chain verifies, on the client and on the storage; and no peer
    received a mutating call without an operation id."""
    assert not site.mutating_calls(None)
    by_client = site.drctl(APPROVER, "audit", "verify")
    assert by_client.returncode == 0, by_client.stdout + by_client.stderr
    on_storage = site.drcontrol("audit", "verify")
    assert on_storage.returncode == 0, on_storage.stdout + on_storage.stderr


def test_failover_through_all_four_services(site: DrSite) -> None:
    before = _replicating(site)
    published_before = before["capture"]["transactions_published"]
    assert site.front_says() == "OK site=cloud"

    op_id = _request(site, {"type": "failover", "reason": "home site lost (e2e)"})
    _approve(site, op_id)
    report = _finished(site, op_id)

    # The report: success, traffic verified, nothing lost.
    assert report["outcome"]["state"] == "succeeded"
    assert report["traffic"]["verified"] is True and report["traffic"]["simulated"] is False
    rpo = report["rpo"]
    final = site.built.expected[-1].commit_scn
    assert rpo["cut_source"] == "fence" and rpo["cut_scn"] >= final, rpo
    assert rpo["scn_gap"] == 0 and rpo["transactions_not_applied"] == 0, rpo
    assert rpo["seconds"] == 0 and rpo["zero_data_loss"] is True, rpo
    assert all(s["state"] == "succeeded" for s in report["steps"]), report["steps"]

    # The fence published what capture had held back; apply drained to it and stopped.
    with site.peer("capture") as capture, site.peer("apply") as apply:
        cap = capture.get("/api/v1/status").json()
        app = apply.get("/api/v1/status").json()
    assert cap["state"] == "fenced" and cap["final_scn"] == rpo["cut_scn"], cap
    assert cap["transactions_published"] >= published_before, cap
    assert app["state"] == "stopped", app

    # The DR database is the source, row by row; the promotion hook ran once.
    assert postgres_state(site.postgres_dsn, site.schemas) == source_state(site.built)
    assert _promotions(site) == 1
    with psycopg.connect(site.postgres_dsn) as conn:
        person = f"{site.schemas['SI']}.person"
        row = conn.execute(f"SELECT nextval('{person}_seq'), (SELECT max(id) FROM {person})"
                           ).fetchone()
    assert row is not None and row[0] > row[1], "sequence resynchronised past the data"

    # Traffic: the public URL answers from the local (standby) servers.
    assert site.front_says() == "OK site=local"
    with site.peer("appha") as appha:
        view = appha.get(f"/api/v1/apps/{APP}").json()
    assert view["active_site"] == "standby", view
    with site.user(OPERATOR) as olga:
        sites = olga.get("/api/v1/sites").json()
        assert sites["database_primary"] == "standby", sites

        def moved() -> bool:  # a watcher poll in flight may lag one interval
            return bool(olga.get("/api/v1/sites").json()["apps"].get(APP) == "standby")

        until(moved, "the site group to show the app on the standby", 10)

        def reported() -> bool:
            found = olga.get("/api/v1/audit", params={"actor": "appha",
                                                      "action": "peer.switch_succeeded"})
            return bool(found.json())

        until(reported, "appha's report of the switch in control's audit", 10)

    # Each mutating call reached its peer once for this operation, and only these.
    assert site.mutating_calls(op_id) == {
        "capture POST /api/v1/fence": 1,
        "apply POST /api/v1/hold": 1,
        "apply POST /api/v1/stop": 1,
        f"appha POST /api/v1/apps/{APP}/switch": 1,
    }
    _audit_ok(site)


def test_failover_with_capture_gone_cuts_at_the_stream_end(site: DrSite) -> None:
    """The home site is gone with its capture: the fence is skipped (unreachable), apply
    is drained to the highest SCN in the stream, and the report does not claim zero loss
    it cannot prove; the DR copy is still exactly what capture had published."""
    _replicating(site)
    capture = site.procs["capture"]
    assert capture.proc is not None
    capture.proc.kill()
    capture.proc.wait(10)

    op_id = _request(site, {"type": "failover", "reason": "home site lost with capture"})
    op = _approve(site, op_id)
    assert op["evidence"]["facts"]["capture"]["reachable"] is False
    report = _finished(site, op_id)

    steps = {s["id"]: s["state"] for s in report["steps"]}
    assert steps["fence_source"] == "skipped", steps
    rpo = report["rpo"]
    assert rpo["cut_source"] == "stream" and rpo["zero_data_loss"] is False, rpo
    assert rpo["cut_scn"] >= site.built.expected[-1].commit_scn, rpo
    assert postgres_state(site.postgres_dsn, site.schemas) == source_state(site.built)
    assert _promotions(site) == 1 and site.front_says() == "OK site=local"
    assert site.mutating_calls(op_id) == {
        "apply POST /api/v1/hold": 1,
        "apply POST /api/v1/stop": 1,
        f"appha POST /api/v1/apps/{APP}/switch": 1,
    }
    _audit_ok(site)


def test_drill_changes_nothing_users_see_and_resumes_apply(site: DrSite) -> None:
    before = _replicating(site)
    published = before["capture"]["transactions_published"]

    # This time through drctl, as people at the console would: request (waits for the
    # evidence), read it, confirm what was shown and wait for the end, print the report.
    requested = site.drctl(OPERATOR, "--json", "drill", "request", "--of", "failover",
                           "-r", "quarterly drill")
    assert requested.returncode == 0, requested.stdout + requested.stderr
    op_id = json.loads(requested.stdout)["id"]
    shown = site.drctl(APPROVER, "drill", "show", op_id)
    assert shown.returncode == 0 and op_id in shown.stdout, shown.stdout + shown.stderr
    assert "evidence digest: " in shown.stdout and "source SCN None" not in shown.stdout, \
        shown.stdout
    approved = site.drctl(APPROVER, "drill", "approve", op_id, "--accept-seconds", "30",
                          "-m", "drill evidence read", "--yes", "--wait", "--timeout", "90")
    assert approved.returncode == 0, approved.stdout + approved.stderr + site.tails("control")
    html = site.tmp / "drill-report.html"
    printed = site.drctl(OPERATOR, "drill", "report", op_id, "--html", str(html))
    assert printed.returncode == 0 and "succeeded" in printed.stdout, printed.stdout
    assert op_id in html.read_text(encoding="utf-8")
    report = _finished(site, op_id)

    assert report["outcome"]["state"] == "succeeded"
    assert report["operation"]["drill"] is True
    assert report["traffic"]["simulated"] is True
    rpo = report["rpo"]
    assert rpo["cut_source"] == "stream", rpo
    steps = {s["id"]: s["state"] for s in report["steps"]}
    assert steps["fence_source"] == "skipped" and steps["stop_apply"] == "skipped", steps
    assert steps["resume_apply"] == "succeeded", steps

    # Nothing users see changed: traffic on the cloud, capture running, no promotion.
    assert site.front_says() == "OK site=cloud"
    with site.peer("capture") as capture, site.peer("apply") as apply, \
            site.peer("appha") as appha:
        cap = capture.get("/api/v1/status").json()
        app = apply.get("/api/v1/status").json()
        view = appha.get(f"/api/v1/apps/{APP}").json()
    assert cap["state"] == "running" and cap["final_scn"] is None, cap
    assert view["active_site"] == "primary", view
    assert _promotions(site) == 0
    # Apply drained to the cut and resumed.
    assert app["state"] == "running", app
    assert all(s["state"] == "running" and s["hold_at_scn"] is None
               for s in app["schemas"].values()), app
    assert cap["transactions_published"] == published
    expected = source_state(site.built, upto_scn=rpo["cut_scn"])
    assert postgres_state(site.postgres_dsn, site.schemas) == expected

    assert site.mutating_calls(op_id) == {"apply POST /api/v1/hold": 1,
                                          "apply POST /api/v1/resume": 1}
    _audit_ok(site)


def test_app_failover_opened_by_appha_and_confirmed_in_control(site: DrSite) -> None:
    """The cloud application dies: appha observes it (nothing is fenced before a person
    decides) and opens a request in control; the approver confirms; control has appha
    switch, which fences the cloud as its first act on it; traffic verified."""
    _replicating(site)
    site.procs["cloud"].stop()
    with site.user(APPROVER) as li:

        def requested() -> str | None:
            ops = li.get("/api/v1/operations", params={"type": "app_failover"}).json()
            return str(ops[0]["id"]) if ops else None

        op_id = until(requested, "appha's request in control", 30,
                      on_timeout=lambda: site.tails("appha", "control"))
    op = _approve(site, op_id)
    assert op["requested_by"] == "appha" and op["app"] == APP, op
    requester = op["evidence"]["facts"]["requester_evidence"]
    assert requester["direction"] == "switch", requester
    assert requester["attestation"]["kind"] == "observation", requester
    assert requester["attestation"]["fence"]["ok"] is False, requester  # not fenced yet
    report = _finished(site, op_id)
    assert report["fencing"]["apps"][APP]["sufficient"] is True, report["fencing"]

    assert report["traffic"]["verified"] is True, report
    assert site.front_says() == "OK site=local"
    with site.peer("appha") as appha:
        view = appha.get(f"/api/v1/apps/{APP}").json()
    assert view["active_site"] == "standby" and view["state"] == "on_standby", view
    assert site.mutating_calls(op_id) == {f"appha POST /api/v1/apps/{APP}/switch": 1}
    _audit_ok(site)
