"""``drapply ddl done``: a person applied a DDL by hand; the stream moves past it.

For a schema stopped on :class:`~drapply.errors.DdlNotApplied`. The stream must stand
right before that DDL's transaction (only watermarks between its checkpoint and the
transaction). In one database transaction guarded like any apply commit, the
``ddl_log`` row (outcome ``by_hand``, who, why) is written and the checkpoint moves past
the transaction; an audit row brackets it. A running service notices the moved
checkpoint and goes on.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import replace
from typing import Any

from drcommon import serde
from drcommon.model import Operation, TransactionMessage

from drapply.adapters.base import AuditRow, Checkpoint, DdlLogRow, Stream
from drapply.adapters.registry import open_target
from drapply.settings import ApplySettings
from drapply.skip import SkipRefused, stream_checkpoint
from drapply.source import assigned_consumer
from drapply.status import utcnow
from drapply.wiring import naming_for, stream_for, topic_names

log = logging.getLogger(__name__)
READ_SECONDS = 60.0


class DdlDoneRefused(SkipRefused):
    """The stream does not stand before a DDL transaction with this SCN."""


async def ddl_done(
    settings: ApplySettings, schema: str, scn: int, *, reason: str, requested_by: str,
    partition: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """Record the DDL committed at ``scn`` as applied by hand and move past it."""
    if not reason.strip() or not requested_by.strip():
        raise DdlDoneRefused("'ddl done' needs who applied it (--requested-by) and how "
                             "(--reason)")  # fmt: skip
    stream = stream_for(naming_for(settings, settings.target),
                        topic_names(settings).schema(schema), schema, partition)  # fmt: skip
    checkpoint = await asyncio.to_thread(stream_checkpoint, settings, stream)
    first, last, message = await _find(settings, stream, checkpoint.next_offset, scn)
    change = next(c for c in message.changes if c.op is Operation.DDL)
    row = DdlLogRow(
        topic=stream.topic, partition=partition, record_offset=first, schema=schema,
        xid=message.tx.xid, commit_scn=scn, table=f"{change.owner}.{change.table}",
        kind="by_hand", outcome="by_hand", statement=change.ddl or "", executed=(),
        reason=reason, applied_at=utcnow(), applied_by=requested_by,
    )  # fmt: skip
    audit = await asyncio.to_thread(_move, settings, stream, checkpoint, row, last)
    log.warning(
        "DDL applied by hand; the stream moves past it",
        extra={"topic": stream.topic, "offset": first, "scn": scn, "xid": row.xid,
               "requested_by": requested_by, "reason": reason, "audit_id": audit},
    )  # fmt: skip
    return {"schema": schema, "topic": stream.topic, "scn": scn, "xid": row.xid,
            "statement": row.statement, "from_offset": first, "next_offset": last + 1,
            "audit_id": audit}  # fmt: skip


async def _find(settings: ApplySettings, stream: Stream, start: int, scn: int
                ) -> tuple[int, int, TransactionMessage]:  # fmt: skip
    """The first and last offsets of the transaction the stream stands before, which
    must be the DDL committed at ``scn``."""
    async with assigned_consumer(settings.kafka, stream.topic, stream.partition) as (
        consumer, tp,
    ):  # fmt: skip
        end = (await consumer.end_offsets([tp]))[tp]
        consumer.seek(tp, start)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READ_SECONDS
        first: int | None = None
        found: TransactionMessage | None = None
        while loop.time() < deadline and await consumer.position(tp) < end:
            for raw in (await consumer.getmany(tp, timeout_ms=500)).get(tp, []):
                where = f"{stream.topic}/{stream.partition}/{raw.offset}"
                message = serde.decode(raw.value, where=where)
                if not isinstance(message, TransactionMessage):
                    continue  # a watermark
                if found is None:
                    _check(message, scn, stream, raw.offset)
                    first, found = raw.offset, message
                if message.last:
                    assert first is not None
                    return first, raw.offset, found
        raise DdlDoneRefused("no complete transaction after the stream's checkpoint",
                             topic=stream.topic, offset=start)  # fmt: skip


def _check(message: TransactionMessage, scn: int, stream: Stream, offset: int) -> None:
    if message.tx.commit_scn != scn:
        raise DdlDoneRefused(
            "the stream stands before another transaction, not the DDL at this SCN",
            topic=stream.topic, offset=offset, scn=message.tx.commit_scn, wanted_scn=scn,
        )  # fmt: skip
    if not any(c.op is Operation.DDL for c in message.changes):
        raise DdlDoneRefused("the transaction at this SCN holds no DDL", topic=stream.topic,
                             offset=offset, scn=scn)  # fmt: skip


def _move(settings: ApplySettings, stream: Stream, checkpoint: Checkpoint, row: DdlLogRow,
          last: int) -> str:  # fmt: skip
    """Audit, then the ddl_log row and the checkpoint past the transaction, together."""
    session = open_target(settings.target).connect(admin=True)
    try:
        audit = AuditRow(
            audit_id=uuid.uuid4().hex, action="ddl_done", requested_by=row.applied_by or "",
            detail={"topic": stream.topic, "partition": stream.partition, "scn": row.commit_scn,
                    "xid": row.xid, "from_offset": checkpoint.next_offset,
                    "statement": row.statement[:300], "reason": row.reason},
            started_at=utcnow(),
        )  # fmt: skip
        session.add_audit(audit)
        try:
            session.begin(stream, checkpoint.next_offset)
            session.record_ddl(stream, row)
            moved = replace(checkpoint, next_offset=last + 1, commit_scn=row.commit_scn,
                            xid=row.xid)  # fmt: skip
            session.write_checkpoint(stream, moved)
            session.commit()
        except BaseException as exc:
            session.rollback()
            session.finish_audit(audit.audit_id, "failed", {"error": str(exc)})
            raise
        session.finish_audit(audit.audit_id, "completed", {"next_offset": last + 1})
        return audit.audit_id
    finally:
        session.close()
