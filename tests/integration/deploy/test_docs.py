"""docs/OPERATIONS.md and deploy/README.md point at things that exist: files in the
repository, commands and subcommands of our programs, the override the first
synchronisation relies on."""

from __future__ import annotations

import importlib
import json
import os
import re

import pytest
from typer.testing import CliRunner, Result

from tests.integration.deploy.compose import ROOT

DOCS = [ROOT / "docs" / "OPERATIONS.md", ROOT / "deploy" / "README.md"]
TEXT = "\n".join(p.read_text(encoding="utf-8") for p in DOCS)
# What the reader types: fenced blocks and `inline code`, not the prose around them.
CODE = "\n".join(
    line.split(" # ")[0]  # shell comments are prose too
    for block in re.findall(r"```[a-z]*\n(.*?)```", TEXT, re.S) + re.findall(r"`([^`\n]+)`", TEXT)
    for line in block.splitlines()
)
# The Typer application behind each console script (pyproject.toml [project.scripts]).
PROGRAMS = {
    "drctl": ("drcontrol.cli.main", "app"),
    "drcontrol": ("drcontrol.__main__", "app"),
    "drapply": ("drapply.cli", "app"),
    "drappha": ("drappha.__main__", "cli"),
    "drcapture": ("drcapture.__main__", "app"),
}


def _commands() -> list[tuple[str, ...]]:
    """(program, subcommand[, subcommand]) as written in the docs' code."""
    found: set[tuple[str, ...]] = set()
    pattern = re.compile(rf"\b({'|'.join(PROGRAMS)}) ([a-z][a-z-]+)(?: ([a-z][a-z-]+))?")
    for match in pattern.finditer(CODE):
        program, first, second = match.groups()
        words = (program, first) + ((second,) if second else ())
        found.add(words)
    return sorted(found)


def _help(words: tuple[str, ...]) -> Result:
    module, name = PROGRAMS[words[0]]
    app = getattr(importlib.import_module(module), name)
    return CliRunner().invoke(app, [*words[1:], "--help"])


def test_repository_paths_in_the_docs_exist() -> None:
    paths = set(re.findall(r"(?<![\w/.])((?:deploy|docs|tests)/[\w./-]+)", TEXT))
    assert len(paths) > 10
    for path in sorted(paths):
        path = path.rstrip(".")
        if path.endswith("/.env"):
            continue  # the operator makes it from env.example
        assert (ROOT / path).exists() or (ROOT / "deploy" / path).exists(), path


@pytest.mark.parametrize("words", _commands(), ids=" ".join)
def test_documented_command_exists(words: tuple[str, ...]) -> None:
    result = _help(words)
    if result.exit_code != 0 and len(words) == 3:
        # The third word was an argument, not a subcommand ("drctl switchover approve <id>").
        result = _help(words[:2])
    assert result.exit_code == 0, f"{' '.join(words)}: {result.output}"


def test_first_synchronisation_override_is_understood() -> None:
    """The catch-up run of section 9 overrides apply's policies from the environment."""
    from drapply.settings import ConflictPolicy, load_apply_settings

    match = re.search(r"DRAPPLY__POLICIES='([^']+)'", TEXT)
    assert match, "OPERATIONS.md no longer shows the catch-up override"
    os.environ["DRAPPLY__POLICIES"] = match[1]
    try:
        settings = load_apply_settings(ROOT / "deploy" / "chunan" / "config" / "apply.toml")
    finally:
        del os.environ["DRAPPLY__POLICIES"]
    assert json.loads(match[1]) == [{"tables": ["*.*"], "policy": "overwrite"}]
    assert [(r.tables, r.policy) for r in settings.policies] == [
        (["*.*"], ConflictPolicy.OVERWRITE)
    ]
