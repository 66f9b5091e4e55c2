"""The operation report: RPO (source SCN known vs applied, transactions not applied), RTO
(confirmation to traffic verified) and per-step timings, as JSON and printable HTML."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from drcontrol.model import Operation, OpState, StepRecord, StepState


def _by_kind(steps: list[StepRecord], kind: str) -> dict[str, Any]:
    for step in steps:
        if step.kind == kind and step.state in (StepState.SUCCEEDED, StepState.SIMULATED):
            return dict(step.output)
    return {}


def _rpo(steps: list[StepRecord]) -> dict[str, Any]:
    recheck = _by_kind(steps, "precheck")
    fence = _by_kind(steps, "capture_fence")
    hold = _by_kind(steps, "apply_hold")
    drained = _by_kind(steps, "apply_wait_holding")
    loss = recheck.get("loss") or {}
    cut = hold.get("hold_scn")
    known_values = [v for v in (fence.get("final_scn"), loss.get("source_scn"), cut)
                    if v is not None]
    known = max(known_values) if known_values else None
    parked = drained.get("parked", loss.get("transactions"))
    queued = drained.get("queue_depth", 0) or 0
    not_applied = None if parked is None else int(parked) + int(queued)
    gap = None if known is None or cut is None else max(0, int(known) - int(cut))
    by_fence = hold.get("cut_source") == "fence"
    seconds = 0.0 if by_fence else loss.get("seconds")
    return {
        "source_scn_known": known,
        "cut_scn": cut,
        "cut_source": hold.get("cut_source"),
        "applied_scn_min": drained.get("applied_scn_min"),
        "applied_scn_max": drained.get("applied_scn_max"),
        "scn_gap": gap,
        "transactions_not_applied": not_applied,
        "seconds": seconds,
        "zero_data_loss": bool(by_fence and gap == 0 and not_applied == 0),
    }


def _step_rows(steps: list[StepRecord]) -> list[dict[str, Any]]:
    rows = []
    for step in steps:
        seconds = (step.finished_at - step.started_at
                   if step.finished_at is not None and step.started_at is not None else None)
        rows.append({"index": step.index, "id": step.id, "kind": step.kind, "title": step.title,
                     "state": step.state.value, "attempts": step.attempts,
                     "started_at": step.started_at, "finished_at": step.finished_at,
                     "seconds": seconds, "note": step.note, "error": step.error})
    return rows


INSUFFICIENT = "fencing attestation insufficient"


def _fencing(op: Operation, steps: list[StepRecord]) -> dict[str, Any]:
    """How the sites traffic left were fenced, and any risk a person accepted."""
    switch = _by_kind(steps, "apps_switch")
    stopped = any(s.kind == "apps_switch" and s.state is StepState.FAILED
                  and INSUFFICIENT in (s.error or "") for s in steps)
    checks = (_by_kind(steps, "precheck").get("evidence") or {}).get("checks") or []
    database = next((c.get("ok") for c in checks if c.get("name") == "old_primary_fenced"), None)
    if _by_kind(steps, "capture_fence").get("final_scn") is not None:
        database = True  # the run's own fence step quiesced the source
    accepted = op.split_brain_accepted
    return {
        "apps": {a: r.get("fencing") if isinstance(r, dict) else None  # drill: a state
                 for a, r in (switch.get("apps") or {}).items()},
        "insufficient": switch.get("fencing_insufficient") or [],
        "stopped_on_insufficient": stopped,
        "split_brain_accepted": accepted.model_dump(mode="json") if accepted else None,
        "old_primary_database_fenced": database,
    }


def headline(op: Operation, fencing: dict[str, Any]) -> str:
    """The report's first line: the outcome and every risk that came with it."""
    parts = [f"{op.state.value.upper()}: {op.outcome or op.state.value}"]
    accepted = op.split_brain_accepted
    if fencing["insufficient"]:
        parts.append(
            f"WARNING: traffic moved although fencing of the old site was insufficient for "
            f"{', '.join(fencing['insufficient'])}; possible split brain accepted by "
            f"{accepted.user if accepted else 'nobody'}")
    elif fencing["stopped_on_insufficient"] and op.state is not OpState.SUCCEEDED:
        parts.append("traffic not moved: the old site's fencing attestation was insufficient")
    db_switch = (op.drill_of or op.type).value in ("failover", "switchover")
    if db_switch and not op.is_drill and fencing["old_primary_database_fenced"] is False:
        parts.append("WARNING: no proof the old primary database was fenced")
    return " — ".join(parts)


def build_report(op: Operation, steps: list[StepRecord], *, now: float,
                 rto_target: float) -> dict[str, Any]:
    """Everything an auditor needs about one run."""
    switch = _by_kind(steps, "apps_switch")
    verified = bool(switch.get("verified")) or bool(switch.get("simulated") and op.is_drill)
    restored_at = switch.get("verified_at") or (
        op.finished_at if op.state is OpState.SUCCEEDED else None)
    if restored_at is None and op.is_drill and op.state is OpState.SUCCEEDED:
        restored_at = now
    rto = (restored_at - op.confirmed_at
           if restored_at is not None and op.confirmed_at is not None else None)
    fencing = _fencing(op, steps)
    return {
        "headline": headline(op, fencing),
        "operation": {
            "id": op.id, "type": op.type.value, "runbook": op.runbook, "drill": op.is_drill,
            "app": op.app, "reason": op.reason, "requested_by": op.requested_by,
            "requested_at": op.requested_at,
            "approvals": [a.model_dump(mode="json") for a in op.approvals],
            "break_glass": op.break_glass.model_dump(mode="json") if op.break_glass else None,
            "review_required": op.review_required,
            "evidence_digest": op.evidence_digest, "confirmed_at": op.confirmed_at,
            "started_at": op.started_at, "finished_at": op.finished_at,
        },
        "outcome": {"state": op.state.value, "reason": op.outcome},
        "traffic": {"verified": verified, "simulated": bool(switch.get("simulated")),
                    "apps": switch.get("apps", {})},
        "fencing": fencing,
        "rpo": _rpo(steps),
        "rto": {"seconds": rto, "confirmed_at": op.confirmed_at, "restored_at": restored_at,
                "target_seconds": rto_target,
                "within_target": None if rto is None else rto <= rto_target},
        "recheck_digest": _by_kind(steps, "precheck").get("digest"),
        "steps": _step_rows(steps),
        "generated_at": now,
    }


def _when(value: Any) -> str:
    if not isinstance(value, int | float):
        return "—"
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _num(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    return f"{value:.1f}{unit}" if isinstance(value, float) else f"{value}{unit}"


def render_html(report: dict[str, Any]) -> str:
    """A printable page (no scripts, no external resources)."""
    op, rpo, rto = report["operation"], report["rpo"], report["rto"]
    esc = html.escape
    rows = "".join(
        f"<tr><td>{s['index'] + 1}</td><td>{esc(s['id'])}</td><td>{esc(s['title'])}</td>"
        f"<td class='{esc(s['state'])}'>{esc(s['state'])}</td><td>{s['attempts']}</td>"
        f"<td>{_num(s['seconds'], ' s')}</td><td>{esc(s['note'] or s['error'] or '')}</td></tr>"
        for s in report["steps"]
    )
    approvals = "".join(
        f"<li>{esc(a['user'])} ({esc(a['role'])}) at {_when(a['at'])}"
        f"{' — BREAK-GLASS' if a['break_glass'] else ''}: accepts ≤ "
        f"{a['accepted_loss']['max_seconds']} s / {a['accepted_loss']['max_transactions']} tx"
        f"</li>" for a in op["approvals"])
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>Operation report {esc(op['id'])}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #999;padding:4px 8px}}.failed{{color:#b00}}.succeeded{{color:#070}}
@media print{{body{{margin:0}}}}</style></head><body>
<p class="headline"><b>{esc(report.get('headline') or '')}</b></p>
<h1>Operation report / 操作报告 — {esc(op['id'])}</h1>
<p><b>{esc(op['type'])}</b>{' (drill / 演练)' if op['drill'] else ''} — outcome:
<b>{esc(report['outcome']['state'])}</b> {esc(report['outcome']['reason'] or '')}</p>
<p>Requested by {esc(op['requested_by'])} at {_when(op['requested_at'])}; reason:
{esc(op['reason'])}</p><p>Evidence digest: <code>{esc(op['evidence_digest'] or '—')}</code></p>
<h2>Approvals / 确认</h2><ul>{approvals}</ul>
{'<p><b>Break-glass used — flagged for review.</b></p>' if op['break_glass'] else ''}
<h2>RTO</h2><p>Confirmation {_when(rto['confirmed_at'])} → service restored
{_when(rto['restored_at'])}: <b>{_num(rto['seconds'], ' s')}</b>
(target {_num(rto['target_seconds'], ' s')})</p>
<h2>RPO</h2><table><tr><th>source SCN known</th><th>cut SCN</th><th>cut from</th>
<th>SCN gap</th><th>transactions not applied</th><th>seconds</th><th>zero loss</th></tr>
<tr><td>{_num(rpo['source_scn_known'])}</td><td>{_num(rpo['cut_scn'])}</td>
<td>{esc(str(rpo['cut_source'] or '—'))}</td><td>{_num(rpo['scn_gap'])}</td>
<td>{_num(rpo['transactions_not_applied'])}</td><td>{_num(rpo['seconds'], ' s')}</td>
<td>{'yes' if rpo['zero_data_loss'] else 'no'}</td></tr></table>
<h2>Traffic / 流量</h2><p>verified end to end: <b>{'yes' if report['traffic']['verified']
else 'no'}</b></p>
<h2>Steps / 步骤</h2><table><tr><th>#</th><th>step</th><th>title</th><th>state</th>
<th>attempts</th><th>time</th><th>note</th></tr>{rows}</table>
<p>Generated {_when(report['generated_at'])}</p></body></html>
"""
