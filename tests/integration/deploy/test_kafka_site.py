"""The Chun'an Kafka configuration, run for real: one broker from the one-broker layout
(deploy/chunan/kafka/single.env), started from the same jars the dev stack uses.

What is the site's own: server.properties (PEM key stores, config providers, SASL_SSL on
EXTERNAL, mTLS on INTERNAL and CONTROLLER, principal mapping, StandardAuthorizer), the
compose environment turned into properties the way the apache/kafka image does, the
secrets from make-secrets.sh, format-storage.sh (SCRAM users) and acls.sh. What is
changed to run here, and only that: file paths (where the container mounts them), the
three ports (free ones instead of 9093-9095), and name resolution — the site's host names
resolve to 127.0.0.1 through a hosts file for the JVM and an in-process resolver for the
Python clients, since no DNS for them runs here. Certificates are checked by name as at
the site.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from drcommon.config import KafkaSettings
from drcommon.errors import DRError
from drcommon.kafka import (
    TopicSpec,
    client_options,
    committed_consumer,
    ensure_topics,
    transactional_producer,
)

from tests.integration.deploy.conftest import BY_NAME, KAFKA_DIR
from tests.integration.deploy.settings_view import load_service_settings

pytestmark = pytest.mark.slow
SITE_PORTS = (9093, 9094, 9095)
# Environment the image reads for itself, not broker properties.
NOT_PROPERTIES = {"KAFKA_HEAP_OPTS", "KAFKA_OPTS", "KAFKA_JMX_OPTS", "KAFKA_LOG4J_OPTS"}


def env_to_property(name: str) -> str:
    """The apache/kafka image's rule: ___ is '-', __ is '_', _ is '.'."""
    body = name.removeprefix("KAFKA_").lower()
    return body.replace("___", "\0").replace("__", "\1").replace("_", ".").replace(
        "\0", "-").replace("\1", "_")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _kafka_jars() -> Path:
    from drcommon.devstack.cli import kafka_broker

    broker = kafka_broker()
    return broker.resolve_jars()


@dataclass
class Broker:
    """The running broker and how to reach it from here."""

    host: str
    ports: dict[int, int]  # site port -> the port used here
    secrets: Path  # what the container sees as /run/secrets
    hosts_file: Path
    process: subprocess.Popen[bytes]
    log: Path

    def remap(self, text: str) -> str:
        text = text.replace("/run/secrets/", f"{self.secrets}/")
        for site, here in self.ports.items():
            text = re.sub(rf":{site}\b", f":{here}", text)
        return text


def _tool(bin_dir: Path, name: str, main: str, jars: Path, hosts_file: Path) -> None:
    """A stand-in for the distribution's bin/<name>.sh: the same Java main class."""
    script = bin_dir / name
    script.write_text(
        "#!/bin/sh\n"
        f'exec java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto '
        f'-Djdk.net.hosts.file={hosts_file} -Dlog4j.configuration=file:'
        f'{bin_dir / "tools-log4j.properties"} -cp "{jars}/*" {main} "$@"\n',
        encoding="utf-8",
    )
    script.chmod(0o755)


def _properties(broker_env: dict[str, str]) -> dict[str, str]:
    props = {}
    for name, value in broker_env.items():
        if name.startswith("KAFKA_") and name not in NOT_PROPERTIES:
            props[env_to_property(name)] = value
    return props


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory, secrets_root: Path) -> Iterator[Broker]:
    if shutil.which("java") is None:
        pytest.fail("Java is needed for the Kafka broker (scripts/setup.sh installs it)")
    jars = _kafka_jars()
    work = tmp_path_factory.mktemp("kafka-site")
    compose = BY_NAME["kafka-single"].load(secrets_root)
    service = compose.services["kafka"]
    host = service["hostname"]
    run_secrets = work / "run-secrets"
    run_secrets.mkdir()
    ports = {site: _free_port() for site in SITE_PORTS}
    hosts_file = work / "hosts"
    # The JVM then resolves every name from this file, its own host name included.
    hosts_file.write_text(f"127.0.0.1 localhost {socket.gethostname()} {host}\n",
                          encoding="utf-8")
    process: subprocess.Popen[bytes] | None = None
    log = work / "server.log"
    (work / "log4j.properties").write_text(
        "log4j.rootLogger=INFO, file\nlog4j.appender.file=org.apache.log4j.FileAppender\n"
        f"log4j.appender.file.File={log}\n"
        "log4j.appender.file.layout=org.apache.log4j.PatternLayout\n"
        "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n\n",
        encoding="utf-8",
    )
    bin_dir = work / "bin"
    bin_dir.mkdir()
    (bin_dir / "tools-log4j.properties").write_text(
        "log4j.rootLogger=WARN, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\n"
        "log4j.appender.stderr.Target=System.err\n"
        "log4j.appender.stderr.layout=org.apache.log4j.PatternLayout\n"
        "log4j.appender.stderr.layout.ConversionPattern=%p %m%n\n",
        encoding="utf-8",
    )
    _tool(bin_dir, "kafka-storage.sh", "kafka.tools.StorageTool", jars, hosts_file)
    _tool(bin_dir, "kafka-acls.sh", "kafka.admin.AclCommand", jars, hosts_file)
    placeholder = Broker(host, ports, run_secrets, hosts_file, None, log)  # type: ignore[arg-type]
    for target, source in compose.secrets("kafka").items():
        text = source.read_text(encoding="utf-8")
        (run_secrets / target.name).write_text(placeholder.remap(text), encoding="utf-8")
    server = placeholder.remap((KAFKA_DIR / "server.properties").read_text(encoding="utf-8"))
    server = server.replace("log.dirs=/var/lib/kafka/data", f"log.dirs={work / 'data'}")
    (work / "server.properties").write_text(server, encoding="utf-8")
    env = {k: placeholder.remap(v) for k, v in compose.environment("kafka").items()}
    # What the image's configure step derives: listeners stay from the file.
    rendered = server + "".join(f"{k}={v}\n" for k, v in _properties(env).items())
    (work / "broker.properties").write_text(rendered, encoding="utf-8")
    # The kafka service's environment, as in `docker compose run kafka`.
    fmt_env = {
        "PATH": os.environ["PATH"],
        "HOME": str(work),
        **env,
        "KAFKA_BIN": str(bin_dir),
        "SECRETS_DIR": str(run_secrets),
        "SERVER_PROPERTIES": str(work / "server.properties"),
        "KAFKA_LOG_DIRS": str(work / "data"),
    }
    for attempt in ("formatted node", "already formatted"):
        result = subprocess.run(["bash", str(KAFKA_DIR / "format-storage.sh")], env=fmt_env,
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        assert attempt in result.stdout
        assert "Dr1" not in result.stdout + result.stderr, "a password was printed"
    with (work / "stdout.log").open("wb") as out:
        process = subprocess.Popen(
            ["java", "-Xmx512m", "-Xms128m", f"-Djdk.net.hosts.file={hosts_file}",
             f"-Dlog4j.configuration=file:{work / 'log4j.properties'}", "-cp", f"{jars}/*",
             "kafka.Kafka", str(work / "broker.properties")],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    running = Broker(host, ports, run_secrets, hosts_file, process, log)
    try:
        _wait_for(running, ports[9093])
        acls = subprocess.run(
            ["bash", str(KAFKA_DIR / "acls.sh")],
            env={**os.environ, "KAFKA_BIN": str(bin_dir),
                 "ADMIN_CONFIG": str(run_secrets / "kafka-admin.properties"),
                 "BOOTSTRAP": f"{host}:{ports[9093]}"},
            capture_output=True, text=True, timeout=180, check=False,
        )
        assert acls.returncode == 0, acls.stdout + acls.stderr
        assert "User:drcapture" in acls.stdout and "User:drapply" in acls.stdout
        yield running
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def _wait_for(broker: Broker, port: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if broker.process.poll() is not None:
            pytest.fail(f"broker exited:\n{_tail(broker.log)}")
        if "started (kafka.server.KafkaRaftServer)" in _tail(broker.log, 400):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return
        time.sleep(0.5)
    pytest.fail(f"broker did not start in {timeout} s:\n{_tail(broker.log)}")


def _tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


@pytest.fixture
def site_names(broker: Broker, monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolve the site's host names to 127.0.0.1 in this process (no DNS runs here)."""
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == broker.host else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


def _client_settings(broker: Broker, site: str, service: str, program: str,
                     secrets_root: Path) -> KafkaSettings:
    """A service's own Kafka settings, as its container sees them, pointed at this broker."""
    compose = BY_NAME[site].load(secrets_root)
    settings: Any = load_service_settings(compose, service, program)
    kafka: KafkaSettings = settings.kafka
    mounted = compose.secrets(service)
    assert kafka.tls.ca_file is not None and kafka.sasl_password_file is not None
    return kafka.model_copy(update={
        "bootstrap_servers": f"{broker.host}:{broker.ports[9093]}",
        "sasl_password_file": mounted[kafka.sasl_password_file],
        "tls": kafka.tls.model_copy(update={"ca_file": mounted[kafka.tls.ca_file]}),
    })


@pytest.mark.usefixtures("site_names")
async def test_capture_publishes_and_apply_reads_through_the_site_security(
    broker: Broker, secrets_root: Path
) -> None:
    capture = _client_settings(broker, "hangzhou", "capture", "drcapture", secrets_root)
    apply = _client_settings(broker, "chunan", "apply", "drapply", secrets_root)
    control = _client_settings(broker, "chunan", "control", "drcontrol", secrets_root)
    assert (capture.security_protocol, capture.compression) == ("SASL_SSL", "zstd")
    topic = "dr.HZRAC.SIHIS"
    await ensure_topics(capture, [TopicSpec(topic, replication=1)])
    producer = transactional_producer(capture, "drcapture-HZRAC-hz-rac")
    await asyncio.wait_for(producer.start(), 60)
    try:
        await producer.begin_transaction()
        await producer.send_and_wait(topic, b'{"xid": "1.2.3"}' * 200, key=b"1.2.3")
        await producer.commit_transaction()
    finally:
        await producer.stop()
    consumer = committed_consumer(apply, group_id="drapply")
    await asyncio.wait_for(consumer.start(), 60)
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        batch = await consumer.getmany(partition, timeout_ms=20000)
        records = batch.get(partition, [])
        assert [r.key for r in records] == [b"1.2.3"]
        assert records[0].value == b'{"xid": "1.2.3"}' * 200
    finally:
        await consumer.stop()
    admin = AIOKafkaAdminClient(**client_options(control))
    await asyncio.wait_for(admin.start(), 60)
    try:
        assert topic in await admin.list_topics()
    finally:
        await admin.close()


@pytest.mark.usefixtures("site_names")
async def test_wrong_password_and_missing_acl_are_refused(
    broker: Broker, secrets_root: Path, tmp_path: Path
) -> None:
    capture = _client_settings(broker, "hangzhou", "capture", "drcapture", secrets_root)
    wrong = tmp_path / "wrong"
    wrong.write_text("Dr1NotThePassword", encoding="utf-8")
    impostor = capture.model_copy(update={"sasl_password_file": wrong})
    with pytest.raises((DRError, KafkaError)):
        await ensure_topics(impostor, [TopicSpec("dr.HZRAC.OTHER", replication=1)], timeout=30)
    control = _client_settings(broker, "chunan", "control", "drcontrol", secrets_root)
    producer = transactional_producer(control, "drcapture-HZRAC-hz-rac")
    with pytest.raises(KafkaError):
        await asyncio.wait_for(producer.start(), 60)  # control may not write
    await producer.stop()
