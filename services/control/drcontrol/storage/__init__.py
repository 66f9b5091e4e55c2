"""Control's persistence: one :class:`~drcontrol.storage.base.Storage` Protocol, two
implementations (SQLite by default, PostgreSQL when configured) chosen by
``storage.backend`` and imported lazily."""

from __future__ import annotations

from drcontrol.settings import StorageSettings
from drcontrol.storage.base import Storage


def open_storage(settings: StorageSettings) -> Storage:
    """The configured backend, not yet opened (call ``await storage.open()``)."""
    if settings.backend == "postgresql":
        from drcontrol.storage.postgres import PostgresStorage

        return PostgresStorage(settings)
    from drcontrol.storage.sqlite import SqliteStorage

    return SqliteStorage(settings.sqlite_path)


__all__ = ["Storage", "open_storage"]
