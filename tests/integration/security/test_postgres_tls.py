"""Issue 17, finding 3: PostgreSQL connections with TLS configured are ``verify-full``
(the project's CA, the server's name), whatever the DSN says; without TLS the service
warns at start. A PostgreSQL server with ``ssl = on`` and a certificate from the
project's CA runs for this module."""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from drapply.adapters.postgresql import PostgresSession
from drapply.errors import RetriableSinkError
from drapply.settings import TargetSettings
from drcommon.config import TlsSettings
from drcommon.devstack.postgres import PostgresOptions, PostgresServer
from drcontrol.adapters.postgres_db import PostgresDrDatabase
from drcontrol.settings import DrDatabaseSettings

pytestmark = pytest.mark.postgres


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def tls_server(site_ca: Path) -> Iterator[tuple[int, Path]]:
    """(port, CA file) of a PostgreSQL that offers TLS with apply's certificate."""
    home = Path(tempfile.mkdtemp(prefix="dr-pg-tls-", dir="/var/tmp"))
    home.chmod(0o755)
    certs = home / "certs"
    certs.mkdir()
    shutil.copy(site_ca / "chunan" / "apply_tls.pem", certs / "server.pem")
    shutil.copy(site_ca / "chunan" / "apply_tls.key", certs / "server.key")
    (certs / "server.key").chmod(0o600)
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        for path in (certs, certs / "server.pem", certs / "server.key"):
            os.chown(path, user.pw_uid, user.pw_gid)
    port = _free_port()
    server = PostgresServer(PostgresOptions(home=home, port=port, settings=(
        "ssl=on", f"ssl_cert_file={certs / 'server.pem'}",
        f"ssl_key_file={certs / 'server.key'}")))
    server.start()
    try:
        yield port, site_ca / "ca" / "dr_ca.pem"
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


def _dsn(host: str, port: int, extra: str = "") -> str:
    user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    return f"postgresql://{user}@{host}:{port}/dr{extra}"


def _ssl_in_use(session: PostgresSession) -> bool:
    rows = session.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    return bool(rows[0][0])


def test_tls_setting_is_verify_full_even_against_the_dsn(tls_server: tuple[int, Path]) -> None:
    port, ca = tls_server
    tls = TlsSettings(enabled=True, ca_file=ca)
    # The DSN asks for no TLS at all: the [target.tls] setting wins.
    session = PostgresSession(TargetSettings(kind="postgresql",  # type: ignore[arg-type]
                                             dsn=_dsn("localhost", port, "?sslmode=disable"),
                                             tls=tls))
    try:
        assert _ssl_in_use(session)
    finally:
        session.close()
    # Verified by name: the certificate names localhost, not 127.0.0.1.
    with pytest.raises(RetriableSinkError, match=r"does not match host name|certificate"):
        PostgresSession(TargetSettings(kind="postgresql",  # type: ignore[arg-type]
                                       dsn=_dsn("127.0.0.1", port), tls=tls))
    # …and by CA: the system's CAs did not sign it.
    with pytest.raises(RetriableSinkError, match="certificate"):
        PostgresSession(TargetSettings(kind="postgresql",  # type: ignore[arg-type]
                                       dsn=_dsn("localhost", port),
                                       tls=TlsSettings(enabled=True)))


async def test_control_hooks_database_uses_the_same_rule(tls_server: tuple[int, Path]) -> None:
    port, ca = tls_server
    hooks = PostgresDrDatabase(DrDatabaseSettings(
        kind="postgresql", dsn=_dsn("localhost", port),  # type: ignore[arg-type]
        tls=TlsSettings(enabled=True, ca_file=ca)))
    assert (await hooks.ping())["version"]
    async with await psycopg.AsyncConnection.connect(
            _dsn("localhost", port), **hooks._tls) as conn:
        cursor = await conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        assert (await cursor.fetchone()) == (True,)


def test_without_tls_a_warning_names_the_key(tls_server: tuple[int, Path],
                                             caplog: pytest.LogCaptureFixture,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from drcommon import dbtls

    monkeypatch.setattr(dbtls, "_warned", set())  # once per process: this test's turn
    port, _ = tls_server
    with caplog.at_level(logging.WARNING, logger="drcommon.dbtls"):
        session = PostgresSession(TargetSettings(kind="postgresql",  # type: ignore[arg-type]
                                                 dsn=_dsn("localhost", port)))
        session.close()
        again = PostgresSession(TargetSettings(kind="postgresql",  # type: ignore[arg-type]
                                               dsn=_dsn("localhost", port)))
        again.close()
    warnings = [r for r in caplog.records if "target.tls.enabled = true" in r.getMessage()]
    assert len(warnings) == 1, "one warning, not one per connection"
