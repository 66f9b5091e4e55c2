"""Reading the deployment's compose files the way ``docker compose`` does, without Docker.

``load`` interpolates ``${VAR}``, ``${VAR:-default}``, ``${VAR:?message}`` and ``$$`` from
an env file plus explicit values, then parses the YAML (merge keys included).
:class:`Compose` answers the questions the tests ask: which services run which DR
command, what is mounted where, which secret lands at which ``/run/secrets`` path.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = Path(__file__).resolve().parent / "schema" / "compose-spec.json"

# The DR services' console scripts and the settings' environment prefix of each.
DR_PROGRAMS = {
    "drcapture": "DRCAPTURE",
    "drapply": "DRAPPLY",
    "drappha": "DRAPPHA",
    "drcontrol": "DRCONTROL",
}

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


class InterpolationError(ValueError):
    """A required variable (``${VAR:?message}``) is unset or empty."""


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a compose ``.env`` file (comments and blank lines skipped)."""
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"{path}: not KEY=VALUE: {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable substitution on the raw file text."""

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["plain"]
        op, arg = match["op"], match["arg"] or ""
        value = env.get(name)
        if op in (":-", "-"):
            unset = value is None or (op == ":-" and value == "")
            return arg if unset else str(value)
        if op in (":?", "?"):
            if value is None or (op == ":?" and value == ""):
                raise InterpolationError(f"{name}: {arg}")
            return value
        return value or ""

    return _VARIABLE.sub(substitute, text)


@dataclass(frozen=True)
class Mount:
    """One ``volumes:`` entry of a service (short syntax)."""

    source: str
    target: str
    read_only: bool
    named: bool  # a named volume (else a bind mount of a host path)
    host_path: Path | None  # bind mounts: the host path, resolved


@dataclass(frozen=True)
class Compose:
    """An interpolated, parsed compose file."""

    path: Path
    data: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        services: dict[str, dict[str, Any]] = self.data["services"]
        return services

    def command(self, service: str) -> list[str]:
        command = self.services[service].get("command", [])
        return shlex.split(command) if isinstance(command, str) else list(command)

    def dr_services(self) -> dict[str, str]:
        """service name → DR program, for services whose command is ``<program> run``."""
        found = {}
        for name in self.services:
            argv = self.command(name)
            if len(argv) >= 2 and argv[0] in DR_PROGRAMS and argv[1] == "run":
                found[name] = argv[0]
        return found

    def mounts(self, service: str) -> list[Mount]:
        mounts = []
        for entry in self.services[service].get("volumes", []):
            assert isinstance(entry, str), f"{service}: use the short volume syntax"
            parts = entry.split(":")
            source, target = parts[0], parts[1]
            mode = parts[2] if len(parts) > 2 else "rw"
            named = not source.startswith(("/", ".", "~"))
            host = None if named else (self.path.parent / source).resolve()
            mounts.append(Mount(source, target, "ro" in mode.split(","), named, host))
        return mounts

    def mount_for(self, service: str, container_path: Path) -> Mount | None:
        """The mount that holds ``container_path`` (the deepest one), if any."""
        best: Mount | None = None
        for mount in self.mounts(service):
            target = Path(mount.target)
            if (container_path == target or target in container_path.parents) and (
                best is None or len(target.parts) > len(Path(best.target).parts)
            ):
                best = mount
        return best

    def host_file(self, service: str, container_path: Path) -> Path:
        """The host file a bind mount puts at ``container_path``."""
        mount = self.mount_for(service, container_path)
        assert mount is not None and mount.host_path is not None, (
            f"{service}: nothing bind-mounted at {container_path}"
        )
        return mount.host_path / container_path.relative_to(mount.target)

    def secrets(self, service: str) -> dict[Path, Path]:
        """``/run/secrets/<target>`` → host file, for each secret the service receives."""
        found = {}
        declared = self.data.get("secrets", {})
        for entry in self.services[service].get("secrets", []):
            source = entry if isinstance(entry, str) else entry["source"]
            target = entry if isinstance(entry, str) else entry.get("target", source)
            file = Path(declared[source]["file"])
            host = file if file.is_absolute() else (self.path.parent / file).resolve()
            found[Path("/run/secrets") / target] = host
        return found

    def environment(self, service: str) -> dict[str, str]:
        env = self.services[service].get("environment", {})
        if isinstance(env, list):
            env = dict(item.split("=", 1) for item in env)
        return {str(k): "" if v is None else str(v) for k, v in env.items()}


def load(path: Path, env: dict[str, str] | None = None, env_file: Path | None = None) -> Compose:
    """Interpolate and parse ``path`` with ``env_file`` values overridden by ``env``."""
    values = read_env_file(env_file) if env_file else {}
    values.update(env or {})
    text = interpolate(path.read_text(encoding="utf-8"), values)
    data = yaml.safe_load(text)
    assert isinstance(data, dict), f"{path}: not a mapping"
    return Compose(path, data, values)
