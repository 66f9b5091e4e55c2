"""Every shell script under deploy/ is valid bash, executable, and stops on errors."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.integration.deploy.compose import ROOT

SCRIPTS = sorted((ROOT / "deploy").rglob("*.sh"))


def test_there_are_scripts() -> None:
    names = {p.name for p in SCRIPTS}
    assert {"make-secrets.sh", "format-storage.sh", "acls.sh", "10-dr-roles.sh"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=[str(p.relative_to(ROOT)) for p in SCRIPTS])
def test_script_parses_and_is_strict(script: Path) -> None:
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True,
                            timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    assert os.access(script, os.X_OK), f"{script} is not executable"
    text = script.read_text(encoding="utf-8")
    assert text.startswith("#!/"), "a shebang names the interpreter"
    assert "set -eu" in text or "set -euo pipefail" in text, "stop at the first failure"
