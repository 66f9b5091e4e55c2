"""Issue 17, finding 1: an Oracle connection configured for TLS speaks TLS (``tcps``),
verifies the server's certificate and name against the configured CA, or the service
refuses to start. No Oracle server runs here, so the far end is a TLS listener with a
certificate from the project's CA: it sees whether a TLS handshake was completed, which
is the part of the connection these settings decide."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from pathlib import Path

import oracledb
import pytest
from drapply.settings import load_apply_settings
from drcapture.settings import CaptureSettings
from drcommon.config import TlsSettings, load_settings
from drcommon.dbtls import oracle_params
from drcommon.errors import ConfigError
from drcontrol.adapters import open_dr_database
from drcontrol.settings import DrDatabaseSettings


@dataclass
class TlsListener:
    """Accepts TLS with a server certificate; counts completed handshakes and plain bytes."""

    cert: Path
    key: Path
    handshakes: int = 0
    plaintext: list[bytes] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    async def start(self, *, tls: bool = True) -> int:
        context = None
        if tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.cert, self.key)
        self._server = await asyncio.start_server(self._session, "127.0.0.1", 0, ssl=context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                       ) -> None:
        if writer.get_extra_info("ssl_object") is not None:
            self.handshakes += 1
        else:
            self.plaintext.append(await reader.read(64))
        writer.close()  # not an Oracle listener: the client then fails, after TLS or not

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.fixture
async def listener(site_ca: Path) -> TlsListener:
    server = TlsListener(site_ca / "chunan" / "apply_tls.pem", site_ca / "chunan" / "apply_tls.key")
    yield server  # type: ignore[misc]
    await server.stop()


async def _try(params: object) -> Exception:
    def connect() -> None:
        oracledb.connect(params=params).close()  # type: ignore[arg-type]

    with pytest.raises(oracledb.Error) as failed:
        await asyncio.wait_for(asyncio.to_thread(connect), 30)
    return failed.value


async def test_tls_enabled_is_tcps_verified_by_the_ca(listener: TlsListener, site_ca: Path
                                                      ) -> None:
    port = await listener.start()
    tls = TlsSettings(enabled=True, ca_file=site_ca / "ca" / "dr_ca.pem")
    params = oracle_params(f"localhost:{port}/FREEPDB1", tls, key="target.tls", user="u",
                           password="p")
    assert "(PROTOCOL=tcps)" in params.get_connect_string()
    await _try(params)
    assert listener.handshakes == 1, "the client never completed a TLS handshake"


async def test_a_server_the_ca_did_not_sign_or_another_name_is_refused(
        listener: TlsListener, site_ca: Path, tmp_path: Path) -> None:
    port = await listener.start()
    other_ca = tmp_path / "other"
    other_ca.mkdir()
    from tests.integration.control.receivers import self_signed

    stranger, _ = self_signed(other_ca)
    wrong_ca = TlsSettings(enabled=True, ca_file=stranger)
    error = await _try(oracle_params(f"localhost:{port}/FREEPDB1", wrong_ca, key="k",
                                     user="u", password="p"))
    assert "certificate" in str(error).lower()
    assert listener.handshakes == 0
    # The certificate names localhost, apply…; not 127.0.0.1: the client drops the
    # connection before sending anything (python-oracledb matches the name itself).
    right_ca = TlsSettings(enabled=True, ca_file=site_ca / "ca" / "dr_ca.pem")
    error = await _try(oracle_params(f"127.0.0.1:{port}/FREEPDB1", right_ca, key="k",
                                     user="u", password="p"))
    assert "does not match" in str(error)


async def test_without_tls_the_bytes_are_plain(site_ca: Path) -> None:
    server = TlsListener(site_ca / "chunan" / "apply_tls.pem", site_ca / "chunan" / "apply_tls.key")
    port = await server.start(tls=False)
    try:
        await _try(oracle_params(f"localhost:{port}/FREEPDB1", TlsSettings(), key="k",
                                 user="u", password="p"))
        assert server.plaintext and server.plaintext[0][:1] != b"\x16"  # no TLS record
    finally:
        await server.stop()


def test_tls_with_a_plain_tcp_connect_string_refuses_to_start(tmp_path: Path) -> None:
    tls = TlsSettings(enabled=True, ca_file=tmp_path / "ca.pem")
    descriptor = ("(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=db)(PORT=1521))"
                  "(CONNECT_DATA=(SERVICE_NAME=DR)))")
    for dsn in ("tcp://db:1521/DR", descriptor):
        with pytest.raises(ConfigError, match="over tcp"):
            oracle_params(dsn, tls, key="target.tls")
    # apply: [target.tls] on the Oracle kind is checked when the settings load
    config = tmp_path / "apply.toml"
    config.write_text('[target]\nkind = "oracle"\ndsn = "tcp://db:1521/DR"\n'
                      '[target.tls]\nenabled = true\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="over tcp"):
        load_apply_settings(config)
    config.write_text('[target]\nkind = "sqlite"\n[target.tls]\nenabled = true\n',
                      encoding="utf-8")
    with pytest.raises(ConfigError, match="SQLite"):
        load_apply_settings(config)
    # capture's dictionary connection
    with pytest.raises(ConfigError, match="over tcp"):
        load_settings(CaptureSettings, None, database="DB", source={
            "mode": "files", "files": ["x"]}, dictionary={
            "kind": "oracle", "oracle_dsn": "tcp://db:1521/DR", "oracle_user": "dr",
            "tls": {"enabled": True}})
    # control's hooks database, when control builds it at start
    with pytest.raises(ConfigError, match="over tcp"):
        open_dr_database(DrDatabaseSettings(kind="oracle", dsn="tcp://db:1521/DR", user="h",
                                       password="p", tls=tls))  # type: ignore[arg-type]
