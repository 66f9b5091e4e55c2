"""Human output for drctl: small aligned tables and evidence summaries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import typer


def when(value: Any) -> str:
    """Epoch seconds as local time."""
    if not isinstance(value, int | float):
        return "-"
    return datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M:%S")


WAITING = frozenset({"prechecking", "awaiting_approval"})


def seconds(value: Any) -> str:
    """A duration for people: one decimal, or 'unknown'."""
    return "unknown" if not isinstance(value, int | float) else f"{value:.1f} s"


def count(value: Any) -> str:
    return "unknown" if value is None else str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print an aligned table."""
    cells = [[str(h) for h in headers], *[["-" if v is None else str(v) for v in row]
                                         for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for index, row in enumerate(cells):
        typer.echo("  ".join(value.ljust(width) for value, width in zip(row, widths,
                                                                          strict=True)).rstrip())
        if index == 0:
            typer.echo("  ".join("-" * width for width in widths))


def operation(op: dict[str, Any]) -> None:
    """One operation: state, requester, evidence checks, loss, digest, approvals."""
    typer.echo(f"{op['id']}  {op['type']}  state={op['state']}  runbook={op['runbook']}")
    typer.echo(f"requested by {op['requested_by']} at {when(op['requested_at'])}: "
               f"{op.get('reason') or ''}")
    if op["state"] in WAITING:
        typer.echo(f"approval window closes {when(op.get('expires_at'))}")
    evidence = op.get("evidence")
    if evidence:
        typer.echo(f"evidence collected {when(evidence['collected_at'])} by "
                   f"{evidence['collected_by']}")
        table(["check", "ok", "required", "detail"],
              [[c["name"], "yes" if c["ok"] else "NO", "yes" if c["required"] else "",
                c["detail"]] for c in evidence["checks"]])
        loss = evidence["loss"]
        typer.echo(f"estimated loss: {seconds(loss.get('seconds'))}, transactions not "
                   f"applied: {count(loss.get('transactions'))}; source SCN "
                   f"{count(loss.get('source_scn'))}, applied SCN "
                   f"{count(loss.get('applied_scn'))}")
        if loss.get("basis"):
            typer.echo(f"  ({loss['basis']})")
        typer.echo(f"evidence digest: {op.get('evidence_digest')}")
    for approval in op.get("approvals", []):
        flag = " BREAK-GLASS" if approval.get("break_glass") else ""
        typer.echo(f"approved by {approval['user']} ({approval['role']}) at "
                   f"{when(approval['at'])}{flag}")
    if op.get("review_required"):
        typer.echo("flagged for review (break-glass)")
    if op.get("outcome"):
        typer.echo(f"outcome: {op['outcome']}")
