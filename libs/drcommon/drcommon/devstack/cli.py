"""``drstack``: start, stop and describe the local stack (Kafka, PostgreSQL).

Both ``up`` and ``down`` are idempotent. Problems (no Java, no Maven, a port taken)
end with one line saying what is missing and where the logs are, and exit code 2.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from drcommon.devstack.kafka import KafkaBroker, KafkaOptions
from drcommon.devstack.postgres import PostgresOptions, PostgresServer
from drcommon.errors import DRError

app = typer.Typer(add_completion=False, help=__doc__, no_args_is_help=True)


def default_home() -> Path:
    """``$DR_STACK_HOME``, else a directory the postgres user can reach when we are root."""
    configured = os.environ.get("DR_STACK_HOME")
    if configured:
        return Path(configured)
    if os.geteuid() == 0:
        return Path("/var/tmp/oracle-dr/stack")
    return Path.home() / ".cache" / "oracle-dr" / "stack"


def default_cache() -> Path:
    configured = os.environ.get("DR_CACHE_HOME")
    return Path(configured) if configured else Path.home() / ".cache" / "oracle-dr"


def _port(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def kafka_broker(home: Path | None = None) -> KafkaBroker:
    return KafkaBroker(
        KafkaOptions(
            home=home or default_home(),
            cache=default_cache(),
            port=_port("DR_STACK_KAFKA_PORT", 19092),
            controller_port=_port("DR_STACK_KAFKA_CONTROLLER_PORT", 19093),
        )
    )


def postgres_server(home: Path | None = None) -> PostgresServer:
    return PostgresServer(
        PostgresOptions(home=home or default_home(), port=_port("DR_STACK_POSTGRES_PORT", 15432))
    )


Flag = Annotated[bool, typer.Option(help="Include this server.")]


@app.command()
def up(kafka: Flag = True, postgres: Flag = True) -> None:
    """Start the local servers (already running ones are left alone)."""
    _guard(lambda: [print(kafka_broker().start())] if kafka else None)
    _guard(lambda: [print(postgres_server().start())] if postgres else None)
    if kafka:
        print(f"export KAFKA_BOOTSTRAP_SERVERS={kafka_broker().options.bootstrap}")
    if postgres:
        print(f"export DR_TEST_POSTGRES_DSN={postgres_server().options.dsn}")


@app.command()
def down(kafka: Flag = True, postgres: Flag = True) -> None:
    """Stop the local servers (not running is fine)."""
    if kafka:
        _guard(lambda: print(kafka_broker().stop()))
    if postgres:
        _guard(lambda: print(postgres_server().stop()))


@app.command()
def status() -> None:
    """Say what runs, where, and where its logs are."""
    print(kafka_broker().status())
    _guard(lambda: print(postgres_server().status()))


def _guard(action: object) -> None:
    try:
        assert callable(action)
        action()
    except DRError as exc:
        print(f"drstack: error: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None


def main() -> None:
    app()


if __name__ == "__main__":
    main()
