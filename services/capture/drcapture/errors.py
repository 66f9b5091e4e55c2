"""Capture's own errors (the shared families are in :mod:`drcommon.errors`)."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from drcommon.errors import (
    CorruptRedo,
    DRError,
    ParseError,
    RetriableSourceError,
    SinkError,
    SourceError,
)

__all__ = [
    "CaptureFenced",
    "DirectLoadGap",
    "DiskFull",
    "RedoCopyFound",
    "RedoDamaged",
    "RedoUnreadable",
    "SpillDiskFull",
    "StateDiskFull",
    "UndecodableChange",
    "free_bytes",
    "is_disk_full",
]


class UndecodableChange(ParseError):
    """A change to a captured table that capture cannot decode fully: an operation,
    row layout, compression or LOB variant it does not know. Raised with what is known
    of where it is (table or object, XID, SCN, RBA, opcode); what capture then does is
    ``source.on_undecodable``: stop (the default), or publish the change marked
    ``undecoded``. Never a silent skip."""


class DirectLoadGap(SourceError):
    """Rows written by a direct-path load into a captured table cannot be replicated."""


class RedoDamaged(CorruptRedo):
    """A redo log capture must read is damaged (a block fails its checks, the file is
    truncated …). Capture publishes every transaction committed before the damage, all
    threads merged, and waits there: it reads on from a good copy of the log placed in
    any configured archive directory (or the file replaced in place). Names the thread,
    the log, the file, the block and the last SCN read before the damage."""


class RedoUnreadable(RetriableSourceError):
    """A redo log (or its directory) cannot be read just now: an I/O error, a file
    system gone away (NFS, a mount). Capture holds the thread there and reads on from
    the same place when the file can be read again."""


class RedoCopyFound(RetriableSourceError):
    """Another copy of a log whose damage surfaced while a record was being assembled:
    capture restarts from its checkpoint to read the log again from that copy."""


class CaptureFenced(SinkError):
    """Another capture with the same ``capture_id`` started its producer: this one is
    fenced out of Kafka (two captures of one source must not both publish)."""


class DiskFull(DRError):
    """A local disk capture writes to is full (or over its quota). Names the path, what
    was being written and how much room it needed. Passes once there is room: capture
    removes what it wrote partially and retries."""

    retriable = True
    part = "disk"


class SpillDiskFull(DiskFull):
    """The spill directory's disk is full: a transaction too large to keep in memory
    could not be written out. The attempt's spill files are removed at once (their
    transactions are read from redo again) and capture retries from its checkpoint."""

    part = "spill"


class StateDiskFull(DiskFull):
    """Saving the open transactions (bounded restart) failed for lack of room. Capture
    goes on without that state (a restart reads from older logs) and tries again at
    the next save."""

    part = "state"


def is_disk_full(exc: OSError) -> bool:
    """No space left on the device, or the disk quota is exceeded."""
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)


def free_bytes(path: Path) -> int | None:
    """Free bytes on the file system holding ``path`` (None if it cannot be told)."""
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None
