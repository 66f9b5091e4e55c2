"""Fixtures of the security tests (issue 17): the project's own private CA and the
certificates ``deploy/chunan/make-secrets.sh`` makes with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.deploy.conftest import make_secrets


@pytest.fixture(scope="session")
def site_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """make-secrets.sh ``sites`` output: ``ca/dr_ca.pem``, ``chunan/apply_tls.{pem,key}``
    (names apply.…, apply, localhost) and the rest."""
    root = tmp_path_factory.mktemp("dr-ca") / "secrets"
    result = make_secrets("sites", root)
    assert result.returncode == 0, result.stderr
    return root


# control's running service and its users, for the access tests here
from tests.integration.control.conftest import (  # noqa: E402
    control_settings,
    standins,
    team,
)

__all__ = ["control_settings", "site_ca", "standins", "team"]
