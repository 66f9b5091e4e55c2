"""make-secrets.sh: what it makes, how it protects it, and that the certificates work
(real TLS handshakes over loopback, checked against the names the configs use)."""

from __future__ import annotations

import hashlib
import os
import socket
import ssl
import stat
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from drcommon.config import HttpSettings
from drcommon.errors import ConfigError

from tests.integration.deploy.compose import Compose
from tests.integration.deploy.conftest import DEPLOYMENTS, make_secrets


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# The user each image's processes run as (issue 17: secrets readable by their reader
# only): our image's USER, apache/kafka's appuser, postgres after its entrypoint's gosu,
# Oracle Database Free's oracle (primary group oinstall).
IMAGE_USERS = {"oracle-dr": (10001, 10001), "apache/kafka": (1000, 1000),
               "postgres": (999, 999),
               "container-registry.oracle.com/database/free": (54321, 54321)}
PUBLIC = (".pub", "dr_ca.pem", "_tls.pem")


def container_user(compose: Compose, service: str) -> tuple[int, set[int]]:
    """(uid, group ids) of a compose service's processes."""
    spec = compose.services[service]
    if "user" in spec:
        uid, _, gid = str(spec["user"]).partition(":")
        groups = {int(gid or uid)}
        user = int(uid)
    else:
        image = str(spec.get("image", "")).split(":")[0].split("/")[-1]
        key = next(k for k in IMAGE_USERS if k.split("/")[-1] == image)
        user, primary = IMAGE_USERS[key]
        groups = {primary}
    return user, groups | {int(g) for g in spec.get("group_add", [])}


def _readable_by(path: Path, uid: int, gids: set[int]) -> bool:
    info = path.stat()
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid == uid:
        return bool(mode & 0o400)
    if info.st_gid in gids:
        return bool(mode & 0o040)
    return bool(mode & 0o004)


def test_directories_are_closed_and_secrets_are_0400_or_0440(secrets_root: Path) -> None:
    """Issue 17, finding 11: no secret is world-readable; only certificates are."""
    for directory in (secrets_root, secrets_root / "chunan", secrets_root / "hangzhou",
                      secrets_root / "eval", secrets_root / "ca", secrets_root / "shared"):
        assert _mode(directory) == 0o700, directory
    for part in ("chunan", "hangzhou", "eval", "shared"):
        for file in (secrets_root / part).iterdir():
            if file.name.endswith(PUBLIC):
                assert _mode(file) == 0o444, file
            else:
                assert _mode(file) in (0o400, 0o440), f"{file}: {oct(_mode(file))}"
    assert _mode(secrets_root / "ca" / "dr_ca.key") == 0o400
    assert not (secrets_root / "chunan" / "dr_ca.key").exists(), "the CA key stays apart"


@pytest.mark.skipif(os.geteuid() != 0, reason="make-secrets.sh sets owners only as root")
def test_each_secret_is_readable_by_the_containers_that_mount_it_and_no_other(
        secrets_root: Path) -> None:
    readers: dict[Path, set[tuple[int, frozenset[int]]]] = {}
    for deployment in DEPLOYMENTS:
        compose = deployment.load(secrets_root)
        for service in compose.services:
            uid, gids = container_user(compose, service)
            for host in compose.secrets(service).values():
                readers.setdefault(host.resolve(), set()).add((uid, frozenset(gids)))
                assert _readable_by(host, uid, gids), f"{deployment.name}/{service}: {host}"
    everyone = {(uid, gids) for found in readers.values() for uid, gids in found}
    for host, allowed in readers.items():
        if host.name.endswith(PUBLIC):
            continue
        allowed_uids = {uid for uid, _ in allowed}  # the DR services share uid 10001
        for uid, gids in everyone:
            if uid not in allowed_uids:
                assert not _readable_by(host, uid, set(gids)), f"{host} readable by uid {uid}"


def test_rerun_changes_nothing(secrets_root: Path) -> None:
    def digest() -> dict[Path, str]:
        return {p: hashlib.sha256(p.read_bytes()).hexdigest()
                for p in secrets_root.rglob("*") if p.is_file()}

    before = digest()
    for kind, target in (("sites", secrets_root), ("eval", secrets_root / "eval")):
        result = make_secrets(kind, target)
        assert result.returncode == 0, result.stderr
        assert "created" not in result.stdout
    assert digest() == before


def test_tokens_pass_the_services_own_checks(secrets_root: Path) -> None:
    for part in ("chunan", "hangzhou", "eval"):
        for file in (secrets_root / part).glob("*_token"):
            if file.name in ("appha_control_token", "lb_api_token"):
                assert file.read_text() == "", "filled in later by the operator"
                continue
            HttpSettings(service_token_file=file).token(key=file.name)
    weak = secrets_root / "weak"
    weak.write_text("changeme")
    with pytest.raises(ConfigError):
        HttpSettings(service_token_file=weak).token(key="weak")


def test_both_sites_share_what_crosses_the_wan(secrets_root: Path) -> None:
    for name in ("capture_token", "kafka_drcapture_password", "dr_ca.pem"):
        assert (secrets_root / "chunan" / name).read_bytes() == (
            secrets_root / "hangzhou" / name
        ).read_bytes(), name
    admin = (secrets_root / "chunan" / "kafka-admin.properties").read_text()
    assert f'password="{(secrets_root / "chunan" / "kafka_admin_password").read_text()}"' in admin
    dsn = (secrets_root / "eval" / "drhooks_db_dsn").read_text()
    assert f":{(secrets_root / 'eval' / 'drhooks_db_password').read_text()}@postgres:" in dsn


def _handshake(cert: Path, key: Path, ca: Path, name: str) -> None:
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(ca))
    listener = socket.create_server(("127.0.0.1", 0))
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            connection, _ = listener.accept()
            with server_context.wrap_socket(connection, server_side=True) as tls:
                tls.sendall(b"ok")
        except (OSError, ssl.SSLError) as exc:
            errors.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with socket.create_connection(listener.getsockname(), timeout=10) as raw, \
                client_context.wrap_socket(raw, server_hostname=name) as tls:
            assert tls.recv(2) == b"ok"
    finally:
        thread.join(timeout=10)
        listener.close()


@pytest.mark.parametrize(("part", "service", "names"), [
    ("hangzhou", "capture", ["capture.hangzhou.dr.example", "capture", "localhost"]),
    ("chunan", "apply", ["apply.chunan.dr.example", "apply"]),
    ("chunan", "appha", ["appha.chunan.dr.example"]),
    ("chunan", "control", ["control.chunan.dr.example", "control"]),
])
def test_service_certificates_verify_by_name(
    secrets_root: Path, part: str, service: str, names: list[str]
) -> None:
    directory = secrets_root / part
    cert, key = directory / f"{service}_tls.pem", directory / f"{service}_tls.key"
    for name in names:
        _handshake(cert, key, directory / "dr_ca.pem", name)
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(cert, key, directory / "dr_ca.pem", "kafka-1.chunan.dr.example")


def test_broker_keystores_hold_an_encrypted_key_for_their_certificate(
    secrets_root: Path,
) -> None:
    directory = secrets_root / "chunan"
    ca = x509.load_pem_x509_certificate((directory / "dr_ca.pem").read_bytes())
    for node in (1, 2, 3):
        pem = (directory / f"kafka-{node}.keystore.pem").read_bytes()
        assert b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in pem
        assert b"-----BEGIN PRIVATE KEY-----" not in pem
        credentials = (directory / f"kafka-{node}.credentials.properties").read_text()
        password = credentials.removeprefix("key.password=").encode()
        end = b"-----END ENCRYPTED PRIVATE KEY-----"
        key_block, chain = pem.split(end)
        key = serialization.load_pem_private_key(key_block + end + b"\n", password=password)
        certs = x509.load_pem_x509_certificates(chain)
        leaf = certs[0]
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        der = serialization.Encoding.DER
        assert leaf.public_key().public_bytes(der, spki) == key.public_key().public_bytes(der, spki)
        assert leaf.issuer == ca.subject and certs[-1] == ca
        cn = leaf.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
        assert cn == f"kafka-{node}.chunan.dr.example"
        usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert {u._name for u in usage} == {"serverAuth", "clientAuth"}  # mTLS both ways
