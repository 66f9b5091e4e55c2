"""Apply's own tables in the target: checkpoint, parked, audit, state.

The checkpoint row of a stream is locked at the start of every data transaction and
compared with the offset the worker expects, so two writers (a zombie instance, a
concurrent replay) can never both apply the same records: the second one sees
:class:`CheckpointMoved` and re-reads.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from drapply.adapters.base import AuditRow, Checkpoint, DdlLogRow, ParkedRow, Stream
from drapply.errors import CheckpointMoved, TargetError

CHECKPOINT_COLUMNS = (
    "topic", "partition_no", "schema_name", "next_offset", "commit_scn", "xid", "commit_ts",
    "watermark_scn", "replay_until", "updated_at", "seed_scn",
)  # fmt: skip
PARKED_COLUMNS = (
    "topic", "partition_no", "first_offset", "last_offset", "schema_name", "xid", "commit_scn",
    "error", "parked_at", "state", "dl_offsets", "resolved_by", "resolved_at", "comment_text",
)  # fmt: skip
DDL_COLUMNS = (
    "topic", "partition_no", "record_offset", "schema_name", "xid", "commit_scn",
    "table_name", "ddl_kind", "outcome", "statement", "executed", "reason", "applied_at",
    "applied_by",
)  # fmt: skip
AUDIT_COLUMNS = (
    "audit_id", "action", "requested_by", "detail", "started_at", "result", "finished_at",
    "outcome",
)  # fmt: skip


def now() -> datetime:
    return datetime.now(UTC)


class SqlControl:
    """Control-table statements; the dialect supplies names, types and execution."""

    text_type = "TEXT"
    long_text_type = "TEXT"
    int_type = "BIGINT"
    ts_type = "TEXT"
    for_update = " FOR UPDATE"

    # -- hooks (provided by the session class) ---------------------------------------------
    def ph(self, index: int) -> str:
        raise NotImplementedError

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        raise NotImplementedError

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def control_table(self, name: str, schema: str | None) -> str:
        """Qualified name of a control table (``schema`` for per-stream tables)."""
        raise NotImplementedError

    def start(self) -> None:
        """Open a transaction."""
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError

    def ts_param(self, value: datetime | None) -> Any:
        return value.isoformat() if value is not None else None

    def ts_value(self, value: Any) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        return datetime.fromisoformat(str(value))

    def create_if_missing(self, table: str, ddl: str) -> None:
        self.execute(f"CREATE TABLE IF NOT EXISTS {table} ({ddl})")

    def column_names(self, table: str) -> set[str]:
        """The (lower-case) column names of a table."""
        raise NotImplementedError

    def ensure_column(self, table: str, column: str, ddl_type: str) -> None:
        """Add a column an older version of apply created the table without."""
        if column in self.column_names(table):
            return
        try:
            self.execute(f"ALTER TABLE {table} ADD {column} {ddl_type}")
        except TargetError:
            if column not in self.column_names(table):  # else: another session added it
                raise

    # -- DDL ---------------------------------------------------------------------------------
    def stream_tables_ddl(self, schema: str | None) -> None:
        t, i, ts = self.text_type, self.int_type, self.ts_type
        self.create_if_missing(
            self.control_table("checkpoint", schema),
            f"topic {t} NOT NULL, partition_no {i} NOT NULL, schema_name {t}, "
            f"next_offset {i} NOT NULL, commit_scn {i}, xid {t}, commit_ts {ts}, "
            f"watermark_scn {i}, replay_until {i}, updated_at {ts}, seed_scn {i}, "
            "PRIMARY KEY (topic, partition_no)",
        )
        self.ensure_column(self.control_table("checkpoint", schema), "seed_scn", i)
        self.create_if_missing(
            self.control_table("parked", schema),
            f"topic {t} NOT NULL, partition_no {i} NOT NULL, first_offset {i} NOT NULL, "
            f"last_offset {i}, schema_name {t}, xid {t}, commit_scn {i}, error {t}, "
            f"parked_at {ts}, state {t}, dl_offsets {t}, resolved_by {t}, resolved_at {ts}, "
            f"comment_text {t}, PRIMARY KEY (topic, partition_no, first_offset)",
        )
        self.create_if_missing(
            self.control_table("ddl_log", schema),
            f"topic {t} NOT NULL, partition_no {i} NOT NULL, record_offset {i} NOT NULL, "
            f"schema_name {t}, xid {t}, commit_scn {i}, table_name {t}, ddl_kind {t}, "
            f"outcome {t}, statement {self.long_text_type}, executed {self.long_text_type}, "
            f"reason {t}, applied_at {ts}, applied_by {t}, "
            "PRIMARY KEY (topic, partition_no, record_offset)",
        )

    def global_tables_ddl(self) -> None:
        t, ts = self.text_type, self.ts_type
        self.create_if_missing(
            self.control_table("audit", None),
            f"audit_id {self._key_type()} PRIMARY KEY, action {t}, requested_by {t}, "
            f"detail {t}, started_at {ts}, result {t}, finished_at {ts}, outcome {t}",
        )
        self.create_if_missing(
            self.control_table("state", None),
            f"state_key {self._key_type()} PRIMARY KEY, state_value {t}, updated_at {ts}",
        )

    def _key_type(self) -> str:
        return self.text_type

    # -- checkpoints -------------------------------------------------------------------------
    def _placeholders(self, count: int, start: int = 0) -> str:
        return ", ".join(self.ph(start + i) for i in range(count))

    def load_checkpoint(self, stream: Stream, start_offset: int) -> Checkpoint:
        found = self._read_checkpoint(stream, lock=False)
        if found is not None:
            return found
        self.start()
        try:
            self.execute(
                f"INSERT INTO {self.control_table('checkpoint', stream.schema)} "
                f"(topic, partition_no, schema_name, next_offset, updated_at) "
                f"VALUES ({self._placeholders(5)})",
                (stream.topic, stream.partition, stream.schema, start_offset, self.ts_param(now())),
            )
            self.commit()
        except BaseException:
            self.rollback()
            raise
        created = self._read_checkpoint(stream, lock=False)
        assert created is not None
        return created

    def _read_checkpoint(self, stream: Stream, *, lock: bool) -> Checkpoint | None:
        rows = self.query(
            f"SELECT {', '.join(CHECKPOINT_COLUMNS)} FROM "
            f"{self.control_table('checkpoint', stream.schema)} "
            f"WHERE topic = {self.ph(0)} AND partition_no = {self.ph(1)}"
            + (self.for_update if lock else ""),
            (stream.topic, stream.partition),
        )
        return self._checkpoint(rows[0]) if rows else None

    def _checkpoint(self, row: Sequence[Any]) -> Checkpoint:
        return Checkpoint(
            topic=row[0],
            partition=int(row[1]),
            schema=row[2] or "",
            next_offset=int(row[3]),
            commit_scn=_int(row[4]),
            xid=row[5],
            commit_ts=self.ts_value(row[6]),
            watermark_scn=_int(row[7]),
            replay_until=_int(row[8]),
            updated_at=self.ts_value(row[9]),
            seed_scn=_int(row[10]),
        )

    def stream_checkpoints(self, schema: str | None) -> list[Checkpoint]:
        rows = self.query(
            f"SELECT {', '.join(CHECKPOINT_COLUMNS)} FROM "
            f"{self.control_table('checkpoint', schema)} ORDER BY topic, partition_no"
        )
        return [self._checkpoint(r) for r in rows]

    def begin(self, stream: Stream, expected_offset: int | None) -> None:
        self.start()
        if expected_offset is None:
            return
        try:
            current = self._read_checkpoint(stream, lock=True)
        except BaseException:
            self.rollback()
            raise
        if current is None or current.next_offset != expected_offset:
            self.rollback()
            raise CheckpointMoved(
                "checkpoint moved under this worker",
                topic=stream.topic,
                partition=stream.partition,
                expected=expected_offset,
                found=current.next_offset if current else None,
            )

    def write_checkpoint(self, stream: Stream, checkpoint: Checkpoint) -> None:
        self.execute(
            f"UPDATE {self.control_table('checkpoint', stream.schema)} SET "
            f"next_offset = {self.ph(0)}, commit_scn = {self.ph(1)}, xid = {self.ph(2)}, "
            f"commit_ts = {self.ph(3)}, watermark_scn = {self.ph(4)}, "
            f"replay_until = {self.ph(5)}, updated_at = {self.ph(6)}, seed_scn = {self.ph(7)} "
            f"WHERE topic = {self.ph(8)} AND partition_no = {self.ph(9)}",
            (
                checkpoint.next_offset,
                checkpoint.commit_scn,
                checkpoint.xid,
                self.ts_param(checkpoint.commit_ts),
                checkpoint.watermark_scn,
                checkpoint.replay_until,
                self.ts_param(now()),
                checkpoint.seed_scn,
                stream.topic,
                stream.partition,
            ),
        )

    def rewind(
        self, stream: Stream, to_offset: int, *, replay_until: int = 0, force: bool = False
    ) -> Checkpoint:
        """Move the checkpoint back to ``to_offset`` (with ``force`` also forward);
        offsets up to where it stood (or ``replay_until``) are re-applied with overwrite
        semantics. Commits."""
        self.start()
        try:
            current = self._read_checkpoint(stream, lock=True)
            if current is None:
                raise CheckpointMoved("stream has no checkpoint to rewind", topic=stream.topic)
            until = max(current.next_offset, current.replay_until or 0, replay_until)
            moved = Checkpoint(
                topic=current.topic,
                partition=current.partition,
                schema=current.schema,
                next_offset=to_offset if force else min(to_offset, current.next_offset),
                commit_scn=current.commit_scn,
                xid=current.xid,
                commit_ts=current.commit_ts,
                watermark_scn=current.watermark_scn,
                replay_until=until,
                seed_scn=current.seed_scn,
            )
            self.write_checkpoint(stream, moved)
            self.commit()
        except BaseException:
            self.rollback()
            raise
        return moved

    # -- parked ------------------------------------------------------------------------------
    def add_parked(self, stream: Stream, row: ParkedRow) -> None:
        table = self.control_table("parked", stream.schema)
        exists = self.query(
            f"SELECT 1 FROM {table} WHERE topic = {self.ph(0)} AND partition_no = {self.ph(1)} "
            f"AND first_offset = {self.ph(2)}",
            (row.topic, row.partition, row.first_offset),
        )
        if exists:  # parked before a crash; the dead-letter record may be there twice
            return
        self.execute(
            f"INSERT INTO {table} ({', '.join(PARKED_COLUMNS)}) "
            f"VALUES ({self._placeholders(len(PARKED_COLUMNS))})",
            self._parked_params(row),
        )

    def _parked_params(self, row: ParkedRow) -> tuple[Any, ...]:
        return (
            row.topic, row.partition, row.first_offset, row.last_offset, row.schema, row.xid,
            row.commit_scn, row.error, self.ts_param(row.parked_at), row.state,
            json.dumps(list(row.dl_offsets)), row.resolved_by, self.ts_param(row.resolved_at),
            row.comment,
        )  # fmt: skip

    def stream_parked(self, schema: str | None, state: str | None) -> list[ParkedRow]:
        sql = f"SELECT {', '.join(PARKED_COLUMNS)} FROM {self.control_table('parked', schema)}"
        params: tuple[Any, ...] = ()
        if state is not None:
            sql += f" WHERE state = {self.ph(0)}"
            params = (state,)
        return [self._parked(r) for r in self.query(sql + " ORDER BY parked_at", params)]

    def _parked(self, r: Sequence[Any]) -> ParkedRow:
        parked_at = self.ts_value(r[8])
        assert parked_at is not None
        return ParkedRow(
            topic=r[0], partition=int(r[1]), first_offset=int(r[2]), last_offset=int(r[3]),
            schema=r[4], xid=r[5], commit_scn=int(r[6]), error=r[7], parked_at=parked_at,
            state=r[9], dl_offsets=tuple(json.loads(r[10] or "[]")), resolved_by=r[11],
            resolved_at=self.ts_value(r[12]), comment=r[13],
        )  # fmt: skip

    def set_parked_state(self, row: ParkedRow, state: str, by: str, comment: str | None) -> None:
        self.execute(
            f"UPDATE {self.control_table('parked', row.schema)} SET state = {self.ph(0)}, "
            f"resolved_by = {self.ph(1)}, resolved_at = {self.ph(2)}, comment_text = {self.ph(3)} "
            f"WHERE topic = {self.ph(4)} AND partition_no = {self.ph(5)} "
            f"AND first_offset = {self.ph(6)}",
            (state, by, self.ts_param(now()), comment, row.topic, row.partition, row.first_offset),
        )

    # -- DDL log -----------------------------------------------------------------------------
    def record_ddl(self, stream: Stream, row: DdlLogRow) -> None:
        table = self.control_table("ddl_log", stream.schema)
        # A DDL replayed after a crash on Oracle (its statement commits by itself) finds
        # its row: the newer outcome replaces it.
        self.execute(
            f"DELETE FROM {table} WHERE topic = {self.ph(0)} AND partition_no = {self.ph(1)} "
            f"AND record_offset = {self.ph(2)}",
            (row.topic, row.partition, row.record_offset),
        )
        self.execute(
            f"INSERT INTO {table} ({', '.join(DDL_COLUMNS)}) "
            f"VALUES ({self._placeholders(len(DDL_COLUMNS))})",
            (
                row.topic, row.partition, row.record_offset, row.schema, row.xid,
                row.commit_scn, row.table, row.kind, row.outcome, row.statement,
                json.dumps(list(row.executed)), row.reason, self.ts_param(row.applied_at),
                row.applied_by,
            ),
        )  # fmt: skip

    def stream_ddl_log(self, schema: str | None) -> list[DdlLogRow]:
        rows = self.query(
            f"SELECT {', '.join(DDL_COLUMNS)} FROM {self.control_table('ddl_log', schema)} "
            "ORDER BY topic, record_offset"
        )
        out = []
        for r in rows:
            applied_at = self.ts_value(r[12])
            assert applied_at is not None
            out.append(DdlLogRow(
                topic=r[0], partition=int(r[1]), record_offset=int(r[2]), schema=r[3],
                xid=r[4], commit_scn=int(r[5]), table=r[6], kind=r[7], outcome=r[8],
                statement=str(r[9]), executed=tuple(json.loads(str(r[10]) or "[]")),
                reason=r[11] or "", applied_at=applied_at, applied_by=r[13],
            ))  # fmt: skip
        return out

    # -- audit and state ---------------------------------------------------------------------
    def _committed(self, sql: str, params: Sequence[Any]) -> None:
        self.start()
        try:
            self.execute(sql, params)
            self.commit()
        except BaseException:
            self.rollback()
            raise

    def add_audit(self, row: AuditRow) -> None:
        self._committed(
            f"INSERT INTO {self.control_table('audit', None)} ({', '.join(AUDIT_COLUMNS)}) "
            f"VALUES ({self._placeholders(len(AUDIT_COLUMNS))})",
            (
                row.audit_id,
                row.action,
                row.requested_by,
                json.dumps(row.detail, default=str),
                self.ts_param(row.started_at),
                row.result,
                self.ts_param(row.finished_at),
                json.dumps(row.outcome, default=str),
            ),
        )

    def finish_audit(self, audit_id: str, result: str, outcome: dict[str, Any]) -> None:
        self._committed(
            f"UPDATE {self.control_table('audit', None)} SET result = {self.ph(0)}, "
            f"finished_at = {self.ph(1)}, outcome = {self.ph(2)} WHERE audit_id = {self.ph(3)}",
            (result, self.ts_param(now()), json.dumps(outcome, default=str), audit_id),
        )

    def audits(self, limit: int = 100) -> list[AuditRow]:
        rows = self.query(
            f"SELECT {', '.join(AUDIT_COLUMNS)} FROM {self.control_table('audit', None)} "
            "ORDER BY started_at DESC"
        )[:limit]
        out = []
        for r in rows:
            started = self.ts_value(r[4])
            assert started is not None
            out.append(
                AuditRow(
                    audit_id=r[0],
                    action=r[1],
                    requested_by=r[2],
                    detail=json.loads(r[3]),
                    started_at=started,
                    result=r[5],
                    finished_at=self.ts_value(r[6]),
                    outcome=json.loads(r[7] or "{}"),
                )
            )
        return out

    def get_state(self, key: str) -> str | None:
        rows = self.query(
            f"SELECT state_value FROM {self.control_table('state', None)} "
            f"WHERE state_key = {self.ph(0)}",
            (key,),
        )
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    def set_state(self, key: str, value: str | None) -> None:
        table = self.control_table("state", None)
        self.start()
        try:
            self.execute(f"DELETE FROM {table} WHERE state_key = {self.ph(0)}", (key,))
            if value is not None:
                self.execute(
                    f"INSERT INTO {table} (state_key, state_value, updated_at) "
                    f"VALUES ({self._placeholders(3)})",
                    (key, value, self.ts_param(now())),
                )
            self.commit()
        except BaseException:
            self.rollback()
            raise


def _int(value: Any) -> int | None:
    return None if value is None else int(value)
