"""One error hierarchy for every service.

Loops catch a family (``SourceError``, ``SinkError`` …) and decide by ``retriable``;
each error carries where it happened so an operator can act on the message alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DRError(Exception):
    """Base of every error this project raises on purpose.

    ``where`` holds the location facts (file, block, offset, scn, xid, topic, key …);
    they are rendered into the message in a stable order so logs stay greppable.
    """

    retriable: bool = False

    def __init__(self, message: str, /, **where: Any) -> None:
        self.message = message
        self.where: Mapping[str, Any] = {k: v for k, v in where.items() if v is not None}
        super().__init__(self._render())

    def _render(self) -> str:
        if not self.where:
            return self.message
        facts = ", ".join(f"{key}={value}" for key, value in self.where.items())
        return f"{self.message} [{facts}]"


class ConfigError(DRError):
    """Configuration is missing or invalid; names the offending key."""


class EnvironmentProblem(DRError):
    """Something the host must provide is missing (Java, Maven, a free port …)."""


class ParseError(DRError):
    """Bytes or messages that do not have the expected structure."""


class CorruptRedo(ParseError):
    """A redo file is damaged: bad checksum, torn block, wrong sequence, truncation."""


class UnsupportedFormat(ParseError):
    """A message or file uses a format version this build does not know."""


class SourceError(DRError):
    """Reading the source (redo files, Oracle dictionary, Kafka topics) failed."""


class MissingLog(SourceError):
    """A redo log that capture needs is not in any configured location."""


class SinkError(DRError):
    """Writing to a sink (Kafka, the DR database) failed."""


class ConflictError(SinkError):
    """A change does not fit the target row (missing row, duplicate key …)."""


class CoordinationError(DRError):
    """Control/HA coordination failed: stale state, refused approval, fencing."""


class RetriableSourceError(SourceError):
    """A source error that is expected to pass (network blip, broker election)."""

    retriable = True


class RetriableSinkError(SinkError):
    """A sink error that is expected to pass (connection reset, lock timeout)."""

    retriable = True
