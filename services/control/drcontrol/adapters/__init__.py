"""Pluggable backends of control: the DR database that promotion hooks run against."""

from __future__ import annotations

from drcontrol.peers.base import DrDatabase
from drcontrol.settings import DrDatabaseSettings


def open_dr_database(settings: DrDatabaseSettings) -> DrDatabase | None:
    """The configured DR database adapter (imported lazily: drivers may be absent)."""
    if settings.kind is None:
        return None
    if settings.kind == "postgresql":
        from drcontrol.adapters.postgres_db import PostgresDrDatabase

        return PostgresDrDatabase(settings)
    from drcontrol.adapters.oracle_db import OracleDrDatabase

    return OracleDrDatabase(settings)
