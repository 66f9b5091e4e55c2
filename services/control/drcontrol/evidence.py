"""Gathering the pre-checks' evidence: ask every peer at once, keep what each said.

Every fact records when it was measured and by whom; the digest over the whole document
is what an approver confirms (:func:`evidence_digest`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from drcontrol.canonical import digest
from drcontrol.errors import PeerError
from drcontrol.model import Evidence, Operation, OpType
from drcontrol.peers.base import Peers
from drcontrol.prechecks import CheckContext, estimate_loss, evaluate
from drcontrol.sitegroup import SiteGroup

T = TypeVar("T")
Clock = Callable[[], float]


def evidence_digest(evidence: Evidence) -> str:
    """sha256 of the canonical JSON of the evidence: what an approval is bound to."""
    return digest(evidence.model_dump(mode="json"))


def summarise_verification(verification: dict[str, Any],
                           schemas: dict[str, Any]) -> dict[str, Any]:
    """Apply's latest comparison of the DR copy with the source, per schema (its
    ``verification``), folded into what an approver reads: which schemas were verified,
    at which SCN, how long ago, what was found; and the schemas apply runs that were not
    verified at all."""
    verified = {name: v for name, v in verification.items() if isinstance(v, dict)}
    ages = [float(v["oldest_age_seconds"]) for v in verified.values()
            if v.get("oldest_age_seconds") is not None]
    scns = [int(v["scn"]) for v in verified.values() if v.get("scn") is not None]
    return {
        "verified_schemas": sorted(verified),
        "unverified_schemas": sorted(set(schemas) - set(verified)),
        "differences": sum(int(v.get("differences") or 0) for v in verified.values()),
        "tables_differing": sorted(t for v in verified.values()
                                   for t in v.get("tables_differing") or []),
        "stale_schemas": sorted(n for n, v in verified.items() if v.get("stale")),
        "oldest_age_seconds": max(ages) if ages else None,
        "scn_min": min(scns) if scns else None,
        "scn_max": max(scns) if scns else None,
        "per_schema": verified,
    }


def summarise_apply(status: dict[str, Any]) -> dict[str, Any]:
    """The figures an approver needs from apply's status, plus the raw schemas."""
    schemas: dict[str, dict[str, Any]] = status.get("schemas") or {}

    def values(key: str) -> list[float]:
        return [float(s[key]) for s in schemas.values() if s.get(key) is not None]

    lags = values("lag_seconds")
    applied = [int(v) for v in values("applied_scn")]
    # apply's lag_scn counts from what is done: the applied SCN or, when higher, the last
    # watermark; their sum is the highest SCN seen on the topic.
    stream = [max(int(s.get("applied_scn") or 0), int(s.get("watermark_scn") or 0))
              + int(s.get("lag_scn") or 0)
              for s in schemas.values()
              if s.get("applied_scn") is not None or s.get("watermark_scn") is not None]
    return {
        "state": status.get("state"),
        "apply_measured_at": status.get("measured_at"),
        "lag_seconds_max": max(lags) if lags else None,
        "applied_scn_min": min(applied) if applied else None,
        "applied_scn_max": max(applied) if applied else None,
        "stream_scn_max": max(stream) if stream else None,
        "queue_depth": int(sum(values("queue_depth"))),
        "parked": int(sum(values("parked"))),
        "schemas_in_error": sorted(n for n, s in schemas.items() if s.get("state") == "error"),
        "schemas": schemas,
        "verification": summarise_verification(status.get("verification") or {}, schemas),
    }


def summarise_capture(status: dict[str, Any]) -> dict[str, Any]:
    """The figures an approver needs from capture's status. The source SCN is the newest
    SCN capture has read from the source's redo (the highest of its threads; after a
    fence, the final SCN), the best knowledge of where the source stopped."""
    threads: dict[str, dict[str, Any]] = status.get("threads") or {}
    read = [int(t["scn"]) for t in threads.values() if t.get("scn") is not None]
    if status.get("final_scn") is not None:
        read.append(int(status["final_scn"]))
    return {
        "state": status.get("state"), "error_reported": status.get("error"),
        "source_scn": max(read) if read else None, "safe_scn": status.get("safe_scn"),
        "final_scn": status.get("final_scn"), "lag_seconds": status.get("lag_seconds"),
        "last_published": status.get("last_published"),
    }


def fencing_facts(capture: dict[str, Any], apps: list[dict[str, Any]]) -> dict[str, Any]:
    """Whether the old primary is known to be fenced: capture fenced or stopped, or an
    appha attestation that the home site (``primary``) no longer serves and that it holds
    enough signals (``sufficient``: fence succeeded, no vantage point sees it serving)."""
    attestations = {a["name"]: a["attestation"] for a in apps if a.get("attestation")}
    attested = [name for name, att in attestations.items()
                if isinstance(att, dict) and att.get("site") == "primary"
                and att.get("sufficient") is True]
    if capture.get("reachable") and capture.get("state") == "fenced":
        return {"fenced": True, "how": f"capture fenced at SCN {capture.get('final_scn')}",
                "attestations": attestations}
    if capture.get("reachable") and capture.get("state") == "stopped":
        return {"fenced": True, "how": "capture stopped (source quiesced)",
                "attestations": attestations}
    if attested:
        return {"fenced": True, "how": f"appha attestation for {', '.join(attested)}",
                "attestations": attestations}
    return {"fenced": False, "how": None, "attestations": attestations}


@dataclass(frozen=True, slots=True)
class CollectorOptions:
    """Who is collecting and what the checks are judged against."""

    collected_by: str
    dr_database_configured: bool
    rpo_seconds: float
    # runbook -> how long its apps_switch step waits for appha (timeout of one attempt)
    switch_step_seconds: dict[str, float] = field(default_factory=dict)


class EvidenceCollector:
    """Asks the peers in parallel and judges the answers."""

    def __init__(self, peers: Peers, site_group: SiteGroup, options: CollectorOptions,
                 clock: Clock) -> None:
        self._peers = peers
        self._site_group = site_group
        self._options = options
        self._clock = clock

    async def _ask(self, where: str | None, call: Callable[[], Awaitable[T]] | None,
                   ) -> tuple[T | None, dict[str, Any]]:
        meta: dict[str, Any] = {"measured_at": self._clock(), "measured_by": where}
        if call is None:
            return None, {**meta, "reachable": False, "error": "not configured"}
        try:
            result = await call()
        except PeerError as exc:
            return None, {**meta, "reachable": False, "error": exc.message}
        return result, {**meta, "measured_at": self._clock(), "reachable": True}

    async def facts(self, runbook: str) -> dict[str, Any]:
        """What every peer says right now."""
        peers = self._peers
        back = runbook == "switchback"
        capture = peers.reverse_capture if back else peers.capture
        apply = peers.reverse_apply if back else peers.apply
        (cap, cap_meta), (app, app_meta), (apps, ha_meta), (kafka, k_meta), (db, db_meta) = (
            await asyncio.gather(
                self._ask(capture.where if capture else None, capture.status if capture else None),
                self._ask(apply.where if apply else None, apply.status if apply else None),
                self._ask(peers.appha.where if peers.appha else None,
                          peers.appha.apps if peers.appha else None),
                self._ask(peers.kafka.where if peers.kafka else None,
                          peers.kafka.probe if peers.kafka else None),
                self._ask(peers.database.where if peers.database else None,
                          peers.database.ping if peers.database else None),
            )
        )
        capture_facts = {**cap_meta, **(summarise_capture(cap) if cap else {})}
        app_list = apps or []
        view = await self._site_group.read()
        return {
            "capture": capture_facts,
            "apply": {**app_meta, **(summarise_apply(app) if app else {})},
            "appha": {**ha_meta, "apps": [
                {k: a.get(k) for k in ("name", "mode", "state", "active_site", "maintenance",
                                       "blocked", "attestation", "budget")}
                for a in app_list]},
            "kafka": {**k_meta, **(kafka or {})},
            "dr_database": {**db_meta, **(db or {})},
            "fencing": fencing_facts(capture_facts, app_list),
            "site_group": {"database_primary": view.state.database_primary,
                           "primary_since": view.state.primary_since,
                           "replication": view.state.replication, "etag": view.etag},
        }

    async def collect(self, op: Operation) -> Evidence:
        """The evidence for ``op``: facts, the checks its type needs, the loss estimate."""
        facts = await self.facts(op.runbook)
        if op.type is OpType.APP_FAILOVER and op.requester_evidence:
            facts["requester_evidence"] = op.requester_evidence
        context = CheckContext(
            op_type=op.type, runbook=op.runbook, app=op.app,
            dr_database_configured=self._options.dr_database_configured,
            rpo_seconds=self._options.rpo_seconds,
            switch_step_seconds=self._options.switch_step_seconds.get(op.runbook),
        )
        return Evidence(
            collected_at=self._clock(),
            collected_by=self._options.collected_by,
            facts=facts,
            checks=evaluate(facts, context),
            loss=estimate_loss(facts, op.runbook, self._clock()),
        )
