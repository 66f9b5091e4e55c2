"""``drapply skip``: move a stopped stream past a record that cannot be applied.

For a schema in ``error`` on a record that cannot be read (or breaks the chunk
protocol) when its policy is not ``park``. It is an operator's decision, so it is
audited and nothing vanishes: the record and the rest of its transaction (the run of
records with its key) go to the dead-letter topic as they were, a parked row in state
``discarded`` names who skipped it and why, and the checkpoint moves past them in one
database transaction guarded like any apply commit (``CheckpointMoved`` if the stream
moved meanwhile). The stream must stand right before that transaction: only keyless
records (watermarks) or records of the same transaction may lie between its
checkpoint and the record. A running service notices the moved checkpoint and goes on.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import replace
from typing import Any

from drcommon.errors import ConfigError

from drapply.adapters.base import AuditRow, Checkpoint, ParkedRow, Stream
from drapply.adapters.registry import open_target
from drapply.deadletter import DeadLetters
from drapply.settings import ApplySettings
from drapply.source import assigned_consumer
from drapply.status import utcnow
from drapply.unreadable import transaction_run
from drapply.wiring import naming_for, stream_for, topic_names

log = logging.getLogger(__name__)


class SkipRefused(ConfigError):
    """The skip would pass over more than the record's transaction, or the record is
    not where the stream stands."""


async def skip_record(
    settings: ApplySettings, schema: str, offset: int, *, reason: str, requested_by: str,
    partition: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """Skip the transaction holding the record at ``offset`` of ``schema``'s topic."""
    if not reason.strip() or not requested_by.strip():
        raise SkipRefused("a skip needs who asks (--requested-by) and why (--reason)")
    names = topic_names(settings)
    stream = stream_for(naming_for(settings, settings.target), names.schema(schema), schema,
                        partition)  # fmt: skip
    checkpoint = await asyncio.to_thread(stream_checkpoint, settings, stream)
    start = checkpoint.next_offset
    if offset < start:
        raise SkipRefused("the stream is already past this offset", topic=stream.topic,
                          offset=offset, checkpoint=start)  # fmt: skip
    raws = await _read(settings, stream, start, offset)
    run = transaction_run(raws, offset)
    between = [r.offset for r in raws if start <= r.offset < run[0].offset and r.key is not None]
    if between:
        raise SkipRefused(
            "records of other transactions lie between the stream's position and this "
            "record: it is not where the stream stopped", topic=stream.topic, offset=offset,
            checkpoint=start, first_other=between[0])  # fmt: skip
    dead_letters = DeadLetters(settings.kafka, names.dead_letters, f"skip-{uuid.uuid4().hex[:8]}")
    error = f"skipped by {requested_by}: {reason}"
    try:
        dl_offsets, scn = await dead_letters.publish_raw(schema, run, error)
    finally:
        await dead_letters.stop()
    key = run[0].key.decode("utf-8", "replace") if run[0].key is not None else None
    row = ParkedRow(
        topic=stream.topic, partition=partition, first_offset=run[0].offset,
        last_offset=run[-1].offset, schema=stream.schema, xid=key or f"offset-{offset}",
        commit_scn=scn, error=error, parked_at=utcnow(), state="discarded",
        dl_offsets=dl_offsets, resolved_by=requested_by, resolved_at=utcnow(), comment=reason,
    )  # fmt: skip
    audit = await asyncio.to_thread(_move, settings, stream, checkpoint, row, reason)
    log.warning(
        "skipped records a stream stopped on",
        extra={"topic": stream.topic, "partition": partition, "offset": offset,
               "first": row.first_offset, "last": row.last_offset, "xid": row.xid,
               "requested_by": requested_by, "reason": reason, "audit_id": audit},
    )  # fmt: skip
    return {"schema": schema, "topic": stream.topic, "skipped_from": row.first_offset,
            "skipped_to": row.last_offset, "next_offset": row.last_offset + 1,
            "xid": row.xid, "dead_letter_offsets": list(dl_offsets), "audit_id": audit}


def stream_checkpoint(settings: ApplySettings, stream: Stream) -> Checkpoint:
    """The stream's checkpoint as the target holds it (refused when it has none)."""
    session = open_target(settings.target).connect(admin=True)
    try:
        for checkpoint in session.checkpoints():
            if (checkpoint.topic, checkpoint.partition) == (stream.topic, stream.partition):
                return checkpoint
    finally:
        session.close()
    raise SkipRefused("this schema has no checkpoint in the target", topic=stream.topic)


async def _read(settings: ApplySettings, stream: Stream, start: int, offset: int) -> list[Any]:
    """Records from ``start`` through the end of the run holding ``offset``, undecoded."""
    async with assigned_consumer(settings.kafka, stream.topic, stream.partition) as (
        consumer, tp,
    ):  # fmt: skip
        end = (await consumer.end_offsets([tp]))[tp]
        if offset >= end:
            raise SkipRefused("no record at this offset", topic=stream.topic, offset=offset,
                              end=end)  # fmt: skip
        consumer.seek(tp, start)
        raws: list[Any] = []
        deadline = asyncio.get_running_loop().time() + 60
        while asyncio.get_running_loop().time() < deadline:
            raws.extend((await consumer.getmany(tp, timeout_ms=500)).get(tp, []))
            at = [r for r in raws if r.offset >= offset]
            if at and (raws[-1].offset >= end - 1
                       or any(r.key != at[0].key or r.key is None for r in at[1:])):
                if at[0].offset != offset:
                    raise SkipRefused("no record at this offset (a transaction marker?)",
                                      topic=stream.topic, offset=offset)  # fmt: skip
                return raws
        raise SkipRefused("timed out reading the records to skip", topic=stream.topic)


def _move(
    settings: ApplySettings, stream: Stream, checkpoint: Checkpoint, row: ParkedRow, reason: str
) -> str:
    """Audit, then the parked row and the checkpoint past it in one transaction."""
    session = open_target(settings.target).connect(admin=True)
    try:
        audit = AuditRow(
            audit_id=uuid.uuid4().hex, action="skip", requested_by=row.resolved_by or "",
            detail={"topic": stream.topic, "partition": stream.partition,
                    "from_offset": checkpoint.next_offset, "first_offset": row.first_offset,
                    "last_offset": row.last_offset, "xid": row.xid, "reason": reason},
            started_at=utcnow(),
        )  # fmt: skip
        session.add_audit(audit)
        try:
            session.begin(stream, checkpoint.next_offset)
            session.add_parked(stream, row)
            session.write_checkpoint(stream, replace(checkpoint, next_offset=row.last_offset + 1))
            session.commit()
        except BaseException as exc:
            session.rollback()
            session.finish_audit(audit.audit_id, "failed", {"error": str(exc)})
            raise
        session.finish_audit(audit.audit_id, "completed",
                             {"next_offset": row.last_offset + 1})  # fmt: skip
        return audit.audit_id
    finally:
        session.close()
