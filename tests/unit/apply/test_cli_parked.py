"""``drapply parked retry|discard`` against an embedded SQLite target: an unknown xid is
named, and nothing is audited as done."""

from __future__ import annotations

from pathlib import Path

import pytest
from drapply.cli import app
from typer.testing import CliRunner


@pytest.mark.parametrize("decision", ["retry", "discard"])
def test_an_unknown_xid_is_named(tmp_path: Path, decision: str) -> None:
    config = tmp_path / "apply.toml"
    config.write_text(
        f'[target]\nkind = "sqlite"\npath = "{tmp_path / "dr.sqlite"}"\n', encoding="utf-8"
    )
    result = CliRunner().invoke(
        app, ["parked", decision, "--config", str(config), "0A.0B.0C", "--requested-by", "ops"]
    )
    assert result.exit_code != 0
    assert "no parked transaction with this xid" in result.output
    assert "0A.0B.0C" in result.output
