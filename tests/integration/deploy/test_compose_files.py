"""Every compose file is valid Compose and refers only to things that exist.

No Docker engine runs here, so these checks stand in for ``docker compose config``: the
vendored Compose Specification schema (schema/SOURCE.md), pinned images, build contexts
and bind-mount sources on disk, declared volumes and secrets, health checks and start
order.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.integration.deploy.compose import ROOT, SCHEMA, Compose, InterpolationError, load
from tests.integration.deploy.conftest import BY_NAME, Deployment

# repository/name:tag where the tag names a release (digits), never "latest".
PINNED = re.compile(r"^[a-z0-9./_-]+(:[0-9]+)?/?[a-z0-9._/-]*:[A-Za-z0-9._-]*[0-9][A-Za-z0-9._-]*$")
ONE_SHOT = {"redo-archive-init", "capture-dictionary"}


def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    # The file names draft 2019-09 (with a trailing '#' jsonschema does not look up).
    assert schema["$schema"].startswith("http://json-schema.org/draft/2019-09/schema")
    cls = jsonschema.Draft201909Validator
    cls.check_schema(schema)
    validator: jsonschema.protocols.Validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return validator


def test_the_schema_catches_what_it_should() -> None:
    """The vendored schema is the real one: it refuses unknown keys and bad types."""
    validator = _validator()
    assert validator.is_valid({"services": {"a": {"image": "x:1"}}})
    assert not validator.is_valid({"services": {"a": {"image": "x:1", "imagee": "y"}}})
    assert not validator.is_valid({"services": {"a": {"ports": [{"target": "eighty"}]}}})
    assert not validator.is_valid(
        {"services": {"a": {"depends_on": {"b": {"condition": "service_ready"}}}}}
    )


def test_compose_file_conforms_to_the_compose_specification(compose: Compose) -> None:
    errors = sorted(_validator().iter_errors(compose.data), key=lambda e: list(e.path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:10]
    )


def test_required_variables_are_demanded(deployment: Deployment, secrets_root: Path) -> None:
    """Hangzhou's compose refuses to start capture without the initial-load SCN, and a
    Kafka broker without its node id: an unset value must not silently default."""
    if deployment.name == "hangzhou":
        with pytest.raises(InterpolationError, match="DR_START_SCN"):
            load(deployment.path, {"DR_SECRETS": str(secrets_root)}, deployment.env_file)
    elif deployment.name.startswith("kafka-"):
        with pytest.raises(InterpolationError, match="KAFKA_"):
            load(deployment.path, {})
    else:
        pytest.skip("this compose file has no required variables")


def _image(service: dict[str, Any]) -> str:
    image = service.get("image")
    assert isinstance(image, str), "every service names its image"
    return image


def test_images_are_pinned_and_builds_exist(compose: Compose) -> None:
    for name, service in compose.services.items():
        image = _image(service)
        assert PINNED.match(image), f"{name}: image {image!r} is not pinned to a release tag"
        assert not image.endswith(":latest"), name
        build = service.get("build")
        if build is not None:
            context = compose.path.parent / (build if isinstance(build, str) else build["context"])
            dockerfile = context / (
                "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            )
            assert context.is_dir(), f"{name}: build context {context} missing"
            assert dockerfile.is_file(), f"{name}: {dockerfile} missing"


def test_evaluation_builds_our_image_once_and_never_pulls_it() -> None:
    """In the evaluation stack one service builds the project image; the others use
    that local image and must never try to pull it from a registry."""
    compose = BY_NAME["eval"].load(Path("/nonexistent"))
    ours = {n: s for n, s in compose.services.items() if _image(s).startswith("oracle-dr:")}
    builders = [n for n, s in ours.items() if "build" in s]
    assert builders == ["apply"]
    assert len(ours) >= 6
    for name, service in ours.items():
        if name not in builders:
            assert service.get("pull_policy") == "never", name


def test_site_hosts_run_the_released_image(compose: Compose) -> None:
    """Production hosts do not build: they run the image loaded from the release
    (docs/OPERATIONS.md, "Images"), named by DR_IMAGE."""
    if compose.path.parent.name not in ("hangzhou", "chunan"):
        pytest.skip("not a site compose file")
    for name, service in compose.services.items():
        assert "build" not in service, name
        assert _image(service) == compose.env["DR_IMAGE"], name


def test_bind_mounts_and_secret_files_exist(compose: Compose) -> None:
    for name in compose.services:
        for mount in compose.mounts(name):
            if mount.named:
                assert mount.source in (compose.data.get("volumes") or {}), (
                    f"{name}: volume {mount.source} is not declared"
                )
            elif mount.host_path is not None and ROOT in mount.host_path.parents:
                # Paths inside the repository ship with it; host paths (redo) do not.
                assert mount.host_path.exists(), f"{name}: {mount.host_path} does not exist"
        for target, host in compose.secrets(name).items():
            assert host.is_file(), f"{name}: secret {target} -> {host} was not made"


def test_declared_volumes_and_secrets_are_used(compose: Compose) -> None:
    used_volumes = {m.source for n in compose.services for m in compose.mounts(n) if m.named}
    assert set(compose.data.get("volumes") or {}) == used_volumes
    used_secrets = {
        s if isinstance(s, str) else s["source"]
        for service in compose.services.values()
        for s in service.get("secrets", [])
    }
    assert set(compose.data.get("secrets") or {}) == used_secrets


def test_health_checks_and_start_order(compose: Compose) -> None:
    services = compose.services
    for name, service in services.items():
        if name not in ONE_SHOT:
            assert "healthcheck" in service, f"{name} has no health check"
            assert service.get("restart") == "unless-stopped", name
        else:
            assert service.get("restart") == "no", name
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            expected = (
                "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            )
            assert rule["condition"] == expected, f"{name} -> {dependency}"


def test_profiles_keep_the_default_stack_whole() -> None:
    """Without a profile the evaluation stack still has everything apply, appha and
    control need; every Oracle-dependent service is in the ``oracle`` profile."""
    compose = BY_NAME["eval"].load(Path("/nonexistent"))
    default = {n for n, s in compose.services.items() if not s.get("profiles")}
    assert {"kafka", "postgres", "apply", "appha", "control"} <= default
    oracle = {n for n, s in compose.services.items() if "oracle" in s.get("profiles", [])}
    assert oracle == {"oracle-source", "oracle-target", "capture", "capture-dictionary",
                      "redo-archive-init"}
    for name in default:
        for dependency in compose.services[name].get("depends_on") or {}:
            assert dependency in default, f"{name} (default) depends on {dependency} (profile)"


# Services whose root filesystem stays writable, and why (issue 17, finding 11).
WRITABLE_ROOT = {
    "apache/kafka": "the image's start script writes the broker's configuration into "
                    "/opt/kafka/config",
    "container-registry.oracle.com/database/free": "the database writes under $ORACLE_BASE",
}


def test_least_privilege_in_every_container(compose: Compose) -> None:
    """No capabilities (a few named ones where root must chown), no setuid gains, and a
    read-only root filesystem with a private /tmp wherever the image allows it; what a
    read-only service writes is on a volume."""
    for name, service in compose.services.items():
        assert service.get("cap_drop") == ["ALL"], f"{name}: cap_drop [ALL]"
        assert "no-new-privileges:true" in service.get("security_opt", []), name
        image = str(service.get("image", "")).rsplit(":", 1)[0]
        if image in WRITABLE_ROOT:
            assert not service.get("read_only"), name
            continue
        assert service.get("read_only") is True, f"{name}: read_only root filesystem"
        assert any(str(t).split(":")[0] == "/tmp" for t in service.get("tmpfs", [])), name
        added = set(service.get("cap_add", []))
        assert added <= {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"}, name
        if added:
            assert service.get("user") == "0:0" or image == "postgres", (
                f"{name}: capabilities only for a root step that needs them")


def test_read_only_services_write_only_to_volumes(compose: Compose) -> None:
    from tests.integration.deploy.settings_view import load_service_settings

    for service, program in compose.dr_services().items():
        settings = load_service_settings(compose, service, program)
        writes = []
        for section, key in (("storage", "sqlite_path"), ("history", "path"),
                             ("spill", "directory")):
            value = getattr(getattr(settings, section, None), key, None)
            if value is not None:
                writes.append(Path(value))
        state_dir = getattr(settings, "state_dir", None)
        if state_dir is not None:
            writes.append(Path(state_dir))
        for path in writes:
            mount = compose.mount_for(service, path if path.is_absolute() else
                                      Path("/var/lib/dr") / path)
            assert mount is not None and not mount.read_only, f"{service}: {path} not on a volume"
