"""drctl — operate the Oracle DR control service.

Server URL and token: --url / --token-file, or DRCTL_URL / DRCTL_TOKEN (or
DRCTL_TOKEN_FILE). Human tables by default, --json for scripts. Exit codes: 0 ok,
1 operation failed, 2 usage/config, 3 refused/forbidden, 4 not found, 5 unreachable.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from drcontrol.cli import render
from drcontrol.cli.client import EXIT_FAILED, EXIT_USAGE, CliError
from drcontrol.cli.ops import Comment, make_group
from drcontrol.cli.state import STATE, handled
from drcontrol.requests import SPLIT_BRAIN_STATEMENT

app = typer.Typer(add_completion=False, help=__doc__, no_args_is_help=True)
for _name, _title in (("failover", "Unplanned failover to the DR site."),
                      ("switchover", "Planned switchover, zero data loss."),
                      ("switchback", "Back to the home site."),
                      ("drill", "Rehearsal: same runbook and approvals, users see nothing.")):
    app.add_typer(make_group(_name, _title), name=_name)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
execution_app = typer.Typer(help="A run stopped at a failed step: retry, skip, abort.",
                            no_args_is_help=True)
blocks_app = typer.Typer(help="Anti-flapping blocks.", no_args_is_help=True)
user_app = typer.Typer(help="Users and tokens (admin).", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(execution_app, name="execution")
app.add_typer(blocks_app, name="blocks")
app.add_typer(user_app, name="user")


@app.callback()
def options(
    url: Annotated[str, typer.Option(envvar="DRCTL_URL", help="Control's base URL.")
                   ] = "http://127.0.0.1:8700",
    token_file: Annotated[Path | None, typer.Option(envvar="DRCTL_TOKEN_FILE",
                                                    help="File holding your API token.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    timeout: Annotated[float, typer.Option(help="HTTP timeout (s).")] = 30.0,
) -> None:
    """Global options."""
    STATE.url, STATE.token_file, STATE.as_json, STATE.timeout = url, token_file, as_json, timeout


def _lag_line(data: dict[str, Any]) -> str:
    """Apply's lag with where it comes from and how old it is; 'unknown since' when apply
    stopped answering (never the last value as if it were current)."""
    lag = data.get("lag") or {}
    source = lag.get("source") or "apply"
    if lag.get("seconds") is None:
        since = lag.get("unknown_since")
        return (f"apply lag: unknown{' since ' + render.when(since) if since else ''} "
                f"({lag.get('error') or 'no reading'})")
    summary = data.get("apply_summary") or {}
    return (f"apply lag: {render.seconds(lag['seconds'])} (from {source}, measured "
            f"{render.seconds(lag.get('age_seconds'))} ago); apply "
            f"{summary.get('state', 'unknown')}, applied SCN "
            f"{render.count(summary.get('applied_scn_min'))}")


def _status(data: dict[str, Any]) -> None:
    group = data["site_group"]
    render.table(["site", "name", "database", "applications", "local"],
                 [[s["id"], s["display_name"], s["database_role"], ",".join(s["applications"]),
                   "*" if s["local"] else ""] for s in group["sites"]])
    frozen = group.get("freeze")
    typer.echo(f"replication: {group['replication']}   freeze: "
               f"{'ON by ' + frozen['by'] + ': ' + frozen['comment'] if frozen else 'off'}")
    for app_name, block in sorted((group.get("blocks") or {}).items()):
        typer.echo(f"BLOCKED {app_name} since {render.when(block['since'])}: {block['reason']} "
                   f"(drctl blocks ack {app_name} -m …)")
    typer.echo(_lag_line(data))
    alerts = data["alerts"]
    firing = [name for name in ("lag_high", "capture_stopped", "apply_error",
                                "capture_degraded", "apply_degraded") if alerts.get(name)]
    firing += [f"app_down:{a}" for a in alerts["apps_down"]]
    typer.echo(f"alerts: {', '.join(firing) or 'none'}")
    for op in data["open_operations"]:
        typer.echo(f"open: {op['id']} {op['type']} {op['state']}")


@app.command()
@handled
def status() -> None:
    """Both sites at a glance: roles, replication, alerts, open operations."""
    STATE.emit(STATE.client().call("GET", "/api/v1/status"), _status)


@app.command()
@handled
def ops(state: Annotated[list[str] | None, typer.Option()] = None, limit: int = 20) -> None:
    """Recent operations."""
    params: dict[str, Any] = {"limit": limit}
    if state:
        params["state"] = state
    rows = STATE.client().call("GET", "/api/v1/operations", params=params)
    STATE.emit(rows, lambda r: render.table(
        ["id", "type", "state", "requested", "by", "outcome"],
        [[o["id"], o["type"], o["state"], render.when(o["requested_at"]), o["requested_by"],
          o.get("outcome") or ""] for o in r]))


@app.command()
@handled
def whoami() -> None:
    """Your user and role."""
    STATE.emit(STATE.client().call("GET", "/api/v1/whoami"),
               lambda w: typer.echo(f"{w['user']} ({w['role']})"))


@app.command()
@handled
def budget() -> None:
    """Worst-case detection time and RTO budget per runbook, against the targets."""
    def human(data: dict[str, Any]) -> None:
        typer.echo(f"detection worst case: {data['detection_seconds']:.0f} s "
                   f"({data['detection_formula']})")
        render.table(["runbook", "RTO budget (s)", "with detection (s)", "largest step"],
                     [[name, f"{b['seconds']:.0f}", f"{data['end_to_end_seconds'][name]:.0f}",
                       b["largest"]] for name, b in data["runbooks"].items()])
        typer.echo(f"targets: {data['targets']}")
        for violation in data["violations"]:
            typer.echo(f"VIOLATION: {violation['message']}")

    STATE.emit(STATE.client().call("GET", "/api/v1/budget"), human)


@app.command()
@handled
def freeze(comment: Comment) -> None:
    """Stop every automatic action."""
    client = STATE.client()
    STATE.emit(client.call("POST", "/api/v1/freeze", json={"comment": comment},
                           if_match=client.etag()), lambda _: typer.echo("frozen"))


@app.command()
@handled
def unfreeze(comment: Comment) -> None:
    """Allow automatic actions again (approver or admin)."""
    client = STATE.client()
    STATE.emit(client.call("POST", "/api/v1/freeze/lift", json={"comment": comment},
                           if_match=client.etag()), lambda _: typer.echo("unfrozen"))


@app.command()
@handled
def replay(
    reason: Annotated[str, typer.Option("--reason", "-r")],
    schema: Annotated[list[str] | None, typer.Option(help="Repeat per schema; default all")
                      ] = None,
    from_scn: Annotated[int | None, typer.Option()] = None,
    from_time: Annotated[str | None, typer.Option(help="ISO time")] = None,
    target: str = "primary",
) -> None:
    """Ask apply to replay from an SCN or a time."""
    result = STATE.client().call("POST", "/api/v1/replays", json={
        "schemas": schema, "from_scn": from_scn, "from_time": from_time, "target": target,
        "reason": reason})
    STATE.emit(result, lambda r: typer.echo(f"replay {r.get('replay_id')} requested"))


@app.command("break-glass")
@handled
def break_glass(op_id: str, totp: Annotated[str, typer.Option(help="Your TOTP code")],
                reason: Annotated[str, typer.Option("--reason", "-r")],
                accept_seconds: Annotated[float, typer.Option()],
                accept_transactions: int = 0) -> None:
    """Admin confirmation without the customer's confirmer (flagged for review)."""
    client = STATE.client()
    op = client.call("GET", f"/api/v1/operations/{op_id}")
    result = client.call("POST", f"/api/v1/operations/{op_id}/break-glass", json={
        "totp": totp, "reason": reason, "evidence_digest": op.get("evidence_digest") or "",
        "accepted_loss": {"max_seconds": accept_seconds,
                          "max_transactions": accept_transactions}})
    STATE.emit(result, render.operation)


@app.command()
@handled
def review(op_id: str, comment: Comment) -> None:
    """Clear a break-glass review flag."""
    STATE.emit(STATE.client().call("POST", f"/api/v1/operations/{op_id}/review",
                                   json={"comment": comment}), render.operation)


@execution_app.command("show")
@handled
def execution_show(op_id: str) -> None:
    """Every step of the run with its state."""
    data = STATE.client().call("GET", f"/api/v1/executions/{op_id}")
    STATE.emit(data, lambda d: render.table(
        ["#", "step", "kind", "state", "attempts", "note"],
        [[s["index"] + 1, s["id"], s["kind"], s["state"], s["attempts"],
          s.get("error") or s.get("note") or ""] for s in d["steps"]]))


def _execution(verb: str, op_id: str, body: dict[str, Any]) -> None:
    STATE.emit(STATE.client().call("POST", f"/api/v1/executions/{op_id}/{verb}", json=body),
               render.operation)


@execution_app.command("retry")
@handled
def execution_retry(op_id: str, comment: Comment) -> None:
    """Run the failed step again."""
    _execution("retry", op_id, {"comment": comment})


@execution_app.command("skip")
@handled
def execution_skip(op_id: str, step: Annotated[str, typer.Option()], comment: Comment) -> None:
    """Skip the failed step (admin; audited)."""
    _execution("skip", op_id, {"step": step, "comment": comment})


@execution_app.command("abort")
@handled
def execution_abort(op_id: str, comment: Comment) -> None:
    """End the run where it stopped."""
    _execution("abort", op_id, {"comment": comment})


@execution_app.command("accept-split-brain")
@handled
def execution_accept_split_brain(
    op_id: str,
    comment: Comment,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask to type the statement.")] = False,
) -> None:
    """Approver: let traffic move although the old site's fencing is insufficient."""
    if not yes:
        typed = typer.prompt(f'Type "{SPLIT_BRAIN_STATEMENT}" to continue', default="",
                             show_default=False)
        if typed.strip() != SPLIT_BRAIN_STATEMENT:
            raise CliError(EXIT_USAGE, "not confirmed: the statement was not typed")
    _execution("accept-split-brain", op_id,
               {"statement": SPLIT_BRAIN_STATEMENT, "comment": comment})


@blocks_app.command("list")
@handled
def blocks_list() -> None:
    """Applications whose automatic switches are blocked."""
    data = STATE.client().call("GET", "/api/v1/blocks")
    STATE.emit(data, lambda d: render.table(
        ["app", "since", "reason"], [[a, render.when(b["since"]), b["reason"]]
                                     for a, b in d.items()]))


@blocks_app.command("ack")
@handled
def blocks_ack(app_name: str, comment: Comment) -> None:
    """Lift an anti-flapping block with a comment."""
    client = STATE.client()
    STATE.emit(client.call("POST", f"/api/v1/blocks/{app_name}/acknowledge",
                           json={"comment": comment}, if_match=client.etag()),
               lambda _: typer.echo(f"block on {app_name} lifted"))


def _parse_export(lines: list[str]) -> tuple[list[Any], Any]:
    # Imported here: pydantic doubles drctl's start-up time and only this command needs it.
    from drcontrol.audit import ChainHead
    from drcontrol.model import AuditRecord

    records: list[AuditRecord] = []
    head = None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if "head" in item:
                head = ChainHead(int(item["head"]["seq"]), str(item["head"]["hash"]))
            else:
                records.append(AuditRecord.model_validate(item))
        except ValueError as exc:
            raise CliError(EXIT_FAILED, f"line {number} is not an audit record: {exc}"
                           ) from exc
    return records, head


@audit_app.command("export")
@handled
def audit_export(out: Annotated[Path | None, typer.Option(help="File (default stdout)")] = None
                 ) -> None:
    """Every record as JSON lines, ending with the chain head."""
    text = STATE.client().call("GET", "/api/v1/audit/export", raw=True)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")


@audit_app.command("anchors")
@handled
def audit_anchors(out: Annotated[Path | None, typer.Option(help="File (default stdout)")] = None
                  ) -> None:
    """The signed chain heads kept outside the database (keep a copy elsewhere)."""
    text = STATE.client().call("GET", "/api/v1/audit/anchors", raw=True)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")


def _against(records: list[Any], head: Any, against: Path, public_key: Path | None) -> Any:
    from drcontrol.anchor import (
        load_public,
        parse_anchors,
        verify_against_anchors,
        verify_against_export,
    )

    lines = against.read_text(encoding="utf-8").splitlines()
    anchors, named_key = parse_anchors(lines)
    if not anchors:  # an earlier export: every record in it must still be there, unchanged
        earlier, _ = _parse_export(lines)
        return verify_against_export(records, head, earlier)
    pem = public_key.read_text(encoding="utf-8") if public_key else named_key
    if pem is None:
        raise CliError(EXIT_USAGE, f"{against} names no public key: give --public-key")
    if public_key is None:
        typer.echo("note: using the public key inside the anchor file; pin it with "
                   "--public-key", err=True)
    return verify_against_anchors(records, head, anchors, load_public(pem))


@audit_app.command("verify")
@handled
def audit_verify(
    file: Annotated[Path | None, typer.Option(
        help="Verify this export instead of the server's log")] = None,
    against: Annotated[Path | None, typer.Option(
        help="An earlier export, or an anchor file (drctl audit anchors)")] = None,
    public_key: Annotated[Path | None, typer.Option(
        help="The audit public key (PEM) the anchors must be signed with")] = None,
) -> None:
    """Check the hash chain here, on the client; exit 1 naming the first bad record. With
    --against, the chain must also match the earlier export or the signed anchors."""
    if file is not None:
        lines = file.read_text(encoding="utf-8").splitlines()
    else:
        lines = STATE.client().call("GET", "/api/v1/audit/export", raw=True).splitlines()
    from drcontrol.audit import verify_chain

    records, head = _parse_export(lines)
    if against is not None:
        verdict = _against(records, head, against, public_key)
    else:
        verdict = verify_chain(records, head)
    result = {"ok": verdict.ok, "checked": verdict.checked, "bad_seq": verdict.bad_seq,
              "reason": verdict.reason}
    STATE.emit(result, lambda r: typer.echo(
        f"{'OK' if r['ok'] else 'BROKEN'}: {r['reason']} ({r['checked']} records verified)"))
    if not verdict.ok:
        raise typer.Exit(EXIT_FAILED)


@audit_app.command("search")
@handled
def audit_search(q: Annotated[str | None, typer.Option(help="Free text")] = None,
                 actor: str | None = None, action: str | None = None, limit: int = 50) -> None:
    """Newest matching records."""
    params = {k: v for k, v in {"q": q, "actor": actor, "action": action, "limit": limit}.items()
              if v is not None}
    rows = STATE.client().call("GET", "/api/v1/audit", params=params)
    STATE.emit(rows, lambda r: render.table(
        ["seq", "at", "actor", "action", "target", "outcome"],
        [[x["seq"], render.when(x["at"]), x["actor"], x["action"], x["target"], x["outcome"]]
         for x in r]))


@user_app.command("list")
@handled
def user_list() -> None:
    """Users, roles, token ids."""
    rows = STATE.client().call("GET", "/api/v1/users")
    STATE.emit(rows, lambda r: render.table(
        ["user", "role", "disabled", "tokens"],
        [[u["name"], u["role"], u["disabled"],
          ",".join(t["id"] for t in u["tokens"] if t["revoked_at"] is None)] for u in r]))


@user_app.command("add")
@handled
def user_add(name: str, role: Annotated[str, typer.Option()], display_name: str = "") -> None:
    """Add a user; the token is printed once."""
    result = STATE.client().call("POST", "/api/v1/users", json={
        "name": name, "role": role, "display_name": display_name})
    STATE.emit(result, lambda r: typer.echo(r["token"]))


@user_app.command("revoke")
@handled
def user_revoke(name: str) -> None:
    """Revoke every token of a user and disable them."""
    STATE.emit(STATE.client().call("POST", f"/api/v1/users/{name}/revoke"),
               lambda r: typer.echo(f"revoked {r['revoked']} token(s) of {name}"))


def main() -> None:
    """Console-script entry point (usage errors exit 2)."""
    try:
        app()
    except CliError as exc:  # raised before a command's own handler (e.g. the callback)
        typer.echo(f"drctl: {exc.message}", err=True)
        sys.exit(exc.code)


__all__ = ["EXIT_USAGE", "app", "main"]
