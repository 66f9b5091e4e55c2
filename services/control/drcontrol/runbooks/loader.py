"""Loading runbooks: the shipped files, then the operator's directory overriding by name."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from drcommon.errors import ConfigError
from pydantic import ValidationError

from drcontrol.runbooks.model import Runbook

REQUIRED = ("failover", "switchover", "switchback", "app_failover")


def _parse(text: str, origin: str, known_kinds: Iterable[str],
           known_conditions: frozenset[str]) -> Runbook:
    try:
        book = Runbook.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"runbook is not valid TOML: {exc}", file=origin) from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid runbook: {problems}", file=origin) from None
    kinds = set(known_kinds)
    for index, step in enumerate(book.steps):
        if step.kind not in kinds:
            raise ConfigError(
                f"unknown step kind {step.kind!r} (known: {', '.join(sorted(kinds))})",
                file=origin, key=f"steps[{index}].kind")
        unknown = [name for name in step.preconditions if name not in known_conditions]
        if unknown:
            raise ConfigError(f"unknown preconditions {unknown}", file=origin,
                              key=f"steps[{index}].preconditions")
    return book


def load_runbooks(
    directory: Path | None, known_kinds: Iterable[str], known_conditions: Iterable[str]
) -> dict[str, Runbook]:
    """Every runbook by name; a file in ``directory`` replaces the shipped one."""
    kinds = list(known_kinds)
    conditions = frozenset(known_conditions)
    books: dict[str, Runbook] = {}
    shipped = resources.files("drcontrol.runbooks").joinpath("data")
    for entry in shipped.iterdir():
        if entry.name.endswith(".toml"):
            book = _parse(entry.read_text(encoding="utf-8"), f"drcontrol:{entry.name}", kinds,
                          conditions)
            books[book.name] = book
    if directory is not None:
        if not directory.is_dir():
            raise ConfigError("runbook directory does not exist", key="runbooks.directory",
                              file=str(directory))
        for path in sorted(directory.glob("*.toml")):
            book = _parse(path.read_text(encoding="utf-8"), str(path), kinds, conditions)
            books[book.name] = book
    missing = [name for name in REQUIRED if name not in books]
    if missing:
        raise ConfigError(f"runbooks missing: {', '.join(missing)}", key="runbooks.directory")
    return books
