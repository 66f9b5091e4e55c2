"""RTO drill (not a test): a failover and a planned switchover through the four real
services, timed from the approver's confirmation to "DR database open for writes and
applications switched and verified", step by step, beside the worst case the shipped
runbooks promise (``drcontrol budget``).

    .venv/bin/python -m bench.rto.run --json out.json

From the repo root, after ``scripts/setup.sh``. The site is the e2e drills' own
(``tests/support/sites.DrSite``, as ``tests/e2e/test_failover_all_services.py`` builds
it): ``drcapture run`` following the archived redo of a seeded 2-thread workload (the
source already shut down, every log read), real Kafka, ``drapply run`` into PostgreSQL,
``drappha run`` steering an nginx-style upstream file in front of two application
servers, and ``drcontrol run`` with the shipped runbooks and step timeouts (the site's
engine polls every 0.2 s). **The application servers and the front are stand-ins**
(``tests/support/tinyweb``: a page answering ``OK site=…`` and a proxy reading the
upstream file); everything else is the product. Each operation gets a fresh site.

The broker and PostgreSQL come from ``KAFKA_BOOTSTRAP_SERVERS`` /
``DR_TEST_POSTGRES_DSN``, else the local stack (``DR_STACK_*``), as bench/pipeline.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from drcapture.synth.workload_build import build_workload

from bench.pipeline.lgwr import redo_header
from bench.pipeline.pack import BLOCK
from bench.pipeline.run import stack
from tests.support.sites import APP, BIN, DrSite, clean_env, until, write_toml
from tests.support.state import postgres_state, source_state
from tests.support.workloads import random_workload

OPERATOR, APPROVER = "olga.operator", "li.approver"
TERMINAL = ("succeeded", "failed", "step_failed", "aborted", "expired", "rejected",
            "cancelled")
SEED = 20260131


class OnlineSite(DrSite):
    """The e2e site with each thread's last log still online (not archived): the source
    database stopped for a planned switchover, its current logs read to their written
    end, as zero data loss requires (capture refuses it on archived logs alone)."""

    def move_last_logs_online(self) -> None:
        online = self.tmp / "online"
        online.mkdir()
        for thread in sorted({log.thread for log in self.built.logs}):
            last = self.built.logs_of(thread)[-1]
            data = (self.redo_dir / last.name).read_bytes()
            opened = redo_header(data[BLOCK : 2 * BLOCK], time.time(), None)
            (online / f"redo_t{thread}_g1.log").write_bytes(
                data[:BLOCK] + opened + data[2 * BLOCK :])
            (online / f"redo_t{thread}_g2.log").write_bytes(bytes(len(data)))
            (self.redo_dir / last.name).unlink()

    def capture_config(self) -> Path:
        path = super().capture_config()
        if not (self.tmp / "online").exists():
            return path
        config = tomllib.loads(path.read_text())
        config["source"]["threads"] = [
            {"thread": t, "online_logs": [str(self.tmp / "online" / f"redo_t{t}_g{g}.log")
                                          for g in (1, 2)]}
            for t in sorted({log.thread for log in self.built.logs})]
        return write_toml(path, config)


def _replicating(site: DrSite) -> None:
    """Apply has applied all capture published; appha sees both sites up."""
    with site.peer("capture") as capture, site.peer("apply") as apply, \
            site.peer("appha") as appha:

        def caught_up() -> bool:
            cap = capture.get("/api/v1/status").json()
            app = apply.get("/api/v1/status").json()
            last = cap.get("last_published")
            schemas = app.get("schemas") or {}
            if not last or set(schemas) != {"SI", "HIS"}:
                return False
            applied = max(s["applied_scn"] or 0 for s in schemas.values())
            return bool(applied == last["commit_scn"]
                        and all(s["queue_depth"] == 0 for s in schemas.values()))

        def sites_up() -> bool:
            view = appha.get(f"/api/v1/apps/{APP}").json()
            return bool(view["state"] == "healthy"
                        and all(s["status"] == "up" for s in view["sites"].values()))

        until(caught_up, "apply to apply what capture published", 90,
              on_timeout=lambda: site.tails("capture", "apply"))
        until(sites_up, "appha to see both sites up", 60, on_timeout=lambda: site.tails("appha"))


def _operate(site: DrSite, kind: str) -> tuple[dict[str, Any], float, float]:
    """Request ``kind``, confirm its evidence, wait for the end: (report, wall-clock
    moment the confirmation was sent, first moment the public URL answered from DR)."""
    with site.user(OPERATOR) as olga:
        etag = olga.get("/api/v1/sites").headers["ETag"]
        created = olga.post("/api/v1/operations", headers={"If-Match": etag},
                            json={"type": kind, "reason": f"RTO bench: {kind}"})
        if created.status_code != 202:
            raise RuntimeError(f"request refused: {created.status_code} {created.text}")
        op_id = str(created.json()["id"])
    with site.user(APPROVER) as li:

        def evidence() -> dict[str, Any] | None:
            op: dict[str, Any] = li.get(f"/api/v1/operations/{op_id}").json()
            return op if op["state"] != "prechecking" else None

        op = until(evidence, "the evidence", 60, on_timeout=lambda: site.tails("control"))
        failing = [c for c in op["evidence"]["checks"] if c["required"] and not c["ok"]]
        if op["state"] != "awaiting_approval" or failing:
            raise RuntimeError(f"not approvable: {op['state']} {failing}")
        etag = li.get("/api/v1/sites").headers["ETag"]
        confirmed = time.time()
        approved = li.post(f"/api/v1/operations/{op_id}/approvals", headers={"If-Match": etag},
                           json={"evidence_digest": op["evidence_digest"],
                                 "accepted_loss": {"max_seconds": 30, "max_transactions": 0},
                                 "comment": "RTO bench: evidence read"})
        if approved.status_code != 200:
            raise RuntimeError(f"approval refused: {approved.status_code} {approved.text}")

    served: float | None = None
    with site.user(OPERATOR) as olga:

        def ended() -> dict[str, Any] | None:
            nonlocal served
            if served is None and _front(site) == "OK site=local":
                served = time.time()
            state: dict[str, Any] = olga.get(f"/api/v1/operations/{op_id}").json()
            return state if state["state"] in TERMINAL else None

        final = until(ended, f"operation {op_id} to end", 900, 0.05,
                      on_timeout=lambda: site.tails("control"))
        if final["state"] != "succeeded":
            raise RuntimeError(f"{final['state']}: {final.get('outcome')}\n"
                               + json.dumps(olga.get(f"/api/v1/executions/{op_id}").json()))
        report: dict[str, Any] = olga.get(f"/api/v1/operations/{op_id}/report").json()
    return report, confirmed, served if served is not None else time.time()


def _front(site: DrSite) -> str | None:
    try:
        return site.front_says()
    except httpx.HTTPError:
        return None


def _promoted(site: DrSite) -> bool:
    """The DR tables equal the source's and the promotion hook wrote (open for writes)."""
    with psycopg.connect(site.postgres_dsn) as conn:
        row = conn.execute(f"SELECT count(*) FROM {site.promotion_table}").fetchone()
    return bool(row and row[0] == 1
                and postgres_state(site.postgres_dsn, site.schemas) == source_state(site.built))


def _budget(kind: str) -> dict[str, Any]:
    """What ``drcontrol budget`` promises for the runbook with the shipped settings."""
    done = subprocess.run([str(BIN / "drcontrol"), "budget", "--json"], env=clean_env(),
                          capture_output=True, text=True, timeout=60, check=False)
    if done.returncode not in (0, 2):
        raise RuntimeError(done.stdout + done.stderr)
    book: dict[str, Any] = json.loads(done.stdout)["runbooks"][kind]
    return {"seconds": book["seconds"],
            "steps": {s["id"]: s["seconds"] for s in book["steps"]}}


def drill(kind: str, kafka: str, dsn: str, scratch: Path) -> dict[str, Any]:
    """One operation on a fresh site; its timings."""
    unique = uuid.uuid4().hex[:8]
    tmp = scratch / f"{kind}-{unique}"
    tmp.mkdir(parents=True)
    built = build_workload(random_workload(SEED, transactions=60, threads=2, switch_every=15))
    redo = tmp / "redo"
    built.write(redo)
    site = OnlineSite(tmp, kafka, dsn, unique, built, redo)
    if kind == "switchover":
        site.move_last_logs_online()
    try:
        started = time.time()
        site.start()
        _replicating(site)
        ready = time.time()
        report, confirmed, served = _operate(site, kind)
        rto = report["rto"]
        return {
            "operation": kind,
            "site_start_seconds": round(ready - started, 2),
            "rto_report_seconds": round(rto["seconds"], 3),
            "confirmation_sent_to_dr_serving_seconds": round(served - confirmed, 3),
            "steps": [{"id": s["id"], "state": s["state"], "attempts": s["attempts"],
                       "seconds": None if s["seconds"] is None else round(s["seconds"], 3),
                       "started_after_confirmation": None if s["started_at"] is None
                       else round(s["started_at"] - rto["confirmed_at"], 3)}
                      for s in report["steps"]],
            "confirmed_to_first_step_seconds": round(
                report["steps"][0]["started_at"] - rto["confirmed_at"], 3),
            "rpo": report["rpo"],
            "dr_equal_and_promoted": _promoted(site),
            "budget": _budget(kind),
        }
    finally:
        site.stop()
        with psycopg.connect(dsn, autocommit=True) as conn:
            for schema in (*site.schemas.values(), site.apply_schema):
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def report_lines(result: dict[str, Any]) -> str:
    """One block per operation: RTO, steps beside their budget."""
    lines = []
    for run in result["runs"]:
        budget = run["budget"]
        lines.append(f"{run['operation']}: RTO {run['rto_report_seconds']:.2f} s (control's "
                     f"report, confirmation -> traffic verified; the public URL answered "
                     f"from DR {run['confirmation_sent_to_dr_serving_seconds']:.2f} s after "
                     f"the confirmation was sent); budget {budget['seconds']:.0f} s; "
                     f"DR equal and promoted: {run['dr_equal_and_promoted']}")
        lines.append(f"  confirmation -> first step {run['confirmed_to_first_step_seconds']} s")
        for step in run["steps"]:
            took = "-" if step["seconds"] is None else f"{step['seconds']:.2f} s"
            lines.append(f"  {step['id']:<18} {step['state']:<10} at "
                         f"{step['started_after_confirmation']} s, took {took:>9} "
                         f"({step['attempts']} attempt(s)); budget "
                         f"{budget['steps'].get(step['id'], '-')} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--operations", nargs="+", default=["failover", "switchover"],
                        choices=["failover", "switchover"])
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args(argv)
    where = stack(None)
    result: dict[str, Any] = {
        "at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPU {platform.machine()}, Python "
                   f"{platform.python_version()}",
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="rto-bench-") as scratch:
        for kind in args.operations:
            result["runs"].append(drill(kind, where.bootstrap, where.dsn, Path(scratch)))
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(report_lines(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0 if all(r["dr_equal_and_promoted"] for r in result["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
