"""The compose files and the services' TOML files agree with each other.

Each DR service's settings are built as its container builds them (the mounted TOML
plus the compose environment), then checked against the compose file: ports, health
checks, TLS, secrets, state volumes, redo mounts; and across services: Kafka addresses
and users, peer URLs, tokens shared between the sites.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from drcommon.config import HttpSettings, KafkaSettings, ServiceSettings

from tests.integration.deploy.compose import ROOT, Compose, read_env_file
from tests.integration.deploy.conftest import BY_NAME, KAFKA_DIR, Deployment
from tests.integration.deploy.settings_view import file_settings, load_service_settings

SITES = ("eval", "hangzhou", "chunan")
SERVICES = [
    (site, service, program)
    for site in SITES
    for service, program in BY_NAME[site].load(Path("/x")).dr_services().items()
]
IDS = [f"{site}-{service}" for site, service, _ in SERVICES]
SECRETS = Path("/run/secrets")


@pytest.fixture(params=SERVICES, ids=IDS)
def case(
    request: pytest.FixtureRequest, secrets_root: Path
) -> tuple[Compose, str, str, ServiceSettings]:
    """(compose file, service, program, the service's settings) for each DR service."""
    site, service, program = request.param
    compose = BY_NAME[site].load(secrets_root)
    return compose, service, program, load_service_settings(compose, service, program)


def _http(settings: ServiceSettings) -> HttpSettings:
    http = getattr(settings, "http")  # noqa: B009 - every service settings class has one
    assert isinstance(http, HttpSettings)
    return http


def _kafka(settings: ServiceSettings) -> KafkaSettings | None:
    kafka = getattr(settings, "kafka", None)
    return kafka if isinstance(kafka, KafkaSettings) else None


def test_every_site_runs_its_services() -> None:
    found = {(site, program) for site, _, program in SERVICES}
    assert ("eval", "drapply") in found and ("eval", "drcapture") in found
    assert ("eval", "drappha") in found and ("eval", "drcontrol") in found
    assert {p for s, p in found if s == "hangzhou"} == {"drcapture"}
    assert {p for s, p in found if s == "chunan"} == {"drapply", "drappha", "drcontrol"}


def test_port_health_check_and_tls_agree(case: tuple[Compose, str, str, ServiceSettings]) -> None:
    compose, service, _, settings = case
    http = _http(settings)
    assert http.host == "0.0.0.0", "other containers and hosts must reach the API"
    scheme = "https" if http.tls_cert_file else "http"
    if http.tls_cert_file:
        assert http.tls_key_file, "a certificate needs its key"
    spec = compose.services[service]
    assert spec["healthcheck"]["test"] == [
        "CMD",
        "dr-healthcheck",
        f"{scheme}://127.0.0.1:{http.port}/health",
    ]
    published = [str(p).rsplit(":", 1)[-1] for p in spec.get("ports", [])]
    assert published == [str(http.port)], f"{service} publishes {spec.get('ports')}"
    default = {"drcontrol": 8700, "drcapture": 8701, "drapply": 8702, "drappha": 8703}
    assert http.port == default[compose.command(service)[0]], "docs/INTERFACES.md ports"


def test_every_file_setting_is_a_mounted_secret_or_file(
    case: tuple[Compose, str, str, ServiceSettings],
) -> None:
    compose, service, _, settings = case
    secrets = compose.secrets(service)
    referenced = set()
    for key, path in file_settings(settings):
        if SECRETS in path.parents:
            assert path in secrets, f"{key} = {path}: no such secret in {service}"
            referenced.add(path)
        else:
            host = compose.host_file(service, path)
            assert host.is_file(), f"{key} = {path}: {host} is not a file"
    unused = set(secrets) - referenced
    assert not unused, f"{service} receives secrets no setting uses: {sorted(map(str, unused))}"


def test_secrets_never_sit_in_the_toml(case: tuple[Compose, str, str, ServiceSettings]) -> None:
    compose, service, _, _ = case
    import tomllib

    from tests.integration.deploy.settings_view import config_path

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{key}.{k}" if key else k)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{key}.{i}")
        else:
            leaf = key.rsplit(".", 1)[-1]
            assert leaf not in {"password", "token", "service_token", "sasl_password"}, key
            assert "://" not in str(value) or "@" not in str(value), f"{key} holds credentials"

    walk(tomllib.loads(config_path(compose, service).read_text(encoding="utf-8")), "")


def _state_paths(program: str, settings: Any) -> list[Path]:
    if program == "drcapture":
        return [settings.state_dir, settings.spill.directory, settings.dictionary.path]
    if program == "drappha":
        return [settings.history.path]
    if program == "drcontrol" and settings.storage.backend == "sqlite":
        return [settings.storage.sqlite_path]
    if program == "drapply" and settings.target.kind == "sqlite":
        return [settings.target.path]
    return []


def test_state_lives_on_named_volumes(case: tuple[Compose, str, str, ServiceSettings]) -> None:
    compose, service, program, settings = case
    paths = _state_paths(program, settings)
    if program in ("drcapture", "drappha", "drcontrol"):
        assert paths, f"{program} keeps local state"
    for path in paths:
        mount = compose.mount_for(service, path)
        assert mount is not None and mount.named, f"{path} is not on a named volume"
        assert not mount.read_only, f"{path} is on a read-only mount"
        assert mount.target == f"/var/lib/{program}", "the image creates this dir for dr"


def test_capture_reads_redo_from_read_only_mounts(secrets_root: Path) -> None:
    for site in ("eval", "hangzhou"):
        compose = BY_NAME[site].load(secrets_root)
        settings: Any = load_service_settings(compose, "capture", "drcapture")
        redo = list(settings.source.archive_dirs) + [
            log for thread in settings.source.threads for log in thread.online_logs
        ]
        assert redo
        for path in redo:
            mount = compose.mount_for("capture", path)
            assert mount is not None, f"{site}: {path} is not mounted"
            assert mount.read_only, f"{site}: capture must not be able to write {path}"


def test_dictionary_job_writes_where_capture_reads(secrets_root: Path) -> None:
    for site in ("eval", "hangzhou"):
        compose = BY_NAME[site].load(secrets_root)
        settings: Any = load_service_settings(compose, "capture", "drcapture")
        job = compose.services["capture-dictionary"]
        assert str(settings.dictionary.path) in " ".join(compose.command("capture-dictionary"))
        capture_mount = compose.mount_for("capture", settings.dictionary.path)
        job_mount = compose.mount_for("capture-dictionary", settings.dictionary.path)
        assert capture_mount is not None and job_mount is not None
        assert (capture_mount.source, capture_mount.target) == (job_mount.source, job_mount.target)
        assert "drcapture_oracle_password" in job["secrets"]
    hz = BY_NAME["hangzhou"].load(secrets_root)
    env = hz.services["capture"]["environment"]
    assert env["DRCAPTURE__SOURCE__START_SCN"] == hz.services["capture-dictionary"][
        "environment"
    ]["DR_START_SCN"], "the dictionary is read as of the SCN capture starts from"


def _site_brokers() -> set[str]:
    hosts = set()
    for n in (1, 2, 3):
        env = read_env_file(KAFKA_DIR / f"kafka-{n}.env")
        hosts.add(f"{env['KAFKA_HOST']}:9093")
    return hosts


def _server_properties() -> dict[str, str]:
    props = {}
    for line in (KAFKA_DIR / "server.properties").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            props[key] = value
    return props


def _scram_users() -> set[str]:
    text = (KAFKA_DIR / "format-storage.sh").read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.strip().startswith("for user in"))
    return set(line.split(" in ", 1)[1].split(";")[0].split())


def test_kafka_clients_match_the_brokers(case: tuple[Compose, str, str, ServiceSettings]) -> None:
    compose, _service, program, settings = case
    kafka = _kafka(settings)
    if kafka is None:
        pytest.skip(f"{program} has no Kafka client")
    assert kafka.topic_prefix == "dr"
    if compose.path == ROOT / "docker-compose.yml":
        broker = compose.services["kafka"]["environment"]
        assert f"PLAINTEXT://{kafka.bootstrap_servers}" in broker["KAFKA_ADVERTISED_LISTENERS"]
        assert kafka.security_protocol == "PLAINTEXT"
        return
    props = _server_properties()
    assert set(kafka.bootstrap_servers.split(",")) == _site_brokers()
    assert kafka.security_protocol == "SASL_SSL"
    assert "EXTERNAL:SASL_SSL" in props["listener.security.protocol.map"]
    assert kafka.sasl_mechanism == props["sasl.enabled.mechanisms"]
    assert kafka.sasl_username in _scram_users()
    assert kafka.sasl_password_file == SECRETS / f"kafka_{kafka.sasl_username}_password"
    assert kafka.tls.enabled and kafka.tls.check_hostname
    assert kafka.tls.ca_file == SECRETS / "dr_ca.pem"
    if program == "drcapture":
        assert kafka.compression == "zstd", "capture crosses the WAN"


def test_capture_topics_fit_the_cluster(secrets_root: Path) -> None:
    settings: Any = load_service_settings(
        BY_NAME["hangzhou"].load(secrets_root), "capture", "drcapture"
    )
    three = read_env_file(KAFKA_DIR / "kafka-1.env")
    assert settings.publish.replication_factor == int(three["KAFKA_REPLICATION"])
    assert settings.publish.replication_factor > int(three["KAFKA_MIN_ISR"])


def _sans(cert: Path) -> set[str]:
    loaded = x509.load_pem_x509_certificate(cert.read_bytes())
    ext = loaded.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    return set(ext.value.get_values_for_type(x509.DNSName))


def _service_of(compose: Compose, program: str) -> str:
    return next(s for s, p in compose.dr_services().items() if p == program)


def _check_peer(
    url: str, token_file: Path | None, compose: Compose, peer: Compose, program: str
) -> None:
    service = _service_of(peer, program)
    peer_settings = load_service_settings(peer, service, program)
    http = _http(peer_settings)
    parts = urlsplit(url)
    assert parts.port == http.port, f"{url}: {program} listens on {http.port}"
    assert parts.scheme == ("https" if http.tls_cert_file else "http"), url
    if http.tls_cert_file:
        cert = peer.secrets(service)[http.tls_cert_file]
        assert parts.hostname in _sans(cert), f"{url}: not a name in {program}'s certificate"
    elif peer is compose:
        assert parts.hostname == service, f"{url}: the compose service is called {service}"
    if token_file is not None:
        mine = compose.secrets(_service_of(compose, "drcontrol"))[token_file]
        # control's token is the peer's caller "control" (issue 17: per-caller
        # credentials, the actor recorded), or on the evaluation stack its shared token
        accepted = http.caller_token_files.get("control") or http.service_token_file
        theirs = peer.secrets(service)[accepted or Path("-")]
        assert mine.read_text() == theirs.read_text(), f"{program}'s token differs"
        assert len(mine.read_text()) >= 16


@pytest.mark.parametrize("site", ["eval", "chunan"])
def test_control_reaches_its_peers(site: str, secrets_root: Path) -> None:
    compose = BY_NAME[site].load(secrets_root)
    control: Any = load_service_settings(compose, "control", "drcontrol")
    capture_site = compose if site == "eval" else BY_NAME["hangzhou"].load(secrets_root)
    for name, program, peer in (
        ("capture", "drcapture", capture_site),
        ("apply", "drapply", compose),
        ("appha", "drappha", compose),
    ):
        settings = getattr(control.peers, name)
        assert settings.url, f"peers.{name}.url"
        _check_peer(settings.url, settings.token_file, compose, peer, program)
        if settings.url.startswith("https"):
            assert settings.tls.enabled and settings.tls.ca_file == SECRETS / "dr_ca.pem"


@pytest.mark.parametrize("site", ["eval", "chunan"])
def test_appha_reaches_control(site: str, secrets_root: Path) -> None:
    compose = BY_NAME[site].load(secrets_root)
    appha: Any = load_service_settings(compose, "appha", "drappha")
    assert appha.control is not None
    _check_peer(appha.control.url, None, compose, compose, "drcontrol")
    assert appha.control.token_file == SECRETS / "appha_control_token"


def test_deployment_ids_are_stable(deployment: Deployment) -> None:
    """Guards the parametrisation above: every compose file is a known deployment."""
    assert deployment.path.is_file()
