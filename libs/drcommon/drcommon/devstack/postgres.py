"""A real throwaway PostgreSQL server from the Debian packages, on loopback.

``initdb`` a data directory under the stack's home, start it with ``pg_ctl`` on a chosen
port, create the ``dr`` database. PostgreSQL refuses to run as root, so when we are root
the server runs as the ``postgres`` system user the Debian package creates.
Authentication is ``trust`` on 127.0.0.1 only: this server is for development and tests.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from drcommon.devstack.process import ensure_port_free, port_open
from drcommon.errors import EnvironmentProblem

DATABASE = "dr"


@dataclass(frozen=True, slots=True)
class PostgresOptions:
    """Where and how the local PostgreSQL runs."""

    home: Path
    host: str = "127.0.0.1"
    port: int = 15432
    settings: tuple[str, ...] = ()  # extra "name=value" server settings (e.g. ssl=on)

    @property
    def dsn(self) -> str:
        return f"postgresql://{_run_as_user()}@{self.host}:{self.port}/{DATABASE}"


def _run_as_user() -> str:
    if os.geteuid() == 0:
        return "postgres"
    return pwd.getpwuid(os.geteuid()).pw_name


def find_bindir() -> Path:
    """The newest installed PostgreSQL server binaries."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    raise EnvironmentProblem(
        "PostgreSQL server binaries (pg_ctl, initdb) were not found; install them with "
        "'apt-get install postgresql' or point DR_TEST_POSTGRES_DSN at a running server"
    )


class PostgresServer:
    """Init, start, stop and describe one local PostgreSQL server."""

    def __init__(self, options: PostgresOptions) -> None:
        self.options = options
        self.home = options.home / "postgres"
        self.data = self.home / "data"
        self.log_file = self.home / "postgres.log"

    def _as_user(self, argv: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return argv
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise EnvironmentProblem(
                "running as root but there is no 'postgres' system user to run the server; "
                "install the Debian postgresql package or run as a normal user"
            ) from None
        return ["runuser", "-u", "postgres", "--", *argv]

    def _prepare_home(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.home, user.pw_uid, user.pw_gid)
            # The server user must be able to reach its directory through every parent.
            for parent in self.home.parents:
                if parent == Path("/"):
                    break
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    raise EnvironmentProblem(
                        f"{parent} is not traversable by the postgres user; "
                        "set DR_STACK_HOME to a directory under /var/tmp"
                    )

    def running(self) -> bool:
        bindir = find_bindir()
        if not (self.data / "PG_VERSION").exists():
            return False
        result = subprocess.run(
            self._as_user([str(bindir / "pg_ctl"), "status", "-D", str(self.data)]),
            capture_output=True,
            text=True,
            check=False,
        )
        return result.returncode == 0

    def start(self) -> str:
        """Start the server unless it runs already; returns a one-line status."""
        bindir = find_bindir()
        if self.running():
            return f"postgres already running on {self.options.host}:{self.options.port}"
        ensure_port_free(self.options.host, self.options.port, "PostgreSQL")
        self._prepare_home()
        if not (self.data / "PG_VERSION").exists():
            self._run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.data),
                    "-A",
                    "trust",
                    "-U",
                    _run_as_user(),
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ],
                "initdb",
            )
        options = (
            f"-c listen_addresses={self.options.host} -c port={self.options.port} "
            f"-c unix_socket_directories={self.data} -c fsync=on "
            f"-c max_connections=200 -c max_prepared_transactions=20"
        ) + "".join(f" -c {setting}" for setting in self.options.settings)
        self._run(
            [
                str(bindir / "pg_ctl"),
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(self.data),
                "-l",
                str(self.log_file),
                "-o",
                options,
            ],
            "pg_ctl start",
        )
        self._create_database(bindir)
        return (
            f"postgres started on {self.options.host}:{self.options.port}; "
            f"dsn {self.options.dsn}; logs: {self.log_file}"
        )

    def _create_database(self, bindir: Path) -> None:
        psql = [
            str(bindir / "psql"),
            "-h",
            self.options.host,
            "-p",
            str(self.options.port),
            "-U",
            _run_as_user(),
            "-d",
            "postgres",
            "-Atc",
        ]
        exists = subprocess.run(
            self._as_user([*psql, f"SELECT 1 FROM pg_database WHERE datname='{DATABASE}'"]),
            capture_output=True,
            text=True,
            check=False,
        )
        if exists.stdout.strip() != "1":
            self._run([*psql, f"CREATE DATABASE {DATABASE}"], "create database")

    def _run(self, argv: list[str], what: str) -> None:
        result = subprocess.run(self._as_user(argv), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            detail = (result.stdout + result.stderr).strip()
            raise EnvironmentProblem(f"{what} failed: {detail}; see {self.log_file}")

    def stop(self) -> str:
        """Stop the server if it runs; idempotent."""
        if not self.running():
            return "postgres not running"
        bindir = find_bindir()
        self._run(
            [str(bindir / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.data)],
            "pg_ctl stop",
        )
        return "postgres stopped"

    def status(self) -> str:
        if self.running() and port_open(self.options.host, self.options.port):
            where = f"{self.options.host}:{self.options.port}"
            return f"postgres: running on {where}; dsn {self.options.dsn}"
        return "postgres: not running"
