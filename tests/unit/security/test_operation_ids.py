"""Issue 17, finding 9: an operation id that starts with '-' never reaches a command as an
option: the APIs refuse it, and appha's command runner refuses an argument that would
start with '-' only because a placeholder was filled."""

from __future__ import annotations

from pathlib import Path

import pytest
from drappha.adapters import ActionContext
from drappha.adapters.command import CommandActionRunner
from drappha.api import SwitchBody
from drappha.specs import CommandAction
from drcommon.ids import OPERATION_ID
from pydantic import ValidationError


@pytest.mark.parametrize("value", ["--force", "-x", "", " op", "op;rm", "op x", "a" * 201])
def test_bad_operation_ids_are_refused(value: str) -> None:
    assert OPERATION_ID.fullmatch(value) is None
    with pytest.raises(ValidationError):
        SwitchBody(operation_id=value)
    with pytest.raises(ValidationError):
        SwitchBody(operation_id="op-1", compensates=value)


@pytest.mark.parametrize("value", ["op-3f2a9c1d7e6b", "auto-his-1a2b", "7", "m-1.2:3_x"])
def test_good_operation_ids_pass(value: str) -> None:
    assert SwitchBody(operation_id=value).operation_id == value


async def test_a_placeholder_never_becomes_an_option(tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    script = tmp_path / "act.sh"
    script.write_text(f'#!/bin/sh\necho "$@" > {ran}\n', encoding="utf-8")
    script.chmod(0o755)
    runner = CommandActionRunner(CommandAction(argv=[str(script), "{operation_id}"]))
    refused = await runner.run(ActionContext("his", "standby", "--force", ()))
    assert not refused.ok and "option" in refused.detail and not ran.exists()
    done = await runner.run(ActionContext("his", "standby", "op-1", ()))
    assert done.ok and ran.read_text().strip() == "op-1"
    # an option the configuration itself writes stays allowed
    flagged = CommandActionRunner(CommandAction(argv=[str(script), "--op={operation_id}"]))
    assert (await flagged.run(ActionContext("his", "standby", "op-2", ()))).ok
