"""TLS for database connections: a ``[… .tls]`` section that asks for protection gets it,
or the service refuses to start with an error naming the key.

* Oracle (python-oracledb, thin mode): ``tcps`` with the CA (``ca_file``, as an SSL
  context) or a wallet (``wallet_dir``), the server's name matched against its certificate
  (``check_hostname``). A connect string that names another protocol (``tcp://…``,
  ``(PROTOCOL=TCP)``) while TLS is enabled is a configuration error: every address of the
  resolved descriptor must be ``tcps``.
* PostgreSQL (libpq through psycopg): ``sslmode=verify-full`` (``verify-ca`` only when
  ``check_hostname = false`` says so), the CA as ``sslrootcert``. Without TLS libpq would
  use ``prefer`` — encryption without any check of whom it talks to — so a service logs a
  warning at start naming the key that would turn TLS on.
"""

from __future__ import annotations

import logging
import re
import ssl
from typing import Any

from drcommon.config import TlsSettings
from drcommon.errors import ConfigError

log = logging.getLogger(__name__)

_PROTOCOL = re.compile(r"\(\s*PROTOCOL\s*=\s*([A-Za-z]+)\s*\)", re.IGNORECASE)


def client_context(tls: TlsSettings, *, key: str) -> ssl.SSLContext:
    """A verifying client context: the configured CA (system CAs if none), the host name
    checked unless ``check_hostname`` is false, the client certificate for mutual TLS."""
    try:
        context = ssl.create_default_context(cafile=str(tls.ca_file) if tls.ca_file else None)
        context.check_hostname = tls.check_hostname
        if tls.cert_file:
            context.load_cert_chain(
                str(tls.cert_file), str(tls.key_file) if tls.key_file else None
            )
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the TLS files: {exc}", key=key) from exc
    return context


def oracle_params(
    dsn: str, tls: TlsSettings, *, key: str, user: str | None = None,
    password: str | None = None,
) -> Any:
    """``oracledb.ConnectParams`` for ``dsn`` with ``tls`` applied (see the module doc).

    Raises :class:`ConfigError` (``key`` names the section) when TLS is enabled and the
    connect string would still reach an address over plain ``tcp``.
    """
    import oracledb

    options: dict[str, Any] = {}
    if user:
        options["user"] = user
    if password:
        options["password"] = password
    if tls.enabled:
        options["protocol"] = "tcps"
        options["ssl_server_dn_match"] = tls.check_hostname
        if tls.wallet_dir is not None:
            options["wallet_location"] = str(tls.wallet_dir)
    params = oracledb.ConnectParams(**options)
    _check_protocols(params, dsn, tls, key=key)
    if tls.enabled and (tls.ca_file is not None or tls.wallet_dir is None):
        params.set(ssl_context=client_context(tls, key=key))
    return params


def check_oracle_dsn(dsn: str, tls: TlsSettings, *, key: str) -> None:
    """Settings-time check (no file is read): with TLS enabled every address ``dsn``
    resolves to must be ``tcps``; raises :class:`ConfigError` otherwise."""
    import oracledb

    params = oracledb.ConnectParams(protocol="tcps") if tls.enabled else oracledb.ConnectParams()
    _check_protocols(params, dsn, tls, key=key, warn=False)


def _check_protocols(params: Any, dsn: str, tls: TlsSettings, *, key: str,
                     warn: bool = True) -> None:
    import oracledb

    try:
        params.parse_connect_string(dsn)
    except oracledb.Error as exc:
        raise ConfigError(f"not a valid Oracle connect string: {exc}", key=key) from None
    protocols = {p.lower() for p in _PROTOCOL.findall(params.get_connect_string())}
    if tls.enabled and protocols != {"tcps"}:
        raise ConfigError(
            "TLS is enabled but the connect string reaches the database over "
            f"{', '.join(sorted(protocols - {'tcps'}))}: drop the protocol from the "
            "connect string or make it tcps",
            key=key,
        )
    if warn and not tls.enabled and "tcps" not in protocols:
        warn_plaintext("Oracle", key)


def postgres_options(tls: TlsSettings, *, key: str) -> dict[str, Any]:
    """psycopg/libpq keyword options for ``tls`` (they override the DSN's own)."""
    if not tls.enabled:
        warn_plaintext("PostgreSQL", key)
        return {}
    if tls.wallet_dir is not None:
        raise ConfigError("wallet_dir is for Oracle; PostgreSQL takes ca_file", key=key)
    options: dict[str, Any] = {"sslmode": "verify-full" if tls.check_hostname else "verify-ca"}
    if tls.ca_file:
        options["sslrootcert"] = str(tls.ca_file)
    else:
        options["sslrootcert"] = "system"  # libpq ≥ 16: the system's trusted CAs
    if tls.cert_file:
        options["sslcert"] = str(tls.cert_file)
    if tls.key_file:
        options["sslkey"] = str(tls.key_file)
    return options


_warned: set[str] = set()


def warn_plaintext(database: str, key: str) -> None:
    """The start-up warning for a database connection that is not protected by TLS:
    once per key and process, not at every reconnect."""
    if key in _warned:
        return
    _warned.add(key)
    log.warning(
        "%s connection without verified TLS: anyone on the path can read or alter it; "
        "set %s.enabled = true with ca_file", database, key, extra={"key": key}
    )
