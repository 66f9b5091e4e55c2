"""The deployments under test: every compose file with the env it is meant to run with,
and secrets made by ``deploy/chunan/make-secrets.sh`` (real openssl, in a temp dir)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.deploy.compose import ROOT, Compose, load

MAKE_SECRETS = ROOT / "deploy" / "chunan" / "make-secrets.sh"
KAFKA_DIR = ROOT / "deploy" / "chunan" / "kafka"
START_SCN = "1234567"  # the operator's initial-load SCN in deploy/hangzhou/.env


@dataclass(frozen=True)
class Deployment:
    """One compose file and how it is run (env file, the secrets directory)."""

    name: str
    path: Path
    env_file: Path | None
    secrets_key: str  # the variable that names the secrets directory
    secrets_part: str  # which part of make-secrets.sh's output it mounts

    def load(self, secrets_root: Path) -> Compose:
        env = {self.secrets_key: str(secrets_root / self.secrets_part)}
        if self.name == "hangzhou":
            env["DR_START_SCN"] = START_SCN
        return load(self.path, env, self.env_file)


DEPLOYMENTS = [
    Deployment("eval", ROOT / "docker-compose.yml", None, "DR_EVAL_SECRETS", "eval"),
    Deployment(
        "hangzhou",
        ROOT / "deploy/hangzhou/docker-compose.yml",
        ROOT / "deploy/hangzhou/env.example",
        "DR_SECRETS",
        "hangzhou",
    ),
    Deployment(
        "chunan",
        ROOT / "deploy/chunan/docker-compose.yml",
        ROOT / "deploy/chunan/env.example",
        "DR_SECRETS",
        "chunan",
    ),
    *(
        Deployment(
            f"kafka-{stem}",
            KAFKA_DIR / "docker-compose.yml",
            KAFKA_DIR / f"{stem}.env",
            "DR_SECRETS",
            "chunan",
        )
        for stem in ("kafka-1", "kafka-2", "kafka-3", "single")
    ),
]
BY_NAME = {d.name: d for d in DEPLOYMENTS}


def make_secrets(kind: str, directory: Path) -> subprocess.CompletedProcess[str]:
    """Run make-secrets.sh (``eval`` or ``sites``) into ``directory``."""
    return subprocess.run(
        ["bash", str(MAKE_SECRETS), kind, str(directory)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture(scope="session")
def secrets_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """make-secrets.sh output for both sites (``chunan``, ``hangzhou``) and ``eval``."""
    root = tmp_path_factory.mktemp("dr-secrets") / "secrets"
    for kind, target in (("sites", root), ("eval", root / "eval")):
        result = make_secrets(kind, target)
        assert result.returncode == 0, result.stderr
    return root


@pytest.fixture(params=DEPLOYMENTS, ids=[d.name for d in DEPLOYMENTS])
def deployment(request: pytest.FixtureRequest) -> Deployment:
    """Each compose file in turn."""
    value: Deployment = request.param
    return value


@pytest.fixture
def compose(deployment: Deployment, secrets_root: Path) -> Compose:
    """The compose file of ``deployment``, interpolated with its env."""
    return deployment.load(secrets_root)
