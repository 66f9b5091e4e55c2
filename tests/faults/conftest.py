"""Private servers for fault tests: each module that kills a broker or stops a database
gets its own, on free ports and in its own directory, so the session's servers (and
other people's) are never touched. They need what ``drstack`` needs (Java and Maven for
Kafka, PostgreSQL's binaries); without it the tests say so and skip."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from drcommon.devstack.cli import default_cache
from drcommon.devstack.kafka import KafkaBroker, KafkaOptions
from drcommon.devstack.postgres import PostgresOptions, PostgresServer, find_bindir
from drcommon.devstack.process import pid_alive
from drcommon.errors import EnvironmentProblem


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports nobody listens on (held open together while chosen)."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def free_port() -> int:
    return free_ports(1)[0]


@dataclass
class PrivateKafka:
    """A single-node broker this module may kill."""

    broker: KafkaBroker

    @property
    def bootstrap(self) -> str:
        return self.broker.options.bootstrap

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as when the machine or the JVM dies."""
        pid = self.broker.running_pid()
        assert pid is not None, "the private broker is not running"
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while pid_alive(pid):  # a zombie counts as gone
            assert time.monotonic() < deadline, "the broker survived SIGKILL"
            time.sleep(0.05)

    def start(self) -> None:
        self.broker.start(timeout=120.0)


@pytest.fixture(scope="module")
def private_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateKafka]:
    home = tmp_path_factory.mktemp("private-kafka")
    port, controller = free_ports(2)
    broker = KafkaBroker(KafkaOptions(home=home, cache=default_cache(), port=port,
                                      controller_port=controller))  # fmt: skip
    try:
        broker.start(timeout=120.0)
    except EnvironmentProblem as exc:
        pytest.skip(f"a private Kafka broker cannot start here: {exc}")
    yield PrivateKafka(broker)
    broker.stop()


@dataclass
class PrivatePostgres:
    """A PostgreSQL server this module may stop."""

    server: PostgresServer

    @property
    def dsn(self) -> str:
        return self.server.options.dsn

    def stop_immediately(self) -> None:
        """``pg_ctl stop -m immediate``: every backend dies at once, no checkpoint (the
        server recovers from its WAL at the next start), as in a crash."""
        argv = [str(find_bindir() / "pg_ctl"), "stop", "-m", "immediate", "-w",
                "-D", str(self.server.data)]  # fmt: skip
        done = subprocess.run(self.server._as_user(argv), capture_output=True, text=True,
                              check=False)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr

    def start(self) -> None:
        self.server.start()


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    # Under /var/tmp: the postgres user must reach it when we run as root.
    home = Path(tempfile.mkdtemp(prefix="dr-faults-pg-", dir="/var/tmp"))
    os.chmod(home, 0o755)
    server = PostgresServer(PostgresOptions(home=home, port=free_port()))
    try:
        server.start()
    except EnvironmentProblem as exc:
        pytest.skip(f"a private PostgreSQL cannot start here: {exc}")
    yield PrivatePostgres(server)
    server.stop()
    subprocess.run(["rm", "-rf", str(home)], check=False)
