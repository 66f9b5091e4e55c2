"""Each DR service's settings as its container would build them: the mounted TOML file
plus the ``<PREFIX>__…`` variables of its compose ``environment``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from drcommon.config import ServiceSettings, load_settings
from pydantic import BaseModel

from tests.integration.deploy.compose import DR_PROGRAMS, Compose


def config_path(compose: Compose, service: str) -> Path:
    """The host file mounted where the service's ``--config`` points."""
    argv = compose.command(service)
    return compose.host_file(service, Path(argv[argv.index("--config") + 1]))


def service_env(compose: Compose, service: str, program: str) -> dict[str, str]:
    """The compose environment entries the service's settings read."""
    prefix = DR_PROGRAMS[program] + "__"
    return {k: v for k, v in compose.environment(service).items() if k.startswith(prefix)}


def load_service_settings(compose: Compose, service: str, program: str) -> ServiceSettings:
    """Build the settings exactly as ``<program> run --config`` does, in this process."""
    path = config_path(compose, service)
    prefix = DR_PROGRAMS[program]
    saved = {k: v for k, v in os.environ.items() if k.startswith(prefix + "__")}
    for key in saved:
        del os.environ[key]
    os.environ.update(service_env(compose, service, program))
    try:
        if program == "drcapture":
            from drcapture.settings import CaptureSettings

            return load_settings(CaptureSettings, path, env_prefix=prefix)
        if program == "drapply":
            from drapply.settings import load_apply_settings

            return load_apply_settings(path)
        if program == "drappha":
            from drappha.settings import AppHASettings

            return load_settings(AppHASettings, path, env_prefix=prefix)
        from drcontrol.settings import ControlSettings

        return load_settings(ControlSettings, path, env_prefix=prefix)
    finally:
        for key in service_env(compose, service, program):
            os.environ.pop(key, None)
        os.environ.update(saved)


def file_settings(model: BaseModel, where: str = "") -> Iterator[tuple[str, Path]]:
    """Every ``*file`` setting that holds a path (secrets, certificates, keys, hosts)."""
    for name in type(model).model_fields:
        value: Any = getattr(model, name)
        key = f"{where}.{name}" if where else name
        if isinstance(value, BaseModel):
            yield from file_settings(value, key)
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from file_settings(item, f"{key}.{index}")
        elif isinstance(value, dict):
            for item_key, item in value.items():
                if isinstance(item, BaseModel):
                    yield from file_settings(item, f"{key}.{item_key}")
                elif isinstance(item, Path) and name.endswith("files"):
                    yield f"{key}.{item_key}", item
        elif isinstance(value, Path) and name.endswith("file"):
            yield key, value
