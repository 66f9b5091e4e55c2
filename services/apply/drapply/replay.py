"""Replay: rewind to an SCN or a time and re-apply forward, idempotently and audited.

Finding where to start never scans the topic:

* by time — ``offsets_for_times`` gives the first record stamped at or after the time
  (capture stamps each record with its source commit time), then a short step forward
  over watermarks and earlier commits;
* by SCN — a binary search over offsets, each probe reading one record's
  ``commit_scn`` header (commit SCNs never decrease along a schema topic).

Either way the position is the first record of a transaction (header ``start``, see
:func:`drcommon.serde.starts_transaction`): its first ``value_chunk`` record when large
values precede it, never a record in the middle of one.

Replaying into the primary target moves its checkpoint back and marks the offsets up
to where it stood for overwrite semantics (inserts become upserts, a missing row for a
delete is fine), so re-applying what was applied before cannot fail or double rows.
Replaying into another target applies the range there with the same semantics.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from drcommon.kafka import committed_consumer
from drcommon.serde import starts_transaction

from drapply.adapters.base import AuditRow, Stream
from drapply.adapters.registry import open_target
from drapply.gate import Gate
from drapply.oneshot import apply_once
from drapply.settings import PRIMARY, ApplySettings
from drapply.status import utcnow
from drapply.wiring import naming_for, schema_topics, stream_for

log = logging.getLogger(__name__)
MAX_TIME_STEPS = 100_000


@dataclass(frozen=True, slots=True)
class ReplayRequest:
    """What to replay: schemas (None: all), where from, into which target, who asks."""

    schemas: tuple[str, ...] | None
    from_scn: int | None
    from_time: datetime | None
    target: str = PRIMARY
    requested_by: str = "unknown"
    to_scn: int | None = None

    def check(self) -> None:
        if (self.from_scn is None) == (self.from_time is None):
            raise ValueError("give exactly one of from_scn and from_time")
        if self.from_time is not None and self.from_time.tzinfo is None:
            raise ValueError("from_time needs a time zone (e.g. 2024-05-01T10:00:00+08:00)")


def _header(record: Any, name: str) -> bytes | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value)
    return None


class OffsetFinder:
    """Offset lookups on one partition with a private consumer (no group)."""

    def __init__(self, consumer: AIOKafkaConsumer, tp: TopicPartition) -> None:
        self._consumer = consumer
        self._tp = tp

    async def bounds(self) -> tuple[int, int]:
        begin = await self._consumer.beginning_offsets([self._tp])
        end = await self._consumer.end_offsets([self._tp])
        return int(begin[self._tp]), int(end[self._tp])

    async def _records_from(self, offset: int, end: int) -> Any:
        """Records from ``offset`` on, until ``end`` (an async generator)."""
        self._consumer.seek(self._tp, offset)
        while True:
            batch = await self._consumer.getmany(self._tp, timeout_ms=1000, max_records=500)
            records = batch.get(self._tp, [])
            if not records:
                if await self._consumer.position(self._tp) >= end:
                    return
                continue
            for record in records:
                yield record
                if record.offset + 1 >= end:
                    return

    async def _first_tx(self, offset: int, end: int) -> tuple[int, int] | None:
        """(offset, commit SCN) of the first record at or after ``offset`` that starts a
        transaction."""
        async for record in self._records_from(offset, end):
            scn = _header(record, "commit_scn")
            if scn is not None and starts_transaction(record.headers):
                return record.offset, int(scn)
        return None

    async def first_transaction(self) -> tuple[int, int] | None:
        """(offset, commit SCN) of the first transaction Kafka still holds, or None."""
        begin, end = await self.bounds()
        return await self._first_tx(begin, end) if begin < end else None

    async def by_scn(self, scn: int) -> int:
        """Offset of the first transaction with commit SCN >= ``scn`` (end if none)."""
        lo, end = await self.bounds()
        hi = end
        while lo < hi:
            mid = (lo + hi) // 2
            found = await self._first_tx(mid, end)
            if found is None or found[1] >= scn:
                hi = mid
            else:
                lo = found[0] + 1
        found = await self._first_tx(lo, end) if lo < end else None
        return found[0] if found is not None else end

    async def by_time(self, when: datetime) -> int:
        """Offset of the first transaction committed at or after ``when`` (end if none)."""
        stamp = int(when.timestamp() * 1000)
        begin, end = await self.bounds()
        located = await self._consumer.offsets_for_times({self._tp: stamp})
        hit = located.get(self._tp)
        if hit is None:
            return end
        steps = 0
        async for record in self._records_from(max(begin, hit.offset), end):
            if record.timestamp >= stamp and starts_transaction(record.headers):
                return int(record.offset)
            steps += 1
            if steps >= MAX_TIME_STEPS:  # clock trouble; start earlier rather than later
                return int(hit.offset)
        return end


async def locate(
    settings: ApplySettings, topics: Iterable[str], request: ReplayRequest
) -> dict[str, tuple[int, int]]:
    """Per topic: (start offset, end offset) of the replay."""
    consumer = committed_consumer(settings.kafka, group_id=None)
    await consumer.start()
    found: dict[str, tuple[int, int]] = {}
    try:
        tps = [TopicPartition(t, 0) for t in topics]
        consumer.assign(tps)
        for tp in tps:
            finder = OffsetFinder(consumer, tp)
            if request.from_scn is not None:
                start = await finder.by_scn(request.from_scn)
            else:
                assert request.from_time is not None
                start = await finder.by_time(request.from_time)
            found[tp.topic] = (start, (await finder.bounds())[1])
    finally:
        await consumer.stop()
    return found


async def replay_topics(settings: ApplySettings, request: ReplayRequest) -> dict[str, str]:
    """The configured schema topics a request covers: topic -> Oracle schema."""
    consumer = committed_consumer(settings.kafka, group_id=None)
    await consumer.start()
    try:
        topics = schema_topics(settings, await consumer.topics())
    finally:
        await consumer.stop()
    if request.schemas is not None:
        wanted = set(request.schemas)
        topics = {t: o for t, o in topics.items() if o in wanted}
        unknown = wanted - set(topics.values())
        if unknown:
            raise ValueError(f"no topic for schema(s) {', '.join(sorted(unknown))}")
    return topics


def new_audit(
    request: ReplayRequest, ranges: dict[str, tuple[int, int]], audit_id: str | None = None
) -> AuditRow:
    detail = {k: v for k, v in asdict(request).items() if k != "requested_by"}
    detail["ranges"] = {topic: list(r) for topic, r in ranges.items()}
    return AuditRow(
        audit_id=audit_id or uuid.uuid4().hex,
        action="replay",
        requested_by=request.requested_by,
        detail=detail,
        started_at=utcnow(),
    )


def rewind_primary(
    settings: ApplySettings, streams: dict[str, Stream], ranges: dict[str, tuple[int, int]]
) -> dict[str, int]:
    """Move the primary target's checkpoints back (a running service follows them)."""
    session = open_target(settings.target).connect()
    moved = {}
    try:
        for topic, (start, _end) in ranges.items():
            stream = streams[topic]
            session.prepare_stream(stream)
            session.load_checkpoint(stream, start)
            moved[topic] = session.rewind(stream, start).next_offset
    finally:
        session.close()
    return moved


async def replay_offline(settings: ApplySettings, request: ReplayRequest) -> dict[str, Any]:
    """``drapply replay``: rewind the primary (the service re-applies), or apply the
    range into another target now. Audited in that target and in the logs."""
    request.check()
    topics = await replay_topics(settings, request)
    ranges = await locate(settings, topics, request)
    audit = new_audit(request, ranges)
    target_settings = settings.target_named(request.target)
    admin = open_target(target_settings).connect(admin=True)
    try:
        admin.add_audit(audit)
    finally:
        admin.close()
    log.warning("replay requested", extra={"audit_id": audit.audit_id, **audit.detail,
                                           "requested_by": request.requested_by})  # fmt: skip
    if request.target == PRIMARY:
        naming = naming_for(settings, settings.target)
        streams = {t: stream_for(naming, t, o) for t, o in topics.items()}
        moved = await asyncio.to_thread(rewind_primary, settings, streams, ranges)
        return {"replay_id": audit.audit_id, "rewound": moved, "result": "scheduled"}
    outcome = await replay_into(settings, request, topics, ranges)
    admin = open_target(target_settings).connect(admin=True)
    try:
        result = "failed" if any(v.get("error") for v in outcome.values()) else "completed"
        admin.finish_audit(audit.audit_id, result, outcome)
    finally:
        admin.close()
    return {"replay_id": audit.audit_id, "result": result, "schemas": outcome}


async def replay_into(
    settings: ApplySettings,
    request: ReplayRequest,
    topics: dict[str, str],
    ranges: dict[str, tuple[int, int]],
) -> dict[str, dict[str, Any]]:
    """Apply each topic's range into the named (non-primary) target, overwrite semantics."""
    target = settings.target_named(request.target)
    naming = naming_for(settings, target)

    def position() -> None:
        session = open_target(target).connect()
        try:
            for topic, (start, end) in ranges.items():
                stream = stream_for(naming, topic, topics[topic])
                session.prepare_stream(stream)
                session.load_checkpoint(stream, start)
                session.rewind(stream, start, replay_until=end, force=True)
        finally:
            session.close()

    await asyncio.to_thread(position)
    gate = Gate(hold_at=request.to_scn)
    statuses = await apply_once(settings, target=target, only_topics=set(ranges), gate=gate)
    now = utcnow()
    return {schema: status.document(now) for schema, status in statuses.items()}
