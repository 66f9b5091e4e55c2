"""drctl's global options and the error-to-exit-code wrapper every command uses."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import typer

from drcontrol.cli.client import CliError, ControlClient, resolve_token

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class CliState:
    """Set by the top-level callback from --url/--token-file/--json or the environment."""

    url: str = "http://127.0.0.1:8700"
    token_file: Path | None = None
    as_json: bool = False
    timeout: float = 30.0
    _client: ControlClient | None = None

    def client(self) -> ControlClient:
        if self._client is None:
            self._client = ControlClient(self.url, resolve_token(self.token_file), self.timeout)
        return self._client

    def emit(self, value: Any, human: Callable[[Any], None]) -> None:
        """JSON for scripts, ``human`` for people."""
        if self.as_json:
            typer.echo(json.dumps(value, indent=2, ensure_ascii=False))
        else:
            human(value)


STATE = CliState()


def handled(command: Callable[P, R]) -> Callable[P, R]:
    """Turn CliError into one line on stderr and its exit code."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except CliError as exc:
            typer.echo(f"drctl: {exc.message}", err=True)
            raise typer.Exit(exc.code) from None

    return wrapper
