"""The audit watch: every ``audit.anchor_interval_seconds`` verify the whole chain against
the anchors outside the database, then sign the head and append it to the anchor file.

A broken chain is never signed again; it makes ``/health`` degraded and raises the
``alert.audit_chain`` notification (once, and ``resolved`` if it ever verifies again). A
chain nobody anchors (no key or no anchor file configured, or no anchor for three
intervals) is reported the same way: without an anchor, whoever can write the database
can rewrite history unnoticed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drcommon.errors import DRError

from drcontrol.anchor import (
    Anchor,
    load_private,
    parse_anchors,
    public_pem,
    sign_head,
    verify_against_anchors,
)
from drcontrol.audit import verify_chain
from drcontrol.model import AuditRecord
from drcontrol.settings import AuditSettings
from drcontrol.storage.base import AuditQuery, Storage

log = logging.getLogger(__name__)
Notify = Callable[[str, dict[str, Any]], None]
PAGE = 1000


@dataclass(frozen=True, slots=True)
class AuditHealth:
    """The last verification: whether the chain holds and is anchored outside the database."""

    ok: bool
    anchored: bool
    reason: str
    checked_at: float | None = None
    anchored_seq: int | None = None
    anchored_at: float | None = None

    @property
    def healthy(self) -> bool:
        return self.ok and self.anchored

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "anchored": self.anchored, "reason": self.reason,
                "checked_at": self.checked_at, "anchored_seq": self.anchored_seq,
                "anchored_at": self.anchored_at}


async def read_records(storage: Storage) -> list[AuditRecord]:
    """Every record in sequence order."""
    out: list[AuditRecord] = []
    after = 0
    while True:
        page = await storage.audit_records(AuditQuery(after_seq=after, limit=PAGE))
        out.extend(page)
        if len(page) < PAGE:
            return out
        after = page[-1].seq


def read_anchor_file(path: Path) -> list[Anchor]:
    """The anchors appended so far (none when the file does not exist yet)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return parse_anchors(text.splitlines())[0]


def _append(path: Path, lines: list[str]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, "".join(line + "\n" for line in lines).encode())
        os.fsync(fd)
    finally:
        os.close(fd)


class AuditWatch:
    """Owns the verification task and the latest :class:`AuditHealth`."""

    def __init__(self, storage: Storage, settings: AuditSettings, clock: Callable[[], float],
                 notify: Notify) -> None:
        self._storage = storage
        self._settings = settings
        self._clock = clock
        self._notify = notify
        pem = settings.private_pem()
        self._key = load_private(pem) if pem else None
        self.public_key_pem = public_pem(self._key.public_key()) if self._key else None
        self.health = AuditHealth(True, False, "not verified yet")
        self._alerting = False
        self._task: asyncio.Task[None] | None = None

    def anchors(self) -> list[Anchor]:
        path = self._settings.anchor_file
        return read_anchor_file(path) if path is not None else []

    async def check(self) -> AuditHealth:
        """Verify now; sign and append the head when the chain holds."""
        now = self._clock()
        head = await self._storage.audit_head()  # first: records after it are later writes
        records = await read_records(self._storage)
        path = self._settings.anchor_file
        if self._key is None or path is None:
            verdict = verify_chain(records, head)
            missing = "audit.signing_key" if self._key is None else "audit.anchor_file"
            health = AuditHealth(verdict.ok, False, verdict.reason if not verdict.ok else
                                 f"chain intact but not anchored outside the database "
                                 f"({missing} not configured)", now)
            return self._settle(health)
        anchors = await asyncio.to_thread(read_anchor_file, path)
        public = self._key.public_key()
        if anchors:
            verdict = verify_against_anchors(records, head, anchors, public)
        else:
            verdict = verify_chain(records, head)
        if not verdict.ok:
            return self._settle(AuditHealth(False, bool(anchors), verdict.reason, now))
        lines = [] if path.exists() else [json.dumps({"public_key": self.public_key_pem})]
        newest = max(anchors, key=lambda a: a.seq) if anchors else None
        if head is not None and (newest is None or newest.seq != head.seq
                                 or now - newest.at >= self._settings.anchor_interval_seconds):
            newest = sign_head(self._key, head, now)
            lines.append(newest.line())
        if lines:
            await asyncio.to_thread(_append, path, lines)
        if newest is None:
            return self._settle(AuditHealth(True, True, "empty chain", now))
        return self._settle(AuditHealth(True, True, f"chain intact; head {newest.seq} anchored",
                                        now, newest.seq, newest.at))

    def _settle(self, health: AuditHealth) -> AuditHealth:
        self.health = health
        if not health.healthy and not self._alerting:
            self._alerting = True
            log.error("ALERT: audit chain %s: %s", "broken" if not health.ok else "unanchored",
                      health.reason)
            self._notify("alert.audit_chain", {"state": "firing", "ok": health.ok,
                                               "anchored": health.anchored,
                                               "reason": health.reason})
        elif health.healthy and self._alerting:
            self._alerting = False
            self._notify("alert.audit_chain", {"state": "resolved", "reason": health.reason})
        return health

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="audit-watch")

    async def _loop(self) -> None:
        while True:
            try:
                await self.check()
            except (DRError, OSError, ValueError) as exc:
                log.warning("audit verification failed: %s", exc)
                self._settle(AuditHealth(False, False, f"audit verification failed: {exc}",
                                         self._clock()))
            await asyncio.sleep(self._settings.anchor_interval_seconds)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
