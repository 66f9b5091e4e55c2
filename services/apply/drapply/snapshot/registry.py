"""Reader registry: the config enum names the module; drivers are imported lazily."""

from __future__ import annotations

from importlib import import_module

from drcommon.errors import ConfigError

from drapply.settings import SourceDbKind, SourceDbSettings
from drapply.snapshot.base import SnapshotReader

_READERS: dict[SourceDbKind, tuple[str, str]] = {
    SourceDbKind.ORACLE: ("drapply.snapshot.oracle", "OracleFlashbackReader"),
    SourceDbKind.POSTGRESQL: ("drapply.snapshot.postgres", "PostgresHistoryReader"),
}


def open_reader(settings: SourceDbSettings) -> SnapshotReader:
    """A connected reader for ``[source_db]``; refuses when it is not configured."""
    if settings.kind is None:
        raise ConfigError(
            "no source database is configured: set [source_db] kind and dsn "
            "(load, compare and repair read the source as of an SCN)",
            key="source_db.kind",
        )
    module_name, class_name = _READERS[settings.kind]
    factory = getattr(import_module(module_name), class_name)
    reader: SnapshotReader = factory(settings)
    return reader
