"""Issue 17, finding 11 (builds): every Python package the image and the set-up install
comes from a lock file with sha256 hashes, installed with --require-hashes; the lock
files agree with each other, with pyproject.toml and with this very environment."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.integration.deploy.compose import ROOT

LOCKS = ROOT / "requirements"
ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)(?:\s*;\s*([^\\]+?))?\s*\\\n"
                   r"((?:\s+--hash=sha256:[0-9a-f]{64}(?:\s*\\\n)?)+)", re.M)


def locked(name: str) -> dict[str, list[tuple[str, str | None]]]:
    """package → [(version, marker)] of one lock file; every pin must carry hashes."""
    text = (LOCKS / name).read_text(encoding="utf-8")
    pins = [line for line in text.splitlines() if "==" in line and not line.startswith("#")]
    found: dict[str, list[tuple[str, str | None]]] = {}
    for package, version, marker, _hashes in ENTRY.findall(text):
        found.setdefault(str(canonicalize_name(package)), []).append(
            (version, marker.strip() or None))
    assert sum(len(v) for v in found.values()) == len(pins), f"{name}: a pin without hashes"
    return found


def _applies(marker: str | None) -> bool:
    return marker is None or Marker(marker).evaluate()


def test_every_pin_has_hashes_and_the_locks_agree() -> None:
    dev, runtime, build = locked("dev.lock"), locked("runtime.lock"), locked("build.lock")
    for package, versions in runtime.items():
        assert dev.get(package) == versions, f"{package}: runtime.lock and dev.lock differ"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for requirement in map(Requirement, project["project"]["dependencies"]):
        name = str(canonicalize_name(requirement.name))
        for version, marker in runtime[name]:
            if _applies(marker):
                assert Version(version) in requirement.specifier, (name, version)
    core = tomllib.loads((ROOT / "services/capture/core/pyproject.toml").read_text())
    for text in [*project["build-system"]["requires"], *core["build-system"]["requires"]]:
        requirement = Requirement(text)
        version, _ = build[str(canonicalize_name(requirement.name))][0]
        assert Version(version) in requirement.specifier, (text, version)


def test_this_environment_was_installed_from_dev_lock() -> None:
    for package, versions in locked("dev.lock").items():
        wanted = [v for v, marker in versions if _applies(marker)]
        if not wanted:
            continue
        assert metadata.version(package) == wanted[0], f"{package} is not the locked version"


def test_the_image_and_the_setup_install_only_hashed_packages() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    code = "\n".join(x for x in dockerfile.splitlines() if not x.lstrip().startswith("#"))
    flat = " ".join(code.replace("\\\n", " ").split())
    assert "pip install --require-hashes --no-deps -r requirements/build.lock" in flat
    assert "--require-hashes --no-deps -r requirements/runtime.lock" in flat
    local_builds = re.findall(r"pip install [^&]*?(\./services/capture/core|\.)(?: |$)", flat)
    assert len(local_builds) == 2
    for command in re.findall(r"pip install ([^&]*)", flat):
        assert "--require-hashes" in command or (
            "--no-deps" in command and "--no-build-isolation" in command), command
    setup = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    assert 'locked -r "$LOCKS/build.lock"' in setup and 'locked -r "$LOCKS/dev.lock"' in setup
    assert "--require-hashes --no-deps" in setup
    joined = " ".join(setup.replace("\\\n", " ").split())
    for command in re.findall(r"-m pip install ([^|;]*)", joined):
        assert "--require-hashes" in command or (
            "--no-build-isolation" in command and "--no-deps" in command), command
