"""A real single-node Apache Kafka broker (KRaft) for development and tests.

The broker's jars come from Maven Central through Maven (no Docker here): a generated
``pom.xml`` pins ``org.apache.kafka:kafka_2.13`` and ``dependency:copy-dependencies``
fills a cache directory once. The storage is formatted with Kafka's own ``StorageTool``
and the broker runs as a detached ``java`` process with a pid file and a log file.
"""

from __future__ import annotations

import base64
import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from drcommon.devstack.process import (
    ensure_port_free,
    read_pid,
    require_tool,
    terminate,
    wait_for_port,
)
from drcommon.errors import EnvironmentProblem

KAFKA_VERSION = "3.9.1"
SCALA_VERSION = "2.13"
SLF4J_BINDING = ("org.slf4j", "slf4j-reload4j", "1.7.36")

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.oracle-dr</groupId><artifactId>kafka-broker</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_{scala}</artifactId>
      <version>{version}</version></dependency>
    <dependency><groupId>{b_group}</groupId><artifactId>{b_artifact}</artifactId>
      <version>{b_version}</version></dependency>
  </dependencies>
</project>
"""

_LOG4J = """log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File={log}
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
"""


@dataclass(frozen=True, slots=True)
class KafkaOptions:
    """Where and how the local broker runs."""

    home: Path
    cache: Path
    host: str = "127.0.0.1"
    port: int = 19092
    controller_port: int = 19093
    version: str = KAFKA_VERSION
    heap: str = "512m"

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"


class KafkaBroker:
    """Resolve, format, start, stop and describe one local broker."""

    def __init__(self, options: KafkaOptions) -> None:
        self.options = options
        self.home = options.home / "kafka"
        self.jars = options.cache / f"kafka-{options.version}" / "libs"
        self.pid_file = self.home / "broker.pid"
        self.log_file = self.home / "logs" / "server.log"
        self.out_file = self.home / "logs" / "broker.out"

    def running_pid(self) -> int | None:
        return read_pid(self.pid_file)

    def resolve_jars(self) -> Path:
        """Fetch the broker's jars from Maven Central once; later calls reuse the cache."""
        marker = self.jars.parent / ".complete"
        if marker.exists():
            return self.jars
        mvn = require_tool("mvn", "install Maven (Debian: apt-get install maven)")
        work = self.jars.parent
        work.mkdir(parents=True, exist_ok=True)
        group, artifact, b_version = SLF4J_BINDING
        (work / "pom.xml").write_text(
            _POM.format(
                scala=SCALA_VERSION,
                version=self.options.version,
                b_group=group,
                b_artifact=artifact,
                b_version=b_version,
            )
        )
        print(
            f"resolving Apache Kafka {self.options.version} from Maven Central "
            f"into {self.jars} (once) …",
            flush=True,
        )
        result = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "dependency:copy-dependencies",
                f"-DoutputDirectory={self.jars}",
                "-DincludeScope=runtime",
            ],
            cwd=work,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
            raise EnvironmentProblem(
                "Maven could not resolve the Kafka broker jars:\n  " + "\n  ".join(tail)
            )
        marker.write_text(self.options.version)
        return self.jars

    def _java(self) -> str:
        java_home = os.environ.get("JAVA_HOME")
        if java_home and Path(java_home, "bin", "java").exists():
            return str(Path(java_home, "bin", "java"))
        return require_tool(
            "java", "install Java 17+ (Debian: apt-get install openjdk-17-jre-headless)"
        )

    def _write_config(self) -> Path:
        opts = self.options
        data = self.home / "data"
        lines = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{opts.host}:{opts.controller_port}",
            "listeners": f"PLAINTEXT://{opts.host}:{opts.port},CONTROLLER://{opts.host}:{opts.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{opts.host}:{opts.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(data),
            "num.partitions": "1",
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "5",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "5",
            "group.initial.rebalance.delay.ms": "0",
            "log.retention.hours": "168",
        }
        config = self.home / "server.properties"
        config.write_text("".join(f"{k}={v}\n" for k, v in lines.items()))
        (self.home / "log4j.properties").write_text(_LOG4J.format(log=self.log_file))
        return config

    def _classpath(self) -> str:
        return f"{self.jars}/*"

    def _format_storage(self, java: str, config: Path) -> None:
        if (self.home / "data" / "meta.properties").exists():
            return
        # Kafka cluster ids are 16 random bytes in URL-safe base64 without padding.
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        result = subprocess.run(
            [
                java,
                "-cp",
                self._classpath(),
                f"-Dlog4j.configuration=file:{self.home / 'log4j.properties'}",
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cid,
                "-c",
                str(config),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise EnvironmentProblem(
                f"formatting Kafka storage failed: {(result.stdout + result.stderr).strip()}"
            )

    def start(self, *, timeout: float = 90.0) -> str:
        """Start the broker unless it runs already; returns a one-line status."""
        pid = self.running_pid()
        if pid is not None:
            return f"kafka already running (pid {pid}) on {self.options.bootstrap}"
        java = self._java()
        self.resolve_jars()
        ensure_port_free(self.options.host, self.options.port, "Kafka")
        ensure_port_free(self.options.host, self.options.controller_port, "the Kafka controller")
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        self._format_storage(java, config)
        with self.out_file.open("ab") as out:
            process = subprocess.Popen(
                [
                    java,
                    f"-Xmx{self.options.heap}",
                    "-Xms128m",
                    "-XX:+UseG1GC",
                    "-Djava.awt.headless=true",
                    f"-Dlog4j.configuration=file:{self.home / 'log4j.properties'}",
                    f"-Dkafka.logs.dir={self.log_file.parent}",
                    "-cp",
                    self._classpath(),
                    "kafka.Kafka",
                    str(config),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid_file.write_text(str(process.pid))
        wait_for_port(
            self.options.host,
            self.options.port,
            timeout=timeout,
            pid=process.pid,
            log=self.log_file,
        )
        return (
            f"kafka {self.options.version} started (pid {process.pid}) on "
            f"{self.options.bootstrap}; logs: {self.log_file}"
        )

    def stop(self) -> str:
        """Stop the broker if it runs; idempotent."""
        pid = self.running_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return "kafka not running"
        clean = terminate(pid, grace=40.0)
        self.pid_file.unlink(missing_ok=True)
        return f"kafka stopped (pid {pid})" + ("" if clean else " after SIGKILL")

    def status(self) -> str:
        pid = self.running_pid()
        if pid is None:
            return "kafka: not running"
        return f"kafka: running (pid {pid}) on {self.options.bootstrap}; logs: {self.log_file}"
