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

from drapply.settings import ApplySettings, load_apply_settings

app = typer.Typer(add_completion=False, help=__doc__, no_args_is_help=True)

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


def main() -> None:
    """Console-script entry point."""
    app()
