"""Kafka clients built from :class:`~drcommon.config.KafkaSettings`: TLS, SASL, topics.

Only aiokafka is used. Exactly-once relies on three broker features: the transactional
producer (``transactional_id``, idempotence implied), ``read_committed`` consumers, and
``offsets_for_times`` for rewinding by time.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError

from drcommon.config import KafkaSettings
from drcommon.errors import RetriableSourceError

# Topic-level settings every data topic gets: one partition keeps commit order; keep
# data for a week so operators can replay what the DR side missed.
DATA_TOPIC_CONFIG = {
    "cleanup.policy": "delete",
    "retention.ms": str(7 * 24 * 3600 * 1000),
    "message.timestamp.type": "CreateTime",
    "max.message.bytes": str(8 * 1024 * 1024),
}
COMPACTED_TOPIC_CONFIG = {"cleanup.policy": "compact", "min.compaction.lag.ms": "3600000"}
MAX_REQUEST_SIZE = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic to create if missing."""

    name: str
    partitions: int = 1
    replication: int = 1
    config: dict[str, str] = field(default_factory=lambda: dict(DATA_TOPIC_CONFIG))


def _ssl_context(settings: KafkaSettings) -> ssl.SSLContext | None:
    tls = settings.tls
    if not (tls.enabled or settings.security_protocol in ("SSL", "SASL_SSL")):
        return None
    context = ssl.create_default_context(cafile=str(tls.ca_file) if tls.ca_file else None)
    context.check_hostname = tls.check_hostname
    if tls.cert_file:
        context.load_cert_chain(str(tls.cert_file), str(tls.key_file) if tls.key_file else None)
    return context


def client_options(settings: KafkaSettings) -> dict[str, Any]:
    """Connection options shared by producers, consumers and the admin client."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.security_protocol,
        "request_timeout_ms": settings.request_timeout_ms,
    }
    context = _ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if settings.sasl_mechanism:
        options["sasl_mechanism"] = settings.sasl_mechanism
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = settings.password()
    return options


def transactional_producer(
    settings: KafkaSettings, transactional_id: str, **extra: Any
) -> AIOKafkaProducer:
    """A producer whose sends are atomic per transaction and fenced by ``transactional_id``."""
    compression = None if settings.compression == "none" else settings.compression
    return AIOKafkaProducer(
        **client_options(settings),
        transactional_id=transactional_id,
        enable_idempotence=True,
        acks="all",
        compression_type=compression,
        max_request_size=MAX_REQUEST_SIZE,
        linger_ms=5,
        **extra,
    )


def committed_consumer(
    settings: KafkaSettings, *, group_id: str | None, **extra: Any
) -> AIOKafkaConsumer:
    """A ``read_committed`` consumer that never commits offsets on its own."""
    return AIOKafkaConsumer(
        **client_options(settings),
        group_id=group_id,
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=MAX_REQUEST_SIZE,
        fetch_max_bytes=4 * MAX_REQUEST_SIZE,
        **extra,
    )


async def ensure_topics(
    settings: KafkaSettings, specs: list[TopicSpec], *, timeout: float = 30.0
) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    try:
        await asyncio.wait_for(admin.start(), timeout)
    except (KafkaConnectionError, TimeoutError, OSError) as exc:
        raise unreachable(settings, exc) from None
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if not missing:
            return []
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(
                [
                    NewTopic(s.name, s.partitions, s.replication, topic_configs=s.config)
                    for s in missing
                ],
                timeout_ms=int(timeout * 1000),
            )
        return [s.name for s in missing]
    finally:
        await admin.close()


def unreachable(settings: KafkaSettings, exc: BaseException) -> RetriableSourceError:
    """One clear error for a broker nobody answers at."""
    detail = str(exc) or type(exc).__name__
    return RetriableSourceError(
        f"Kafka is unreachable at {settings.bootstrap_servers}: {detail}",
        bootstrap_servers=settings.bootstrap_servers,
    )


__all__ = [
    "KafkaError",
    "TopicSpec",
    "client_options",
    "committed_consumer",
    "ensure_topics",
    "transactional_producer",
    "unreachable",
]
