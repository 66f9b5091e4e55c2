"""Topic names: one topic per source schema, plus the control topics.

``<prefix>.<db>.<SCHEMA>`` for data; ``<prefix>.<db>._checkpoints`` (capture's restart
state, compacted), ``_heartbeats`` (capture liveness and watermarks), ``_deadletter``
(transactions apply parked). Oracle names may hold characters Kafka refuses (``$``, ``#``,
Chinese): those are written as ``_xHHHH_`` so the mapping is reversible and stable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from drcommon.errors import ConfigError

_SAFE = re.compile(r"[A-Za-z0-9_-]")
_ESCAPED = re.compile(r"_x([0-9A-F]{4,6})_")
MAX_TOPIC_LENGTH = 249


def escape_name(name: str) -> str:
    """Make an Oracle identifier safe for a Kafka topic name, reversibly.

    ``_`` stays as it is unless it would start something that reads as an escape.
    """
    out = []
    for index, ch in enumerate(name):
        literal_escape = ch == "_" and _ESCAPED.match(name, index) is not None
        out.append(ch if _SAFE.fullmatch(ch) and not literal_escape else f"_x{ord(ch):04X}_")
    return "".join(out)


def unescape_name(text: str) -> str:
    """Inverse of :func:`escape_name`."""
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)


@dataclass(frozen=True, slots=True)
class TopicNames:
    """Topic names for one source database."""

    prefix: str
    database: str

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9-]+", self.prefix):
            raise ConfigError(
                "topic prefix may hold only letters, digits and '-'",
                key="kafka.topic_prefix",
                value=self.prefix,
            )

    @property
    def _base(self) -> str:
        return f"{self.prefix}.{escape_name(self.database)}"

    def schema(self, owner: str) -> str:
        name = f"{self._base}.{escape_name(owner)}"
        if len(name) > MAX_TOPIC_LENGTH:
            raise ConfigError("topic name too long", topic=name)
        return name

    def owner_of(self, topic: str) -> str | None:
        """The schema a data topic carries, or None for other topics."""
        head = self._base + "."
        if not topic.startswith(head):
            return None
        if topic in (self.checkpoints, self.heartbeats, self.dead_letters):
            return None
        return unescape_name(topic[len(head) :])

    @property
    def checkpoints(self) -> str:
        return f"{self._base}._checkpoints"

    @property
    def heartbeats(self) -> str:
        return f"{self._base}._heartbeats"

    @property
    def dead_letters(self) -> str:
        return f"{self._base}._deadletter"
