"""``drapply``: run the service, apply once, show status, replay, handle parked work.

Every command reads one TOML file (``--config``) plus ``DRAPPLY__…`` overrides. Problems an
operator can fix end with one line on stderr and exit code 2.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from drcommon.logs import configure_logging
from drcommon.service import run_main

from drapply.settings import PRIMARY, ApplySettings, load_apply_settings

app = typer.Typer(add_completion=False, help=__doc__, no_args_is_help=True)
parked_app = typer.Typer(help="Parked transactions: list, retry, discard.", no_args_is_help=True)
app.add_typer(parked_app, name="parked")
ddl_app = typer.Typer(help="DDL records: what apply did with them; ones applied by hand.",
                      no_args_is_help=True)  # fmt: skip
app.add_typer(ddl_app, name="ddl")

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="The site's apply TOML file.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _settings(config: Path) -> ApplySettings:
    settings = load_apply_settings(config)
    configure_logging("drapply", level=settings.logging.level, fmt=settings.logging.format)
    return settings


def _exit(code: int) -> None:
    if code:
        raise typer.Exit(code)


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=str))


@app.command()
def run(config: ConfigOption) -> None:
    """Run the apply service (consumer group, admin API) until SIGTERM/SIGINT."""

    async def body() -> int:
        from drapply.service import ApplyService, serve

        settings = _settings(config)
        return await serve(ApplyService(settings))

    _exit(run_main("drapply", body))


@app.command()
def once(
    config: ConfigOption,
    until_idle: Annotated[
        float | None,
        typer.Option(help="Keep applying until no record arrived for this many seconds."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Apply what the topics hold now, print a summary, exit (1 if a schema failed)."""

    async def body() -> int:
        from drapply.oneshot import apply_once

        settings = _settings(config)
        statuses = await apply_once(settings, until_idle=until_idle)
        now = datetime.now().astimezone()
        docs = {schema: st.document(now) for schema, st in statuses.items()}
        if as_json:
            _print_json(docs)
        else:
            _summary(docs)
        return 1 if any(d["error"] for d in docs.values()) else 0

    _exit(run_main("drapply", body))


def _summary(docs: dict[str, dict[str, Any]]) -> None:
    if not docs:
        typer.echo("no schema topics matched source.schemas")
        return
    for schema, doc in docs.items():
        line = (
            f"{schema}: {doc['transactions']} transaction(s), {doc['rows']} row(s) applied; "
            f"applied_scn={doc['applied_scn']} offset={doc['position']} "
            f"conflicts={doc['conflicts']} parked={doc['parked']}"
        )
        if doc["error"]:
            line += f"\n  ERROR: {doc['error']}"
        typer.echo(line)


@app.command()
def status(config: ConfigOption, as_json: JsonFlag = False) -> None:
    """Per-schema position from the checkpoint tables of the target."""

    async def body() -> int:
        from drapply.admin import read_status

        settings = _settings(config)
        rows = await asyncio.to_thread(read_status, settings)
        if as_json:
            _print_json(rows)
        else:
            for row in rows:
                typer.echo(
                    f"{row['schema']:<24} offset={row['next_offset']:<10} "
                    f"scn={row['commit_scn']} xid={row['xid']} commit_ts={row['commit_ts']}"
                    + (f" replaying_until={row['replay_until']}" if row["replay_until"] else "")
                )
        return 0

    _exit(run_main("drapply", body))


@app.command()
def replay(
    config: ConfigOption,
    requested_by: Annotated[str, typer.Option(help="Who asks (kept in the audit table).")],
    schema: Annotated[
        list[str] | None, typer.Option(help="Schema to replay (repeat); default all.")
    ] = None,
    from_scn: Annotated[int | None, typer.Option(help="Replay commits with SCN >= this.")] = None,
    from_time: Annotated[
        datetime | None, typer.Option(help="Replay commits at or after this time (ISO).")
    ] = None,
    to_scn: Annotated[
        int | None, typer.Option(help="Into another target: stop after this SCN.")
    ] = None,
    target: Annotated[str, typer.Option(help="'primary' or a [targets.<name>] section.")] = PRIMARY,
) -> None:
    """Rewind and re-apply (primary: the running service or the next run picks it up)."""

    async def body() -> int:
        from drapply.replay import ReplayRequest, replay_offline

        settings = _settings(config)
        request = ReplayRequest(
            schemas=tuple(schema) if schema else None,
            from_scn=from_scn,
            from_time=from_time,
            to_scn=to_scn,
            target=target,
            requested_by=requested_by,
        )
        _print_json(await replay_offline(settings, request))
        return 0

    _exit(run_main("drapply", body))


def _scn(value: str) -> int | None:
    """``now`` or an SCN."""
    if value.strip().lower() == "now":
        return None
    try:
        return int(value)
    except ValueError:
        raise typer.BadParameter("an SCN (a number) or 'now'") from None


@app.command()
def load(
    config: ConfigOption,
    scn: Annotated[str, typer.Option(help="The SCN to copy at, or 'now' (the reader picks it).")],
    requested_by: Annotated[str, typer.Option(help="Who asks (kept with the load).")],
    truncate: Annotated[
        bool, typer.Option(help="Empty target tables that hold rows (a re-seed).")
    ] = False,
    restart: Annotated[
        bool, typer.Option(help="Give up an unfinished load and begin anew.")
    ] = False,
    reason: Annotated[str, typer.Option(help="Why (kept with the load).")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Copy the configured tables as of an SCN into the target and seed the checkpoints
    (resumes an unfinished load). Stop apply for these schemas while it runs."""

    async def body() -> int:
        import sys

        from drapply.load.model import LoadRequest
        from drapply.load.runner import run_load
        from drapply.progress import Progress

        settings = _settings(config)
        request = LoadRequest(scn=_scn(scn), truncate=truncate, restart=restart,
                              requested_by=requested_by, reason=reason)  # fmt: skip

        def decided(report: Any) -> None:
            typer.echo(f"copying at SCN {report.scn}; capture must start at SCN "
                       f"{report.start_scn} ({report.start_line})", err=True)  # fmt: skip

        report = await run_load(settings, request, progress=Progress("load", 0, out=sys.stderr),
                                on_decided=decided)  # fmt: skip
        if as_json:
            _print_json(report.document())
        else:
            typer.echo(report.summary())
        return 0

    _exit(run_main("drapply", body))


@app.command()
def skip(
    config: ConfigOption,
    schema: Annotated[str, typer.Option(help="The Oracle schema whose stream stopped.")],
    offset: Annotated[int, typer.Option(help="Offset of the record it stopped on.")],
    reason: Annotated[str, typer.Option(help="Why it is skipped (kept in the audit table).")],
    requested_by: Annotated[str, typer.Option(help="Who decides (kept in the audit table).")],
    partition: Annotated[int, typer.Option(help="The topic's partition.")] = 0,
) -> None:
    """Move a stream stopped on a record that cannot be applied past it and the rest of
    its transaction: audited, kept on the dead-letter topic, recorded as a discarded
    parked transaction. A running service follows within seconds."""

    async def body() -> int:
        from drapply.skip import skip_record

        settings = _settings(config)
        _print_json(await skip_record(settings, schema, offset, reason=reason,
                                      requested_by=requested_by, partition=partition))
        return 0

    _exit(run_main("drapply", body))


@app.command()
def compare(
    config: ConfigOption,
    requested_by: Annotated[str, typer.Option(help="Who asks (kept with the report).")],
    table: Annotated[
        list[str] | None, typer.Option(help="OWNER.TABLE pattern (repeat); default all.")
    ] = None,
    scn: Annotated[
        int | None, typer.Option(help="Compare at this SCN (apply must hold the DR copy there).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the JSON report to this file.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Compare the DR copy with the source (each chunk at the SCN the DR copy is at, no
    hold needed); exit 0 when equal, 1 when something differs."""

    async def body() -> int:
        import sys

        from drapply.compare.runner import CompareRequest, run_compare
        from drapply.progress import Progress

        settings = _settings(config)
        request = CompareRequest(tables=tuple(table or ()), at_scn=scn,
                                 requested_by=requested_by)  # fmt: skip
        progress = Progress("compare", 0, out=sys.stderr)
        report, _cursors = await asyncio.to_thread(run_compare, settings, request, progress)
        document = report.document()
        if out is not None:
            out.write_text(json.dumps(document, indent=2, default=str), encoding="utf-8")
        if as_json:
            _print_json(document)
        else:
            typer.echo(report.summary())
        return 1 if report.differences else 0

    _exit(run_main("drapply", body))


@app.command()
def repair(
    config: ConfigOption,
    requested_by: Annotated[str, typer.Option(help="Who asks (kept in the audit table).")],
    run_id: Annotated[
        str | None, typer.Option(help="The comparison to repair (kept in the target).")
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="…or its JSON report (drapply compare --out).")
    ] = None,
    reason: Annotated[str, typer.Option(help="Why (kept in the audit table).")] = "",
    table: Annotated[
        list[str] | None, typer.Option(help="Only this OWNER.TABLE (repeat).")
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="Perform it (without: only show the plan).")
    ] = False,
) -> None:
    """Make the DR rows a comparison found different equal to the source's, through
    apply's own transaction path (the checkpoint stays right); audited."""

    async def body() -> int:
        from drapply.compare.repair import RepairRequest, run_repair

        settings = _settings(config)
        found = await asyncio.to_thread(_comparison, settings, run_id, report)
        if apply and not reason:
            raise typer.BadParameter("--apply needs --reason", param_hint="--reason")
        request = RepairRequest(found.run_id, requested_by, reason, apply, tuple(table or ()))
        _print_json(await asyncio.to_thread(run_repair, settings, found, request))
        return 0

    _exit(run_main("drapply", body))


def _comparison(settings: ApplySettings, run_id: str | None, report: Path | None) -> Any:
    from drapply.adapters.rawsql import sql_session
    from drapply.adapters.registry import open_target
    from drapply.compare import store
    from drapply.compare.repair import RepairRefused
    from drapply.compare.report import CompareReport

    if report is not None:
        return CompareReport.from_document(json.loads(report.read_text(encoding="utf-8")))
    if run_id is None:
        raise RepairRefused("give --run-id or --report")
    admin = sql_session(open_target(settings.target).connect(admin=True))
    try:
        store.ensure(admin)
        found = store.load_report(admin, run_id)
    finally:
        admin.close()
    if found is None:
        raise RepairRefused("no comparison with this run id in the target", run_id=run_id)
    return found


@parked_app.command("list")
def parked_list(
    config: ConfigOption,
    state: Annotated[str | None, typer.Option(help="parked, retried or discarded.")] = "parked",
) -> None:
    """Parked transactions recorded in the target."""

    async def body() -> int:
        from drapply.admin import list_parked

        settings = _settings(config)
        _print_json(await asyncio.to_thread(list_parked, settings, state))
        return 0

    _exit(run_main("drapply", body))


@parked_app.command("retry")
def parked_retry(
    config: ConfigOption,
    xid: str,
    requested_by: Annotated[str, typer.Option()],
    comment: Annotated[str, typer.Option()] = "",
) -> None:
    """Apply a parked transaction again (after its cause was fixed)."""
    _parked_decision(config, "retry", xid, requested_by, comment)


@parked_app.command("discard")
def parked_discard(
    config: ConfigOption,
    xid: str,
    requested_by: Annotated[str, typer.Option()],
    comment: Annotated[str, typer.Option()] = "",
) -> None:
    """Mark a parked transaction as discarded (it will not be applied)."""
    _parked_decision(config, "discard", xid, requested_by, comment)


def _parked_decision(
    config: Path, decision: str, xid: str, requested_by: str, comment: str
) -> None:
    async def body() -> int:
        from drapply.parked import ParkedWork

        work = ParkedWork(_settings(config))
        decide = work.retry if decision == "retry" else work.discard
        _print_json(await decide(xid, requested_by, comment))
        return 0

    _exit(run_main("drapply", body))


@ddl_app.command("list")
def ddl_list(
    config: ConfigOption,
    schema: Annotated[str | None, typer.Option(help="One Oracle schema (default: all).")] = None,
) -> None:
    """DDL records apply met: the statement, what ran on the target, or why nothing did."""

    async def body() -> int:
        from drapply.admin import list_ddl

        settings = _settings(config)
        _print_json(await asyncio.to_thread(list_ddl, settings, schema))
        return 0

    _exit(run_main("drapply", body))


@ddl_app.command("done")
def ddl_done(
    config: ConfigOption,
    schema: Annotated[str, typer.Option(help="The Oracle schema whose stream stopped.")],
    scn: Annotated[int, typer.Option(help="Commit SCN of the DDL (from the error).")],
    reason: Annotated[str, typer.Option(help="What was done by hand (kept in the audit).")],
    requested_by: Annotated[str, typer.Option(help="Who did it (kept in the audit).")],
    partition: Annotated[int, typer.Option(help="The topic's partition.")] = 0,
) -> None:
    """A stream stopped before a DDL apply cannot run: after a person applied it on the
    DR database by hand, move past it (audited, recorded in the DDL log). A running
    service follows within seconds."""

    async def body() -> int:
        from drapply.ddl.done import ddl_done as done

        settings = _settings(config)
        _print_json(await done(settings, schema, scn, reason=reason,
                               requested_by=requested_by, partition=partition))  # fmt: skip
        return 0

    _exit(run_main("drapply", body))


def main() -> None:
    """Console-script entry point."""
    app()
