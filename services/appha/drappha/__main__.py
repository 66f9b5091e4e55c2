"""``drappha``: run the service, run a witness, check a configuration, show status."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from drcommon.errors import DRError
from drcommon.logs import configure_logging
from drcommon.service import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, run_main, serve_until_signal

cli = typer.Typer(help="Application high availability between the cloud and local servers.")

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="TOML configuration file.")]


@cli.command()
def run(config: ConfigOption) -> None:
    """Watch the configured applications and serve the admin API."""

    async def body() -> None:
        from drcommon.config import load_settings

        from drappha.service import AppHAService
        from drappha.settings import AppHASettings

        settings = load_settings(AppHASettings, config, env_prefix="DRAPPHA")
        configure_logging("appha", level=settings.logging.level, fmt=settings.logging.format)
        await serve_until_signal(AppHAService(settings))

    raise typer.Exit(run_main("drappha run", body))


@cli.command()
def witness(config: ConfigOption) -> None:
    """Answer probe requests as a second vantage point at a third location."""

    async def body() -> None:
        from drcommon.config import load_settings

        from drappha.settings import WitnessSettings
        from drappha.witness import WitnessService

        settings = load_settings(WitnessSettings, config, env_prefix="DRAPPHA")
        configure_logging(
            "appha-witness", level=settings.logging.level, fmt=settings.logging.format
        )
        await serve_until_signal(WitnessService(settings))

    raise typer.Exit(run_main("drappha witness", body))


@cli.command()
def check(
    config: ConfigOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Validate a configuration and print the worst-case time to detect and to switch."""
    from drcommon.config import load_settings

    from drappha.budget import budgets, render
    from drappha.settings import AppHASettings

    try:
        settings = load_settings(AppHASettings, config, env_prefix="DRAPPHA")
    except DRError as exc:
        print(f"drappha check: error: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_CONFIG) from None
    items = budgets(settings)
    if as_json:
        print(json.dumps([b.as_dict() for b in items], indent=2))
    else:
        print(f"configuration ok: {config}")
        print(render(items))


@cli.command()
def budget(
    config: ConfigOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The worst-case detection and switch times (same as ``check``)."""
    check(config, as_json)


def _status_line(app: dict[str, Any]) -> str:
    flags = []
    if app.get("maintenance"):
        flags.append("maintenance")
    if app.get("blocked"):
        flags.append(f"blocked: {app['blocked']}")
    if app.get("alert"):
        flags.append(f"ALERT: {app['alert']}")
    tail = f"  ({'; '.join(flags)})" if flags else ""
    return f"{app['name']:<16} {app['mode']:<7} {app['state']:<19} on {app['active_site']:<8}{tail}"


@cli.command()
def status(
    url: Annotated[str, typer.Option(help="appha's base URL, e.g. http://127.0.0.1:8703")],
    token_file: Annotated[Path | None, typer.Option(help="File holding the service token.")] = None,
    token: Annotated[
        str | None, typer.Option(envvar="DRAPPHA_TOKEN", help="Service token (or token file).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show every application's state; exit 0 when all are settled, without alerts and not
    blocked (a block waits for a person's acknowledgement)."""
    secret = token_file.read_text(encoding="utf-8").strip() if token_file else token
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    try:
        response = httpx.get(f"{url.rstrip('/')}/api/v1/apps", headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        print(f"drappha status: cannot reach {url}: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_CONFIG) from None
    if response.status_code != 200:
        print(f"drappha status: {response.status_code} {response.text}", file=sys.stderr)
        raise typer.Exit(EXIT_CONFIG)
    apps = response.json()
    if as_json:
        print(json.dumps(apps, indent=2))
    else:
        for app in apps:
            print(_status_line(app))
    settled = all(
        a["state"] in ("healthy", "on_standby") and not a.get("alert") and not a.get("blocked")
        for a in apps
    )
    raise typer.Exit(EXIT_OK if settled else EXIT_FAILED)


def main() -> None:
    """Console-script entry point."""
    cli()


if __name__ == "__main__":
    main()
