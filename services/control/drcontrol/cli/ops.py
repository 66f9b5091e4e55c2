"""``drctl failover|switchover|switchback|drill …``: one command group per operation type."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from drcontrol.cli import render
from drcontrol.cli.client import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CliError
from drcontrol.cli.state import STATE, handled

TERMINAL = {"succeeded", "failed", "aborted", "expired", "cancelled", "rejected"}
Comment = Annotated[str, typer.Option("--comment", "-m", help="Why (recorded in the audit).")]


def wait_for(op_id: str, states: set[str], timeout: float) -> dict[str, Any]:
    """Poll the operation until it reaches one of ``states`` (or fails/stops)."""
    deadline = time.monotonic() + timeout
    stop = states | TERMINAL | {"step_failed"}
    while True:
        op: dict[str, Any] = STATE.client().call("GET", f"/api/v1/operations/{op_id}")
        if op["state"] in stop:
            return op
        if time.monotonic() > deadline:
            raise CliError(EXIT_FAILED, f"{op_id} still {op['state']} after {timeout:.0f} s")
        time.sleep(0.5)


def finished(op: dict[str, Any]) -> None:
    """Print and exit 0 for success, 1 for any other end."""
    STATE.emit(op, render.operation)
    raise typer.Exit(EXIT_OK if op["state"] == "succeeded" else EXIT_FAILED)


def _checked(op_type: str, op_id: str) -> dict[str, Any]:
    op: dict[str, Any] = STATE.client().call("GET", f"/api/v1/operations/{op_id}")
    if op["type"] != op_type:
        raise CliError(EXIT_USAGE, f"{op_id} is a {op['type']}, not a {op_type}")
    return op


def _request(op_type: str) -> Callable[..., None]:
    def request(
        reason: Annotated[str, typer.Option("--reason", "-r")] = "",
        of: Annotated[str | None, typer.Option(help="drill only: failover or switchover")] = None,
        wait: Annotated[bool, typer.Option(help="Wait for the evidence.")] = True,
        timeout: float = 120.0,
    ) -> None:
        """Request it; pre-checks run and the evidence is shown for the approvers."""
        client = STATE.client()
        body: dict[str, Any] = {"type": op_type, "reason": reason}
        if of:
            body["drill_of"] = of
        op = client.call("POST", "/api/v1/operations", json=body, if_match=client.etag())
        if wait:
            op = wait_for(op["id"], {"awaiting_approval"}, timeout)
        STATE.emit(op, render.operation)

    return request


def _confirm(question: str) -> bool:
    try:
        return typer.confirm(question)
    except typer.Abort:  # end of input: no answer is no
        return False


def _approve(op_type: str) -> Callable[..., None]:
    def approve(
        op_id: str,
        accept_seconds: Annotated[float, typer.Option(help="Data loss you accept (s).")],
        accept_transactions: Annotated[int, typer.Option(help="Transactions you accept.")] = 0,
        accept_unreplicated_writes: Annotated[bool, typer.Option(
            help="Switchback without a reverse stream: you accept losing every write made at "
                 "the DR site since it became primary (the stated seconds).")] = False,
        comment: Comment = "",
        digest: Annotated[str | None, typer.Option(help="Digest you read (default: shown)")
                          ] = None,
        yes: Annotated[bool, typer.Option("--yes", help="Do not ask (scripts).")] = False,
        wait: Annotated[bool, typer.Option(help="Wait for the run to end.")] = False,
        timeout: float = 1800.0,
    ) -> None:
        """Confirm the evidence shown (bound to its digest); the run starts when enough
        approvers confirmed."""
        op = _checked(op_type, op_id)
        if not STATE.as_json:
            render.operation(op)
        lost = " and losing every DR write since it became primary" \
            if accept_unreplicated_writes else ""
        if not yes and not _confirm(f"Confirm {op_type} {op_id} accepting at most "
                                    f"{accept_seconds} s / {accept_transactions} tx{lost}?"):
            raise CliError(EXIT_USAGE, "not confirmed")
        client = STATE.client()
        result = client.call("POST", f"/api/v1/operations/{op_id}/approvals", json={
            "evidence_digest": digest or op.get("evidence_digest") or "",
            "accepted_loss": {"max_seconds": accept_seconds,
                              "max_transactions": accept_transactions,
                              "accept_unreplicated_writes": accept_unreplicated_writes},
            "comment": comment}, if_match=client.etag())
        if wait:
            finished(wait_for(op_id, set(), timeout))
        STATE.emit(result, render.operation)

    return approve


def _decision(op_type: str, verb: str, doc: str) -> Callable[..., None]:
    def decide(op_id: str, comment: Comment) -> None:
        _checked(op_type, op_id)
        result = STATE.client().call("POST", f"/api/v1/operations/{op_id}/{verb}",
                                     json={"comment": comment})
        STATE.emit(result, render.operation)

    decide.__doc__ = doc
    return decide


def _show(op_type: str) -> Callable[..., None]:
    def show(op_id: str) -> None:
        """The operation with its evidence and approvals."""
        STATE.emit(_checked(op_type, op_id), render.operation)

    return show


def _wait(op_type: str) -> Callable[..., None]:
    def wait(op_id: str, timeout: float = 1800.0) -> None:
        """Wait for the end; exit 0 if it succeeded, 1 otherwise."""
        _checked(op_type, op_id)
        finished(wait_for(op_id, set(), timeout))

    return wait


def _report_command(op_type: str) -> Callable[..., None]:
    def report(op_id: str, html: Annotated[Path | None, typer.Option(
            help="Write the printable HTML report here.")] = None) -> None:
        """RPO, RTO and step timings."""
        _checked(op_type, op_id)
        client = STATE.client()
        data = client.call("GET", f"/api/v1/operations/{op_id}/report")
        if html is not None:
            html.write_text(client.call("GET", f"/api/v1/operations/{op_id}/report",
                                        params={"format": "html"}, raw=True), encoding="utf-8")
        STATE.emit(data, _report)

    return report


def make_group(op_type: str, title: str) -> typer.Typer:
    """The request/approve/reject/cancel/show/wait/report commands for one type."""
    group = typer.Typer(help=title, no_args_is_help=True)
    commands = {
        "request": _request(op_type),
        "approve": _approve(op_type),
        "reject": _decision(op_type, "rejections", "Say no."),
        "cancel": _decision(op_type, "cancel", "Withdraw a request that has not started."),
        "show": _show(op_type),
        "wait": _wait(op_type),
        "report": _report_command(op_type),
    }
    for name, command in commands.items():
        group.command(name)(handled(command))
    return group


def _report(data: dict[str, Any]) -> None:
    rpo, rto = data["rpo"], data["rto"]
    typer.echo(data.get("headline") or data["outcome"]["state"])
    typer.echo(f"{data['operation']['id']}: {data['outcome']['state']} "
               f"({data['outcome']['reason']})")
    typer.echo(f"RTO {render.seconds(rto['seconds'])} (target "
               f"{render.seconds(rto['target_seconds'])}); traffic verified: "
               f"{'yes' if data['traffic']['verified'] else 'NO'}")
    typer.echo(f"RPO: {render.seconds(rpo['seconds'])} of source commits; source SCN "
               f"{render.count(rpo['source_scn_known'])}, cut {render.count(rpo['cut_scn'])} "
               f"({rpo['cut_source'] or 'none'}), gap {render.count(rpo['scn_gap'])}, not "
               f"applied {render.count(rpo['transactions_not_applied'])}, zero loss "
               f"{'yes' if rpo['zero_data_loss'] else 'no'}")
    render.table(["#", "step", "state", "attempts", "seconds", "note"],
                 [[s["index"] + 1, s["id"], s["state"], s["attempts"],
                   None if s["seconds"] is None else f"{s['seconds']:.1f}",
                   s["note"] or s["error"] or ""] for s in data["steps"]])
