"""Reading apply's own tables without the service: positions, parked work, audit."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drapply.adapters.registry import open_target
from drapply.settings import ApplySettings


def read_status(settings: ApplySettings) -> list[dict[str, Any]]:
    """Every checkpoint row of the primary target, as plain dicts."""
    session = open_target(settings.target).connect(admin=True)
    try:
        return [
            {
                "schema": cp.schema,
                "topic": cp.topic,
                "partition": cp.partition,
                "next_offset": cp.next_offset,
                "commit_scn": cp.commit_scn,
                "xid": cp.xid,
                "commit_ts": cp.commit_ts.isoformat() if cp.commit_ts else None,
                "watermark_scn": cp.watermark_scn,
                "replay_until": cp.replay_until,
                "updated_at": cp.updated_at.isoformat() if cp.updated_at else None,
            }
            for cp in session.checkpoints()
        ]
    finally:
        session.close()


def list_parked(settings: ApplySettings, state: str | None = "parked") -> list[dict[str, Any]]:
    """Parked transactions of the primary target (``state`` None: all)."""
    session = open_target(settings.target).connect(admin=True)
    try:
        return [asdict(row) for row in session.parked(state)]
    finally:
        session.close()


def list_ddl(settings: ApplySettings, schema: str | None = None) -> list[dict[str, Any]]:
    """The DDL log of the primary target: every DDL record and what apply did with it."""
    session = open_target(settings.target).connect(admin=True)
    try:
        return [asdict(row) for row in session.ddl_log(schema)]
    finally:
        session.close()
