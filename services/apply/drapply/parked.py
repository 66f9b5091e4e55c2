"""Parked transactions: retry one after its cause was fixed, or discard it; both audited.

A retry reads the transaction back from the dead-letter topic and applies it exactly,
with the tables' normal policies, in one database transaction that also marks the parked
row ``retried``. It runs beside the stream (it does not move the checkpoint): if later
transactions touched the same rows, prefer discard + replay from its SCN.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from drcommon.errors import DRError

from drapply.adapters.base import AuditRow, ParkedRow, Stream, TargetSession
from drapply.adapters.registry import open_target
from drapply.applier import Record
from drapply.deadletter import read_dead_letters
from drapply.errors import ApplyHalted, UnconfiguredTable
from drapply.observer import ApplyObserver
from drapply.settings import ApplySettings
from drapply.status import utcnow
from drapply.wiring import applier_factory, spill_for, topic_names

log = logging.getLogger(__name__)


class ParkedNotFound(UnconfiguredTable):
    """No parked transaction with that XID in state ``parked``."""


class ParkedWork:
    """Retry and discard against the primary target."""

    def __init__(self, settings: ApplySettings, observer: ApplyObserver | None = None) -> None:
        self._settings = settings
        self._target = open_target(settings.target)
        self._observer = observer or ApplyObserver()

    def _find(self, session: TargetSession, xid: str) -> ParkedRow:
        for row in session.parked("parked"):
            if row.xid == xid:
                return row
        raise ParkedNotFound("no parked transaction with this xid", xid=xid)

    def rows(self, state: str | None = "parked") -> list[ParkedRow]:
        session = self._target.connect(admin=True)
        try:
            return session.parked(state)
        finally:
            session.close()

    async def discard(self, xid: str, requested_by: str, comment: str) -> dict[str, Any]:
        """Mark a parked transaction discarded (audited)."""
        return await asyncio.to_thread(self._discard, xid, requested_by, comment)

    def _discard(self, xid: str, requested_by: str, comment: str) -> dict[str, Any]:
        session = self._target.connect(admin=True)
        try:
            row = self._find(session, xid)
            audit = _audit("discard", requested_by, row, comment)
            session.add_audit(audit)
            session.begin(_stream(row, row.schema), None)
            session.set_parked_state(row, "discarded", requested_by, comment)
            session.commit()
            session.finish_audit(audit.audit_id, "completed", {})
            log.warning("discarded parked transaction", extra=_facts(row, requested_by))
            return {"xid": xid, "state": "discarded", "audit_id": audit.audit_id}
        finally:
            session.close()

    async def retry(self, xid: str, requested_by: str, comment: str) -> dict[str, Any]:
        """Apply a parked transaction again; it stays parked if it still fails."""
        admin = await asyncio.to_thread(self._target.connect, admin=True)
        try:
            row = await asyncio.to_thread(self._find, admin, xid)
            audit = _audit("retry", requested_by, row, comment)
            await asyncio.to_thread(admin.add_audit, audit)
            dl_topic = topic_names(self._settings).dead_letters
            letters = await read_dead_letters(
                self._settings.kafka, dl_topic, row.dl_offsets,
                spill=spill_for(self._settings.apply),
            )  # fmt: skip
            records = [
                Record(p.letter.offsets[0] if p.letter.offsets else row.first_offset, 0,
                       p.letter.message, values=p.values)
                for p in letters
            ]  # fmt: skip
            owner = letters[0].letter.schema_name if letters else row.schema
            try:
                rows = await asyncio.to_thread(
                    self._apply, _stream(row, owner), row, records, requested_by, comment
                )
            except DRError as exc:
                await asyncio.to_thread(admin.finish_audit, audit.audit_id, "failed",
                                        {"error": str(exc)})  # fmt: skip
                raise
            await asyncio.to_thread(admin.finish_audit, audit.audit_id, "completed",
                                    {"rows": rows})  # fmt: skip
            log.warning("retried parked transaction", extra=_facts(row, requested_by))
            return {"xid": xid, "state": "retried", "rows": rows, "audit_id": audit.audit_id}
        finally:
            await asyncio.to_thread(admin.close)

    def _apply(
        self, stream: Stream, row: ParkedRow, records: list[Record], by: str, comment: str
    ) -> int:
        session = self._target.connect()
        try:
            session.prepare_stream(stream)
            make = applier_factory(self._settings, self._settings.target, self._observer)
            applier = make(session, stream)
            session.begin(stream, None)
            try:
                applied = applier.apply_detached(records)
                session.set_parked_state(row, "retried", by, comment)
                session.commit()
            except BaseException:
                session.rollback()
                raise
            return applied
        finally:
            session.close()


def _stream(row: ParkedRow, owner: str) -> Stream:
    return Stream(row.topic, row.partition, owner, row.schema)


def _audit(action: str, by: str, row: ParkedRow, comment: str) -> AuditRow:
    return AuditRow(
        audit_id=uuid.uuid4().hex,
        action=action,
        requested_by=by,
        detail={"xid": row.xid, "schema": row.schema, "commit_scn": row.commit_scn,
                "topic": row.topic, "first_offset": row.first_offset, "comment": comment},
        started_at=utcnow(),
    )  # fmt: skip


def _facts(row: ParkedRow, by: str) -> dict[str, Any]:
    return {"xid": row.xid, "scn": row.commit_scn, "topic": row.topic,
            "offset": row.first_offset, "requested_by": by}  # fmt: skip


__all__ = ["ApplyHalted", "ParkedNotFound", "ParkedWork"]
