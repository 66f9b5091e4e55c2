"""Capture's own errors (the shared families are in :mod:`drcommon.errors`)."""

from __future__ import annotations

from drcommon.errors import CorruptRedo, ParseError, RetriableSourceError, SinkError

__all__ = ["CaptureFenced", "RedoCopyFound", "RedoDamaged", "UndecodableChange"]


class UndecodableChange(ParseError):
    """A change to a captured table that capture cannot decode fully: an operation,
    row layout, compression or LOB variant it does not know. Raised with what is known
    of where it is (table or object, XID, SCN, RBA, opcode); what capture then does is
    ``source.on_undecodable``: stop (the default), or publish the change marked
    ``undecoded``. Never a silent skip."""


class RedoDamaged(CorruptRedo):
    """A redo log capture must read is damaged (a block fails its checks, the file is
    truncated …). Capture publishes every transaction committed before the damage, all
    threads merged, and waits there: it reads on from a good copy of the log placed in
    any configured archive directory (or the file replaced in place). Names the thread,
    the log, the file, the block and the last SCN read before the damage."""


class RedoCopyFound(RetriableSourceError):
    """Another copy of a log whose damage surfaced while a record was being assembled:
    capture restarts from its checkpoint to read the log again from that copy."""


class CaptureFenced(SinkError):
    """Another capture with the same ``capture_id`` started its producer: this one is
    fenced out of Kafka (two captures of one source must not both publish)."""
