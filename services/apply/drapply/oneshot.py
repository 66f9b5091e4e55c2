"""``drapply once``: apply what the topics hold up to their current end, then exit.

No consumer group (partitions are assigned directly); the checkpoint rows in the target
fence it against a running service all the same. With ``until_idle`` it keeps going
until no new record arrived for that many seconds.
"""

from __future__ import annotations

import asyncio

from aiokafka import TopicPartition
from drcommon.errors import DRError
from drcommon.kafka import unreachable

from drapply.adapters.registry import open_target
from drapply.deadletter import DeadLetters
from drapply.gate import Gate
from drapply.metrics import ApplyMetrics, ReportingObserver
from drapply.observer import ApplyObserver, TeeObserver
from drapply.settings import ApplySettings, TargetSettings
from drapply.source import PartitionSource, stream_consumer
from drapply.status import StreamStatus
from drapply.wiring import (
    applier_factory,
    naming_for,
    schema_topics,
    spill_for,
    stream_for,
    topic_names,
)
from drapply.worker import StreamWorker, WorkerDeps


async def apply_once(
    settings: ApplySettings,
    *,
    until_idle: float | None = None,
    target: TargetSettings | None = None,
    only_topics: set[str] | None = None,
    gate: Gate | None = None,
    also: ApplyObserver | None = None,
) -> dict[str, StreamStatus]:
    """Apply every configured schema topic up to its end; returns status per schema.

    ``target`` (default the primary), ``only_topics`` and ``gate`` (a hold SCN ends the
    run there) serve replays into another target; ``also`` sees every applier event.
    """
    target = target or settings.target
    names = topic_names(settings)
    consumer = stream_consumer(settings.kafka, group_id=None)
    try:
        await asyncio.wait_for(consumer.start(), settings.kafka.request_timeout_ms / 1000)
    except (DRError, OSError, TimeoutError, Exception) as exc:
        await consumer.stop()
        raise unreachable(settings.kafka, exc) from None
    dead_letters = DeadLetters(settings.kafka, names.dead_letters, "once")
    statuses: dict[str, StreamStatus] = {}
    try:
        topics = schema_topics(settings, await consumer.topics())
        if only_topics is not None:
            topics = {t: o for t, o in topics.items() if t in only_topics}
        naming = naming_for(settings, target)
        parts = []
        for topic, owner in topics.items():
            for partition in sorted(consumer.partitions_for_topic(topic) or {0}):
                parts.append((stream_for(naming, topic, owner, partition), owner))
        consumer.assign([TopicPartition(s.topic, s.partition) for s, _ in parts])
        metrics = ApplyMetrics()
        for stream, owner in parts:
            statuses[owner] = StreamStatus(owner, stream.topic, stream.partition)
        observer: ApplyObserver = ReportingObserver(metrics, statuses)
        if also is not None:
            observer = TeeObserver(observer, also)
        deps = WorkerDeps(
            target=open_target(target),
            make_applier=applier_factory(settings, target, observer),
            gate=gate or Gate(),
            options=settings.apply,
            dead_letters=dead_letters,
            metrics=metrics,
        )
        workers = [
            StreamWorker(
                stream,
                PartitionSource(consumer, stream.topic, stream.partition,
                                spill_for(settings.apply)),
                deps,
                statuses[owner],
                until_end=True,
                idle_grace=until_idle or 0.0,
            )
            for stream, owner in parts
        ]
        await asyncio.gather(*(w.run() for w in workers))
        # The queue each stream leaves behind, from the topics' ends (a stream stopped
        # on an error reports what waits after it).
        await asyncio.gather(*(w.measure_queue() for w in workers))
    finally:
        await dead_letters.stop()
        await consumer.stop()
    return statuses
