"""Large values on the way in: ``value_chunk`` records reassembled per stream.

Capture writes the chunks of the values a ``tx`` record refers to right before it (see
``docs/INTERFACES.md``, "Large values"). A stream's :class:`ValueAssembler` takes them
as they are read, rebuilds each value into a :class:`StoredValue` (in memory up to
``Spill.bytes``, in an anonymous temporary file beyond: memory does not grow with the
value), and hands the finished ones to the ``tx`` record that refers to them as a
:class:`ValueSet`, after checking that every reference has exactly its chunks, in
order, with the reference's count, length and SHA-256. Anything else (a chunk missing,
repeated, out of order or damaged, chunks nobody refers to, a reference without chunks)
is a :class:`~drapply.errors.BadRecord` naming the record, the value and the chunk; the
stream stops before the transaction, never applies a shortened value.

The record's span starts at its first chunk: that offset is where the transaction
begins for checkpoints, parking and positioning. Values are substituted into the
changes only when the applier binds them (:func:`drcommon.chunking.resolve`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from drcommon.chunking import ChunkError, ValueBuilder, value_refs
from drcommon.model import TransactionMessage, ValueChunk, ValueRef

from drapply.errors import BadRecord

DEFAULT_SPILL_BYTES = 1024 * 1024
# A record that may hold references: orjson writes this literal only as a "kind" value
# (a string value "value_ref" would be a harmless false positive: the record is scanned).
REF_MARKER = b'"value_ref"'


@dataclass(frozen=True, slots=True)
class Spill:
    """Where reassembled values live: memory up to ``memory_bytes`` each, then a temporary
    file in ``directory`` (the system's temporary directory when None)."""

    memory_bytes: int = DEFAULT_SPILL_BYTES
    directory: Path | None = None

    def file(self) -> IO[bytes]:
        """A new file for one value (anonymous: gone when closed or collected)."""
        return tempfile.SpooledTemporaryFile(
            max_size=self.memory_bytes, dir=str(self.directory) if self.directory else None
        )


@dataclass(slots=True)
class StoredValue:
    """One reassembled value: its UTF-8 bytes in ``file``, and the byte length of each
    chunk it came in (to write the same chunks again when the transaction is parked)."""

    ref: ValueRef
    file: IO[bytes]
    sizes: list[int]

    def text(self) -> str:
        self.file.seek(0)
        return self.file.read().decode("utf-8")

    def pieces(self) -> Iterator[str]:
        """The value's chunk texts, as they arrived."""
        self.file.seek(0)
        for size in self.sizes:
            yield self.file.read(size).decode("utf-8")

    def close(self) -> None:
        self.file.close()


@dataclass(slots=True)
class ValueSet:
    """The values one ``tx`` record refers to, by reference id."""

    values: dict[str, StoredValue] = field(default_factory=dict)

    @property
    def total_bytes(self) -> int:
        return sum(v.ref.length for v in self.values.values())

    def lookup(self, ref: ValueRef) -> str:
        found = self.values.get(ref.id)
        if found is None or found.ref != ref:
            raise BadRecord(f"value {ref.id}: no chunks for this reference")
        return found.text()

    def chunks(
        self, ref: ValueRef, *, schema: str, xid: str, commit_scn: int
    ) -> Iterator[ValueChunk]:
        """The value's ``value_chunk`` records again, as they came (parking re-publishes
        them), read from the stored value one at a time."""
        stored = self.values[ref.id]
        count = len(stored.sizes)
        for i, data in enumerate(stored.pieces()):
            yield ValueChunk(schema_name=schema, xid=xid, commit_scn=commit_scn, id=ref.id,
                             seq=i, last=i == count - 1, data=data)  # fmt: skip

    def close(self) -> None:
        for value in self.values.values():
            value.close()


class ValueAssembler:
    """A stream's value chunks, between two ``tx`` records (see the module docstring)."""

    def __init__(self, topic: str, partition: int, spill: Spill | None = None) -> None:
        self.topic = topic
        self.partition = partition
        self.spill = spill or Spill()
        self._first: int | None = None  # offset of the first chunk since the last tx record
        self._xid: str | None = None
        self._building: tuple[ValueBuilder, IO[bytes]] | None = None
        self._done: dict[str, tuple[ValueBuilder, IO[bytes]]] = {}

    @property
    def pending(self) -> bool:
        """Whether chunks were read that no ``tx`` record has taken yet."""
        return self._first is not None

    def reset(self) -> None:
        """Forget everything (the stream seeks)."""
        if self._building is not None:
            self._building[1].close()
        for _builder, file in self._done.values():
            file.close()
        self._first = self._xid = self._building = None
        self._done = {}

    def _bad(self, message: str, offset: int, **facts: object) -> BadRecord:
        return BadRecord(message, topic=self.topic, partition=self.partition, offset=offset,
                         **facts)  # fmt: skip

    def chunk(self, offset: int, chunk: ValueChunk) -> None:
        """Take one ``value_chunk`` record."""
        if self._xid is not None and chunk.xid != self._xid:
            raise self._bad(
                f"value chunk of transaction {chunk.xid} while chunks of {self._xid} wait "
                "for their transaction record", offset, xid=chunk.xid, value=chunk.id,
            )  # fmt: skip
        try:
            if self._building is None:
                if chunk.id in self._done:
                    raise ChunkError(f"value {chunk.id}: chunks of it came twice")
                file = self.spill.file()
                self._building = (ValueBuilder(chunk, file), file)
            else:
                self._building[0].add(chunk)
        except ChunkError as exc:
            raise self._bad(exc.message, offset, xid=chunk.xid, value=chunk.id,
                            seq=chunk.seq) from None  # fmt: skip
        if self._first is None:
            self._first, self._xid = offset, chunk.xid
        builder, file = self._building
        if builder.done:
            self._done[builder.id] = (builder, file)
            self._building = None

    def transaction(self, offset: int, message: TransactionMessage) -> tuple[int, ValueSet | None]:
        """The span start of a ``tx`` record and the values it refers to."""
        refs = [ref for change in message.changes for ref in value_refs(change)]
        first = self._first if self._first is not None else offset
        xid = message.tx.xid
        if self._building is not None:
            builder = self._building[0]
            raise self._bad(
                f"value {builder.id}: chunks from {len(builder.sizes)} on are missing (the "
                "transaction record came first)", offset, xid=xid, value=builder.id,
            )  # fmt: skip
        if self._xid is not None and self._xid != xid:
            raise self._bad(f"value chunks of transaction {self._xid} before a record of "
                            f"{xid}", offset, xid=xid)  # fmt: skip
        values = ValueSet()
        try:
            for ref in refs:
                found = self._done.pop(ref.id, None)
                if found is None:
                    raise self._bad(f"value {ref.id}: no chunks before the record that "
                                    "refers to it", offset, xid=xid, value=ref.id)  # fmt: skip
                builder, file = found
                values.values[ref.id] = StoredValue(ref, file, builder.sizes)
                try:
                    builder.check(ref)
                except ChunkError as exc:
                    raise self._bad(exc.message, offset, xid=xid, value=ref.id) from None
            if self._done:
                raise self._bad(
                    "value chunks no change refers to: " + ", ".join(sorted(self._done)),
                    offset, xid=xid,
                )  # fmt: skip
        except BadRecord:
            values.close()
            self.reset()
            raise
        self._first = self._xid = None
        return first, (values if refs else None)

    def other(self, offset: int, kind: str) -> None:
        """A record of another kind (a watermark) may not come between chunks and their
        transaction record."""
        if self.pending:
            raise self._bad(f"a {kind} record between value chunks and their transaction "
                            "record", offset, xid=self._xid)  # fmt: skip
