"""Load a :class:`Dictionary` from an OpenLogReplicator checkpoint file.

The checkpoint holds rows of the SYS dictionary tables (``sys-obj``, ``sys-col``,
``sys-user``, ``sys-cdef``, ``sys-ccol``, ``sys-tabpart`` …) plus database facts. Only
the data format is read here; no OpenLogReplicator code is involved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from drcommon.errors import ParseError

from drcapture.dictionary.derive import DatabaseFacts, derive_dictionary
from drcapture.dictionary.model import Charsets, Dictionary


def checkpoint_facts(data: dict[str, Any]) -> DatabaseFacts:
    """The database facts of a checkpoint document."""
    return DatabaseFacts(
        db_id=int(data.get("db-id", 0)),
        db_name=str(data.get("database", "")),
        charsets=Charsets(database=str(data.get("nls-character-set", "AL32UTF8")),
                          national=str(data.get("nls-nchar-character-set", "AL16UTF16"))),
        scn=int(data.get("scn", 0)),
    )


def load_olr_checkpoint(data: dict[str, Any]) -> Dictionary:
    """Build a dictionary from a parsed OpenLogReplicator checkpoint document (its user
    tables, the SYS dictionary tables and the highest object number)."""
    return derive_dictionary(data, checkpoint_facts(data))


def read_olr_checkpoint(path: Path) -> dict[str, Any]:
    """The parsed checkpoint document of a file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ParseError("cannot read the OpenLogReplicator checkpoint", file=str(path)) from exc
    if not isinstance(data, dict):
        raise ParseError("checkpoint is not a JSON object", file=str(path))
    return data


def load_olr_checkpoint_file(path: Path) -> Dictionary:
    """Read and load an OpenLogReplicator checkpoint JSON file."""
    return load_olr_checkpoint(read_olr_checkpoint(path))
