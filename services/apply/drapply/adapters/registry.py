"""Target registry: the config enum names the adapter; drivers are imported lazily so a
site without, say, oracledb can still run SQLite and PostgreSQL."""

from __future__ import annotations

from importlib import import_module

from drapply.adapters.base import Target
from drapply.settings import TargetKind, TargetSettings

_ADAPTERS: dict[TargetKind, tuple[str, str]] = {
    TargetKind.SQLITE: ("drapply.adapters.sqlite", "SqliteTarget"),
    TargetKind.POSTGRESQL: ("drapply.adapters.postgresql", "PostgresTarget"),
    TargetKind.ORACLE: ("drapply.adapters.oracle", "OracleTarget"),
}


def open_target(settings: TargetSettings) -> Target:
    """The target for one ``[target]`` section (no connection is made yet)."""
    module_name, class_name = _ADAPTERS[settings.kind]
    factory = getattr(import_module(module_name), class_name)
    target: Target = factory(settings)
    return target
