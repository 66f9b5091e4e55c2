"""Test harness: real Kafka and PostgreSQL, found or started once per session.

* ``KAFKA_BOOTSTRAP_SERVERS`` points at an existing broker; otherwise the local stack's
  broker (``drstack``) is started and stopped again at the end if this session started it.
* ``DR_TEST_POSTGRES_DSN`` points at an existing PostgreSQL; otherwise the local stack's.
* ``DR_TEST_USE_TESTCONTAINERS=1`` uses testcontainers instead, where a Docker engine runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from drcommon.config import KafkaSettings

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = (ROOT.parent / "shared" / "fixtures" / "redo").resolve()


def _docker_usable() -> bool:
    if os.environ.get("DR_TEST_USE_TESTCONTAINERS") != "1" or not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


@pytest.fixture(scope="session")
def redo_fixtures() -> Path:
    """The shared real-redo fixtures (read-only)."""
    if not FIXTURES.is_dir():
        pytest.fail(f"redo fixtures not found at {FIXTURES}")
    return FIXTURES


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """host:port of a real Kafka broker for this session."""
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if given:
        yield given
        return
    if _docker_usable():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    from drcommon.devstack.cli import kafka_broker

    broker = kafka_broker()
    started_here = broker.running_pid() is None
    print(broker.start())
    yield broker.options.bootstrap
    if started_here and os.environ.get("DR_STACK_KEEP") != "1":
        broker.stop()


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """DSN of a real PostgreSQL database for this session."""
    given = os.environ.get("DR_TEST_POSTGRES_DSN")
    if given:
        yield given
        return
    if _docker_usable():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16") as container:
            yield container.get_connection_url(driver=None)
        return
    from drcommon.devstack.cli import postgres_server

    server = postgres_server()
    started_here = not server.running()
    print(server.start())
    yield server.options.dsn
    if started_here and os.environ.get("DR_STACK_KEEP") != "1":
        server.stop()


@pytest.fixture
def kafka_settings(kafka_bootstrap: str) -> KafkaSettings:
    """Client settings for the session's broker, with a per-test topic prefix."""
    return KafkaSettings(
        bootstrap_servers=kafka_bootstrap, topic_prefix=f"t{uuid.uuid4().hex[:10]}"
    )


@pytest.fixture
def unique() -> str:
    """A short random suffix for names that must not collide between tests."""
    return uuid.uuid4().hex[:10]
