"""Kafka reachability for the pre-checks: connect an admin client and list topics."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from drcommon.config import KafkaSettings
from drcommon.kafka import client_options

from drcontrol.errors import PeerError


class AdminKafkaProbe:
    """Proves the cluster answers by listing its topics within ``timeout`` seconds."""

    def __init__(self, settings: KafkaSettings, timeout: float = 10.0) -> None:
        self._settings = settings
        self._timeout = timeout
        self.where = f"kafka@{settings.bootstrap_servers}"

    async def probe(self) -> dict[str, Any]:
        admin = AIOKafkaAdminClient(**client_options(self._settings))
        try:
            await asyncio.wait_for(admin.start(), self._timeout)
            topics = await asyncio.wait_for(admin.list_topics(), self._timeout)
        except Exception as exc:  # aiokafka raises many types; all mean "not reachable"
            raise PeerError(f"Kafka unreachable: {str(exc) or type(exc).__name__}",
                            peer=self.where) from exc
        finally:
            await admin.close()
        prefix = self._settings.topic_prefix + "."
        return {"topics": sum(1 for t in topics if t.startswith(prefix))}
