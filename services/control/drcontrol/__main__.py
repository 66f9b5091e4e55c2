"""``drcontrol``: run the control service and manage its users, offline audit and budget.

``drcontrol run`` serves until SIGTERM. ``drcontrol user add NAME --role approver``
prints the new token once. Exit codes: 0 ok, 1 failed (e.g. audit chain broken),
2 configuration or usage problem.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from drcommon.config import load_settings
from drcommon.errors import DRError
from drcommon.logs import configure_logging
from drcommon.service import run_main, serve_until_signal

from drcontrol.audit import verify_chain
from drcontrol.canonical import canonical_json
from drcontrol.events import EventBus
from drcontrol.model import Role
from drcontrol.recorder import Recorder
from drcontrol.settings import ControlSettings
from drcontrol.storage import Storage, open_storage
from drcontrol.storage.base import AuditQuery
from drcontrol.users import Users

T = TypeVar("T")
app = typer.Typer(add_completion=False, help=__doc__, no_args_is_help=True)
user_app = typer.Typer(help="Users and API tokens (talks to the storage directly).",
                       no_args_is_help=True)
audit_app = typer.Typer(help="The audit chain, read from the storage.", no_args_is_help=True)
token_app = typer.Typer(help="A user's API tokens: issue another, rotate.",
                        no_args_is_help=True)
user_app.add_typer(token_app, name="token")
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")

ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", "-c", envvar="DRCONTROL_CONFIG", help="Site TOML file.")]


def _settings(config: Path | None) -> ControlSettings:
    return load_settings(ControlSettings, config, env_prefix="DRCONTROL")


def _offline(config: Path | None, work: Callable[[Storage, Users], Awaitable[T]]) -> T:
    """Run ``work`` against the storage without the service (one line on errors, exit 2)."""
    async def body() -> T:
        settings = _settings(config)
        storage = open_storage(settings.storage)
        await storage.open()
        try:
            recorder = Recorder(storage, EventBus(), time.time)
            return await work(storage, Users(storage, recorder, time.time))
        finally:
            await storage.close()

    try:
        return asyncio.run(body())
    except DRError as exc:
        typer.echo(f"drcontrol: error: {exc}", err=True)
        raise typer.Exit(2) from None


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@app.command()
def run(config: ConfigOpt = None) -> None:
    """Run the control service until SIGTERM/SIGINT."""
    from drcontrol.service import ControlService  # the whole service: only ``run`` needs it

    async def body() -> None:
        settings = _settings(config)
        configure_logging("drcontrol", level=settings.logging.level, fmt=settings.logging.format)
        await serve_until_signal(ControlService(settings))

    raise typer.Exit(run_main("drcontrol", body))


@user_app.command("add")
def user_add(name: str, role: Annotated[Role, typer.Option(help="viewer, operator, approver, "
                                                           "admin or appha (appha's account)")],
             display_name: str = "", config: ConfigOpt = None) -> None:
    """Add a user and print their token (shown once; store it now)."""
    token = _offline(config, lambda _s, users: users.add(_actor(), name, role, display_name))
    typer.echo(token)


@token_app.command("issue")
def token_issue(name: str, label: str = "", config: ConfigOpt = None) -> None:
    """Issue another token for an existing user (shown once)."""
    typer.echo(_offline(config, lambda _s, users: users.new_token(_actor(), name, label)))


@token_app.command("rotate")
def token_rotate(name: str, grace_hours: Annotated[float | None, typer.Option(
        help="The old tokens keep working this long (default: auth.rotation_grace_hours); "
             "0 retires them at once.")] = None,
        config: ConfigOpt = None) -> None:
    """A new token for NAME (shown once); the old ones stop after the grace period."""
    async def work(_s: Storage, users: Users) -> str:
        hours = grace_hours if grace_hours is not None else \
            _settings(config).auth.rotation_grace_hours
        return await users.rotate(_actor(), name, hours * 3600.0)

    typer.echo(_offline(config, work))


@user_app.command("list")
def user_list(config: ConfigOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False
              ) -> None:
    """Users, roles and token ids (never the tokens)."""
    async def work(storage: Storage, _u: Users) -> list[dict[str, object]]:
        tokens = await storage.list_tokens()
        return [{**u.model_dump(mode="json"),
                 "tokens": [t.id for t in tokens if t.user == u.name
                            and (t.revoked_at is None or t.revoked_at > time.time())]}
                for u in await storage.list_users()]

    rows = _offline(config, work)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        flag = " (disabled)" if row["disabled"] else ""
        typer.echo(f"{row['name']:<20} {row['role']:<9} tokens: {row['tokens']}{flag}")


@user_app.command("revoke")
def user_revoke(name: str, token_id: Annotated[str | None, typer.Option()] = None,
                disable: bool = False, config: ConfigOpt = None) -> None:
    """Revoke one token (--token-id) or all of a user's tokens; --disable the user too."""
    count = _offline(config, lambda _s, users: users.revoke(_actor(), name, token_id, disable))
    typer.echo(f"revoked {count} token(s) of {name}{'; user disabled' if disable else ''}")


@audit_app.command("verify")
def audit_verify(config: ConfigOpt = None) -> None:
    """Verify the hash chain in the storage; exit 1 naming the first bad record."""
    async def work(storage: Storage, _u: Users) -> tuple[bool, str]:
        head = await storage.audit_head()  # first: records after it are later writes
        records = await storage.audit_records(AuditQuery(limit=10**9))
        verdict = verify_chain(records, head)
        return verdict.ok, f"{verdict.reason} ({verdict.checked} records checked)"

    ok, message = _offline(config, work)
    typer.echo(message, err=not ok)
    raise typer.Exit(0 if ok else 1)


@audit_app.command("keygen")
def audit_keygen(out: Annotated[Path, typer.Option(help="Private key file to write (0600)")]
                 ) -> None:
    """A new Ed25519 audit signing key (for audit.signing_key_file); prints the public key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from drcontrol.anchor import public_pem

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    typer.echo(public_pem(key.public_key()), nl=False)


@audit_app.command("export")
def audit_export(config: ConfigOpt = None) -> None:
    """Every record as JSON lines on stdout, then the chain head."""
    async def work(storage: Storage, _u: Users) -> list[str]:
        head = await storage.audit_head()  # first: records after it are later writes
        lines = [canonical_json(r.model_dump(mode="json"))
                 for r in await storage.audit_records(AuditQuery(limit=10**9))
                 if head is None or r.seq <= head.seq]
        if head is not None:
            lines.append(canonical_json({"head": {"seq": head.seq, "hash": head.hash}}))
        return lines

    for line in _offline(config, work):
        sys.stdout.write(line + "\n")


@app.command()
def budget(config: ConfigOpt = None,
           as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The detection time and RTO budget the configuration implies (no service needed)."""
    from drcontrol.budget import compute
    from drcontrol.engine.kinds import KINDS
    from drcontrol.engine.preconditions import KNOWN
    from drcontrol.runbooks.loader import load_runbooks

    try:
        settings = _settings(config)
        result = compute(settings, load_runbooks(settings.runbooks.directory, KINDS, KNOWN))
    except DRError as exc:
        typer.echo(f"drcontrol: error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        typer.echo(f"detection worst case: {result.detection_seconds:.0f} s "
                   f"({result.detection_formula})")
        for name, book in result.runbooks.items():
            typer.echo(f"{name:<14} RTO budget {book.seconds:7.0f} s  (largest: {book.largest})")
        for violation in result.violations:
            typer.echo(f"VIOLATION: {violation['message']}")
    raise typer.Exit(2 if result.violations else 0)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
