"""Parking one stream's transactions: read again from the partition, published whole to
the dead-letter topic, then the parked row written with the checkpoint past them in one
database transaction (:meth:`~drapply.applier.Applier.record_parked`).

A transaction the policy parks is read back decoded, from its first record. One holding
a record that cannot be read is taken as Kafka delivered it: the run of records with that
record's key (:mod:`drapply.unreadable`).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from drcommon.model import TransactionMessage

from drapply.adapters.base import ParkedRow, Stream
from drapply.applier import Applier, ParkRequest, Record
from drapply.deadletter import DeadLetters
from drapply.errors import BadRecord
from drapply.source import PartitionSource
from drapply.status import utcnow
from drapply.unreadable import read_run, transaction_run

Db = Callable[..., Awaitable[Any]]  # runs a function in the stream's database thread


class Parking:
    """Parks transactions of one stream (the worker positions the partition first)."""

    def __init__(
        self, stream: Stream, source: PartitionSource, dead_letters: DeadLetters, db: Db
    ) -> None:
        self._stream = stream
        self._source = source
        self._dead_letters = dead_letters
        self._db = db
        # Where a record that cannot be read stopped re-reading a transaction to park.
        self.error_offset: int | None = None

    async def transaction(self, request: ParkRequest, applier: Applier) -> ParkedRow:
        """Park the transaction at ``request.first_offset`` (the position)."""
        stream = self._stream
        last, dl_offsets = await self._dead_letters.publish(
            stream.topic, stream.partition, request, self._chunks(request)
        )
        row = ParkedRow(
            topic=stream.topic, partition=stream.partition, first_offset=request.first_offset,
            last_offset=last, schema=stream.schema, xid=request.xid,
            commit_scn=request.commit_scn, error=request.error, parked_at=utcnow(),
            dl_offsets=dl_offsets,
        )  # fmt: skip
        await self._db(applier.record_parked, row)
        return row

    async def unreadable(self, offset: int, error: str, applier: Applier) -> ParkedRow:
        """Park the transaction holding the record at ``offset``, read from the
        checkpoint (the position): only watermarks may stand between the two."""
        start = applier.checkpoint_offset
        raws = await read_run(self._source, offset)
        run = transaction_run(raws, offset)
        if any(r.key is not None for r in raws if start <= r.offset < run[0].offset):
            raise BadRecord("records of other transactions stand before the one to park; "
                            "the stream stops instead", offset=offset)  # fmt: skip
        stream = self._stream
        dl_offsets, scn = await self._dead_letters.publish_raw(stream.owner, run, error)
        key = run[0].key.decode("utf-8", "replace") if run[0].key is not None else None
        row = ParkedRow(
            topic=stream.topic, partition=stream.partition, first_offset=run[0].offset,
            last_offset=run[-1].offset, schema=stream.schema, xid=key or f"offset-{offset}",
            commit_scn=scn, error=error, parked_at=utcnow(), dl_offsets=dl_offsets,
        )  # fmt: skip
        await self._db(applier.record_parked, row)
        return row

    async def _chunks(self, request: ParkRequest) -> AsyncIterator[Record]:
        """The parked transaction's records, read again from its first offset."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            fetched = await self._source.fetch(100, 500)
            for record in fetched.records:
                message = record.message
                if record.offset < request.first_offset:
                    continue
                if not isinstance(message, TransactionMessage) or message.tx.xid != request.xid:
                    raise BadRecord("parked transaction ended early", offset=record.offset)
                yield record
                if message.last:
                    return
            if fetched.error is not None:  # it holds a record that cannot be read
                self.error_offset = fetched.error_offset
                raise fetched.error
        raise BadRecord("timed out re-reading a transaction to park", xid=request.xid)
