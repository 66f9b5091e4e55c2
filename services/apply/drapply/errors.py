"""Apply's errors: every one names where it happened (topic, partition, offset, xid, scn).

They extend the shared hierarchy so the loops catch families: ``SinkError`` for the
target database, ``SourceError`` for Kafka, ``ParseError`` for records that do not read.
"""

from __future__ import annotations

from drcommon.errors import ConflictError, ParseError, RetriableSinkError, SinkError

__all__ = [
    "AmbiguousRow",
    "ApplyHalted",
    "BadRecord",
    "BatchMismatch",
    "CheckpointMoved",
    "ConflictError",
    "DdlNotApplied",
    "DdlSyntaxError",
    "KafkaWriteFailed",
    "RetriableSinkError",
    "TargetError",
    "UnconfiguredTable",
    "ValueNotStorable",
]


class TargetError(SinkError):
    """The target database refused a statement for a reason that will not pass by itself."""


class AmbiguousRow(SinkError):
    """An update or delete matched more than one target row (the target has no key)."""


class UnconfiguredTable(SinkError):
    """A change names a table that apply is not configured for, or that does not exist."""


class ValueNotStorable(SinkError):
    """A value cannot be stored exactly (invalid text, a type capture could not decode)."""


class BadRecord(ParseError):
    """A Kafka record that is not a valid message, or breaks the chunk protocol."""


class CheckpointMoved(RetriableSinkError):
    """The checkpoint row is not where this worker left it: another apply instance (or a
    replay) moved it. The worker re-reads the checkpoint and seeks there."""


class BatchMismatch(SinkError):
    """A grouped (fast) statement did not touch exactly the rows it should; the group is
    rolled back and re-applied one transaction and one row at a time to find out why."""


class ApplyHalted(SinkError):
    """A schema stopped on purpose (policy ``stop``): the checkpoint stays before the
    transaction that could not be applied."""


class DdlSyntaxError(ParseError):
    """DDL text apply's reader does not understand (``at``: the character index)."""


class DdlNotApplied(ApplyHalted):
    """A DDL statement apply cannot execute on this target: the stream stops right
    before its transaction until a person applies it by hand and says so
    (``drapply ddl done``)."""


class KafkaWriteFailed(RetriableSinkError):
    """Writing to Kafka (the dead-letter topic) failed; it is retried like a fetch."""
