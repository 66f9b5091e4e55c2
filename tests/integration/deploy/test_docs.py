"""docs/OPERATIONS.md and deploy/README.md point at things that exist: files in the
repository, commands and subcommands of our programs, the override the first
synchronisation relies on."""

from __future__ import annotations

import importlib
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


def test_first_synchronisation_loads_at_an_scn_with_the_documented_settings() -> None:
    """Section 9 copies with ``drapply load`` (no overwrite catch-up: the overlap is
    decided by the SCN), and the source settings it passes in the environment are
    understood on top of the site's apply.toml."""
    from drapply.settings import SourceDbKind, load_apply_settings

    assert "DRAPPLY__POLICIES" not in TEXT, "the first synchronisation no longer overwrites"
    assert re.search(r"drapply load --config /etc/dr/apply\.toml --scn now", CODE)
    given = dict(re.findall(r"-e (DRAPPLY__SOURCE_DB__\w+)=(\S+)", TEXT))
    assert set(given) == {"DRAPPLY__SOURCE_DB__KIND", "DRAPPLY__SOURCE_DB__DSN",
                          "DRAPPLY__SOURCE_DB__USER", "DRAPPLY__SOURCE_DB__PASSWORD_FILE"}
    os.environ.update(given)
    try:
        settings = load_apply_settings(ROOT / "deploy" / "chunan" / "config" / "apply.toml")
    finally:
        for key in given:
            del os.environ[key]
    assert settings.source_db.kind is SourceDbKind.ORACLE
    assert settings.source_db.user == "DRVERIFY"
    assert str(settings.source_db.password_file) == "/run/secrets/drverify_source_password"
